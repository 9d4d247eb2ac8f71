using DrWorkflows.Activities.Backups;
using DrWorkflows.Core.Execution;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Workflows.Tests;

/// <summary>Scenario 1 on the real runtime: restart first, restore only after an approval, comms and post-mortem on every path.</summary>
public sealed class DatabaseContainerFailureTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 14, 0, 0, TimeSpan.Zero);

    private static readonly object Input = new { Reason = "DatabaseDown alert 4711", Container = "ecommerce_postgres", Database = "ecommerce_db" };

    /// <summary>Every service the Compose files declare (the fake's), as the whole-platform waits name them.</summary>
    private const string Platform = "api_gateway,backend,postgres";

    [Fact]
    public async Task A_restart_that_makes_the_container_healthy_restores_nothing_and_resolves_the_incident_after_monitoring()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        dr.Docker.Health.Enqueue(false); // inspect: unhealthy
        dr.Docker.Health.Enqueue(true);  // 30 s after the restart: healthy

        var run = await dr.RunAsync(DatabaseContainerFailure.Id, Input);
        Assert.Equal(WorkflowSubStatus.Suspended, run.SubStatus); // monitoring: one check a minute
        for (var minute = 0; minute < 5; minute++)
            await dr.AdvanceAsync(TimeSpan.FromMinutes(1));

        var done = await dr.StateAsync(run.Id);
        Assert.Equal(WorkflowSubStatus.Finished, done.SubStatus);
        Assert.Equal("Recovered", done.Output["Outcome"]!.ToString());
        dr.Calls.AssertOrder(
            "slack.post new :rotating_light: *SEV-1 Database container failure*",
            "statuspage.create investigating",
            "email ",
            "docker.wait-healthy ecommerce_postgres 5s -> unhealthy",
            "docker.restart ecommerce_postgres",
            "docker.wait-healthy ecommerce_postgres 30s -> healthy",
            "postgres.integrity main/ecommerce_db -> passed",
            "docker.wait-healthy project:ecommerce:" + Platform + " 180s -> healthy",
            "docker.exec ecommerce_backend",
            "smoke https://api.example.com/health -> passed",
            "statuspage.update sp-incident-1 resolved",
            "github.post-mortem SEV-1");
        Assert.Empty(dr.Calls.Of("postgres.restore"));
        Assert.Empty(dr.Calls.Of("docker.stop"));
        Assert.Equal(5, dr.Calls.Of("docker.wait-healthy project:ecommerce:" + Platform + " 30s").Count); // monitoring: every service, five times
        Assert.Empty(await dr.Get<DrWorkflows.Activities.Approvals.IApprovalService>().ListAsync(new() { InstanceId = run.Id }, DrTestHost.Ct));

        // Every update went into the incident thread started by the first message.
        var posts = dr.Comms.SlackPosts.ToList();
        Assert.Null(posts[0].ThreadTs);
        Assert.All(posts.Skip(1), p => Assert.Equal("1700000000.000001", p.ThreadTs));
        // The opening is one step (announcement, status page, paging), and what it learnt is in the variables the later steps read.
        var completed = await dr.CompletedAsync(run.Id);
        Assert.Equal(["checkConfiguration", "openIncident"], completed.Take(2));
        Assert.DoesNotContain(completed, id => id is "severity" or "announce" or "statusPageOpen" or "page");
        Assert.Equal("Done", await dr.OutcomeAsync(run.Id, "openIncident"));
        Assert.Equal("SEV-1", done.Variables["Severity"]?.GetValue<string>());
        Assert.Equal("1700000000.000001", done.Variables["SlackThread"]?.GetValue<string>());
        Assert.Equal("sp-incident-1", done.Variables["StatusPageIncidentId"]?.GetValue<string>());
        var postMortem = Assert.Single(dr.PostMortems.Requests);
        Assert.Equal(TimeSpan.FromMinutes(30), postMortem.Details.RtoTarget);
        Assert.Contains("Recovered by DrWorkflows", postMortem.Details.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_restart_asks_to_restore_with_the_backup_evidence_and_restores_that_backup_once_approved()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "older", null, "ecommerce_db", DrTestHost.Ct, Now.AddHours(-8), verified: true);
        var newest = await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "newest", null, "ecommerce_db", DrTestHost.Ct, Now.AddHours(-2), verified: true);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "unverified", null, "ecommerce_db", DrTestHost.Ct, Now.AddHours(-1));
        dr.Docker.Health.Enqueue(false);
        dr.Docker.Health.Enqueue(false);

        var run = await dr.RunAsync(DatabaseContainerFailure.Id, Input);

        // The verified backups, newest first; the newest is the default. The unverified one (1 h old) is not offered.
        var gate = await dr.PendingGateAsync(run.Id);
        Assert.Equal("Restore the database from backup?", gate.Title);
        Assert.Equal(["2026-11-20 12:05 UTC, verified, set newest", "2026-11-20 06:05 UTC, verified, set older"], gate.Options);
        Assert.Equal(gate.Options[0], gate.DefaultOption);
        Assert.Equal("newest", gate.Facts!["backupSet"]!.ToString());
        Assert.True(gate.Facts["verified"]!.GetValue<bool>());
        Assert.Equal(1.92, gate.Facts["backupAgeHours"]!.GetValue<double>()); // completed 5 minutes after it started
        Assert.Equal(2.0, gate.Facts["rpoImpactHours"]!.GetValue<double>());
        Assert.Contains("pg_isready: no response", gate.Facts["health"]!.ToString(), StringComparison.Ordinal);
        Assert.Empty(dr.Calls.Of("docker.stop"));
        Assert.Empty(dr.Calls.Of("postgres.restore"));

        await dr.DecideAsync(run.Id, "approve", comment: "2 h of orders are in the payment provider, restore");
        for (var minute = 0; minute < 5; minute++)
            await dr.AdvanceAsync(TimeSpan.FromMinutes(1));

        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Recovered", done.Output["Outcome"]!.ToString());
        dr.Calls.AssertOrder(
            "docker.restart ecommerce_postgres",
            "docker.wait-healthy ecommerce_postgres 30s -> unhealthy",
            "docker.stop ecommerce_postgres",
            "docker.start ecommerce_postgres",
            "postgres.wait main -> ready",
            "postgres.restore newest -> main/ecommerce_db Recreate",
            "postgres.integrity main/ecommerce_db vs newest -> passed",
            "docker.wait-healthy ecommerce_postgres 120s -> healthy",
            "docker.wait-healthy project:ecommerce:" + Platform + " 180s -> healthy",
            "docker.exec ecommerce_backend",
            "smoke ",
            "statuspage.update sp-incident-1 resolved",
            "github.post-mortem SEV-1");
        Assert.Equal(newest.Manifest.StartedAt, Assert.Single(dr.PostMortems.Requests).Details.LastGoodDataAt);
    }

    [Fact]
    public async Task An_older_verified_backup_can_be_chosen_instead_of_the_default()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "older", null, "ecommerce_db", DrTestHost.Ct, Now.AddHours(-8), verified: true);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "newest", null, "ecommerce_db", DrTestHost.Ct, Now.AddHours(-2), verified: true);
        dr.Docker.DefaultHealthy = false;

        var run = await dr.RunAsync(DatabaseContainerFailure.Id, Input);
        await dr.DecideAsync(run.Id, "approve", option: "2", comment: "the newest one already has the bad migration");

        Assert.Contains("postgres.restore older -> main/ecommerce_db Recreate", dr.Calls.Calls);
        Assert.DoesNotContain(dr.Calls.Calls, c => c.StartsWith("postgres.restore newest", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_any_verified_backup_the_unverified_ones_are_offered_marked_and_only_a_typed_confirmation_restores_one()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "unproven", null, "ecommerce_db", DrTestHost.Ct, Now.AddHours(-2));
        dr.Docker.DefaultHealthy = false;

        var run = await dr.RunAsync(DatabaseContainerFailure.Id, Input);

        var gate = await dr.PendingGateAsync(run.Id);
        Assert.Equal(["UNVERIFIED (never restore-tested): 2026-11-20 12:05 UTC, set unproven"], gate.Options);
        Assert.Null(gate.DefaultOption);
        Assert.Contains("NO VERIFIED BACKUP EXISTS", gate.Question, StringComparison.Ordinal);
        Assert.False(gate.Facts!["verified"]!.GetValue<bool>());
        var refused = await dr.Get<DrWorkflows.Activities.Approvals.IApprovalService>().DecideAsync(gate.ApprovalId, DrTestHost.OnCall, new() { Vote = "approve", Option = "1" }, DrTestHost.Ct);
        Assert.Equal(DrWorkflows.Activities.Approvals.ApprovalCodes.ConfirmationRequired, refused.Refusal!.Code);
        Assert.Empty(dr.Calls.Of("docker.stop"));

        await dr.DecideAsync(run.Id, "approve", option: "1", comment: "it is all we have", confirmation: "restore unverified set unproven");

        Assert.Contains("postgres.restore unproven -> main/ecommerce_db Recreate", dr.Calls.Calls);
    }

    [Fact]
    public async Task A_rejected_restore_takes_the_safe_path_touching_nothing_and_still_reports_and_opens_the_post_mortem()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "newest", null, "ecommerce_db", DrTestHost.Ct, Now.AddHours(-2), verified: true);
        dr.Docker.DefaultHealthy = false;

        var run = await dr.RunAsync(DatabaseContainerFailure.Id, Input);
        await dr.DecideAsync(run.Id, "reject", comment: "the DBA is repairing the WAL by hand");

        var done = await dr.StateAsync(run.Id);
        Assert.Equal(WorkflowSubStatus.Finished, done.SubStatus);
        Assert.Equal("Failed", done.Output["Outcome"]!.ToString());
        Assert.Contains("rejected by oncall: the DBA is repairing the WAL by hand", done.Output["FailureReason"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(("approveRestore", "Rejected", "approveRestore:Rejected"), await dr.FailureSourceAsync(run.Id));
        Assert.Empty(dr.Calls.Of("docker.stop"));
        Assert.Empty(dr.Calls.Of("postgres.restore"));
        dr.Calls.AssertOrder("statuspage.update sp-incident-1 identified", "email ", "github.post-mortem SEV-1");
        Assert.DoesNotContain(dr.Calls.Calls, c => c.StartsWith("statuspage.update sp-incident-1 resolved", StringComparison.Ordinal));
        Assert.Contains("Automated recovery stopped", Assert.Single(dr.PostMortems.Requests).Details.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_healthy_database_is_not_enough_the_run_waits_for_every_service_and_fails_naming_those_not_ready()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        dr.Docker.Health.Enqueue(false); // inspect: the database is unhealthy
        dr.Docker.Health.Enqueue(true);  // 30 s after the restart: the database is healthy
        dr.Docker.Health.Enqueue(false); // but the platform is not

        var run = await dr.RunAsync(DatabaseContainerFailure.Id, new { Reason = "DatabaseDown alert 4712", ExcludeServices = new[] { "api_gateway" }, PlatformTimeoutSeconds = 90 });

        var done = await dr.StateAsync(run.Id);
        Assert.Equal(WorkflowSubStatus.Finished, done.SubStatus);
        Assert.Equal("Failed", done.Output["Outcome"]!.ToString());
        Assert.Equal(DrWorkflows.Activities.Docker.WaitForHealthy.Unhealthy, await dr.OutcomeAsync(run.Id, "waitPlatform"));
        Assert.Contains("docker.wait-healthy project:ecommerce:" + Platform + " 90s -> unhealthy", dr.Calls.Calls);
        var reason = done.Output["FailureReason"]!.ToString();
        Assert.StartsWith("The database is back, but the platform is not healthy: ", reason, StringComparison.Ordinal);
        Assert.Contains("backend: unhealthy (last check: pg_isready: no response)", reason, StringComparison.Ordinal);
        Assert.Equal(("waitPlatform", "Unhealthy", "waitPlatform:Unhealthy"), await dr.FailureSourceAsync(run.Id));
        Assert.Empty(dr.Calls.Of("docker.exec"));
        Assert.Empty(dr.Calls.Of("smoke"));
        Assert.DoesNotContain("Recovered", Assert.Single(dr.PostMortems.Requests).Details.Summary, StringComparison.Ordinal);
        var journal = await dr.Host.JournalAsync(run.Id);
        var health = Assert.Single(journal, e => e.EventName == JournalEvents.Completed && e.ActivityId == "waitPlatform").Payload!["data"]!["health"]!;
        Assert.Equal(["api_gateway"], health["excluded"]!.AsArray().Select(e => e!.ToString()));
    }

    [Fact]
    public async Task An_operator_who_abandons_a_faulted_restore_sends_the_run_down_the_failure_path_to_the_post_mortem()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "newest", null, "ecommerce_db", DrTestHost.Ct, Now.AddHours(-2), verified: true);
        dr.Docker.DefaultHealthy = false;
        dr.Databases.FailRestore = true;

        var run = await dr.RunAsync(DatabaseContainerFailure.Id, Input);
        await dr.DecideAsync(run.Id, "approve");

        var faulted = await dr.StateAsync(run.Id);
        Assert.Equal(WorkflowSubStatus.Faulted, faulted.SubStatus);
        var incident = Assert.Single(faulted.Incidents);
        Assert.Equal("restore", incident.ActivityId);
        Assert.Empty(dr.PostMortems.Requests);

        await dr.Host.Runtime.ResolveIncidentAsync(run.Id, incident.Id, IncidentResolution.Skip, "operator", "Failed", DrTestHost.Ct);
        await dr.Host.DrainAsync(DrTestHost.Ct);

        var done = await dr.StateAsync(run.Id);
        Assert.Equal(WorkflowSubStatus.Finished, done.SubStatus);
        Assert.Equal("Failed", done.Output["Outcome"]!.ToString());
        Assert.Contains("The restore failed (the operator abandoned the step)", done.Output["FailureReason"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(("restore", "Failed", "restore:Failed"), await dr.FailureSourceAsync(run.Id));
        Assert.Single(dr.PostMortems.Requests);
    }

    [Fact]
    public async Task With_no_dump_but_a_pgBackRest_backup_the_point_in_time_restore_is_offered_alone_instead_of_ending_as_no_backup()
    {
        var pgBackRest = new RangeOnlyPgBackRest(Now.AddHours(-20), Now.AddMinutes(-1));
        await using var dr = await DrTestHost.StartAsync(Now, services => services.AddSingleton<DrWorkflows.Activities.PgBackRest.IPgBackRest>(pgBackRest));
        dr.Docker.Health.Enqueue(false);
        dr.Docker.Health.Enqueue(false);

        var run = await dr.RunAsync(DatabaseContainerFailure.Id, Input);

        var gate = await dr.PendingGateAsync(run.Id);
        var option = Assert.Single(gate.Options);
        Assert.StartsWith("Latest with pgBackRest", option, StringComparison.Ordinal);
        Assert.Equal(option, gate.DefaultOption);
        Assert.Contains("No dump of it exists: the pgBackRest restore is the only way back.", gate.Question, StringComparison.Ordinal);
        Assert.Null(gate.Facts!["backupSet"]);
        Assert.Null(gate.Facts["rpoImpactHours"]);
        Assert.Equal(option, gate.Facts["pointInTime"]!.ToString());
        Assert.Equal(["ecommerce_postgres main"], pgBackRest.Checked);
    }

    [Fact]
    public async Task With_neither_a_dump_nor_pgBackRest_the_run_ends_as_no_backup_saying_why_pgBackRest_was_not_offered()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        dr.Docker.Health.Enqueue(false);
        dr.Docker.Health.Enqueue(false);

        var run = await dr.RunAsync(DatabaseContainerFailure.Id, Input);

        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Failed", done.Output["Outcome"]!.ToString());
        Assert.Contains("No backup of ecommerce_db exists (no dump; Point-in-time restore not offered: pgBackRest is not configured", done.Output["FailureReason"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(("anyDump", "False", "anyDump:False"), await dr.FailureSourceAsync(run.Id));
        Assert.Empty(await dr.Get<DrWorkflows.Activities.Approvals.IApprovalService>().ListAsync(new() { InstanceId = run.Id }, DrTestHost.Ct));
    }
}
