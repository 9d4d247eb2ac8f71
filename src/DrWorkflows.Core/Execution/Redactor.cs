using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace DrWorkflows.Core.Execution;

/// <summary>
/// Masks secret values. Every secret a run reads (inputs marked secret, configured secrets) is added here,
/// and every journal payload and message passes through <see cref="Redact(JsonNode?)"/> before it is stored.
/// </summary>
/// <remarks>
/// Secrets themselves are never stored, but a run's redactor keeps a keyed digest (HMAC-SHA-256 with a random
/// key of the run) of each in the run's properties. After a resume, <see cref="Recall"/> finds the values of the
/// run's variables and outputs that are such secrets (e.g. a password copied into a variable) and masks them again.
/// </remarks>
public sealed class Redactor
{
    /// <summary>What a secret is replaced with.</summary>
    public const string Mask = "***";

    /// <summary>Key in the run's properties: <c>{ "key": base64, "digests": [hex…] }</c>.</summary>
    public const string DigestsProperty = "secretDigests";

    private readonly HashSet<string> secrets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonNode?>? memory;

    /// <summary>A redactor that remembers nothing beyond its own lifetime.</summary>
    public Redactor()
    {
    }

    /// <summary>A redactor that keeps the digests of its secrets in <paramref name="properties"/> (a run's properties).</summary>
    public Redactor(Dictionary<string, JsonNode?> properties) => memory = properties;

    /// <summary>Registers a secret value. Values shorter than 4 characters are not masked inside other text.</summary>
    public void Add(string? secret)
    {
        if (string.IsNullOrEmpty(secret) || !secrets.Add(secret) || memory is null)
            return;
        if (memory.GetValueOrDefault(DigestsProperty) is not JsonObject remembered)
        {
            remembered = new JsonObject { ["key"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), ["digests"] = new JsonArray() };
            memory[DigestsProperty] = remembered;
        }

        if (Key(remembered) is { } key && remembered["digests"] is JsonArray digests)
        {
            var digest = Digest(key, secret);
            if (!digests.Any(d => d?.GetValue<string>() == digest))
                digests.Add(digest);
        }
    }

    /// <summary>Registers every string in <paramref name="values"/> (searched recursively) whose digest was remembered.</summary>
    public void Recall(IEnumerable<JsonNode?> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (memory?.GetValueOrDefault(DigestsProperty) is not JsonObject remembered || Key(remembered) is not { } key || remembered["digests"] is not JsonArray digests)
            return;
        var known = digests.Select(d => d?.GetValue<string>()).OfType<string>().ToHashSet(StringComparer.Ordinal);
        foreach (var value in values)
            RecallNode(value, key, known);
    }

    private void RecallNode(JsonNode? node, byte[] key, HashSet<string> known)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (_, child) in obj)
                    RecallNode(child, key, known);
                break;
            case JsonArray array:
                foreach (var child in array)
                    RecallNode(child, key, known);
                break;
            case JsonValue value when value.TryGetValue<string>(out var text) && text.Length > 0 && known.Contains(Digest(key, text)):
                secrets.Add(text);
                break;
        }
    }

    private static byte[]? Key(JsonObject remembered)
    {
        try
        {
            return remembered["key"]?.GetValue<string>() is { } text ? Convert.FromBase64String(text) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string Digest(byte[] key, string secret) => Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(secret)));

    public bool HasSecrets => secrets.Count > 0;

    public string RedactText(string text)
    {
        foreach (var secret in secrets)
        {
            if (text == secret)
                return Mask;
            if (secret.Length >= 4)
                text = text.Replace(secret, Mask, StringComparison.Ordinal);
        }

        return text;
    }

    /// <summary>Returns the node with every secret string masked (the node is modified in place).</summary>
    public JsonNode? Redact(JsonNode? node)
    {
        if (node is null || secrets.Count == 0)
            return node;
        switch (node)
        {
            case JsonObject obj:
                foreach (var key in obj.Select(p => p.Key).ToList())
                {
                    var child = obj[key];
                    var replacement = Redact(child);
                    if (!ReferenceEquals(replacement, child))
                        obj[key] = replacement;
                }

                return obj;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    var child = array[i];
                    var replacement = Redact(child);
                    if (!ReferenceEquals(replacement, child))
                        array[i] = replacement;
                }

                return array;
            case JsonValue value when value.TryGetValue<string>(out var text):
                var redacted = RedactText(text);
                return ReferenceEquals(redacted, text) || redacted == text ? value : JsonValue.Create(redacted);
            default:
                return node;
        }
    }

    public JsonObject Redact(JsonObject node) => (JsonObject)Redact((JsonNode)node)!;
}
