using DrWorkflows.Activities.GitHub;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Activities.Preflight;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Primitives;
using DrWorkflows.Core.Building;

namespace DrWorkflows.Workflows.Shared;

/// <summary>What an incident workflow says about itself: names, default severity, objectives, labels.</summary>
public sealed record IncidentProfile(string Scenario, string StatusPageName, string CustomerMessage, string DefaultSeverity, TimeSpan RtoTarget, TimeSpan? RpoTarget);

/// <summary>
/// The communication plan, the same in every incident workflow: a status page incident and a Slack thread with
/// the contact tree paged (Slack and email) by severity at the start, threaded updates at key steps, and one
/// <see cref="CloseIncident"/> step per end (recovered, failed, partial) that sets the run's outputs, resolves (or keeps
/// open) the status page incident, reports in the thread or escalates to the contact tree, and opens the GitHub
/// post-mortem issue.
/// </summary>
/// <remarks>
/// Variables it declares: <c>Severity</c>, <c>SlackChannel</c>, <c>SlackThread</c>, <c>StatusPageIncidentId</c>,
/// <c>FailureReason</c>, <c>LastGoodDataAt</c>, <c>RecoveryReport</c> (what a restore brought back and
/// lost, shown in the last thread message and the post-mortem's impact). Notification steps are best effort (their
/// <c>Failed</c> port continues like <c>Done</c>): comms never hold a recovery.
/// </remarks>
public sealed class IncidentComms
{
    public const string FailedPort = "Failed";

    /// <summary>Id of the one step that opens the incident (<see cref="OpenIncident"/>): severity, announcement, status page, paging.</summary>
    public const string OpenIncidentId = "openIncident";

    /// <summary>Id of the success end (<see cref="CloseIncident"/>, outcome Recovered).</summary>
    public const string CloseRecoveredId = "closeRecovered";

    /// <summary>Id of the failure end (<see cref="CloseIncident"/>, outcome Failed), after <see cref="RecordFailureId"/>.</summary>
    public const string CloseFailedId = "closeFailed";

    /// <summary>Id of the partial end (<see cref="CloseIncident"/>, outcome Partial), after <see cref="RecordPartialId"/>; only in scenarios that can end partial.</summary>
    public const string ClosePartialId = "closePartial";

    /// <summary>Id of the step in front of the failure end that records why the run stopped.</summary>
    public const string RecordFailureId = "recordFailure";

    /// <summary>Id of the step in front of the partial end that records what was not recovered.</summary>
    public const string RecordPartialId = "recordPartial";

    private readonly FlowchartBuilder flow;
    private readonly IncidentProfile profile;
    private readonly Activity failureEntry;
    private readonly Activity successEntry;
    private ReasonStep? failureReason;
    private ReasonStep? partialReason;

    private IncidentComms(FlowchartBuilder flow, IncidentProfile profile, Activity first, Activity last, Activity successEntry, Activity failureEntry)
    {
        this.flow = flow;
        this.profile = profile;
        First = first;
        Opened = last;
        this.successEntry = successEntry;
        this.failureEntry = failureEntry;
    }

    /// <summary>JavaScript: whether the run is a rehearsal (input <c>Rehearsal</c>).</summary>
    private const string IsRehearsal = "String(getInput('Rehearsal')) === 'true'";

    /// <summary>JavaScript: the mark a rehearsal puts before what people read (Slack, pages, the post-mortem).</summary>
    private const string RehearsalPrefix = "(" + IsRehearsal + " ? '[REHEARSAL, not a real outage] ' : '')";

    /// <summary>The opening step (the flowchart's start).</summary>
    public Activity First { get; }

    /// <summary>The opening step again (best effort): connect the first recovery step to it with <see cref="Then"/>.</summary>
    public Activity Opened { get; }

