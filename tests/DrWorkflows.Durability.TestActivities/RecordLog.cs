using System.Globalization;
using System.Text;

namespace DrWorkflows.Durability.TestActivities;

/// <summary>
/// The external record of what the test activities did, outside the orchestrator's store: one append-only file
/// per process in <c>DRW_DURABILITY_RECORDS</c> (one file per process, so two server processes never interleave
/// writes). Each line is written with one write call, so a SIGKILL leaves whole lines only (the reader ignores a
/// torn last line).
/// </summary>
public static class RecordLog
{
    /// <summary>Environment variable naming the directory of the record files.</summary>
    public const string DirectoryVariable = "DRW_DURABILITY_RECORDS";

    private static readonly Lock Gate = new();
    private static FileStream? stream;

    /// <summary>Appends one line: <c>kind \t executionId \t instanceId \t activityId \t nodeId \t pid \t utcTicks \t attempt</c>.</summary>
    public static void Append(string kind, string executionId, string instanceId, string activityId, string nodeId, int attempt, DateTimeOffset at)
    {
        var line = string.Join('\t', kind, executionId, instanceId, activityId, nodeId, Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
            at.UtcTicks.ToString(CultureInfo.InvariantCulture), attempt.ToString(CultureInfo.InvariantCulture)) + "\n";
        var bytes = Encoding.UTF8.GetBytes(line);
        lock (Gate)
        {
            stream ??= Open();
            stream.Write(bytes);
            stream.Flush();
        }
    }

    private static FileStream Open()
    {
        var directory = Environment.GetEnvironmentVariable(DirectoryVariable);
        if (string.IsNullOrWhiteSpace(directory))
            throw new InvalidOperationException($"Set {DirectoryVariable} to the directory where the durability test activities record what they did.");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"records-{Environment.ProcessId}.log");
        return new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, bufferSize: 1);
    }
}
