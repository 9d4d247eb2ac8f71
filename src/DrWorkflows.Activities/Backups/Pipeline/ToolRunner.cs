using System.ComponentModel;
using System.Diagnostics;

namespace DrWorkflows.Activities.Backups.Pipeline;

/// <summary>Runs a short command (version queries, key inspection) and captures its output.</summary>
public static class ToolRunner
{
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError);

    public static async Task<Result> RunAsync(string fileName, IEnumerable<string> arguments, CancellationToken cancellationToken, IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                if (value is null)
                    info.Environment.Remove(key);
                else
                    info.Environment[key] = value;
            }
        }

        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            throw new BackupException(BackupErrorCodes.ToolNotFound, $"Could not start {fileName}: {ex.Message}.", innerException: ex);
        }

        process.StandardInput.Close();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout ?? TimeSpan.FromSeconds(60));
        var stdout = process.StandardOutput.ReadToEndAsync(limit.Token);
        var stderr = process.StandardError.ReadToEndAsync(limit.Token);
        try
        {
            await process.WaitForExitAsync(limit.Token);
            return new Result(process.ExitCode, await stdout, await stderr);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            cancellationToken.ThrowIfCancellationRequested();
            throw new BackupException(BackupErrorCodes.ToolFailed, $"{fileName} {string.Join(' ', info.ArgumentList)} did not finish within {(timeout ?? TimeSpan.FromSeconds(60)).TotalSeconds:0} s and was stopped.");
        }
    }

    /// <summary>First line of <c>tool --version</c> (cached per path), or "unknown".</summary>
    public static async Task<string> VersionAsync(string fileName, CancellationToken cancellationToken, string argument = "--version")
    {
        var key = fileName + " " + argument;
        if (Versions.TryGetValue(key, out var cached))
            return cached;
        var result = await RunAsync(fileName, [argument], cancellationToken, timeout: TimeSpan.FromSeconds(20));
        var text = (result.StandardOutput.Length > 0 ? result.StandardOutput : result.StandardError).Trim();
        var line = text.Split('\n', 2)[0].Trim();
        var version = line.Length == 0 ? "unknown" : line;
        Versions[key] = version;
        return version;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> Versions = new(StringComparer.Ordinal);
}
