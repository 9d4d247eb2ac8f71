using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Model;

namespace DrWorkflows.Core.Activities.Composition;

/// <summary>
/// A published workflow marked "usable as activity", appearing as an activity type of its own. Its inputs
/// are the workflow's declared inputs; running it runs the workflow as a child and waits for it.
/// </summary>
[Activity("Elsa", "Workflows", "Runs a published workflow as an activity.", SafeToRerun = true, IsBlocking = true, Browsable = false)]
public sealed class WorkflowDefinitionActivity : Activity, IMaterializationAware, IDynamicInputs
{
    public string WorkflowDefinitionId { get; set; } = string.Empty;

    /// <summary>Inputs by the workflow's input names.</summary>
    public Dictionary<string, Input> Inputs { get; } = new(StringComparer.OrdinalIgnoreCase);

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
        ChildRuns.CompleteAsync(context, resumption, output => context.Set(Result, output), withChildOutcomes: true);

    public void OnMaterialized(JsonObject json, ActivityDescriptor descriptor)
    {
        if (descriptor.Properties.TryGetValue("workflowDefinitionId", out var id) && id is string definitionId)
            WorkflowDefinitionId = definitionId;
        foreach (var input in descriptor.Inputs.Where(i => i.Property is null))
        {
            var expression = json[input.JsonName] is JsonObject wrapped ? Expressions.ExpressionJson.Read(wrapped["expression"]) : json[input.JsonName] is JsonValue raw ? Expressions.Expression.Literal(raw) : null;
            if (expression is not null)
                Inputs[input.Name] = (Input)Activator.CreateInstance(typeof(Input<>).MakeGenericType(input.ValueType), expression, null)!;
        }
    }

    public string? GetInputName(Input input) => Inputs.FirstOrDefault(p => ReferenceEquals(p.Value, input)).Key;
}
