namespace DrWorkflows.Activities.Backups.Pipeline;

/// <summary>One stage of a <see cref="StreamPipeline"/>.</summary>
public abstract record PipelineStage(string Name);

/// <summary>
/// An external program that reads stdin and writes stdout (or only writes stdout when it is the first stage).
/// Arguments are passed as a list (no shell); secrets go through files or the environment, never arguments.
/// </summary>
public sealed record ProcessStage(string Name, string FileName, IReadOnlyList<string> Arguments) : PipelineStage(Name)
{
    /// <summary>Variables to set (value) or remove (null) in the child's environment.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>Names of inherited variables to remove by prefix (e.g. <c>PG</c>), before <see cref="Environment"/> applies.</summary>
    public IReadOnlyList<string> RemoveEnvironmentPrefixes { get; init; } = [];

    /// <summary>A stderr line that means failure even when the exit code is 0 (e.g. <c>pg_dump: error:</c>).</summary>
    public Func<string, bool>? IsErrorLine { get; init; }

    /// <summary>Turns a failure (exit code, stderr tail) into a specific error; null gives the generic tool error.</summary>
    public Func<int, string, BackupException?>? Classify { get; init; }

    /// <summary>What to do when this stage fails, appended to the generic error.</summary>
    public string? Hint { get; init; }

    /// <summary>
    /// The program may end without reading all of its input (pg_restore reading only the part of an archive it
    /// needs): a closed pipe when writing to it stops the pump quietly, and its exit status alone judges it.
    /// </summary>
    public bool MayStopReadingEarly { get; init; }
}

/// <summary>An in-process transform on the write side, e.g. gzip compression (wraps the next stage's input).</summary>
public sealed record WriteTransformStage(string Name, Func<Stream, Stream> Wrap) : PipelineStage(Name);

/// <summary>An in-process transform on the read side, e.g. gzip decompression (wraps the previous stage's output).</summary>
public sealed record ReadTransformStage(string Name, Func<Stream, Stream> Wrap) : PipelineStage(Name);
