using System.IO.Compression;
using DrWorkflows.Activities.Backups.Pipeline;
using DrWorkflows.Activities.Throwaway;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Backups;

/// <summary>Private keys for a restore; null members fall back to <see cref="EncryptionOptions"/>.</summary>
public sealed record DecryptionKeys
{
    public string? GpgPrivateKeyFile { get; init; }

    public string? GpgPassphraseFile { get; init; }

    public string? AgeIdentityFile { get; init; }
}

/// <summary>
/// Builds the compression and encryption stages of backup pipelines from the options, and the matching
/// decryption and decompression stages from a manifest.
/// </summary>
public interface IBackupCodecs
{
    /// <summary>Compression and encryption stages, the file name suffix, and what to record in the manifest.</summary>
    Task<EncodingSession> BeginEncodingAsync(CancellationToken cancellationToken);

    /// <summary>Decryption and decompression stages for a set; checks first that the key matches the recipient.</summary>
    Task<DecodingSession> BeginDecodingAsync(BackupManifest manifest, DecryptionKeys? keys, CancellationToken cancellationToken);
}

/// <summary>Stages that turn raw data into stored bytes. Dispose removes temporary key material.</summary>
public sealed class EncodingSession(IReadOnlyList<PipelineStage> stages, string suffix, string compression, BackupEncryptionInfo encryption, IReadOnlyDictionary<string, string> tools, Func<ValueTask>? cleanup) : IAsyncDisposable
{
    public IReadOnlyList<PipelineStage> Stages => stages;

    /// <summary>File name suffix, e.g. <c>.zst.gpg</c>.</summary>
    public string Suffix => suffix;

    public string Compression => compression;

    public BackupEncryptionInfo Encryption => encryption;

    public IReadOnlyDictionary<string, string> Tools => tools;

    public ValueTask DisposeAsync() => cleanup?.Invoke() ?? ValueTask.CompletedTask;
}

/// <summary>Stages that turn stored bytes back into raw data. Dispose removes the temporary keyring.</summary>
public sealed class DecodingSession(IReadOnlyList<PipelineStage> stages, Func<ValueTask>? cleanup) : IAsyncDisposable
{
    public IReadOnlyList<PipelineStage> Stages => stages;

    public ValueTask DisposeAsync() => cleanup?.Invoke() ?? ValueTask.CompletedTask;
}

internal sealed class BackupCodecs(IOptions<CompressionOptions> compressionOptions, IOptions<EncryptionOptions> encryptionOptions, IThrowawayLedger ledger, ILogger<BackupCodecs> logger) : IBackupCodecs
{
    private const string CompressionOption = "Backups:Compression:ZstdPath";

