using System.Globalization;
using System.Text.Json.Nodes;
using Jint;
using Jint.Native;
using Jint.Runtime;

namespace DrWorkflows.Core.Expressions;

/// <summary>
/// JavaScript expressions (Jint), with Elsa 3's helper functions: <c>getVariable</c>, <c>setVariable</c>,
/// <c>getInput</c>, <c>getOutputFrom</c>, <c>getLastResult</c>, <c>getWorkflowInstanceId</c>,
/// <c>getCorrelationId</c>, <c>setCorrelationId</c>, <c>toJson</c>, <c>isNullOrEmpty</c>, <c>newGuidString</c>...
/// Variables are also readable by name (<c>MyVar</c>, <c>variables.MyVar</c>, <c>getMyVar()</c>) and
/// writable with <c>setMyVar(value)</c>. Scripts run with a time and memory limit.
/// </summary>
public sealed class JavaScriptHandler : IExpressionHandler
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public string Type => ExpressionTypes.JavaScript;

    public object? Evaluate(Expression expression, Type targetType, ExpressionScope scope)
    {
        var script = expression.ValueText ?? string.Empty;
        if (string.IsNullOrWhiteSpace(script))
            return null;
        var engine = CreateEngine(scope, script);
        try
        {
            var result = engine.Evaluate(script);
            return ToNode(engine, result);
        }
        catch (JavaScriptException e)
        {
            throw new ActivityFailureException($"JavaScript error in activity '{scope.Context.Activity.Id}' at line {e.Location.Start.Line}: {e.Message}", retryable: false, e);
        }
        catch (Exception e) when (e is TimeoutException or StatementsCountOverflowException or MemoryLimitExceededException or RecursionDepthOverflowException)
        {
            throw new ActivityFailureException($"JavaScript in activity '{scope.Context.Activity.Id}' was stopped: {e.Message}", retryable: false, e);
        }
    }

    private static Engine CreateEngine(ExpressionScope scope, string script)
    {
        var engine = new Engine(options => options
            .TimeoutInterval(Timeout)
            .LimitMemory(64 * 1024 * 1024)
            .LimitRecursion(256)
            .CancellationToken(scope.Context.CancellationToken)
            .Culture(CultureInfo.InvariantCulture)
            .Strict(false));

        engine.SetValue("getVariable", new Func<string, JsValue>(name => FromNode(engine, scope.GetVariable(name))));
        engine.SetValue("setVariable", new Action<string, JsValue>((name, value) => scope.SetVariable(name, ToNode(engine, value))));
        engine.SetValue("getInput", new Func<string, JsValue>(name => FromNode(engine, scope.GetInput(name))));
        engine.SetValue("getWorkflowInput", new Func<string, JsValue>(name => FromNode(engine, scope.GetInput(name))));
        engine.SetValue("getOutputFrom", new Func<string, string?, JsValue>((activity, output) => FromNode(engine, scope.GetOutputFrom(activity, output))));
        engine.SetValue("getLastResult", new Func<JsValue>(() => FromNode(engine, scope.LastResult)));
        engine.SetValue("getWorkflowInstanceId", new Func<string>(() => scope.WorkflowInstanceId));
        engine.SetValue("getWorkflowDefinitionId", new Func<string>(() => scope.WorkflowDefinitionId));
        engine.SetValue("getWorkflowDefinitionVersion", new Func<int>(() => scope.WorkflowDefinitionVersion));
        engine.SetValue("getCorrelationId", new Func<string?>(() => scope.CorrelationId));
        engine.SetValue("setCorrelationId", new Action<string?>(value => scope.CorrelationId = value));
        engine.SetValue("toJson", new Func<JsValue, string>(value => ToNode(engine, value)?.ToJsonString(Serialization.Json.Options) ?? "null"));
        engine.SetValue("isNullOrEmpty", new Func<JsValue, bool>(value => value.IsNull() || value.IsUndefined() || (value.IsString() && value.AsString().Length == 0)));
        engine.SetValue("isNullOrWhiteSpace", new Func<JsValue, bool>(value => value.IsNull() || value.IsUndefined() || (value.IsString() && string.IsNullOrWhiteSpace(value.AsString()))));
        engine.SetValue("newGuid", new Func<string>(() => Guid.NewGuid().ToString()));
        engine.SetValue("newGuidString", new Func<string>(() => Guid.NewGuid().ToString()));
        engine.SetValue("newShortGuid", new Func<string>(() => Convert.ToBase64String(Guid.NewGuid().ToByteArray()).TrimEnd('=').Replace('/', '_').Replace('+', '-')));
        engine.SetValue("parseGuid", new Func<string, string>(value => Guid.Parse(value).ToString()));
        engine.SetValue("getShortGuid", new Func<string>(() => Guid.NewGuid().ToString("N")[..8]));
        if (scope.Outcomes is { } outcomes)
        {
            engine.SetValue("setOutcome", new Action<string>(outcome =>
            {
                outcomes.Clear();
                outcomes.Add(outcome);
            }));
            engine.SetValue("setOutcomes", new Action<string[]>(chosen =>
            {
                outcomes.Clear();
                foreach (var outcome in chosen)
                    outcomes.Add(outcome);
            }));
        }

        var variables = new JsObject(engine);
        var input = new JsObject(engine);
        foreach (var name in scope.VariableNames)
        {
            var captured = name;
            var value = FromNode(engine, scope.GetVariable(name));
            variables.Set(name, value);
            if (IsIdentifier(name))
            {
                engine.SetValue(name, value);
                engine.SetValue("get" + name, new Func<JsValue>(() => FromNode(engine, scope.GetVariable(captured))));
                engine.SetValue("set" + name, new Action<JsValue>(v => scope.SetVariable(captured, ToNode(engine, v))));
            }
        }

        foreach (var (name, value) in scope.Input)
            input.Set(name, FromNode(engine, value));
        engine.SetValue("variables", variables);
        engine.SetValue("input", input);
        AddElsaAccessors(engine, scope, script);
        return engine;
    }

    /// <summary>
    /// The accessors Elsa generates, named exactly as Elsa names them, in Elsa's order (a later one of the same
    /// name wins): <c>get{Variable}</c>/<c>set{Variable}</c> with the variable's name pascalized
    /// (<c>message</c> → <c>getMessage()</c>); <c>get{Input}</c> for each declared workflow input, named as
    /// declared (and pascalized, which is how Elsa names them inside a workflow used as an activity); and
    /// <c>get{Output}From{Activity}</c> for each activity output, by the activity's name (and its id).
    /// As in Elsa, only accessors the script names are created, unless it can reach globals without naming them.
    /// </summary>
    private static void AddElsaAccessors(Engine engine, ExpressionScope scope, string script)
    {
        var dynamicCode = script.Contains("eval", StringComparison.Ordinal) || script.Contains("Function", StringComparison.Ordinal) || script.Contains("globalThis", StringComparison.Ordinal);
        bool Named(string accessor) => dynamicCode || script.Contains(accessor, StringComparison.Ordinal);

        foreach (var name in scope.VariableNames.Where(IsElsaVariableName))
        {
            var captured = name;
            var pascal = Model.ElsaNaming.Pascalize(name);
            if (Named("get" + pascal))
                engine.SetValue("get" + pascal, new Func<JsValue>(() => FromNode(engine, scope.GetVariable(captured))));
            if (Named("set" + pascal))
                engine.SetValue("set" + pascal, new Action<JsValue>(v => scope.SetVariable(captured, ToNode(engine, v))));
        }

        foreach (var declared in scope.DeclaredInputs.Where(IsElsaVariableName))
        {
            var captured = declared;
            foreach (var accessor in new[] { "get" + Model.ElsaNaming.Pascalize(declared), "get" + declared }.Distinct(StringComparer.Ordinal).Where(Named))
                engine.SetValue(accessor, new Func<JsValue>(() => FromNode(engine, scope.GetInput(captured))));
        }

        if (!dynamicCode && !script.Contains("From", StringComparison.Ordinal))
            return;
        foreach (var (activity, outputs) in scope.ActivitiesWithOutputs)
        {
            var names = new[] { activity.Id, activity.Name }.Where(n => !string.IsNullOrWhiteSpace(n)).Select(n => Model.ElsaNaming.Pascalize(n!)).Distinct(StringComparer.Ordinal);
            foreach (var activityName in names)
            {
                foreach (var output in outputs.Where(IsElsaVariableName))
                {
                    var accessor = $"get{Model.ElsaNaming.Pascalize(output)}From{activityName}";
                    var activityId = activity.Id;
                    var outputName = output;
                    if (IsIdentifier(accessor) && Named(accessor))
                        engine.SetValue(accessor, new Func<JsValue>(() => FromNode(engine, scope.GetOutputFrom(activityId, outputName))));
                }
            }
        }
    }

    /// <summary>Elsa's rule for names that get accessors: letters and digits only.</summary>
    private static bool IsElsaVariableName(string name) => !string.IsNullOrWhiteSpace(name) && name.All(char.IsLetterOrDigit);

    private static bool IsIdentifier(string name) =>
        name.Length > 0 && (char.IsLetter(name[0]) || name[0] == '_') && name.All(c => char.IsLetterOrDigit(c) || c == '_');

    private static JsValue FromNode(Engine engine, JsonNode? node) => node switch
    {
        null => JsValue.Null,
        JsonValue value when value.TryGetValue<string>(out var text) => new JsString(text),
        _ => new Jint.Native.Json.JsonParser(engine).Parse(node.ToJsonString()),
    };

    private static JsonNode? ToNode(Engine engine, JsValue value)
    {
        if (value.IsUndefined() || value.IsNull())
            return null;
        if (value.IsString())
            return JsonValue.Create(value.AsString());
        if (value.IsBoolean())
            return JsonValue.Create(value.AsBoolean());
        if (value.IsNumber())
        {
            var number = value.AsNumber();
            return number == Math.Floor(number) && Math.Abs(number) < 9e15 ? JsonValue.Create((long)number) : JsonValue.Create(number);
        }

        if (value.IsDate())
            return JsonValue.Create(value.AsDate().ToDateTime().ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        var json = new Jint.Native.Json.JsonSerializer(engine).Serialize(value);
        return json.IsUndefined() ? null : JsonNode.Parse(json.AsString());
    }
}
