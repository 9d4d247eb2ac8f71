using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Notifications;

/// <summary>Inputs shared by the status page activities that change components.</summary>
public abstract class StatusPageActivity : NotificationActivity
{
    [Input(Description = "Statuspage component ids affected (one per line or comma-separated).", Category = "Components")]
    public Input<List<string>>? ComponentIds { get; set; }

    [Input(Description = "Whether Statuspage notifies its subscribers of this change.", DefaultValue = true)]
    public Input<bool>? DeliverNotifications { get; set; }

    [Input(Description = "A rehearsal (the quarterly failover simulation): the public page is not touched; the step journals what it would have posted and completes.", DefaultValue = false)]
    public Input<bool>? Rehearsal { get; set; }

    /// <summary>
    /// In a rehearsal, journals the change it did not post (status, message, components: nothing reaches the public page)
    /// and says so.
    /// </summary>
    private protected bool SkippedForRehearsal(ActivityExecutionContext context, string action, string? status, string? body = null, Dictionary<string, string>? components = null)
    {
        if (!context.Get(Rehearsal, false))
            return false;
        context.AddJournalData("statusPage", new JsonObject
        {
            ["action"] = action,
            ["status"] = status,
            ["body"] = body,
            ["components"] = components is null ? null : new JsonObject([.. components.Select(c => KeyValuePair.Create(c.Key, (JsonNode?)c.Value))]),
            ["rehearsal"] = true,
            ["posted"] = false,
        });
        return true;
    }

    /// <summary>
    /// Posts an update of incident <paramref name="incidentId"/> (<paramref name="status"/>, the rendered <paramref name="body"/>,
    /// the components set to <paramref name="componentStatus"/>) and journals it; in a rehearsal only journals what it would
    /// have posted. With <paramref name="resolve"/> it is the closing update. Returns whether it posted (false in a
    /// rehearsal). Shared by the update, resolve and <see cref="ReportIncidentProgress"/> steps.
    /// </summary>
    private protected async ValueTask<bool> PostUpdateAsync(ActivityExecutionContext context, string? incidentId, string? status, Input<string>? body, string componentStatus, bool resolve = false)
    {
        var text = Render(context, body, fallback: resolve ? "This incident has been resolved." : null);
        var components = Components(context, componentStatus);
        if (SkippedForRehearsal(context, resolve ? "resolve" : "update", status, text, components))
            return false;
        var page = context.GetRequiredService<IStatusPageClient>();
        var incident = await page.UpdateIncidentAsync(
            incidentId ?? string.Empty,
            new StatusPageIncidentUpdate
            {
                Status = status,
                Body = text,
                Components = components,
                DeliverNotifications = context.Get(DeliverNotifications, true),
            },
            context.CancellationToken);
        Journal(context, incident, resolve ? "resolved" : "updated");
        return true;
    }

    /// <summary>
    /// Opens a status page incident (<paramref name="name"/> and <paramref name="body"/> rendered, the components set to
    /// <paramref name="componentStatus"/>) and journals it; on a repeat of this run's step it adopts the open incident of
    /// the same name this run created instead of publishing a second one. In a rehearsal it only journals what it would
    /// have posted and returns null. Shared by <see cref="CreateStatusPageIncident"/> and <see cref="OpenIncident"/>.
    /// </summary>
    private protected async ValueTask<StatusPageIncident?> CreateIncidentAsync(ActivityExecutionContext context, Input<string>? name, string status, string? impact, Input<string>? body, string componentStatus)
    {
        var text = Render(context, body);
        var components = Components(context, componentStatus);
        if (SkippedForRehearsal(context, "create", status, text, components))
            return null;

        var page = context.GetRequiredService<IStatusPageClient>();
        var incident = await page.CreateIncidentAsync(
            new NewStatusPageIncident
            {
                Name = Render(context, name),
                Status = status,
                Impact = impact,
                Body = text,
                Components = components,
                DeliverNotifications = context.Get(DeliverNotifications, true),
                AdoptOpenIncidentSince = context.Workflow.State.CreatedAt,
            },
            context.CancellationToken);
        Journal(context, incident, incident.Adopted ? "adopted" : "created");
        return incident;
    }

    private protected Dictionary<string, string> Components(ActivityExecutionContext context, string status) =>
        (context.Get(ComponentIds) ?? []).Where(id => !string.IsNullOrWhiteSpace(id)).Distinct().ToDictionary(id => id.Trim(), _ => status);

    private protected static void Journal(ActivityExecutionContext context, StatusPageIncident incident, string action) =>
        context.AddJournalData("statusPage", new JsonObject
        {
            ["incidentId"] = incident.Id,
            ["status"] = incident.Status,
            ["action"] = action,
            ["shortlink"] = incident.Shortlink,
        });
}

