using System.Globalization;
using System.Net;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Hosts;
using DrWorkflows.Activities.Throwaway;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace DrWorkflows.Activities.Redis;

/// <summary>An RDB snapshot: where it came from, when Redis saved it, its size, checksum and key count.</summary>
public sealed record RedisSnapshot(string Server, RedisDumpSource Source, DateTimeOffset SavedAt, long Keys, long Bytes, string Sha256, string? Path);

/// <summary>The outcome of a restore: keys loaded and whether the expectation was met.</summary>
public sealed record RedisRestoreResult(string Server, string Target, long Keys, TimeSpan Elapsed);

/// <summary>Snapshots and restores the Redis server of <see cref="RedisOptions"/>.</summary>
public interface IRedisService
{
    /// <summary>
    /// Runs BGSAVE, waits for it to finish successfully, and streams the RDB file to <paramref name="sink"/>
    /// (the SHA-256 and size are of exactly the bytes streamed).
    /// </summary>
    Task<RedisSnapshot> SnapshotAsync(Func<Stream, CancellationToken, Task> sink, CancellationToken cancellationToken);

    /// <summary><see cref="SnapshotAsync"/> into a local file (written atomically).</summary>
    Task<RedisSnapshot> SnapshotToFileAsync(string path, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the data set with <paramref name="dumpFile"/>: stops Redis (container stop, or SHUTDOWN NOSAVE),
    /// puts the file in place as <c>dir/dbfilename</c>, starts Redis, waits until it has loaded, and checks that
    /// it holds at least <paramref name="expectedMinimumKeys"/> keys.
    /// </summary>
    Task<RedisRestoreResult> RestoreAsync(string dumpFile, long? expectedMinimumKeys, CancellationToken cancellationToken);

    /// <summary>Total keys over all databases.</summary>
    Task<long> CountKeysAsync(CancellationToken cancellationToken);
}

internal sealed class RedisService(
    IOptions<RedisOptions> options,
    IProcessRunner runner,
    TimeProvider clock,
    ILogger<RedisService> logger,
    IDockerService? docker = null,
    IThrowawayLedger? ledger = null) : IRedisService
{
    private readonly RedisOptions options = options.Value;
    private string? serverName;

    /// <summary>host:port of the server, for messages (never the password).</summary>
    private string Server => serverName ??= Configuration().EndPoints.FirstOrDefault()?.ToString() ?? "(no endpoint in Redis:ConnectionString)";

    public async Task<RedisSnapshot> SnapshotToFileAsync(string path, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        RedisSnapshot? snapshot = null;
        await AtomicFile.WriteAsync(path, async (file, ct) => snapshot = await SnapshotAsync((dump, token) => dump.CopyToAsync(file, 1 << 16, token), ct), cancellationToken);
        return snapshot! with { Path = System.IO.Path.GetFullPath(path) };
    }

    public async Task<RedisSnapshot> SnapshotAsync(Func<Stream, CancellationToken, Task> sink, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sink);
        await using var connection = await ConnectAsync(cancellationToken);
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        var savedAt = await BackgroundSaveAsync(server, cancellationToken);
        var keys = await CountKeysAsync(server);
        var source = await ChooseSourceAsync(server);
        var digest = source switch
        {
            RedisDumpSource.DataDirectory => await CopyFromDataDirectoryAsync(server, sink, cancellationToken),
            RedisDumpSource.Container => await CopyFromContainerAsync(server, sink, cancellationToken),
            _ => await CopyWithRedisCliAsync(sink, cancellationToken),
        };
        Log.SnapshotCopied(logger, Server, source, digest.Bytes, digest.Sha256);
        return new RedisSnapshot(Server, source, savedAt, keys, digest.Bytes, digest.Sha256, null);
    }

    public async Task<long> CountKeysAsync(CancellationToken cancellationToken)
    {
        await using var connection = await ConnectAsync(cancellationToken);
        return await CountKeysAsync(connection.GetServer(connection.GetEndPoints()[0]));
    }

    public async Task<RedisRestoreResult> RestoreAsync(string dumpFile, long? expectedMinimumKeys, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dumpFile);
        await CheckDumpAsync(dumpFile, cancellationToken);
        var start = clock.GetTimestamp();
        var useContainer = !string.IsNullOrWhiteSpace(options.Container);
        if (!useContainer && options.LocalStartCommand.Count == 0)
        {
            throw new RedisOperationException(
                $"Cannot restore Redis {Server}: set Redis:Container (Redis runs in a container) or Redis:LocalStartCommand (how to start it again on this machine).",
                RedisOperationException.RestoreFailed);
        }