    /// <summary>Declares the common inputs and variables, adds the opening and both ends to the flowchart.</summary>
    public static IncidentComms Add(WorkflowBuilder builder, FlowchartBuilder flow, IncidentProfile profile)
    {
        builder
            .WithCustomProperty(DrWorkflows.Core.Model.WorkflowDefinitionDocument.OneRunPerPlatformProperty, true) // one recovery per platform at a time
            .WithInput<string>("Reason", "The alert or observation that started the recovery (shown in Slack, email, the post-mortem).")
            .WithInput<string>("Severity", $"SEV-1 or SEV-2; default {profile.DefaultSeverity}.")
            .WithInput<string>("SlackChannel", "Slack channel of the incident thread; default Notifications:Slack:DefaultChannel.")
            .WithInput<List<string>>("StatusPageComponents", "Statuspage component ids affected (set to major_outage, back to operational at the end).")
            .WithInput<bool>("Rehearsal", "A rehearsal, not a real outage (the quarterly failover simulation sets it): the public status page is not touched (each step journals what it would have posted), and the Slack thread, the pages and the post-mortem say REHEARSAL.")
            .WithVariable<string>("Severity")
            .WithVariable<string>("SlackChannel")
            .WithVariable<string>("SlackThread")
            .WithVariable<string>("StatusPageIncidentId")
            .WithVariable<string>("FailureReason")
            .WithVariable<string>("LastGoodDataAt")
            .WithVariable<string>("RecoveryReport")
            .WithOutput<string>("Outcome", "Recovered, Partial (not recovered: the run ended but data was lost or not restored, FailureReason says what), or Failed (automated recovery stopped; people continue by hand).")
            .WithOutput<string>("FailureReason", "Why the automated recovery stopped.");

        var open = flow.Add(new OpenIncident
        {
            Id = OpenIncidentId,
            Severity = Input<string>.FromJavaScript("getInput('Severity') || ''"),
            DefaultSeverity = new(profile.DefaultSeverity),
            Channel = Input<string>.FromJavaScript("getInput('SlackChannel') || ''"),
            Text = Input<string>.FromJavaScript($"{RehearsalPrefix} + ':rotating_light: *{{{{severity}}}} ' + {Js(profile.Scenario)} + '*\\n' + (getInput('Reason') || 'no alert text given') + '\\nDrWorkflows run ' + getWorkflowInstanceId() + ' is recovering; updates follow in this thread.'"),
            StatusPageName = new(profile.StatusPageName),
            Body = new(profile.CustomerMessage),
            ComponentIds = Input<List<string>>.FromJavaScript("getInput('StatusPageComponents') || []"),
            Rehearsal = Input<bool>.FromJavaScript(IsRehearsal),
            PageSubject = Input<string>.FromJavaScript($"{RehearsalPrefix} + {Js(profile.Scenario)}"),
            PageMessage = Input<string>.FromJavaScript($"{RehearsalPrefix} + {Js(profile.Scenario + ": {{reason}}. DrWorkflows run {{instanceId}} is recovering; follow the Slack thread and answer approvals there.")}"),
            Values = Input<System.Text.Json.Nodes.JsonObject>.FromJavaScript("({ reason: getInput('Reason') || 'no alert text given' })"),
            IncidentSeverity = new("Severity"),
            ThreadRootTs = new("SlackThread"),
            ChannelId = new("SlackChannel"),
            IncidentId = new("StatusPageIncidentId"),
        });

        // One step per end: the outputs, the end's comms and the post-mortem.
        var recovered = flow.Add(Close(CloseRecoveredId, CloseIncident.Recovered, profile));
        var failed = flow.Add(Close(CloseFailedId, CloseIncident.NotRecovered, profile));
        return new IncidentComms(flow, profile, open, open, recovered, failed);
    }

    /// <summary>
    /// The end <paramref name="outcome"/> (<see cref="CloseIncident"/>'s Recovered, Failed or Partial) as one step: the
    /// run's outputs, the status page and the thread (resolved and reported, or kept open and escalated), the post-mortem.
    /// </summary>
    private static CloseIncident Close(string id, string outcome, IncidentProfile profile)
    {
        var recovered = outcome == CloseIncident.Recovered;
        var close = new CloseIncident
        {
            Id = id,
            Outcome = new(outcome),
            FailureReason = Input<string>.FromJavaScript("FailureReason || ''"),
            Severity = Input<string>.FromJavaScript("Severity"),
            Channel = Input<string>.FromJavaScript("SlackChannel || ''"),
            ThreadTs = Input<string>.FromJavaScript("SlackThread || ''"),
            IncidentId = Input<string>.FromJavaScript("StatusPageIncidentId || ''"),
            ComponentIds = Input<List<string>>.FromJavaScript("getInput('StatusPageComponents') || []"),
            Rehearsal = Input<bool>.FromJavaScript(IsRehearsal),
            Summary = Input<string>.FromJavaScript($"{RehearsalPrefix} + {Js(profile.Scenario)} + ': ' + (getInput('Reason') || 'no alert text given') + "
                + (recovered ? "'. Recovered by DrWorkflows.'" : "'. Automated recovery stopped: ' + (FailureReason || 'unknown') + '.'")),
            RtoTarget = new(profile.RtoTarget),
            RpoTarget = profile.RpoTarget is { } rpo ? new Input<TimeSpan?>(rpo) : null,
            LastGoodDataAt = Input<DateTimeOffset?>.FromJavaScript("LastGoodDataAt || null"),
            Impact = Input<string>.FromJavaScript("RecoveryReport || null"),
            Labels = Input<List<string>>.FromJavaScript($"[{Js(profile.Scenario.ToLowerInvariant().Replace(' ', '-'))}].concat({IsRehearsal} ? ['rehearsal'] : [])"),
        };
        if (recovered)
        {
            close.RecoveredText = Input<string>.FromJavaScript($"':white_check_mark: ' + {Js(profile.Scenario)} + ': recovered. Post-mortem issue follows.' + (RecoveryReport ? '\\n' + RecoveryReport : '')");
            close.ResolvedBody = new("Service has been restored. We will publish a post-incident review.");
        }
        else
        {
            // The status page stays open, people take over, the contact tree is told.
            close.IdentifiedBody = new("We have identified the problem and our engineers are restoring service.");
            close.EscalationSubject = Input<string>.FromJavaScript($"{RehearsalPrefix} + {Js(profile.Scenario + ": automated recovery stopped")}");
            close.EscalationMessage = Input<string>.FromJavaScript($"{RehearsalPrefix} + 'Automated recovery stopped: {{{{failure}}}}. Continue by hand (docs/workflows/); DrWorkflows run {{{{instanceId}}}}.'");
        }

        return close;
    }

