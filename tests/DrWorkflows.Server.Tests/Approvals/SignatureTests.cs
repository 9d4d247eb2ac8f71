using System.Text;
using DrWorkflows.Server.Approvals;

namespace DrWorkflows.Server.Tests.Approvals;

public sealed class SignatureTests
{
    // Slack's documented signing example (secret, timestamp, body and signature as published by Slack).
    private const string SlackSecret = "8f742231b10e8888abcd99yyyzzz85a5";
    private const string SlackTimestamp = "1531420618";
    private const string SlackBody = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    private const string SlackExpected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    private static readonly DateTimeOffset SlackNow = DateTimeOffset.FromUnixTimeSeconds(1531420618 + 30);

    [Fact]
    public void Slacks_documented_example_verifies()
    {
        Assert.Equal(SlackExpected, SlackSignature.Compute(SlackSecret, SlackTimestamp, Encoding.UTF8.GetBytes(SlackBody)));
        Assert.Null(SlackSignature.Verify(SlackSecret, SlackTimestamp, SlackExpected, Encoding.UTF8.GetBytes(SlackBody), SlackNow));
    }

    [Fact]
    public void A_changed_body_a_wrong_secret_or_a_missing_signature_is_refused()
    {
        Assert.Equal(401, SlackSignature.Verify(SlackSecret, SlackTimestamp, SlackExpected, Encoding.UTF8.GetBytes(SlackBody.Replace("roadrunner", "coyote", StringComparison.Ordinal)), SlackNow)!.Status);
        Assert.Equal(401, SlackSignature.Verify("another-secret", SlackTimestamp, SlackExpected, Encoding.UTF8.GetBytes(SlackBody), SlackNow)!.Status);
        Assert.Equal(401, SlackSignature.Verify(SlackSecret, SlackTimestamp, null, Encoding.UTF8.GetBytes(SlackBody), SlackNow)!.Status);
        Assert.Equal(401, SlackSignature.Verify(SlackSecret, "yesterday", SlackExpected, Encoding.UTF8.GetBytes(SlackBody), SlackNow)!.Status);
        Assert.Equal(503, SlackSignature.Verify(null, SlackTimestamp, SlackExpected, Encoding.UTF8.GetBytes(SlackBody), SlackNow)!.Status);
    }

    [Fact]
    public void A_correctly_signed_request_older_than_five_minutes_is_refused_as_a_replay()
    {
        var problem = SlackSignature.Verify(SlackSecret, SlackTimestamp, SlackExpected, Encoding.UTF8.GetBytes(SlackBody), DateTimeOffset.FromUnixTimeSeconds(1531420618) + TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));

        Assert.Equal(401, problem!.Status);
        Assert.Contains("replay", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GitHub_signatures_are_hmac_sha256_of_the_raw_body()
    {
        var body = Encoding.UTF8.GetBytes("{\"zen\":\"Keep it logically awesome.\"}");
        var signature = GitHubSignature.Compute("It's a Secret to Everybody", body);

        Assert.StartsWith("sha256=", signature, StringComparison.Ordinal);
        Assert.Equal(71, signature.Length);
        Assert.Null(GitHubSignature.Verify("It's a Secret to Everybody", signature, body));
        Assert.Equal(401, GitHubSignature.Verify("It's a Secret to Everybody", signature, Encoding.UTF8.GetBytes("{\"zen\":\"changed\"}"))!.Status);
        Assert.Equal(401, GitHubSignature.Verify("It's a Secret to Everybody", null, body)!.Status);
        Assert.Equal(503, GitHubSignature.Verify(null, signature, body)!.Status);
    }

    [Fact]
    public void GitHubs_documented_example_verifies()
    {
        // GitHub's webhook documentation: secret "It's a Secret to Everybody", payload "Hello, World!".
        Assert.Equal("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", GitHubSignature.Compute("It's a Secret to Everybody", Encoding.UTF8.GetBytes("Hello, World!")));
    }

    [Theory]
    [InlineData("/approve", "approve", null, null, null)]
    [InlineData("/approve 2\nlag is fine", "approve", null, "2", "lag is fine")]
    [InlineData("/APPROVE id=abc123 dr-1", "approve", "abc123", "dr-1", null)]
    [InlineData("/reject backups not verified\nsee runbook", "reject", null, null, "backups not verified\nsee runbook")]
    public void Issue_comment_commands_are_parsed(string body, string vote, string? id, string? option, string? comment)
    {
        var command = GitHubCommand.Parse(body);

        Assert.Equal(new GitHubCommand(vote, id, option, comment), command);
    }

    [Theory]
    [InlineData("LGTM")]
    [InlineData("/approved by me")]
    [InlineData("please /approve")]
    [InlineData("")]
    public void Other_comments_are_not_commands(string body) => Assert.Null(GitHubCommand.Parse(body));

    [Fact]
    public void The_replay_guard_accepts_a_key_once()
    {
        var guard = new ReplayGuard(TimeProvider.System);

        Assert.True(guard.TryFirst("slack:trigger-1"));
        Assert.False(guard.TryFirst("slack:trigger-1"));
        Assert.True(guard.TryFirst("slack:trigger-2"));
    }
}
