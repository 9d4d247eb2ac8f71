using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml;
using DrWorkflows.Core.Serialization;

namespace DrWorkflows.Core.Execution;

/// <summary>
/// Converts values between what expressions produce (strings from literals, numbers and objects from
/// JavaScript, JSON from variables) and the CLR types activities declare.
/// </summary>
public static class ValueConverter
{
    public static T? Convert<T>(object? value) => (T?)Convert(value, typeof(T));

    public static object? Convert(object? value, Type targetType)
    {
        var underlying = Nullable.GetUnderlyingType(targetType);
        var type = underlying ?? targetType;
        if (value is null || (value is JsonValue jv && jv.GetValueKind() == JsonValueKind.Null))
            return type.IsValueType && underlying is null ? Activator.CreateInstance(type) : null;
        if (type == typeof(object))
            return value is JsonNode n ? Unwrap(n) : value;
        if (type.IsInstanceOfType(value))
            return value;
        if (typeof(JsonNode).IsAssignableFrom(type))
            return ToJsonNode(value);

        if (value is JsonValue jsonValue && jsonValue.TryGetValue<string>(out var s))
            value = s;
        if (value is string text)
            return underlying is not null && string.IsNullOrWhiteSpace(text) ? null : FromString(text, type); // a cleared single-line editor
        if (value is JsonElement element)
            return element.Deserialize(type, Json.Options);
        if (type == typeof(string))
            return value is JsonNode node ? node.ToJsonString(Json.Options) : System.Convert.ToString(value, CultureInfo.InvariantCulture);
        if (value is IConvertible && type.IsPrimitive || type == typeof(decimal))
            return System.Convert.ChangeType(value, type, CultureInfo.InvariantCulture);
        if (type.IsEnum && value is IConvertible)
            return Enum.ToObject(type, System.Convert.ToInt64(value, CultureInfo.InvariantCulture));
        if (type == typeof(TimeSpan) && value is double milliseconds)
            return TimeSpan.FromMilliseconds(milliseconds);

        var json = ToJsonNode(value);
        return json.Deserialize(type, Json.Options);
    }

    private static object? FromString(string text, Type type)
    {
        if (type == typeof(string))
            return text;
        if (type == typeof(bool))
            return bool.Parse(text.Trim());
        if (type == typeof(TimeSpan))
            return ParseTimeSpan(text);
        if (type == typeof(DateTimeOffset))
            return DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        if (type == typeof(DateTime))
            return DateTime.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        if (type == typeof(Guid))
            return Guid.Parse(text);
        if (type.IsEnum)
            return Enum.Parse(type, text.Trim(), ignoreCase: true);
        if (type.IsPrimitive || type == typeof(decimal))
            return System.Convert.ChangeType(text.Trim(), type, CultureInfo.InvariantCulture);
        if (string.IsNullOrWhiteSpace(text))
            return null;

        // A collection of strings given as plain text: one item per line or comma-separated.
        var trimmed = text.TrimStart();
        if (!trimmed.StartsWith('[') && !trimmed.StartsWith('{') && IsStringCollection(type))
        {
            var items = text.Split(text.Contains('\n', StringComparison.Ordinal) ? '\n' : ',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return JsonSerializer.SerializeToNode(items, Json.Options).Deserialize(type, Json.Options);
        }

        return JsonSerializer.Deserialize(text, type, Json.Options);
    }

    private static bool IsStringCollection(Type type) =>
        type == typeof(string[]) || (type.IsGenericType && type.GetGenericArguments() is [var arg] && arg == typeof(string) && typeof(IEnumerable).IsAssignableFrom(type));

    /// <summary>Parses <c>00:05:00</c>, ISO-8601 <c>PT5M</c>, or <c>5m</c>/<c>30s</c>/<c>2h</c>/<c>1d</c>.</summary>
    public static TimeSpan ParseTimeSpan(string text)
    {
        text = text.Trim();
        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value))
            return value;
        if (text.StartsWith('P'))
            return XmlConvert.ToTimeSpan(text);
        if (text.Length > 1 && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount))
        {
            return char.ToLowerInvariant(text[^1]) switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                'd' => TimeSpan.FromDays(amount),
                _ => throw new FormatException($"'{text}' is not a duration: use 00:05:00, PT5M or 5m."),
            };
        }

        throw new FormatException($"'{text}' is not a duration: use 00:05:00, PT5M or 5m.");
    }

    public static JsonNode? ToJsonNode(object? value) => value switch
    {
        null => null,
        JsonNode node => node.DeepClone(),
        JsonElement element => JsonNode.Parse(element.GetRawText()),
        _ => JsonSerializer.SerializeToNode(value, value.GetType(), Json.Options),
    };

    /// <summary>A JSON node as plain CLR values (string, double, bool, dictionaries, lists).</summary>
    public static object? Unwrap(JsonNode? node) => node switch
    {
        null => null,
        JsonObject obj => obj.ToDictionary(p => p.Key, p => Unwrap(p.Value)),
        JsonArray array => array.Select(Unwrap).ToList(),
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => value.TryGetValue<long>(out var l) ? l : value.GetValue<double>(),
            _ => null,
        },
        _ => null,
    };
}