    /// <summary>Connects <paramref name="source"/> to <paramref name="next"/> on Done, and on Failed for best-effort steps.</summary>
    public IncidentComms Then(Activity source, Activity next)
    {
        if (source is BestEffortActivity)
            BestEffort(flow, source, next);
        else
            flow.Connect(source, next);
        return this;
    }

    /// <summary>
    /// A progress report after <paramref name="after"/>'s <paramref name="port"/>: one step (<see cref="ReportIncidentProgress"/>)
    /// that posts <paramref name="slackText"/> in the incident thread and, when <paramref name="statusPageStatus"/> is given,
    /// updates the status page incident (<paramref name="customerText"/>, default the profile's message). Best effort: continue
    /// from it with <see cref="Then"/> or <see cref="Continue"/>.
    /// </summary>
    public Activity Update(string id, Activity after, string port, string slackText, string? statusPageStatus = null, string? customerText = null)
    {
        var report = new ReportIncidentProgress
        {
            Id = id,
            Channel = Input<string>.FromJavaScript("SlackChannel || ''"),
            Text = Input<string>.FromJavaScript(Js(slackText)),
            ThreadTs = Input<string>.FromJavaScript("SlackThread || ''"),
        };
        if (statusPageStatus is not null)
        {
            report.Status = new(statusPageStatus);
            report.Body = new(customerText ?? profile.CustomerMessage);
            report.IncidentId = Input<string>.FromJavaScript("StatusPageIncidentId || ''");
            report.ComponentIds = Input<List<string>>.FromJavaScript("getInput('StatusPageComponents') || []");
            report.Rehearsal = Input<bool>.FromJavaScript(IsRehearsal);
        }

        flow.Connect(after, flow.Add(report), port);
        return report;
    }

    /// <summary>Continues from a best-effort step (Done or Failed) to <paramref name="next"/>.</summary>
    public void Continue(Activity bestEffort, Activity next) => BestEffort(flow, bestEffort, next);

    /// <summary>The recovery succeeded: <paramref name="source"/>'s <paramref name="port"/> leads to the success end.</summary>
    public void Succeed(Activity source, string port = "Done")
    {
        if (source is BestEffortActivity && port == "Done")
            BestEffort(flow, source, successEntry);
        else
            flow.Connect(source, successEntry, port);
    }

    /// <summary>
    /// The recovery stops: <paramref name="source"/>'s <paramref name="port"/> leads to the failure end through its one
    /// <see cref="RecordFailureReason"/> step (<c>recordFailure</c>), which sets <c>FailureReason</c> from
    /// <paramref name="reasonScript"/> (JavaScript that gives a string).
    /// </summary>
    public void FailWith(Activity source, string port, string reasonScript) =>
        (failureReason ??= Reason(RecordFailureId, failureEntry)).Add(source, port, reasonScript);

    /// <summary>
    /// The run got to its end but did not recover everything (a database lost): <paramref name="source"/>'s
    /// <paramref name="port"/> records <paramref name="reasonScript"/> (what was lost) in its one step
    /// (<c>recordPartial</c>) and ends with outcome <c>Partial</c> (<c>closePartial</c>: status page kept open, contact
    /// tree told, post-mortem "not recovered").
    /// </summary>
    public void PartialWith(Activity source, string port, string reasonScript)
    {
        partialReason ??= Reason(RecordPartialId, flow.Add(Close(ClosePartialId, CloseIncident.Partial, profile)));

        partialReason.Add(source, port, reasonScript);
    }

