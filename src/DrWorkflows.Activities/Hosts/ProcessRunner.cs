using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace DrWorkflows.Activities.Hosts;

/// <summary>The result of one command: exit code and captured output (each capped, see <see cref="Truncated"/>).</summary>
public sealed record CommandResult(int ExitCode, string StandardOutput, string StandardError, TimeSpan Elapsed, bool Truncated = false)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>The last non-empty line of standard error (or output), for error messages.</summary>
    public string Summary
    {
        get
        {
            var text = string.IsNullOrWhiteSpace(StandardError) ? StandardOutput : StandardError;
            var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return lines.Length == 0 ? "(no output)" : lines[^1];
        }
    }
}

/// <summary>A command given as a program and an argument list (never a shell string).</summary>
public sealed record CommandLine(string Program, IReadOnlyList<string> Arguments)
{
    public CommandLine(string program, params string[] arguments)
        : this(program, (IReadOnlyList<string>)arguments)
    {
    }

    /// <summary>Environment variables to set for the command (in addition to the inherited ones).</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>Working directory; the current one when <c>null</c>.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Data written to standard input, then closed.</summary>
    public string? StandardInput { get; init; }

    /// <summary>Printable form for messages and logs (arguments quoted POSIX-style).</summary>
    public override string ToString() => string.Join(' ', new[] { Program }.Concat(Arguments).Select(ShellQuoting.Quote));
}

/// <summary>Runs local programs with argument lists, captures their output and kills the process tree on cancellation.</summary>
public interface IProcessRunner
{
    /// <summary>
    /// Runs <paramref name="command"/> to completion. Throws <see cref="CommandNotFoundException"/> when the program
    /// does not exist, <see cref="TimeoutException"/> when <paramref name="timeout"/> passes (the process tree is
    /// killed), and <see cref="OperationCanceledException"/> on cancellation (the process tree is killed too).
    /// A non-zero exit code is returned, not thrown.
    /// </summary>
    Task<CommandResult> RunAsync(CommandLine command, TimeSpan? timeout, CancellationToken cancellationToken);
}

/// <summary>The program of a command does not exist or cannot be executed.</summary>
public sealed class CommandNotFoundException(string program, Exception? innerException = null)
    : Exception($"the program '{program}' was not found or cannot be executed (is it installed and on PATH?)", innerException)
{
    public string Program { get; } = program;
}

internal sealed class ProcessRunner(TimeProvider clock) : IProcessRunner
{
    /// <summary>Output kept per stream; the rest is dropped (the tail is kept, it holds the error).</summary>
    internal const int MaxCapturedChars = 1 << 20;

    public async Task<CommandResult> RunAsync(CommandLine command, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        cancellationToken.ThrowIfCancellationRequested();
        var start = clock.GetTimestamp();
        var info = new ProcessStartInfo(command.Program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            CreateNoWindow = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in command.Arguments)
            info.ArgumentList.Add(argument);
        if (command.WorkingDirectory is not null)
            info.WorkingDirectory = command.WorkingDirectory;
        if (command.Environment is not null)
        {
            foreach (var (key, value) in command.Environment)
                info.Environment[key] = value;
        }

        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new CommandNotFoundException(command.Program, e);
        }

        var stdout = new CappedBuffer(MaxCapturedChars);
        var stderr = new CappedBuffer(MaxCapturedChars);
        var readOut = PumpAsync(process.StandardOutput, stdout);
        var readErr = PumpAsync(process.StandardError, stderr);

        using var timeoutSource = timeout is { } t && t != Timeout.InfiniteTimeSpan
            ? new CancellationTokenSource(t, clock)
            : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        try
        {
            try
            {
                if (command.StandardInput is not null)
                    await process.StandardInput.WriteAsync(command.StandardInput.AsMemory(), linked.Token);
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The program exited without reading its input; its exit code tells the rest.
            }

            await process.WaitForExitAsync(linked.Token);
            await Task.WhenAll(readOut, readErr);
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            Kill(process);
            try
            {
                await Task.WhenAll(readOut, readErr).WaitAsync(TimeSpan.FromSeconds(5), clock, CancellationToken.None);
            }
            catch (TimeoutException)
            {
                // A grandchild kept the pipes open; the output so far is enough.
            }

            if (cancellationToken.IsCancellationRequested)
                throw new OperationCanceledException($"'{command}' was cancelled; its process tree was killed.", cancellationToken);
            throw new TimeoutException($"'{command}' did not finish within {timeout}; its process tree was killed. Output so far: {Tail(stderr, stdout)}");
        }

        return new CommandResult(process.ExitCode, stdout.ToString(), stderr.ToString(), clock.GetElapsedTime(start), stdout.Truncated || stderr.Truncated);
    }

    private static string Tail(CappedBuffer stderr, CappedBuffer stdout)
    {
        var text = stderr.Length > 0 ? stderr.ToString() : stdout.ToString();
        return text.Length <= 500 ? text.Trim() : "..." + text[^500..].Trim();
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }
        catch (Win32Exception)
        {
            // Exited meanwhile or not ours to kill any more.
        }
    }

    private static async Task PumpAsync(StreamReader reader, CappedBuffer buffer)
    {
        var chunk = new char[8192];
        int read;
        while ((read = await reader.ReadAsync(chunk.AsMemory(), CancellationToken.None)) > 0)
            buffer.Append(chunk.AsSpan(0, read));
    }

    /// <summary>Keeps the last <c>capacity</c> characters written (the end of the output holds the error).</summary>
    private sealed class CappedBuffer(int capacity)
    {
        private readonly StringBuilder builder = new();
        private readonly Lock gate = new();

        public bool Truncated { get; private set; }

        public int Length
        {
            get
            {
                lock (gate)
                    return builder.Length;
            }
        }

        public void Append(ReadOnlySpan<char> text)
        {
            lock (gate)
            {
                builder.Append(text);
                if (builder.Length > capacity)
                {
                    builder.Remove(0, builder.Length - capacity);
                    Truncated = true;
                }
            }
        }

        public override string ToString()
        {
            lock (gate)
                return builder.ToString();
        }
    }
}

/// <summary>POSIX shell quoting, for printing commands and for sending argument lists over SSH.</summary>
public static class ShellQuoting
{
    /// <summary>Quotes one argument so that a POSIX shell reads it back verbatim.</summary>
    public static string Quote(string argument)
    {
        ArgumentNullException.ThrowIfNull(argument);
        if (argument.Length > 0 && argument.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=@%+,".Contains(c)))
            return argument;
        return "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }

    /// <summary>Joins a program and its arguments into one shell command line.</summary>
    public static string Join(string program, IEnumerable<string> arguments) =>
        string.Join(' ', new[] { program }.Concat(arguments).Select(Quote));
}
