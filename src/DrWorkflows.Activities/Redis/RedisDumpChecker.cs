using System.ComponentModel;
using System.Globalization;
using System.Text.RegularExpressions;
using DrWorkflows.Activities.Backups.Pipeline;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Redis;

/// <summary>What Redis's own checker said about an RDB file: whether every key parsed and the checksum matched.</summary>
public sealed record RedisDumpCheck(bool Passed, long? KeysRead, string Detail);

/// <summary>Checks an RDB file the way Redis loads it, without a Redis server.</summary>
public interface IRedisDumpChecker
{
    Task<RedisDumpCheck> CheckAsync(string path, CancellationToken cancellationToken);
}

/// <summary>
/// <c>redis-check-rdb</c> (Redis's own loader, from redis-tools): it reads every key and checks the CRC64 at the end.
/// It passes only when the tool exits 0 <em>and</em> prints "RDB looks OK": a file cut short exits 0 without it.
/// </summary>
internal sealed partial class RedisCheckRdb(IOptions<RedisOptions> options) : IRedisDumpChecker
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(30);

    public async Task<RedisDumpCheck> CheckAsync(string path, CancellationToken cancellationToken)
    {
        ToolRunner.Result result;
        try
        {
            result = await ToolRunner.RunAsync(options.Value.RedisCheckRdbPath, [path], cancellationToken, timeout: Timeout);
        }
        catch (Win32Exception ex)
        {
            throw new RedisOperationException($"'{options.Value.RedisCheckRdbPath}' could not be started ({ex.Message}): install redis-tools, or set Redis:RedisCheckRdbPath.", RedisOperationException.InvalidDump, innerException: ex);
        }

        var output = result.StandardOutput + "\n" + result.StandardError;
        long? keys = KeysRead().Match(output) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
        var passed = result.ExitCode == 0 && output.Contains("RDB looks OK", StringComparison.Ordinal);
        var detail = passed
            ? $"redis-check-rdb: RDB looks OK, checksum OK, {keys?.ToString(CultureInfo.InvariantCulture) ?? "?"} keys read"
            : $"redis-check-rdb rejected it (exit {result.ExitCode}): {Problem(output)}";
        return new RedisDumpCheck(passed, keys, detail);
    }

    /// <summary>The lines after "RDB ERROR DETECTED" (the error and what it was doing), else the last lines.</summary>
    private static string Problem(string output)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var error = Array.FindIndex(lines, l => l.Contains("RDB ERROR DETECTED", StringComparison.Ordinal));
        var picked = error >= 0 ? lines.Skip(error + 1).Take(2) : lines.TakeLast(3);
        var text = string.Join(" ", picked);
        return text.Length == 0 ? "no output" : text.Length > 400 ? text[..400] + "..." : text;
    }

    [GeneratedRegex(@"\[info\] (\d+) keys read")]
    private static partial Regex KeysRead();
}
