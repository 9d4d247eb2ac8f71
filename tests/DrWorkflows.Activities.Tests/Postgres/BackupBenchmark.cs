using System.Diagnostics;
using System.Text.Json;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Tests.Backups;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Tests.Postgres;

/// <summary>
/// The timed half of <c>tests/bench/backup-bench.sh</c>: our backup to S3 (zstd + age), our restore
/// (download, verify, decrypt, decompress, pg_restore -j2), and the scheduled path: one read of the database
/// written to the local store and to S3 at once; with the peak resident memory of this process during each. Skipped unless the script sets <c>DRW_BENCH_DATABASE</c>.
/// </summary>
public sealed class BackupBenchmark
{
    [Fact]
    public async Task Backup_and_restore_of_the_benchmark_database()
    {
        var database = Environment.GetEnvironmentVariable("DRW_BENCH_DATABASE");
        if (string.IsNullOrEmpty(database))
            Assert.Skip("Benchmark only: run tests/bench/backup-bench.sh (it sets DRW_BENCH_DATABASE).");
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        var output = Environment.GetEnvironmentVariable("DRW_BENCH_OUT") ?? "bench-result.json";
        await using var host = BackupTestHost.Create(
            stores: s =>
            {
                s.S3.BucketName = Environment.GetEnvironmentVariable("DRW_BENCH_BUCKET");
                s.S3.ServiceUrl = TestServices.RequireS3().ToString();
                s.S3.ForcePathStyle = true;
                s.S3.AccessKeyId = "S3RVER";
                s.S3.SecretAccessKey = "S3RVER";
            },
            compression: c => { c.Method = CompressionMethod.Zstd; c.Level = 3; c.Threads = 0; },
            encryption: e =>
            {
                e.Method = EncryptionMethod.Age;
                e.AgeRecipients = [Environment.GetEnvironmentVariable("DRW_BENCH_AGE_RECIPIENT")!];
                e.AgeIdentityFile = Environment.GetEnvironmentVariable("DRW_BENCH_AGE_IDENTITY");
            },
            postgres: p => p.RestoreJobs = 2,
            configure: services =>
            {
                // DRW_BENCH_LOG=file: the backup's and restore's own log lines, with the time since the start.
                if (Environment.GetEnvironmentVariable("DRW_BENCH_LOG") is { Length: > 0 } log)
                    services.AddLogging(b => b.AddProvider(new TimedFileLogger(log)).SetMinimumLevel(LogLevel.Information));
            });
        var server = BackupTestHost.TestServer(serverConnection);

        // DRW_BENCH_WARM=1: first an untimed backup and restore of the same database through the same host, as in
        // a server that has run backups and restores before (its code compiled, the runtime's tiering settled on the
        // loops that move the data, the largest-table path taken). Otherwise the timed backup is the first one of a
        // fresh process and pays the JIT compilation of everything it runs. (Until 26 November the warm-up used a
        // smaller database, whose restore took neither the multipart nor the largest-table path.)
        var warm = Environment.GetEnvironmentVariable("DRW_BENCH_WARM") == "1";
        if (warm)
        {
            var warmSet = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, database, "warm-up") { Store = "s3" }, ct);
            var warmTarget = database + "_warm";
            await host.Restore.RestoreAsync(new PostgresRestoreRequest(warmSet, server, warmTarget) { Mode = RestoreMode.Recreate, Jobs = 2 }, ct);
            await SampleDatabase.DropDatabaseAsync(serverConnection, warmTarget);
            await Task.Delay(TimeSpan.FromSeconds(3), ct);
        }

        ResetPeakMemory();
        var baselineBytes = CurrentMemoryBytes();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        int[] collectionsBefore = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        var cpuBefore = CpuSeconds.Now();
        var watch = Stopwatch.StartNew();
        var set = await host.Backup.BackupDatabaseAsync(new PostgresBackupRequest(server, database, "bench") { Store = "s3" }, ct);
        var backupSeconds = watch.Elapsed.TotalSeconds;
        var backupCpu = CpuSeconds.Now() - cpuBefore;
        var backupPeak = PeakMemoryBytes();
        var backupAllocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        int[] backupCollections = [GC.CollectionCount(0) - collectionsBefore[0], GC.CollectionCount(1) - collectionsBefore[1], GC.CollectionCount(2) - collectionsBefore[2]];

        var target = database + "_restored_ours";
        ResetPeakMemory();
        cpuBefore = CpuSeconds.Now();
        watch.Restart();
        var restored = await host.Restore.RestoreAsync(new PostgresRestoreRequest(set, server, target) { Mode = RestoreMode.Recreate, Jobs = 2 }, ct);
        var restoreSeconds = watch.Elapsed.TotalSeconds;
        var restoreCpu = CpuSeconds.Now() - cpuBefore;
        var restorePeak = PeakMemoryBytes();
        await SampleDatabase.DropDatabaseAsync(serverConnection, target);

        // The scheduled path: one read of the database written to the local store and to S3 at once (3-2-1).
        ResetPeakMemory();
        cpuBefore = CpuSeconds.Now();
        watch.Restart();
        var copies = await host.Backup.BackupDatabaseToStoresAsync(new PostgresBackupRequest(server, database, "bench-both"), ["local", "s3"], ct);
        var copiesSeconds = watch.Elapsed.TotalSeconds;
        var copiesCpu = CpuSeconds.Now() - cpuBefore;
        var copiesPeak = PeakMemoryBytes();
        Assert.True(copies.Complete, string.Join(" | ", copies.Failures.Select(f => $"{f.Store}: {f.Message}")));

        // The same backup's local copy (a directory on this machine), restored from there: the raw side's restore
        // reads a local file too, so this one has no download, only verify, decrypt and decompress.
        var localSet = copies.Sets.Single(s => s.Store == "local");
        cpuBefore = CpuSeconds.Now();
        watch.Restart();
        var restoredLocal = await host.Restore.RestoreAsync(new PostgresRestoreRequest(localSet, server, target) { Mode = RestoreMode.Recreate, Jobs = 2 }, ct);
        var localRestoreSeconds = watch.Elapsed.TotalSeconds;
        var localRestoreCpu = CpuSeconds.Now() - cpuBefore;
        await SampleDatabase.DropDatabaseAsync(serverConnection, target);

        await File.WriteAllTextAsync(output, JsonSerializer.Serialize(new
        {
            warm,
            backupSeconds,
            baselineBytes,
            backupAllocated,
            backupCollections,
            gcCommittedBytes = GC.GetGCMemoryInfo().TotalCommittedBytes,
            backupPeakBytes = backupPeak,
            backupCpuSelf = backupCpu.Self,
            backupCpuPrograms = backupCpu.Programs,
            storedBytes = set.Manifest.Size,
            restoreSeconds,
            restoreDownloadSeconds = restored.DownloadSeconds,
            restorePgRestoreSeconds = restored.RestoreSeconds,
            restoreWhileDownloading = restored.WhileDownloading,
            restorePeakBytes = restorePeak,
            restoreCpuSelf = restoreCpu.Self,
            restoreCpuPrograms = restoreCpu.Programs,
            copiesSeconds,
            copiesCpuSelf = copiesCpu.Self,
            copiesCpuPrograms = copiesCpu.Programs,
            copiesPeakBytes = copiesPeak,
            localRestoreSeconds,
            localRestoreDecodeSeconds = restoredLocal.DownloadSeconds,
            localRestoreCpuSelf = localRestoreCpu.Self,
            localRestoreCpuPrograms = localRestoreCpu.Programs,
            dumpBytes = restored.DumpBytes,
            rows = set.Manifest.Tables?.Sum(t => t.RowCount),
        }), ct);
        Assert.True(restored.DumpBytes > 0);
        Assert.True(restoredLocal.DumpBytes > 0);
    }

    /// <summary>
    /// CPU time of this process and of the programs it ran that have ended (pg_dump, zstd, age, pg_restore: the
    /// children it waited for), from /proc/self/stat; zero elsewhere. The database server's CPU is not in it.
    /// </summary>
    private readonly record struct CpuSeconds(double Self, double Programs)
    {
        public static CpuSeconds Now()
        {
            if (!OperatingSystem.IsLinux())
                return default;
            // After the command name in parentheses: state is field 3; utime, stime, cutime, cstime are 14-17, in
            // clock ticks of 1/100 s (USER_HZ, fixed at 100 for /proc on Linux).
            var stat = File.ReadAllText("/proc/self/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            double Ticks(int field) => double.Parse(fields[field - 3], System.Globalization.CultureInfo.InvariantCulture) / 100;
            return new CpuSeconds(Ticks(14) + Ticks(15), Ticks(16) + Ticks(17));
        }

        public static CpuSeconds operator -(CpuSeconds after, CpuSeconds before) => new(after.Self - before.Self, after.Programs - before.Programs);
    }

    /// <summary>Resets the peak resident set size (Linux: write 5 to /proc/self/clear_refs).</summary>
    private static void ResetPeakMemory()
    {
        GC.Collect();
        if (OperatingSystem.IsLinux())
            File.WriteAllText("/proc/self/clear_refs", "5");
    }

    /// <summary>Current resident set size (VmRSS), in bytes.</summary>
    private static long CurrentMemoryBytes() => OperatingSystem.IsLinux() ? StatusBytes("VmRSS:") : Process.GetCurrentProcess().WorkingSet64;

    private static long StatusBytes(string field)
    {
        var line = File.ReadAllLines("/proc/self/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line.Split(':', StringSplitOptions.TrimEntries)[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>Peak resident set size since the last reset (VmHWM), in bytes.</summary>
    private static long PeakMemoryBytes()
    {
        if (!OperatingSystem.IsLinux())
            return Process.GetCurrentProcess().PeakWorkingSet64;
        var line = File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(':', StringSplitOptions.TrimEntries)[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>Appends each log line to a file with the seconds since the logger was created.</summary>
    private sealed class TimedFileLogger(string path) : ILoggerProvider, ILogger
    {
        private readonly Stopwatch watch = Stopwatch.StartNew();
        private readonly object gate = new();

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (gate)
                File.AppendAllText(path, $"{watch.Elapsed.TotalSeconds,8:0.00} {formatter(state, exception)}\n");
        }

        public void Dispose()
        {
        }
    }
}
