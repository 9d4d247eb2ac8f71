using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Model;

namespace DrWorkflows.Core.Activities.Http;

/// <summary>A route a published workflow serves: its <c>Elsa.HttpEndpoint</c> trigger and what it accepts.</summary>
public sealed record HttpTrigger(string DefinitionId, string DefinitionVersionId, string NodeId, string ActivityId, HttpRouteTemplate Route, HttpEndpointBookmark Settings);

/// <summary>
/// The HTTP triggers of a workflow, as Elsa indexes them: each <c>Elsa.HttpEndpoint</c> with "Trigger workflow"
/// (<c>customProperties.canStartWorkflow</c>) in the root flowchart. A trigger's inputs are read without a run, so
/// they must be literals; <see cref="Of"/> refuses anything else with a <see cref="WorkflowDefinitionException"/>.
/// </summary>
public static class HttpTriggers
{
    public static IReadOnlyList<HttpTrigger> Of(WorkflowGraph graph)
    {
        var candidates = graph.Root is Flowchart.Flowchart flowchart ? flowchart.Activities : graph.Root is HttpEndpoint ? [graph.Root] : [];
        var triggers = new List<HttpTrigger>();
        foreach (var endpoint in candidates.OfType<HttpEndpoint>().Where(CanStartWorkflow))
        {
            HttpRouteTemplate route;
            try
            {
                route = HttpRouteTemplate.Parse(Literal(endpoint, endpoint.Path, nameof(HttpEndpoint.Path)));
            }
            catch (FormatException e)
            {
                throw Refusal(endpoint, $"its Path is not valid: {e.Message}");
            }

            var policy = Literal(endpoint, endpoint.Policy, nameof(HttpEndpoint.Policy));
            if (!string.IsNullOrWhiteSpace(policy) && !HttpEndpoint.Policies.Contains(policy.Trim(), StringComparer.OrdinalIgnoreCase))
                throw Refusal(endpoint, $"its Policy '{policy}' is not a role of this server: use one of {string.Join(", ", HttpEndpoint.Policies)}, or leave it empty (operator)");
            var limit = Literal(endpoint, endpoint.RequestSizeLimit, nameof(HttpEndpoint.RequestSizeLimit));
            if (limit is <= 0)
                throw Refusal(endpoint, $"its RequestSizeLimit {limit} is not a positive number of bytes");
            var timeout = Literal(endpoint, endpoint.RequestTimeout, nameof(HttpEndpoint.RequestTimeout));
            if (timeout is { } t && t <= TimeSpan.Zero)
                throw Refusal(endpoint, $"its RequestTimeout {t} is not positive");
            var methods = HttpEndpoint.NormalizeMethods(Literal(endpoint, endpoint.SupportedMethods, nameof(HttpEndpoint.SupportedMethods)));
            var settings = new HttpEndpointBookmark(route.Text, methods, Literal(endpoint, endpoint.Authorize, nameof(HttpEndpoint.Authorize)) ?? true, string.IsNullOrWhiteSpace(policy) ? null : policy.Trim().ToLowerInvariant(), timeout, limit, endpoint.ExposeRequestTooLargeOutcome);
            triggers.Add(new HttpTrigger(graph.DefinitionId, graph.DefinitionVersionId, endpoint.NodeId, endpoint.Id, route, settings));
        }

        return triggers;
    }

    private static bool CanStartWorkflow(Activity activity) =>
        (activity.CustomProperties["canStartWorkflow"] ?? activity.CustomProperties["CanStartWorkflow"]) is JsonValue v && v.TryGetValue<bool>(out var can) && can;

    private static T? Literal<T>(HttpEndpoint endpoint, Input<T>? input, string name)
    {
        if (input?.Expression is not { } expression)
            return default;
        if (expression.Type is not (Expressions.ExpressionTypes.Literal or Expressions.ExpressionTypes.Object or Expressions.ExpressionTypes.Json))
            throw Refusal(endpoint, $"its {name} is a {expression.Type} expression; a trigger's inputs are read when the workflow is published, so give a literal value");
        try
        {
            return ValueConverter.Convert<T>(expression.Value);
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException or InvalidCastException or OverflowException)
        {
            throw Refusal(endpoint, $"its {name} '{expression.ValueText}' is not a {typeof(T).Name}");
        }
    }

    private static WorkflowDefinitionException Refusal(HttpEndpoint endpoint, string problem) =>
        new($"Activity '{endpoint.Id}' (Elsa.HttpEndpoint) cannot be published: {problem} (docs/elsa-compatibility.md, Elsa.HttpEndpoint).") { ActivityId = endpoint.Id };
}
