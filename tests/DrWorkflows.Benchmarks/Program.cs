using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using DrWorkflows.Benchmarks;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

// dotnet run -c Release --project tests/DrWorkflows.Benchmarks -- [sqlite|postgres|all|abuse]
// PostgreSQL: DRW_BENCH_POSTGRES or DRW_TEST_POSTGRES (a connection string allowed to CREATE DATABASE).
// abuse: the server's memory under 100 concurrent 10 MB bodies per write route (not part of all).
// csharp: C# expressions against the same JavaScript ones after the first compile (not part of all).
var mode = (args.FirstOrDefault() ?? "all").ToLowerInvariant();
if (mode is not ("sqlite" or "postgres" or "all" or "abuse" or "csharp"))
{
    Console.Error.WriteLine($"usage: dotnet run -c Release --project tests/DrWorkflows.Benchmarks -- [sqlite|postgres|all|abuse|csharp]  (got '{mode}')");
    return 2;
}

using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(20));
var ct = cancel.Token;
var report = new Report();
report.Machine();
report.Load("at start");
if (mode == "csharp")
{
    var verdict = await ExpressionBenchmark.RunAsync(report, ct);
    report.Load("at the end");
    report.Print();
    return verdict;
}

if (mode == "abuse")
{
    using var abuse = new TempDir("abuse");
    var verdict = await AbuseBenchmark.RunAsync(report, abuse.FullPath, ct);
    report.Load("at the end");
    report.Print();
    return verdict;
}

var runs = int.TryParse(Environment.GetEnvironmentVariable("DRW_BENCH_RUNS"), CultureInfo.InvariantCulture, out var r) ? r : 400;
// DRW_BENCH_ONLY=throughput,resume,recovery,server runs only those parts (for profiling one of them).
var only = Environment.GetEnvironmentVariable("DRW_BENCH_ONLY")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
bool Part(string name) => only is null || only.Contains(name, StringComparer.OrdinalIgnoreCase);

if (mode is "sqlite" or "all")
{
    using var dir = new TempDir("sqlite");
    Task<double> Floor() => Task.FromResult(SqliteFloor(dir.Combine("floor.db"), TimeSpan.FromSeconds(2)));
    if (Part("throughput"))
        await Throughput(report, "SQLite", s => s.AddDrWorkflowsSqlite(o => o.DataDirectory = dir.Combine("store")), Floor, runs, ct);
    if (Part("resume"))
        await ResumeLatency(report, "SQLite", s => s.AddDrWorkflowsSqlite(o => o.DataDirectory = dir.Combine("store")), ct);
    if (Part("recovery"))
        await RuntimeRecovery(report, "SQLite", data => s => s.AddDrWorkflowsSqlite(o => o.DataDirectory = data), dir.Combine("recover"), ct);
    if (Part("server"))
        await ServerRecovery.MeasureAsync(report, dir.Combine("server"), ct);
}

if (mode is "postgres" or "all")
{
    var server = Environment.GetEnvironmentVariable("DRW_BENCH_POSTGRES") is { Length: > 0 } b ? b : Environment.GetEnvironmentVariable("DRW_TEST_POSTGRES");
    if (string.IsNullOrWhiteSpace(server))
    {
        report.Note("PostgreSQL: skipped (set DRW_BENCH_POSTGRES or DRW_TEST_POSTGRES to a connection string that may CREATE DATABASE).");
    }
    else
    {
        var database = "drw_bench_" + Guid.NewGuid().ToString("N");
        await Pg(server, $"CREATE DATABASE \"{database}\"", ct);
        try
        {
            var cs = new NpgsqlConnectionStringBuilder(server) { Database = database }.ConnectionString;
            report.Note($"PostgreSQL settings: fsync={await PgShow(cs, "fsync", ct)}, synchronous_commit={await PgShow(cs, "synchronous_commit", ct)}, version {await PgShow(cs, "server_version", ct)}");
            var floorNumber = 0;
            Task<double> Floor() => PgFloor(cs, $"bench_floor_{++floorNumber}", TimeSpan.FromSeconds(2), ct);
            if (Part("throughput"))
                await Throughput(report, "PostgreSQL", s => s.AddDrWorkflowsPostgres(o => o.ConnectionString = cs), Floor, runs, ct);
            if (Part("resume"))
                await ResumeLatency(report, "PostgreSQL", s => s.AddDrWorkflowsPostgres(o => o.ConnectionString = cs), ct);
            if (Part("recovery"))
                await RuntimeRecovery(report, "PostgreSQL", _ => s => s.AddDrWorkflowsPostgres(o => o.ConnectionString = cs), string.Empty, ct);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await Pg(server, $"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", CancellationToken.None);
        }
    }
}

