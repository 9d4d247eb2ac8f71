using System.Buffers;
using System.ComponentModel;
using System.Diagnostics;
using DrWorkflows.Activities.Throwaway;
using DrWorkflows.Core.Execution;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Backups.Pipeline;

/// <summary>
/// Runs <c>source | stage | stage | ... &gt; sink</c> with bounded memory and no temporary files. Two adjacent
/// programs are joined directly by a kernel pipe (a FIFO in a private temporary directory, opened by a
/// <c>/bin/sh</c> wrapper that then execs the program), exactly as in a shell pipeline: their data never passes
/// through this process. Pumps (1 MiB buffers) carry the data only where this process takes part: the input
/// stream into the first program, in-process stream transforms, and the last program's output into the sink.
/// The first failure of any stage (exit code, error line on stderr, I/O error, checksum mismatch, store error)
/// stops every other stage (process trees are killed) and is the one reported; a program cut off by the
/// failure of the next one (broken pipe) is not blamed for it. Cancellation kills every process too. The
/// caller commits the sink only after the run returned normally.
/// </summary>
public sealed class StreamPipeline
{
    private const int BufferSize = 1 << 20;
    private const int StderrLinesKept = 40;
    private const int StderrHeadKept = 20;
    private const string Shell = "/bin/sh";
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
        ArgumentNullException.ThrowIfNull(sink);
        return await RunAsync(input, stages, sink, null, logger, cancellationToken);
    }

    /// <summary>
    /// Runs the pipeline into an existing file (e.g. a <see cref="GrowingFile"/>). When the last stage is a program it
    /// writes the file itself (its output does not pass through this process); otherwise the output is pumped in.
    /// </summary>
    public static async Task<IReadOnlyList<StageResult>> RunAsync(Stream? input, IReadOnlyList<PipelineStage> stages, string outputPath, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        if (stages.Count > 0 && stages[^1] is ProcessStage && CanRedirect)
            return await RunAsync(input, stages, null, outputPath, logger, cancellationToken);
        await using var file = new FileStream(outputPath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        file.SetLength(0);
        return await RunAsync(input, stages, file, null, logger, cancellationToken);
    }

    private static bool CanRedirect => !OperatingSystem.IsWindows() && File.Exists(Shell);

    private static async Task<IReadOnlyList<StageResult>> RunAsync(Stream? input, IReadOnlyList<PipelineStage> stages, Stream? sink, string? outputPath, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stages);
        if (input is null && (stages.Count == 0 || stages[0] is not ProcessStage))
            throw new ArgumentException("Without an input stream the first stage must be a process.", nameof(stages));
        var pipeline = new StreamPipeline(logger);
        return await pipeline.RunCoreAsync(input, stages, sink, outputPath, cancellationToken);
    }

    private async Task<IReadOnlyList<StageResult>> RunCoreAsync(Stream? input, IReadOnlyList<PipelineStage> stages, Stream? sink, string? outputPath, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = new List<Task>();
        ThrowawayLease? fifos = null;
        string? fifoDirectory = null;
        try
        {
            Stream? current = input;
            string currentName = "input";
            RunningProcess? upstream = null;
            string? pendingFifo = null;
            var pendingWrappers = new List<WriteTransformStage>();
            fifos = await CreateFifosAsync(stages, cancellationToken);
            fifoDirectory = fifos?.Name;
            var fifoCount = 0;
            for (var index = 0; index < stages.Count; index++)
            {
                switch (stages[index])
                {
                    case ProcessStage p:
                        // Joined to the next program by a FIFO when the next stage is a program too.
                        var stdoutFifo = fifoDirectory is not null && index + 1 < stages.Count && stages[index + 1] is ProcessStage
                            ? Path.Combine(fifoDirectory, $"{++fifoCount}")
                            : index == stages.Count - 1 ? outputPath : null;
                        var running = Start(p, pendingFifo, stdoutFifo);
                        if (pendingFifo is not null)
                        {
                            running.Process.StandardInput.Close();
                            upstream!.Downstream = running;
                        }
                        else if (current is null)
                        {
                            running.Process.StandardInput.Close();
                        }
                        else
                        {
                            var pump = new Pump(current, currentName, upstream, [.. pendingWrappers], running.Process.StandardInput.BaseStream, running.Stage.Name, running);
                            tasks.Add(RunPumpAsync(pump, linked));
                            pendingWrappers.Clear();
                        }

                        pendingFifo = stdoutFifo;
                        current = stdoutFifo is null ? running.Process.StandardOutput.BaseStream : null;
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

            if (sink is not null)
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
        if (fifos is not null)
            await fifos.DisposeAsync();

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

    /// <summary>
    /// Creates one FIFO per pair of adjacent programs in a new private directory (null when there is no such pair
    /// or no <c>/bin/sh</c>: the pipeline then pumps between them). The directory is in the throwaway ledger of the
    /// activity attempt that runs the pipeline (this static helper has no services of its own).
    /// </summary>
    private static async Task<ThrowawayLease?> CreateFifosAsync(IReadOnlyList<PipelineStage> stages, CancellationToken cancellationToken)
    {
        var count = 0;
        for (var i = 0; i + 1 < stages.Count; i++)
        {
            if (stages[i] is ProcessStage && stages[i + 1] is ProcessStage)
                count++;
        }

        if (count == 0 || OperatingSystem.IsWindows() || !File.Exists(Shell))
            return null;
        var ledger = ActivityAttempt.Current?.Services.GetService(typeof(IThrowawayLedger)) as IThrowawayLedger ?? UntrackedThrowawayLedger.Instance;
        var lease = await ledger.CreateDirectoryAsync(ThrowawayFiles.NewPath("drwpipe"), "FIFOs between the programs of a backup pipeline", cancellationToken);
        var directory = lease.Name;
        ToolRunner.Result result;
        try
        {
            result = await ToolRunner.RunAsync(Shell, ["-c", "umask 077 && mkfifo \"$@\"", "mkfifo", .. Enumerable.Range(1, count).Select(n => Path.Combine(directory, $"{n}"))], cancellationToken);
        }
        catch
        {
            await lease.DisposeAsync();
            throw;
        }

        if (result.ExitCode == 0)
            return lease;
        await lease.DisposeAsync();
        throw new BackupException(BackupErrorCodes.ToolFailed, $"Could not create the pipes between the backup programs (mkfifo in {directory}): {result.StandardError.Trim()}. Check that the temporary directory ({Path.GetTempPath()}) is a local writable file system.");
    }

    private RunningProcess Start(ProcessStage stage, string? stdinFifo, string? stdoutFifo)
    {
        // A FIFO end is opened by a shell that then replaces itself with the program (same PID, same exit code).
        var redirect = (stdinFifo, stdoutFifo) switch
        {
            (null, null) => null,
            (not null, null) => "f=$1; shift; exec \"$@\" <\"$f\"",
            (null, not null) => "f=$1; shift; exec \"$@\" >\"$f\"",
            _ => "i=$1; o=$2; shift 2; exec \"$@\" <\"$i\" >\"$o\"",
        };
        var info = new ProcessStartInfo(redirect is null ? stage.FileName : Shell)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        if (redirect is not null)
        {
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(redirect);
            info.ArgumentList.Add(stage.Name);
            if (stdinFifo is not null)
                info.ArgumentList.Add(stdinFifo);
            if (stdoutFifo is not null)
                info.ArgumentList.Add(stdoutFifo);
            info.ArgumentList.Add(stage.FileName);
        }

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

        PipeBuffer.TryEnlarge(process.StandardInput.BaseStream);
        PipeBuffer.TryEnlarge(process.StandardOutput.BaseStream);
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
            var stoppedReading = pump.Source is GrowingFile.ReaderStream follower && wrappers.Count == 0
                && destination is System.IO.Pipes.PipeStream pipe && OperatingSystem.IsLinux()
                ? await SendFileAsync(pump, follower, pipe, linked.Token)
                : await CopyAsync(pump, destination, linked.Token);
            if (stoppedReading)
            {
                // It took what it needed and left; its watcher judges its exit status.
                foreach (var wrapper in wrappers)
                    await DisposeQuietlyAsync(wrapper);
                pump.DestinationProcess!.CloseInputQuietly();
                return;
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
                    throw await pump.DestinationProcess.FailureAsync(StoppedReading(ex));
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
                await DisposeQuietlyAsync(wrapper);

            if (pump.DestinationProcess is not null)
                pump.DestinationProcess.CloseInputQuietly();
        }
    }

    /// <summary>Copies the source into the destination. True when the destination program left early, as it may.</summary>
    private static async Task<bool> CopyAsync(Pump pump, Stream destination, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                int read;
                try
                {
                    read = await pump.Source.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken);
                }
                catch (IOException ex) when (pump.SourceProcess is not null)
                {
                    throw await pump.SourceProcess.FailureAsync($"reading its output failed: {ex.Message}");
                }

                if (read == 0)
                    return false;
                try
                {
                    await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
                catch (IOException ex) when (pump.DestinationProcess is not null)
                {
                    return await LeftEarlyAsync(pump.DestinationProcess, ex);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The kernel moves the bytes from the growing file into the program's input. True as <see cref="CopyAsync"/>.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static async Task<bool> SendFileAsync(Pump pump, GrowingFile.ReaderStream follower, System.IO.Pipes.PipeStream pipe, CancellationToken cancellationToken)
    {
        try
        {
            await follower.SendToAsync(pipe, cancellationToken);
            return false;
        }
        catch (GrowingFile.BrokenPipeException ex) when (pump.DestinationProcess is not null)
        {
            return await LeftEarlyAsync(pump.DestinationProcess, ex);
        }
    }

    /// <summary>
    /// A closed pipe means the next program stopped: true when it may stop reading early (its watcher judges its
    /// exit status); otherwise its own exit status is the failure, thrown.
    /// </summary>
    private static async Task<bool> LeftEarlyAsync(RunningProcess destination, IOException ex)
    {
        if (!destination.Stage.MayStopReadingEarly)
            throw await destination.FailureAsync(StoppedReading(ex));
        return true;
    }

    private static string StoppedReading(IOException ex) => $"it stopped reading its input ({ex.Message})";

    private static async Task DisposeQuietlyAsync(Stream wrapper)
    {
        try
        {
            await wrapper.DisposeAsync();
        }
        catch (Exception)
        {
            // The pipeline failed or the reader left; the transform's own error adds nothing.
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
        if ((running.ExitCode != 0 || errorLine is not null) && await ConsequenceOfNeighbourAsync(running))
            return;
        if (running.ExitCode != 0 || errorLine is not null)
            Fail(running.BuildFailure(errorLine is null ? $"exit code {running.ExitCode}" : $"exit code {running.ExitCode} with an error on stderr"), running.Stage.Name, linked);
    }

    /// <summary>
    /// True when a failure of a program joined to its neighbours by FIFOs is only a consequence of theirs (whose
    /// watcher reports it): a reader whose writer failed (it saw a short or empty input), or a writer cut off by a
    /// reader that stopped and failed (broken pipe). Waits a little for the neighbour to end.
    /// </summary>
    private static async Task<bool> ConsequenceOfNeighbourAsync(RunningProcess running)
    {
        if (running.Upstream is { } previous && await previous.EndedAsync() is { Failed: true, BrokenPipe: false })
            return true;
        return running.Downstream is { } next && BrokenPipe(running.ExitCode, running.StderrLines) && await next.EndedAsync() is { Failed: true };
    }

    /// <summary>Killed by SIGPIPE (128 + 13), or said so: it wrote to a pipe whose reader had gone.</summary>
    private static bool BrokenPipe(int exitCode, IReadOnlyList<string> stderr) =>
        exitCode == 141 || stderr.Any(l => l.Contains("Broken pipe", StringComparison.OrdinalIgnoreCase) || l.Contains("EPIPE", StringComparison.Ordinal));

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
        private readonly List<string> stderrHead = [];
        private readonly Queue<string> stderr = new();
        private readonly TaskCompletionSource stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private RunningProcess? downstream;
        private int killed;
        private int stderrLeftOut;

        public ProcessStage Stage => stage;

        /// <summary>The program reading this one's output through a FIFO, if any.</summary>
        public RunningProcess? Downstream
        {
            get => downstream;
            set
            {
                downstream = value;
                value?.Upstream = this;
            }
        }

        /// <summary>The program writing this one's input through a FIFO, if any.</summary>
        public RunningProcess? Upstream { get; private set; }

        /// <summary>
        /// Waits (at most 10 s) for the program to end: whether it failed on its own (not killed by the pipeline)
        /// and whether that was a broken pipe. Null when it did not end in time.
        /// </summary>
        public async Task<(bool Failed, bool BrokenPipe)?> EndedAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                return null;
            }

            await StderrDrained(TimeSpan.FromSeconds(2));
            var lines = StderrLines;
            var failed = !Killed && (process.ExitCode != 0 || (stage.IsErrorLine is { } isError && lines.Any(isError)));
            return (failed, failed && BrokenPipe(process.ExitCode, lines));
        }

        public Process Process => process;

        public bool Killed => Volatile.Read(ref killed) == 1;

        public int ExitCode { get; set; }

        /// <summary>
        /// The first <c>StderrHeadKept</c> lines (the first error is usually the cause of the others) and the
        /// last <c>StderrLinesKept</c>, with a line saying how many were left out between them.
        /// </summary>
        public IReadOnlyList<string> StderrLines
        {
            get
            {
                lock (stderr)
                    return stderrLeftOut == 0 ? [.. stderrHead, .. stderr] : [.. stderrHead, $"… {stderrLeftOut} line(s) of stderr left out …", .. stderr];
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
                var kept = line.Length > 500 ? line[..500] + "…" : line;
                if (stderrHead.Count < StderrHeadKept)
                {
                    stderrHead.Add(kept);
                    return;
                }

                stderr.Enqueue(kept);
                while (stderr.Count > StderrLinesKept)
                {
                    stderr.Dequeue();
                    stderrLeftOut++;
                }
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
