using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using DrWorkflows.Server.Approvals;
using DrWorkflows.Server.Hosting;
using DrWorkflows.Server.Tests.Approvals;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace DrWorkflows.Server.Tests.Hardening;

/// <summary>One method of one route of the server's route table, with what its handler takes.</summary>
internal sealed record FuzzRoute(string Method, RoutePattern Pattern, Type? JsonBody, IReadOnlyList<(string Name, Type Type)> Query, long BodyLimit)
{
    public string Display => $"{Method} {Pattern.RawText}";

    /// <summary>Every route and method of the table (a route without methods answers any: it gets the usual five).</summary>
    public static List<FuzzRoute> From(EndpointDataSource source, long defaultLimit)
    {
        var routes = new List<FuzzRoute>();
        foreach (var endpoint in source.Endpoints.OfType<RouteEndpoint>())
        {
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods is { Count: > 0 } declared ? declared : ["GET", "POST", "PUT", "DELETE", "PATCH"];
            var accepts = endpoint.Metadata.GetMetadata<IAcceptsMetadata>();
            var json = accepts?.RequestType is { } type && accepts.ContentTypes.Any(t => t.Contains("json", StringComparison.Ordinal)) ? type : null;
            var routeNames = endpoint.RoutePattern.Parameters.Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
            var handler = endpoint.Metadata.OfType<MethodInfo>().FirstOrDefault();
            var query = (handler?.GetParameters() ?? [])
                .Where(p => p.Name is not null && !routeNames.Contains(p.Name) && p.ParameterType != json && IsQueryType(p.ParameterType))
                .Select(p => (p.Name!, p.ParameterType)).ToList();
            var limit = endpoint.Metadata.GetMetadata<BodyLimit>()?.Bytes ?? defaultLimit;
            routes.AddRange(methods.Select(m => new FuzzRoute(m, endpoint.RoutePattern, json, query, limit)));
        }

        return [.. routes.OrderBy(r => r.Display, StringComparer.Ordinal)];
    }

    private static bool IsQueryType(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type == typeof(string) || type == typeof(int) || type == typeof(long) || type == typeof(bool) || type == typeof(string[]) || type.IsEnum;
    }
}

/// <summary>A request as generated: everything needed to send it again (the seed reproduces the sequence).</summary>
internal sealed record FuzzRequest(FuzzRoute Route, string Path, string Role, string? Key, string BodyKind, byte[]? Body, string? ContentType, bool Chunked, IReadOnlyList<(string Name, string Value)> Headers)
{
    public HttpRequestMessage ToMessage()
    {
        var message = new HttpRequestMessage(new HttpMethod(Route.Method), Path);
        if (Body is not null)
        {
            HttpContent content = Chunked ? new StreamContent(new UnseekableStream(Body)) : new ByteArrayContent(Body);
            if (ContentType is not null)
                content.Headers.TryAddWithoutValidation("Content-Type", ContentType);
            message.Content = content;
        }

        if (Key is not null)
            message.Headers.TryAddWithoutValidation("Authorization", "ApiKey " + Key);
        foreach (var (name, value) in Headers)
            message.Headers.TryAddWithoutValidation(name, value);
        return message;
    }

    public string Describe() =>
        $"{Route.Method} {Path} as {Role}, body {BodyKind} ({Body?.Length ?? 0} bytes{(Chunked ? ", chunked" : string.Empty)}, {ContentType ?? "no content type"}): "
        + (Body is null ? string.Empty : Encoding.UTF8.GetString(Body, 0, Math.Min(Body.Length, 300)));

    private sealed class UnseekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}

/// <summary>Ids the server knows (so requests reach past the lookups) and the roles to send them with.</summary>
internal sealed class FuzzPools
{
    public List<string> Ids { get; } = [];

    public List<string> ApprovalIds { get; } = [];

    public DateTimeOffset Now { get; set; }

    public static readonly (string Role, string? Key)[] Roles =
    [
        ("anonymous", null),
        ("invalid key", "not-a-key-at-all"),
        ("viewer", ApprovalServerFactory.ViewerKey),
        ("designer", ApprovalServerFactory.DesignerKey),
        ("operator", ApprovalServerFactory.OperatorKey),
        ("approver", ApprovalServerFactory.AliceKey),
        ("admin", ApprovalServerFactory.AdminKey),
    ];
}