report.Load("at the end");
report.Print();
return 0;

// ---- measurements --------------------------------------------------------------------------------------------------

static double SqliteFloor(string path, TimeSpan duration)
{
    var fresh = !File.Exists(path);
    using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ConnectionString);
    connection.Open();
    using var command = connection.CreateCommand();
    command.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;";
    command.ExecuteNonQuery();
    if (fresh)
    {
        // Steady state, as in a store that has been running: the WAL file already has its size (SQLite rewrites it
        // from the start after each checkpoint), so a commit's fdatasync does not also have to grow the file.
        command.CommandText = "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL); CREATE TABLE pad (b BLOB NOT NULL);"
            + "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) INSERT INTO pad SELECT zeroblob(4000) FROM n; COMMIT;"
            + "PRAGMA wal_checkpoint(PASSIVE); DELETE FROM pad; PRAGMA wal_checkpoint(PASSIVE);";
        command.ExecuteNonQuery();
    }

    command.CommandText = "INSERT INTO t (v) VALUES ($v)";
    var value = command.Parameters.Add("$v", SqliteType.Text);
    value.Value = "a small row of about forty bytes of text";
    command.Prepare();
    var count = 0;
    var clock = Stopwatch.StartNew();
    while (clock.Elapsed < duration)
    {
        command.ExecuteNonQuery(); // autocommit: one transaction, one fsync of the WAL
        count++;
    }

    return count / clock.Elapsed.TotalSeconds;
}

static async Task<double> PgFloor(string cs, string table, TimeSpan duration, CancellationToken ct)
{
    await using var connection = new NpgsqlConnection(cs);
    await connection.OpenAsync(ct);
    await using (var create = new NpgsqlCommand($"CREATE TABLE {table} (id bigserial PRIMARY KEY, v text NOT NULL)", connection))
        await create.ExecuteNonQueryAsync(ct);
    await using var insert = new NpgsqlCommand($"INSERT INTO {table} (v) VALUES ($1)", connection);
    insert.Parameters.Add(new NpgsqlParameter { Value = "a small row of about forty bytes of text" });
    await insert.PrepareAsync(ct);
    var count = 0;
    var clock = Stopwatch.StartNew();
    while (clock.Elapsed < duration)
    {
        await insert.ExecuteNonQueryAsync(ct);
        count++;
    }

    return count / clock.Elapsed.TotalSeconds;
}

