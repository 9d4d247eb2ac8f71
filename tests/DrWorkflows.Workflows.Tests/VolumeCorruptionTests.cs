using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Core.Execution;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// Scenario 5 (a JSON workflow) on the real runtime: the volume holds the whole server, so the roles and every
/// database that lived there come back, or the run says what was lost and does not end Recovered.
/// </summary>
public sealed class VolumeCorruptionTests
{
    private const string Id = "dr-volume-corruption";
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 14, 0, 0, TimeSpan.Zero);
    private static readonly object Input = new { Reason = "I/O errors on /var/lib/docker/volumes/ecommerce_postgres_data" };

    [Fact]
    public async Task The_corrupted_volume_is_archived_before_anything_is_removed_and_after_approval_the_roles_and_every_database_come_back()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        Serve(dr, ("ecommerce_db", 8_000_000), ("ai_db", 3_000_000));
        dr.Databases.RolesOnServer.Add("shop_app");
        var globals = await dr.Databases.WriteSetAsync(BackupKinds.Globals, "main", "globals6", null, null, DrTestHost.Ct, Now.AddHours(-6), edit: m => m.Roles = ["postgres", "shop_app"]);
        var shop = await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "sixam", null, "ecommerce_db", DrTestHost.Ct, Now.AddHours(-8), verified: true);
        // ai_db was backed up through the `ai` entry of Postgres:Servers, which points at the same server (host:port).
        var ai = await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ai_db", "aisix", null, "ai_db", DrTestHost.Ct, Now.AddHours(-7), verified: true,
            server: "ai", edit: m => m.Endpoint = "db.primary.invalid:5432");
        // An older database that is no longer on the server: shown, not restored.
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "legacy_db", "legacy", null, "legacy_db", DrTestHost.Ct, Now.AddDays(-3), verified: true);

        var run = await dr.RunAsync(Id, Input);

        dr.Calls.AssertOrder("postgres.inspect main -> ai_db,ecommerce_db,postgres", "docker.stop ecommerce_postgres", "docker.volume-archive ecommerce_postgres_data -> /backups/emergency/corrupted-ecommerce_postgres_data-" + run.Id + ".tar");
        var gate = await dr.PendingGateAsync(run.Id);
        Assert.Equal("Replace the corrupted volume from backup?", gate.Title);
        Assert.Contains("ai_db from set aisix", gate.Question, StringComparison.Ordinal);
        Assert.Contains("ecommerce_db from set sixam", gate.Question, StringComparison.Ordinal);
        Assert.DoesNotContain("LOST", gate.Question, StringComparison.Ordinal);
        var facts = gate.Facts!;
        Assert.Equal(ServerInventory.FromServer, facts["listedFrom"]!.ToString());
        Assert.Equal(["ai_db", "ecommerce_db"], facts["restore"]!.AsArray().Select(r => r!["database"]!.ToString()));
        Assert.Equal(["aisix", "sixam"], facts["restore"]!.AsArray().Select(r => r!["set"]!.ToString()));
        Assert.Equal(6.92, facts["restore"]![0]!["ageHours"]!.GetValue<double>()); // completed 5 minutes after it started
        Assert.Equal("globals6", facts["globals"]!["set"]!.ToString());
        Assert.Empty(facts["lost"]!.AsArray());
        Assert.Equal(["legacy_db"], facts["notOnServer"]!.AsArray().Select(n => n!.ToString()));
        Assert.Equal(["postgres", "shop_app"], facts["before"]!["roles"]!.AsArray().Select(n => n!.ToString()));
        Assert.Matches("^[0-9a-f]{64}$", facts["archive"]!["sha256"]!.ToString());
        Assert.Empty(dr.Calls.Of("docker.volume-remove"));

        await dr.DecideAsync(run.Id, "approve");

        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Recovered", done.Output["Outcome"]!.ToString());
        dr.Calls.AssertOrder(
            "statuspage.update sp-incident-1 identified",
            "compose.remove postgres",
            "docker.volume-remove ecommerce_postgres_data",
            "docker.volume-create ecommerce_postgres_data [com.docker.compose.project=ecommerce]",
            "compose.up postgres",
            "postgres.wait main -> ready",
            "postgres.restore-globals globals6 -> main",
            "postgres.restore aisix -> main/ai_db Recreate",
            "postgres.integrity main/ai_db vs aisix -> passed",
            "postgres.restore sixam -> main/ecommerce_db Recreate",
            "postgres.integrity main/ecommerce_db vs sixam -> passed",
            "postgres.inspect main -> ai_db,ecommerce_db,postgres",
            "docker.wait-healthy project:ecommerce:api_gateway,backend,postgres 180s -> healthy",
            "statuspage.update sp-incident-1 monitoring",
            "smoke https://api.example.com/health -> passed",
            "statuspage.update sp-incident-1 resolved",
            "github.post-mortem SEV-1");
        Assert.DoesNotContain(dr.Calls.Calls, c => c.StartsWith("postgres.restore legacy", StringComparison.Ordinal) || c.EndsWith("no-owner", StringComparison.Ordinal));
        Assert.Equal(["postgres", "shop_app"], dr.Databases.RolesOnServer);

        // The comparison before/after is in the journal, the last thread message and the post-mortem.
        var comparison = await JournalDataAsync(dr, run.Id, "inventoryAfter", "comparison");
        Assert.True(comparison["matches"]!.GetValue<bool>());
        Assert.Contains("nothing missing", comparison["summary"]!.ToString(), StringComparison.Ordinal);
        Assert.Contains("nothing missing", dr.Comms.SlackPosts.Last(p => p.Text.Contains("recovered", StringComparison.Ordinal)).Text, StringComparison.Ordinal);
        var postMortem = Assert.Single(dr.PostMortems.Requests).Details;
        Assert.Contains("restored: ai_db (set aisix, 12 rows), ecommerce_db (set sixam, 12 rows)", postMortem.Impact, StringComparison.Ordinal);
        Assert.Contains("before (server): 3 database(s)", postMortem.Impact, StringComparison.Ordinal);
        // The oldest set restored is the newest data every database is sure to have.
        Assert.Equal(shop.Manifest.StartedAt, postMortem.LastGoodDataAt);
        Assert.NotEqual(ai.Manifest.StartedAt, postMortem.LastGoodDataAt);
        Assert.Equal("globals6", globals.Id);
    }

    [Fact]
    public async Task When_the_server_does_not_answer_the_catalog_tells_what_lived_there_and_a_database_without_a_verified_backup_is_lost_by_name_and_size()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        Serve(dr, ("ecommerce_db", 8_000_000), ("ai_db", 3_145_728));
        dr.Databases.ServerAnswers = false; // the corrupt server does not start
        await dr.Databases.WriteSetAsync(BackupKinds.Globals, "main", "globals6", null, null, DrTestHost.Ct, Now.AddHours(-6), edit: m =>
        {
            m.ServerDatabases = [new("ai_db", 3_145_728, "shop_app"), new("ecommerce_db", 8_000_000, "shop_app"), new("postgres", 7_500_000, "postgres")];
            m.Roles = ["postgres", "shop_app"];
        });
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "sixam", null, "ecommerce_db", DrTestHost.Ct, Now.AddHours(-8), verified: true);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ai_db", "ai-unverified", null, "ai_db", DrTestHost.Ct, Now.AddHours(-7));
        // A verified ai_db of another server (the drill server) is not this server's data.
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ai_db", "drill-ai", "s3", "ai_db", DrTestHost.Ct, Now.AddHours(-1), verified: true, server: "drill");

        var run = await dr.RunAsync(Id, Input);

        Assert.Equal(InspectPostgresServer.Unreachable, await dr.OutcomeAsync(run.Id, "inventoryBefore"));
        var gate = await dr.PendingGateAsync(run.Id);
        Assert.Contains("LOST (no usable backup): ai_db (3 MiB: none of its 1 backup(s) is verified", gate.Question, StringComparison.Ordinal);
        Assert.Contains("ecommerce_db from set sixam", gate.Question, StringComparison.Ordinal);
        var lost = Assert.Single(gate.Facts!["lost"]!.AsArray())!;
        Assert.Equal("ai_db", lost["database"]!.ToString());
        Assert.Equal(3_145_728, lost["sizeBytes"]!.GetValue<long>());
        Assert.Contains("never verified", lost["reason"]!.ToString(), StringComparison.Ordinal);
        Assert.StartsWith("backup catalog (the databases and roles recorded with globals set globals6", gate.Facts["listedFrom"]!.ToString(), StringComparison.Ordinal);

        await dr.DecideAsync(run.Id, "approve", comment: "ai_db is rebuilt from the model store");

        var done = await dr.StateAsync(run.Id);
        Assert.Equal(WorkflowSubStatus.Finished, done.SubStatus);
        Assert.Equal("Partial", done.Output["Outcome"]!.ToString());
        var reason = done.Output["FailureReason"]!.ToString();
        Assert.StartsWith("Not recovered", reason, StringComparison.Ordinal);
        Assert.Contains("LOST: ai_db (3 MiB", reason, StringComparison.Ordinal);
        Assert.Contains("MISSING after: ai_db (3 MiB)", reason, StringComparison.Ordinal);
        Assert.Equal(("wholeServerBack", "False", "wholeServerBack:False"), await dr.FailureSourceAsync(run.Id, Workflows.Shared.IncidentComms.RecordPartialId));
        Assert.Single(dr.Calls.Of("postgres.restore "));
        Assert.Empty(dr.Calls.Of("postgres.restore drill-ai"));
        Assert.Equal(RestorePostgresServer.Partial, await dr.OutcomeAsync(run.Id, "restoreServer"));
        Assert.Equal(InspectPostgresServer.Missing, await dr.OutcomeAsync(run.Id, "inventoryAfter"));
        // Not the success end: the status page stays open, the contact tree is told, the post-mortem carries the loss.
        Assert.Empty(dr.Calls.Of("statuspage.update sp-incident-1 resolved"));
        dr.Calls.AssertOrder("smoke https://api.example.com/health -> passed", "statuspage.update sp-incident-1 identified", "email ", "github.post-mortem SEV-1");
        Assert.Contains("ai_db", dr.Comms.Emails.Last().TextBody, StringComparison.Ordinal);
        var postMortem = Assert.Single(dr.PostMortems.Requests).Details;
        Assert.Contains("MISSING after: ai_db", postMortem.Impact, StringComparison.Ordinal);
        Assert.DoesNotContain("Recovered by DrWorkflows", postMortem.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_whose_restore_fails_is_reported_and_the_others_still_come_back()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        Serve(dr, ("ecommerce_db", 8_000_000), ("ai_db", 3_000_000));
        await dr.Databases.WriteSetAsync(BackupKinds.Globals, "main", "globals6", null, null, DrTestHost.Ct, Now.AddHours(-6), edit: m => m.Roles = ["postgres"]);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "sixam", null, "ecommerce_db", DrTestHost.Ct, Now.AddHours(-8), verified: true);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ai_db", "aisix", null, "ai_db", DrTestHost.Ct, Now.AddHours(-7), verified: true);
        dr.Databases.FailRestoreOf.Add("ai_db");

        var run = await dr.RunAsync(Id, Input);
        await dr.DecideAsync(run.Id, "approve");

        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Partial", done.Output["Outcome"]!.ToString());
        Assert.Contains("FAILED: ai_db (restore failed: pg_restore into database 'ai_db' reported errors", done.Output["FailureReason"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(("wholeServerBack", "False", "wholeServerBack:False"), await dr.FailureSourceAsync(run.Id, Workflows.Shared.IncidentComms.RecordPartialId));
        dr.Calls.AssertOrder("postgres.restore-globals globals6", "postgres.restore aisix -> main/ai_db", "postgres.restore sixam -> main/ecommerce_db", "postgres.integrity main/ecommerce_db vs sixam -> passed");
        var restore = await JournalDataAsync(dr, run.Id, "restoreServer", "serverRestore");
        Assert.Equal(["Failed", "Restored"], restore["databases"]!.AsArray().Select(d => d!["status"]!.ToString()));
        Assert.False(restore["complete"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Without_a_verified_backup_of_any_database_the_volume_is_kept()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        Serve(dr, ("ecommerce_db", 8_000_000));
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "unverified", null, "ecommerce_db", DrTestHost.Ct, Now.AddHours(-8));

        var run = await dr.RunAsync(Id, Input);

        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Failed", done.Output["Outcome"]!.ToString());
        Assert.Contains("LOST (no usable backup): ecommerce_db (7.6 MiB", done.Output["FailureReason"]!.ToString(), StringComparison.Ordinal);
        Assert.Contains("The volume was kept", done.Output["FailureReason"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(("pointInTimeOnly", "False", "pointInTimeOnly:False"), await dr.FailureSourceAsync(run.Id));
        Assert.Empty(await dr.Get<DrWorkflows.Activities.Approvals.IApprovalService>().ListAsync(new() { InstanceId = run.Id }, DrTestHost.Ct));
        Assert.Empty(dr.Calls.Of("docker.volume-remove"));
    }

    [Fact]
    public async Task Rejecting_the_replacement_leaves_the_volume_untouched()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        Serve(dr, ("ecommerce_db", 8_000_000));
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "sixam", null, "ecommerce_db", DrTestHost.Ct, Now.AddHours(-8), verified: true);
        var run = await dr.RunAsync(Id, Input);

        await dr.DecideAsync(run.Id, "reject", comment: "fsck first");

        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Failed", done.Output["Outcome"]!.ToString());
        Assert.Contains("the volume is untouched", done.Output["FailureReason"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(("approveReplace", "Rejected", "approveReplace:Rejected"), await dr.FailureSourceAsync(run.Id));
        Assert.Empty(dr.Calls.Of("docker.volume-remove"));
        Assert.Empty(dr.Calls.Of("compose."));
        Assert.Empty(dr.Calls.Of("postgres.restore"));
    }

    /// <summary>The fake server holds these databases (and <c>postgres</c>) until its volume is removed, then what initdb leaves.</summary>
    [Fact]
    public async Task Without_a_usable_dump_but_with_a_pgBackRest_backup_the_point_in_time_restore_is_offered_alone()
    {
        var pgBackRest = new RangeOnlyPgBackRest(Now.AddHours(-20), Now.AddMinutes(-1));
        await using var dr = await DrTestHost.StartAsync(Now, services => services.AddSingleton<DrWorkflows.Activities.PgBackRest.IPgBackRest>(pgBackRest));
        Serve(dr, ("ecommerce_db", 8_000_000));
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "unverified", null, "ecommerce_db", DrTestHost.Ct, Now.AddHours(-8));

        var run = await dr.RunAsync(Id, Input);

        var gate = await dr.PendingGateAsync(run.Id);
        var option = Assert.Single(gate.Options); // "From the dumps" is not offered: the plan restores nothing
        Assert.StartsWith("Latest with pgBackRest", option, StringComparison.Ordinal);
        Assert.Equal(option, gate.DefaultOption);
        Assert.Contains("No dump can be restored, so it is the only option: ", gate.Question, StringComparison.Ordinal);
        Assert.Empty(dr.Calls.Of("docker.volume-remove"));
    }

    private static void Serve(DrTestHost dr, params (string Name, long Size)[] databases)
    {
        foreach (var (name, size) in databases)
            dr.Databases.OnServer[name] = size;
        dr.Docker.VolumeRemoved = volume =>
        {
            if (volume == "ecommerce_postgres_data")
                dr.Databases.EmptyServer();
        };
    }

    private static async Task<System.Text.Json.Nodes.JsonNode> JournalDataAsync(DrTestHost dr, string runId, string activityId, string key) =>
        Assert.Single(await dr.Host.JournalAsync(runId), e => e.EventName == JournalEvents.Completed && e.ActivityId == activityId).Payload!["data"]![key]!;
}
