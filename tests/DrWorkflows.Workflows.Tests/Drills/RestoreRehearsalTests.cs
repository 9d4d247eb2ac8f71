using System.Text;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Drills;

namespace DrWorkflows.Workflows.Tests.Drills;

/// <summary>The rehearsal never throws for a failed restore: the measurement says what failed.</summary>
public sealed class RestoreRehearsalTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 6, 30, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_component_without_any_backup_is_measured_as_not_recovered_with_the_reason()
    {
        await using var dr = await DrTestHost.StartAsync(Now);

        var measurement = await dr.Get<IRestoreRehearsal>().RehearseAsync(new RehearsalRequest("postgres-ai", BackupKinds.Postgres, "ai_db") { Store = "s3", StartedAt = Now }, DrTestHost.Ct);

        Assert.False(measurement.Succeeded);
        Assert.Null(measurement.RecoveredAt);
        Assert.Null(measurement.SetId);
        Assert.Equal("No complete postgres backup of 'ai_db' exists in store 's3': the component cannot be recovered. Check the scheduled backups.", Assert.Single(measurement.Problems));
    }

    [Fact]
    public async Task A_Redis_set_that_does_not_decode_to_an_RDB_file_fails_the_rehearsal_and_the_newest_set_is_the_one_tried()
    {
        await using var dr = await DrTestHost.StartAsync(Now);
        await dr.Databases.WriteSetAsync(BackupKinds.Redis, "redis", "good", null, null, DrTestHost.Ct, Now.AddHours(-5), content: Encoding.ASCII.GetBytes("REDIS0011 ok"));
        await dr.Databases.WriteSetAsync(BackupKinds.Redis, "redis", "garbled", null, null, DrTestHost.Ct, Now.AddHours(-1), content: Encoding.ASCII.GetBytes("<html>503</html>"));

        var measurement = await dr.Get<IRestoreRehearsal>().RehearseAsync(new RehearsalRequest("redis", BackupKinds.Redis, "redis") { StartedAt = Now }, DrTestHost.Ct);

        Assert.False(measurement.Succeeded);
        Assert.Equal("garbled", measurement.SetId);
        Assert.Equal(Now.AddHours(-1), measurement.BackupTakenAt);
        Assert.Equal("Set garbled does not decode to an RDB file (no REDIS header): it cannot be loaded by Redis.", Assert.Single(measurement.Problems));
    }

    [Fact]
    public async Task An_unknown_kind_is_a_failed_measurement_not_an_exception()
    {
        await using var dr = await DrTestHost.StartAsync(Now);

        var measurement = await dr.Get<IRestoreRehearsal>().RehearseAsync(new RehearsalRequest("monitoring", "prometheus", "tsdb") { StartedAt = Now }, DrTestHost.Ct);

        Assert.False(measurement.Succeeded);
        Assert.StartsWith("Unknown backup kind 'prometheus'", Assert.Single(measurement.Problems), StringComparison.Ordinal);
    }
}
