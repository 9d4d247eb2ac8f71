using DrWorkflows.Activities.Backups;

namespace DrWorkflows.Workflows.Tests;

/// <summary>Scenario 5 (a JSON workflow) on the real runtime.</summary>
public sealed class VolumeCorruptionTests
{
    private const string Id = "dr-volume-corruption";
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 14, 0, 0, TimeSpan.Zero);
    private static readonly object Input = new { Reason = "I/O errors on /var/lib/docker/volumes/ecommerce_postgres_data" };

    [Fact]
    public async Task The_corrupted_volume_is_archived_before_anything_is_removed_and_replaced_only_after_approval()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        var set = await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "sixam", null, "ecommerce_db", DrTestHost.Ct, Now.AddHours(-8), verified: true);

        var run = await dr.RunAsync(Id, Input);

        dr.Calls.AssertOrder("docker.stop ecommerce_postgres", "docker.volume-archive ecommerce_postgres_data -> /backups/emergency/corrupted-ecommerce_postgres_data-" + run.Id + ".tar");
        var gate = await dr.PendingGateAsync(run.Id);
        Assert.Equal("Replace the corrupted volume from backup?", gate.Title);
        Assert.Equal("sixam", gate.Facts!["backupSet"]!.ToString());
        Assert.Matches("^[0-9a-f]{64}$", gate.Facts["archive"]!["sha256"]!.ToString());
        Assert.Empty(dr.Calls.Of("docker.volume-remove"));

        await dr.DecideAsync(run.Id, "approve");

        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Recovered", done.Output["Outcome"]!.ToString());
        dr.Calls.AssertOrder(
            "compose.remove postgres",
            "docker.volume-remove ecommerce_postgres_data",
            "docker.volume-create ecommerce_postgres_data [com.docker.compose.project=ecommerce]",
            "compose.up postgres",
            "postgres.wait main -> ready",
            "postgres.restore sixam -> main/ecommerce_db Recreate",
            "postgres.integrity main/ecommerce_db vs sixam -> passed",
            "docker.wait-healthy project:ecommerce:api_gateway,backend,postgres 180s -> healthy",
            "smoke https://api.example.com/health -> passed",
            "statuspage.update sp-incident-1 resolved",
            "github.post-mortem SEV-1");
        Assert.Equal(set.Manifest.StartedAt, Assert.Single(dr.PostMortems.Requests).Details.LastGoodDataAt);
    }

    [Fact]
    public async Task Rejecting_the_replacement_leaves_the_volume_untouched()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "sixam", null, "ecommerce_db", DrTestHost.Ct, Now.AddHours(-8), verified: true);
        var run = await dr.RunAsync(Id, Input);

        await dr.DecideAsync(run.Id, "reject", comment: "fsck first");

        var done = await dr.StateAsync(run.Id);
        Assert.Equal("Failed", done.Output["Outcome"]!.ToString());
        Assert.Contains("the volume is untouched", done.Output["FailureReason"]!.ToString(), StringComparison.Ordinal);
        Assert.Empty(dr.Calls.Of("docker.volume-remove"));
        Assert.Empty(dr.Calls.Of("compose."));
        Assert.Empty(dr.Calls.Of("postgres.restore"));
    }
}