/// <summary>
/// Generates requests for a route: valid-looking ones (from the body type's fields and the known ids) mixed with
/// malformed ones (duplicate keys, wrong kinds, huge, deep, broken Unicode, empty, wrong content types, malformed
/// ids and query values), signed as Slack and GitHub would sign them or not.
/// </summary>
internal sealed class FuzzInput(Random random, FuzzPools pools)
{
    private static readonly string[] Words =
    [
        "alerts", "status", "labels", "annotations", "alertname", "fingerprint", "startsAt", "model", "definitionId", "root", "activities", "type", "id",
        "payload", "option", "value", "comment", "ids", "definitionIds", "input", "apiKey", "returnUrl", "__antiforgery", "vote", "answer", "evidenceSha256",
        "action", "issue", "number", "repository", "full_name", "user", "login", "body", "actions", "action_id", "trigger_id", "container", "channel",
        "message_ts", "channel_id", "response_url", "filter", "eventNames", "publish", "versionOptions", "instanceId", "workflowInstanceId", "connections",
    ];

    private static readonly string[] Malformed =
    [
        string.Empty, " ", "a b", "'; DROP TABLE instances;--", "<script>alert(1)</script>", "../../etc/passwd", "..", ".", "%00", "\0", "a\nb", "\t",
        "ü𝔘\u202Eevil", "😀", "\uFEFF", new string('a', 300), new string('x', 3000), "99999999999999999999", "-1", "0", "1e30", "null", "true", "{}",
        "[]", "|", "a|b|c", "x.y.z", "\\", "%", "%ZZ", "ﷺ", "\ud800", "run-1", "dr-1", "1", "#2", "/approve", "<!channel>", "@octocat",
    ];

    // %00 is left out of paths: the in-memory server cannot carry it (Kestrel refuses it before the app sees it).
    private static readonly string[] RawSegments = ["%ED%A0%80", "%C0%AF", "%FF", "%2F", "%252F", "%01", "%0A", "%E2%80%AE"];

    private static readonly string[] Words2 =
    [
        "Published", "Latest", "Draft", "AllVersions", "All", "LatestOrPublished", "2", "Sometimes", "pending", "decided", "approved", "rejected",
        "timedout", "all", "Name", "Created", "Version", "Descending", "Ascending", "firing", "resolved", "block_actions", "created", "approve", "reject",
        "retry", "skip", "fail", "Running", "Suspended", "Finished", "Faulted",
    ];

    public FuzzRequest Next(FuzzRoute route)
    {
        var (role, key) = FuzzPools.Roles[random.Next(FuzzPools.Roles.Length)];
        var path = Path(route) + QueryString(route);
        var headers = new List<(string, string)>();
        string kind;
        byte[]? body;
        string? contentType;
        var chunked = false;
        if (route.Method is "GET" or "DELETE" && random.Next(10) != 0)
        {
            (kind, body, contentType) = ("none", null, null);
        }
        else if (random.Next(100) < 2)
        {
            // Past the route's limit: declared (refused before reading) or chunked (cut off at the limit).
            chunked = random.Next(2) == 0;
            var size = (int)Math.Min(route.BodyLimit + 1 + random.Next(1024), 9 * 1024 * 1024);
            body = Encoding.UTF8.GetBytes("{\"pad\":\"" + new string('x', size) + "\"}");
            (kind, contentType) = (chunked ? "huge-chunked" : "huge", route.JsonBody is not null || random.Next(2) == 0 ? "application/json" : "application/x-www-form-urlencoded");
        }
        else if (route.JsonBody is { } type)
        {
            (kind, body, contentType) = JsonBody(type);
        }
        else
        {
            (kind, body, contentType) = OtherBody();
        }

        chunked |= body is not null && random.Next(10) == 0;
        Sign(body ?? [], headers);
        if (random.Next(20) == 0)
            headers.Add(("X-Slack-Retry-Num", "1"));
        return new FuzzRequest(route, path, role, key, kind, body, contentType, chunked, headers);
    }

    private string Path(FuzzRoute route)
    {
        var path = new StringBuilder();
        foreach (var segment in route.Pattern.PathSegments)
        {
            path.Append('/');
            foreach (var part in segment.Parts)
            {
                switch (part)
                {
                    case RoutePatternLiteralPart literal:
                        path.Append(literal.Content);
                        break;
                    case RoutePatternSeparatorPart separator:
                        path.Append(separator.Content);
                        break;
                    case RoutePatternParameterPart parameter:
                        path.Append(RouteValue(parameter));
                        break;
                }
            }
        }

        return path.Length == 0 ? "/" : path.ToString();
    }

