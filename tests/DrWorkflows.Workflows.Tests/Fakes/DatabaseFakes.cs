using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Media;
using DrWorkflows.Activities.Postgres;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Workflows.Tests.Fakes;

/// <summary>
/// PostgreSQL and media services that record what the workflows asked for. Backups and verifications write real
/// manifests into the (real) backup catalog of the test host, so later steps see them as the real services would.
/// </summary>
public sealed class FakeDatabases(CallLog log, IServiceProvider services)
    : IPostgresReadiness, IPostgresRestoreService, IPostgresIntegrityChecker, IPostgresBackupService, IBackupVerifier, IMediaBackupService, IPostgresInventory
{
    public bool Ready { get; set; } = true;

    /// <summary>The restore throws (pg_restore reported errors), as a real failed restore would.</summary>
    public bool FailRestore { get; set; }

    /// <summary>Databases whose restore throws; the others restore.</summary>
    public HashSet<string> FailRestoreOf { get; } = new(StringComparer.Ordinal);

    /// <summary>Whether the server answers <see cref="InspectAsync"/> (a corrupt server does not).</summary>
    public bool ServerAnswers { get; set; } = true;

    /// <summary>The databases (with sizes) of the one fake server: restores add to it, <see cref="EmptyServer"/> resets it.</summary>
    public Dictionary<string, long?> OnServer { get; } = new(StringComparer.Ordinal) { ["postgres"] = 7_500_000 };

    /// <summary>The roles of the fake server: a globals restore adds the roles its manifest records.</summary>
    public SortedSet<string> RolesOnServer { get; } = new(StringComparer.Ordinal) { "postgres" };

    /// <summary>What a fresh data volume holds after initdb (a server that answers): the <c>postgres</c> database and role.</summary>
    public void EmptyServer()
    {
        ServerAnswers = true;
        OnServer.Clear();
        OnServer["postgres"] = 7_500_000;
        RolesOnServer.Clear();
        RolesOnServer.Add("postgres");
    }

    public Task<ServerInventory> InspectAsync(PostgresServer server, TimeSpan timeout, CancellationToken cancellationToken)
    {
        log.Add($"postgres.inspect {server.Name} -> {(ServerAnswers ? string.Join(",", OnServer.Keys.Order(StringComparer.Ordinal)) : "unreachable")}");
        return ServerAnswers
            ? Task.FromResult(new ServerInventory(server.Name, server.Endpoint, Clock.GetUtcNow(), ServerInventory.FromServer,
                [.. OnServer.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => new ServerDatabase(d.Key, d.Value, "postgres"))], [.. RolesOnServer]))
            : throw new BackupException(BackupErrorCodes.DatabaseUnreachable, $"{server} is unreachable: connection refused (scripted by the test).", retryable: true);
    }

    /// <summary>Problems the integrity checks report (none: they pass).</summary>
    public List<string> IntegrityProblems { get; } = [];

    /// <summary>Problems a verification finds (none: the backup restores and matches).</summary>
    public List<string> VerificationProblems { get; } = [];

    /// <summary>Stores whose copy of a backup written to several stores fails (an S3 outage, a full disk), as scripted by the test.</summary>
    public HashSet<string> FailingStores { get; } = new(StringComparer.OrdinalIgnoreCase);

    private IBackupCatalog Catalog => services.GetRequiredService<IBackupCatalog>();

    private TimeProvider Clock => services.GetRequiredService<TimeProvider>();

    public Task<PostgresReadyResult> WaitAsync(PostgresServer server, string? database, TimeSpan timeout, CancellationToken cancellationToken)
    {
        log.Add($"postgres.wait {server.Name} -> {(Ready ? "ready" : "not ready")}");
        return Ready
            ? Task.FromResult(new PostgresReadyResult("15.18", 1, 0.1))
            : throw new BackupException(BackupErrorCodes.DatabaseUnreachable, $"{server} did not accept connections within {timeout} (scripted by the test).");
    }

    public Task<PostgresRestoreResult> RestoreAsync(PostgresRestoreRequest request, CancellationToken cancellationToken)
    {
        log.Add($"postgres.restore {request.Set.Id} -> {request.Target.Name}/{request.Database} {request.Mode}{(request.NoOwner ? " no-owner" : string.Empty)}");
        if (FailRestore || FailRestoreOf.Contains(request.Database))
            throw new BackupException(BackupErrorCodes.ToolFailed, $"pg_restore into database '{request.Database}' reported errors (scripted by the test).");
        OnServer[request.Database] = request.Set.Manifest.Size * 10;
        return Task.FromResult(new PostgresRestoreResult(request.Set.Id, request.Database, request.Target.ToString(), request.Set.Manifest.Size, 1000, 0.1, 0.5));
    }

    public Task<GlobalsRestoreResult> RestoreGlobalsAsync(BackupSet set, PostgresServer target, DecryptionKeys? keys, CancellationToken cancellationToken)
    {
        log.Add($"postgres.restore-globals {set.Id} -> {target.Name}");
        RolesOnServer.UnionWith(set.Manifest.Roles ?? []);
        return Task.FromResult(new GlobalsRestoreResult(set.Id, []));
    }

    public Task<IntegrityReport> CheckAsync(PostgresServer server, string database, BackupManifest? expected, CancellationToken cancellationToken)
    {
        log.Add($"postgres.integrity {server.Name}/{database}{(expected is null ? string.Empty : " vs " + expected.Id)} -> {(IntegrityProblems.Count == 0 ? "passed" : "failed")}");
        return Task.FromResult(new IntegrityReport(database, server.ToString(), [new TableCheck("public.orders", 12, 12, null, null)], [], [.. IntegrityProblems], []));
    }

    public async Task<BackupSet> BackupDatabaseAsync(PostgresBackupRequest request, CancellationToken cancellationToken)
    {
        log.Add($"postgres.backup {request.Server.Name}/{request.Database} -> {request.Store ?? "default"}");
        return await WriteSetAsync(BackupKinds.Postgres, request.Source ?? request.Database, request.SetId, request.Store, request.Database, cancellationToken, server: request.Server.Name);
    }

    public async Task<BackupSet> BackupGlobalsAsync(PostgresGlobalsRequest request, CancellationToken cancellationToken)
    {
        log.Add($"postgres.backup-globals {request.Server.Name} -> {request.Store ?? "default"}");
        return await WriteSetAsync(BackupKinds.Globals, request.Source ?? request.Server.Name, request.SetId, request.Store, null, cancellationToken, server: request.Server.Name);
    }

    public async Task<BackupCopies> BackupDatabaseToStoresAsync(PostgresBackupRequest request, IReadOnlyList<string?> stores, CancellationToken cancellationToken)
    {
        log.Add($"postgres.backup {request.Server.Name}/{request.Database} -> {string.Join(",", stores.Select(s => s ?? "default"))}");
        return await WriteCopiesAsync(BackupKinds.Postgres, request.Source ?? request.Database, request.SetId, stores, request.Database, cancellationToken);
    }

    public async Task<BackupCopies> BackupGlobalsToStoresAsync(PostgresGlobalsRequest request, IReadOnlyList<string?> stores, CancellationToken cancellationToken)
    {
        log.Add($"postgres.backup-globals {request.Server.Name} -> {string.Join(",", stores.Select(s => s ?? "default"))}");
        return await WriteCopiesAsync(BackupKinds.Globals, request.Source ?? request.Server.Name, request.SetId, stores, null, cancellationToken);
    }

    /// <summary>The set in every store except the <see cref="FailingStores"/>; throws when none is left, as the real service does.</summary>
    private async Task<BackupCopies> WriteCopiesAsync(string kind, string source, string setId, IReadOnlyList<string?> stores, string? database, CancellationToken cancellationToken)
    {
        var sets = new List<BackupSet>();
        var failures = new List<BackupCopyFailure>();
        foreach (var store in stores)
        {
            if (store is not null && FailingStores.Contains(store))
                failures.Add(new BackupCopyFailure(store, store + " store", BackupErrorCodes.StoreError, $"Could not write {kind}/{source}/{setId} (scripted by the test)."));
            else
                sets.Add(await WriteSetAsync(kind, source, setId, store, database, cancellationToken));
        }

        return sets.Count > 0 ? new BackupCopies(sets, failures) : throw new BackupException(BackupErrorCodes.StoreError, string.Join(" | ", failures.Select(f => f.Message)));
    }

    public Task<IReadOnlyList<string>> ListDatabasesAsync(PostgresServer server, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>(["ecommerce_db", "ai_db"]);

    public async Task<VerificationReport> VerifyAsync(VerifyBackupRequest request, CancellationToken cancellationToken)
    {
        var sets = await Catalog.ListAsync(request.Store, BackupKinds.Postgres, request.Source, cancellationToken);
        var set = (request.SetId is null ? (sets.Count > 0 ? sets[0] : null) : sets.FirstOrDefault(s => s.Id == request.SetId))
            ?? throw new BackupException(BackupErrorCodes.NoRestorePoint, $"No complete PostgreSQL backup of '{request.Source}' (scripted by the test).");
        var succeeded = VerificationProblems.Count == 0;
        log.Add($"postgres.verify {request.Source} {set.Id} -> {(succeeded ? "verified" : "failed")}");
        await Catalog.RecordVerificationAsync(set, new BackupVerificationRecord { At = Clock.GetUtcNow(), Succeeded = succeeded, Method = "fake throwaway restore", Problems = [.. VerificationProblems] }, cancellationToken);
        return new VerificationReport(set.Store, set.Id, set.Source, set.Manifest.StartedAt, succeeded, [.. VerificationProblems], [], 3, 42, "restore into throwaway database (fake)", 1.5);
    }

    public async Task<MediaBackupResult> BackupAsync(MediaBackupRequest request, CancellationToken cancellationToken)
    {
        log.Add($"media.backup {request.Directory} -> {request.Store ?? "default"}");
        // The set's file is a file map without files (the fake uploads no content), so that the offsite copy can read it.
        var set = await WriteSetAsync(BackupKinds.Media, request.Source, request.SetId, request.Store, null, cancellationToken, content: new MediaFileMap { ObjectPrefix = $"media/{request.Source}/_objects/" }.ToJsonBytes(), fileName: MediaFileMap.FileName);
        return new MediaBackupResult(set.Store, set.Id, 3, 300, 1, 100, 2, []);
    }

    public Task<MediaRestoreResult> RestoreAsync(MediaRestoreRequest request, CancellationToken cancellationToken)
    {
        log.Add($"media.restore {request.Set.Id} -> {request.Directory}");
        return Task.FromResult(new MediaRestoreResult(request.Set.Id, 3, 3, 0, 0, 300));
    }

    public Task<MediaFileMap> ReadFileMapAsync(BackupSet set, CancellationToken cancellationToken) => Task.FromResult(new MediaFileMap());

    public Task<int> CollectGarbageAsync(string? store, bool dryRun, CancellationToken cancellationToken) => Task.FromResult(0);

    /// <summary>
    /// Writes a complete set with one small file (<paramref name="content"/>, default a label), taken at <paramref name="startedAt"/>
    /// (default now); PostgreSQL and globals sets name <paramref name="server"/> as the backup service does; <paramref name="edit"/>
    /// changes the manifest before it is written (e.g. the databases and roles a globals set records).
    /// </summary>
    public async Task<BackupSet> WriteSetAsync(string kind, string source, string setId, string? store, string? database, CancellationToken cancellationToken, DateTimeOffset? startedAt = null, bool verified = false, byte[]? content = null, string? server = "main", Action<BackupManifest>? edit = null, string? fileName = null)
    {
        await using var writer = await Catalog.BeginAsync(new BackupSetRequest(kind, source, setId) { Store = store }, cancellationToken);
        var taken = startedAt ?? Clock.GetUtcNow();
        writer.Manifest.StartedAt = taken;
        writer.Manifest.CompletedAt = taken.AddMinutes(5);
        writer.Manifest.Database = database;
        if (kind is BackupKinds.Postgres or BackupKinds.Globals)
            writer.Manifest.Server = server;
        edit?.Invoke(writer.Manifest);
        await using (var file = await writer.CreateFileAsync(fileName ?? source + ".dump", cancellationToken))
        {
            await file.WriteAsync(content ?? System.Text.Encoding.UTF8.GetBytes($"{kind}:{source}:{setId}"), cancellationToken);
            await file.CommitAsync(cancellationToken);
        }

        var set = await writer.CompleteAsync(Clock, cancellationToken);
        return verified
            ? await Catalog.RecordVerificationAsync(set, new BackupVerificationRecord { At = taken.AddMinutes(30), Succeeded = true, Method = "seeded by the test" }, cancellationToken)
            : set;
    }
}
