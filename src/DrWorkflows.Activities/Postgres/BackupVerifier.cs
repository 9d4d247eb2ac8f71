using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Storage;
using DrWorkflows.Activities.Throwaway;
using Docker.DotNet;
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

/// <summary>What a throwaway database is for: the backup it must be able to read.</summary>
public sealed record ThrowawayRequest(string NameHint)
{
    /// <summary>Server to create the database on when neither <c>Postgres:VerificationServer</c> nor verification containers are configured.</summary>
    public PostgresServer? PreferredServer { get; init; }

    /// <summary>Version of the server the backup was taken from (the manifest's <c>serverVersion</c>, e.g. <c>15.20</c>).</summary>
    public string? SourceVersion { get; init; }
}

/// <summary>
/// Provides throwaway databases for verification that can read the backup: in a throwaway PostgreSQL container of
/// the source's major version (<see cref="VerificationContainerOptions.Images"/>), or else on the configured server
/// when it is not older than the source. Otherwise it refuses (<c>backup.verification-refused</c>) with the reason.
/// Disposing the database removes it (or its container). A service registered before <c>AddBackupActivities</c>
/// replaces it.
/// </summary>
public interface IThrowawayPostgresProvider
{
    Task<ThrowawayDatabase> CreateAsync(ThrowawayRequest request, CancellationToken cancellationToken);
}

