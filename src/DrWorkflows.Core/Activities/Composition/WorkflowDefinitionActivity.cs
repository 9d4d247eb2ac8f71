using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Model;

namespace DrWorkflows.Core.Activities.Composition;

/// <summary>
/// A published workflow marked "usable as activity", appearing as an activity type of its own. Its inputs
/// are the workflow's declared inputs and its outputs the workflow's declared outputs (each can be bound to a
/// variable); running it runs the workflow as a child and waits for it.
/// </summary>
[Activity("Elsa", "Workflows", "Runs a published workflow as an activity.", SafeToRerun = true, IsBlocking = true, Browsable = false)]
public sealed class WorkflowDefinitionActivity : Activity, IMaterializationAware, IDynamicInputs, IDynamicOutputs
{
    public string WorkflowDefinitionId { get; set; } = string.Empty;

    /// <summary>Inputs by the workflow's input names (as declared, not the <c>_Name</c> form of a reserved name).</summary>
    public Dictionary<string, Input> Inputs { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The workflow's declared outputs, by their activity output names (<c>Output1</c>, or <c>_Name</c>).</summary>
    public Dictionary<string, Output<JsonNode?>> DeclaredOutputs { get; } = new(StringComparer.Ordinal);

    [Output(Description = "The workflow's output.")]
    public Output<JsonObject?> Result { get; set; } = new();

    [Output(Description = "The child's instance id.")]
    public Output<string> ChildInstanceId { get; set; } = new();

    public override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var input = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var (name, value) in Inputs)
            input[name] = ValueConverter.ToJsonNode(context.Get(value));
        return ChildRuns.StartAsync(context, WorkflowDefinitionId, input, null, wait: true, ChildInstanceId);
    }

    public override ValueTask ResumeAsync(ActivityExecutionContext context, BookmarkResumption resumption) =>
        ChildRuns.CompleteAsync(context, resumption, output =>
        {
            foreach (var (name, declared) in DeclaredOutputs)
            {
                var childName = ElsaNaming.UnsafePropertyName(name);
                context.Set(declared, output?.FirstOrDefault(p => string.Equals(p.Key, childName, StringComparison.OrdinalIgnoreCase)).Value?.DeepClone());
            }

            if (!DeclaredOutputs.ContainsKey(nameof(Result)))
                context.Set(Result, output);
        }, withChildOutcomes: true);

    public void OnMaterialized(JsonObject json, ActivityDescriptor descriptor)
    {
        if (descriptor.Properties.TryGetValue("workflowDefinitionId", out var id) && id is string definitionId)
            WorkflowDefinitionId = definitionId;
        foreach (var input in descriptor.Inputs.Where(i => i.Property is null))
        {
            var expression = json[input.JsonName] is JsonObject wrapped ? Expressions.ExpressionJson.Read(wrapped["expression"]) : json[input.JsonName] is JsonValue raw ? Expressions.Expression.Literal(raw) : null;
            if (expression is not null)
                Inputs[ElsaNaming.UnsafePropertyName(input.Name)] = (Input)Activator.CreateInstance(typeof(Input<>).MakeGenericType(input.ValueType), expression, null)!;
        }

        foreach (var output in descriptor.Outputs.Where(o => o.Property is null))
            DeclaredOutputs[output.Name] = new Output<JsonNode?>(json[output.JsonName]?["memoryReference"]?["id"]?.GetValue<string>());
    }

    public string? GetInputName(Input input) => Inputs.FirstOrDefault(p => ReferenceEquals(p.Value, input)).Key;

    public string? GetOutputName(Output output) => DeclaredOutputs.FirstOrDefault(p => ReferenceEquals(p.Value, output)).Key;
}
