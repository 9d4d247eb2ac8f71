using System.Net;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Server.Tests.Operations;

/// <summary><c>GET /api/objectives</c> on the real server: the plan's promises against its schedules and the real catalog.</summary>
public sealed class ObjectivesApiTests
{
    /// <summary>Objectives that every schedule of the defaults can give (the plan's table, widened where it contradicts itself).</summary>
    public static readonly IReadOnlyDictionary<string, string> HoldingObjectives = new Dictionary<string, string>
    {
        ["Drills:Components:postgres-main:Rpo"] = "07:00:00",
        ["Drills:Components:postgres-ai:Rpo"] = "07:00:00",
        ["Drills:Components:redis:Rpo"] = "1.01:00:00",
        ["Drills:Components:media:Rpo"] = "1.01:00:00",
        ["Drills:Components:monitoring:Rpo"] = "8.00:00:00",
    };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The repository's JSON workflows, as the server loads them from its workflows folder.</summary>
    public static IReadOnlyDictionary<string, string> RepositoryWorkflows() =>
        Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "repo-workflows"), "*.json").ToDictionary(f => Path.GetFileName(f), File.ReadAllText);

    [Fact]
    public async Task On_the_defaults_the_plans_own_contradictions_show_each_with_its_reason()
    {
        using var server = new ServerFactory(workflowFiles: RepositoryWorkflows());

        var (status, body, _) = await server.Client(ServerFactory.ViewerKey).GetJsonAsync("/api/objectives");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["items"], body!.AsObject().Select(p => p.Key));
        var items = body["items"]!.AsArray().Select(i => i!.AsObject()).ToList();
        Assert.Equal(20, items.Count); // the plan's 9 components and its Docker configuration backup, RTO and RPO each
        Assert.All(items, i => Assert.Equal(["component", "objective", "target", "canHold", "isHeldNow", "offsiteCopyMissing", "reason"], i.Select(p => p.Key)));
        Assert.Equal(
            ["monitoring RPO", "postgres-ai RPO", "postgres-main RPO", "redis RPO"],
            items.Where(i => !i["canHold"]!.GetValue<bool>()).Select(i => $"{i["component"]} {i["objective"]}").Order(StringComparer.Ordinal));

        var postgres = Item(items, "postgres-main", "RPO");
        Assert.Equal("00:15:00", postgres["target"]!.GetValue<string>());
        Assert.StartsWith("Backups every 6 h 00 min (workflow backup-postgres, cron 0 */6 * * *) + 0 to back up and transfer (not measured yet: no backup set in any store) = up to 6 h 00 min of data lost, more than the RPO of 15 min 00 s: the promise cannot hold.", Reason(postgres), StringComparison.Ordinal);
        Assert.False(postgres["isHeldNow"]!.GetValue<bool>());
        Assert.EndsWith("Now: local: no verified backup.", Reason(postgres), StringComparison.Ordinal);

        var redis = Item(items, "redis", "RPO");
        Assert.StartsWith("Backups every 1 d 0 h (workflow backup-redis, cron 0 4 * * *) + ", Reason(redis), StringComparison.Ordinal);
        Assert.Contains("more than the RPO of 1 h 00 min: the promise cannot hold.", Reason(redis), StringComparison.Ordinal);

        var monitoring = Item(items, "monitoring", "RPO");
        Assert.StartsWith("Backups every 7 d 0 h (workflow backup-monitoring, cron 0 3 * * 0)", Reason(monitoring), StringComparison.Ordinal);
        Assert.Contains("more than the RPO of 1 d 0 h: the promise cannot hold.", Reason(monitoring), StringComparison.Ordinal);
        Assert.False(monitoring["isHeldNow"]!.GetValue<bool>()); // no monitoring set in any store yet

        var dockerConfig = Item(items, "docker-config", "RPO");
        Assert.True(dockerConfig["canHold"]!.GetValue<bool>(), Reason(dockerConfig));
        Assert.StartsWith("Backups every 1 h 00 min (workflow backup-docker-config, cron 17 * * * *)", Reason(dockerConfig), StringComparison.Ordinal);
        Assert.False(dockerConfig["isHeldNow"]!.GetValue<bool>());

        var media = Item(items, "media", "RPO");
        Assert.True(media["canHold"]!.GetValue<bool>());
        Assert.Contains("Backups every 1 d 0 h (workflow backup-media, cron 0 2 * * *) + 0 to back up and transfer (not measured yet", Reason(media), StringComparison.Ordinal);
        var backend = Item(items, "backend", "RPO");
        Assert.True(backend["canHold"]!.GetValue<bool>());
        Assert.Null(backend["isHeldNow"]);
        Assert.StartsWith("Stateless", Reason(backend), StringComparison.Ordinal);
        Assert.Contains("No restore has been measured yet", Reason(Item(items, "postgres-main", "RTO")), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client(null).GetJsonAsync("/api/objectives")).Status);
    }

    [Fact]
    public async Task Objectives_that_the_schedules_can_give_hold()
    {
        using var server = new ServerFactory(workflowFiles: RepositoryWorkflows(), settings: HoldingObjectives);

        var (_, body, _) = await server.Client(ServerFactory.ViewerKey).GetJsonAsync("/api/objectives");

        var items = body!["items"]!.AsArray().Select(i => i!.AsObject()).ToList();
        Assert.All(items, i => Assert.True(i["canHold"]!.GetValue<bool>(), Reason(i)));
        var redis = Item(items, "redis", "RPO");
        Assert.Equal("1.01:00:00", redis["target"]!.GetValue<string>());
        Assert.Contains("up to 1 d 0 h of data lost, within the RPO of 1 d 1 h.", Reason(redis), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Held_now_is_the_age_of_the_newest_verified_backup_in_each_store_and_the_measured_restore_decides_the_RTO()
    {
        using var server = new ServerFactory(workflowFiles: RepositoryWorkflows());
        var catalog = server.Services.GetRequiredService<IBackupCatalog>();
        var now = DateTimeOffset.UtcNow;
        await WriteSetAsync(catalog, "ecommerce_db", now.AddMinutes(-10), TimeSpan.FromMinutes(2), restoreSeconds: 90);
        await WriteSetAsync(catalog, "ecommerce_db", now.AddMinutes(-5), TimeSpan.FromMinutes(1), restoreSeconds: null); // newer, not verified
        await WriteSetAsync(catalog, "ai_db", now.AddHours(-3), TimeSpan.FromMinutes(3), restoreSeconds: 3600);

        var (_, body, _) = await server.Client(ServerFactory.ViewerKey).GetJsonAsync("/api/objectives");

        var items = body!["items"]!.AsArray().Select(i => i!.AsObject()).ToList();
        var main = Item(items, "postgres-main", "RPO");
        Assert.True(main["isHeldNow"]!.GetValue<bool>(), Reason(main));
        Assert.Matches(@"Now: local: the newest verified backup is 1\d min \d\d s old\.$", Reason(main));
        Assert.Contains("+ 1 min 00 s to back up and transfer (the newest set in store 'local', the slowest)", Reason(main), StringComparison.Ordinal);
        var ai = Item(items, "postgres-ai", "RPO");
        Assert.False(ai["isHeldNow"]!.GetValue<bool>());
        Assert.Matches("the newest verified backup is 3 h 0[0-9] min old, older than the RPO", Reason(ai));
        Assert.False(Item(items, "redis", "RPO")["isHeldNow"]!.GetValue<bool>());

        var mainRto = Item(items, "postgres-main", "RTO");
        Assert.True(mainRto["canHold"]!.GetValue<bool>());
        Assert.StartsWith("The last measured restore took 1 min 30 s (verification restore of set", Reason(mainRto), StringComparison.Ordinal);
        var aiRto = Item(items, "postgres-ai", "RTO");
        Assert.False(aiRto["canHold"]!.GetValue<bool>());
        Assert.Contains("took 1 h 00 min", Reason(aiRto), StringComparison.Ordinal);
        Assert.Contains("more than the RTO of 30 min 00 s: the promise cannot hold.", Reason(aiRto), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_store_that_cannot_be_read_makes_held_now_unknown_not_true()
    {
        // An S3 store whose endpoint does not answer: the local copy alone cannot say the promise is held.
        var settings = new Dictionary<string, string>
        {
            ["Backups:Stores:S3:BucketName"] = "drw-unreachable",
            ["Backups:Stores:S3:ServiceUrl"] = $"http://127.0.0.1:{FreePort.Get()}",
            ["Backups:Stores:S3:ForcePathStyle"] = "true",
            ["Backups:Stores:S3:AccessKeyId"] = "S3RVER",
            ["Backups:Stores:S3:SecretAccessKey"] = "S3RVER",
        };
        using var server = new ServerFactory(workflowFiles: RepositoryWorkflows(), settings: settings);
        await WriteSetAsync(server.Services.GetRequiredService<IBackupCatalog>(), "ecommerce_db", DateTimeOffset.UtcNow.AddMinutes(-10), TimeSpan.FromMinutes(2), restoreSeconds: 90);

        var (_, body, _) = await server.Client(ServerFactory.ViewerKey).GetJsonAsync("/api/objectives");

        var main = Item(body!["items"]!.AsArray().Select(i => i!.AsObject()).ToList(), "postgres-main", "RPO");
        Assert.Null(main["isHeldNow"]);
        Assert.Contains("local: the newest verified backup is 10 min", Reason(main), StringComparison.Ordinal);
        Assert.Contains("s3: unknown, the store could not be read", Reason(main), StringComparison.Ordinal);
    }

    [Fact]
    public async Task At_start_the_server_warns_about_each_promise_that_cannot_hold()
    {
        var logs = new CapturedLogs();
        using var server = new ServerFactory(workflowFiles: RepositoryWorkflows());
        using var started = server.WithWebHostBuilder(b => b.ConfigureLogging(l => l.AddProvider(logs)));
        _ = started.Services;

        // The check runs in the background once the workflows are loaded: wait for it (generous, a loaded machine).
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!logs.Lines.Any(l => l.Contains("recovery promises cannot hold by design", StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
            await Task.Delay(100, Ct);

        var warnings = logs.Lines.Where(l => l.StartsWith("Warning ", StringComparison.Ordinal)).ToList();
        Assert.Contains(warnings, l => l.StartsWith("Warning Recovery promise cannot hold: PostgreSQL (Main) (postgres-main) RPO 15 min 00 s. Backups every 6 h 00 min (workflow backup-postgres", StringComparison.Ordinal));
        Assert.Contains(warnings, l => l.StartsWith("Warning Recovery promise cannot hold: Redis Cache (redis) RPO 1 h 00 min.", StringComparison.Ordinal));
        Assert.Contains(warnings, l => l.StartsWith("Warning Recovery promise cannot hold: Monitoring Stack (monitoring) RPO 1 d 0 h.", StringComparison.Ordinal));
        Assert.Contains("Warning 4 of 20 recovery promises cannot hold by design: see GET /api/objectives or drw objectives", warnings);
    }

    /// <summary>Log lines as "Level message".</summary>
    private sealed class CapturedLogs : ILoggerProvider
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> lines = new();

        public IReadOnlyList<string> Lines => [.. lines];

        public ILogger CreateLogger(string categoryName) => new Logger(lines);

        public void Dispose()
        {
        }

        private sealed class Logger(System.Collections.Concurrent.ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue($"{logLevel} {formatter(state, exception)}");
        }
    }

    private static JsonObject Item(List<JsonObject> items, string component, string objective) =>
        Assert.Single(items, i => i["component"]!.GetValue<string>() == component && i["objective"]!.GetValue<string>() == objective);

    private static string Reason(JsonObject item) => item["reason"]!.GetValue<string>();

    /// <summary>A real set in the local store, started at <paramref name="startedAt"/>, verified by a restore of <paramref name="restoreSeconds"/> when given (that failed unless <paramref name="succeeded"/>).</summary>
    internal static async Task WriteSetAsync(IBackupCatalog catalog, string database, DateTimeOffset startedAt, TimeSpan took, int? restoreSeconds, bool succeeded = true)
    {
        await using var writer = await catalog.BeginAsync(new BackupSetRequest(BackupKinds.Postgres, database, $"{database}-{startedAt:yyyyMMddHHmmss}") { Store = "local" }, Ct);
        writer.Manifest.StartedAt = startedAt;
        writer.Manifest.CompletedAt = startedAt + took;
        writer.Manifest.Database = database;
        await using (var file = await writer.CreateFileAsync(database + ".dump", Ct))
        {
            await file.WriteAsync("PGDMP"u8.ToArray(), Ct);
            await file.CommitAsync(Ct);
        }

        var set = await writer.CompleteAsync(TimeProvider.System, Ct);
        if (restoreSeconds is { } seconds)
            await catalog.RecordVerificationAsync(set, new BackupVerificationRecord { At = startedAt + took + TimeSpan.FromMinutes(1), Succeeded = succeeded, Method = "restore into a throwaway database (test)", DurationSeconds = seconds }, Ct);
    }
}
