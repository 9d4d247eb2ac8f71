using DrWorkflows.Activities.Drills;
using DrWorkflows.Activities.GitHub;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Composition;
using DrWorkflows.Core.Activities.Primitives;
using DrWorkflows.Core.Activities.Scheduling;
using DrWorkflows.Core.Building;
using DrWorkflows.Workflows.Shared;

namespace DrWorkflows.Workflows;

/// <summary>
/// The plan's quarterly failover simulation: scenario 2 (<see cref="HostFailover"/>) end to end as a child run against
/// the DR host, with the DNS cutover made to a test record, never the production one. It refuses to start when the test
/// record is empty, is the production record, lies outside the zone or does not exist, when the DR project already
/// runs, or when scenario 2 would restore into something the project's take-down does not remove (a database server
/// outside Compose, pgBackRest's repository, a Redis outside the project, a DR database server or Redis that already answers). The cutover gate waits for a person, as in a real failover (the simulation of the human process). It measures
/// the RTO per step from the child's journal against the plan's 90-minute window, cleans up (the test record put back,
/// the DR stack and its new volumes removed, checked afterwards, and the DR database server and Redis measured gone), reports to Slack, archives the report as a set, and
/// opens a GitHub issue when the window is missed, the scenario failed or the cleanup did.
/// </summary>
public sealed class QuarterlyFailoverSimulation : ICodeWorkflow
{
    public const string Id = "dr-quarterly-failover-simulation";

    /// <summary>The 15th of January, April, July and October, 09:00 UTC: office hours (a person approves the cutover), away from the monthly drill on the 1st.</summary>
    public const string Schedule = "0 9 15 1,4,7,10 *";

    public string DefinitionId => Id;

    public string Name => "DR failover simulation (quarterly)";

