using System.Text.Json;
using System.Text.Json.Nodes;

namespace DrWorkflows.Core.Runtime;

/// <summary>
/// The content of <see cref="SourceCommits.StampFileName"/>, written by the publish (src/DrWorkflows.Server/SourceCommitStamp.targets):
/// <code>
/// { "commit": "&lt;sha&gt;",
///   "files": { "backup-postgres.json": "&lt;sha-256 hex&gt;", ... },      files clean in git at that commit
///   "notCommitted": { "draft.json": "modified", ... } }               modified, untracked or ignored then
/// </code>
/// Paths are relative to the workflows folder, with <c>/</c>.
/// </summary>
public sealed record SourceCommitStamp(string Commit, IReadOnlyDictionary<string, string> Files, IReadOnlyDictionary<string, string> NotCommitted)
{
    /// <summary>Reads a stamp; a <see cref="FormatException"/> says what is wrong with one that does not parse.</summary>
    public static SourceCommitStamp Parse(string json)
    {
        try
        {
            return Read(JsonNode.Parse(json) as JsonObject ?? throw new FormatException("it is not a JSON object"));
        }
        catch (JsonException e)
        {
            throw new FormatException($"it is not valid JSON ({e.Message})", e);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // JsonObject throws these for a property given twice, when it is first read.
            throw new FormatException($"it is not a valid stamp ({e.Message})", e);
        }
    }

    private static SourceCommitStamp Read(JsonObject root)
    {
        var commit = root["commit"] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
        if (!SourceCommits.IsCommit(commit))
            throw new FormatException($"'commit' is not a commit SHA ('{root["commit"]?.ToJsonString() ?? "missing"}')");
        var files = Map(root, "files");
        if (files.Values.FirstOrDefault(sha => sha is not { Length: 64 } || !sha.All(char.IsAsciiHexDigitLower)) is { } bad)
            throw new FormatException($"'files' holds '{bad}', not a lower-case SHA-256");
        return new SourceCommitStamp(commit!, files, Map(root, "notCommitted"));
    }

    private static Dictionary<string, string> Map(JsonObject root, string name)
    {
        if (root[name] is not JsonObject entries)
            throw new FormatException($"'{name}' is missing or not an object");
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, entry) in entries)
            map[key] = entry is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new FormatException($"'{name}.{key}' is not a string");
        return map;
    }
}
