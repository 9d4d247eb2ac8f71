using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Media;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Throwaway;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Drills;

/// <summary>One component to rehearse: restore the newest backup of a source into an isolated copy and measure it.</summary>
public sealed record RehearsalRequest(string Component, string Kind, string Source)
{
    /// <summary>Backup store; null for the default store.</summary>
    public string? Store { get; init; }

    /// <summary>Start of the drill: the RTO runs from here and the RPO is measured against it.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>PostgreSQL server (name in Postgres:Servers) that hosts the throwaway database; default Postgres:VerificationServer.</summary>
    public string? Server { get; init; }

    /// <summary>Directory under which a media set is restored into a fresh throwaway folder; default the system temp directory.</summary>
    public string? ScratchDirectory { get; init; }

    public DecryptionKeys? Keys { get; init; }
}

/// <summary>
/// Restores backups into isolated copies only (a throwaway database, a throwaway folder), never into production,
/// and measures when each was back and checked.
/// </summary>
public interface IRestoreRehearsal
{
    /// <summary>
    /// Restores the newest complete backup set of the request's source and checks it. Never throws for a failed
    /// restore: the measurement says it failed and why (only cancellation escapes).
    /// </summary>
    Task<RecoveryMeasurement> RehearseAsync(RehearsalRequest request, CancellationToken cancellationToken);
}

internal sealed class RestoreRehearsal(
    IBackupCatalog catalog,
    IBackupVerifier verifier,
    IMediaBackupService media,
    IRedisStoreBackup redis,
    IPostgresServerResolver servers,
    IThrowawayLedger ledger,
    TimeProvider clock,
    ILogger<RestoreRehearsal> logger) : IRestoreRehearsal
{
    public async Task<RecoveryMeasurement> RehearseAsync(RehearsalRequest request, CancellationToken cancellationToken)
    {
        var measurement = new RecoveryMeasurement { Component = request.Component, Source = request.Source, Store = request.Store, StartedAt = request.StartedAt };
        try
        {
            var kind = BackupKinds.Validate(request.Kind);
            var sets = await catalog.ListAsync(request.Store, kind, request.Source, cancellationToken);
            if (sets.Count == 0)
            {
                return Failed(request, measurement, $"No complete {kind} backup of '{request.Source}' exists in store '{request.Store ?? "default"}': the component cannot be recovered. Check the scheduled backups.");
            }

            var set = sets[0];
            measurement = measurement with { Store = set.Store, SetId = set.Id, BackupTakenAt = set.Manifest.StartedAt };
            var (succeeded, method, problems) = kind switch
            {
                BackupKinds.Postgres => await PostgresAsync(request, set, cancellationToken),
                BackupKinds.Media => await MediaAsync(request, set, cancellationToken),
                BackupKinds.Redis => await RedisAsync(request, set, cancellationToken),
                _ => await ChecksumsAsync(set, cancellationToken),
            };
            measurement = measurement with { Succeeded = succeeded, Method = method, Problems = problems, RecoveredAt = succeeded ? clock.GetUtcNow() : null };
            Log.Rehearsed(logger, request.Component, kind, request.Source, set.Id, succeeded ? "recovered" : string.Join("; ", problems.Take(3)));
            return measurement;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return Failed(request, measurement, ex.Message);
        }
    }

    private async Task<(bool, string, IReadOnlyList<string>)> PostgresAsync(RehearsalRequest request, BackupSet set, CancellationToken cancellationToken)
    {
        var server = string.IsNullOrWhiteSpace(request.Server) ? null : servers.Resolve(request.Server, null);
        var report = await verifier.VerifyAsync(new VerifyBackupRequest(set.Source) { Store = set.Store, SetId = set.Id, Server = server, Keys = request.Keys }, cancellationToken);
        var method = $"{report.Method}: {report.Tables} table(s), {report.Rows} row(s) checked against the manifest";
        return (report.Succeeded, method, report.Problems);
    }

    private async Task<(bool, string, IReadOnlyList<string>)> MediaAsync(RehearsalRequest request, BackupSet set, CancellationToken cancellationToken)
    {
        await using var folder = await ledger.CreateDirectoryAsync(ThrowawayFiles.NewPath("drw-drill-media-", request.ScratchDirectory), $"drill: throwaway copy of media set {set}", cancellationToken);
        var directory = folder.Name;
        var result = await media.RestoreAsync(new MediaRestoreRequest(set, directory), cancellationToken);
        var problems = new List<string>();
        if (result.Written + result.AlreadyCurrent != result.Files)
            problems.Add($"Only {result.Written + result.AlreadyCurrent} of the {result.Files} files of set {set.Id} were restored.");
        return (problems.Count == 0, $"restore into throwaway folder {directory}: {result.Files} file(s), {result.WrittenBytes} bytes, each checked by SHA-256", problems);
    }

    private async Task<(bool, string, IReadOnlyList<string>)> RedisAsync(RehearsalRequest request, BackupSet set, CancellationToken cancellationToken)
    {
        // The decoded RDB is Redis's data in clear: it lives in a private folder of its own, in the ledger.
        await using var folder = await ledger.CreateDirectoryAsync(ThrowawayFiles.NewPath("drw-drill-redis-", request.ScratchDirectory), $"drill: decoded copy of Redis set {set}", cancellationToken);
        var path = Path.Combine(folder.Name, "dump.rdb");
        var fetched = await redis.FetchAsync(set.Source, set.Id, set.Store, path, request.Keys, cancellationToken);
        var header = new byte[5];
        await using (var file = File.OpenRead(fetched.Path))
            await file.ReadExactlyAsync(header, cancellationToken);
        var problems = System.Text.Encoding.ASCII.GetString(header) == "REDIS"
            ? new List<string>()
            : [$"Set {set.Id} does not decode to an RDB file (no REDIS header): it cannot be loaded by Redis."];
        return (problems.Count == 0, $"downloaded, checksum-verified and decoded to throwaway file {path}: RDB of {fetched.Bytes} bytes, {fetched.Keys} keys at backup time", problems);
    }

    private async Task<(bool, string, IReadOnlyList<string>)> ChecksumsAsync(BackupSet set, CancellationToken cancellationToken)
    {
        await catalog.VerifyChecksumsAsync(set, cancellationToken);
        return (true, $"every file of set {set.Id} read back from store '{set.Store}' and checked by size and SHA-256 (no throwaway server for this kind)", []);
    }

    private RecoveryMeasurement Failed(RehearsalRequest request, RecoveryMeasurement measurement, string reason)
    {
        Log.RehearsalFailed(logger, request.Component, request.Kind, request.Source, reason);
        return measurement with { Succeeded = false, RecoveredAt = null, Problems = [.. measurement.Problems, reason] };
    }
}
