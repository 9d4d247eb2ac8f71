using System.Diagnostics;
using DrWorkflows.Activities.Storage;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Backups;

/// <summary>What <see cref="ArchiveSetVerifier"/> did: one line per set and store verified, and the problems.</summary>
public sealed record ArchiveVerification(string Kind, string Source, IReadOnlyList<string> Verified, IReadOnlyList<string> Problems)
{
    /// <summary>Outcome of a verification step when every new set passed in every store.</summary>
    public const string VerifiedOutcome = "Verified";

    /// <summary>Outcome of a verification step when a set did not pass or a store could not be read.</summary>
    public const string FailedOutcome = "Failed";

    public bool Succeeded => Problems.Count == 0;

    /// <summary>
    /// Ends the step that ran this verification: sets its <paramref name="output"/>, journals the <c>verification</c>
    /// entry and completes with <see cref="VerifiedOutcome"/> or <see cref="FailedOutcome"/>, from the problems found.
    /// </summary>
    public ValueTask CompleteStepAsync(ActivityExecutionContext context, Output<ArchiveVerification?> output)
    {
        context.Set(output, this);
        context.AddJournalData("verification", ToJournal());
        return context.CompleteAsync(Succeeded ? VerifiedOutcome : FailedOutcome);
    }

    /// <summary>The journal's <c>verification</c> entry.</summary>
    public System.Text.Json.Nodes.JsonObject ToJournal() => new()
    {
        ["kind"] = Kind,
        ["source"] = Source,
        ["verified"] = new System.Text.Json.Nodes.JsonArray([.. Verified.Select(v => System.Text.Json.Nodes.JsonValue.Create(v))]),
        ["problems"] = new System.Text.Json.Nodes.JsonArray([.. Problems.Select(p => System.Text.Json.Nodes.JsonValue.Create(p))]),
    };
}

/// <summary>
/// Verifies the tar-archive backup sets (kinds <c>monitoring</c> and <c>docker-config</c>) that were never verified, in
/// every store that holds them (the primary and the offsite copy alike): each file is read back from that store and
/// checked against the manifest (size, SHA-256), decrypted and decompressed, parsed as a tar to its end, and the decoded
/// archive's SHA-256 compared with the one recorded when it was written. The result is recorded in the set's manifest
/// (last verified, per set and per store), as the database verification does; the objectives report reads it from there.
/// </summary>
public sealed class ArchiveSetVerifier(IBackupCatalog catalog, IBackupCodecs codecs, IBackupStoreProvider stores, TimeProvider clock, ILogger<ArchiveSetVerifier> logger)
{
    public static IReadOnlyList<string> Kinds { get; } = [BackupKinds.Monitoring, BackupKinds.DockerConfig];

    public async Task<ArchiveVerification> VerifyNewAsync(string kind, string source, IReadOnlyList<string>? storeNames, CancellationToken cancellationToken)
    {
        BackupKinds.Validate(kind);
        if (!Kinds.Contains(kind, StringComparer.Ordinal))
            throw new BackupException(BackupErrorCodes.InvalidRequest, $"Kind '{kind}' is not verified by reading its tar archives back; use one of {string.Join(", ", Kinds)} (databases: VerifyNewBackups).");
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        return await UnverifiedSetSweep.RunAsync(catalog, stores, kind, source, storeNames, VerifyAsync, cancellationToken);
    }

    private async Task<BackupVerificationRecord> VerifyAsync(string store, BackupSet set, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var record = new BackupVerificationRecord { At = clock.GetUtcNow() };
        var entries = 0;
        try
        {
            await using var decoding = await codecs.BeginDecodingAsync(set.Manifest, null, cancellationToken);
            foreach (var file in set.Manifest.Files)
            {
                if (!set.Manifest.Properties.ContainsKey(TarSetFiles.ShaKey(file.Name)))
                {
                    record.Problems.Add($"{file.Name}: the manifest records no SHA-256 of the archive ({TarSetFiles.ShaKey(file.Name)}).");
                    continue;
                }

                await TarSetFiles.ReadAsync(catalog, set, file, decoding, async (tar, ct) => entries += await TarSetFiles.CountEntriesAsync(tar, ct), logger, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is BackupException or InvalidDataException or IOException && !cancellationToken.IsCancellationRequested)
        {
            record.Problems.Add(ex.Message);
        }

        record.Succeeded = record.Problems.Count == 0;
        record.DurationSeconds = watch.Elapsed.TotalSeconds;
        record.Method = $"read back from store '{store}', checked against the manifest, decoded and parsed: {set.Manifest.Files.Count} tar archive(s), {entries} entries, each archive's SHA-256 as written";
        if (!record.Succeeded)
            Log.ArchiveSetNotVerified(logger, set.ToString(), string.Join("; ", record.Problems));
        return record;
    }
}