        var (directory, fileName) = await ReadPersistenceConfigAsync(cancellationToken);
        var target = $"{directory.TrimEnd('/')}/{fileName}";
        Log.Restoring(logger, Server, dumpFile, new FileInfo(dumpFile).Length);
        if (useContainer)
        {
            var containers = Docker();
            await containers.StopContainerAsync(options.Container!, TimeSpan.FromSeconds(30), cancellationToken);
            await containers.WriteFileToContainerAsync(options.Container!, dumpFile, target, null, null, cancellationToken);
            await containers.StartContainerAsync(options.Container!, cancellationToken);
        }
        else
        {
            await ShutdownWithoutSavingAsync(cancellationToken);
            await AtomicFile.WriteAsync(target, async (file, ct) =>
            {
                await using var source = File.OpenRead(dumpFile);
                await source.CopyToAsync(file, 1 << 16, ct);
            }, cancellationToken);
            var command = new CommandLine(options.LocalStartCommand[0], [.. options.LocalStartCommand.Skip(1)]);
            var started = await runner.RunAsync(command, TimeSpan.FromMinutes(2), cancellationToken);
            if (!started.Succeeded)
            {
                throw new RedisOperationException(
                    $"The dump is in place at {target} but starting Redis with `{command}` failed (exit {started.ExitCode}): {started.Summary}",
                    RedisOperationException.RestoreFailed);
            }
        }

        var keys = await WaitUntilLoadedAsync(cancellationToken);
        if (expectedMinimumKeys is { } minimum && keys < minimum)
        {
            throw new RedisOperationException(
                $"Redis {Server} came back with {keys} keys after the restore, fewer than the {minimum} expected: the dump may be older or " +
                "truncated, or Redis loaded another file (an append-only file takes precedence over dump.rdb).",
                RedisOperationException.RestoreFailed);
        }