    private string RouteValue(RoutePatternParameterPart parameter)
    {
        var pick = random.Next(100);
        if (parameter.Name == "action" && pick < 40)
            return Pick(["retry", "skip", "fail", "Retry", "0", "approve"]);
        if (parameter.ParameterPolicies.Any(p => p.Content == "int") && pick < 50)
            return Pick(["1", "2", "0", "-1", "2147483647", "2147483648", "99999999999999999999"]);
        if (parameter.IsCatchAll && pick < 30)
            return string.Join('/', Enumerable.Range(0, random.Next(1, 4)).Select(_ => Uri.EscapeDataString(Pick(Words))));
        if (pick < 55 && pools.Ids.Count > 0)
            return Escape(Pick(pools.Ids));
        if (pick < 65 && pools.ApprovalIds.Count > 0)
            return Escape(Pick(pools.ApprovalIds));
        if (pick < 75)
            return Pick(RawSegments);
        return Escape(Pick(Malformed).Replace('\0', '\u0001'));
    }

    private string QueryString(FuzzRoute route)
    {
        var parts = new List<string>();
        foreach (var (name, type) in route.Query)
        {
            if (random.Next(3) == 0)
                continue;
            var repeat = type == typeof(string[]) ? (random.Next(30) == 0 ? 300 : random.Next(1, 4)) : (random.Next(40) == 0 ? 2 : 1);
            for (var i = 0; i < repeat; i++)
                parts.Add(Escape(name) + "=" + Escape(QueryValue(type)));
        }

        if (random.Next(10) == 0)
            parts.Add(Escape(Pick(Words)) + "=" + Escape(Pick(Malformed)));
        if (random.Next(50) == 0)
            parts.Add(Escape(new string('k', 200)) + "=1");
        return parts.Count == 0 ? string.Empty : "?" + string.Join('&', parts);
    }

