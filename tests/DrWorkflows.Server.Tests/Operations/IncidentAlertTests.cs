using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Server.Operations;
using DrWorkflows.Server.Tests.Approvals;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace DrWorkflows.Server.Tests.Operations;

/// <summary>A run stopped at an incident pages on-call on Slack once, and again only for a new incident.</summary>
public sealed class IncidentAlertTests : IAsyncLifetime
{
    private readonly ApprovalServerFactory server = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IncidentAlerter Alerter => server.Services.GetRequiredService<IncidentAlerter>();

    public ValueTask InitializeAsync()
    {
        _ = server.Client(ApprovalServerFactory.AdminKey); // starts the server
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task An_open_incident_is_alerted_once_with_what_failed_and_what_to_do()
    {
        var run = await StartFailingRunAsync();
        var incident = Assert.Single(run.Incidents);

        Assert.Equal(1, await Alerter.AlertAsync(Ct));
        Assert.Equal(0, await Alerter.AlertAsync(Ct));

        var message = Assert.Single(server.Requests("/api/chat.postMessage"));
        Assert.Equal(ApprovalServerFactory.Channel, message["channel"]!.GetValue<string>());
        var text = message["text"]!.GetValue<string>();
        Assert.Contains($"Run {run.Id} of nightly backup", text, StringComparison.Ordinal);
        Assert.Contains("`dump`", text, StringComparison.Ordinal);
        Assert.Contains("disk full at /backups", text, StringComparison.Ordinal);
        Assert.Contains($"/api/workflow-instances/{run.Id}/incidents/{incident.Id}/retry", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_alert_Slack_refused_is_sent_on_the_next_pass_and_a_new_incident_gets_its_own()
    {
        var refusal = Guid.NewGuid();
        server.Stand.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost()).AtPriority(-1).WithGuid(refusal)
            .RespondWith(Response.Create().WithStatusCode(200).WithBody("{\"ok\":false,\"error\":\"channel_not_found\"}"));
        var run = await StartFailingRunAsync();

        Assert.Equal(0, await Alerter.AlertAsync(Ct));
        server.Stand.DeleteMapping(refusal);
        Assert.Equal(1, await Alerter.AlertAsync(Ct));

        await server.Runtime.ResolveIncidentAsync(run.Id, run.Incidents[0].Id, IncidentResolution.Retry, "otto", null, Ct);
        var again = await server.Services.GetRequiredService<DrWorkflows.Core.Persistence.IWorkflowInstanceStore>().GetAsync(run.Id, Ct);
        Assert.Equal(2, again!.Incidents.Count);
        Assert.Equal(1, await Alerter.AlertAsync(Ct));
        Assert.Equal(0, await Alerter.AlertAsync(Ct));
        var sent = server.Requests("/api/chat.postMessage").Select(m => m["text"]!.GetValue<string>()).Where(t => t.Contains(run.Id, StringComparison.Ordinal)).ToList();
        Assert.Equal(3, sent.Count); // refused, sent again on the next pass, then the new incident's
        Assert.Equal(sent[0], sent[1]);
        Assert.Contains(run.Incidents[0].Id, sent[1], StringComparison.Ordinal);
        Assert.Contains(again.Incidents[1].Id, sent[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_run_ended_by_Elsas_fault_strategy_is_alerted_too_and_takes_only_an_acknowledgement()
    {
        var run = await StartFailingRunAsync(IncidentStrategies.FaultType);
        Assert.Equal((WorkflowStatus.Finished, WorkflowSubStatus.Faulted), (run.Status, run.SubStatus));
        var incident = Assert.Single(run.Incidents);

        Assert.Equal(1, await Alerter.AlertAsync(Ct));
        var text = Assert.Single(server.Requests("/api/chat.postMessage"))["text"]!.GetValue<string>();
        Assert.Contains("ended Faulted at an incident", text, StringComparison.Ordinal);
        Assert.Contains("disk full at /backups", text, StringComparison.Ordinal);
        Assert.Contains($"/api/workflow-instances/{run.Id}/incidents/{incident.Id}/acknowledge", text, StringComparison.Ordinal);

        var operatorClient = server.Client(ApprovalServerFactory.OperatorKey);
        var listed = (await operatorClient.GetJsonAsync("/api/incidents")).Body!["items"]!.AsArray().Single(i => i!["id"]!.GetValue<string>() == incident.Id)!;
        Assert.Equal(["acknowledge"], listed["actions"]!.AsArray().Select(a => a!.GetValue<string>()));
        Assert.Equal(IncidentStrategies.FaultType, listed["incidentStrategy"]!.GetValue<string>());
        var (retried, retryBody, _) = await operatorClient.PostJsonAsync($"/api/workflow-instances/{run.Id}/incidents/{incident.Id}/retry", "{}");
        Assert.Equal(System.Net.HttpStatusCode.Conflict, retried);
        Assert.Contains("acknowledge", retryBody!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        var (acknowledged, body, _) = await operatorClient.PostJsonAsync($"/api/workflow-instances/{run.Id}/incidents/{incident.Id}/acknowledge", "{}");
        Assert.Equal(System.Net.HttpStatusCode.OK, acknowledged);
        Assert.Equal("Faulted", body!["subStatus"]!.GetValue<string>());
        Assert.DoesNotContain((await operatorClient.GetJsonAsync("/api/incidents")).Body!["items"]!.AsArray(), i => i!["id"]!.GetValue<string>() == incident.Id);
        Assert.Equal(0, await Alerter.AlertAsync(Ct));
    }

    [Fact]
    public async Task A_run_carried_on_by_Elsas_continue_strategy_is_alerted_with_what_happened()
    {
        var run = await StartFailingRunAsync(IncidentStrategies.ContinueWithIncidentsType);
        Assert.Equal(WorkflowStatus.Running, run.Status);

        Assert.Equal(1, await Alerter.AlertAsync(Ct));
        var text = Assert.Single(server.Requests("/api/chat.postMessage"))["text"]!.GetValue<string>();
        Assert.Contains("carried on past an incident", text, StringComparison.Ordinal);
        Assert.Contains("/acknowledge", text, StringComparison.Ordinal);
    }

    private async Task<WorkflowState> StartFailingRunAsync(string strategy)
    {
        var definitions = server.Services.GetRequiredService<WorkflowDefinitionService>();
        var json = $$"""
            {
              "definitionId": "nightly-backup-strategy", "name": "nightly backup",
              "options": { "incidentStrategyType": "{{strategy}}" },
              "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq", "activities": [
                { "type": "Elsa.RunJavaScript", "version": 1, "id": "dump",
                  "script": { "typeName": "String", "expression": { "type": "Literal", "value": "throw new Error('disk full at /backups')" } } } ] }
            }
            """;
        var definition = await definitions.SaveAsync(WorkflowDefinitionDocument.Parse(json), publish: true, "api", isReadonly: false, Ct);
        return await server.Runtime.StartAsync(new StartRunRequest(definition.DefinitionId), Ct);
    }

    private async Task<WorkflowState> StartFailingRunAsync()
    {
        var definitions = server.Services.GetRequiredService<WorkflowDefinitionService>();
        var json = """
            {
              "definitionId": "nightly-backup", "name": "nightly backup",
              "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq", "activities": [
                { "type": "Elsa.RunJavaScript", "version": 1, "id": "dump",
                  "script": { "typeName": "String", "expression": { "type": "Literal", "value": "throw new Error('disk full at /backups')" } } } ] }
            }
            """;
        var definition = await definitions.SaveAsync(WorkflowDefinitionDocument.Parse(json), publish: true, "api", isReadonly: false, Ct);
        var state = await server.Runtime.StartAsync(new StartRunRequest(definition.DefinitionId), Ct);
        Assert.Equal(WorkflowSubStatus.Faulted, state.SubStatus);
        return state;
    }
}