    public async Task<EncodingSession> BeginEncodingAsync(CancellationToken cancellationToken)
    {
        var compression = compressionOptions.Value;
        var encryption = encryptionOptions.Value;
        var stages = new List<PipelineStage>();
        var tools = new Dictionary<string, string>(StringComparer.Ordinal);
        var suffix = string.Empty;
        string compressionName;
        switch (compression.Method)
        {
            case CompressionMethod.Zstd:
                var zstd = ToolLocator.Find(compression.ZstdPath, null, CompressionOption, "Install zstd (apt-get install zstd).");
                stages.Add(new ProcessStage("zstd", zstd, ["-q", "-c", $"-{compression.Level}", $"-T{compression.Threads}"]) { Hint = "Check free memory and the zstd installation." });
                tools["zstd"] = await ToolRunner.VersionAsync(zstd, cancellationToken, "-V");
                suffix += ".zst";
                compressionName = "zstd";
                break;
            case CompressionMethod.Gzip:
                var level = compression.Level <= 3 ? CompressionLevel.Fastest : compression.Level >= 9 ? CompressionLevel.SmallestSize : CompressionLevel.Optimal;
                stages.Add(new WriteTransformStage("gzip", s => new GZipStream(s, level, leaveOpen: true)));
                tools["gzip"] = $".NET GZipStream {Environment.Version} ({level})";
                suffix += ".gz";
                compressionName = "gzip";
                break;
            default:
                compressionName = "none";
                break;
        }

        var info = new BackupEncryptionInfo();
        Func<ValueTask>? cleanup = null;
        switch (encryption.Method)
        {
            case EncryptionMethod.Gpg:
            {
                var gpg = ToolLocator.Find(encryption.GpgPath, null, "Backups:Encryption:GpgPath", "Install GnuPG (apt-get install gnupg).");
                var recipientFile = Path.GetFullPath(encryption.GpgRecipientFile!);
                var (home, removeHome) = await CreateGpgHomeAsync("GnuPG home for encrypting a backup", cancellationToken);
                cleanup = removeHome;
                try
                {
                    info.Method = "gpg";
                    info.Recipients = await GpgFingerprintsAsync(gpg, home, ["--show-keys", recipientFile], "pub", cancellationToken);
                    if (info.Recipients.Count == 0)
                        throw new BackupException(BackupErrorCodes.EncryptionConfig, $"Backups:Encryption:GpgRecipientFile {recipientFile} holds no OpenPGP public key. Export one with 'gpg --armor --export KEY'.");
                    stages.Add(new ProcessStage("gpg encrypt", gpg,
                        ["--homedir", home, "--batch", "--no-tty", "--quiet", "--trust-model", "always", "--recipient-file", recipientFile, "--compress-algo", "none", "--encrypt"])
                    {
                        Hint = "Check Backups:Encryption:GpgRecipientFile (it must hold a public key with an encryption subkey).",
                    });
                    tools["gpg"] = await ToolRunner.VersionAsync(gpg, cancellationToken);
                }
                catch
                {
                    await cleanup();
                    throw;
                }

                suffix += ".gpg";
                break;
            }

            case EncryptionMethod.Age:
            {
                var age = ToolLocator.Find(encryption.AgePath, null, "Backups:Encryption:AgePath", "Install age (apt-get install age).");
                var args = new List<string> { "--encrypt" };
                var recipients = new List<string>(encryption.AgeRecipients);
                if (!string.IsNullOrWhiteSpace(encryption.AgeRecipientsFile))
                    recipients.AddRange((await File.ReadAllLinesAsync(encryption.AgeRecipientsFile, cancellationToken)).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')));
                foreach (var recipient in recipients.Distinct(StringComparer.Ordinal))
                {
                    args.Add("-r");
                    args.Add(recipient);
                }

                info.Method = "age";
                info.Recipients = [.. recipients.Distinct(StringComparer.Ordinal)];
                stages.Add(new ProcessStage("age encrypt", age, args) { Hint = "Check Backups:Encryption:AgeRecipients (age1... public keys)." });
                tools["age"] = await ToolRunner.VersionAsync(age, cancellationToken);
                suffix += ".age";
                break;
            }

            default:
                if (encryption.Required)
                    throw new BackupException(BackupErrorCodes.EncryptionConfig, "Backups:Encryption:Required is true but no encryption method is configured.");
                break;
        }

        return new EncodingSession(stages, suffix, compressionName, info, tools, cleanup);
    }

    public async Task<DecodingSession> BeginDecodingAsync(BackupManifest manifest, DecryptionKeys? keys, CancellationToken cancellationToken)
    {
        var encryption = encryptionOptions.Value;
        var stages = new List<PipelineStage>();
        Func<ValueTask>? cleanup = null;
        var set = $"{manifest.Kind}/{manifest.Source}/{manifest.Id}";
        try
        {
            switch (manifest.Encryption.Method)
            {
                case "none":
                    break;
                case "gpg":
                {
                    var keyFile = keys?.GpgPrivateKeyFile ?? encryption.GpgPrivateKeyFile;
                    var passphraseFile = keys?.GpgPassphraseFile ?? encryption.GpgPassphraseFile;
                    if (string.IsNullOrWhiteSpace(keyFile) || !File.Exists(keyFile))
                        throw new BackupException(BackupErrorCodes.DecryptionFailed,
                            $"Backup set {set} is encrypted with OpenPGP for {string.Join(", ", manifest.Encryption.Recipients)}, but no private key file was given{(keyFile is null ? string.Empty : $" ({keyFile} does not exist)")}. Set Backups:Encryption:GpgPrivateKeyFile (and GpgPassphraseFile) or pass the key to the restore.");
                    var gpg = ToolLocator.Find(encryption.GpgPath, null, "Backups:Encryption:GpgPath", "Install GnuPG (apt-get install gnupg).");
                    var (home, removeHome) = await CreateGpgHomeAsync($"GnuPG home holding the private key to decrypt {set}", cancellationToken);
                    cleanup = removeHome;
                    var passphraseArgs = string.IsNullOrWhiteSpace(passphraseFile) ? new List<string>() : ["--pinentry-mode", "loopback", "--passphrase-file", Path.GetFullPath(passphraseFile)];
                    var import = await ToolRunner.RunAsync(gpg, ["--homedir", home, "--batch", "--no-tty", .. passphraseArgs, "--import", Path.GetFullPath(keyFile)], cancellationToken);
                    if (import.ExitCode != 0)
                        throw new BackupException(BackupErrorCodes.DecryptionFailed, $"The private key file {keyFile} could not be read by gpg: {Tail(import.StandardError)}. Check that it is an exported OpenPGP secret key (gpg --armor --export-secret-keys).");
                    var secret = await GpgFingerprintsAsync(gpg, home, ["--list-secret-keys"], "sec", cancellationToken);
                    if (secret.Count == 0)
                        throw new BackupException(BackupErrorCodes.DecryptionFailed, $"The file {keyFile} holds no OpenPGP secret key (only a public key?). Give the exported secret key of {string.Join(", ", manifest.Encryption.Recipients)}.");
                    if (manifest.Encryption.Recipients.Count > 0 && !secret.Intersect(manifest.Encryption.Recipients, StringComparer.OrdinalIgnoreCase).Any())
                        throw new BackupException(BackupErrorCodes.DecryptionFailed,
                            $"Wrong decryption key: backup set {set} was encrypted for OpenPGP key {string.Join(", ", manifest.Encryption.Recipients)}, but {keyFile} holds {string.Join(", ", secret)}. Give the private key of the recipient.");
                    stages.Add(new ProcessStage("gpg decrypt", gpg, ["--homedir", home, "--batch", "--no-tty", "--quiet", .. passphraseArgs, "--decrypt"])
                    {
                        Classify = (_, stderr) => new BackupException(BackupErrorCodes.DecryptionFailed,
                            stderr.Contains("Bad passphrase", StringComparison.OrdinalIgnoreCase) || stderr.Contains("bad passphrase", StringComparison.OrdinalIgnoreCase)
                                ? $"Decryption of backup set {set} failed: wrong passphrase for the key in {keyFile}. Check Backups:Encryption:GpgPassphraseFile."
                                : stderr.Contains("No secret key", StringComparison.OrdinalIgnoreCase)
                                    ? $"Decryption of backup set {set} failed: gpg could not unlock the private key in {keyFile}, which is the right key ({string.Join(", ", secret)}): wrong passphrase or no passphrase given. Check Backups:Encryption:GpgPassphraseFile ({passphraseFile ?? "not set"})."
                                    : $"Decryption of backup set {set} failed in gpg: {Tail(stderr)}. The data may be corrupt or the key wrong."),
                    });
                    break;
                }

                case "age":
                {
                    var identity = keys?.AgeIdentityFile ?? encryption.AgeIdentityFile;
                    if (string.IsNullOrWhiteSpace(identity) || !File.Exists(identity))
                        throw new BackupException(BackupErrorCodes.DecryptionFailed,
                            $"Backup set {set} is encrypted with age for {string.Join(", ", manifest.Encryption.Recipients)}, but no identity file was given{(identity is null ? string.Empty : $" ({identity} does not exist)")}. Set Backups:Encryption:AgeIdentityFile or pass it to the restore.");
                    var age = ToolLocator.Find(encryption.AgePath, null, "Backups:Encryption:AgePath", "Install age (apt-get install age).");
                    try
                    {
                        var keygen = ToolLocator.Find(encryption.AgeKeygenPath, null, "Backups:Encryption:AgeKeygenPath", "Install age (apt-get install age).");
                        var derived = await ToolRunner.RunAsync(keygen, ["-y", Path.GetFullPath(identity)], cancellationToken);
                        var mine = derived.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                        if (derived.ExitCode == 0 && manifest.Encryption.Recipients.Count > 0 && !mine.Intersect(manifest.Encryption.Recipients, StringComparer.Ordinal).Any())
                            throw new BackupException(BackupErrorCodes.DecryptionFailed,
                                $"Wrong decryption key: backup set {set} was encrypted for age recipient {string.Join(", ", manifest.Encryption.Recipients)}, but {identity} is the identity of {string.Join(", ", mine)}. Give the matching identity file.");
                    }
                    catch (BackupException ex) when (ex.Code == BackupErrorCodes.ToolNotFound)
                    {
                        Log.StageStderr(logger, "age-keygen", "not found; skipping the identity check before decryption");
                    }

                    stages.Add(new ProcessStage("age decrypt", age, ["--decrypt", "-i", Path.GetFullPath(identity)])
                    {
                        Classify = (_, stderr) => new BackupException(BackupErrorCodes.DecryptionFailed,
                            stderr.Contains("no identity matched", StringComparison.OrdinalIgnoreCase)
                                ? $"Decryption of backup set {set} failed: the identity {identity} does not match its recipient ({string.Join(", ", manifest.Encryption.Recipients)})."
                                : $"Decryption of backup set {set} failed in age: {Tail(stderr)}. The data may be corrupt or the identity wrong."),
                    });
                    break;
                }

                default:
                    throw new BackupException(BackupErrorCodes.EncryptionConfig, $"Backup set {set} uses unknown encryption '{manifest.Encryption.Method}'.");
            }

            switch (manifest.Compression)
            {
                case "zstd":
                    var zstd = ToolLocator.Find(compressionOptions.Value.ZstdPath, null, CompressionOption, "Install zstd (apt-get install zstd).");
                    stages.Add(new ProcessStage("zstd decompress", zstd, ["-q", "-d", "-c"]) { Hint = "The data may be corrupt." });
                    break;
                case "gzip":
                    stages.Add(new ReadTransformStage("gzip decompress", s => new GZipStream(s, CompressionMode.Decompress, leaveOpen: false)));
                    break;
                case "none":
                    break;
                default:
                    throw new BackupException(BackupErrorCodes.InvalidRequest, $"Backup set {set} uses unknown compression '{manifest.Compression}'.");
            }

            return new DecodingSession(stages, cleanup);
        }
        catch
        {
            if (cleanup is not null)
                await cleanup();
            throw;
        }
    }

    /// <summary>Primary-key fingerprints from <c>gpg --with-colons</c> output (the <c>fpr</c> after each <paramref name="primaryRecord"/>).</summary>
    private static async Task<List<string>> GpgFingerprintsAsync(string gpg, string home, IEnumerable<string> command, string primaryRecord, CancellationToken cancellationToken)
    {
        var result = await ToolRunner.RunAsync(gpg, ["--homedir", home, "--batch", "--no-tty", "--with-colons", "--fingerprint", .. command], cancellationToken);
        if (result.ExitCode != 0)
            throw new BackupException(BackupErrorCodes.EncryptionConfig, $"gpg could not read the key: {Tail(result.StandardError)}");
        var fingerprints = new List<string>();
        var expectPrimary = false;
        foreach (var line in result.StandardOutput.Split('\n'))
        {
            var fields = line.Split(':');
            if (fields[0] == primaryRecord)
                expectPrimary = true;
            else if (fields[0] == "fpr" && expectPrimary && fields.Length > 9)
            {
                fingerprints.Add(fields[9]);
                expectPrimary = false;
            }
            else if (fields[0] is "sub" or "ssb")
            {
                expectPrimary = false;
            }
        }

        return fingerprints;
    }

    /// <summary>
    /// A private directory (0700) that is not in the throwaway ledger: prefer <see cref="IThrowawayLedger.CreateDirectoryAsync"/>,
    /// which the janitor cleans up after a crash. gpg-agent's socket path must stay short, so a long TMPDIR gives way to /tmp.
    /// </summary>
    internal static string CreatePrivateDirectory(string prefix)
    {
        var path = ThrowawayFiles.NewPath(prefix);
        ThrowawayFiles.CreatePrivateDirectory(path);
        return path;
    }

    /// <summary>A GnuPG home (it may hold a private key) in the throwaway ledger; the returned removal stops its agent, then deletes it.</summary>
    private async Task<(string Home, Func<ValueTask> Remove)> CreateGpgHomeAsync(string purpose, CancellationToken cancellationToken)
    {
        var home = ThrowawayFiles.NewPath("drwgpg");
        var lease = await ledger.RecordAsync(ThrowawaySpec.Directory(home, purpose), async _ =>
        {
            await StopGpgAgentAsync(home);
            await ThrowawayFiles.DeleteDirectoryAsync(home);
        }, cancellationToken);
        try
        {
            ThrowawayFiles.CreatePrivateDirectory(home);
        }
        catch
        {
            await lease.DisposeAsync();
            throw;
        }

        return (home, () => lease.DisposeAsync());
    }

    private async Task StopGpgAgentAsync(string home)
    {
        try
        {
            var gpgconf = ToolLocator.Find(encryptionOptions.Value.GpgConfPath, null, "Backups:Encryption:GpgConfPath", "Install GnuPG.");
            await ToolRunner.RunAsync(gpgconf, ["--homedir", home, "--kill", "all"], CancellationToken.None, timeout: TimeSpan.FromSeconds(15));
        }
        catch (BackupException)
        {
            // No agent was started or gpgconf is missing: nothing to stop.
        }
    }

    private static string Tail(string text)
    {
        var trimmed = text.Trim();
        return trimmed.Length > 600 ? "…" + trimmed[^600..] : trimmed.Length == 0 ? "no message" : trimmed;
    }
}
