using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Redis;

/// <summary>Where the RDB file of a snapshot is read from.</summary>
public enum RedisDumpSource
{
    /// <summary><see cref="Container"/> when a container is configured, else the data directory when it is on this machine, else redis-cli.</summary>
    Auto,

    /// <summary>Read <c>dir/dbfilename</c> (from CONFIG GET) on this machine: Redis runs here.</summary>
    DataDirectory,

    /// <summary>Copy <c>dir/dbfilename</c> out of <see cref="RedisOptions.Container"/> through the Docker engine.</summary>
    Container,

    /// <summary><c>redis-cli --rdb</c>: a fresh RDB over the replication protocol; works for a remote Redis.</summary>
    RedisCli,
}

/// <summary>The Redis server the Redis activities snapshot and restore. Bound from configuration section <c>Redis</c>.</summary>
public sealed class RedisOptions
{
    public const string SectionName = "Redis";

    /// <summary>StackExchange.Redis configuration, e.g. <c>127.0.0.1:6379,password=...</c> (<c>allowAdmin</c> is forced on).</summary>
    public string ConnectionString { get; set; } = "127.0.0.1:6379";

    public RedisDumpSource DumpSource { get; set; } = RedisDumpSource.Auto;

    /// <summary>Name of the Redis container (for <see cref="RedisDumpSource.Container"/> and for restores into it).</summary>
    public string? Container { get; set; }

    /// <summary>The <c>redis-cli</c> program.</summary>
    public string RedisCliPath { get; set; } = "redis-cli";

    /// <summary>The <c>redis-check-rdb</c> program (Debian package redis-tools), which verifies Redis backups: it parses every key and checks the RDB's CRC64.</summary>
    public string RedisCheckRdbPath { get; set; } = "redis-check-rdb";

    /// <summary>Data directory used when Redis is down and cannot tell its own (CONFIG GET dir); <c>/data</c> in the official image.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>RDB file name used when Redis is down (CONFIG GET dbfilename).</summary>
    public string DumpFileName { get; set; } = "dump.rdb";

    /// <summary>
    /// For a Redis that is not in a container: the command (program and arguments) that starts it again after a
    /// restore, e.g. <c>["systemctl", "start", "redis-server"]</c>. It must return once Redis is launched.
    /// </summary>
    public IList<string> LocalStartCommand { get; } = [];

    /// <summary>Upper bound of a BGSAVE, and of Redis loading the dump after a restore.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMinutes(10);

    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);
}

internal sealed class RedisOptionsValidator : IValidateOptions<RedisOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
            failures.Add("Redis:ConnectionString is required, e.g. 127.0.0.1:6379.");
        if (options.DumpSource == RedisDumpSource.Container && string.IsNullOrWhiteSpace(options.Container))
            failures.Add("Redis:DumpSource is Container but Redis:Container is not set.");
        if (options.OperationTimeout <= TimeSpan.Zero || options.PollInterval <= TimeSpan.Zero || options.ConnectTimeout <= TimeSpan.Zero)
            failures.Add("Redis:OperationTimeout, PollInterval and ConnectTimeout must be positive.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