internal sealed class ThrowawayPostgresProvider(
    IPostgresServerResolver resolver,
    IPostgresReadiness readiness,
    IOptions<PostgresBackupOptions> options,
    IOptions<DockerOptions> docker,
    IThrowawayLedger ledger,
    ILogger<ThrowawayPostgresProvider> logger) : IThrowawayPostgresProvider, IDisposable
{
    private readonly Lazy<DockerClient> client = new(() => DockerClientFactory.Create(docker.Value));

    public Task<ThrowawayDatabase> CreateAsync(ThrowawayRequest request, CancellationToken cancellationToken) =>
        options.Value.VerificationContainers.Images.Count > 0 ? InContainerAsync(request, cancellationToken) : OnServerAsync(request, cancellationToken);

    /// <summary>A throwaway container of the source's major version; the restore creates the database in it.</summary>
    private async Task<ThrowawayDatabase> InContainerAsync(ThrowawayRequest request, CancellationToken cancellationToken)
    {
        var settings = options.Value.VerificationContainers;
        var source = PostgresVersion.Parse(request.SourceVersion)
            ?? throw Refused($"The backup's manifest records no PostgreSQL version ('{request.SourceVersion}'), so no container of the source's version can be chosen. Take a new backup (BackupDatabase records the version).");
        var major = source.Major.ToString(CultureInfo.InvariantCulture);
        if (!settings.Images.TryGetValue(major, out var image) || string.IsNullOrWhiteSpace(image))
            throw Refused($"No verification image for PostgreSQL {major}: the backup was taken from PostgreSQL {request.SourceVersion}, and a server of another major version is not a proof that it restores. Set Postgres:VerificationContainers:Images:{major} to an image of PostgreSQL {major} (e.g. postgres:{major}); configured: {string.Join(", ", settings.Images.Select(i => $"{i.Key} = {i.Value}"))}.");
        var endpoint = docker.Value.Endpoint;
        var name = ThrowawayPostgresContainer.NewName(Suffix(request.NameHint));
        // Recorded before it exists: a crash from here on leaves a ledger row that names it, and the janitor removes it.
        var lease = await ledger.RecordAsync(ThrowawaySpec.DockerContainer(endpoint, name, $"verification container {name} ({image})"), ct => ThrowawayPostgresContainer.RemoveByNameAsync(client.Value, name, ct), cancellationToken);
        ThrowawayPostgresContainer container;
        try
        {
            container = await ThrowawayPostgresContainer.StartAsync(client.Value, endpoint, image, name, settings, logger, cancellationToken);
        }
        catch
        {
            await lease.DisposeAsync();
            throw;
        }

        try
        {
            var ready = await readiness.WaitAsync(container.Server, "postgres", TimeSpan.FromSeconds(settings.StartTimeoutSeconds), cancellationToken);
            var database = DatabaseName(request.NameHint);
            return new ThrowawayDatabase(container.Server, database, $"throwaway container {container.Name} ({image}, PostgreSQL {ready.ServerVersion}), database {database}", () => lease.DisposeAsync());
        }
        catch (BackupException ex) when (ex.Code == BackupErrorCodes.DatabaseUnreachable)
        {
            var state = await container.DescribeStateAsync();
            await lease.DisposeAsync();
            throw new BackupException(BackupErrorCodes.VerificationRefused,
                $"The verification container {container.Name} ({image}) did not accept connections within {settings.StartTimeoutSeconds} s ({state}): {ex.Message} Check the image (it must start PostgreSQL with POSTGRES_PASSWORD, like the official postgres image) and Postgres:VerificationContainers.", innerException: ex);
        }
        catch
        {
            await lease.DisposeAsync();
            throw;
        }
    }

    /// <summary>A database on the verification server (or the activity's server), when that server can read the dump.</summary>
    private async Task<ThrowawayDatabase> OnServerAsync(ThrowawayRequest request, CancellationToken cancellationToken)
    {
        var server = options.Value.VerificationServer is { Length: > 0 } name ? resolver.Resolve(name, null) : request.PreferredServer
            ?? throw new BackupException(BackupErrorCodes.InvalidRequest, "No server for the throwaway verification database: set Postgres:VerificationServer, give a verification server to the activity, or configure Postgres:VerificationContainers:Images.");
        var database = DatabaseName(request.NameHint);
        var description = $"throwaway database {database} on {server}";
        await using (var connection = await PostgresConnections.OpenAsync(server, "postgres", cancellationToken))
        {
            var (version, versionNum) = await PostgresBackupService.ServerVersionAsync(connection, cancellationToken);
            if (PostgresVersion.Parse(request.SourceVersion) is { } source && PostgresVersion.FromNumber(versionNum) is { } target && target.IsOlderThan(source))
                throw Refused($"{server} runs PostgreSQL {version}, older than the PostgreSQL {request.SourceVersion} the backup was taken from: it may not read the dump, so its verdict would prove nothing. Configure Postgres:VerificationContainers:Images:{source.Major} (an image of PostgreSQL {source.Major}) to verify in a throwaway container of the source's version, or point Postgres:VerificationServer at a server of {request.SourceVersion} or newer.");
        }

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

    private string DatabaseName(string nameHint) => $"{options.Value.VerificationDatabasePrefix}{Suffix(nameHint)}_{Guid.NewGuid().ToString("N")[..8]}";

    private static string Suffix(string nameHint)
    {
        var suffix = new string([.. nameHint.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit)]);
        return suffix.Length > 20 ? suffix[..20] : suffix;
    }

    internal static BackupException Refused(string message) => new(BackupErrorCodes.VerificationRefused, message);

    public void Dispose()
    {
        if (client.IsValueCreated)
            client.Value.Dispose();
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
    double DurationSeconds)
{
    /// <summary>The report as a journal entry (no per-table detail).</summary>
    public JsonObject ToJournal() => new()
    {
        ["store"] = Store,
        ["setId"] = SetId,
        ["succeeded"] = Succeeded,
        ["method"] = Method,
        ["rows"] = Rows,
        ["seconds"] = DurationSeconds,
        ["problems"] = new JsonArray([.. Problems.Select(p => JsonValue.Create(p))]),
    };
}

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
    /// Restores the set, read from its own store, into a throwaway database that can read it (a container of the
    /// source's version, or a server not older than the source; no owners, no privileges), compares it with the
    /// manifest and records "last verified" (or the failure) in that store's manifest. Infrastructure errors (store,
    /// server, keys) throw; so does a refusal (<c>backup.verification-refused</c>: no server of a version that can
    /// read the dump), which records nothing. A backup that restores but does not match gives a failed report.
    /// </summary>
    Task<VerificationReport> VerifyAsync(VerifyBackupRequest request, CancellationToken cancellationToken);
}

