using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace DrWorkflows.Activities.Approvals;

/// <summary>
/// Validates a free answer against a JSON schema written with a documented subset of JSON Schema (2020-12
/// semantics): <c>type</c>, <c>enum</c>, <c>const</c>, <c>required</c>, <c>properties</c>,
/// <c>additionalProperties</c>, <c>items</c>, <c>minItems</c>/<c>maxItems</c>, <c>minimum</c>/<c>maximum</c>,
/// <c>exclusiveMinimum</c>/<c>exclusiveMaximum</c>, <c>minLength</c>/<c>maxLength</c>, <c>pattern</c>,
/// <c>format: date-time</c>, plus the annotations <c>$schema</c>, <c>title</c>, <c>description</c>,
/// <c>default</c>, <c>examples</c>. A schema using any other keyword is refused when the gate starts, so a gate
/// never silently accepts an answer its author meant to forbid. Approval answers are small (a restore point,
/// a timestamp, a count): this subset covers them without a third-party validator on a security path.
/// </summary>
public static class AnswerSchema
{
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "type", "enum", "const", "required", "properties", "additionalProperties", "items", "minItems", "maxItems",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "format",
        "$schema", "title", "description", "default", "examples",
    };

    private static readonly HashSet<string> Types = new(StringComparer.Ordinal) { "string", "number", "integer", "boolean", "object", "array", "null" };

    /// <summary>Problems with the schema itself (empty when usable).</summary>
    public static IReadOnlyList<string> CheckSchema(JsonNode? schema)
    {
        var problems = new List<string>();
        CheckSchema(schema, "#", problems);
        return problems;
    }

    /// <summary>Why <paramref name="value"/> does not satisfy <paramref name="schema"/> (empty when it does).</summary>
    public static IReadOnlyList<string> Validate(JsonNode schema, JsonNode? value)
    {
        var errors = new List<string>();
        Validate(schema, value, "$", errors);
        return errors;
    }

    private static void CheckSchema(JsonNode? schema, string path, List<string> problems)
    {
        if (schema is JsonValue b && b.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
            return;
        if (schema is not JsonObject obj)
        {
            problems.Add($"{path}: a schema must be a JSON object.");
            return;
        }

        foreach (var (key, value) in obj)
        {
            if (!Keywords.Contains(key))
            {
                problems.Add($"{path}: keyword '{key}' is not supported (supported: {string.Join(", ", Keywords.Order(StringComparer.Ordinal))}).");
                continue;
            }

            switch (key)
            {
                case "type":
                    foreach (var t in TypeNames(value))
                    {
                        if (!Types.Contains(t))
                            problems.Add($"{path}: type '{t}' is not a JSON schema type.");
                    }

                    break;
                case "properties" when value is JsonObject props:
                    foreach (var (name, sub) in props)
                        CheckSchema(sub, $"{path}/properties/{name}", problems);
                    break;
                case "properties":
                    problems.Add($"{path}: properties must be an object.");
                    break;
                case "additionalProperties" or "items":
                    CheckSchema(value, $"{path}/{key}", problems);
                    break;
                case "pattern":
                    try
                    {
                        _ = new Regex(value?.GetValue<string>() ?? string.Empty, RegexOptions.None, TimeSpan.FromSeconds(1));
                    }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
                    {
                        problems.Add($"{path}: pattern is not a valid regular expression: {e.Message}");
                    }

                    break;
                case "format" when value?.ToString() != "date-time":
                    problems.Add($"{path}: only format 'date-time' is supported.");
                    break;
                case "required" when value is not JsonArray:
                    problems.Add($"{path}: required must be an array of property names.");
                    break;
                case "enum" when value is not JsonArray:
                    problems.Add($"{path}: enum must be an array.");
                    break;
            }
        }
    }

    private static IEnumerable<string> TypeNames(JsonNode? node) => node switch
    {
        JsonArray array => array.Select(n => n?.ToString() ?? "null"),
        null => [],
        _ => [node.ToString()],
    };

    private static void Validate(JsonNode? schema, JsonNode? value, string path, List<string> errors)
    {
        if (schema is JsonValue b && b.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
        {
            if (b.GetValueKind() == JsonValueKind.False)
                errors.Add($"{path}: no value is allowed here.");
            return;
        }

        if (schema is not JsonObject s)
            return;
        var kind = value?.GetValueKind() ?? JsonValueKind.Null;
        if (s["type"] is { } typeNode)
        {
            var allowed = TypeNames(typeNode).ToList();
            if (!allowed.Any(t => IsType(t, value, kind)))
            {
                errors.Add($"{path}: expected {string.Join(" or ", allowed)}, got {Describe(kind)}.");
                return;
            }
        }

        if (s["enum"] is JsonArray options && !options.Any(o => JsonNode.DeepEquals(o, value)))
            errors.Add($"{path}: must be one of {options.ToJsonString()}.");
        if (s.TryGetPropertyValue("const", out var constant) && !JsonNode.DeepEquals(constant, value))
            errors.Add($"{path}: must be {constant?.ToJsonString() ?? "null"}.");

        switch (kind)
        {
            case JsonValueKind.String:
                var text = value!.GetValue<string>();
                var length = new StringInfo(text).LengthInTextElements;
                if (Number(s, "minLength") is { } minLength && length < minLength)
                    errors.Add($"{path}: must have at least {minLength} characters.");
                if (Number(s, "maxLength") is { } maxLength && length > maxLength)
                    errors.Add($"{path}: must have at most {maxLength} characters.");
                if (s["pattern"]?.GetValue<string>() is { } pattern && !Regex.IsMatch(text, pattern, RegexOptions.None, TimeSpan.FromSeconds(1)))
                    errors.Add($"{path}: must match {pattern}.");
                if (s["format"]?.ToString() == "date-time" && !DateTimeOffset.TryParseExact(text, ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"], CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
                    errors.Add($"{path}: must be a date-time such as 2026-11-01T03:00:00Z.");
                break;
            case JsonValueKind.Number:
                var number = value!.GetValue<double>();
                if (Number(s, "minimum") is { } min && number < min)
                    errors.Add($"{path}: must be at least {min.ToString(CultureInfo.InvariantCulture)}.");
                if (Number(s, "maximum") is { } max && number > max)
                    errors.Add($"{path}: must be at most {max.ToString(CultureInfo.InvariantCulture)}.");
                if (Number(s, "exclusiveMinimum") is { } xmin && number <= xmin)
                    errors.Add($"{path}: must be greater than {xmin.ToString(CultureInfo.InvariantCulture)}.");
                if (Number(s, "exclusiveMaximum") is { } xmax && number >= xmax)
                    errors.Add($"{path}: must be less than {xmax.ToString(CultureInfo.InvariantCulture)}.");
                break;
            case JsonValueKind.Array:
                var array = value!.AsArray();
                if (Number(s, "minItems") is { } minItems && array.Count < minItems)
                    errors.Add($"{path}: must have at least {minItems} items.");
                if (Number(s, "maxItems") is { } maxItems && array.Count > maxItems)
                    errors.Add($"{path}: must have at most {maxItems} items.");
                if (s["items"] is { } itemSchema)
                {
                    for (var i = 0; i < array.Count; i++)
                        Validate(itemSchema, array[i], $"{path}[{i}]", errors);
                }

                break;
            case JsonValueKind.Object:
                var obj = value!.AsObject();
                foreach (var name in (s["required"] as JsonArray ?? []).Select(n => n?.ToString()).OfType<string>())
                {
                    if (!obj.ContainsKey(name))
                        errors.Add($"{path}: property '{name}' is required.");
                }

                var properties = s["properties"] as JsonObject;
                foreach (var (name, propertyValue) in obj)
                {
                    if (properties?[name] is { } propertySchema)
                        Validate(propertySchema, propertyValue, $"{path}.{name}", errors);
                    else if (s.TryGetPropertyValue("additionalProperties", out var additional) && additional is not null)
                        Validate(additional, propertyValue, $"{path}.{name}", errors);
                }

                break;
        }
    }

    private static double? Number(JsonObject schema, string key) =>
        schema[key] is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? v.GetValue<double>() : null;

    private static bool IsType(string type, JsonNode? value, JsonValueKind kind) => type switch
    {
        "string" => kind == JsonValueKind.String,
        "number" => kind == JsonValueKind.Number,
        "integer" => kind == JsonValueKind.Number && value!.GetValue<double>() is var d && Math.Floor(d) == d && !double.IsInfinity(d),
        "boolean" => kind is JsonValueKind.True or JsonValueKind.False,
        "object" => kind == JsonValueKind.Object,
        "array" => kind == JsonValueKind.Array,
        "null" => kind == JsonValueKind.Null,
        _ => false,
    };

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Undefined => "nothing",
        _ => kind.ToString().ToLowerInvariant(),
    };
}
