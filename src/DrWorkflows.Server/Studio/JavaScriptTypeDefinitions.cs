using System.Text;
using System.Text.RegularExpressions;
using DrWorkflows.Core;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Flowchart;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Server.Hosting;

namespace DrWorkflows.Server.Studio;

/// <summary>
/// Completions for JavaScript inputs in the Studio: when a designer switches an input to JavaScript, the Studio posts
/// <c>{workflowDefinitionId, activityTypeName, propertyName}</c> to
/// <c>/elsa/api/scripting/javascript/type-definitions/{definitionId}</c> and gives the answer (TypeScript
/// declarations) to Monaco's <c>addExtraLib</c>. The declarations cover the helpers of the JavaScript engine
/// (docs/elsa-compatibility.md), the workflow's variables (as globals, <c>getX()</c>/<c>setX()</c> and
/// <c>variables.X</c>) and inputs (<c>input.X</c>), and the outputs of the activities that run before an activity
/// of that type (<c>getOutputFrom('Inspect', 'Health')</c>).
/// </summary>
public static partial class JavaScriptTypeDefinitions
{
    /// <summary>The Studio's body (Elsa's <c>GetWorkflowJavaScriptDefinitionRequest</c>).</summary>
    public sealed record TypeDefinitionsRequest(string? WorkflowDefinitionId, string? ActivityTypeName, string? PropertyName);

    public static RouteGroupBuilder MapJavaScriptTypeDefinitions(this RouteGroupBuilder elsa)
    {
        elsa.MapPost("/scripting/javascript/type-definitions/{definitionId}", TypeDefinitionsAsync).WithBodyLimit(BodyLimits.Small);
        return elsa;
    }

    private static async Task<IResult> TypeDefinitionsAsync(string definitionId, TypeDefinitionsRequest? body, WorkflowDefinitionService definitions, CancellationToken cancellationToken)
    {
        var stored = await definitions.FindAsync(definitionId, VersionOptions.LatestVersion, cancellationToken);
        WorkflowGraph? graph = null;
        if (stored is not null)
        {
            try
            {
                graph = definitions.GetGraph(stored);
            }
            catch (WorkflowDefinitionException)
            {
                // A draft that does not materialize yet: the helpers alone.
            }
        }

        return Results.Text(Build(graph, definitions.Registry, body?.ActivityTypeName), "text/plain; charset=utf-8");
    }