    /// <summary>
    /// For a step that can only fault (it has no failure port): an operator who gives up on its incident skips it
    /// with outcome <c>Failed</c> (<c>drw incidents skip RUN INCIDENT --outcome Failed</c>), and the run takes the
    /// failure end, so the status page, the contact tree and the post-mortem still happen.
    /// </summary>
    public void AbandonWith(Activity step, string reason) => FailWith(step, FailedPort, Js(reason + " (the operator abandoned the step)"));

    private ReasonStep Reason(string id, Activity end)
    {
        var step = flow.Add(new RecordFailureReason { Id = id, Reason = new("FailureReason") });
        // It runs on each arrival: a failure in one branch must not wait for a gate or a long step in another.
        step.CustomProperties["mergeMode"] = nameof(DrWorkflows.Core.Activities.Flowchart.MergeMode.Cascade);
        flow.Connect(step, end);
        return new ReasonStep(flow, step);
    }

    /// <summary>One <see cref="RecordFailureReason"/> step and the reasons of the connections into it.</summary>
    private sealed class ReasonStep(FlowchartBuilder flow, RecordFailureReason step)
    {
        private readonly System.Text.Json.Nodes.JsonObject reasons = [];

        public ReasonStep Add(Activity source, string port, string reasonScript)
        {
            var key = $"{source.Id}:{port}";
            if (reasons.ContainsKey(key))
                throw new InvalidOperationException($"Port {port} of '{source.Id}' already leads to '{step.Id}'.");
            reasons[key] = reasonScript;
            step.Reasons = Input<System.Text.Json.Nodes.JsonObject>.FromObject(reasons.ToJsonString());
            flow.Connect(source, step, port);
            return this;
        }
    }

    /// <summary>
    /// The configuration check a scenario starts with (step <c>checkConfiguration</c>): the Compose project
    /// (<paramref name="project"/>, JavaScript; empty for <c>Docker:ComposeProject</c>), the database server and the store
    /// it restores from (JavaScript expressions). Set the scenario's other needs on the result.
    /// </summary>
    public static CheckRecoveryConfiguration ConfigurationCheck(string scenario, string server, string store, string project = "''") => new()
    {
        Id = "checkConfiguration",
        Scenario = new(scenario),
        ComposeProject = Input<string>.FromJavaScript(project),
        PostgresServers = Input<List<string>>.FromJavaScript($"[{server}]"),
        BackupStores = Input<List<string>>.FromJavaScript($"[{store}]"),
    };

    /// <summary>
    /// Runs <paramref name="check"/> (added to the flowchart) before the opening: a missing setting stops the run on its
    /// incident before anything is changed or announced.
    /// </summary>
    public Activity CheckFirst(CheckRecoveryConfiguration check)
    {
        var step = flow.Add(check);
        flow.Connect(step, First);
        AbandonConfiguration(step);
        return step;
    }

    /// <summary>An operator who gives up on the configuration check's incident takes the failure end.</summary>
    public void AbandonConfiguration(Activity check) =>
        AbandonWith(check, "The configuration check failed (see its incident for the settings); nothing was changed");

    /// <summary>
    /// <paramref name="outcomes"/> of <paramref name="check"/> are how the run confirms the incident (the check failing is
    /// the detection): the post-mortem lists them as the detection, not as something that went wrong.
    /// </summary>
    public static TActivity Detects<TActivity>(TActivity check, params string[] outcomes)
        where TActivity : Activity => PostMortemMarkers.MarkDetection(check, outcomes);

    /// <summary>A threaded Slack reply.</summary>
    public static SendSlackMessage Thread(string id, string textScript) => new()
    {
        Id = id,
        Channel = Input<string>.FromJavaScript("SlackChannel || ''"),
        Text = Input<string>.FromJavaScript(textScript),
        ThreadTs = Input<string>.FromJavaScript("SlackThread || ''"),
    };

    public static VariableReference Variable(string name) => new() { Id = name, Name = name };

    /// <summary>A C# string as a JavaScript string literal.</summary>
    public static string Js(string text) => System.Text.Json.JsonSerializer.Serialize(text);

    private static void BestEffort(FlowchartBuilder flow, Activity source, Activity next)
    {
        flow.Connect(source, next);
        flow.Connect(source, next, BestEffortActivity.FailedOutcome);
    }
}
