using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Runtime;

namespace DrWorkflows.Core.Activities.Composition;

/// <summary>
/// A published workflow marked "usable as activity", appearing as an activity type of its own. Its inputs
/// are the workflow's declared inputs and its outputs the workflow's declared outputs (each can be bound to a
/// variable); running it runs the workflow as a child and waits for it. The child's version is chosen as Elsa
/// chooses it (<see cref="WorkflowDefinitionService.FindVersionForActivityAsync"/>): the version id the activity
/// names, else its version number, else the published version, else the latest.
/// </summary>
[Activity("Elsa", "Workflows", "Runs a published workflow as an activity.", SafeToRerun = true, IsBlocking = true, Browsable = false)]
public sealed class WorkflowDefinitionActivity : Activity, IMaterializationAware, IDynamicInputs, IDynamicOutputs
{
    public string WorkflowDefinitionId { get; set; } = string.Empty;

    /// <summary>Elsa's <c>workflowDefinitionVersionId</c>: the child version the parent was designed against.</summary>
    public string? WorkflowDefinitionVersionId { get; set; }

    /// <summary>The child's version number when the activity's JSON names one (<c>version</c>); null when it does not.</summary>
    public int? WorkflowDefinitionVersion { get; set; }

    /// <summary>Inputs by the workflow's input names (as declared, not the <c>_Name</c> form of a reserved name).</summary>
    public Dictionary<string, Input> Inputs { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The workflow's declared outputs, by their activity output names (<c>Output1</c>, or <c>_Name</c>).</summary>
    public Dictionary<string, Output<JsonNode?>> DeclaredOutputs { get; } = new(StringComparer.Ordinal);

    [Output(Description = "The workflow's output.")]
    public Output<JsonObject?> Result { get; set; } = new();

    [Output(Description = "The child's instance id.")]
    public Output<string> ChildInstanceId { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var input = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var (name, value) in Inputs)
            input[name] = ValueConverter.ToJsonNode(context.Get(value));
        var definitions = context.GetRequiredService<WorkflowDefinitionService>();
        var choice = await definitions.FindVersionForActivityAsync(WorkflowDefinitionId, WorkflowDefinitionVersionId, WorkflowDefinitionVersion, context.CancellationToken)
            ?? throw new ActivityFailureException(
                $"Activity '{Id}' ({Type}) runs the workflow '{WorkflowDefinitionId}' ({Asked()}), which has no version to run: it was deleted. "
                + "Publish it again, or change this activity (docs/elsa-compatibility.md, Workflow used as an activity: version).");
        // Kept on the wait's bookmark, so the journal's Suspended entry says which version runs and why.
        var chosen = new JsonObject
        {
            ["childDefinitionVersionId"] = choice.Definition.Id,
            ["childVersion"] = choice.Definition.Version,
            ["childVersionChosenBy"] = choice.Reason,
        };
        await ChildRuns.StartAsync(context, WorkflowDefinitionId, input, null, wait: true, ChildInstanceId, inheritIncidentStrategy: true, choice.Definition.Id, chosen);
    }

    private string Asked() => (WorkflowDefinitionVersionId, WorkflowDefinitionVersion) switch
    {
        ({ } id, { } version) => $"version {version}, version id '{id}'",
        ({ } id, null) => $"version id '{id}'",
        (null, { } version) => $"version {version}",
        _ => "its published version",
    };

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
        WorkflowDefinitionVersionId = json["workflowDefinitionVersionId"] is JsonValue versionId && versionId.TryGetValue<string>(out var text) && text.Length > 0 ? text : null;
        WorkflowDefinitionVersion = json["version"] is JsonValue version && version.TryGetValue<int>(out var number) ? number : null;
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
