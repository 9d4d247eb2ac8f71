using System.Globalization;

namespace DrWorkflows.Durability.Tests;

/// <summary>One line written by a test activity: S (started), X (side effect done), E (ended).</summary>
internal sealed record Record(string Kind, string ExecutionId, string InstanceId, string ActivityId, string NodeId, int Pid, DateTimeOffset At, int Attempt, int Line);

/// <summary>An activity execution in one process: from its S line to its E line, or to the kill of the process.</summary>
internal sealed record Interval(string ExecutionId, string InstanceId, string ActivityId, string NodeId, int Pid, DateTimeOffset Start, DateTimeOffset End, bool Interrupted);

/// <summary>The external record of the test activities (every records-*.log of a directory), read after the fact.</summary>
internal sealed class Records
{
    private Records(IReadOnlyList<Record> all) => All = all;

    public IReadOnlyList<Record> All { get; }

    public static Records Read(string directory)
    {
        var all = new List<Record>();
        if (!Directory.Exists(directory))
            return new Records(all);
        foreach (var file in Directory.EnumerateFiles(directory, "records-*.log").Order(StringComparer.Ordinal))
        {
            string text;
            using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var reader = new StreamReader(stream))
                text = reader.ReadToEnd();
            var lines = text.Split('\n');
            // The last element is empty when the file ends with a newline; otherwise it is a torn line of a killed process.
            for (var i = 0; i < lines.Length - 1; i++)
            {
                var f = lines[i].Split('\t');
                if (f.Length != 8)
                    throw new InvalidDataException($"{file}:{i + 1}: malformed record '{lines[i]}'.");
                all.Add(new Record(f[0], f[1], f[2], f[3], f[4], int.Parse(f[5], CultureInfo.InvariantCulture),
                    new DateTimeOffset(long.Parse(f[6], CultureInfo.InvariantCulture), TimeSpan.Zero), int.Parse(f[7], CultureInfo.InvariantCulture), all.Count));
            }
        }

        return new Records(all);
    }

    /// <summary>Side effects (X lines) per execution id.</summary>
    public Dictionary<string, List<Record>> EffectsByExecution() =>
        All.Where(r => r.Kind == "X").GroupBy(r => r.ExecutionId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);

    public bool HasEffect(string executionId) => All.Any(r => r.Kind == "X" && r.ExecutionId == executionId);

    /// <summary>
    /// Every execution interval: an S line paired with the next E line of the same execution in the same process;
    /// an S line without one ends when its process was killed (or is still running: <paramref name="stillRunningUntil"/>).
    /// </summary>
    public List<Interval> Intervals(IReadOnlyDictionary<int, DateTimeOffset> killTimes, DateTimeOffset stillRunningUntil)
    {
        var intervals = new List<Interval>();
        foreach (var group in All.Where(r => r.Kind is "S" or "E").GroupBy(r => (r.ExecutionId, r.Pid)))
        {
            Record? open = null;
            foreach (var record in group.OrderBy(r => r.Line))
            {
                if (record.Kind == "S")
                {
                    if (open is not null)
                        intervals.Add(Close(open, killTimes, stillRunningUntil));
                    open = record;
                }
                else if (open is not null)
                {
                    intervals.Add(new Interval(open.ExecutionId, open.InstanceId, open.ActivityId, open.NodeId, open.Pid, open.At, record.At, false));
                    open = null;
                }
            }

            if (open is not null)
                intervals.Add(Close(open, killTimes, stillRunningUntil));
        }

        return intervals;
    }

    private static Interval Close(Record open, IReadOnlyDictionary<int, DateTimeOffset> killTimes, DateTimeOffset stillRunningUntil) =>
        new(open.ExecutionId, open.InstanceId, open.ActivityId, open.NodeId, open.Pid, open.At, killTimes.TryGetValue(open.Pid, out var killed) ? killed : stillRunningUntil, true);

    /// <summary>
    /// Pairs of executions of the same run that overlap in time. A run is executed by one executor at a time (even
    /// its parallel branches interleave), so any overlap means two nodes (or two threads) executed the run at once.
    /// </summary>
    public static List<(Interval First, Interval Second)> Overlaps(IEnumerable<Interval> intervals)
    {
        var overlaps = new List<(Interval, Interval)>();
        foreach (var run in intervals.GroupBy(i => i.InstanceId, StringComparer.Ordinal))
        {
            Interval? latest = null;
            foreach (var interval in run.OrderBy(i => i.Start))
            {
                if (latest is not null && interval.Start < latest.End)
                    overlaps.Add((latest, interval));
                if (latest is null || interval.End > latest.End)
                    latest = interval;
            }
        }

        return overlaps;
    }

    public static string Describe(Interval i) =>
        $"{i.ActivityId} exec {i.ExecutionId} on {i.NodeId} (pid {i.Pid}) {i.Start:HH:mm:ss.fff}–{i.End:HH:mm:ss.fff}{(i.Interrupted ? " (killed)" : string.Empty)}";
}
