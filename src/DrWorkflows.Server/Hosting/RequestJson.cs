using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace DrWorkflows.Server.Hosting;

/// <summary>What is wrong with a request, naming the field (<c>ids[2]</c>, <c>issue.number</c>; empty for the whole body).</summary>
public sealed record RequestProblem(string Field, string Message)
{
    public string Detail => Field.Length == 0 ? Message : $"Field '{Field}': {Message}";
}

/// <summary>A handler found a field it cannot take (too long, not allowed here): answered 400 naming the field.</summary>
public sealed class RequestFieldException(string field, string message) : Exception(message)
{
    public RequestProblem Problem { get; } = new(field, message);
}

/// <summary>
/// The one way request JSON is read: by the request guard for every route that binds a JSON body, and by the
/// webhooks (which must read the raw bytes for their signatures). Strict where System.Text.Json is lenient or
/// throws something other than a <see cref="JsonException"/>:
/// <list type="bullet">
/// <item>a key twice in one object is refused (JsonObject would throw ArgumentException when first used);</item>
/// <item>the body must be of the kind the route takes (an object unless it binds an array);</item>
/// <item>strings with invalid Unicode escapes (lone surrogates) or a NUL character are refused (PostgreSQL cannot store NUL);</item>
/// <item>nesting deeper than <see cref="MaxDepth"/> is refused;</item>
/// <item>typed bodies: a wrong kind, a number out of range or an unknown enum name is refused naming the field
///   and what it takes (enum names only; numbers for enums are refused too).</item>
/// </list>
/// </summary>
public static class RequestJson
{
    public const int MaxDepth = 64;

