namespace DrWorkflows.Core.Activities.Flowchart;

/// <summary>One end of a flowchart connection: an activity id and a port name.</summary>
public sealed record Endpoint(string Activity, string Port);

/// <summary>A flowchart connection from an outcome port of one activity to the input of another.</summary>
public sealed record Connection(Endpoint Source, Endpoint Target);

/// <summary>How an activity with several inbound connections decides to run (Elsa's <c>mergeMode</c>).</summary>
public enum MergeMode
{
    /// <summary>Run once no upstream source is still pending; untaken paths do not block (the default).</summary>
    Stream,

    /// <summary>Wait until every forward inbound connection (not one looping back) has delivered a token; untaken paths block.</summary>
    Merge,

    /// <summary>Wait until every inbound connection has delivered a token; untaken paths block.</summary>
    Converge,

    /// <summary>Run once per arriving token.</summary>
    Cascade,

    /// <summary>Run on the first arriving token and cancel the other inbound branches.</summary>
    Race,
}
