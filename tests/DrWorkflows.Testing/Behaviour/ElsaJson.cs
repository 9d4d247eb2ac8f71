using System.Text.Json;

namespace DrWorkflows.Testing.Behaviour;

/// <summary>
/// Small helpers to write Elsa 3 workflow-definition JSON by hand in tests. They only spare the quoting: every
/// helper returns the JSON text exactly as Elsa Studio 3 writes it (wrapped inputs
/// <c>{typeName, expression:{type, value}}</c>, connections <c>{source:{activity,port}, target:{activity,port}}</c>).
/// </summary>
public static class ElsaJson
{
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A JSON string literal (quoted and escaped).</summary>
    public static string Str(string value) => JsonSerializer.Serialize(value, Relaxed);

    /// <summary>A wrapped input with a Literal expression (Elsa writes literal values as strings).</summary>
    public static string Lit(string value, string typeName = "String") =>
        $$"""{ "typeName": "{{typeName}}", "expression": { "type": "Literal", "value": {{Str(value)}} } }""";

    /// <summary>A wrapped input with a JavaScript expression.</summary>
    public static string Js(string script, string typeName = "Object") =>
        $$"""{ "typeName": "{{typeName}}", "expression": { "type": "JavaScript", "value": {{Str(script)}} } }""";

    /// <summary>A wrapped input with a C# expression.</summary>
    public static string Cs(string code, string typeName = "Object") =>
        $$"""{ "typeName": "{{typeName}}", "expression": { "type": "CSharp", "value": {{Str(code)}} } }""";

    /// <summary>A wrapped input with an Object expression (JSON written as text, as the Studio does).</summary>
    public static string Obj(string json, string typeName = "Object") =>
        $$"""{ "typeName": "{{typeName}}", "expression": { "type": "Object", "value": {{Str(json)}} } }""";

    /// <summary>A wrapped input with a Variable expression naming the variable.</summary>
    public static string Var(string variableName, string typeName = "Object") =>
        $$"""{ "typeName": "{{typeName}}", "expression": { "type": "Variable", "value": {{Str(variableName)}} } }""";

    /// <summary>An output bound to a workflow variable (Elsa's <c>memoryReference</c>).</summary>
    public static string Bind(string variableId, string typeName = "Object") =>
        $$"""{ "typeName": "{{typeName}}", "memoryReference": { "id": "{{variableId}}" } }""";

    /// <summary>Any activity: <paramref name="properties"/> is the rest of the object (inputs, ports), without braces.</summary>
    public static string Activity(string type, string id, string properties = "")
    {
        var rest = string.IsNullOrWhiteSpace(properties) ? string.Empty : ", " + properties;
        return $$"""{ "type": "{{type}}", "version": 1, "id": "{{id}}"{{rest}} }""";
    }

    public static string WriteLine(string id, string text) => Activity("Elsa.WriteLine", id, $"\"text\": {Lit(text)}");

    public static string WriteLineJs(string id, string script) => Activity("Elsa.WriteLine", id, $"\"text\": {Js(script, "String")}");

    public static string Start(string id = "start") => Activity("Elsa.Start", id);

    public static string Delay(string id, string timeSpan) => Activity("Elsa.Delay", id, $"\"timeSpan\": {Lit(timeSpan, "TimeSpan")}");

    public static string SetVariable(string id, string variableId, string variableName, string value) =>
        Activity("Elsa.SetVariable", id, $$"""
            "variable": { "id": "{{variableId}}", "name": "{{variableName}}", "typeName": "Object", "value": null },
            "value": {{value}}
            """);

    /// <summary>A connection from an outcome port of <paramref name="source"/> to <paramref name="target"/>.</summary>
    public static string Connect(string source, string target, string port = "Done") =>
        $$"""{ "source": { "activity": "{{source}}", "port": "{{port}}" }, "target": { "activity": "{{target}}", "port": "In" } }""";

    public static string Flowchart(string id, IEnumerable<string> activities, IEnumerable<string> connections) =>
        $$"""
        { "type": "Elsa.Flowchart", "version": 1, "id": "{{id}}",
          "activities": [ {{string.Join(",\n", activities)}} ],
          "connections": [ {{string.Join(",\n", connections)}} ] }
        """;

    public static string Sequence(string id, params string[] activities) =>
        $$"""{ "type": "Elsa.Sequence", "version": 1, "id": "{{id}}", "activities": [ {{string.Join(",\n", activities)}} ] }""";

    /// <summary>A variable declaration as the Studio writes it (the initial value is a string).</summary>
    public static string Variable(string id, string name, string typeName, string? value) =>
        $$"""{ "id": "{{id}}", "name": "{{name}}", "typeName": "{{typeName}}", "isArray": false, "value": {{(value is null ? "null" : Str(value))}}, "storageDriverTypeName": null }""";

    /// <summary>A workflow input or output declaration.</summary>
    public static string Argument(string name, string type = "String") =>
        $$"""{ "type": "{{type}}", "name": "{{name}}", "displayName": "{{name}}", "description": "", "category": "", "isArray": false }""";

    /// <summary>A whole workflow definition around <paramref name="root"/>.</summary>
    public static string Definition(
        string definitionId,
        string root,
        IEnumerable<string>? variables = null,
        IEnumerable<string>? inputs = null,
        IEnumerable<string>? outputs = null,
        string? name = null,
        string options = """{ "autoUpdateConsumingWorkflows": false }""",
        string outcomes = "[]",
        string customProperties = "{}") =>
        $$"""
        {
          "definitionId": "{{definitionId}}",
          "name": {{Str(name ?? definitionId)}},
          "version": 1,
          "toolVersion": "3.8.0",
          "variables": [ {{string.Join(",\n", variables ?? [])}} ],
          "inputs": [ {{string.Join(",\n", inputs ?? [])}} ],
          "outputs": [ {{string.Join(",\n", outputs ?? [])}} ],
          "outcomes": {{outcomes}},
          "customProperties": {{customProperties}},
          "options": {{options}},
          "root": {{root}}
        }
        """;
}