internal sealed class BackupVerifier(
    IBackupCatalog catalog,
    IPostgresRestoreService restore,
    IPostgresIntegrityChecker checker,
    IThrowawayPostgresProvider throwaway,
    PostgresTools tools,
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
        await EnsureToolsCanReadAsync(set, cancellationToken);

        var stopwatch = Stopwatch.StartNew();
        var problems = new List<string>();
        var warnings = new List<string>();
        IntegrityReport? report = null;
        string method;
        await using (var database = await throwaway.CreateAsync(new ThrowawayRequest(request.Source) { PreferredServer = request.Server, SourceVersion = set.Manifest.ServerVersion }, cancellationToken))
        {
            method = $"restore from the {set.Store} store into {database.Description}";
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

    /// <summary>pg_restore cannot read an archive written by a newer major version's pg_dump: refuse before anything is created.</summary>
    private async Task EnsureToolsCanReadAsync(BackupSet set, CancellationToken cancellationToken)
    {
        if (PostgresVersion.Parse(set.Manifest.ServerVersion) is not { } source)
            return;
        var pgRestore = tools.Find("pg_restore");
        var toolMajor = PostgresTools.MajorOf(await PostgresTools.VersionAsync(pgRestore, cancellationToken));
        if (toolMajor > 0 && toolMajor < source.Major)
            throw ThrowawayPostgresProvider.Refused(
                $"pg_restore ({pgRestore}) is version {toolMajor} but backup set {set} was taken from PostgreSQL {set.Manifest.ServerVersion}: it cannot read the dump. Install the PostgreSQL {source.Major} client tools and set Postgres:Tools:BinDirectory.");
    }
}

/// <summary>What <see cref="NewBackupsVerifier"/> verifies.</summary>
public sealed record VerifyNewBackupsRequest(string Source)
{
    /// <summary>Stores to verify in; null or empty for every configured store.</summary>
    public IReadOnlyList<string>? Stores { get; init; }

    /// <summary>At most this many new sets per store, newest first (older ones wait for the next run). Default 8.</summary>
    public int MaxSetsPerStore { get; init; } = 8;

    /// <summary>Server for throwaway databases when neither Postgres:VerificationServer nor verification containers are set.</summary>
    public PostgresServer? Server { get; init; }

    public DecryptionKeys? Keys { get; init; }
}

/// <summary>
/// The result of verifying the new sets of a source in every store: one report per set and store (each restored
/// from that store), and the problems: failed verifications, refusals and store or server errors.
/// </summary>
public sealed record NewBackupsVerification(string Source, IReadOnlyList<VerificationReport> Reports, IReadOnlyList<string> Problems, IReadOnlyList<string> Warnings)
{
    public bool Succeeded => Problems.Count == 0;
}

/// <summary>
/// Verifies every new backup set of a source (one never verified in that store) in every store it was written to,
/// each copy restored from its own store, so "last verified" is recorded per set and per store. A refusal or a store
/// or server error on one set is reported and the others go on (nothing is recorded for that set, so the next run
/// tries it again).
/// </summary>
public sealed class NewBackupsVerifier(IBackupVerifier verifier, IBackupCatalog catalog, IBackupStoreProvider stores, ILogger<NewBackupsVerifier> logger)
{
    public async Task<NewBackupsVerification> VerifyAsync(VerifyNewBackupsRequest request, CancellationToken cancellationToken)
    {
        var reports = new List<VerificationReport>();
        var problems = new List<string>();
        var warnings = new List<string>();
        var storeNames = request.Stores is { Count: > 0 } wanted ? wanted : [.. stores.StoreNames.Order(StringComparer.Ordinal)];
        foreach (var store in storeNames)
        {
            IReadOnlyList<BackupSet> sets;
            try
            {
                sets = await catalog.ListAsync(store, BackupKinds.Postgres, request.Source, cancellationToken);
            }
            catch (BackupException ex) when (ex.Code != BackupErrorCodes.InvalidRequest)
            {
                problems.Add($"{request.Source} ({store}): the store could not be listed, nothing in it was verified: {ex.Message}");
                continue;
            }

            var fresh = sets.Where(s => s.Manifest.Verification is null).ToList();
            if (fresh.Count > request.MaxSetsPerStore)
                warnings.Add($"{request.Source} ({store}): {fresh.Count - request.MaxSetsPerStore} older new set(s) left for the next run (at most {request.MaxSetsPerStore} per run).");
            foreach (var set in fresh.Take(Math.Max(1, request.MaxSetsPerStore)))
            {
                try
                {
                    var report = await verifier.VerifyAsync(new VerifyBackupRequest(request.Source) { Store = store, SetId = set.Id, Server = request.Server, Keys = request.Keys }, cancellationToken);
                    reports.Add(report);
                    if (!report.Succeeded)
                        problems.Add($"{request.Source} ({store}): backup set {set.Id} did not pass verification: {string.Join("; ", report.Problems)}");
                }
                catch (BackupException ex) when (!cancellationToken.IsCancellationRequested && ex.Code != BackupErrorCodes.InvalidRequest)
                {
                    Log.VerificationNotDone(logger, set, ex.Message);
                    problems.Add(ex.Code == BackupErrorCodes.VerificationRefused
                        ? $"{request.Source} ({store}): backup set {set.Id} could not be verified: {ex.Message}"
                        : $"{request.Source} ({store}): verifying backup set {set.Id} failed before a verdict ({ex.Code}): {ex.Message}");
                }
            }
        }

        return new NewBackupsVerification(request.Source, reports, problems, warnings);
    }
}
