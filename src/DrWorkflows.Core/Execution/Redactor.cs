using System.Text.Json.Nodes;

namespace DrWorkflows.Core.Execution;

/// <summary>
/// Masks secret values. Every secret a run reads (inputs marked secret, configured secrets) is added here,
/// and every journal payload and message passes through <see cref="Redact(JsonNode?)"/> before it is stored.
/// </summary>
public sealed class Redactor
{
    /// <summary>What a secret is replaced with.</summary>
    public const string Mask = "***";

    private readonly HashSet<string> secrets = new(StringComparer.Ordinal);

    /// <summary>Registers a secret value. Values shorter than 4 characters are not masked inside other text.</summary>
    public void Add(string? secret)
    {
        if (!string.IsNullOrEmpty(secret))
            secrets.Add(secret);
    }

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
