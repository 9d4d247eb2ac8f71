using DrWorkflows.Core.Activities.Http;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;

namespace DrWorkflows.Core.Runtime;

/// <summary>The HTTP routes of published workflows (<c>Elsa.HttpEndpoint</c> triggers).</summary>
public sealed partial class WorkflowDefinitionService
{
    /// <summary>The HTTP triggers of every published definition (a definition that no longer loads has none).</summary>
    public async Task<IReadOnlyList<HttpTrigger>> ListHttpTriggersAsync(CancellationToken cancellationToken)
    {
        var published = await store.ListAsync(new DefinitionQuery(VersionOptions.PublishedVersion, Take: 10_000), cancellationToken);
        var triggers = new List<HttpTrigger>();
        foreach (var definition in published.Items)
        {
            try
            {
                triggers.AddRange(HttpTriggers.Of(GetGraph(definition)));
            }
            catch (WorkflowDefinitionException)
            {
                // Refused at publish; a version stored before this check existed serves no route.
            }
        }

        return triggers;
    }

    /// <summary>
    /// Refuses to publish a workflow whose HTTP trigger is not valid, or serves a method and path (by the template's
    /// canonical form: <c>orders/{id}</c> and <c>orders/{orderId}</c> are one) that another published workflow serves.
    /// Elsa publishes both and answers such a request 500 ("matches multiple workflows"); a route has one owner here.
    /// </summary>
    private async Task CheckHttpRoutesAsync(WorkflowGraph graph, string definitionId, CancellationToken cancellationToken)
    {
        var mine = HttpTriggers.Of(graph);
        if (mine.Count == 0)
            return;
        var seen = new Dictionary<string, HttpTrigger>(StringComparer.Ordinal);
        foreach (var trigger in mine)
        {
            foreach (var method in trigger.Settings.Methods)
            {
                if (!seen.TryAdd(HttpEndpoint.BookmarkKey(method, trigger.Route), trigger))
                    throw Duplicate(trigger, method, $"activity '{seen[HttpEndpoint.BookmarkKey(method, trigger.Route)].ActivityId}' of the same workflow");
            }
        }

        foreach (var other in await ListHttpTriggersAsync(cancellationToken))
        {
            if (other.DefinitionId == definitionId)
                continue;
            foreach (var method in other.Settings.Methods)
            {
                if (seen.TryGetValue(HttpEndpoint.BookmarkKey(method, other.Route), out var clash))
                    throw Duplicate(clash, method, $"the published workflow '{other.DefinitionId}' (activity '{other.ActivityId}', path '{other.Route.Text}'); retract it first, or change this path or its methods");
            }
        }
    }

    private static WorkflowDefinitionException Duplicate(HttpTrigger trigger, string method, string owner) =>
        new($"Activity '{trigger.ActivityId}' (Elsa.HttpEndpoint) cannot be published: {method} /workflows/{trigger.Route.Text} is already served by {owner} (docs/elsa-compatibility.md, Elsa.HttpEndpoint).") { ActivityId = trigger.ActivityId };
}
