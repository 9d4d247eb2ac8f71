using DrWorkflows.Activities.DockerConfig;

namespace DrWorkflows.Activities.Tests.Backups;

public sealed class SecretStripperTests
{
    private static readonly IReadOnlyList<string> Words = SecretStripper.DefaultSecretWords;

    [Fact]
    public void Env_files_lose_the_values_of_secret_looking_keys_and_keep_the_rest_as_written()
    {
        var values = new HashSet<string>(StringComparer.Ordinal);
        var stripped = SecretStripper.StripEnvFile(
            "# shop settings\nDB_NAME=shop\nDB_PASSWORD=hunter2-long\r\nexport STRIPE_API_KEY='sk_live_abc123'\nJWT_SECRET=\"quoted secret\"\nSMTP_PASS=${FROM_VAULT}\nEMPTY_TOKEN=\nDATABASE_URL=postgres://app:hunter2-long@db/shop\n",
            Words, values);

        Assert.Equal(["DB_PASSWORD", "STRIPE_API_KEY", "JWT_SECRET"], stripped.RedactedKeys);
        Assert.Equal(
            $"# shop settings\nDB_NAME=shop\nDB_PASSWORD={SecretStripper.Placeholder}\r\nexport STRIPE_API_KEY={SecretStripper.Placeholder}\nJWT_SECRET={SecretStripper.Placeholder}\nSMTP_PASS=${{FROM_VAULT}}\nEMPTY_TOKEN=\nDATABASE_URL=postgres://app:{SecretStripper.Placeholder}@db/shop\n",
            stripped.Text);
        Assert.Equal(["hunter2-long", "quoted secret", "sk_live_abc123"], values.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Compose_files_lose_literal_secrets_in_map_and_list_form_and_every_value_known_from_the_env_files()
    {
        var values = new HashSet<string>(StringComparer.Ordinal) { "hunter2-long" };
        var stripped = SecretStripper.StripComposeFile(
            "services:\n  db:\n    image: postgres:15\n    environment:\n      POSTGRES_PASSWORD: ${DB_PASSWORD}\n      REDIS_AUTH: \"inline\"\n  app:\n    environment:\n      - API_TOKEN=tok-123456\n      - MODE=production\n    command: [\"run\", \"--password=hunter2-long\"]\n",
            Words, values);

        Assert.Equal(["REDIS_AUTH", "API_TOKEN"], stripped.RedactedKeys);
        Assert.Contains("POSTGRES_PASSWORD: ${DB_PASSWORD}", stripped.Text, StringComparison.Ordinal);
        Assert.Contains($"REDIS_AUTH: \"{SecretStripper.Placeholder}\"", stripped.Text, StringComparison.Ordinal);
        Assert.Contains($"- API_TOKEN=\"{SecretStripper.Placeholder}\"", stripped.Text, StringComparison.Ordinal);
        Assert.Contains("- MODE=production", stripped.Text, StringComparison.Ordinal);
        Assert.Contains($"--password={SecretStripper.Placeholder}", stripped.Text, StringComparison.Ordinal);
        foreach (var secret in new[] { "inline", "tok-123456", "hunter2-long" })
            Assert.DoesNotContain(secret, stripped.Text.Replace(SecretStripper.Placeholder, string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void Secret_words_are_matched_in_key_names_ignoring_case()
    {
        Assert.True(SecretStripper.LooksSecret("aws_secret_access_key", Words));
        Assert.True(SecretStripper.LooksSecret("GITHUB_TOKEN", Words));
        Assert.False(SecretStripper.LooksSecret("PLATFORM_PG_PORT", Words));
        Assert.False(SecretStripper.LooksSecret("LOG_LEVEL", Words));
    }
}
