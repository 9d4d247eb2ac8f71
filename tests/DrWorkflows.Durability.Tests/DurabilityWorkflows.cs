using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Durability.Tests;

/// <summary>
/// The workflows the crash tests run, written as Elsa 3 JSON into the server's workflows folder: timers,
/// parallel branches, a child workflow and steps that are not safe to re-run.
/// </summary>
internal static class DurabilityWorkflows
{
    public const string Main = "durability-main";
    public const string Child = "durability-child";
    public const string Tick = "durability-tick";
    public const string ProbeType = "Durability.Probe";
    public const string UnsafeType = "Durability.UnsafeEffect";

    /// <summary>Unsafe steps per run: three in the main workflow, one in the child, one in a tick.</summary>
    public static int UnsafeStepsOf(string definitionId) => definitionId switch
    {
        Main => 3,
        Child => 1,
        Tick => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(definitionId), definitionId, "not a durability workflow"),
    };

    private static string Probe(string id, int ms) => Activity(ProbeType, id, $"\"durationMs\": {Lit(ms.ToString(System.Globalization.CultureInfo.InvariantCulture), "Int32")}");

    private static string Unsafe(string id, int ms) => Activity(UnsafeType, id, $"\"durationMs\": {Lit(ms.ToString(System.Globalization.CultureInfo.InvariantCulture), "Int32")}");

    /// <summary>
    /// probe → delay → parallel( probe → UNSAFE → probe | delay → UNSAFE | child workflow ) → UNSAFE → probe.
    /// </summary>
    public static string MainJson => Definition(Main, Sequence("mainSeq",
        Probe("first", 30),
        Delay("pause", "00:00:00.300"),
        $$"""
        { "type": "Elsa.Parallel", "version": 1, "id": "branches", "activities": [
            {{Sequence("left", Probe("leftProbe", 25), Unsafe("leftUnsafe", 60), Probe("leftAfter", 25))}},
            {{Sequence("right", Delay("rightPause", "00:00:00.200"), Unsafe("rightUnsafe", 60))}},
            {{Activity("Elsa.ExecuteWorkflow", "child", $"\"workflowDefinitionId\": {Lit(Child)}, \"waitForCompletion\": {Lit("true", "Boolean")}")}}
        ] }
        """,
        Unsafe("finalUnsafe", 60),
        Probe("last", 30)));

    /// <summary>probe → delay → UNSAFE → probe.</summary>
    public static string ChildJson => Definition(Child, Sequence("childSeq",
        Probe("childFirst", 20),
        Delay("childPause", "00:00:00.150"),
        Unsafe("childUnsafe", 50),
        Probe("childLast", 20)));

    /// <summary>A timer trigger every <paramref name="interval"/>: each slot runs probe → UNSAFE.</summary>
    public static string TickJson(string interval) => Definition(Tick, Flowchart("tickFlow",
        [
            Activity("Elsa.Timer", "tick", $"\"interval\": {Lit(interval, "TimeSpan")}, \"customProperties\": {{ \"canStartWorkflow\": true }}"),
            Probe("tickProbe", 20),
            Unsafe("tickUnsafe", 40),
        ],
        [Connect("tick", "tickProbe"), Connect("tickProbe", "tickUnsafe")]));

    /// <summary>Writes the definitions into a workflows folder for DRW_WORKFLOWS_DIR.</summary>
    public static void WriteTo(string directory, string? tickInterval = null)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "durability-main.json"), MainJson);
        File.WriteAllText(Path.Combine(directory, "durability-child.json"), ChildJson);
        if (tickInterval is not null)
            File.WriteAllText(Path.Combine(directory, "durability-tick.json"), TickJson(tickInterval));
    }
}
