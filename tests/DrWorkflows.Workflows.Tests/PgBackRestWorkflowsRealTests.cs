using DrWorkflows.Testing;
using System.Diagnostics;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.PgBackRest;
using DrWorkflows.Core.Execution;
using Microsoft.Extensions.DependencyInjection;
using static DrWorkflows.Workflows.Tests.DatabaseContainerFailureRealTests;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// The pgBackRest workflows (pgbackrest-enable-archiving, backup-pgbackrest-full, backup-pgbackrest-diff) run by the
/// real runtime against the sample platform's PostgreSQL on the private dockerd, with repo1 on the harness's HTTPS
/// s3rver and repo2 on the pgbackrest volume. Every effect is read back: the server's settings, and the backups each
/// repository holds as <c>pgbackrest info</c> lists them (retention 1 full and 1 differential, so that it bites).
/// </summary>
[TypicalDuration(160)]
public sealed class PgBackRestWorkflowsRealTests(ITestOutputHelper output)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Archiving_is_enabled_and_reported_then_full_and_differential_backups_land_in_every_repository_and_retention_expires_the_older_ones()
    {
        await using var pitr = await PgBackRestTestPlatform.StartAsync(output, o =>
        {
            o.RetentionFull = 1;
            o.RetentionDiff = 1;
        });
        var (platform, dr, pgbackrest) = (pitr.Platform, pitr.Dr, pitr.PgBackRest);
        var clock = Stopwatch.StartNew();
        var input = new JsonObject { ["Databases"] = new JsonArray(new JsonObject { ["container"] = platform.PostgresContainer, ["stanza"] = "shop" }) };
        await platform.UpAndSeedAsync(pitr.Compose, pitr.Docker, customers: 10, Ct);
        Assert.Equal("off", await platform.ScalarAsync<string>("postgres", "SHOW archive_mode", Ct));

        // Archiving on: the run reports each setting it changed, and the server runs with them.
        var enabled = await RunToEndAsync(dr, (await dr.RunAsync("pgbackrest-enable-archiving", input)).Id, TimeSpan.FromMinutes(10));
        AssertFinished(enabled);
        var report = Assert.Single(enabled.Output["Report"]!.AsArray())!;
        output.WriteLine($"[{clock.Elapsed:mm\\:ss}] enable: {report.ToJsonString()}");
        Assert.Equal(platform.PostgresContainer, report["container"]!.GetValue<string>());
        var changes = report["changes"]!.AsArray().Select(c => (c!["name"]!.GetValue<string>(), c["before"]!.GetValue<string>(), c["after"]!.GetValue<string>())).ToList();
        Assert.Contains(("archive_mode", "off", "on"), changes);
        Assert.Contains(changes, c => c.Item1 == "archive_command" && c.Item3.Contains("archive-push", StringComparison.Ordinal));
        Assert.True(report["restarted"]!.GetValue<bool>());
        Assert.Equal([1, 2], report["repositories"]!.AsArray().Select(r => r!.GetValue<int>()));
        Assert.False(string.IsNullOrWhiteSpace(report["check"]!.GetValue<string>()));
        Assert.StartsWith($"{platform.PostgresContainer}: ", Assert.Single(enabled.Output["Changed"]!.AsArray())!.GetValue<string>(), StringComparison.Ordinal);
        await platform.WaitForServerAsync(TimeSpan.FromSeconds(240), Ct);
        Assert.Equal("on", await platform.ScalarAsync<string>("postgres", "SHOW archive_mode", Ct));

        // A second run finds everything on: it changes nothing and says so.
        var again = await RunToEndAsync(dr, (await dr.RunAsync("pgbackrest-enable-archiving", input)).Id, TimeSpan.FromMinutes(10));
        AssertFinished(again);
        Assert.Empty(again.Output["Changed"]!.AsArray());
        Assert.Empty(Assert.Single(again.Output["Report"]!.AsArray())!["changes"]!.AsArray());

        // The weekly full: a new full backup in both repositories, as info lists them.
        var full1 = await BackupAsync(dr, "backup-pgbackrest-full", input, clock);
        Assert.Equal(["full", "full"], full1.Backups.Select(b => b.Type));
        await AssertHoldsAsync(pgbackrest, platform, full1.Labels);

        // The daily differential, twice: retention (1 differential) expires the first from both repositories.
        await platform.ExecuteAsync(SamplePlatform.Database, "INSERT INTO customers (email, created_at) SELECT 'late' || g || '@example.test', now() FROM generate_series(1, 5) g", Ct);
        var diff1 = await BackupAsync(dr, "backup-pgbackrest-diff", input, clock);
        Assert.Equal(["diff", "diff"], diff1.Backups.Select(b => b.Type));
        Assert.Empty(diff1.Expired);
        await AssertHoldsAsync(pgbackrest, platform, [.. full1.Labels, .. diff1.Labels]);
        var diff2 = await BackupAsync(dr, "backup-pgbackrest-diff", input, clock);
        Assert.Equal(diff1.Labels.Select(l => $"shop {l}").Order(), diff2.Expired.Order());
        await AssertHoldsAsync(pgbackrest, platform, [.. full1.Labels, .. diff2.Labels]);
        Assert.Equal(1, diff2.Retention["diff"]!.GetValue<int>());

        // The next full: retention (1 full) expires the first full and its differential from both repositories.
        var full2 = await BackupAsync(dr, "backup-pgbackrest-full", input, clock);
        Assert.Equal(full1.Labels.Concat(diff2.Labels).Select(l => $"shop {l}").Order(), full2.Expired.Order());
        await AssertHoldsAsync(pgbackrest, platform, full2.Labels);
        Assert.Equal(1, full2.Retention["full"]!.GetValue<int>());
        Assert.All(full2.Kept, k => Assert.Equal((1, 0), (k!["full"]!.GetValue<int>(), k["diff"]!.GetValue<int>())));

        // The drill's RPO canaries (archive_timeout 5 s): a canary a second for 12 s, then the failure point.
        var canary = pitr.Services.GetRequiredService<IRpoCanary>();
        var written = await canary.WriteAsync(new CanaryRun { Component = "postgres-main", Container = platform.PostgresContainer, Stanza = "shop", Database = "postgres", Run = "real-drill" }, TimeSpan.FromSeconds(12), Ct);
        output.WriteLine($"[{clock.Elapsed:mm\\:ss}] canaries: {written}");
        Assert.Equal(12, written.Written);
        Assert.True(written.LastWrittenAt < written.FailurePoint);
        Assert.NotNull(written.ArchivedThroughLsn);
        // After the failure point: a canary of the same run, and every WAL archived (the unarchived tail of the canaries
        // with it). The restore sees them all, but a failure at the failure point would not have: none may count.
        await platform.ExecuteAsync("postgres", "INSERT INTO public.drw_rpo_canary (run) VALUES ('real-drill')", Ct);
        await pitr.WaitForArchiverPastAsync(DateTime.UtcNow);
        var measured = await canary.MeasureAsync(written, Ct);
        output.WriteLine($"[{clock.Elapsed:mm\\:ss}] measured: {measured} ({string.Join("; ", measured.Problems)})");
        Assert.Empty(measured.Problems);
        Assert.Equal(written.Written + 1, measured.Counted + measured.NotCounted); // every canary is in the restored copy
        Assert.True(measured.NotCounted >= 1, "the canary written after the failure point must not count");
        Assert.True(measured.Counted >= 1, "at least one archive_timeout passed while writing: a segment with canaries was archived by the failure point");
        Assert.True(measured.NewestCanaryAt <= written.LastWrittenAt);
        Assert.Equal(written.FailurePoint - measured.NewestCanaryAt, measured.Rpo);
        Assert.InRange(measured.Rpo!.Value, TimeSpan.Zero, TimeSpan.FromSeconds(5 + 15)); // archive_timeout + slack for a loaded machine
        // The throwaway restore is gone again, and production holds nothing but its canary table besides the shop's data.
        Assert.Empty(await pitr.Client.Containers.ListContainersAsync(new Docker.DotNet.Models.ContainersListParameters { All = true, Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { ["-canary-pitr"] = true } } }, Ct));
        Assert.DoesNotContain((await pitr.Client.Volumes.ListAsync(Ct)).Volumes, v => v.Name.Contains("-canary-pitr", StringComparison.Ordinal));
        Assert.Equal(written.Written + 1, await platform.ScalarAsync<long>("postgres", "SELECT count(*) FROM public.drw_rpo_canary WHERE run = 'real-drill'", Ct));
    }

    private sealed record BackupRun(IReadOnlyList<(int Repository, string Label, string Type)> Backups, IReadOnlyList<string> Expired, JsonNode Retention, JsonArray Kept)
    {
        /// <summary>e.g. repo1 20261205-171510F.</summary>
        public IReadOnlyList<string> Labels => [.. Backups.Select(b => $"repo{b.Repository} {b.Label}")];
    }

    private async Task<BackupRun> BackupAsync(DrTestHost dr, string workflow, JsonObject input, Stopwatch clock)
    {
        var run = await RunToEndAsync(dr, (await dr.RunAsync(workflow, input)).Id, TimeSpan.FromMinutes(15));
        AssertFinished(run);
        var server = Assert.Single(run.Output["Backups"]!.AsArray())!;
        output.WriteLine($"[{clock.Elapsed:mm\\:ss}] {workflow}: {server.ToJsonString()}");
        var backups = server["backups"]!.AsArray().Select(b => (b!["repository"]!.GetValue<int>(), b["label"]!.GetValue<string>(), server["type"]!.GetValue<string>())).OrderBy(b => b.Item1).ToList();
        Assert.Equal([1, 2], backups.Select(b => b.Item1));
        Assert.Equal(run.Output["Expired"]!.AsArray().Select(e => e!.GetValue<string>()).Order(), server["expired"]!.AsArray().Select(e => $"shop {e}").Order());
        return new BackupRun(backups, [.. run.Output["Expired"]!.AsArray().Select(e => e!.GetValue<string>())], server["retention"]!, server["kept"]!.AsArray());
    }

    /// <summary>What every repository holds, read with pgbackrest info (not from the run): exactly <paramref name="labels"/>.</summary>
    private static async Task AssertHoldsAsync(IPgBackRest pgbackrest, SamplePlatform platform, IReadOnlyList<string> labels)
    {
        var info = await pgbackrest.InfoAsync(platform.PostgresContainer, "shop", Ct);
        Assert.Equal(labels.Order(), info.Repositories.SelectMany(r => r.Backups.Select(b => $"repo{r.Key} {b.Label}")).Order());
    }

    private static void AssertFinished(WorkflowState run) =>
        Assert.True(run.SubStatus == WorkflowSubStatus.Finished, $"{run.SubStatus}: {string.Join("; ", run.Incidents.Select(i => i.Message))}");
}