        Log.Restored(logger, Server, keys);
        return new RedisRestoreResult(Server, useContainer ? $"container {options.Container}:{target}" : target, keys, clock.GetElapsedTime(start));
    }

    private ConfigurationOptions Configuration()
    {
        var configuration = ConfigurationOptions.Parse(options.ConnectionString);
        configuration.AllowAdmin = true;
        configuration.AbortOnConnectFail = true;
        configuration.ConnectTimeout = (int)options.ConnectTimeout.TotalMilliseconds;
        configuration.ConnectRetry = 1;
        return configuration;
    }

    private async Task<ConnectionMultiplexer> ConnectAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return await ConnectionMultiplexer.ConnectAsync(Configuration()).WaitAsync(cancellationToken);
        }
        catch (RedisConnectionException e)
        {
            throw new RedisOperationException(
                $"Redis at {Server} is unreachable: {e.Message.Split('\n')[0].Trim()} Check that it runs and that Redis:ConnectionString (host, port, password) is right.",
                RedisOperationException.Unreachable, retryable: true, e);
        }
    }

    /// <summary>Runs BGSAVE and waits until it finished with status ok; returns LASTSAVE.</summary>
    private async Task<DateTimeOffset> BackgroundSaveAsync(IServer server, CancellationToken cancellationToken)
    {
        var start = clock.GetTimestamp();
        await WaitForNoSaveInProgressAsync(server, start, cancellationToken);
        var before = await PersistenceAsync(server);
        var lastSaveBefore = await server.LastSaveAsync();

        // LASTSAVE has one-second resolution: make sure this save cannot end in the same second as the previous one.
        var now = (await server.TimeAsync()).ToUniversalTime();
        if (Truncate(now) <= Truncate(lastSaveBefore))
            await Task.Delay(TimeSpan.FromMilliseconds(1100 - now.Millisecond), clock, cancellationToken);

        try
        {
            await server.SaveAsync(SaveType.BackgroundSave);
        }
        catch (RedisServerException e) when (e.Message.Contains("in progress", StringComparison.OrdinalIgnoreCase))
        {
            // Another BGSAVE (or an AOF rewrite) started meanwhile: wait for it and save again.
            await WaitForNoSaveInProgressAsync(server, start, cancellationToken);
            await server.SaveAsync(SaveType.BackgroundSave);
        }

        Log.BackgroundSaveStarted(logger, Server);
        while (true)
        {
            var info = await PersistenceAsync(server);
            var lastSave = await server.LastSaveAsync();
            var saved = info.GetValueOrDefault("rdb_saves") is { } saves && before.GetValueOrDefault("rdb_saves") is { } savesBefore
                ? long.Parse(saves, CultureInfo.InvariantCulture) > long.Parse(savesBefore, CultureInfo.InvariantCulture)
                : lastSave > lastSaveBefore;
            if (info.GetValueOrDefault("rdb_bgsave_in_progress") == "0" && (saved || info.GetValueOrDefault("rdb_last_bgsave_status") == "err"))
            {
                if (info.GetValueOrDefault("rdb_last_bgsave_status") != "ok")
                {
                    throw new RedisOperationException(
                        $"BGSAVE on Redis {Server} failed (rdb_last_bgsave_status:{info.GetValueOrDefault("rdb_last_bgsave_status")}): see the Redis log; " +
                        "usual causes are a full disk or a data directory Redis cannot write.",
                        RedisOperationException.SaveFailed);
                }

                var elapsed = clock.GetElapsedTime(start);
                Log.BackgroundSaveFinished(logger, Server, elapsed);
                return new DateTimeOffset(DateTime.SpecifyKind(lastSave, DateTimeKind.Utc));
            }

            await DelayOrTimeOutAsync(start, "BGSAVE to finish", cancellationToken);
        }
    }

    private async Task WaitForNoSaveInProgressAsync(IServer server, long start, CancellationToken cancellationToken)
    {
        while ((await PersistenceAsync(server)).GetValueOrDefault("rdb_bgsave_in_progress") == "1")
            await DelayOrTimeOutAsync(start, "a running BGSAVE to finish", cancellationToken);
    }

    private async Task DelayOrTimeOutAsync(long start, string what, CancellationToken cancellationToken)
    {
        if (clock.GetElapsedTime(start) > options.OperationTimeout)
        {
            throw new RedisOperationException(
                $"Timed out after {options.OperationTimeout} waiting for {what} on Redis {Server}.",
                RedisOperationException.SaveFailed, retryable: true);
        }

        await Task.Delay(options.PollInterval, clock, cancellationToken);
    }

    private static DateTime Truncate(DateTime time) => new(time.Ticks - (time.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);

    private static async Task<Dictionary<string, string>> PersistenceAsync(IServer server) =>
        (await server.InfoAsync("persistence")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    private static async Task<long> CountKeysAsync(IServer server)
    {
        long total = 0;
        foreach (var pair in (await server.InfoAsync("keyspace")).SelectMany(g => g))
        {
            // db0:keys=5,expires=0,avg_ttl=0
            var keys = pair.Value.Split(',').FirstOrDefault(p => p.StartsWith("keys=", StringComparison.Ordinal));
            if (keys is not null)
                total += long.Parse(keys[5..], CultureInfo.InvariantCulture);
        }

        return total;
    }

    private async Task<RedisDumpSource> ChooseSourceAsync(IServer server)
    {
        if (options.DumpSource != RedisDumpSource.Auto)
            return options.DumpSource;
        if (!string.IsNullOrWhiteSpace(options.Container))
            return RedisDumpSource.Container;
        var endpoint = server.EndPoint;
        var local = endpoint is IPEndPoint ip ? IPAddress.IsLoopback(ip.Address) : endpoint is DnsEndPoint { Host: "localhost" };
        if (local && File.Exists(await DumpPathAsync(server)))
            return RedisDumpSource.DataDirectory;
        return RedisDumpSource.RedisCli;
    }

    private static async Task<string> DumpPathAsync(IServer server)
    {
        var directory = (await server.ConfigGetAsync("dir")).FirstOrDefault().Value;
        var file = (await server.ConfigGetAsync("dbfilename")).FirstOrDefault().Value;
        return System.IO.Path.Combine(directory ?? ".", file ?? "dump.rdb");
    }

    private async Task<StreamDigest> CopyFromDataDirectoryAsync(IServer server, Func<Stream, CancellationToken, Task> sink, CancellationToken cancellationToken)
    {
        var path = await DumpPathAsync(server);
        try
        {
            // Redis replaces dump.rdb by rename, so an open handle keeps reading the complete file just saved.
            await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.Asynchronous);
            return await StreamToSinkAsync(file, sink, cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            throw new RedisOperationException(
                $"Cannot read the RDB file {path} of Redis {Server} on this machine ({e.Message}). If Redis runs elsewhere or in a container, " +
                "set Redis:DumpSource to RedisCli or Container.",
                RedisOperationException.CopyFailed, false, e);
        }
    }

    private async Task<StreamDigest> CopyFromContainerAsync(IServer server, Func<Stream, CancellationToken, Task> sink, CancellationToken cancellationToken)
    {
        var path = await DumpPathAsync(server);
        return await Docker().ReadFileFromContainerAsync(options.Container!, path.Replace('\\', '/'), (dump, ct) => sink(dump, ct), cancellationToken);
    }

    private async Task<StreamDigest> CopyWithRedisCliAsync(Func<Stream, CancellationToken, Task> sink, CancellationToken cancellationToken)
    {
        var configuration = Configuration();
        var (host, port) = configuration.EndPoints[0] switch
        {
            DnsEndPoint dns => (dns.Host, dns.Port == 0 ? 6379 : dns.Port),
            IPEndPoint ip => (ip.Address.ToString(), ip.Port),
            var other => throw new RedisOperationException($"Unsupported Redis endpoint {other} for redis-cli.", RedisOperationException.CopyFailed),
        };
        // redis-cli writes Redis's data in clear: into a private folder of its own, in the throwaway ledger.
        await using var folder = await (ledger ?? UntrackedThrowawayLedger.Instance).CreateDirectoryAsync(ThrowawayFiles.NewPath("drw-redis-"), $"RDB copy of Redis {host}:{port} (redis-cli --rdb)", cancellationToken);
        var temp = System.IO.Path.Combine(folder.Name, "dump.rdb");
        var arguments = new List<string> { "-h", host, "-p", port.ToString(CultureInfo.InvariantCulture) };
        if (configuration.User is { Length: > 0 } user)
            arguments.AddRange(["--user", user]);
        if (configuration.Ssl)
            arguments.Add("--tls");
        arguments.AddRange(["--rdb", temp]);
        var environment = new Dictionary<string, string>();
        if (configuration.Password is { Length: > 0 } password)
            environment["REDISCLI_AUTH"] = password; // not on the command line, where `ps` would show it
        try
        {
            CommandResult result;
            try
            {
                result = await runner.RunAsync(new CommandLine(options.RedisCliPath, arguments) { Environment = environment }, options.OperationTimeout, cancellationToken);
            }
            catch (CommandNotFoundException e)
            {
                throw new RedisOperationException(
                    $"redis-cli not found ({e.Message}): install redis-tools, or set Redis:DumpSource to DataDirectory or Container.",
                    RedisOperationException.CopyFailed, false, e);
            }

            if (!result.Succeeded || !File.Exists(temp))
            {
                throw new RedisOperationException(
                    $"`redis-cli --rdb` from {host}:{port} failed (exit {result.ExitCode}): {result.Summary}",
                    RedisOperationException.CopyFailed, retryable: true);
            }

            await using var file = File.OpenRead(temp);
            return await StreamToSinkAsync(file, sink, cancellationToken);
        }
        finally
        {
            await folder.DisposeAsync();
        }
    }

    private static async Task<StreamDigest> StreamToSinkAsync(Stream source, Func<Stream, CancellationToken, Task> sink, CancellationToken cancellationToken)
    {
        using var hashing = new HashingStream(source);
        await sink(hashing, cancellationToken);
        await hashing.CopyToAsync(Stream.Null, cancellationToken); // what the sink left unread still counts
        return hashing.GetDigest();
    }

    private static async Task CheckDumpAsync(string dumpFile, CancellationToken cancellationToken)
    {
        if (!File.Exists(dumpFile))
            throw new RedisOperationException($"The dump file {dumpFile} does not exist.", RedisOperationException.InvalidDump);
        var magic = new byte[5];
        await using var file = File.OpenRead(dumpFile);
        var read = await file.ReadAtLeastAsync(magic, magic.Length, throwOnEndOfStream: false, cancellationToken);
        if (read < magic.Length || !"REDIS"u8.SequenceEqual(magic))
        {
            throw new RedisOperationException(
                $"{dumpFile} is not a Redis RDB file (it does not start with \"REDIS\"); refusing to restore it.",
                RedisOperationException.InvalidDump);
        }
    }

    /// <summary>dir and dbfilename from the running Redis, or from the options when it is down. Refuses when AOF is on.</summary>
    private async Task<(string Directory, string FileName)> ReadPersistenceConfigAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await ConnectAsync(cancellationToken);
            var server = connection.GetServer(connection.GetEndPoints()[0]);
            var appendOnly = (await server.ConfigGetAsync("appendonly")).FirstOrDefault().Value;
            if (string.Equals(appendOnly, "yes", StringComparison.OrdinalIgnoreCase))
            {
                throw new RedisOperationException(
                    $"Redis {Server} has appendonly yes: at start it loads the append-only file, not dump.rdb, so this restore would have no effect. " +
                    "Turn AOF off for the restore (and back on afterwards), or restore the AOF instead.",
                    RedisOperationException.RestoreFailed);
            }

            var directory = (await server.ConfigGetAsync("dir")).FirstOrDefault().Value;
            var file = (await server.ConfigGetAsync("dbfilename")).FirstOrDefault().Value;
            return (directory ?? options.DataDirectory ?? "/data", file ?? options.DumpFileName);
        }
        catch (RedisOperationException e) when (e.Code == RedisOperationException.Unreachable && options.DataDirectory is not null)
        {
            return (options.DataDirectory, options.DumpFileName);
        }
        catch (RedisOperationException e) when (e.Code == RedisOperationException.Unreachable)
        {
            throw new RedisOperationException(
                $"Redis {Server} is down, so it cannot tell where its dump lives: set Redis:DataDirectory (and DumpFileName) to restore it.",
                RedisOperationException.RestoreFailed, false, e);
        }
    }

    private async Task ShutdownWithoutSavingAsync(CancellationToken cancellationToken)
    {
        ConnectionMultiplexer connection;
        try
        {
            connection = await ConnectAsync(cancellationToken);
        }
        catch (RedisOperationException e) when (e.Code == RedisOperationException.Unreachable)
        {
            return; // already down
        }

        await using (connection)
        {
            try
            {
                // NOSAVE: a normal shutdown would write the current data set over the dump being restored.
                await connection.GetServer(connection.GetEndPoints()[0]).ExecuteAsync("SHUTDOWN", "NOSAVE");
            }
            catch (RedisConnectionException)
            {
                // The connection drops as the server exits.
            }
        }

        var start = clock.GetTimestamp();
        while (true)
        {
            try
            {
                await using var probe = await ConnectAsync(cancellationToken);
            }
            catch (RedisOperationException e) when (e.Code == RedisOperationException.Unreachable)
            {
                return;
            }

            await DelayOrTimeOutAsync(start, "Redis to shut down", cancellationToken);
        }
    }

    private async Task<long> WaitUntilLoadedAsync(CancellationToken cancellationToken)
    {
        var start = clock.GetTimestamp();
        while (true)
        {
            string reason;
            try
            {
                await using var connection = await ConnectAsync(cancellationToken);
                var server = connection.GetServer(connection.GetEndPoints()[0]);
                var info = await PersistenceAsync(server);
                if (info.GetValueOrDefault("loading") == "0")
                    return await CountKeysAsync(server);
                reason = "still loading the dump";
            }
            catch (RedisOperationException e) when (e.Code == RedisOperationException.Unreachable)
            {
                reason = "not accepting connections";
            }
            catch (RedisServerException e) when (e.Message.StartsWith("LOADING", StringComparison.Ordinal))
            {
                reason = "still loading the dump";
            }

            Log.NotReadyYet(logger, Server, reason);
            if (clock.GetElapsedTime(start) > options.OperationTimeout)
            {
                throw new RedisOperationException(
                    $"Redis {Server} was started after the restore but is {reason} after {options.OperationTimeout}; check its log.",
                    RedisOperationException.RestoreFailed);
            }

            await Task.Delay(options.PollInterval, clock, cancellationToken);
        }
    }

    private IDockerService Docker() =>
        docker ?? throw new RedisOperationException(
            $"Redis:Container is set to '{options.Container}' but no Docker engine is configured: register the Docker activities (AddDockerActivities).",
            RedisOperationException.RestoreFailed);
}
