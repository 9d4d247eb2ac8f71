using System.Text.Json;
using DrWorkflows.Activities.Tests.Postgres;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using static DrWorkflows.Testing.Behaviour.ElsaJson;

namespace DrWorkflows.Activities.Tests.Backups;

/// <summary>The backup activities run by the real runtime from Elsa JSON, against the real server and tools.</summary>
public sealed class BackupActivityTests
{
    private static WorkflowTestHost CreateHost(TempDirectory temp, string serverConnection) =>
        WorkflowTestHost.Create(configure: services => services.AddBackupActivities(
            s => s.Local.Directory = temp.Combine("store"),
            p =>
            {
                p.Servers["main"] = serverConnection; // the password stays in configuration, out of the workflow
                if (Environment.GetEnvironmentVariable(TestServices.PgBinVariable) is { Length: > 0 } bin)
                    p.Tools.BinDirectory = bin;
            }));

    [Fact]
    public async Task Backup_verify_find_and_restore_run_as_a_workflow_with_a_named_server_whose_password_never_appears()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        // Under trust auth the test server ignores passwords: give one anyway, to prove it never leaks.
        var builder = new NpgsqlConnectionStringBuilder(serverConnection);
        builder.Password = string.IsNullOrEmpty(builder.Password) ? "drw-secret-" + Guid.NewGuid().ToString("N")[..8] : builder.Password;
        var password = builder.Password;
        serverConnection = builder.ConnectionString;
        await using var source = await SampleDatabase.CreateAsync(500, ct);
        using var temp = new TempDirectory("backupwf");
        await using var host = CreateHost(temp, serverConnection);
        var target = "drw_restore_" + Guid.NewGuid().ToString("N")[..10];
        var cs = Lit("main");
        try
        {
            var state = await host.RunAsync(Definition("dr-backup", Flowchart("flow",
                [
                    Start(),
                    Activity("DrWorkflows.WaitForPostgres", "wait", $"\"server\": {cs}, \"timeoutSeconds\": {Lit("10", "Int32")}"),
                    Activity("DrWorkflows.BackupDatabase", "backup", $"\"server\": {cs}, \"database\": {Lit(source.Name)}"),
                    Activity("DrWorkflows.VerifyLatestBackup", "verify", $"\"server\": {cs}, \"source\": {Lit(source.Name)}"),
                    Activity("DrWorkflows.FindRestorePoint", "find", $"\"source\": {Lit(source.Name)}, \"setId\": {Bind("v-set")}"),
                    Activity("DrWorkflows.RestoreDatabase", "restore", $"\"server\": {cs}, \"source\": {Lit(source.Name)}, \"setId\": {Var("SetId", "String")}, \"targetDatabase\": {Lit(target)}, \"mode\": {Lit("CreateNew")}"),
                    WriteLine("done", "restored"),
                ],
                [
                    Connect("start", "wait"), Connect("wait", "backup", "Ready"), Connect("backup", "verify"), Connect("verify", "find", "Verified"),
                    Connect("find", "restore", "Found"), Connect("restore", "done", "Restored"),
                ]),
                variables: [Variable("v-set", "SetId", "String", null)]), cancellationToken: ct);

            Assert.True(state.SubStatus == WorkflowSubStatus.Finished, string.Join("\n", state.Incidents.Select(i => $"{i.ActivityId}: {i.Message}")));
            var journal = await host.JournalAsync(state.Id);
            var trace = string.Join("\n", journal.Select(e => $"{e.ActivityId} {e.EventName} {string.Join(",", e.Outcomes ?? [])} {e.Message}"));
            Assert.True(journal.Any(e => e.ActivityId == "done" && e.EventName == JournalEvents.Completed), trace);
            var backup = journal.Single(e => e.ActivityId == "backup" && e.EventName == JournalEvents.Completed);
            Assert.True(state.Variables.TryGetValue("v-set", out var setId) && setId is not null, JsonSerializer.Serialize(state.Variables));
            Assert.Equal(backup.ExecutionId, setId.GetValue<string>()); // the set id is the backup's execution id
            Assert.Equal(
                await SampleDatabase.ContentDigestAsync(source.ConnectionString, ct),
                await SampleDatabase.ContentDigestAsync(SampleDatabase.WithDatabase(serverConnection, target), ct));
            Assert.DoesNotContain(password, JsonSerializer.Serialize(journal), StringComparison.Ordinal);
            Assert.DoesNotContain(password, JsonSerializer.Serialize(state), StringComparison.Ordinal);
        }
        finally
        {
            await SampleDatabase.DropDatabaseAsync(serverConnection, target);
        }
    }

    [Fact]
    public async Task Restore_without_a_verified_backup_faults_with_the_candidates_and_what_to_do()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        await using var source = await SampleDatabase.CreateAsync(50, ct);
        using var temp = new TempDirectory("backupwf");
        await using var host = CreateHost(temp, serverConnection);
        var cs = Lit("main");
        var state = await host.RunAsync(Definition("restore-unverified", Flowchart("flow",
            [
                Start(),
                Activity("DrWorkflows.BackupDatabase", "backup", $"\"server\": {cs}, \"database\": {Lit(source.Name)}"),
                Activity("DrWorkflows.RestoreDatabase", "restore", $"\"server\": {cs}, \"source\": {Lit(source.Name)}, \"targetDatabase\": {Lit("drw_never_created")}"),
            ],
            [Connect("start", "backup"), Connect("backup", "restore")])), cancellationToken: ct);

        var incident = Assert.Single(state.Incidents);
        Assert.Equal("restore", incident.ActivityId);
        Assert.Contains("is verified", incident.Message, StringComparison.Ordinal);
        Assert.Contains("VerifyLatestBackup", incident.Message, StringComparison.Ordinal);
        Assert.False(await SampleDatabase.DatabaseExistsAsync(serverConnection, "drw_never_created", ct));
    }

    [Fact]
    public void Every_backup_activity_is_registered_with_its_declared_rerun_safety()
    {
        using var services = new ServiceCollection().AddLogging().AddBackupActivities().AddBackupActivities().BuildServiceProvider();
        var registry = new DrWorkflows.Core.Model.ActivityRegistry();
        foreach (var registration in services.GetServices<ActivityRegistration>())
            registration.Apply(registry);

        Assert.Equal(
            ["DrWorkflows.ApplyRetention", "DrWorkflows.BackupDatabase", "DrWorkflows.BackupGlobals", "DrWorkflows.BackupMedia", "DrWorkflows.CheckDatabaseIntegrity",
             "DrWorkflows.ChooseRestoreStore", "DrWorkflows.CopyToOffsite", "DrWorkflows.FindRestorePoint", "DrWorkflows.InspectPostgresServer", "DrWorkflows.ListBackups", "DrWorkflows.PlanServerRestore", "DrWorkflows.RestoreMedia",
             "DrWorkflows.VerifyArchiveBackups", "DrWorkflows.VerifyLatestBackup", "DrWorkflows.VerifyMediaBackups", "DrWorkflows.VerifyNewBackups", "DrWorkflows.WaitForPostgres"],
            registry.All.Where(d => d.SafeToRerun).Select(d => d.TypeName).Order(StringComparer.Ordinal));
        Assert.Equal(["DrWorkflows.RestoreDatabase", "DrWorkflows.RestoreGlobals", "DrWorkflows.RestorePostgresServer"], registry.All.Where(d => !d.SafeToRerun).Select(d => d.TypeName).Order(StringComparer.Ordinal));
        Assert.Equal(["Found", "NotFound"], registry.Find("DrWorkflows.FindRestorePoint")!.Outcomes);
        Assert.Equal(["Copied", "NotConfigured"], registry.Find("DrWorkflows.CopyToOffsite")!.Outcomes);
        Assert.Equal(["Restored", "IntegrityFailed"], registry.Find("DrWorkflows.RestoreDatabase")!.Outcomes);
        Assert.True(registry.Find("DrWorkflows.BackupDatabase")!.FindInput("ConnectionString")!.IsSecret);
    }

    [Fact]
    public void The_monitoring_and_Docker_configuration_activities_are_registered_once_with_their_rerun_safety()
    {
        using var services = new ServiceCollection().AddLogging().AddConfigurationBackups().AddConfigurationBackups().BuildServiceProvider();
        var registry = new DrWorkflows.Core.Model.ActivityRegistry();
        foreach (var registration in services.GetServices<ActivityRegistration>())
            registration.Apply(registry);

        Assert.Equal(["DrWorkflows.BackupDockerConfig", "DrWorkflows.BackupMonitoring"], registry.All.Where(d => d.SafeToRerun).Select(d => d.TypeName).Order(StringComparer.Ordinal));
        Assert.Equal(["DrWorkflows.RestoreDockerConfig", "DrWorkflows.RestoreMonitoring"], registry.All.Where(d => !d.SafeToRerun).Select(d => d.TypeName).Order(StringComparer.Ordinal));
        Assert.Equal(["BackedUp", "Unchanged"], registry.Find("DrWorkflows.BackupDockerConfig")!.Outcomes);
    }
}