// SafeToRerun: a repeat finds the open incident of the same name this run created and adopts it instead
// of publishing a second one.
[Activity("DrWorkflows", "Notifications", "Opens an incident on the Atlassian Statuspage and returns its id, so later steps update the same incident.", SafeToRerun = true, Outcomes = [Outcomes.Done, FailedOutcome])]
public sealed class CreateStatusPageIncident : StatusPageActivity
{
    [Input(Description = "Incident name with {{name}} placeholders, e.g. 'Database Restoration in Progress'.", Required = true)]
    public Input<string>? IncidentName { get; set; }

    [Input(Description = "Incident status.", Options = ["investigating", "identified", "monitoring", "resolved"], DefaultValue = "investigating")]
    public Input<string>? Status { get; set; }

    [Input(Description = "Impact shown on the page; derived from the components when empty.", Options = ["", "none", "minor", "major", "critical"])]
    public Input<string>? Impact { get; set; }

    [Input(Description = "Message shown to customers, with {{name}} placeholders.", UIHint = InputUIHints.MultiLine)]
    public Input<string>? Body { get; set; }

    [Input(Description = "Status given to the affected components.", Options = ["degraded_performance", "partial_outage", "major_outage", "under_maintenance"], DefaultValue = "major_outage", Category = "Components")]
    public Input<string>? ComponentStatus { get; set; }

    [Output(Description = "The incident id: store it in a variable for the update and resolve steps.")]
    public Output<string> IncidentId { get; set; } = new();

    [Output(Description = "Public short link of the incident.")]
    public Output<string?> Shortlink { get; set; } = new();

    protected override async ValueTask SendAsync(ActivityExecutionContext context)
    {
        var incident = await CreateIncidentAsync(context, IncidentName, context.Get(Status) ?? StatusPageValues.Investigating, context.Get(Impact), Body, context.Get(ComponentStatus) ?? "major_outage");
        context.Set(IncidentId, incident?.Id ?? string.Empty);
        context.Set(Shortlink, incident?.Shortlink);
    }
}

// SafeToRerun: a PATCH of the same status and message; a repeat at worst shows the same update twice.
[Activity("DrWorkflows", "Notifications", "Posts an update (status and message) to a status page incident opened earlier.", SafeToRerun = true, Outcomes = [Outcomes.Done, FailedOutcome])]
public sealed class UpdateStatusPageIncident : StatusPageActivity
{
    [Input(Description = "The incident id CreateStatusPageIncident returned.", Required = true)]
    public Input<string>? IncidentId { get; set; }

    [Input(Description = "New incident status; empty keeps the current one.", Options = ["", "investigating", "identified", "monitoring", "resolved"])]
    public Input<string>? Status { get; set; }

    [Input(Description = "Update message with {{name}} placeholders.", UIHint = InputUIHints.MultiLine, Required = true)]
    public Input<string>? Body { get; set; }

    [Input(Description = "New status of the listed components.", Options = ["operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"], DefaultValue = "major_outage", Category = "Components")]
    public Input<string>? ComponentStatus { get; set; }

    protected override async ValueTask SendAsync(ActivityExecutionContext context) =>
        await PostUpdateAsync(context, context.Get(IncidentId), context.Get(Status), Body, context.Get(ComponentStatus) ?? "major_outage");
}

// SafeToRerun: resolving a resolved incident again changes nothing.
[Activity("DrWorkflows", "Notifications", "Resolves a status page incident and sets its components back to operational.", SafeToRerun = true, Outcomes = [Outcomes.Done, FailedOutcome])]
public sealed class ResolveStatusPageIncident : StatusPageActivity
{
    [Input(Description = "The incident id CreateStatusPageIncident returned.", Required = true)]
    public Input<string>? IncidentId { get; set; }

    [Input(Description = "Closing message with {{name}} placeholders.", UIHint = InputUIHints.MultiLine, DefaultValue = "This incident has been resolved.")]
    public Input<string>? Body { get; set; }

    protected override async ValueTask SendAsync(ActivityExecutionContext context) =>
        await PostUpdateAsync(context, context.Get(IncidentId), StatusPageValues.Resolved, Body, StatusPageValues.Operational, resolve: true);
}

// SafeToRerun: setting a component to a status is idempotent.
[Activity("DrWorkflows", "Notifications", "Sets the status of one status page component (e.g. major_outage, back to operational).", SafeToRerun = true, Outcomes = [Outcomes.Done, FailedOutcome])]
public sealed class SetStatusPageComponentStatus : NotificationActivity
{
    [Input(Description = "Statuspage component id.", Required = true)]
    public Input<string>? ComponentId { get; set; }

    [Input(Description = "Component status.", Options = ["operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"], Required = true)]
    public Input<string>? Status { get; set; }

    protected override async ValueTask SendAsync(ActivityExecutionContext context)
    {
        var page = context.GetRequiredService<IStatusPageClient>();
        var component = context.Get(ComponentId) ?? string.Empty;
        var status = context.Get(Status) ?? string.Empty;
        await page.SetComponentStatusAsync(component, status, context.CancellationToken);
        context.AddJournalData("statusPage", new JsonObject { ["componentId"] = component, ["status"] = status });
    }
}
