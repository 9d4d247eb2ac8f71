using DrWorkflows.Activities.Backups.Pipeline;
using DrWorkflows.Testing;

namespace DrWorkflows.Activities.Tests.Backups;

/// <summary>An OpenPGP key pair generated for one test in its own GNUPGHOME (whose agent is stopped on dispose).</summary>
internal sealed class GpgTestKey : IAsyncDisposable
{
    private readonly string home;

    private GpgTestKey(string home, string publicKeyFile, string secretKeyFile, string passphraseFile, string fingerprint)
    {
        this.home = home;
        PublicKeyFile = publicKeyFile;
        SecretKeyFile = secretKeyFile;
        PassphraseFile = passphraseFile;
        Fingerprint = fingerprint;
    }

    public string PublicKeyFile { get; }

    public string SecretKeyFile { get; }

    public string PassphraseFile { get; }

    public string Fingerprint { get; }

    public static async Task<GpgTestKey> CreateAsync(TempDirectory temp, string name, CancellationToken cancellationToken)
    {
        RequiredTools.Require("gpg", "gnupg");
        // A short GNUPGHOME: the agent socket path must stay short.
        var home = Path.Combine("/tmp", "drwtk" + Guid.NewGuid().ToString("N")[..10]);
        if (OperatingSystem.IsWindows())
            Assert.Skip("gpg tests need Linux.");
        else
            Directory.CreateDirectory(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var passphraseFile = temp.Combine($"{name}.pass");
        await File.WriteAllTextAsync(passphraseFile, $"pass-{Guid.NewGuid():N}\n", cancellationToken);
        var uid = $"DR Backup {name} <{name}@example.test>";
        await Run(["--homedir", home, "--batch", "--pinentry-mode", "loopback", "--passphrase-file", passphraseFile, "--quick-gen-key", uid, "future-default", "default", "never"], cancellationToken);
        var publicKey = temp.Combine($"{name}.pub.asc");
        var secretKey = temp.Combine($"{name}.sec.asc");
        await File.WriteAllTextAsync(publicKey, (await Run(["--homedir", home, "--batch", "--armor", "--export", uid], cancellationToken)).StandardOutput, cancellationToken);
        await File.WriteAllTextAsync(secretKey, (await Run(["--homedir", home, "--batch", "--pinentry-mode", "loopback", "--passphrase-file", passphraseFile, "--armor", "--export-secret-keys", uid], cancellationToken)).StandardOutput, cancellationToken);
        var colons = (await Run(["--homedir", home, "--batch", "--with-colons", "--fingerprint", "--list-keys", uid], cancellationToken)).StandardOutput;
        var fingerprint = colons.Split('\n').First(l => l.StartsWith("fpr:", StringComparison.Ordinal)).Split(':')[9];
        return new GpgTestKey(home, publicKey, secretKey, passphraseFile, fingerprint);
    }

    private static async Task<ToolRunner.Result> Run(string[] args, CancellationToken cancellationToken)
    {
        var result = await ToolRunner.RunAsync("gpg", args, cancellationToken);
        Assert.True(result.ExitCode == 0, $"gpg {string.Join(' ', args)} failed: {result.StandardError}");
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        await ToolRunner.RunAsync("gpgconf", ["--homedir", home, "--kill", "all"], CancellationToken.None);
        Directory.Delete(home, recursive: true);
    }
}

/// <summary>An age identity generated for one test.</summary>
internal sealed record AgeTestKey(string IdentityFile, string Recipient)
{
    public static async Task<AgeTestKey> CreateAsync(TempDirectory temp, string name, CancellationToken cancellationToken)
    {
        RequiredTools.Require("age-keygen", "age");
        var identity = temp.Combine($"{name}.age.key");
        var result = await ToolRunner.RunAsync("age-keygen", ["-o", identity], cancellationToken);
        Assert.True(result.ExitCode == 0, $"age-keygen failed: {result.StandardError}");
        var recipient = result.StandardError.Split(':', 2)[1].Trim();
        Assert.StartsWith("age1", recipient, StringComparison.Ordinal);
        return new AgeTestKey(identity, recipient);
    }
}