// Durable activities per second: runs of a 20-step workflow, each step committed before the next starts. The
// floor (bare commits of a small row) is measured right before and after each measurement, since the disk's
// fsync time moves with whatever else the machine does; the ratio is against their mean.
static async Task Throughput(Report report, string store, Action<IServiceCollection> addStore, Func<Task<double>> floor, int runs, CancellationToken ct)
{
    await using var host = BenchHost.Create(addStore, "bench");
    await host.PrepareAsync(publish: true, ct);
    foreach (var (definition, label) in new[] { (BenchWorkflows.Steps20, "safe steps"), (BenchWorkflows.Unsafe20, "unsafe steps (committed as started first)") })
    {
        await RunMany(host.Runtime, definition, 10, 2, ct); // warm-up: JIT, caches, connections
        foreach (var concurrency in new[] { 1, 8 })
        {
            var count = concurrency == 1 ? Math.Max(20, runs / 4) : runs;
            var before = await floor();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var elapsed = await RunMany(host.Runtime, definition, count, concurrency, ct);
            cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
            var after = await floor();
            var rate = count * 20 / elapsed.TotalSeconds;
            report.Line(store, $"bare commit floor (1-row INSERT, one transaction each): before {before:F0}/s, after {after:F0}/s", (before + after) / 2, "commits/s");
            report.Line(store, $"20-step workflow, {label}, {concurrency} run(s) at a time ({count} runs; CPU of this process {cpu.TotalMilliseconds * 1000 / (count * 20):F0} µs per activity)", rate, "activities/s", (before + after) / 2);
        }
    }
}

static async Task<TimeSpan> RunMany(WorkflowRuntime runtime, string definition, int count, int concurrency, CancellationToken ct)
{
    var next = 0;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
    {
        while (Interlocked.Increment(ref next) <= count)
        {
            var state = await runtime.StartAsync(new StartRunRequest(definition) { StartedBy = "bench" }, ct);
            if (state.SubStatus != WorkflowSubStatus.Finished)
                throw new InvalidOperationException($"Run {state.Id} ended {state.Status}/{state.SubStatus}: {state.Fault?.Message}");
        }
    }, ct)));
    return clock.Elapsed;
}

// From the call that resumes a bookmark to the next activity starting: idle, and while 8 runs execute alongside.
static async Task ResumeLatency(Report report, string store, Action<IServiceCollection> addStore, CancellationToken ct)
{
    await using var host = BenchHost.Create(addStore, "bench");
    await host.PrepareAsync(publish: true, ct);
    foreach (var loaded in new[] { false, true })
    {
        using var stopLoad = new CancellationTokenSource();
        var load = loaded
            ? Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            {
                while (!stopLoad.IsCancellationRequested)
                    await host.Runtime.StartAsync(new StartRunRequest(BenchWorkflows.Steps20) { StartedBy = "load" }, ct);
            }, ct)))
            : Task.CompletedTask;
        var samples = new List<double>();
        for (var i = 0; i < 320; i++)
        {
            var state = await host.Runtime.StartAsync(new StartRunRequest(BenchWorkflows.Resume) { StartedBy = "bench" }, ct);
            var bookmark = state.Bookmarks.Single(b => b.Name == Wait.BookmarkName);
            var before = Stopwatch.GetTimestamp();
            var (outcome, _) = await host.Runtime.ResumeAsync(bookmark.Id, null, "bench", ct);
            if (outcome != ResumeOutcome.Resumed)
                throw new InvalidOperationException($"Resume of {state.Id}: {outcome}");
            var at = await Marks.WaitAsync(state.Id, TimeSpan.FromSeconds(30));
            if (i >= 20)
                samples.Add(Stopwatch.GetElapsedTime(before, at).TotalMilliseconds);
        }

        await stopLoad.CancelAsync();
        await load;
        samples.Sort();
        var label = loaded ? "with 8 runs of the 20-step workflow executing alongside" : "idle";
        report.Line(store, $"bookmark resume → next activity started, p50 ({label}, {samples.Count} samples)", Percentile(samples, 0.50), "ms");
        report.Line(store, $"bookmark resume → next activity started, p99 ({label})", Percentile(samples, 0.99), "ms");
    }
}