    /// <summary>The declarations for a workflow (null: helpers only), for an input of an activity of <paramref name="activityTypeName"/>.</summary>
    public static string Build(WorkflowGraph? graph, ActivityRegistry registry, string? activityTypeName)
    {
        var ts = new StringBuilder();
        ts.AppendLine("// DrWorkflows JavaScript: helpers, variables, inputs and earlier outputs of this workflow.");
        var variables = graph?.Variables ?? [];
        var inputs = graph?.Inputs ?? [];
        var variableNames = Union(variables.Select(v => v.Name));
        var inputNames = Union(inputs.Select(i => i.Name));

        ts.AppendLine($"/** Reads a workflow variable (an undeclared name raises an incident). */\ndeclare function getVariable(name: {variableNames}): any;");
        ts.AppendLine($"/** Writes a workflow variable. */\ndeclare function setVariable(name: {variableNames}, value: any): void;");
        ts.AppendLine($"/** Reads an input of the workflow (case-insensitive). */\ndeclare function getInput(name: {inputNames}): any;");
        ts.AppendLine($"declare function getWorkflowInput(name: {inputNames}): any;");
        ts.AppendLine("""
            /** The result of the activity that ran last. */
            declare function getLastResult(): any;
            declare function getWorkflowInstanceId(): string;
            declare function getWorkflowDefinitionId(): string;
            declare function getWorkflowDefinitionVersion(): number;
            declare function getCorrelationId(): string | null;
            declare function setCorrelationId(id: string): void;
            declare function toJson(value: any): string;
            declare function isNullOrEmpty(value: string | null | undefined): boolean;
            declare function isNullOrWhiteSpace(value: string | null | undefined): boolean;
            declare function newGuid(): string;
            declare function newGuidString(): string;
            declare function newShortGuid(): string;
            declare function getShortGuid(): string;
            declare function parseGuid(text: string): string;
            """);

        foreach (var variable in variables.Where(v => Identifier().IsMatch(v.Name)))
        {
            var type = TypeOf(variable.TypeName);
            ts.AppendLine($"/** Variable {variable.Name} ({variable.TypeName}): a snapshot taken when the script starts; write it with set{variable.Name}(). */");
            ts.AppendLine($"declare const {variable.Name}: {type};");
            ts.AppendLine($"declare function get{variable.Name}(): {type};");
            ts.AppendLine($"declare function set{variable.Name}(value: {type}): void;");
        }

        ts.AppendLine("/** The workflow's variables by name (read-only snapshot). */");
        ts.AppendLine("declare const variables: {" + string.Concat(variables.Select(v => $" {Property(v.Name)}: {TypeOf(v.TypeName)};")) + " [name: string]: any };");
        ts.AppendLine("/** The workflow's inputs by name. */");
        ts.AppendLine("declare const input: {" + string.Concat(inputs.Select(i => $" {Property(i.Name)}: {TypeOf(i.TypeName)}{(i.IsArray ? "[]" : string.Empty)};")) + " [name: string]: any };");

        foreach (var activity in graph is null ? [] : Earlier(graph, activityTypeName))
        {
            var descriptor = registry.Find(activity.Type);
            var outputs = descriptor?.Outputs ?? [];
            if (outputs.Count == 0)
                continue;
            var label = activity.Name ?? activity.Id;
            ts.AppendLine($"/** Output of {label} ({descriptor!.DisplayName}): {string.Join(", ", outputs.Select(o => o.Name))}. */");
            ts.AppendLine($"declare function getOutputFrom(activityIdOrName: {Literal(label)}, outputName?: {string.Join(" | ", outputs.Select(o => Literal(o.Name)))}): any;");
        }

        ts.AppendLine("/** An output of an activity that ran before this one (\"Result\" when no output is named). */");
        ts.AppendLine("declare function getOutputFrom(activityIdOrName: string, outputName?: string): any;");
        return ts.ToString();
    }

    /// <summary>
    /// Activities that run before an activity of the given type: in each flowchart, those with a path to one of its
    /// activities of that type. When the workflow has none (the activity is not saved yet), all its activities.
    /// </summary>
    private static IEnumerable<Activity> Earlier(WorkflowGraph graph, string? activityTypeName)
    {
        var all = WorkflowGraph.Walk(graph.Root).Where(a => a is not Flowchart).ToList();
        var targets = all.Where(a => a.Type == activityTypeName).ToList();
        if (targets.Count == 0)
            return all;
        var earlier = new HashSet<Activity>();
        foreach (var flowchart in WorkflowGraph.Walk(graph.Root).OfType<Flowchart>())
        {
            var byId = flowchart.Activities.ToDictionary(a => a.Id, StringComparer.Ordinal);
            var inbound = flowchart.Connections.ToLookup(c => c.Target.Activity, c => c.Source.Activity, StringComparer.Ordinal);
            var queue = new Queue<string>(flowchart.Activities.Where(a => a.Type == activityTypeName).Select(a => a.Id));
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (queue.TryDequeue(out var id))
            {
                foreach (var source in inbound[id])
                {
                    if (seen.Add(source) && byId.TryGetValue(source, out var activity))
                    {
                        earlier.Add(activity);
                        queue.Enqueue(source);
                    }
                }
            }
        }

        return all.Where(earlier.Contains);
    }

    private static string Union(IEnumerable<string> names)
    {
        var literals = names.Distinct(StringComparer.Ordinal).Select(Literal).ToList();
        return literals.Count == 0 ? "string" : string.Join(" | ", literals) + " | string";
    }

    private static string TypeOf(string? typeName) => typeName switch
    {
        "String" or "Guid" or "DateTime" or "DateTimeOffset" or "TimeSpan" => "string",
        "Boolean" => "boolean",
        "Int32" or "Int64" or "Double" or "Single" or "Decimal" => "number",
        "String[]" => "string[]",
        _ => "any",
    };

    private static string Property(string name) => Identifier().IsMatch(name) ? name : Literal(name);

    private static string Literal(string text) => System.Text.Json.JsonSerializer.Serialize(text);

    [GeneratedRegex("^[A-Za-z_$][A-Za-z0-9_$]*$")]
    private static partial Regex Identifier();
}
