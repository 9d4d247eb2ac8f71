using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace DrWorkflows.Activities.Approvals;

/// <summary>
/// SHA-256 of the evidence snapshot an approver is shown. The snapshot is canonical JSON (object keys sorted
/// ordinally, no whitespace) of title, question, evidence text, facts, options and input schema, so the same
/// evidence always gives the same hash, and anyone can recompute it from the journal.
/// </summary>
public static class EvidenceHash
{
    /// <summary>The snapshot; the default option and the confirmation phrases are part of it only when the gate has them.</summary>
    public static JsonObject Snapshot(string title, string question, string? text, JsonNode? facts, IReadOnlyList<string> options, JsonNode? schema,
        string? defaultOption = null, IReadOnlyDictionary<string, string>? confirmationPhrases = null)
    {
        var snapshot = new JsonObject
        {
            ["title"] = title,
            ["question"] = question,
            ["evidence"] = text,
            ["facts"] = facts?.DeepClone(),
            ["options"] = new JsonArray([.. options.Select(o => (JsonNode?)JsonValue.Create(o))]),
            ["inputSchema"] = schema?.DeepClone(),
        };
        if (defaultOption is not null)
            snapshot["defaultOption"] = defaultOption;
        if (confirmationPhrases is { Count: > 0 })
            snapshot["confirmationPhrases"] = new JsonObject(confirmationPhrases.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonValue.Create(p.Value))));
        return snapshot;
    }

    public static string Compute(JsonNode snapshot) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Canonical(snapshot))));

    /// <summary>Canonical JSON text: sorted keys, compact.</summary>
    public static string Canonical(JsonNode? node) => Sort(node)?.ToJsonString() ?? "null";

    private static JsonNode? Sort(JsonNode? node) => node switch
    {
        JsonObject obj => new JsonObject(obj.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, Sort(p.Value)))),
        JsonArray array => new JsonArray([.. array.Select(Sort)]),
        null => null,
        _ => node.DeepClone(),
    };
}
