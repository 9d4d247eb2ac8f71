using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace DrWorkflows.Server.Approvals;

/// <summary>Why a signed request was refused (null: accepted).</summary>
public sealed record SignatureProblem(int Status, string Message);

/// <summary>
/// Slack's request signing (v0): <c>v0=</c> + hex HMAC-SHA256 of <c>v0:{timestamp}:{raw body}</c> with the
/// app's signing secret, sent in <c>X-Slack-Signature</c> with <c>X-Slack-Request-Timestamp</c>.
/// </summary>
public static class SlackSignature
{
    /// <summary>Requests older (or newer) than this are refused as replays.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);

    public static string Compute(string secret, string timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes($"v0:{timestamp}:");
        var data = new byte[prefix.Length + body.Length];
        prefix.CopyTo(data, 0);
        body.CopyTo(data.AsSpan(prefix.Length));
        return "v0=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), data));
    }

    public static SignatureProblem? Verify(string? secret, string? timestamp, string? signature, ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(secret))
            return new SignatureProblem(503, "Slack interactions are not configured: set Notifications:Slack:SigningSecret (environment Notifications__Slack__SigningSecret).");
        if (string.IsNullOrEmpty(timestamp) || string.IsNullOrEmpty(signature))
            return new SignatureProblem(401, "Missing X-Slack-Request-Timestamp or X-Slack-Signature: only Slack may call this endpoint.");
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
            return new SignatureProblem(401, "X-Slack-Request-Timestamp is not a Unix time.");
        var age = now - DateTimeOffset.FromUnixTimeSeconds(seconds);
        if (age > MaxAge || age < -MaxAge)
            return new SignatureProblem(401, $"The request timestamp is {Math.Abs(age.TotalMinutes):0} minutes from the server's clock (more than 5): refused as a possible replay. Check the server's clock if this repeats.");
        var expected = Encoding.ASCII.GetBytes(Compute(secret, timestamp, body));
        var given = Encoding.ASCII.GetBytes(signature.Trim());
        return CryptographicOperations.FixedTimeEquals(expected, given)
            ? null
            : new SignatureProblem(401, "The Slack signature does not match the body: check Notifications:Slack:SigningSecret.");
    }
}

/// <summary>GitHub's webhook signature: <c>X-Hub-Signature-256: sha256=</c> + hex HMAC-SHA256 of the raw body with the webhook secret.</summary>
public static class GitHubSignature
{
    public static string Compute(string secret, ReadOnlySpan<byte> body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    public static SignatureProblem? Verify(string? secret, string? signature, ReadOnlySpan<byte> body)
    {
        if (string.IsNullOrEmpty(secret))
            return new SignatureProblem(503, "GitHub approvals are not configured: set Approvals:GitHub:WebhookSecret (environment Approvals__GitHub__WebhookSecret).");
        if (string.IsNullOrEmpty(signature))
            return new SignatureProblem(401, "Missing X-Hub-Signature-256: configure the webhook with a secret.");
        var expected = Encoding.ASCII.GetBytes(Compute(secret, body));
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(signature.Trim()))
            ? null
            : new SignatureProblem(401, "X-Hub-Signature-256 does not match the body: check Approvals:GitHub:WebhookSecret.");
    }
}

/// <summary>
/// Remembers signed deliveries already handled (Slack trigger ids, GitHub delivery and comment ids) for a
/// while, so a retry or a replayed request is answered without acting twice. Bounded in size.
/// </summary>
public sealed class ReplayGuard(TimeProvider clock)
{
    private const int MaxEntries = 10_000;
    private static readonly TimeSpan Keep = TimeSpan.FromMinutes(15);
    private readonly Dictionary<string, DateTimeOffset> seen = new(StringComparer.Ordinal);
    private readonly Lock sync = new();

    /// <summary>True the first time a key is seen (within the keep window).</summary>
    public bool TryFirst(string key)
    {
        var now = clock.GetUtcNow();
        lock (sync)
        {
            if (seen.Count >= MaxEntries)
            {
                foreach (var old in seen.Where(p => now - p.Value > Keep).Select(p => p.Key).ToList())
                    seen.Remove(old);
                if (seen.Count >= MaxEntries)
                    seen.Remove(seen.MinBy(p => p.Value).Key);
            }

            if (seen.TryGetValue(key, out var at) && now - at <= Keep)
                return false;
            seen[key] = now;
            return true;
        }
    }
}