    private string QueryValue(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(int) || type == typeof(long))
            return Pick(["0", "1", "-1", "50", "2147483647", "-2147483648", "2147483648", "abc", "1e30", "1.5", string.Empty, "00001", " 5"]);
        if (type == typeof(bool))
            return Pick(["true", "false", "True", "yes", "1", string.Empty]);
        return random.Next(3) switch
        {
            0 => Pick(Words2),
            1 when pools.Ids.Count > 0 => Pick(pools.Ids),
            _ => Pick(Malformed),
        };
    }

    private (string Kind, byte[]? Body, string? ContentType) JsonBody(Type type)
    {
        var pick = random.Next(100);
        const string Json = "application/json";
        return pick switch
        {
            < 25 => ("shaped", Utf8(Text(Shaped(type, 0))), Json),
            < 35 => ("duplicate-keys", Utf8(Duplicate(Shaped(type, 0))), Json),
            < 45 => ("wrong-kind", Utf8(Pick(["\"text\"", "42", "[1,2]", "true", "null", "[]", "-0", "1e400"])), Json),
            < 52 => ("empty", Utf8(Pick([string.Empty, " ", "\n", "{}"])), Pick([Json, null, "application/json; charset=utf-8"])),
            < 60 => ("invalid-json", Utf8(Pick(["{", "{\"a\":}", "{\"a\":1,}", "{'a':1}", "{\"a\":1} x", "{/*c*/}", "{\"a\":01}", "{\"a\":NaN}", "\"unterminated"])), Json),
            < 67 => ("deep", Utf8(Deep(Pick([65, 100, 10_000]))), Json),
            < 77 => Unicode(Shaped(type, 0)),
            < 82 => ("numbers", Utf8(Numbers(type)), Json),
            < 88 => ("wrong-content-type", Utf8(Text(Shaped(type, 0))), Pick(["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data", "application/merge-patch+json", "*/*"])),
            < 93 => ("many", Utf8(Many(type)), Json),
            _ => ("random-object", Utf8(Text(RandomNode(0, asObject: true))), Json),
        };
    }

    private (string Kind, byte[]? Body, string? ContentType) OtherBody()
    {
        var pick = random.Next(100);
        return pick switch
        {
            < 20 => ("form", Utf8(Form()), "application/x-www-form-urlencoded"),
            < 35 => ("form-payload", Utf8("payload=" + Uri.EscapeDataString(SlackPayload())), "application/x-www-form-urlencoded"),
            < 50 => ("github-event", Utf8(GitHubPayload()), "application/json"),
            < 60 => ("multipart", Utf8(Multipart(out var boundary)), "multipart/form-data; boundary=" + boundary),
            < 66 => ("multipart-broken", Utf8("--x\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.json\"\r\n\r\n{\"a\":1"), Pick(["multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=x"])),
            < 72 => ("form-many", Utf8(string.Join('&', Enumerable.Range(0, 300).Select(i => "k" + i + "=v"))), "application/x-www-form-urlencoded"),
            < 78 => ("form-long-value", Utf8("apiKey=" + new string('k', random.Next(2) == 0 ? 20_000 : 2_000)), "application/x-www-form-urlencoded"),
            < 86 => ("json", Utf8(Pick([Text(RandomNode(0, asObject: true)), "{\"a\":1,\"a\":2}", "[]", "\"x\"", Deep(10_000)])), "application/json"),
            < 92 => ("empty", [], Pick<string?>(["application/json", "application/x-www-form-urlencoded", null])),
            _ => ("binary", Binary(), Pick(["application/octet-stream", "application/json", "application/x-www-form-urlencoded"])),
        };
    }

    /// <summary>A body shaped like the type (its JSON names), with values valid or not.</summary>
    private JsonNode? Shaped(Type type, int depth)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (random.Next(100) < 12)
            return WrongKind();
        if (type == typeof(string))
            return Value(StringValue());
        if (type == typeof(int) || type == typeof(long))
            return JsonNode.Parse(Pick(["0", "1", "-1", "50", "1000", "2147483647", "2147483648", "-9999999999", "1.5", "1e30"]));
        if (type == typeof(bool))
            return JsonValue.Create(random.Next(2) == 0);
        if (type.IsEnum)
            return Value(random.Next(4) == 0 ? Pick(Words2) : Pick(Enum.GetNames(type)));
        if (type == typeof(JsonObject) || type == typeof(JsonNode) || (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>)))
            return RandomNode(depth, asObject: type != typeof(JsonNode) || random.Next(2) == 0);
        if (type == typeof(JsonArray))
            return new JsonArray([.. Enumerable.Range(0, random.Next(4)).Select(_ => RandomNode(depth + 1, asObject: false))]);
        if (type.IsArray || (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>)))
        {
            var element = type.IsArray ? type.GetElementType()! : type.GetGenericArguments()[0];
            return new JsonArray([.. Enumerable.Range(0, random.Next(5)).Select(_ => depth > 4 ? null : Shaped(element, depth + 1))]);
        }

        var obj = new JsonObject();
        if (depth > 4)
            return obj;
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanRead && p.GetIndexParameters().Length == 0))
        {
            if (random.Next(10) < 3)
                continue;
            var name = property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.CamelCase.ConvertName(property.Name);
            obj[name] = Shaped(property.PropertyType, depth + 1);
        }

        if (random.Next(5) == 0)
            obj[Pick(Words)] = RandomNode(depth + 1, asObject: false);
        return obj;
    }

    private JsonNode? WrongKind() => random.Next(6) switch
    {
        0 => Value("text"),
        1 => JsonValue.Create(random.Next(-5, 5)),
        2 => new JsonArray(1, "a"),
        3 => new JsonObject { ["x"] = 1 },
        4 => JsonValue.Create(true),
        _ => null,
    };

    private string StringValue() => random.Next(5) switch
    {
        0 when pools.Ids.Count > 0 => Pick(pools.Ids),
        1 when pools.ApprovalIds.Count > 0 => Pick(pools.ApprovalIds),
        2 => Pick(Words2),
        _ => Pick(Malformed) is var m && m.Contains('\ud800') ? "x" : m,
    };

    /// <summary>Random JSON of the vocabulary's keys (objects, arrays, strings, numbers), at most 4 deep.</summary>
    private JsonNode? RandomNode(int depth, bool asObject)
    {
        if (asObject || (depth < 4 && random.Next(3) == 0))
        {
            var obj = new JsonObject();
            foreach (var _ in Enumerable.Range(0, depth >= 4 ? 0 : random.Next(1, 5)))
                obj[Pick(Words)] = RandomNode(depth + 1, asObject: false);
            return obj;
        }

        return random.Next(6) switch
        {
            0 when depth < 4 => new JsonArray([.. Enumerable.Range(0, random.Next(4)).Select(_ => RandomNode(depth + 1, asObject: false))]),
            1 => JsonValue.Create(random.Next()),
            2 => JsonValue.Create(random.Next(2) == 0),
            3 => null,
            _ => Value(StringValue()),
        };
    }

    /// <summary>The object's JSON with one of its keys (or a nested one) given again.</summary>
    private string Duplicate(JsonNode? node)
    {
        if (node is not JsonObject obj || obj.Count == 0)
            return "{\"a\":1,\"a\":2}";
        var keys = obj.Select(p => p.Key).ToList();
        var key = Pick(keys);
        var text = obj.ToJsonString();
        var again = JsonSerializer.Serialize(key) + ":" + (WrongKind()?.ToJsonString() ?? "null") + ",";
        return random.Next(3) == 0
            ? "{" + JsonSerializer.Serialize(key) + ":{\"x\":1,\"x\":2}," + text[1..]
            : "{" + again + text[1..];
    }

    private (string Kind, byte[]? Body, string? ContentType) Unicode(JsonNode? shaped)
    {
        var json = shaped?.ToJsonString() ?? "{}";
        var key = json.StartsWith("{\"", StringComparison.Ordinal) ? json[2..json.IndexOf('"', 2)] : "x";
        var rest = json.Length > 2 && json.StartsWith("{\"", StringComparison.Ordinal) ? "," + json[1..] : "}";
        var pick = random.Next(6);
        if (pick == 0)
            return ("invalid-utf8", [.. Utf8("{\"" + key + "\":\""), 0xC3, 0x28, 0xFF, .. Utf8("\"" + rest)], "application/json");
        if (pick == 1)
            return ("bom", [0xEF, 0xBB, 0xBF, .. Utf8(json)], "application/json");
        var value = Pick(["\\ud800", "\\udfff\\ud800", "a\\u0000b", "\\u202Eevil", "😀\\uFE0F", "\\u0085\\u2028\\u2029", "ﷺ𝔘", "\\\"}\"}", "\\uDBFF\\uDFFF"]);
        return ("unicode", Utf8("{\"" + key + "\":\"" + value + "\"" + rest), "application/json");
    }

    private string Numbers(Type type)
    {
        var name = type.GetProperties().FirstOrDefault() is { } p ? JsonNamingPolicy.CamelCase.ConvertName(p.Name) : "page";
        return "{\"" + name + "\":" + Pick(["1e400", "-1e400", "99999999999999999999999", "-0", "1.0", "1E-400", "0.0000000001", "-2147483649", "9223372036854775808"]) + "}";
    }

    private string Many(Type type)
    {
        var arrayProperty = type.GetProperties().FirstOrDefault(p => p.PropertyType.IsArray);
        var name = arrayProperty is null ? Pick(Words) : JsonNamingPolicy.CamelCase.ConvertName(arrayProperty.Name);
        return random.Next(2) == 0
            ? "{\"" + name + "\":[" + string.Join(',', Enumerable.Range(0, 2000).Select(i => "\"id-" + i + "\"")) + "]}"
            : "{" + string.Join(',', Enumerable.Range(0, 3000).Select(i => "\"k" + i + "\":" + i)) + "}";
    }

    private static string Deep(int depth) =>
        string.Concat(Enumerable.Repeat("{\"a\":[", depth)) + "1" + string.Concat(Enumerable.Repeat("]}", depth));

    private string Form() => string.Join('&', Enumerable.Range(0, random.Next(1, 6)).Select(_ => Uri.EscapeDataString(Pick(Words)) + "=" + Escape(StringValue())));

    private string SlackPayload()
    {
        if (random.Next(3) == 0)
            return RandomNode(0, asObject: true)!.ToJsonString();
        var approval = pools.ApprovalIds.Count > 0 ? Pick(pools.ApprovalIds) : "x";
        var payload = new JsonObject
        {
            ["type"] = random.Next(5) == 0 ? "view_submission" : "block_actions",
            ["user"] = random.Next(6) == 0 ? JsonValue.Create("U0ALICE001") : new JsonObject { ["id"] = Pick(["U0ALICE001", "U0EVE00001", string.Empty]), ["username"] = "alice" },
            ["trigger_id"] = "t-" + random.Next(),
            ["channel"] = new JsonObject { ["id"] = Pick([ApprovalServerFactory.Channel, "C0ELSEWHERE"]) },
            ["container"] = new JsonObject { ["channel_id"] = ApprovalServerFactory.Channel, ["message_ts"] = Pick([ApprovalServerFactory.MessageTs, "1.1"]) },
            ["actions"] = new JsonArray(new JsonObject { ["action_id"] = Pick(["drw.approve.1", "drw.approve.0", "drw.reject", "other"]), ["value"] = Pick([$"{approval}|1", approval, "|", string.Empty]) }),
        };
        if (random.Next(4) == 0)
            payload[Pick(["user", "actions", "container", "channel"])] = WrongKind();
        return payload.ToJsonString();
    }

    private string GitHubPayload()
    {
        if (random.Next(4) == 0)
            return RandomNode(0, asObject: true)!.ToJsonString();
        var approval = pools.ApprovalIds.Count > 0 ? Pick(pools.ApprovalIds) : "x";
        var payload = new JsonObject
        {
            ["action"] = Pick(["created", "created", "edited", "deleted"]),
            ["issue"] = new JsonObject { ["number"] = JsonNode.Parse(Pick(["7", "7", "8", "\"7\"", "7.5", "1e30", "-1", "0"])) },
            ["repository"] = new JsonObject { ["full_name"] = Pick(["acme/platform", "acme/platform", "other/repo", "not a repo", string.Empty]) },
            ["comment"] = new JsonObject
            {
                ["id"] = random.Next(),
                ["body"] = Pick(["/approve 1", "/reject no", $"/approve id={approval} 2", "/approve", "hello", "/approve " + Pick(Malformed), "/reject " + new string('r', 5000)]),
                ["user"] = new JsonObject { ["login"] = Pick(["carol", "mallory", "carol", "bad login!"]), ["type"] = Pick(["User", "Bot"]) },
            },
        };
        if (random.Next(4) == 0)
            payload[Pick(["issue", "comment", "repository"])] = WrongKind();
        return payload.ToJsonString();
    }

    private string Multipart(out string boundary)
    {
        boundary = "b" + random.Next();
        var file = random.Next(2) == 0 ? RandomNode(0, asObject: true)!.ToJsonString() : Pick(["{\"definitionId\":\"x\",\"definitionId\":\"y\"}", "not json", "{}", "[1]"]);
        return $"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{Pick(["a.json", "../../x.json", "\u202E.json"])}\"\r\nContent-Type: application/json\r\n\r\n{file}\r\n--{boundary}--\r\n";
    }

    private byte[] Binary()
    {
        var bytes = new byte[random.Next(1, 512)];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>Slack's and GitHub's signature headers over the exact body, sometimes, sometimes wrong.</summary>
    private void Sign(byte[] body, List<(string, string)> headers)
    {
        if (random.Next(3) == 0)
        {
            var timestamp = (pools.Now - (random.Next(8) == 0 ? TimeSpan.FromMinutes(10) : TimeSpan.Zero)).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            if (random.Next(10) == 0)
                timestamp = Pick(["99999999999999999999", "-1", "abc", "9223372036854775807"]);
            headers.Add(("X-Slack-Request-Timestamp", timestamp));
            headers.Add(("X-Slack-Signature", random.Next(8) == 0 ? "v0=00" : SlackSignature.Compute(ApprovalServerFactory.SigningSecret, timestamp, body)));
        }

        if (random.Next(3) == 0)
        {
            headers.Add(("X-GitHub-Event", Pick(["issue_comment", "issue_comment", "ping", "push", string.Empty])));
            headers.Add(("X-GitHub-Delivery", Guid.NewGuid().ToString()));
            headers.Add(("X-Hub-Signature-256", random.Next(8) == 0 ? "sha256=00" : GitHubSignature.Compute(ApprovalServerFactory.WebhookSecret, body)));
        }
    }

    private static string Escape(string text)
    {
        try
        {
            return Uri.EscapeDataString(text);
        }
        catch (UriFormatException)
        {
            return "%ED%A0%80"; // a lone surrogate, as UTF-8 bytes
        }
    }

    private static JsonNode? Value(string text) => text.Contains('\ud800') ? JsonValue.Create("x") : JsonValue.Create(text);

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(JsonNode? node) => node?.ToJsonString() ?? "null";

    private T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];
}
