using System.Diagnostics;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Throwaway;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Postgres;

/// <summary>A database that exists only for one verification; disposing it removes it (or its container).</summary>
public sealed class ThrowawayDatabase(PostgresServer server, string database, string description, Func<ValueTask> remove) : IAsyncDisposable
{
    public PostgresServer Server => server;

    public string Database => database;

    /// <summary>For the verification record, e.g. <c>database drw_verify_ab12 on 127.0.0.1:5432</c>.</summary>
    public string Description => description;

    public ValueTask DisposeAsync() => remove();
}

/// <summary>
/// Provides throwaway databases for verification. The default creates a database on a configured server; a
/// Docker-based provider (a fresh postgres container per verification) can replace it in DI.
/// </summary>
public interface IThrowawayPostgresProvider
{
    Task<ThrowawayDatabase> CreateAsync(PostgresServer? preferred, string nameHint, CancellationToken cancellationToken);
}

internal sealed class ServerThrowawayPostgresProvider(IPostgresServerResolver resolver, IOptions<PostgresBackupOptions> options, IThrowawayLedger ledger) : IThrowawayPostgresProvider
{
    public async Task<ThrowawayDatabase> CreateAsync(PostgresServer? preferred, string nameHint, CancellationToken cancellationToken)
    {
        var server = options.Value.VerificationServer is { Length: > 0 } name ? resolver.Resolve(name, null) : preferred
            ?? throw new BackupException(BackupErrorCodes.InvalidRequest, "No server for the throwaway verification database: set Postgres:VerificationServer or give a verification server to the activity.");
        var suffix = new string([.. nameHint.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit)]);
        var database = $"{options.Value.VerificationDatabasePrefix}{(suffix.Length > 20 ? suffix[..20] : suffix)}_{Guid.NewGuid().ToString("N")[..8]}";
        var description = $"throwaway database {database} on {server}";
        // Recorded before it exists: a crash from here on leaves a ledger row that names it, and the janitor drops it.
        var lease = await ledger.RecordAsync(ThrowawaySpec.PostgresDatabase(server.Name, database, description), ct => PostgresThrowaway.DropDatabaseAsync(server, database, ct), cancellationToken);
        try
        {
            await using var connection = await PostgresConnections.OpenAsync(server, "postgres", cancellationToken);
            await PostgresRestoreService.ExecuteAsync(connection, $"CREATE DATABASE {PostgresConnections.QuoteIdentifier(database)} TEMPLATE template0", cancellationToken);
        }
        catch
        {
            await lease.DisposeAsync();
            throw;
        }

        return new ThrowawayDatabase(server, database, description, () => lease.DisposeAsync());
    }
}

/// <summary>What a verification found.</summary>
public sealed record VerificationReport(
    string Store,
    string SetId,
    string Source,
    DateTimeOffset TakenAt,
    bool Succeeded,
    IReadOnlyList<string> Problems,
    IReadOnlyList<string> Warnings,
    int Tables,
    long Rows,
    string Method,
    double DurationSeconds);

/// <summary>What to verify.</summary>
public sealed record VerifyBackupRequest(string Source)
{
    public string? Store { get; init; }

    /// <summary>A specific set; null for the newest complete set of the source.</summary>
    public string? SetId { get; init; }

    /// <summary>Server to create the throwaway database on when no Postgres:VerificationServer is set.</summary>
    public PostgresServer? Server { get; init; }

    public DecryptionKeys? Keys { get; init; }
}

/// <summary>Proves that backups restore: restore into a throwaway database, check integrity, record the result.</summary>
public interface IBackupVerifier
{
    /// <summary>
    /// Restores the set into a throwaway database (no owners, no privileges), compares it with the manifest and
    /// records "last verified" (or the failure) in the manifest. Infrastructure errors (store, server, keys) throw;
    /// a backup that restores but does not match gives a failed report.
    /// </summary>
    Task<VerificationReport> VerifyAsync(VerifyBackupRequest request, CancellationToken cancellationToken);
}

internal sealed class BackupVerifier(
    IBackupCatalog catalog,
    IPostgresRestoreService restore,
    IPostgresIntegrityChecker checker,
    IThrowawayPostgresProvider throwaway,
    TimeProvider clock,
    ILogger<BackupVerifier> logger) : IBackupVerifier
{
    public async Task<VerificationReport> VerifyAsync(VerifyBackupRequest request, CancellationToken cancellationToken)
    {
        var set = request.SetId is null
            ? (await catalog.ListAsync(request.Store, BackupKinds.Postgres, request.Source, cancellationToken)) is { Count: > 0 } sets ? sets[0] : null
            : await catalog.FindAsync(request.Store, BackupKinds.Postgres, request.Source, request.SetId, cancellationToken);
        if (set is null)
            throw new BackupException(BackupErrorCodes.NoRestorePoint,
                $"No complete PostgreSQL backup of '{request.Source}'{(request.SetId is null ? string.Empty : $" with id {request.SetId}")} exists in store '{request.Store ?? "default"}'. Run BackupDatabase first.");

        var stopwatch = Stopwatch.StartNew();
        var problems = new List<string>();
        var warnings = new List<string>();
        IntegrityReport? report = null;
        string method;
        await using (var database = await throwaway.CreateAsync(request.Server, request.Source, cancellationToken))
        {
            method = $"restore into {database.Description}";
            try
            {
                await restore.RestoreAsync(new PostgresRestoreRequest(set, database.Server, database.Database)
                {
                    Mode = RestoreMode.Clean,
                    NoOwner = true,
                    NoPrivileges = true,
                    Keys = request.Keys,
                }, cancellationToken);
                report = await checker.CheckAsync(database.Server, database.Database, set.Manifest, cancellationToken);
                problems.AddRange(report.Problems);
                warnings.AddRange(report.Warnings);
            }
            catch (BackupException ex) when (ex.Code is BackupErrorCodes.ChecksumMismatch or BackupErrorCodes.ToolFailed)
            {
                // The backup itself is bad (corrupt, or pg_restore rejects it): record that, then report it.
                problems.Add(ex.Message);
            }
        }

        var record = new BackupVerificationRecord
        {
            At = clock.GetUtcNow(),
            Succeeded = problems.Count == 0,
            Method = method,
            Problems = problems,
            DurationSeconds = Math.Round(stopwatch.Elapsed.TotalSeconds, 2),
        };
        await catalog.RecordVerificationAsync(set, record, cancellationToken);
        if (logger.IsEnabled(LogLevel.Information))
        {
            var result = record.Succeeded ? "verified" : string.Join("; ", problems.Take(3));
            Log.VerificationResult(logger, set, result);
        }
        return new VerificationReport(set.Store, set.Id, set.Source, set.Manifest.StartedAt, record.Succeeded, problems, warnings,
            report?.Tables.Count ?? 0, report?.TotalRows ?? 0, method, record.DurationSeconds);
    }
}
