using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DrWorkflows.Core.Serialization;

namespace DrWorkflows.Activities.Notifications;

/// <summary>How inserted values are escaped for the target format (the template text itself is kept as written).</summary>
public enum TemplateEscaping
{
    None,

    /// <summary>HTML email bodies: values are HTML-encoded.</summary>
    Html,

    /// <summary>Slack text: <c>&amp;</c>, <c>&lt;</c> and <c>&gt;</c> are escaped so values cannot form mentions or links.</summary>
    Slack,
}

/// <summary>A rendered template and the placeholders that had no value (left in the text as written).</summary>
public sealed record TemplateResult(string Text, IReadOnlyList<string> Missing);

/// <summary>
/// <c>{{name}}</c> placeholders over a JSON object of values: <c>{{ service }}</c>, dotted paths into nested
/// objects (<c>{{backup.takenAt}}</c>) and array indexes (<c>{{hosts.0}}</c>). Strings are inserted as they
/// are, numbers and booleans in invariant form, objects and arrays as JSON. A placeholder without a value is
/// left as written and reported, so a message is never lost because one value is missing.
/// Inputs of activities are already evaluated expressions, so a template may also be built by a JavaScript
/// expression instead; the two combine (the expression's result is rendered).
/// </summary>
public static partial class NotificationTemplate
{
    public static TemplateResult Render(string? template, JsonObject? values, TemplateEscaping escaping = TemplateEscaping.None)
    {
        if (string.IsNullOrEmpty(template))
            return new TemplateResult(string.Empty, []);
        var missing = new List<string>();
        var text = Placeholder().Replace(template, match =>
        {
            var path = match.Groups["path"].Value;
            if (Resolve(values, path) is not { } value)
            {
                if (!missing.Contains(path))
                    missing.Add(path);
                return match.Value;
            }

            return Escape(Format(value), escaping);
        });
        return new TemplateResult(text, missing);
    }

    private static JsonNode? Resolve(JsonNode? node, string path)
    {
        foreach (var part in path.Split('.'))
        {
            node = node switch
            {
                JsonObject obj => obj.FirstOrDefault(p => string.Equals(p.Key, part, StringComparison.OrdinalIgnoreCase)).Value,
                JsonArray array when int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < array.Count => array[index],
                _ => null,
            };
            if (node is null)
                return null;
        }

        return node;
    }

    /// <summary>
    /// A value as people read it: strings (and dates) as they are, anything else as JSON written with the relaxed
    /// encoder, so a timestamp shows <c>+00:00</c> rather than the default encoder's <c>\u002B00:00</c>.
    /// </summary>
    public static string Format(JsonNode value) => value switch
    {
        JsonValue v when v.TryGetValue<string>(out var text) => text,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.Deserialize<string>(Json.Options) ?? string.Empty,
        _ => value.ToJsonString(Json.Options),
    };

    /// <summary>Escapes a value for the target format.</summary>
    public static string Escape(string value, TemplateEscaping escaping) => escaping switch
    {
        TemplateEscaping.Html => OutboundText.Html(value),
        TemplateEscaping.Slack => OutboundText.Slack(value),
        _ => value,
    };

    [GeneratedRegex(@"\{\{\s*(?<path>[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]+)*)\s*\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();
}
