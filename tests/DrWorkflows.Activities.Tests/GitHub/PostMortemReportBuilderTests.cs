using System.Text.Json.Nodes;
using DrWorkflows.Activities.GitHub;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Tests.GitHub;

public sealed class PostMortemReportBuilderTests
{
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Writes_the_plans_sections_with_the_marker_and_the_header()
    {
        var report = new PostMortemReportBuilder().Build(IncidentInput());

        Assert.StartsWith("<!-- drworkflows-instance: run-42 -->\n<!-- drworkflows-execution: exec-pm -->\n# Post-Incident Review\n", report.Body, StringComparison.Ordinal);
        Assert.Equal("Post-incident review: Database container failure (SEV-1), 2026-03-01", report.Title);
        Assert.Contains("**Date**: 2026-03-01  \n**Duration**: 30 min 10 s  \n**Severity**: SEV-1  \n**Outcome**: recovered  \n", report.Body, StringComparison.Ordinal);
        Assert.Contains("**Workflow**: Database container failure (`db-failure`), run `run-42`, started by alertmanager", report.Body, StringComparison.Ordinal);
        string[] sections = ["## Summary", "## Recovery Objectives", "## Timeline", "## Approvals", "## Errors and Retries", "## Root Cause", "## Impact", "## What Went Well", "## What Went Wrong", "## Action Items"];
        var positions = sections.Select(s => report.Body.IndexOf("\n" + s + "\n", StringComparison.Ordinal)).ToList();
        Assert.All(positions, p => Assert.True(p > 0));
        Assert.Equal(positions.Order(), positions);
        Assert.Contains("## Summary\nThe main database container stopped answering health checks.\n", report.Body, StringComparison.Ordinal);
        Assert.Contains("_To be written by the incident commander._", report.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_from_the_run_is_posted_with_HTML_and_mentions_neutralised()
    {
        const string hostile = "<img src=x onerror=alert(1)> ping @octocat and @acme/sre <script>x</script>";
        var input = IncidentInput();
        var body = new PostMortemReportBuilder().Build(input with { Details = input.Details with { Summary = hostile, RootCause = "**disk** full " + hostile, Impact = hostile } }).Body;

        Assert.DoesNotContain("<img", body, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", body, StringComparison.Ordinal);
        Assert.DoesNotMatch("(?<![\\w`])@[A-Za-z0-9]", body);
        Assert.Contains("## Summary\n&lt;img src=x onerror=alert(1)&gt; ping @\u200Boctocat", body, StringComparison.Ordinal);
        Assert.Contains("## Root Cause\n**disk** full", body, StringComparison.Ordinal);
    }

    [Fact]
    public void Timeline_lists_every_step_with_times_durations_attempts_and_waits()
    {
        var body = new PostMortemReportBuilder().Build(IncidentInput()).Body;

        Assert.Contains("| 14:00:00 | — | Run started |  | by alertmanager |", body, StringComparison.Ordinal);
        Assert.Contains("| 14:00:01 | Check database | Completed | 2 s | ContainerStatus |", body, StringComparison.Ordinal);
        Assert.Contains("| 14:00:03 | Restart postgres | Completed | 1 min 7 s | RestartContainer; 2 attempts (1 retry) |", body, StringComparison.Ordinal);
        Assert.Contains("| 14:01:10 | Approve restore | Completed (Approve) | 8 min 31 s | ApprovalGate; waited 8 min 30 s |", body, StringComparison.Ordinal);
        Assert.Contains("| 14:09:41 | Approve restore | Decision: Approve | 8 min 30 s | by jane via slack: go ahead, the backup is verified |", body, StringComparison.Ordinal);
        Assert.Contains("| 14:09:42 | Restore main | Completed | 12 min | RestoreDatabase |", body, StringComparison.Ordinal);
        Assert.Contains("| 14:21:43 | Status page | Completed (Failed) | 1 s | CreateStatusPageIncident; Statuspage create incident failed with HTTP 401: Could not authenticate. |", body, StringComparison.Ordinal);
        Assert.Contains("| 14:21:45 | Smoke tests | Completed | 3 min 25 s | HttpSmokeTest; 2 attempts (1 retried by an operator); GET https://api.example.com/health returned 503 |", body, StringComparison.Ordinal);
        Assert.Contains("| 14:22:00 | Smoke tests | Incident raised |  | GET https://api.example.com/health returned 503 |", body, StringComparison.Ordinal);
        Assert.Contains("| 14:25:00 | Smoke tests | Incident resolved |  | Retry by bob |", body, StringComparison.Ordinal);
        Assert.DoesNotContain("| Flowchart1 |", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Open post-mortem", body, StringComparison.Ordinal);
        var timeline = Section(body, "## Timeline");
        var times = timeline.Split('\n').Skip(2).Where(l => l.StartsWith("| ", StringComparison.Ordinal)).Select(l => l[2..10]).ToList();
        Assert.Equal(times.Order(StringComparer.Ordinal), times);
    }

    [Fact]
    public void Approvals_show_who_when_which_channel_the_wait_and_the_comment()
    {
        var approvals = Section(new PostMortemReportBuilder().Build(IncidentInput()).Body, "## Approvals");

        Assert.Equal(
            "| Time (UTC) | Step | Decision | By | Channel | Waited | Comment |\n|---|---|---|---|---|---|---|\n| 14:09:41 | Approve restore | Approve | jane | slack | 8 min 30 s | go ahead, the backup is verified |\n\n",
            approvals);
    }

    [Fact]
    public void Errors_and_retries_list_retries_incidents_their_resolution_and_failed_notifications()
    {
        var problems = Section(new PostMortemReportBuilder().Build(IncidentInput()).Body, "## Errors and Retries");

        Assert.Contains("| 14:00:33 | Restart postgres | Retry after attempt 1 of 3 | container postgres is unhealthy |", problems, StringComparison.Ordinal);
        Assert.Contains("| 14:21:44 | Status page | statuspage failed, workflow went on | Statuspage create incident failed with HTTP 401: Could not authenticate. |", problems, StringComparison.Ordinal);
        Assert.Contains("| 14:22:00 | Smoke tests | Faulted (incident) | GET https://api.example.com/health returned 503 |", problems, StringComparison.Ordinal);
        Assert.Contains("| 14:25:00 | Smoke tests | Incident resolved | Retry by bob |", problems, StringComparison.Ordinal);
    }

    [Fact]
    public void Compares_RTO_and_the_data_loss_window_with_the_targets()
    {
        var report = new PostMortemReportBuilder().Build(IncidentInput());

        Assert.Contains("| RTO: incident start to service restored (13:55:00 → 14:25:10) | 30 min | 30 min 10 s | **missed** by 10 s |", report.Body, StringComparison.Ordinal);
        Assert.Contains("| RPO: data-loss window (newest recovered data to incident start) | 15 min | 10 min | **met** |", report.Body, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.Parse("00:30:10", System.Globalization.CultureInfo.InvariantCulture), report.Facts.RecoveryTime);
        Assert.False(report.Facts.RtoMet);
        Assert.Equal(TimeSpan.FromMinutes(10), report.Facts.DataLossWindow);
        Assert.True(report.Facts.RpoMet);
        Assert.Equal(6, report.Facts.Steps);
        Assert.Equal(2, report.Facts.FailedSteps);
        Assert.Equal(1, report.Facts.Retries);
        Assert.Equal(1, report.Facts.Approvals);
    }

    [Fact]
    public void Action_items_cover_failed_retried_and_long_steps_slow_decisions_and_missed_objectives()
    {
        var report = new PostMortemReportBuilder().Build(IncidentInput());
        var items = Section(report.Body, "## Action Items");

        Assert.Equal(
            [
                "Find and fix why **Status page** failed: Statuspage create incident failed with HTTP 401: Could not authenticate.",
                "Find and fix why **Smoke tests** failed: GET https://api.example.com/health returned 503",
                "**Restart postgres** needed 2 attempts: make its dependency reliable or its retry unnecessary",
                "**Restore main** ran 12 min (more than 5 min): speed it up or budget for it in the runbook",
                "The decision at **Approve restore** took 8 min 30 s: check the escalation tiers of the contact tree",
                "Recovery took 30 min 10 s, over the RTO of 30 min by 10 s: shorten the slowest steps (Restore main 12 min, Smoke tests 3 min 25 s, Restart postgres 1 min 7 s)",
                "Fix the statuspage notifications that failed during the run",
            ],
            report.Facts.ActionItems);
        Assert.StartsWith("1. [ ] Find and fix why **Status page** failed", items, StringComparison.Ordinal);
        Assert.Contains("8. [ ] Write the root cause and impact above (Owner: incident commander)", items, StringComparison.Ordinal);
        Assert.Contains("(Owner: _unassigned_)", items, StringComparison.Ordinal);
    }

    [Fact]
    public void What_went_well_and_wrong_are_drawn_from_the_run()
    {
        var body = new PostMortemReportBuilder().Build(IncidentInput()).Body;

        Assert.Equal("- Data-loss window of 10 min, within the RPO of 15 min\n\n", Section(body, "## What Went Well"));
        Assert.Equal(
            "- Status page: the statuspage step failed and the workflow went on: Statuspage create incident failed with HTTP 401: Could not authenticate.\n"
            + "- Smoke tests faulted and stopped the run at an incident: GET https://api.example.com/health returned 503\n"
            + "- 2 of 6 step(s) needed more than one attempt: Restart postgres (2 attempts (1 retry)), Smoke tests (2 attempts (1 retried by an operator))\n"
            + "- Recovery took 30 min 10 s, over the RTO of 30 min\n\n",
            Section(body, "## What Went Wrong"));
    }

    [Fact]
    public void A_quiet_drill_without_targets_says_what_was_not_measured()
    {
        var journal = new JournalWriter(Day.AddHours(2));
        journal.Workflow(JournalEvents.WorkflowStarted, actor: "cron");
        journal.Step("e1", "Restore to scratch", "DrWorkflows.RestoreDatabase", 45);
        journal.Workflow(JournalEvents.WorkflowFinished);
        var report = new PostMortemReportBuilder().Build(new PostMortemInput
        {
            InstanceId = "drill-7",
            WorkflowName = "Monthly drill",
            Details = new PostMortemDetails { IsDrill = true, Outcome = "Recovered" },
            GeneratedAt = journal.Now,
            Journal = journal.Entries,
        });

        Assert.Equal("DR drill review: Monthly drill, 2026-03-01", report.Title);
        Assert.Contains("# DR Drill Review", report.Body, StringComparison.Ordinal);
        Assert.Contains("**Severity**: not set", report.Body, StringComparison.Ordinal);
        Assert.Contains("**Drill**: yes", report.Body, StringComparison.Ordinal);
        Assert.Contains("| RTO: incident start to end of the run (02:00:00 → 02:00:45) | not set | 45 s | no target |", report.Body, StringComparison.Ordinal);
        Assert.Contains("| not set | not measured (no restore point given) | — |", report.Body, StringComparison.Ordinal);
        Assert.Contains("No approvals were asked during this run.", report.Body, StringComparison.Ordinal);
        Assert.Contains("No errors, retries or incidents.", report.Body, StringComparison.Ordinal);
        Assert.Empty(report.Facts.ActionItems);
        Assert.Contains("1. [ ] Write the root cause and impact above", report.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("drworkflows-execution", report.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void Reads_the_decisions_the_approval_gates_resume_with()
    {
        var journal = new JournalWriter(Day.AddHours(5));
        journal.Workflow(JournalEvents.WorkflowStarted);
        journal.Add(JournalEvents.Started, "g1", "Isolate network?", "DrWorkflows.ApprovalGate", parent: null);
        journal.Add(JournalEvents.Suspended, "g1", "Isolate network?", "DrWorkflows.ApprovalGate", parent: null);
        journal.Advance(95);
        journal.Add(JournalEvents.Resumed, "g1", "Isolate network?", "DrWorkflows.ApprovalGate", parent: null, actor: "Bob (api)", payload: new JsonObject
        {
            ["bookmarkId"] = "b1",
            ["bookmark"] = "DrWorkflows.Approval",
            ["payload"] = new JsonObject
            {
                ["decision"] = new JsonObject { ["vote"] = "reject", ["by"] = "Bob", ["channel"] = "api", ["option"] = null, ["comment"] = null },
                ["seal"] = "c2VhbA",
            },
        });
        journal.Add(JournalEvents.Completed, "g1", "Isolate network?", "DrWorkflows.ApprovalGate", parent: null, outcomes: ["Rejected"]);
        var report = new PostMortemReportBuilder().Build(new PostMortemInput { InstanceId = "r", GeneratedAt = journal.Now, Journal = journal.Entries });

        Assert.Contains("| 05:01:35 | Isolate network? | reject | Bob | api | 1 min 35 s |  |", report.Body, StringComparison.Ordinal);
        Assert.Equal(1, report.Facts.Approvals);
    }

    [Fact]
    public void Table_cells_cannot_break_the_markdown()
    {
        var journal = new JournalWriter(Day.AddHours(3));
        journal.Workflow(JournalEvents.WorkflowStarted);
        journal.Step("e1", "Check | split", "DrWorkflows.Check", 1, fault: "line one\nline two | with pipe");
        var body = new PostMortemReportBuilder().Build(new PostMortemInput { InstanceId = "r", GeneratedAt = journal.Now, Journal = journal.Entries }).Body;

        Assert.Contains("| Check \\| split | Incident raised |  | line one line two \\| with pipe |", body, StringComparison.Ordinal);
        Assert.Contains("Find and fix why **Check \\| split** failed: line one line two \\| with pipe", body, StringComparison.Ordinal);
    }

    [Fact]
    public void A_huge_journal_stays_under_GitHubs_size_limit()
    {
        var journal = new JournalWriter(Day.AddHours(4));
        journal.Workflow(JournalEvents.WorkflowStarted);
        for (var i = 0; i < 2000; i++)
            journal.Step($"e{i}", $"Copy file number {i} of the media volume to the DR host", "DrWorkflows.CopyFile", 1);
        var report = new PostMortemReportBuilder().Build(new PostMortemInput { InstanceId = "big", GeneratedAt = journal.Now, Journal = journal.Entries });

        Assert.True(report.Body.Length <= PostMortemReportBuilder.MaxBodyLength, $"{report.Body.Length} characters");
        Assert.Contains("| … | 1851 more rows | | | see the run's journal |", report.Body, StringComparison.Ordinal);
        Assert.Contains("Copy file number 1999 of the media volume", report.Body, StringComparison.Ordinal);
        Assert.Contains("## Action Items", report.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failed_run_is_not_recovered_with_the_RTO_not_met_and_the_time_elapsed()
    {
        var journal = new JournalWriter(Day.AddHours(9));
        journal.Workflow(JournalEvents.WorkflowStarted, actor: "alertmanager");
        journal.Step("e1", "Restart postgres", "DrWorkflows.RestartContainer", 3);
        journal.Step("e2", "Wait healthy", "DrWorkflows.WaitForHealthy", 30, outcome: "Unhealthy", outputs: new JsonObject { ["NotReady"] = new JsonArray("ecommerce_postgres: unhealthy (pg_isready: no response)") });
        journal.Workflow(JournalEvents.WorkflowFinished);
        var report = new PostMortemReportBuilder().Build(new PostMortemInput
        {
            InstanceId = "run-9",
            WorkflowName = "Database container failure",
            Details = new PostMortemDetails
            {
                Severity = "SEV-1",
                RtoTarget = TimeSpan.FromMinutes(30),
                Outcome = "Failed",
                FailureReason = "The container is unhealthy after the restart",
            },
            GeneratedAt = journal.Now,
            Journal = journal.Entries,
        });

        Assert.False(report.Facts.Recovered);
        Assert.False(report.Facts.RtoMet);
        Assert.Equal(TimeSpan.FromSeconds(33), report.Facts.RecoveryTime);
        Assert.EndsWith(": not recovered", report.Title, StringComparison.Ordinal);
        Assert.Contains("**Outcome**: **not recovered**: The container is unhealthy after the restart  \n", report.Body, StringComparison.Ordinal);
        Assert.Contains("| RTO: incident start to end of the run (09:00:00 → 09:00:33) | 30 min | not recovered after 33 s | **not met** |", report.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("Recovered in", report.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("**met**", report.Body, StringComparison.Ordinal);
        var wrong = Section(report.Body, "## What Went Wrong");
        Assert.Contains("- Wait healthy ended Unhealthy: ecommerce_postgres: unhealthy (pg_isready: no response)\n", wrong, StringComparison.Ordinal);
        Assert.Contains("- The service was not recovered: The container is unhealthy after the restart (33 s after the incident began)\n", wrong, StringComparison.Ordinal);
        Assert.Contains("- The RTO of 30 min was not met: nothing was recovered in the 33 s the run lasted\n", wrong, StringComparison.Ordinal);
        Assert.StartsWith("Finish the recovery by hand", report.Facts.ActionItems[0], StringComparison.Ordinal);
    }

    [Fact]
    public void The_journal_overrules_a_recovered_claim_a_run_stopped_at_an_open_incident_or_failed_by_an_operator_is_not_recovered()
    {
        var open = new JournalWriter(Day.AddHours(10));
        open.Workflow(JournalEvents.WorkflowStarted);
        open.Step("e1", "Restore main", "DrWorkflows.RestoreDatabase", 12, fault: "pg_restore: error: could not read input file");
        var stopped = new PostMortemReportBuilder().Build(new PostMortemInput { InstanceId = "r", GeneratedAt = open.Now, Journal = open.Entries, Details = new PostMortemDetails { Outcome = "Recovered", RtoTarget = TimeSpan.FromMinutes(30) } });

        Assert.False(stopped.Facts.Recovered);
        Assert.False(stopped.Facts.RtoMet);
        Assert.Contains("- Restore main faulted and stopped the run at an incident: pg_restore: error: could not read input file\n", Section(stopped.Body, "## What Went Wrong"), StringComparison.Ordinal);

        var failed = new JournalWriter(Day.AddHours(11));
        failed.Workflow(JournalEvents.WorkflowStarted);
        failed.Step("e1", "Isolate network", "DrWorkflows.IsolateHostNetwork", 2, fault: "iptables: no DOCKER-USER chain");
        failed.Advance(60);
        failed.Add(JournalEvents.IncidentResolved, "e1", "Isolate network", "DrWorkflows.IsolateHostNetwork", parent: null, actor: "bob (api)", payload: new JsonObject { ["incidentId"] = "i1", ["resolution"] = "Fail" });
        failed.Workflow(JournalEvents.WorkflowFaulted);
        var byOperator = new PostMortemReportBuilder().Build(new PostMortemInput { InstanceId = "r", GeneratedAt = failed.Now, Journal = failed.Entries, Details = new PostMortemDetails { Outcome = "Recovered" } });

        Assert.False(byOperator.Facts.Recovered);
        var wrong = Section(byOperator.Body, "## What Went Wrong");
        Assert.Contains("- Isolate network was failed by bob (api): the run stopped there\n", wrong, StringComparison.Ordinal);
        Assert.Contains("- The run ended faulted\n", wrong, StringComparison.Ordinal);
    }

    [Fact]
    public void What_went_wrong_lists_rejections_timeouts_skipped_steps_and_interrupted_attempts()
    {
        var j = new JournalWriter(Day.AddHours(12));
        j.Workflow(JournalEvents.WorkflowStarted);
        j.Add(JournalEvents.Started, "g1", "Approve restore", "DrWorkflows.ApprovalGate", parent: null);
        j.Add(JournalEvents.Suspended, "g1", "Approve restore", "DrWorkflows.ApprovalGate", parent: null, payload: new JsonObject { ["bookmarkId"] = "b1" });
        j.Advance(40);
        j.Add(JournalEvents.Resumed, "g1", "Approve restore", "DrWorkflows.ApprovalGate", parent: null, actor: "U0DANA0001 (slack)", payload: Vote("reject", "U0DANA0001", "slack", "the DBA repairs the WAL by hand"));
        j.Add(JournalEvents.Completed, "g1", "Approve restore", "DrWorkflows.ApprovalGate", parent: null, outcomes: ["Rejected"]);
        j.Add(JournalEvents.Started, "g2", "Lift isolation?", "DrWorkflows.ApprovalGate", parent: null);
        j.Add(JournalEvents.Suspended, "g2", "Lift isolation?", "DrWorkflows.ApprovalGate", parent: null);
        j.Advance(3600);
        j.Add(JournalEvents.Resumed, "g2", "Lift isolation?", "DrWorkflows.ApprovalGate", parent: null, actor: "timer");
        j.Add(JournalEvents.Completed, "g2", "Lift isolation?", "DrWorkflows.ApprovalGate", parent: null, outcomes: ["TimedOut"]);
        j.Add(JournalEvents.Started, "e3", "Verify backup", "DrWorkflows.VerifyLatestBackup", parent: null);
        j.Advance(20);
        j.Add(JournalEvents.Interrupted, "e3", "Verify backup", "DrWorkflows.VerifyLatestBackup", parent: null, message: "the node running it stopped (SIGKILL) 31 s ago");
        j.Add(JournalEvents.Started, "e3", "Verify backup", "DrWorkflows.VerifyLatestBackup", parent: null, attempt: 2);
        j.Advance(5);
        j.Add(JournalEvents.Completed, "e3", "Verify backup", "DrWorkflows.VerifyLatestBackup", parent: null, attempt: 2);
        j.Step("e4", "Stop containers", "DrWorkflows.StopContainers", 1, fault: "container is dead");
        j.Add(JournalEvents.IncidentResolved, "e4", "Stop containers", "DrWorkflows.StopContainers", parent: null, actor: "alice (api)", payload: new JsonObject { ["incidentId"] = "i1", ["resolution"] = "Skip" });
        j.Add(JournalEvents.Completed, "e4", "Stop containers", "DrWorkflows.StopContainers", parent: null, outcomes: ["Failed"]);
        var report = new PostMortemReportBuilder().Build(new PostMortemInput
        {
            InstanceId = "r",
            GeneratedAt = j.Now,
            Journal = j.Entries,
            Details = new PostMortemDetails { Outcome = "Failed", FailureReason = "The restore was rejected" },
            PersonName = (channel, subject) => channel == "slack" && subject == "U0DANA0001" ? "Dana" : null,
        });

        var wrong = Section(report.Body, "## What Went Wrong");
        Assert.Contains("- Approve restore was rejected by Dana: the DBA repairs the WAL by hand\n", wrong, StringComparison.Ordinal);
        Assert.Contains("- Nobody decided Lift isolation? in time (it waited 1 h 0 min)\n", wrong, StringComparison.Ordinal);
        Assert.Contains("- Verify backup: attempt 1 was interrupted (the node running it stopped (SIGKILL) 31 s ago); the restart noticed it at 13:01:00 UTC\n", wrong, StringComparison.Ordinal);
        Assert.Contains("- Stop containers was skipped by alice (api) instead of completing\n", wrong, StringComparison.Ordinal);
        Assert.Contains("- 1 of 4 step(s) needed more than one attempt: Verify backup (2 attempts (1 interrupted))\n", wrong, StringComparison.Ordinal);
        var problems = Section(report.Body, "## Errors and Retries");
        Assert.Contains("| 13:01:00 | Verify backup | Interrupted (attempt 1) | the node running it stopped (SIGKILL) 31 s ago |", problems, StringComparison.Ordinal);
        Assert.Contains("| 12:00:40 | Approve restore | Ended Rejected |  |", problems, StringComparison.Ordinal);
        Assert.Contains("| 12:00:40 | Approve restore | reject | Dana | slack | 40 s | the DBA repairs the WAL by hand |", report.Body, StringComparison.Ordinal);
        Assert.Equal(1, report.Facts.InterruptedAttempts);
        Assert.Equal(1, report.Facts.StepsWithMoreThanOneAttempt);
        Assert.Contains(report.Facts.ActionItems, a => a.StartsWith("Find out why the orchestrator stopped during Verify backup", StringComparison.Ordinal));
    }

    [Fact]
    public void A_gate_shows_how_long_it_waited_from_the_journal_and_the_approver_by_contact_name()
    {
        // As the runtime journals a gate: the decision bookmark and the publish bookmark, the publish resumed at once
        // (the gate waits on without a new Suspended entry), the decision 64 s later.
        var j = new JournalWriter(Day.AddHours(14));
        j.Workflow(JournalEvents.WorkflowStarted);
        j.Add(JournalEvents.Started, "g1", "ApproveRestore", "DrWorkflows.ApprovalGate", parent: null);
        j.Add(JournalEvents.Suspended, "g1", "ApproveRestore", "DrWorkflows.ApprovalGate", parent: null, payload: new JsonObject { ["bookmarkId"] = "b-decision", ["bookmark"] = "DrWorkflows.ApprovalGate" });
        j.Add(JournalEvents.Suspended, "g1", "ApproveRestore", "DrWorkflows.ApprovalGate", parent: null, payload: new JsonObject { ["bookmarkId"] = "b-publish", ["bookmark"] = "DrWorkflows.ApprovalGate.Publish" });
        j.Advance(0.05);
        j.Add(JournalEvents.Resumed, "g1", "ApproveRestore", "DrWorkflows.ApprovalGate", parent: null, actor: "timer", payload: new JsonObject { ["bookmarkId"] = "b-publish", ["bookmark"] = "DrWorkflows.ApprovalGate.Publish" });
        j.Advance(63.95);
        j.Add(JournalEvents.Resumed, "g1", "ApproveRestore", "DrWorkflows.ApprovalGate", parent: null, actor: "U0INES0001 (slack)", payload: Vote("approve", "U0INES0001", "slack", "go"));
        j.Add(JournalEvents.Completed, "g1", "ApproveRestore", "DrWorkflows.ApprovalGate", parent: null, outcomes: ["Approved"]);
        var report = new PostMortemReportBuilder().Build(new PostMortemInput
        {
            InstanceId = "r",
            GeneratedAt = j.Now,
            Journal = j.Entries,
            Details = new PostMortemDetails { Outcome = "Recovered" },
            PersonName = (channel, subject) => channel == "slack" && subject == "U0INES0001" ? "Ines" : null,
        });

        Assert.Contains("| 14:01:04 | ApproveRestore | approve | Ines | slack | 1 min 4 s | go |", report.Body, StringComparison.Ordinal);
        Assert.Contains("| 14:00:00 | ApproveRestore | Completed (Approved) | 1 min 4 s | ApprovalGate; waited 1 min 4 s |", report.Body, StringComparison.Ordinal);
        Assert.Contains("| 14:01:04 | ApproveRestore | Decision: approve | 1 min 4 s | by Ines via slack: go |", report.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("0.0 s", report.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("U0INES0001", report.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("| Resumed |", report.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void A_check_whose_failure_is_the_detection_is_not_listed_as_what_went_wrong()
    {
        var j = new JournalWriter(Day.AddHours(15));
        j.Workflow(JournalEvents.WorkflowStarted);
        j.Step("e1", "CheckPrimary", "DrWorkflows.SmokeTest", 25, outcome: "Failed", outputs: new JsonObject { ["Failures"] = new JsonArray("GET https://api.example.com/health: connection refused") });
        j.Step("e2", "Restore main", "DrWorkflows.RestoreDatabase", 10);
        j.Workflow(JournalEvents.WorkflowFinished);
        PostMortemReport Build(IReadOnlyDictionary<string, IReadOnlySet<string>> detection) => new PostMortemReportBuilder().Build(new PostMortemInput
        {
            InstanceId = "r",
            GeneratedAt = j.Now,
            Journal = j.Entries,
            Details = new PostMortemDetails { Outcome = "Recovered" },
            DetectionOutcomes = detection,
        });

        var marked = Build(new Dictionary<string, IReadOnlySet<string>> { ["e1-activity"] = new HashSet<string> { "Failed" } });
        var unmarked = Build(new Dictionary<string, IReadOnlySet<string>>());

        Assert.Contains("**Detected by**: CheckPrimary (Failed)", marked.Body, StringComparison.Ordinal);
        Assert.Equal("Nothing recorded in the journal.\n\n", Section(marked.Body, "## What Went Wrong"));
        Assert.Contains("- The incident was confirmed by CheckPrimary (Failed)\n", Section(marked.Body, "## What Went Well"), StringComparison.Ordinal);
        Assert.Contains("| CheckPrimary | Completed (Failed) | 25 s | SmokeTest; detection: confirms the incident |", marked.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(marked.Facts.ActionItems, a => a.Contains("CheckPrimary", StringComparison.Ordinal));
        Assert.Equal(0, marked.Facts.FailedSteps);
        Assert.Contains(unmarked.Facts.ActionItems, a => a.StartsWith("Find and fix why **CheckPrimary** failed", StringComparison.Ordinal));
        Assert.Contains("- CheckPrimary ended Failed: GET https://api.example.com/health: connection refused\n", Section(unmarked.Body, "## What Went Wrong"), StringComparison.Ordinal);
    }

    [Fact]
    public void Attempt_counts_come_from_the_journal_nothing_retried_means_every_step_at_its_first_attempt()
    {
        var j = new JournalWriter(Day.AddHours(16));
        j.Workflow(JournalEvents.WorkflowStarted);
        for (var i = 0; i < 34; i++)
            j.Step($"e{i}", $"Step {i}", "DrWorkflows.Step", 1, outcome: i == 5 ? "Failed" : null);
        j.Workflow(JournalEvents.WorkflowFinished);
        var report = new PostMortemReportBuilder().Build(new PostMortemInput { InstanceId = "r", GeneratedAt = j.Now, Journal = j.Entries, Details = new PostMortemDetails { Outcome = "Failed" } });

        Assert.Contains("- All 34 steps ran at their first attempt\n", Section(report.Body, "## What Went Well"), StringComparison.Ordinal);
        Assert.DoesNotContain(" of 34 ", report.Body, StringComparison.Ordinal);
        Assert.Equal(0, report.Facts.StepsWithMoreThanOneAttempt);
        Assert.Equal(0, report.Facts.Retries);
    }

    [Fact]
    public void Without_an_outcome_the_report_judges_no_RTO()
    {
        var j = new JournalWriter(Day.AddHours(17));
        j.Workflow(JournalEvents.WorkflowStarted);
        j.Step("e1", "Restore main", "DrWorkflows.RestoreDatabase", 33);
        j.Workflow(JournalEvents.WorkflowFinished);
        var report = new PostMortemReportBuilder().Build(new PostMortemInput { InstanceId = "r", GeneratedAt = j.Now, Journal = j.Entries, Details = new PostMortemDetails { RtoTarget = TimeSpan.FromMinutes(30) } });

        Assert.Null(report.Facts.Recovered);
        Assert.Null(report.Facts.RtoMet);
        Assert.Contains("**Outcome**: not stated by the workflow (no verdict on the RTO)", report.Body, StringComparison.Ordinal);
        Assert.Contains("| 30 min | 33 s elapsed | not judged: the workflow did not say whether it recovered |", report.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("Recovered in", report.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failed_drill_says_so_even_when_every_component_came_back()
    {
        var j = new JournalWriter(Day.AddHours(6.5));
        j.Workflow(JournalEvents.WorkflowStarted, actor: "schedule:30 6 1 * *");
        j.Step("e1", "RehearsePostgresMain", "DrWorkflows.RehearseRestore", 12, outcome: "Recovered");
        j.Step("e2", "CheckObjectives", "DrWorkflows.CheckRecoveryObjectives", 0, outcome: "Missed", outputs: new JsonObject { ["Missed"] = new JsonArray("PostgreSQL (Main): the RPO of 15 min 00 s cannot hold by design") });
        var report = new PostMortemReportBuilder().Build(new PostMortemInput
        {
            InstanceId = "drill-9",
            WorkflowName = "DR drill (monthly)",
            GeneratedAt = j.Now,
            Journal = j.Entries,
            Details = new PostMortemDetails { IsDrill = true, Outcome = "Recovered", FailureReason = "PostgreSQL (Main): the RPO of 15 min 00 s cannot hold by design", RtoTarget = TimeSpan.FromHours(1) },
        });

        Assert.Contains("**Outcome**: drill **FAILED**: PostgreSQL (Main): the RPO of 15 min 00 s cannot hold by design", report.Body, StringComparison.Ordinal);
        var wrong = Section(report.Body, "## What Went Wrong");
        Assert.Contains("- CheckObjectives ended Missed: PostgreSQL (Main): the RPO of 15 min 00 s cannot hold by design\n", wrong, StringComparison.Ordinal);
        Assert.Contains("- The drill failed: PostgreSQL (Main): the RPO of 15 min 00 s cannot hold by design\n", wrong, StringComparison.Ordinal);
    }

    private static JsonObject Vote(string vote, string subject, string channel, string? comment) => new()
    {
        ["bookmarkId"] = "b-decision",
        ["bookmark"] = "DrWorkflows.ApprovalGate",
        ["payload"] = new JsonObject
        {
            ["decision"] = new JsonObject { ["vote"] = vote, ["by"] = subject, ["channel"] = channel, ["subject"] = subject, ["option"] = null, ["comment"] = comment },
        },
    };

    [Theory]
    [InlineData(0.4, "0.4 s")]
    [InlineData(8, "8 s")]
    [InlineData(59, "59 s")]
    [InlineData(60, "1 min")]
    [InlineData(2530, "42 min 10 s")]
    [InlineData(8100, "2 h 15 min")]
    [InlineData(-5, "0 s")]
    public void Durations_read_like_the_plan(double seconds, string expected) =>
        Assert.Equal(expected, PostMortemReportBuilder.Duration(TimeSpan.FromSeconds(seconds)));

    /// <summary>The database-failure run of the tests, as the runtime journals it.</summary>
    private static PostMortemInput IncidentInput()
    {
        var j = new JournalWriter(Day.AddHours(14));
        j.Workflow(JournalEvents.WorkflowStarted, actor: "alertmanager");
        j.Add(JournalEvents.Started, "e0", "Flowchart1", "Elsa.Flowchart", parent: null);
        j.Step("e1", "Check database", "DrWorkflows.ContainerStatus", 2, parent: "e0", startAfter: 1);

        j.Add(JournalEvents.Started, "e2", "Restart postgres", "DrWorkflows.RestartContainer", parent: "e0");
        j.Advance(30);
        j.Add(JournalEvents.Retrying, "e2", "Restart postgres", "DrWorkflows.RestartContainer", parent: "e0",
            payload: new JsonObject { ["error"] = "container postgres is unhealthy", ["attempt"] = 1, ["maxAttempts"] = 3 });
        j.Add(JournalEvents.Suspended, "e2", "Restart postgres", "DrWorkflows.RestartContainer", parent: "e0", payload: new JsonObject { ["bookmark"] = "DrWorkflows.Retry" });
        j.Advance(10);
        j.Add(JournalEvents.Started, "e2", "Restart postgres", "DrWorkflows.RestartContainer", parent: "e0", attempt: 2);
        j.Advance(27);
        j.Add(JournalEvents.Completed, "e2", "Restart postgres", "DrWorkflows.RestartContainer", parent: "e0", attempt: 2);

        j.Add(JournalEvents.Started, "e3", "Approve restore", "DrWorkflows.ApprovalGate", parent: "e0");
        j.Advance(1);
        j.Add(JournalEvents.Suspended, "e3", "Approve restore", "DrWorkflows.ApprovalGate", parent: "e0", payload: new JsonObject { ["bookmark"] = "Approval" });
        j.Advance(510);
        j.Add(JournalEvents.Resumed, "e3", "Approve restore", "DrWorkflows.ApprovalGate", parent: "e0", actor: "slack:U0JANE", payload: new JsonObject
        {
            ["bookmark"] = "Approval",
            ["payload"] = new JsonObject { ["decision"] = new JsonObject { ["by"] = "jane", ["channel"] = "slack", ["comment"] = "go ahead, the backup is verified", ["option"] = "Approve" } },
        });
        j.Add(JournalEvents.Completed, "e3", "Approve restore", "DrWorkflows.ApprovalGate", parent: "e0", outcomes: ["Approve"]);

        j.Step("e4", "Restore main", "DrWorkflows.RestoreDatabase", 720, parent: "e0", startAfter: 1);

        j.Advance(1);
        j.Add(JournalEvents.Started, "e5", "Status page", "DrWorkflows.CreateStatusPageIncident", parent: "e0");
        j.Advance(1);
        j.Add(JournalEvents.Completed, "e5", "Status page", "DrWorkflows.CreateStatusPageIncident", parent: "e0", outcomes: ["Failed"], payload: new JsonObject
        {
            ["durationMs"] = 1000,
            ["data"] = new JsonObject { ["failure"] = new JsonObject { ["channel"] = "statuspage", ["message"] = "Statuspage create incident failed with HTTP 401: Could not authenticate." } },
        });

        j.Step("e6", "Smoke tests", "DrWorkflows.HttpSmokeTest", 15, parent: "e0", startAfter: 1, fault: "GET https://api.example.com/health returned 503");
        j.Advance(180);
        j.Add(JournalEvents.IncidentResolved, "e6", "Smoke tests", "DrWorkflows.HttpSmokeTest", parent: "e0", actor: "bob", payload: new JsonObject { ["incidentId"] = "i1", ["resolution"] = "Retry" });
        j.Advance(1);
        j.Add(JournalEvents.Started, "e6", "Smoke tests", "DrWorkflows.HttpSmokeTest", parent: "e0", attempt: 2);
        j.Advance(9);
        j.Add(JournalEvents.Completed, "e6", "Smoke tests", "DrWorkflows.HttpSmokeTest", parent: "e0", attempt: 2);
        j.Advance(1);
        j.Add(JournalEvents.Started, "exec-pm", "Open post-mortem", "DrWorkflows.OpenPostMortemIssue", parent: "e0");
        j.Advance(1);

        return new PostMortemInput
        {
            InstanceId = "run-42",
            ExecutionId = "exec-pm",
            WorkflowName = "Database container failure",
            DefinitionId = "db-failure",
            Details = new PostMortemDetails
            {
                Severity = "SEV-1",
                Summary = "The main database container stopped answering health checks.",
                IncidentStartedAt = Day.AddHours(14).AddMinutes(-5),
                ServiceRestoredAt = Day.AddHours(14).AddMinutes(25).AddSeconds(10),
                LastGoodDataAt = Day.AddHours(14).AddMinutes(-15),
                RtoTarget = TimeSpan.FromMinutes(30),
                RpoTarget = TimeSpan.FromMinutes(15),
                Outcome = "Recovered",
            },
            GeneratedAt = j.Now,
            Journal = j.Entries,
        };
    }

    /// <summary>The text of a section up to the next heading.</summary>
    private static string Section(string body, string heading)
    {
        var start = body.IndexOf(heading + "\n", StringComparison.Ordinal) + heading.Length + 1;
        var end = body.IndexOf("\n## ", start, StringComparison.Ordinal);
        return end < 0 ? body[start..] : body[start..(end + 1)];
    }

    /// <summary>Writes journal entries the way the runtime does, on a clock moved by hand.</summary>
    private sealed class JournalWriter(DateTimeOffset start)
    {
        private readonly List<JournalEntry> entries = [];

        public DateTimeOffset Now { get; private set; } = start;

        public IReadOnlyList<JournalEntry> Entries => entries;

        public void Advance(double seconds) => Now = Now.AddSeconds(seconds);

        public void Workflow(string eventName, string? actor = null) =>
            entries.Add(new JournalEntry { Id = $"j{entries.Count}", InstanceId = "run", Sequence = entries.Count, Timestamp = Now, EventName = eventName, Actor = actor });

        public void Add(string eventName, string executionId, string name, string type, string? parent, int attempt = 1, string? actor = null, JsonObject? payload = null, IReadOnlyList<string>? outcomes = null, string? message = null) =>
            entries.Add(new JournalEntry
            {
                Id = $"j{entries.Count}",
                InstanceId = "run",
                Sequence = entries.Count,
                Timestamp = Now,
                EventName = eventName,
                ExecutionId = executionId,
                ParentExecutionId = parent,
                ActivityId = executionId + "-activity",
                ActivityName = name,
                ActivityType = type,
                Attempt = attempt,
                Actor = actor,
                Payload = payload,
                Outcomes = outcomes ?? (eventName == JournalEvents.Completed ? ["Done"] : null),
                Message = message,
            });

        /// <summary>A step that starts after <paramref name="startAfter"/> seconds and ends after <paramref name="seconds"/>, completed (on <paramref name="outcome"/>) or faulted.</summary>
        public void Step(string executionId, string name, string type, double seconds, string? parent = null, double startAfter = 0, string? fault = null, string? outcome = null, JsonObject? outputs = null)
        {
            Advance(startAfter);
            Add(JournalEvents.Started, executionId, name, type, parent);
            Advance(seconds);
            if (fault is null)
                Add(JournalEvents.Completed, executionId, name, type, parent, outcomes: outcome is null ? null : [outcome], payload: outputs is null ? null : new JsonObject { ["outputs"] = outputs });
            else
                Add(JournalEvents.Faulted, executionId, name, type, parent, payload: new JsonObject { ["incidentId"] = "i1", ["kind"] = "Fault", ["error"] = fault }, message: fault);
        }
    }
}