    /// <summary>Checks the syntax and the rules above; null when the body is fine.</summary>
    public static RequestProblem? Check(ReadOnlySpan<byte> utf8, JsonValueKind expected = JsonValueKind.Object)
    {
        if (utf8.IsEmpty)
            return new RequestProblem(string.Empty, "The body is empty; send a JSON " + Kind(expected) + ".");
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = MaxDepth, CommentHandling = JsonCommentHandling.Disallow });
        var frames = new Stack<Frame>();
        string? property = null;
        try
        {
            while (reader.Read())
            {
                var path = frames.Count == 0 ? string.Empty : frames.Peek().Child(property);
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        var kind = reader.TokenType == JsonTokenType.StartObject ? JsonValueKind.Object : JsonValueKind.Array;
                        if (frames.Count == 0 && expected != JsonValueKind.Undefined && kind != expected)
                            return new RequestProblem(string.Empty, $"The body must be a JSON {Kind(expected)}, not {Article(kind)}.");
                        Advance(frames);
                        frames.Push(new Frame(path, kind == JsonValueKind.Object ? new HashSet<string>(StringComparer.Ordinal) : null));
                        property = null;
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        frames.Pop();
                        property = null;
                        break;
                    case JsonTokenType.PropertyName:
                        var name = Text(ref reader, path);
                        var frame = frames.Peek();
                        if (!frame.Keys!.Add(name))
                            return new RequestProblem(frame.Child(name), "appears twice in the same object; send each field once.");
                        property = name;
                        break;
                    default:
                        if (frames.Count == 0 && expected != JsonValueKind.Undefined)
                            return new RequestProblem(string.Empty, $"The body must be a JSON {Kind(expected)}, not {Article(reader.TokenType)}.");
                        if (reader.TokenType == JsonTokenType.String)
                            Text(ref reader, path);
                        Advance(frames);
                        property = null;
                        break;
                }
            }
        }
        catch (JsonException e)
        {
            return new RequestProblem(string.Empty, "The body is not valid JSON: " + FirstSentence(e.Message));
        }
        catch (BadStringException e)
        {
            return e.Problem;
        }

        return null;
    }

    /// <summary>Checks <paramref name="utf8"/> and parses it as an object (webhooks).</summary>
    public static (JsonObject? Value, RequestProblem? Problem) ParseObject(ReadOnlySpan<byte> utf8)
    {
        if (Check(utf8) is { } problem)
            return (null, problem);
        return (JsonNode.Parse(utf8) as JsonObject, null);
    }

    /// <summary>Checks <paramref name="utf8"/> and reads it as <typeparamref name="T"/> with <paramref name="options"/>.</summary>
    public static (T? Value, RequestProblem? Problem) Read<T>(ReadOnlySpan<byte> utf8, JsonSerializerOptions options)
    {
        var (value, problem) = Read(utf8, typeof(T), options);
        return ((T?)value, problem);
    }

    /// <summary>Checks <paramref name="utf8"/> and reads it as <paramref name="type"/>; a conversion error names the field and what it takes.</summary>
    public static (object? Value, RequestProblem? Problem) Read(ReadOnlySpan<byte> utf8, Type type, JsonSerializerOptions options)
    {
        if (Check(utf8, ExpectedKind(type)) is { } problem)
            return (null, problem);
        try
        {
            return (JsonSerializer.Deserialize(utf8, type, options), null);
        }
        catch (JsonException e)
        {
            return (null, Describe(e, type, options));
        }
    }

    /// <summary>The kind of JSON a body of this type must be: an array for collections, anything for JSON values, else an object.</summary>
    public static JsonValueKind ExpectedKind(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(JsonArray) || (type != typeof(string) && type != typeof(JsonObject) && typeof(IEnumerable).IsAssignableFrom(type) && !IsDictionary(type)))
            return JsonValueKind.Array;
        if (type == typeof(JsonValue) || type == typeof(JsonElement) || type == typeof(string) || type.IsPrimitive || type.IsEnum)
            return JsonValueKind.Undefined;
        return JsonValueKind.Object;
    }

    /// <summary>A deserialization error as a problem naming the field (from the exception's path) and what the field takes.</summary>
    public static RequestProblem Describe(JsonException e, Type root, JsonSerializerOptions options)
    {
        var field = e.Path is { Length: > 1 } path && path.StartsWith('$') ? path.TrimStart('$').TrimStart('.') : string.Empty;
        var target = FieldType(root, field, options);
        var what = target is null ? null : Takes(target);
        return new RequestProblem(field, what is null ? "the value is not valid here." : $"must be {what}.");
    }

    /// <summary>Walks the serializer's metadata of <paramref name="root"/> along <paramref name="field"/> (<c>a.b[0]</c>).</summary>
    private static Type? FieldType(Type root, string field, JsonSerializerOptions options)
    {
        var type = root;
        foreach (var part in field.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = part;
            var indexes = 0;
            while (name.EndsWith(']') && name.LastIndexOf('[') is var open and > 0)
            {
                name = name[..open];
                indexes++;
            }

            if (name.StartsWith('[') && name.EndsWith(']'))
            {
                name = string.Empty;
                indexes++;
            }

            if (name.Length > 0)
            {
                var info = Info(type, options);
                var property = info?.Properties.FirstOrDefault(p => string.Equals(p.Name, name.Trim('\'', '[', ']'), StringComparison.OrdinalIgnoreCase));
                if (property is null)
                    return null;
                type = property.PropertyType;
            }

            for (var i = 0; i < indexes; i++)
            {
                type = Element(type);
                if (type is null)
                    return null;
            }
        }

        return type;
    }

    private static JsonTypeInfo? Info(Type type, JsonSerializerOptions options)
    {
        try
        {
            return options.GetTypeInfo(Nullable.GetUnderlyingType(type) ?? type);
        }
        catch (NotSupportedException)
        {
            return null;
        }
    }

    private static Type? Element(Type type)
    {
        if (type.IsArray)
            return type.GetElementType();
        return type.GetInterfaces().Append(type)
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];
    }

    /// <summary>What a field of this type takes, in words.</summary>
    private static string? Takes(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsEnum)
            return "one of " + string.Join(", ", Enum.GetNames(type)) + " (as a string)";
        return type switch
        {
            _ when type == typeof(string) => "a string",
            _ when type == typeof(bool) => "true or false",
            _ when type == typeof(int) => $"a whole number from {int.MinValue.ToString(CultureInfo.InvariantCulture)} to {int.MaxValue.ToString(CultureInfo.InvariantCulture)}",
            _ when type == typeof(long) => "a whole number (64-bit)",
            _ when type == typeof(double) || type == typeof(decimal) => "a number",
            _ when type == typeof(DateTimeOffset) || type == typeof(DateTime) => "a date and time (ISO 8601, e.g. 2026-11-01T03:00:00Z)",
            _ when type == typeof(TimeSpan) => "a duration (e.g. 00:30:00)",
            _ when type == typeof(JsonObject) => "a JSON object",
            _ when type == typeof(JsonArray) => "a JSON array",
            _ when type == typeof(JsonNode) || type == typeof(JsonElement) => null,
            _ when IsDictionary(type) => "a JSON object",
            _ when typeof(IEnumerable).IsAssignableFrom(type) && Element(type) is { } element => "an array" + (Takes(element) is { } each ? " of " + Plural(each) : string.Empty),
            _ when type.IsClass => "a JSON object",
            _ => null,
        };
    }

    private static string Plural(string each) => each switch
    {
        "a string" => "strings",
        "a JSON object" => "JSON objects",
        _ => "values that are each " + each,
    };

    private static bool IsDictionary(Type type) =>
        typeof(IDictionary).IsAssignableFrom(type) || type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));

    private static string Text(ref Utf8JsonReader reader, string path)
    {
        string text;
        try
        {
            text = reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new BadStringException(new RequestProblem(path, "contains invalid Unicode (an unpaired surrogate or bytes that are not UTF-8)."));
        }

        if (text.Contains('\0', StringComparison.Ordinal))
            throw new BadStringException(new RequestProblem(path, "contains a NUL character (\\u0000), which no field takes."));
        return text;
    }

    private static void Advance(Stack<Frame> frames)
    {
        if (frames.Count > 0)
            frames.Peek().Index++;
    }

    private static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "array",
        JsonValueKind.Object => "object",
        _ => "value",
    };

    private static string Article(JsonValueKind kind) => kind == JsonValueKind.Array ? "an array" : "an object";

    private static string Article(JsonTokenType token) => token switch
    {
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => "a value",
    };

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }

    /// <summary>An open object (with its keys so far) or array (with the index of its next item).</summary>
    private sealed class Frame(string path, HashSet<string>? keys)
    {
        public HashSet<string>? Keys { get; } = keys;

        public int Index { get; set; }

        public string Child(string? property)
        {
            if (Keys is null)
                return string.Create(CultureInfo.InvariantCulture, $"{path}[{Index}]");
            if (property is null)
                return path;
            var name = property.Length <= 64 ? property : property[..64] + "…";
            return path.Length == 0 ? name : new StringBuilder(path).Append('.').Append(name).ToString();
        }
    }

    private sealed class BadStringException(RequestProblem problem) : Exception(problem.Message)
    {
        public RequestProblem Problem { get; } = problem;
    }
}
