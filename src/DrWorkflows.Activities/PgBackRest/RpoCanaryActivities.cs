using System.Text.Json;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Core;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Serialization;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.PgBackRest;

// Writes to the canary table only; a repeat writes a new run of canaries (old ones are pruned after 30 days).
[Activity("DrWorkflows", "Drills", "Drill: writes an RPO canary (a row in public.drw_rpo_canary, created when missing) every second for a bounded time into a PostgreSQL server whose WAL pgBackRest archives, then records the failure point and the last WAL archived by then. Writes to nothing but the canary table. NotArchived when no container is given and PgBackRest:Archiving has none for the component.",
    SafeToRerun = true, Outcomes = [WrittenOutcome, FailedOutcome, NotArchivedOutcome])]
public sealed class WriteRpoCanaries : CodeActivity<CanaryRun>
{
    public const string WrittenOutcome = "Written";
    public const string FailedOutcome = "Failed";
    public const string NotArchivedOutcome = "NotArchived";

    [Input(Description = "Component key of the objectives table, e.g. postgres-main.", Required = true)]
    public Input<string>? Component { get; set; }

    [Input(Description = "PostgreSQL container (production); default PgBackRest:Archiving:<Component>:Container.")]
    public Input<string>? Container { get; set; }

    [Input(Description = "pgBackRest stanza; default PgBackRest:Archiving:<Component>:Stanza.")]
    public Input<string>? Stanza { get; set; }

    [Input(Description = "Database holding the canary table (the whole server is restored, so the maintenance database keeps the application's schema untouched).", DefaultValue = "postgres")]
    public Input<string>? Database { get; set; }

    [Input(Description = "How long to write, one canary a second: 10 to 600; default two archive_timeouts plus 5 s (PgBackRest:ArchiveTimeoutSeconds), so that at least one WAL segment is archived meanwhile.")]
    public Input<int?>? Seconds { get; set; }

    protected override async ValueTask<CanaryRun> RunAsync(ActivityExecutionContext context)
    {
        var component = context.Get(Component) ?? string.Empty;
        var options = context.Services.GetService(typeof(IOptions<PgBackRestOptions>)) is IOptions<PgBackRestOptions> o ? o.Value : null;
        ArchivedDatabase? configured = null;
        options?.Archiving.TryGetValue(component, out configured);
        var container = context.Get(Container) is { Length: > 0 } c ? c : configured?.Container;
        var stanza = context.Get(Stanza) is { Length: > 0 } s ? s : configured?.Stanza ?? "main";
        var database = context.Get(Database) is { Length: > 0 } d ? d : "postgres";
        var seconds = context.Get(Seconds) ?? (2 * (options?.ArchiveTimeoutSeconds ?? 60)) + 5;
        if (seconds is < 10 or > 600)
            throw new ActivityFailureException($"Seconds must be 10 to 600, not {seconds}.");
        var run = new CanaryRun { Component = component, Container = container ?? string.Empty, Stanza = stanza, Database = database, Run = $"{context.WorkflowInstanceId}/{context.Activity.Id}" };
        string outcome;
        if (string.IsNullOrWhiteSpace(container))
            outcome = NotArchivedOutcome;
        else
        {
            try
            {
                var service = context.Services.GetService(typeof(IRpoCanary)) as IRpoCanary
                    ?? throw new PgBackRestException(PgBackRestErrorCodes.NotConfigured, "this server has no pgBackRest service (AddPgBackRest).");
                run = await service.WriteAsync(run, TimeSpan.FromSeconds(seconds), context.CancellationToken);
                outcome = WrittenOutcome;
            }
            catch (Exception e) when (e is PgBackRestException or DockerOperationException)
            {
                run = run with { Problem = e.Message };
                outcome = FailedOutcome;
            }
        }

        context.AddJournalData("canaries", JsonSerializer.SerializeToNode(run, Json.Options));
        context.Set(Result, run);
        await context.CompleteAsync(outcome);
        return run;
    }
}

// Restores into a throwaway only (in the ledger, removed at the end), so a repeat is harmless.
[Activity("DrWorkflows", "Drills", "Drill: measures the RPO really achieved: restores the server with pgBackRest to latest into a throwaway (never over production, removed afterwards) and reads the newest canary of a WriteRpoCanaries run in it; RPO = failure point − that canary. Canaries written or archived after the failure point do not count; a copy without a canary is an RPO not achieved.", SafeToRerun = true)]
public sealed class MeasureCanaryRpo : CodeActivity<CanaryRpoMeasurement>
{
    [Input(Description = "The canaries written (WriteRpoCanaries' Result).", UIHint = InputUIHints.JsonEditor, Required = true)]
    public Input<CanaryRun>? Canaries { get; set; }

    protected override async ValueTask<CanaryRpoMeasurement> RunAsync(ActivityExecutionContext context)
    {
        var run = context.Get(Canaries) ?? throw new ActivityFailureException("Canaries (WriteRpoCanaries' Result) is required.");
        var measurement = run.Problem is not null || run.FailurePoint is null
            ? new CanaryRpoMeasurement { Component = run.Component, Written = run.Written, Problems = [$"No canary was written into {run.Container}, so nothing was restored and the RPO was not achieved: {run.Problem ?? "no failure point was recorded"}"] }
            : await MeasureAsync(context, run);
        context.AddJournalData("canaryRpo", JsonSerializer.SerializeToNode(measurement, Json.Options));
        return measurement;
    }

    private static async Task<CanaryRpoMeasurement> MeasureAsync(ActivityExecutionContext context, CanaryRun run)
    {
        try
        {
            var service = context.Services.GetService(typeof(IRpoCanary)) as IRpoCanary
                ?? throw new PgBackRestException(PgBackRestErrorCodes.NotConfigured, "this server has no pgBackRest service (AddPgBackRest).");
            return await service.MeasureAsync(run, context.CancellationToken);
        }
        catch (Exception e) when (e is PgBackRestException or DockerOperationException)
        {
            // The drill goes on: a restore that failed is an RPO not achieved, judged and reported as missed.
            return new CanaryRpoMeasurement { Component = run.Component, FailurePoint = run.FailurePoint, Written = run.Written, Problems = [$"The pgBackRest restore of {run.Container} (stanza {run.Stanza}) failed: {e.Message}"] };
        }
    }
}
