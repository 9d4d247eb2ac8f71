using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using DrWorkflows.Testing;

namespace DrWorkflows.Durability.Tests;

/// <summary>
/// What the crash tests share: the seeded randomness, the server nodes, an operator loop that resolves the
/// incidents of interrupted unsafe steps through the API (skip when the side effect is in the external record,
/// retry when it is not), and the final checks.
/// </summary>
internal sealed class CrashHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource stop = new();
    private readonly ConcurrentBag<string> problems = [];
    private readonly ConcurrentDictionary<string, string> decisions = new(StringComparer.Ordinal);
    private readonly StringBuilder transcript = new();
    private Task? operatorLoop;

    public CrashHarness(string name)
    {
        Seed = System.Environment.GetEnvironmentVariable("DRW_CRASH_SEED") is { Length: > 0 } fixedSeed
            ? int.Parse(fixedSeed, CultureInfo.InvariantCulture)
            : Random.Shared.Next();
        Random = new Random(Seed);
        Kills = System.Environment.GetEnvironmentVariable("DRW_CRASH_KILLS") is { Length: > 0 } kills ? int.Parse(kills, CultureInfo.InvariantCulture) : 10;
        Directory = new TempDirectory($"durability-{name}");
        RecordsDirectory = Directory.Combine("records");
        WorkflowsDirectory = Directory.Combine("workflows");
        Say($"{name}: seed {Seed} (rerun with DRW_CRASH_SEED={Seed}), {Kills} kills (DRW_CRASH_KILLS), files in {Directory.FullPath}");
    }

    public int Seed { get; }

    public Random Random { get; }

    public int Kills { get; }

    public TempDirectory Directory { get; }

    public string RecordsDirectory { get; }

    public string WorkflowsDirectory { get; }

    public List<ServerNode> Nodes { get; } = [];

    public string ApiKey { get; } = "durability-" + Guid.NewGuid().ToString("N");

    public IReadOnlyDictionary<string, string> Decisions => decisions;

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Say(string line)
    {
        var stamped = $"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {line}";
        lock (transcript)
        {
            transcript.AppendLine(stamped);
            File.AppendAllText(Directory.Combine("transcript.log"), stamped + "\n");
        }
        TestContext.Current.TestOutputHelper?.WriteLine(stamped);
    }

    /// <summary>Environment shared by every node of the test; <paramref name="extra"/> adds store settings.</summary>
    public Dictionary<string, string> NodeEnvironment(string dataDirectory, IReadOnlyDictionary<string, string>? extra = null)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["DRW_DATA_DIR"] = dataDirectory,
            ["DRW_API_KEY"] = ApiKey,
            ["DRW_WORKFLOWS_DIR"] = WorkflowsDirectory,
            ["DRW_DURABILITY_RECORDS"] = RecordsDirectory,
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__DrWorkflows"] = "Information",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
            env[key] = value;
        return env;
    }

    public ServerNode AddNode(string name, Dictionary<string, string> environment)
    {
        var node = new ServerNode(name, environment, Directory.Combine("logs"));
        Nodes.Add(node);
        return node;
    }

    public HttpClient? AnyClient()
    {
        var live = Nodes.Where(n => n.IsRunning && n.Client is not null).ToList();
        return live.Count == 0 ? null : live[System.Random.Shared.Next(live.Count)].Client;
    }

    /// <summary>Starts the operator: every 200 ms it resolves the open incidents through a live node.</summary>
    public void StartOperator() => operatorLoop = Task.Run(async () =>
    {
        while (!stop.IsCancellationRequested)
        {
            await ResolveIncidentsOnceAsync(stop.Token);
            try
            {
                await Task.Delay(200, stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    });

    /// <summary>One operator pass; failures because a node died under the request are ignored (next pass).</summary>
    public async Task ResolveIncidentsOnceAsync(CancellationToken cancellationToken)
    {
        var client = AnyClient();
        if (client is null)
            return;
        try
        {
            foreach (var incident in await DrwApi.ListIncidentsAsync(client, cancellationToken))
            {
                if (incident.Kind != "InterruptedUnsafeActivity" || incident.ActivityType != DurabilityWorkflows.UnsafeType)
                    problems.Add($"unexpected incident {incident.Kind} on {incident.ActivityType} '{incident.ActivityId}' of {incident.InstanceId}: {incident.Message}");
                var journal = await DrwApi.JournalAsync(client, incident.InstanceId, cancellationToken);
                var raised = journal.LastOrDefault(j => j.IncidentId == incident.Id && j.EventName is "IncidentRaised" or "Faulted");
                if (raised?.ExecutionId is not { } executionId)
                {
                    problems.Add($"incident {incident.Id} of {incident.InstanceId} has no IncidentRaised journal entry naming the execution");
                    continue;
                }

                // What an on-call engineer does: look whether the side effect happened, then skip (it did) or retry (it did not).
                var action = Records.Read(RecordsDirectory).HasEffect(executionId) ? "skip" : "retry";
                if (await DrwApi.ResolveAsync(client, incident.InstanceId, incident.Id, action, cancellationToken))
                {
                    decisions[incident.Id] = $"{action} {incident.ActivityId} exec {executionId} of {incident.InstanceId}";
                    Say($"operator: {action} incident {incident.Id} ({incident.ActivityId}, exec {executionId}, run {incident.InstanceId})");
                }
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or ObjectDisposedException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            // The node went away under the request, or the run was busy: the next pass tries again.
        }
    }

    /// <summary>Waits until every run is finished (the operator keeps resolving incidents meanwhile).</summary>
    public async Task<List<DrwApi.Run>> WaitAllFinishedAsync(TimeSpan timeout)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        List<DrwApi.Run> runs = [];
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (AnyClient() is { } client)
            {
                try
                {
                    runs = await DrwApi.ListRunsAsync(client, Ct);
                    if (runs.Count > 0 && runs.All(r => r.Status == "Finished"))
                        return runs;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !Ct.IsCancellationRequested)
                {
                }
            }

            await Task.Delay(250, Ct);
        }

        var unfinished = runs.Where(r => r.Status != "Finished").Select(r => $"{r.Id} ({r.DefinitionId}) {r.Status}/{r.SubStatus} incidents {r.IncidentCount}");
        Assert.Fail($"[seed {Seed}] runs not finished after {timeout}:\n{string.Join('\n', unfinished)}\n{LogTails()}");
        return runs;
    }

    /// <summary>
    /// The final checks: every run finished successfully with a gap-free journal; no unsafe step has more than one
    /// side effect (by execution id, and by activity within a run), and each finished one has exactly one; no two
    /// executions of the same run overlapped in time.
    /// </summary>
    public async Task VerifyAsync(HttpClient client, IReadOnlyCollection<DrwApi.Run> runs, DateTimeOffset end)
    {
        var failures = problems.ToList();
        var records = Records.Read(RecordsDirectory);
        var effects = records.EffectsByExecution();
        foreach (var (executionId, list) in effects.Where(e => e.Value.Count > 1))
            failures.Add($"unsafe execution {executionId} ({list[0].ActivityId} of {list[0].InstanceId}) had its side effect {list.Count} times: pids {string.Join(", ", list.Select(r => r.Pid))}");
        foreach (var group in records.All.Where(r => r.Kind == "X").GroupBy(r => (r.InstanceId, r.ActivityId)).Where(g => g.Count() > 1))
            failures.Add($"unsafe step {group.Key.ActivityId} of {group.Key.InstanceId} had its side effect {group.Count()} times (executions {string.Join(", ", group.Select(r => r.ExecutionId))})");

        var journals = new Dictionary<string, List<DrwApi.JournalLine>>(StringComparer.Ordinal);
        foreach (var run in runs)
        {
            if (run.Status != "Finished" || run.SubStatus != "Finished")
                failures.Add($"run {run.Id} ({run.DefinitionId}) ended {run.Status}/{run.SubStatus}");
            var journal = journals[run.Id] = await DrwApi.JournalAsync(client, run.Id, Ct);
            var sequences = journal.Select(j => j.Sequence).ToList();
            if (!sequences.SequenceEqual(Enumerable.Range(0, journal.Count).Select(i => (long)i)))
                failures.Add($"journal of {run.Id} is not gap-free 0..{journal.Count - 1}: {string.Join(",", sequences)}");
            if (journal.FirstOrDefault()?.EventName != "WorkflowStarted" || journal.LastOrDefault()?.EventName != "WorkflowFinished")
                failures.Add($"journal of {run.Id} runs {journal.FirstOrDefault()?.EventName} … {journal.LastOrDefault()?.EventName}, not WorkflowStarted … WorkflowFinished");
            var completedUnsafe = journal.Where(j => j.EventName == "Completed" && j.ActivityType == DurabilityWorkflows.UnsafeType).ToList();
            var expected = DurabilityWorkflows.UnsafeStepsOf(run.DefinitionId);
            if (completedUnsafe.Count != expected)
                failures.Add($"run {run.Id} ({run.DefinitionId}) completed {completedUnsafe.Count} unsafe steps, expected {expected}");
            foreach (var step in completedUnsafe)
            {
                var count = effects.TryGetValue(step.ExecutionId!, out var list) ? list.Count : 0;
                if (count != 1)
                    failures.Add($"completed unsafe step {step.ActivityId} (exec {step.ExecutionId}) of {run.Id} has {count} side effects, expected exactly 1");
            }
        }

        var cut = CheckInterruptedEntries(records, journals, failures);

        var overlaps = Records.Overlaps(records.Intervals(ServerNode.KillTimes, end));
        failures.AddRange(overlaps.Take(20).Select(o => $"run {o.First.InstanceId} executed twice at once: {Records.Describe(o.First)} overlaps {Records.Describe(o.Second)}"));

        var incidents = decisions.Count;
        Say($"verified {runs.Count} runs, {effects.Count} unsafe side effects, {records.All.Count} records, {cut} attempts cut by a kill (each journaled Interrupted), {incidents} incidents resolved (" +
            $"{decisions.Values.Count(d => d.StartsWith("skip", StringComparison.Ordinal))} skipped, {decisions.Values.Count(d => d.StartsWith("retry", StringComparison.Ordinal))} retried)");
        if (failures.Count > 0)
            Assert.Fail($"[seed {Seed}] {failures.Count} durability violation(s):\n{string.Join('\n', failures.Take(50))}\n{LogTails()}");
    }

    /// <summary>
    /// Every attempt a kill cut short (an S record of a killed process without its E) has an Interrupted entry in its
    /// run's journal, with its execution id and attempt, written by a restart after the kill. Returns how many.
    /// </summary>
    private static int CheckInterruptedEntries(Records records, Dictionary<string, List<DrwApi.JournalLine>> journals, List<string> failures)
    {
        var ended = records.All.Where(r => r.Kind == "E").Select(r => (r.ExecutionId, r.Pid, r.Attempt)).ToHashSet();
        var cut = records.All.Where(r => r.Kind == "S" && ServerNode.KillTimes.ContainsKey(r.Pid) && !ended.Contains((r.ExecutionId, r.Pid, r.Attempt))).ToList();
        foreach (var attempt in cut)
        {
            var killedAt = ServerNode.KillTimes[attempt.Pid];
            var entry = journals.GetValueOrDefault(attempt.InstanceId)?.FirstOrDefault(j => j.EventName == "Interrupted" && j.ExecutionId == attempt.ExecutionId && j.Attempt == attempt.Attempt);
            if (entry is null)
                failures.Add($"attempt {attempt.Attempt} of {attempt.ActivityId} (exec {attempt.ExecutionId}) of {attempt.InstanceId} was cut by the kill of pid {attempt.Pid} at {killedAt:HH:mm:ss.fff} but its journal has no Interrupted entry for it");
            else if (entry.Timestamp < killedAt.AddMilliseconds(-5))
                failures.Add($"the Interrupted entry of {attempt.ActivityId} (exec {attempt.ExecutionId}) attempt {attempt.Attempt} is dated {entry.Timestamp:HH:mm:ss.fff}, before the kill at {killedAt:HH:mm:ss.fff}");
        }

        return cut.Count;
    }

    public string LogTails() => string.Join('\n', Nodes.Select(n => $"--- {n.Name} (generation {n.Generation}) ---\n{n.Tail(30)}"));

    public async ValueTask DisposeAsync()
    {
        await StopOperatorAsync();
        foreach (var node in Nodes)
            node.Dispose();
        stop.Dispose();
        if (System.Environment.GetEnvironmentVariable("DRW_CRASH_KEEP") != "1")
            Directory.Dispose();
    }

    public async Task StopOperatorAsync()
    {
        await stop.CancelAsync();
        if (operatorLoop is not null)
        {
            try
            {
                await operatorLoop;
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
