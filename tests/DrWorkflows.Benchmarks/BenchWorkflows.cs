using System.Globalization;

namespace DrWorkflows.Benchmarks;

/// <summary>The benchmark workflows, as Elsa 3 JSON.</summary>
internal static class BenchWorkflows
{
    public const string Steps20 = "bench-20-steps";
    public const string Unsafe20 = "bench-20-unsafe-steps";
    public const string Resume = "bench-resume";
    public const string Recover = "bench-recover";

    public static IEnumerable<string> All =>
    [
        Definition(Steps20, Sequence(Enumerable.Range(1, 20).Select(i => Activity("Bench.Step", $"s{i}")))),
        Definition(Unsafe20, Sequence(Enumerable.Range(1, 20).Select(i => Activity("Bench.UnsafeStep", $"u{i}")))),
        Definition(Resume, Sequence([Activity("Bench.Wait", "wait"), Activity("Bench.Step", "next", Mark)])),
        Definition(Recover, Sequence([.. Enumerable.Range(1, 3).Select(i => Activity("Bench.Step", $"r{i}")), Activity("Bench.Step", "marked", Mark)])),
    ];

    private const string Mark = """, "mark": { "typeName": "Boolean", "expression": { "type": "Literal", "value": "true" } }""";

    private static string Activity(string type, string id, string extra = "") => $$"""{ "type": "{{type}}", "version": 1, "id": "{{id}}"{{extra}} }""";

    private static string Sequence(IEnumerable<string> activities) =>
        $$"""{ "type": "Elsa.Sequence", "version": 1, "id": "root", "activities": [ {{string.Join(",\n", activities)}} ] }""";

    private static string Definition(string id, string root) => string.Create(CultureInfo.InvariantCulture, $$"""
        { "definitionId": "{{id}}", "name": "{{id}}", "version": 1, "toolVersion": "3.8.0", "variables": [], "inputs": [], "outputs": [],
          "outcomes": [], "customProperties": {}, "options": { "autoUpdateConsumingWorkflows": false }, "root": {{root}} }
        """);
}
