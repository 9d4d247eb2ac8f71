using DrWorkflows.Activities.Backups;
using DrWorkflows.Core.Execution;
using DrWorkflows.Workflows.Shared;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Workflows.Tests;

/// <summary>Scenario 3 on the real runtime: isolation first, only clean restore points offered, isolation lifted only after approval.</summary>
public sealed class RansomwareRecoveryTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 24, 6, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset CompromisedAt = new(2026, 12, 24, 2, 10, 0, TimeSpan.Zero);

    private static object Input(object? compromisedAt = null) => new
    {
        Reason = "IDS: files encrypted on db host",
        CompromisedAt = compromisedAt ?? CompromisedAt,
        AllowedSources = new[] { "10.0.0.0/24" },
    };

    /// <summary>Sets around the compromise (each completes 5 minutes after it starts).</summary>
    private static async Task SeedAsync(DrTestHost dr)
    {
        await dr.Databases.WriteSetAsync(BackupKinds.Globals, "main", "globals8pm", null, null, DrTestHost.Ct, CompromisedAt.AddHours(-6), edit: m => m.Roles = ["postgres", "shop_app"]);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "eightpm", null, "ecommerce_db", DrTestHost.Ct, CompromisedAt.AddHours(-6), verified: true);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "midnight", null, "ecommerce_db", DrTestHost.Ct, CompromisedAt.AddHours(-2));
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "justbefore", null, "ecommerce_db", DrTestHost.Ct, CompromisedAt.AddMinutes(-6), verified: true);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "exactlyat", null, "ecommerce_db", DrTestHost.Ct, CompromisedAt.AddMinutes(-5), verified: true);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "after", null, "ecommerce_db", DrTestHost.Ct, CompromisedAt.AddHours(2), verified: true);
    }

    [Fact]
    public async Task It_isolates_first_offers_only_backups_completed_strictly_before_the_compromise_and_restores_the_confirmed_one()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        await SeedAsync(dr);

        var run = await dr.RunAsync(RansomwareRecovery.Id, Input());

        // Isolation and stopping the application come before anything else, even the first message.
        Assert.StartsWith("host.isolate ransomware-" + run.Id + " allow=10.0.0.0/24", dr.Calls.Calls[0], StringComparison.Ordinal);
        Assert.Equal("compose.stop backend,api_gateway", dr.Calls.Calls[1]);
        dr.Calls.AssertOrder(
            "slack.post new :rotating_light: *SEV-1 Ransomware",
            "docker.forensic-snapshot ecommerce_postgres forensic-postgres:incident-" + run.Id + " /var/forensics/incident-" + run.Id + "/postgres.tar",
            "docker.forensic-snapshot ecommerce_backend",
            "docker.logs ecommerce_postgres -> /var/forensics/incident-" + run.Id + "/postgres.log",
            "docker.logs ecommerce_backend",
            "docker.volume-archive ecommerce_postgres_data -> /var/forensics/incident-" + run.Id + "/postgres-volume.tar");

        // Only verified backups completed strictly before the compromise: "exactlyat" completed at 02:10 exactly,
        // "midnight" is not verified. The newest is the default.
        var gate = await dr.PendingGateAsync(run.Id);
        Assert.Equal("Confirm the safe restore point", gate.Title);
        Assert.Equal(["2026-12-24 02:09 UTC, verified, set justbefore", "2026-12-23 20:15 UTC, verified, set eightpm"], gate.Options);
        Assert.Equal("2026-12-24 02:09 UTC, verified, set justbefore", gate.DefaultOption);
        Assert.Null(gate.ConfirmationPhrases);
        var facts = gate.Facts!.AsArray();
        Assert.Equal(["justbefore", "eightpm"], facts.Select(f => f!["setId"]!.ToString()));
        Assert.All(facts, f => Assert.Matches("^[0-9a-f]{64}$", f!["sha256"]!.ToString()));
        Assert.All(facts, f => Assert.True(f!["verified"]!.GetValue<bool>()));
        Assert.Empty(dr.Calls.Of("docker.stop"));

        await dr.DecideAsync(run.Id, "approve", option: "2", comment: "20:15 predates the first IoC in the IDS");

        dr.Calls.AssertOrder(
            "docker.stop ecommerce_postgres",
            "compose.remove postgres",
            "docker.volume-copy ecommerce_postgres_data -> forensic-ecommerce_postgres_data-incident-" + run.Id + " (remove source)",
            "docker.volume-create ecommerce_postgres_data [com.docker.compose.project=ecommerce]",
            "compose.up postgres",
            "postgres.wait main -> ready",
            "postgres.restore eightpm -> main/ecommerce_db Recreate",
            "postgres.integrity main/ecommerce_db vs eightpm -> passed",
            "compose.pull backend,api_gateway",
            "compose.up --force-recreate --no-deps backend,api_gateway",
            "docker.wait-healthy project:ecommerce:api_gateway,backend,postgres 300s -> healthy");
        Assert.Empty(dr.Calls.Of("host.lift-isolation"));
        Assert.Equal("True", await dr.OutcomeAsync(run.Id, "pullWanted"));
        Assert.Equal("Lift the network isolation?", (await dr.PendingGateAsync(run.Id)).Title);

        await dr.DecideAsync(run.Id, "approve");

        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Recovered", done.Output["Outcome"]!.ToString());
        // The lift checks that the ports that answered before the isolation (the default host ports 80 and 443) answer again.
        dr.Calls.AssertOrder("host.lift-isolation ransomware-" + run.Id + " expect=80,443", "smoke https://api.example.com/health -> passed", "statuspage.update sp-incident-1 resolved", "github.post-mortem SEV-1");
        Assert.Equal(CompromisedAt.AddHours(-6), Assert.Single(dr.PostMortems.Requests).Details.LastGoodDataAt);
    }

    [Fact]
    public async Task Approving_without_choosing_restores_the_newest_verified_backup_before_the_compromise()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        await SeedAsync(dr);
        var run = await dr.RunAsync(RansomwareRecovery.Id, Input());

        await dr.DecideAsync(run.Id, "approve", comment: "the default");

        Assert.Contains("postgres.restore justbefore -> main/ecommerce_db Recreate", dr.Calls.Calls);
        Assert.Equal("Lift the network isolation?", (await dr.PendingGateAsync(run.Id)).Title);
    }

    [Fact]
    public async Task When_no_backup_before_the_compromise_is_verified_the_unverified_ones_are_offered_marked_and_need_the_typed_phrase()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        await dr.Databases.WriteSetAsync(BackupKinds.Globals, "main", "globals8pm", null, null, DrTestHost.Ct, CompromisedAt.AddHours(-6), edit: m => m.Roles = ["postgres", "shop_app"]);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "eightpm", null, "ecommerce_db", DrTestHost.Ct, CompromisedAt.AddHours(-6));
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "midnight", null, "ecommerce_db", DrTestHost.Ct, CompromisedAt.AddHours(-2));
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "after", null, "ecommerce_db", DrTestHost.Ct, CompromisedAt.AddHours(1), verified: true);

        var run = await dr.RunAsync(RansomwareRecovery.Id, Input());

        var gate = await dr.PendingGateAsync(run.Id);
        Assert.Equal(
            ["UNVERIFIED (never restore-tested): 2026-12-24 00:15 UTC, set midnight", "UNVERIFIED (never restore-tested): 2026-12-23 20:15 UTC, set eightpm"],
            gate.Options);
        Assert.Null(gate.DefaultOption);
        Assert.Equal("restore unverified set midnight", gate.ConfirmationPhrases![gate.Options[0]]);
        Assert.Contains("NONE OF THEM IS VERIFIED", gate.Question, StringComparison.Ordinal);
        Assert.Contains("No verified backup was completed before it", gate.EvidenceText, StringComparison.Ordinal);
        Assert.Equal("restore unverified set midnight", gate.Facts!.AsArray()[0]!["confirmation"]!.ToString());

        var approvals = dr.Get<DrWorkflows.Activities.Approvals.IApprovalService>();
        var withoutPhrase = await approvals.DecideAsync(gate.ApprovalId, DrTestHost.OnCall, new() { Vote = "approve", Option = "1" }, DrTestHost.Ct);
        var withoutOption = await approvals.DecideAsync(gate.ApprovalId, DrTestHost.OnCall, new() { Vote = "approve" }, DrTestHost.Ct);
        Assert.Equal(DrWorkflows.Activities.Approvals.ApprovalCodes.ConfirmationRequired, withoutPhrase.Refusal!.Code);
        Assert.Equal(DrWorkflows.Activities.Approvals.ApprovalCodes.OptionRequired, withoutOption.Refusal!.Code);
        Assert.Empty(dr.Calls.Of("docker.stop"));

        await dr.DecideAsync(run.Id, "approve", option: "1", comment: "nothing verified; the DBA checked midnight by hand", confirmation: "restore unverified set midnight");

        Assert.Contains("postgres.restore midnight -> main/ecommerce_db Recreate", dr.Calls.Calls);
    }

    [Fact]
    public async Task The_whole_server_comes_back_from_before_the_compromise_and_a_database_without_a_clean_backup_is_accepted_as_lost_at_a_gate()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        await SeedAsync(dr);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ai_db", "ai-before", null, "ai_db", DrTestHost.Ct, CompromisedAt.AddHours(-3), verified: true);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ai_db", "ai-after", null, "ai_db", DrTestHost.Ct, CompromisedAt.AddHours(1), verified: true);
        dr.Databases.OnServer["ai_db"] = 3_000_000;
        dr.Databases.OnServer["reports_db"] = 5_242_880; // created after the last backup: no clean copy exists
        dr.Databases.RolesOnServer.Add("intruder"); // made by the attacker: not expected back
        dr.Docker.VolumeRemoved = _ => dr.Databases.EmptyServer(); // the quarantine moves the server's data away

        var run = await dr.RunAsync(RansomwareRecovery.Id, Input());
        await dr.DecideAsync(run.Id, "approve", option: "1");

        var losses = await dr.PendingGateAsync(run.Id);
        Assert.Equal("Restore the server although databases are lost?", losses.Title);
        Assert.Contains("LOST (no usable backup): reports_db (5 MiB: no backup of it exists)", losses.Question, StringComparison.Ordinal);
        Assert.Contains("ai_db from set ai-before", losses.Question, StringComparison.Ordinal);
        Assert.Equal("reports_db", Assert.Single(losses.Facts!["lost"]!.AsArray())!["database"]!.ToString());
        Assert.Empty(dr.Calls.Of("docker.stop"));

        await dr.DecideAsync(run.Id, "approve", comment: "reports are rebuilt tonight");
        dr.Calls.AssertOrder(
            "docker.stop ecommerce_postgres",
            "postgres.wait main -> ready",
            "postgres.restore-globals globals8pm -> main",
            "postgres.restore ai-before -> main/ai_db Recreate",
            "postgres.restore justbefore -> main/ecommerce_db Recreate",
            "compose.up --force-recreate --no-deps backend,api_gateway");
        Assert.Empty(dr.Calls.Of("postgres.restore ai-after"));
        await dr.DecideAsync(run.Id, "approve");

        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Partial", done.Output["Outcome"]!.ToString());
        var reason = done.Output["FailureReason"]!.ToString();
        Assert.Contains("LOST: reports_db (5 MiB", reason, StringComparison.Ordinal);
        Assert.Equal(("wholeServerBack", "False", "wholeServerBack:False"), await dr.FailureSourceAsync(run.Id, IncidentComms.RecordPartialId));
        Assert.DoesNotContain("intruder", reason, StringComparison.Ordinal);
        Assert.Empty(dr.Calls.Of("statuspage.update sp-incident-1 resolved"));
        // The oldest set restored (ai_db's, 23:10, not the confirmed 02:04 of ecommerce_db) is the newest data every database is sure to have.
        Assert.Equal(CompromisedAt.AddHours(-3), Assert.Single(dr.PostMortems.Requests).Details.LastGoodDataAt);
    }

    [Fact]
    public async Task With_PullImages_false_the_application_is_rebuilt_from_the_local_images_without_a_pull()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        await SeedAsync(dr);
        var run = await dr.RunAsync(RansomwareRecovery.Id, new { Reason = "IDS: files encrypted on db host", CompromisedAt, PullImages = false });
        await dr.DecideAsync(run.Id, "approve", option: "1");

        Assert.Empty(dr.Calls.Of("compose.pull"));
        dr.Calls.AssertOrder("postgres.restore justbefore -> main/ecommerce_db Recreate", "compose.up --force-recreate --no-deps backend,api_gateway", "docker.wait-healthy");
        Assert.Equal("False", await dr.OutcomeAsync(run.Id, "pullWanted"));
        Assert.Equal("Lift the network isolation?", (await dr.PendingGateAsync(run.Id)).Title);
    }

    [Fact]
    public async Task A_rejected_lift_keeps_the_platform_isolated_and_still_closes_with_the_post_mortem()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        await SeedAsync(dr);
        var run = await dr.RunAsync(RansomwareRecovery.Id, Input());
        await dr.DecideAsync(run.Id, "approve", option: "1");

        await dr.DecideAsync(run.Id, "reject", comment: "security wants the IDS rules in first");

        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Failed", done.Output["Outcome"]!.ToString());
        Assert.Contains("stays isolated", done.Output["FailureReason"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(("approveLiftIsolation", "Rejected", "approveLiftIsolation:Rejected"), await dr.FailureSourceAsync(run.Id));
        Assert.Empty(dr.Calls.Of("host.lift-isolation"));
        Assert.Empty(dr.Calls.Of("smoke"));
        Assert.Contains("postgres.restore justbefore -> main/ecommerce_db Recreate", dr.Calls.Calls);
        Assert.Single(dr.PostMortems.Requests);
    }

    [Fact]
    public async Task Without_a_compromise_time_nothing_is_offered_or_restored_and_the_platform_stays_isolated()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        await SeedAsync(dr);

        var run = await dr.RunAsync(RansomwareRecovery.Id, new { Reason = "corrupted orders reported" });

        var done = await dr.StateAsync(run.Id);
        Assert.Equal(WorkflowSubStatus.Finished, done.SubStatus);
        Assert.Equal("Failed", done.Output["Outcome"]!.ToString());
        Assert.Contains("CompromisedAt was not given", done.Output["FailureReason"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(("cutoffGiven", "False", "cutoffGiven:False"), await dr.FailureSourceAsync(run.Id));
        Assert.Single(dr.Calls.Of("host.isolate"));
        Assert.Empty(dr.Calls.Of("host.lift-isolation"));
        Assert.Empty(dr.Calls.Of("postgres.restore"));
        Assert.Empty(await dr.Get<DrWorkflows.Activities.Approvals.IApprovalService>().ListAsync(new() { InstanceId = run.Id }, DrTestHost.Ct));
    }

    [Fact]
    public async Task When_no_backup_predates_the_compromise_the_run_fails_safely_without_a_gate()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "after", null, "ecommerce_db", DrTestHost.Ct, CompromisedAt.AddHours(1), verified: true);

        var run = await dr.RunAsync(RansomwareRecovery.Id, Input());

        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Failed", done.Output["Outcome"]!.ToString());
        Assert.Contains("No backup of ecommerce_db was completed before the compromise", done.Output["FailureReason"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(("anyCleanDump", "False", "anyCleanDump:False"), await dr.FailureSourceAsync(run.Id));
        Assert.Empty(dr.Calls.Of("docker.stop"));
    }

    [Fact]
    public async Task With_no_dump_before_the_compromise_a_pgBackRest_restore_to_just_before_it_is_still_offered()
    {
        var pgBackRest = new RangeOnlyPgBackRest(CompromisedAt.AddHours(-30), CompromisedAt.AddHours(3));
        await using var dr = await DrTestHost.StartAsync(Now, services => services.AddSingleton<DrWorkflows.Activities.PgBackRest.IPgBackRest>(pgBackRest));
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "after", null, "ecommerce_db", DrTestHost.Ct, CompromisedAt.AddHours(1), verified: true);

        var run = await dr.RunAsync(RansomwareRecovery.Id, Input());

        var gate = await dr.PendingGateAsync(run.Id);
        var option = Assert.Single(gate.Options);
        Assert.Equal("Point in time 2026-12-24 02:09:00Z with pgBackRest (60 s before the compromise)", option);
        Assert.Contains("No dump was completed before it.", gate.Question, StringComparison.Ordinal);
        Assert.Contains("No dump was completed before it: only the pgBackRest restore is offered.", gate.EvidenceText, StringComparison.Ordinal);
        Assert.Empty(dr.Calls.Of("docker.volume-remove"));
    }
}
