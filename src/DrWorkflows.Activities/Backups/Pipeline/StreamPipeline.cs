using System.Buffers;
using System.ComponentModel;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Backups.Pipeline;

/// <summary>
/// Runs <c>source | stage | stage | ... &gt; sink</c> with bounded memory: external programs connected by pumps
/// (1 MiB buffers), in-process stream transforms, no temporary files. The first failure of any stage (exit
/// code, error line on stderr, I/O error, checksum mismatch, store error) stops every other stage (process trees
/// are killed) and is the one reported. Cancellation kills every process too. The caller commits the sink only
/// after <see cref="RunAsync"/> returned normally.
/// </summary>
public sealed class StreamPipeline
{
    private const int BufferSize = 1 << 20;
    private const int StderrLinesKept = 40;
    private readonly ILogger logger;
    private readonly List<RunningProcess> processes = [];
    private readonly object gate = new();
    private Exception? failure;
    private string? failedStage;

    private StreamPipeline(ILogger logger) => this.logger = logger;

    /// <summary>
    /// Runs the pipeline. <paramref name="input"/> is null when the first stage is a producing process (pg_dump).
    /// The sink is not disposed. Returns the exit codes and stderr tails of the processes.
    /// </summary>
    public static async Task<IReadOnlyList<StageResult>> RunAsync(Stream? input, IReadOnlyList<PipelineStage> stages, Stream sink, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stages);
        if (input is null && (stages.Count == 0 || stages[0] is not ProcessStage))
            throw new ArgumentException("Without an input stream the first stage must be a process.", nameof(stages));
        var pipeline = new StreamPipeline(logger);
        return await pipeline.RunCoreAsync(input, stages, sink, cancellationToken);
    }

    private async Task<IReadOnlyList<StageResult>> RunCoreAsync(Stream? input, IReadOnlyList<PipelineStage> stages, Stream sink, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = linked.Token;
        var tasks = new List<Task>();
        try
        {
            Stream? current = input;
            string currentName = "input";
            RunningProcess? upstream = null;
            var pendingWrappers = new List<WriteTransformStage>();
            foreach (var stage in stages)
            {
                switch (stage)
                {
                    case ProcessStage p:
                        var running = Start(p);
                        if (current is null)
                        {
                            running.Process.StandardInput.Close();
                        }
                        else
                        {
                            var pump = new Pump(current, currentName, upstream, [.. pendingWrappers], running.Process.StandardInput.BaseStream, running.Stage.Name, running);
                            tasks.Add(RunPumpAsync(pump, linked));
                            pendingWrappers.Clear();
                        }

                        current = running.Process.StandardOutput.BaseStream;
                        currentName = p.Name;
                        upstream = running;
                        break;
                    case WriteTransformStage w:
                        pendingWrappers.Add(w);
                        break;
                    case ReadTransformStage r:
                        if (pendingWrappers.Count > 0 || current is null)
                            throw new ArgumentException($"Read transform '{r.Name}' cannot follow a write transform or start the pipeline.", nameof(stages));
                        current = r.Wrap(current);
                        currentName = r.Name;
                        break;
                }
            }

            tasks.Add(RunPumpAsync(new Pump(current!, currentName, upstream, [.. pendingWrappers], sink, "output", null), linked));
            foreach (var process in processes)
                tasks.Add(WatchProcessAsync(process, linked));
        }
        catch (Exception ex) when (ex is BackupException or Win32Exception or InvalidOperationException or IOException)
        {
            Fail(ex as BackupException ?? new BackupException(BackupErrorCodes.ToolFailed, $"Could not start the pipeline: {ex.Message}", innerException: ex), "start", linked);
        }

        await Task.WhenAll(tasks);
        foreach (var process in processes)
            await process.DisposeAsync();

        if (failure is not null)
        {
            if (failure is OperationCanceledException && cancellationToken.IsCancellationRequested)
                throw new OperationCanceledException("The pipeline was cancelled; every process was stopped.", failure, cancellationToken);
            Log.PipelineFailed(logger, failedStage ?? "?", failure);
            throw failure;
        }

        cancellationToken.ThrowIfCancellationRequested();
        return [.. processes.Select(p => new StageResult(p.Stage.Name, p.ExitCode, p.StderrTail))];
    }

    private RunningProcess Start(ProcessStage stage)
    {
        var info = new ProcessStartInfo(stage.FileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        foreach (var argument in stage.Arguments)
            info.ArgumentList.Add(argument);
        foreach (var key in info.Environment.Keys.ToList())
        {
            if (stage.RemoveEnvironmentPrefixes.Any(prefix => key.StartsWith(prefix, StringComparison.Ordinal)))
                info.Environment.Remove(key);
        }

        foreach (var (key, value) in stage.Environment)
        {
            if (value is null)
                info.Environment.Remove(key);
            else
                info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var running = new RunningProcess(stage, process, logger);
        process.ErrorDataReceived += (_, e) => running.AddStderr(e.Data);
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            process.Dispose();
            throw new BackupException(BackupErrorCodes.ToolNotFound, $"Could not start {stage.Name} ({stage.FileName}): {ex.Message}. Check that the tool is installed and executable.", innerException: ex);
        }

        process.BeginErrorReadLine();
        if (logger.IsEnabled(LogLevel.Debug))
        {
            var command = $"{stage.FileName} {string.Join(' ', stage.Arguments)}";
            Log.StageStarted(logger, stage.Name, command);
        }
        lock (gate)
            processes.Add(running);
        return running;
    }

    private async Task RunPumpAsync(Pump pump, CancellationTokenSource linked)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        var wrappers = new List<Stream>();
        var writingToWrapper = false;
        try
        {
            var destination = pump.Destination;
            for (var i = pump.Wrappers.Count - 1; i >= 0; i--)
            {
                destination = pump.Wrappers[i].Wrap(destination);
                wrappers.Add(destination);
            }

            writingToWrapper = wrappers.Count > 0;
            while (true)
            {
                int read;
                try
                {
                    read = await pump.Source.ReadAsync(buffer.AsMemory(0, BufferSize), linked.Token);
                }
                catch (IOException ex) when (pump.SourceProcess is not null)
                {
                    throw await pump.SourceProcess.FailureAsync($"reading its output failed: {ex.Message}");
                }

                if (read == 0)
                    break;
                try
                {
                    await destination.WriteAsync(buffer.AsMemory(0, read), linked.Token);
                }
                catch (IOException ex) when (pump.DestinationProcess is not null)
                {
                    // A closed pipe means the next program stopped: its own exit status is the real cause.
                    throw await pump.DestinationProcess.FailureAsync($"it stopped reading its input ({ex.Message})");
                }
            }

            // Flush transforms (outermost first) into the destination, then close a process's stdin (EOF).
            for (var i = wrappers.Count - 1; i >= 0; i--)
                await wrappers[i].DisposeAsync();
            wrappers.Clear();
            if (pump.DestinationProcess is not null)
            {
                try
                {
                    pump.DestinationProcess.Process.StandardInput.Close();
                }
                catch (IOException ex)
                {
                    throw await pump.DestinationProcess.FailureAsync($"it stopped reading its input ({ex.Message})");
                }
            }
        }
        catch (Exception ex)
        {
            var stage = pump.DestinationProcess?.Stage.Name ?? (writingToWrapper ? pump.Wrappers[0].Name : pump.DestinationName);
            if (ex is BackupException { Code: BackupErrorCodes.ChecksumMismatch })
                stage = pump.SourceName;
            Fail(ex, stage, linked);
            foreach (var wrapper in wrappers)
            {
                try
                {
                    await wrapper.DisposeAsync();
                }
                catch (Exception)
                {
                    // The pipeline already failed; the transform's own error adds nothing.
                }
            }

            if (pump.DestinationProcess is not null)
                pump.DestinationProcess.CloseInputQuietly();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task WatchProcessAsync(RunningProcess running, CancellationTokenSource linked)
    {
        try
        {
            await running.Process.WaitForExitAsync(linked.Token);
        }
        catch (OperationCanceledException)
        {
            // Another stage failed or the caller cancelled: stop this one.
        }

        if (!running.Process.HasExited)
        {
            running.Kill();
            await running.Process.WaitForExitAsync(CancellationToken.None);
        }

        await running.StderrDrained(TimeSpan.FromSeconds(5));
        running.ExitCode = running.Process.ExitCode;
        if (running.Killed)
            return;
        var errorLine = running.Stage.IsErrorLine is { } isError ? running.StderrLines.FirstOrDefault(isError) : null;
        if (running.ExitCode != 0 || errorLine is not null)
            Fail(running.BuildFailure(errorLine is null ? $"exit code {running.ExitCode}" : $"exit code {running.ExitCode} with an error on stderr"), running.Stage.Name, linked);
    }

    private void Fail(Exception ex, string stage, CancellationTokenSource linked)
    {
        lock (gate)
        {
            if (failure is not null)
                return;
            failure = ex;
            failedStage = stage;
        }

        try
        {
            linked.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        // A pump can fail while later stages are still being started: kill the ones started so far; the
        // watchers of later ones see the cancelled token and kill theirs.
        RunningProcess[] started;
        lock (gate)
            started = [.. processes];
        foreach (var process in started)
            process.Kill();
    }

    private sealed record Pump(Stream Source, string SourceName, RunningProcess? SourceProcess, IReadOnlyList<WriteTransformStage> Wrappers, Stream Destination, string DestinationName, RunningProcess? DestinationProcess);

    /// <summary>Exit code and stderr tail of one process stage.</summary>
    public sealed record StageResult(string Stage, int ExitCode, string Stderr);

    private sealed class RunningProcess(ProcessStage stage, Process process, ILogger logger) : IAsyncDisposable
    {
        private readonly Queue<string> stderr = new();
        private readonly TaskCompletionSource stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int killed;

        public ProcessStage Stage => stage;

        public Process Process => process;

        public bool Killed => Volatile.Read(ref killed) == 1;

        public int ExitCode { get; set; }

        public IReadOnlyList<string> StderrLines
        {
            get
            {
                lock (stderr)
                    return [.. stderr];
            }
        }

        public string StderrTail => string.Join('\n', StderrLines);

        public void AddStderr(string? line)
        {
            if (line is null)
            {
                stderrClosed.TrySetResult();
                return;
            }

            if (line.Length == 0)
                return;
            Log.StageStderr(logger, stage.Name, line);
            lock (stderr)
            {
                stderr.Enqueue(line.Length > 500 ? line[..500] + "…" : line);
                while (stderr.Count > StderrLinesKept)
                    stderr.Dequeue();
            }
        }

        public Task StderrDrained(TimeSpan timeout) => stderrClosed.Task.WaitAsync(timeout).ContinueWith(_ => { }, TaskScheduler.Default);

        public void Kill()
        {
            try
            {
                if (!process.HasExited)
                {
                    Interlocked.Exchange(ref killed, 1);
                    process.Kill(entireProcessTree: true);
                }
            }
            catch (InvalidOperationException)
            {
            }
            catch (Win32Exception)
            {
            }
        }

        public void CloseInputQuietly()
        {
            try
            {
                process.StandardInput.Close();
            }
            catch (IOException)
            {
            }
            catch (InvalidOperationException)
            {
            }
        }

        /// <summary>Waits briefly for the process to end and describes its failure.</summary>
        public async Task<Exception> FailureAsync(string what)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
                await StderrDrained(TimeSpan.FromSeconds(2));
                ExitCode = process.ExitCode;
                return BuildFailure(ExitCode == 0 ? what : $"exit code {ExitCode}; {what}");
            }
            catch (OperationCanceledException)
            {
                return BuildFailure(what);
            }
        }

        public BackupException BuildFailure(string what)
        {
            var tail = StderrTail;
            if (stage.Classify?.Invoke(ExitCode, tail) is { } specific)
                return specific;
            var detail = tail.Length == 0 ? "no message on stderr" : tail;
            return new BackupException(BackupErrorCodes.ToolFailed,
                $"{stage.Name} ({stage.FileName}) failed ({what}): {detail}.{(stage.Hint is null ? string.Empty : " " + stage.Hint)}");
        }

        public ValueTask DisposeAsync()
        {
            process.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