    public void Build(WorkflowBuilder builder)
    {
        builder.WithDescription($"Quarterly failover simulation (cron {Schedule}, UTC): runs scenario 2 ({HostFailover.Id}) against the DR host with the DNS cutover made to a test record (never the production one; refused otherwise), a person approves the cutover as in a real failover, measures the RTO per step against the plan's 90-minute window, puts the test record back and takes down the DR stack it started (checked: nothing of it left, the DR database server and Redis refuse connections), reports to Slack, archives the report, and opens a GitHub issue when the window is missed or anything failed.")
            .WithInput<string>("TestRecordName", "The record the simulation moves; default Drills:FailoverSimulation:TestRecordName. Must exist (it is put back), lie in the zone and not be the production record.")
            .WithInput<string>("ProductionRecordName", "The production record, never touched; default Drills:FailoverSimulation:ProductionRecordName (api.example.com).")
            .WithInput<string>("ZoneId", "Route 53 hosted zone id; default Drills:FailoverSimulation:ZoneId.")
            .WithInput<string>("ZoneName", "The zone's domain (e.g. example.com); default Drills:FailoverSimulation:ZoneName.")
            .WithInput<string>("DrAddress", "The DR server's public IP address; default Drills:FailoverSimulation:DrAddress.")
            .WithInput<string>("ComposeProject", "The DR Compose project (must not be running); default Docker:ComposeProject.")
            .WithInput<int>("RtoWindowMinutes", "The window; default Drills:FailoverSimulation:RtoWindow (the plan: 90 minutes).")
            .WithInput<object>("FailoverInput", "More inputs of scenario 2 (PrimaryChecks, DrChecks, PublicChecks, Store, Approvers, Reason, ...). Default PrimaryChecks and PublicChecks: https://TEST-RECORD/health.")
            .WithInput<string>("SlackChannel", "Slack channel of the simulation's report; default Notifications:Slack:DefaultChannel.")
            .WithInput<string>("ArchiveStore", "Backup store the report is archived in (a set of kind drill-report); default the default store.")
            .WithVariable<string>("SlackChannel")
            .WithVariable<string>("SlackThread")
            .WithOutput<string>("Verdict", "Met, Missed or Failed (scenario 2 did not recover).")
            .WithOutput<bool>("Passed", "Scenario 2 recovered within the window and the cleanup was clean.")
            .WithOutput<object>("Report", "Steps with their times, total RTO, window, verdict, who approved, the cleanup, roles, channel tests, archive.")
            .WithOutput<string>("Summary", "The report as Markdown.");

        var flow = builder.Flowchart();

        var cron = flow.Add(new Cron { Id = "quarterly", CronExpression = new(Schedule) });
        cron.CustomProperties["canStartWorkflow"] = true;
        var manual = flow.Add(new Core.Activities.Flowchart.Start { Id = "startedByHand" });

        // 1. Never production: refused (an incident, with the reason) before anything is announced or started.
        var target = flow.Add(new CheckFailoverSimulationTarget
        {
            Id = "checkTarget",
            ZoneId = Input<string>.FromJavaScript("getInput('ZoneId') || ''"),
            ZoneName = Input<string>.FromJavaScript("getInput('ZoneName') || ''"),
            TestRecordName = Input<string>.FromJavaScript("getInput('TestRecordName') || ''"),
            ProductionRecordName = Input<string>.FromJavaScript("getInput('ProductionRecordName') || ''"),
            DrAddress = Input<string>.FromJavaScript("getInput('DrAddress') || ''"),
            ComposeProject = Input<string>.FromJavaScript("getInput('ComposeProject') || ''"),
            RtoWindowMinutes = Input<int>.FromJavaScript("getInput('RtoWindowMinutes') || 0"),
            FailoverInput = Input<System.Text.Json.Nodes.JsonObject>.FromJavaScript("getInput('FailoverInput') || {}"),
        });
        flow.Connect(cron, target);
        flow.Connect(manual, target);

        var announce = flow.Add(new SendSlackMessage
        {
            Id = "announce",
            Channel = Input<string>.FromJavaScript("getInput('SlackChannel') || ''"),
            Text = Input<string>.FromJavaScript("':test_tube: *Quarterly failover simulation started* (run ' + getWorkflowInstanceId() + '): scenario 2 on the DR host, DNS cutover to the test record ' + getOutputFrom('checkTarget', 'Result').testRecord + ' only (' + getOutputFrom('checkTarget', 'Result').productionRecord + ' is not touched). The cutover waits for your approval, as in a real failover.'"),
            ThreadRootTs = new("SlackThread"),
            ChannelId = new("SlackChannel"),
        });
        flow.Connect(target, announce);

        // The checklist, as in the drill: roles from the contact tree, a marked test message on every channel.
        var roles = flow.Add(new AssignDrillRoles { Id = "assignRoles" });
        BestEffort(flow, announce, roles);
        var channels = flow.Add(new TestCommunicationChannels
        {
            Id = "testChannels",
            SlackChannel = Input<string>.FromJavaScript("SlackChannel || getInput('SlackChannel') || ''"),
            SlackThread = Input<string>.FromJavaScript("SlackThread || ''"),
        });
        flow.Connect(roles, channels);

        // 2. Scenario 2 as a child run, against the test record. Its failure ends are outcomes (Failed, Partial), so the
        // child finishes and the simulation goes on to measure and clean up.
        var scenario = flow.Add(new ExecuteWorkflow
        {
            Id = "runScenario2",
            WorkflowDefinitionId = new(HostFailover.Id),
            Input = Input<System.Text.Json.Nodes.JsonObject>.FromJavaScript("Object.assign({ SlackChannel: SlackChannel || getInput('SlackChannel') || '' }, getOutputFrom('checkTarget', 'ChildInput'))"),
            WaitForCompletion = new(true),
        });
        flow.Connect(channels, scenario);

        // 3. The RTO per step from the child's own journal; Met only when it recovered within the window.
        var measure = flow.Add(new MeasureFailoverSimulation
        {
            Id = "measure",
            ChildInstanceId = Input<string>.FromJavaScript("getOutputFrom('runScenario2', 'ChildInstanceId')"),
            ChildOutput = Input<System.Text.Json.Nodes.JsonObject>.FromJavaScript("getOutputFrom('runScenario2', 'Result') || {}"),
            Plan = Input<FailoverSimulationPlan>.FromJavaScript("getOutputFrom('checkTarget', 'Result')"),
        });
        flow.Connect(scenario, measure);

        // 4. Clean up whatever the verdict: the test record put back, the DR stack and its new volumes removed, checked.
        var cleanUp = flow.Add(new CleanUpFailoverSimulation { Id = "cleanUp", Plan = Input<FailoverSimulationPlan>.FromJavaScript("getOutputFrom('checkTarget', 'Result')") });
        foreach (var port in new[] { MeasureFailoverSimulation.MetOutcome, MeasureFailoverSimulation.MissedOutcome, MeasureFailoverSimulation.FailedOutcome })
            flow.Connect(measure, cleanUp, port);

        // 5. The report, archived as a set like the drill's, then Slack.
        var archive = flow.Add(new ArchiveDrillReport
        {
            Id = "archiveReport",
            Report = Input<System.Text.Json.Nodes.JsonObject>.FromJavaScript("Object.assign({}, getOutputFrom('measure', 'Report'), { cleanup: getOutputFrom('cleanUp', 'Report') })"),
            Summary = Input<string>.FromJavaScript("getOutputFrom('measure', 'Summary') + '\\n' + getOutputFrom('cleanUp', 'Summary')"),
            Roles = Input<List<DrillRole>>.FromJavaScript("getOutputFrom('assignRoles', 'Result')"),
            Channels = Input<List<ChannelTestResult>>.FromJavaScript("getOutputFrom('testChannels', 'Result')"),
            Store = Input<string>.FromJavaScript("getInput('ArchiveStore') || ''"),
        });
        flow.Connect(cleanUp, archive, CleanUpFailoverSimulation.CleanOutcome);
        flow.Connect(cleanUp, archive, CleanUpFailoverSimulation.DirtyOutcome);
        const string verdict = "getOutputFrom('measure', 'Report').verdict";
        const string clean = "getOutputFrom('cleanUp', 'Report').clean";
        var verdictOut = flow.Add(new SetOutput { Id = "outputVerdict", OutputName = new("Verdict"), OutputValue = Input<object>.FromJavaScript(verdict) });
        var passed = flow.Add(new SetOutput { Id = "outputPassed", OutputName = new("Passed"), OutputValue = Input<object>.FromJavaScript($"{verdict} === 'Met' && {clean}") });
        var report = flow.Add(new SetOutput { Id = "outputReport", OutputName = new("Report"), OutputValue = Input<object>.FromJavaScript("getOutputFrom('archiveReport', 'Result')") });
        var summary = flow.Add(new SetOutput { Id = "outputSummary", OutputName = new("Summary"), OutputValue = Input<object>.FromJavaScript("getOutputFrom('archiveReport', 'Markdown')") });
        var publish = flow.Add(new SendSlackMessage
        {
            Id = "publishReport",
            Channel = Input<string>.FromJavaScript("SlackChannel || getInput('SlackChannel') || ''"),
            ThreadTs = Input<string>.FromJavaScript("SlackThread || ''"),
            Text = Input<string>.FromJavaScript("getOutputFrom('archiveReport', 'Markdown')"),
        });
        flow.Chain(archive, verdictOut, passed, report, summary, publish);

        // 6. A missed window, a failed scenario or a failed cleanup becomes a GitHub issue (the drill's pattern).
        var anything = flow.Add(new Core.Activities.Flowchart.FlowDecision { Id = "anythingWrong", Condition = Input<bool>.FromJavaScript($"!({verdict} === 'Met' && {clean})") });
        BestEffort(flow, publish, anything);
        var issue = flow.Add(new OpenPostMortemIssue
        {
            Id = "simulationIssue",
            IsDrill = new(true),
            Severity = new("SEV-2"),
            Title = Input<string>.FromJavaScript($"'DR failover simulation ' + ({verdict} === 'Met' ? 'CLEANUP FAILED' : {verdict} === 'Missed' ? 'MISSED the ' + getOutputFrom('measure', 'Report').window + ' window' : 'FAILED') + ' (run ' + getWorkflowInstanceId() + ')'"),
            Summary = Input<string>.FromJavaScript("'The quarterly failover simulation did not pass: ' + getOutputFrom('measure', 'Report').reason + '.\\n\\n' + getOutputFrom('archiveReport', 'Markdown')"),
            // The verdict comes from the child run: Recovered only when scenario 2 recovered.
            Outcome = Input<string>.FromJavaScript("getOutputFrom('measure', 'Report').outcome === 'Recovered' ? 'Recovered' : 'Failed'"),
            FailureReason = Input<string>.FromJavaScript($"[getOutputFrom('measure', 'Report').reason].concat(getOutputFrom('cleanUp', 'Report').problems || []).join('; ')"),
            ServiceRestoredAt = Input<DateTimeOffset?>.FromJavaScript("getOutputFrom('measure', 'Report').recoveredAt || null"),
            RtoTarget = Input<TimeSpan?>.FromJavaScript("getOutputFrom('measure', 'Report').window"),
            Labels = new(["dr-drill", "failover-simulation"]),
        });
        flow.Connect(anything, issue, "True");
        var link = flow.Add(IncidentComms.Thread("reportIssue", "':warning: Simulation issue opened: ' + (getOutputFrom('simulationIssue', 'IssueUrl') || 'GitHub is not reachable, see the run journal')"));
        BestEffort(flow, issue, link);

        // 7. A cleanup that failed does not end quietly: the run stops on an incident naming what is left.
        var dirty = flow.Add(new Core.Activities.Flowchart.FlowDecision { Id = "cleanupFailed", Condition = Input<bool>.FromJavaScript($"!{clean}") });
        BestEffort(flow, link, dirty);
        var fault = flow.Add(new Fault
        {
            Id = "failCleanup",
            Code = new("simulation.cleanup-failed"),
            Message = Input<string>.FromJavaScript("'The failover simulation did not clean up: ' + (getOutputFrom('cleanUp', 'Report').problems || []).join('; ') + '. Clean up by hand (docs/workflows/failover-simulation.md), then resolve this incident.'"),
        });
        flow.Connect(dirty, fault, "True");
    }

    private static void BestEffort(FlowchartBuilder flow, Activity from, Activity to)
    {
        flow.Connect(from, to);
        flow.Connect(from, to, BestEffortActivity.FailedOutcome);
    }
}