// A run interrupted mid-way (its queued work committed, its lease still held by this node's previous process):
// from the runtime's start on that store to the run's next activity starting.
static async Task RuntimeRecovery(Report report, string store, Func<string, Action<IServiceCollection>> addStore, string directory, CancellationToken ct)
{
    var samples = new List<double>();
    for (var i = 0; i < 5; i++)
    {
        var data = directory.Length == 0 ? string.Empty : Path.Combine(directory, i.ToString(CultureInfo.InvariantCulture));
        string instanceId;
        await using (var crashed = BenchHost.Create(addStore(data), "bench-node"))
        {
            await crashed.PrepareAsync(publish: true, ct);
            var state = await crashed.Runtime.StartAsync(new StartRunRequest(BenchWorkflows.Recover) { StartedBy = "bench", Dispatch = true }, ct);
            instanceId = state.Id;
            var now = DateTimeOffset.UtcNow;
            // The previous process was executing it when it died: its lease is still live.
            await crashed.Get<IWorkflowInstanceStore>().TryAcquireLeaseAsync(instanceId, "bench-node", now, now.AddSeconds(30), ct);
        }

        var before = Stopwatch.GetTimestamp();
        await using var restarted = BenchHost.Create(addStore(data), "bench-node");
        await restarted.PrepareAsync(publish: false, ct);
        await restarted.StartBackgroundAsync(ct);
        var at = await Marks.WaitAsync(instanceId, TimeSpan.FromSeconds(60));
        samples.Add(Stopwatch.GetElapsedTime(before, at).TotalMilliseconds);
    }

    samples.Sort();
    report.Line(store, $"recovery: runtime start on the store → interrupted run's next activity (same node id; median of {samples.Count}, max {samples[^1]:F0} ms)", Percentile(samples, 0.5), "ms");
}

static double Percentile(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

static async Task Pg(string cs, string sql, CancellationToken ct)
{
    await using var connection = new NpgsqlConnection(cs);
    await connection.OpenAsync(ct);
    await using var command = new NpgsqlCommand(sql, connection);
    await command.ExecuteNonQueryAsync(ct);
}

static async Task<string> PgShow(string cs, string setting, CancellationToken ct)
{
    await using var connection = new NpgsqlConnection(cs);
    await connection.OpenAsync(ct);
    await using var command = new NpgsqlCommand($"SHOW {setting}", connection);
    return Convert.ToString(await command.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture) ?? "?";
}

/// <summary>Collects the results and prints them as a Markdown table.</summary>
internal sealed class Report
{
    private readonly List<string> lines = [];
    private readonly List<string> notes = [];

    public void Machine()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        Note($"machine: {Environment.ProcessorCount} cores ({cpu ?? RuntimeInformation.ProcessArchitecture.ToString()}), {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, temp dir {Path.GetTempPath()}");
    }

    /// <summary>The 1-minute load average: other work on the machine moves every number here.</summary>
    public void Load(string when)
    {
        if (File.Exists("/proc/loadavg"))
            Note($"load average {when}: {File.ReadAllText("/proc/loadavg").Split(' ')[0]} (1 min, {Environment.ProcessorCount} cores)");
    }

    public void Note(string note)
    {
        notes.Add(note);
        Console.WriteLine("# " + note);
    }

    public void Line(string store, string what, double value, string unit, double? floor = null)
    {
        var ratio = floor is > 0 ? $"{value / floor.Value:F2}× the floor" : string.Empty;
        lines.Add($"| {store} | {what} | {value.ToString(value >= 100 ? "F0" : "F1", CultureInfo.InvariantCulture)} {unit} | {ratio} |");
        Console.WriteLine($"{store}: {what}: {value.ToString("F1", CultureInfo.InvariantCulture)} {unit} {ratio}");
    }

    public void Print()
    {
        Console.WriteLine();
        foreach (var note in notes)
            Console.WriteLine("- " + note);
        Console.WriteLine();
        Console.WriteLine("| store | measurement | result | ratio |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var line in lines)
            Console.WriteLine(line);
    }
}

/// <summary>A temp directory removed on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir(string name)
    {
        FullPath = Path.Combine(Path.GetTempPath(), $"drw-bench-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(FullPath);
    }

    public string FullPath { get; }

    public string Combine(string name) => Path.Combine(FullPath, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(FullPath, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
