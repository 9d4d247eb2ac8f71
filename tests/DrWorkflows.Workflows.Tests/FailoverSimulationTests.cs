using DrWorkflows.Activities.Approvals;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Dns;
using DrWorkflows.Activities.Drills;
using DrWorkflows.Activities.Redis;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Execution;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// The quarterly failover simulation on the real runtime with fake IO: its refusals, its verdicts (met, missed, failed,
/// each from scenario 2's own run) and its cleanup (the test record put back, the DR stack taken down, checked).
/// </summary>
public sealed class FailoverSimulationTests
{
    private static readonly DateTimeOffset Now = new(2027, 1, 15, 9, 0, 0, TimeSpan.Zero);
    private const string Test = "failover-test.example.com";
    private const string Production = "api.example.com";
    private const string TestHealth = "https://failover-test.example.com/health";

    private static object Input(TempDirectory scratch, int? window = null, string testRecord = Test, string zoneName = "example.com", JsonObject? failoverInput = null)
    {
        var more = failoverInput ?? [];
        more["Store"] = "local";
        more["RedisDumpPath"] = scratch.Combine("failover.rdb");
        return new
        {
            TestRecordName = testRecord,
            ZoneId = "Z1234567890ABC",
            ZoneName = zoneName,
            DrAddress = "198.51.100.7",
            RtoWindowMinutes = window ?? 0,
            FailoverInput = more,
        };
    }

    private static async Task<(DrTestHost Dr, FakeFailoverSite Site)> StartAsync(Action<RedisOptions>? redis = null)
    {
        var site = new FakeFailoverSite();
        var dr = await DrTestHost.StartAsync(Now, services =>
        {
            services.RemoveAll<IFailoverSimulationSite>();
            services.AddSingleton<IFailoverSimulationSite>(site);
            services.RemoveAll<IFailoverSimulationProbe>();
            services.AddSingleton<IFailoverSimulationProbe>(site);
            if (redis is not null)
                services.Configure(redis);
        });
        // The test record points at an address that does not answer (the simulation's "primary"); production at the primary.
        dr.Smoke.FailingUrls.Add(TestHealth);
        dr.Dns.Records[Test] = new DnsRecord(Test, "A", 300, ["192.0.2.1"]);
        dr.Dns.Records[Production] = new DnsRecord(Production, "A", 300, ["203.0.113.10"]);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ecommerce_db", "main", "local", "ecommerce_db", DrTestHost.Ct, Now.AddHours(-3), verified: true);
        await dr.Databases.WriteSetAsync(BackupKinds.Postgres, "ai_db", "ai", "local", "ai_db", DrTestHost.Ct, Now.AddHours(-3), verified: true, server: "ai");
        await dr.Databases.WriteSetAsync(BackupKinds.Globals, "main", "roles", "local", null, DrTestHost.Ct, Now.AddHours(-3));
        await dr.Databases.WriteSetAsync(BackupKinds.Redis, "redis", "rdb", "local", null, DrTestHost.Ct, Now.AddHours(-10));
        return (dr, site);
    }

    private static async Task<ApprovalRecord> PendingCutoverAsync(DrTestHost dr) =>
        Assert.Single(await dr.Get<IApprovalService>().ListAsync(new ApprovalQuery { Status = "pending" }, DrTestHost.Ct));

    private static async Task DecideCutoverAsync(DrTestHost dr, string vote)
    {
        var gate = await PendingCutoverAsync(dr);
        var result = await dr.Get<IApprovalService>().DecideAsync(gate.ApprovalId, DrTestHost.OnCall, new ApprovalRequest { Vote = vote, Comment = "simulation: cutover to the test record" }, DrTestHost.Ct);
        Assert.Equal(ApprovalResultKind.Decided, result.Kind);
        await dr.Host.DrainAsync(DrTestHost.Ct);
    }

    private static string Describe(WorkflowState state) => $"{state.SubStatus}: {string.Join("; ", state.Incidents.Select(i => i.Message))}";

    [Theory]
    [InlineData("", "example.com", "no test record")]
    [InlineData("api.example.com", "example.com", "is the production record")]
    [InlineData("API.example.com.", "example.com", "is the production record")]
    [InlineData("failover-test.example.org", "example.com", "not a record inside zone example.com")]
    [InlineData("failover-test.example.com", "", "no zone name")]
    [InlineData("absent.example.com", "example.com", "does not exist in zone")]
    public async Task A_test_record_that_is_empty_production_outside_the_zone_or_missing_is_refused_before_anything_starts(string testRecord, string zoneName, string reason)
    {
        using var scratch = new TempDirectory("simulation");
        var (dr, site) = await StartAsync();
        await using var _ = dr;

        var run = await dr.RunAsync(QuarterlyFailoverSimulation.Id, Input(scratch, testRecord: testRecord, zoneName: zoneName));

        AssertRefused(dr, site, run, string.Empty, reason);
    }

    /// <summary>The run stopped on checkTarget's refusal, with <paramref name="reason"/>; nothing was announced, started, restored or moved.</summary>
    private static void AssertRefused(DrTestHost dr, FakeFailoverSite site, WorkflowState run, string why, string reason)
    {
        var incident = Assert.Single(run.Incidents);
        Assert.Equal("checkTarget", incident.ActivityId);
        Assert.StartsWith("Failover simulation refused, nothing was started: " + why, incident.Message, StringComparison.Ordinal);
        Assert.Contains(reason, incident.Message, StringComparison.Ordinal);
        Assert.Empty(dr.Calls.Of("dns.upsert"));
        Assert.Empty(dr.Calls.Of("compose.up"));
        Assert.Empty(dr.Calls.Of("redis.restore"));
        Assert.Empty(dr.Comms.SlackPosts);
        Assert.Empty(site.TakenDown);
    }

    [Fact]
    public async Task A_DR_project_that_already_runs_is_refused_the_simulation_never_takes_down_a_stack_it_did_not_start()
    {
        using var scratch = new TempDirectory("simulation");
        var (dr, site) = await StartAsync();
        await using var _ = dr;
        site.Containers.Add("ecommerce-postgres-1");

        var run = await dr.RunAsync(QuarterlyFailoverSimulation.Id, Input(scratch));

        var incident = Assert.Single(run.Incidents);
        Assert.Contains("already has container(s)", incident.Message, StringComparison.Ordinal);
        Assert.Contains("ecommerce-postgres-1", incident.Message, StringComparison.Ordinal);
        Assert.Empty(dr.Calls.Of("compose.up"));
        Assert.Empty(site.TakenDown);
    }

    [Theory]
    [InlineData("database outside Compose", "FailoverInput.DatabaseServices is [] (the DR database server 'dr' runs outside Compose)")]
    [InlineData("pgBackRest", "FailoverInput.PgBackRestStanza is set (main)")]
    [InlineData("DR server is the primary", "scenario 2's DR database server (Server) is 'main', the primary's own (PrimaryServer)")]
    [InlineData("Redis outside Docker", "Redis is restored outside Docker (Redis:LocalStartCommand `systemctl start redis-server`, no Redis:Container)")]
    [InlineData("Redis container already there", "Redis:Container shop-redis already exists on the DR engine (in no Compose project, running) while the DR project ecommerce has no container")]
    [InlineData("DR database server already answers", "the DR PostgreSQL server 'dr-db' (127.0.0.1:5432) already answers while the DR project ecommerce has no container")]
    [InlineData("Redis cannot be told", "cannot tell whether the DR Redis (127.0.0.1:6379) answers (no answer within 3 s")]
    public async Task A_scenario_2_that_would_restore_into_something_the_take_down_does_not_remove_is_refused_before_anything_starts(string setUp, string reason)
    {
        using var scratch = new TempDirectory("simulation");
        var (dr, site) = await StartAsync(redis =>
        {
            if (setUp == "Redis outside Docker")
                redis.LocalStartCommand.Add("systemctl start redis-server");
            if (setUp == "Redis container already there")
                redis.Container = "shop-redis";
        });
        await using var _ = dr;
        var more = new JsonObject();
        switch (setUp)
        {
            case "database outside Compose":
                more["DatabaseServices"] = new JsonArray();
                break;
            case "pgBackRest":
                more["PgBackRestStanza"] = "main";
                break;
            case "DR server is the primary":
                more["Server"] = "main";
                break;
            case "Redis container already there":
                site.Existing["shop-redis"] = new FailoverContainer("shop-redis", null, "running");
                break;
            case "DR database server already answers":
                more["Server"] = "dr-db";
                site.Services["postgres"] = FailoverServiceState.Answers;
                break;
            case "Redis cannot be told":
                site.Services["redis"] = FailoverServiceState.Unknown;
                break;
        }

        var run = await dr.RunAsync(QuarterlyFailoverSimulation.Id, Input(scratch, failoverInput: more));

        AssertRefused(dr, site, run, "scenario 2 would restore into something the take-down of the DR project ecommerce does not remove: ", reason);
    }

    [Fact]
    public void The_planner_lists_every_target_outside_the_project_and_none_when_all_are_its_own()
    {
        var gone = new FailoverServiceProbe("PostgreSQL server 'dr'", "127.0.0.1:5432", FailoverServiceState.Gone, "connection refused");
        var own = new FailoverRestoreTargets { Project = "ecommerce", DrServer = "dr", DrServerBefore = gone, RedisBefore = gone with { Service = "Redis", Endpoint = "127.0.0.1:6379" } };
        Assert.Empty(FailoverSimulationPlanner.RestoreTargetProblems(own));
        Assert.Empty(FailoverSimulationPlanner.RestoreTargetProblems(own with { DatabaseServices = new JsonArray("postgres", "redis"), RedisContainer = "ecommerce-redis-1", RedisLocalStartCommand = ["ignored, the container wins"] }));

        var problems = FailoverSimulationPlanner.RestoreTargetProblems(own with
        {
            DatabaseServices = new JsonArray(),
            PgBackRestStanza = "main",
            RedisLocalStartCommand = ["systemctl", "start", "redis-server"],
            DrServerBefore = gone with { State = FailoverServiceState.Answers, Detail = "accepts connections" },
            RedisBefore = gone with { Service = "Redis", Endpoint = "127.0.0.1:6379", State = FailoverServiceState.Unknown, Detail = "neither refused nor accepted (HostNotFound)" },
        });
        Assert.Collection(
            problems,
            p => Assert.StartsWith("FailoverInput.DatabaseServices is []", p, StringComparison.Ordinal),
            p => Assert.StartsWith("FailoverInput.PgBackRestStanza is set (main)", p, StringComparison.Ordinal),
            p => Assert.StartsWith("Redis is restored outside Docker", p, StringComparison.Ordinal),
            p => Assert.StartsWith("the DR PostgreSQL server 'dr' (127.0.0.1:5432) already answers", p, StringComparison.Ordinal),
            p => Assert.StartsWith("cannot tell whether the DR Redis (127.0.0.1:6379) answers (neither refused nor accepted (HostNotFound))", p, StringComparison.Ordinal));

        Assert.Contains("must be a list of Compose services", Assert.Single(FailoverSimulationPlanner.RestoreTargetProblems(own with { DatabaseServices = JsonValue.Create("postgres") })), StringComparison.Ordinal);
        Assert.Contains("the primary's own", Assert.Single(FailoverSimulationPlanner.RestoreTargetProblems(own with { DrServer = "MAIN" })), StringComparison.Ordinal);
        Assert.Contains("of Compose project other", Assert.Single(FailoverSimulationPlanner.RestoreTargetProblems(own with { RedisContainer = "cache", RedisContainerBefore = new FailoverContainer("cache", "other", "exited") })), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_recovery_within_the_window_is_met_the_approver_is_named_and_everything_it_started_is_cleaned_up()
    {
        using var scratch = new TempDirectory("simulation");
        var (dr, site) = await StartAsync();
        await using var _ = dr;
        site.Volumes.Add("ecommerce_kept");

        var run = await dr.RunAsync(QuarterlyFailoverSimulation.Id, Input(scratch));
        // Scenario 2 restored and tested the DR stack, and waits for a person at the cutover gate.
        var gate = await PendingCutoverAsync(dr);
        Assert.Equal("Approve the DNS cutover to the DR server", gate.Title);
        Assert.Contains(Test, gate.Question, StringComparison.Ordinal);
        Assert.Empty(dr.Calls.Of("dns.upsert"));
        site.Volumes.Add("ecommerce_pgdata"); // made by the DR stack's compose up
        await dr.AdvanceAsync(TimeSpan.FromMinutes(7)); // the approver takes 7 minutes
        dr.Smoke.FailingUrls.Remove(TestHealth); // the test record now leads to the DR server
        await DecideCutoverAsync(dr, "approve");

        var done = await dr.StateAsync(run.Id);
        Assert.True(done.SubStatus == WorkflowSubStatus.Finished, Describe(done));
        Assert.Equal("Met", done.Output["Verdict"]!.ToString());
        Assert.True(done.Output["Passed"]!.GetValue<bool>(), done.Output["Summary"]?.ToString());
        var report = done.Output["Report"]!;
        Assert.Equal("Recovered", report["outcome"]!.ToString());
        Assert.Equal(["restored", "healthy", "DR smoke passed", "cutover approved", "DNS in sync", "public smoke passed"], report["steps"]!.AsArray().Select(s => s!["step"]!.ToString()));
        Assert.All(report["steps"]!.AsArray(), s => Assert.NotNull(s!["at"]));
        Assert.Equal("00:07:00", report["totalRto"]!.ToString());
        Assert.Equal("01:30:00", report["window"]!.ToString());
        Assert.Equal(["oncall"], report["approval"]!["approvers"]!.AsArray().Select(a => a!.ToString()));
        Assert.Equal("00:07:00", report["approval"]!["waited"]!.ToString());

        // The test record moved to the DR address and back; the production record never moved.
        dr.Calls.AssertOrder(
            $"dns.upsert Z1234567890ABC {Test} A 198.51.100.7 ttl=60",
            $"dns.upsert Z1234567890ABC {Test} A 192.0.2.1 ttl=300");
        Assert.DoesNotContain(dr.Calls.Of("dns.upsert"), c => c.Contains(Production, StringComparison.Ordinal));
        Assert.Equal(["203.0.113.10"], dr.Dns.Records[Production].Values);
        Assert.Equal(["192.0.2.1"], dr.Dns.Records[Test].Values);
        // The DR stack is down and the volume it made removed; the volume that was there before is kept.
        Assert.Equal(["ecommerce"], site.TakenDown);
        Assert.Empty(site.Containers);
        Assert.Equal(["ecommerce_kept"], site.Volumes);
        Assert.True(report["cleanup"]!["clean"]!.GetValue<bool>());
        // Measured after the take-down: the DR database server and Redis scenario 2 restored into no longer answer.
        Assert.Equal(["PostgreSQL server 'dr' Gone", "Redis Gone"], report["cleanup"]!["servicesAfter"]!.AsArray().Select(p => $"{p!["service"]} {p["state"]}"));
        // The Redis dump scenario 2 fetched onto the orchestrator is a copy of backup data the simulation made: gone.
        Assert.False(File.Exists(scratch.Combine("failover.rdb")));
        Assert.Equal(scratch.Combine("failover.rdb") + " removed", report["cleanup"]!["redisDump"]!.ToString());
        Assert.Equal(["before postgres dr", "before redis", "after postgres dr", "after redis"], site.Probed);

        // Reported and archived like the drill; no issue.
        Assert.Contains(dr.Comms.SlackPosts, p => p.Text.StartsWith("*Quarterly failover simulation: MET*", StringComparison.Ordinal));
        var set = await dr.Catalog.FindAsync(report["archive"]!["store"]!.ToString(), BackupKinds.DrillReport, QuarterlyFailoverSimulation.Id, run.Id, DrTestHost.Ct);
        Assert.NotNull(set);
        Assert.DoesNotContain(dr.PostMortems.Requests, r => r.Details.IsDrill);

        // Scenario 2 ran as a rehearsal: nothing reached the public status page (each step journaled what it did not
        // post), and what people read says so: the thread's opening, the pages, the scenario's post-mortem.
        Assert.Empty(dr.Comms.StatusIncidents);
        Assert.Empty(dr.Comms.StatusUpdates);
        var child = report["childRunId"]!.ToString();
        var statusSteps = (await dr.Host.JournalAsync(child)).Where(e => e.EventName == DrWorkflows.Core.Execution.JournalEvents.Completed && e.Payload?["data"]?["statusPage"] is not null).ToList();
        Assert.NotEmpty(statusSteps);
        Assert.All(statusSteps, e => Assert.False(e.Payload!["data"]!["statusPage"]!["posted"]!.GetValue<bool>()));
        Assert.Contains(dr.Comms.SlackPosts, p => p.Text.StartsWith("[REHEARSAL, not a real outage] :rotating_light:", StringComparison.Ordinal));
        var scenarioPostMortem = Assert.Single(dr.PostMortems.Requests, r => !r.Details.IsDrill);
        Assert.Contains("rehearsal", scenarioPostMortem.Labels);
        Assert.StartsWith("[REHEARSAL, not a real outage]", scenarioPostMortem.Details.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_recovery_over_the_window_is_missed_and_opens_an_issue_and_still_cleans_up()
    {
        using var scratch = new TempDirectory("simulation");
        var (dr, site) = await StartAsync();
        await using var _ = dr;

        var run = await dr.RunAsync(QuarterlyFailoverSimulation.Id, Input(scratch, window: 10));
        await PendingCutoverAsync(dr);
        await dr.AdvanceAsync(TimeSpan.FromMinutes(12));
        dr.Smoke.FailingUrls.Remove(TestHealth);
        await DecideCutoverAsync(dr, "approve");

        var done = await dr.StateAsync(run.Id);
        Assert.True(done.SubStatus == WorkflowSubStatus.Finished, Describe(done));
        Assert.Equal("Missed", done.Output["Verdict"]!.ToString());
        Assert.False(done.Output["Passed"]!.GetValue<bool>());
        Assert.Contains("over the 10 min 0 s window", done.Output["Report"]!["reason"]!.ToString(), StringComparison.Ordinal);
        var issue = Assert.Single(dr.PostMortems.Requests, r => r.Details.IsDrill);
        Assert.Contains("MISSED", issue.Details.Title, StringComparison.Ordinal);
        Assert.Equal(["ecommerce"], site.TakenDown);
        Assert.Equal(["192.0.2.1"], dr.Dns.Records[Test].Values);
    }

    [Fact]
    public async Task A_rejected_cutover_is_a_failed_simulation_never_met_and_the_stack_is_still_taken_down()
    {
        using var scratch = new TempDirectory("simulation");
        var (dr, site) = await StartAsync();
        await using var _ = dr;

        var run = await dr.RunAsync(QuarterlyFailoverSimulation.Id, Input(scratch));
        await DecideCutoverAsync(dr, "reject");

        var done = await dr.StateAsync(run.Id);
        Assert.True(done.SubStatus == WorkflowSubStatus.Finished, Describe(done));
        Assert.Equal("Failed", done.Output["Verdict"]!.ToString());
        var report = done.Output["Report"]!;
        Assert.Equal("Failed", report["outcome"]!.ToString());
        Assert.Null(report["totalRto"]);
        Assert.Contains("steps not reached: cutover approved, DNS in sync, public smoke passed", report["reason"]!.ToString(), StringComparison.Ordinal);
        Assert.Empty(dr.Calls.Of("dns.upsert")); // the test record never moved: nothing to put back
        Assert.Equal(["ecommerce"], site.TakenDown);
        Assert.Contains("FAILED", Assert.Single(dr.PostMortems.Requests, r => r.Details.IsDrill).Details.Title, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cleanup_that_leaves_a_volume_is_reported_loudly_opens_an_issue_and_ends_on_an_incident()
    {
        using var scratch = new TempDirectory("simulation");
        var (dr, site) = await StartAsync();
        await using var _ = dr;
        site.StuckVolume = "ecommerce_pgdata";

        var run = await dr.RunAsync(QuarterlyFailoverSimulation.Id, Input(scratch));
        site.Volumes.Add("ecommerce_pgdata");
        dr.Smoke.FailingUrls.Remove(TestHealth);
        await DecideCutoverAsync(dr, "approve");

        var done = await dr.StateAsync(run.Id);
        var incident = Assert.Single(done.Incidents);
        Assert.Equal("failCleanup", incident.ActivityId);
        Assert.Contains("volume(s) the simulation made still there: ecommerce_pgdata", incident.Message, StringComparison.Ordinal);
        Assert.Equal("Met", done.Output["Verdict"]!.ToString());
        Assert.False(done.Output["Passed"]!.GetValue<bool>());
        Assert.Contains(dr.Comms.SlackPosts, p => p.Text.Contains("**Cleanup FAILED**", StringComparison.Ordinal));
        Assert.Contains("CLEANUP FAILED", Assert.Single(dr.PostMortems.Requests, r => r.Details.IsDrill).Details.Title, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("postgres", FailoverServiceState.Answers, "the DR PostgreSQL server 'dr' (127.0.0.1:5432) still answers after the take-down of ecommerce: what scenario 2 restored into it is still there")]
    [InlineData("redis", FailoverServiceState.Answers, "the DR Redis (127.0.0.1:6379) still answers after the take-down of ecommerce")]
    [InlineData("redis", FailoverServiceState.Unknown, "cannot prove the DR Redis (127.0.0.1:6379) is gone after the take-down of ecommerce: no answer within 3 s")]
    public async Task A_DR_service_that_still_answers_or_cannot_be_told_after_the_take_down_makes_the_cleanup_dirty(string service, FailoverServiceState state, string problem)
    {
        using var scratch = new TempDirectory("simulation");
        var (dr, site) = await StartAsync();
        await using var _ = dr;

        var run = await dr.RunAsync(QuarterlyFailoverSimulation.Id, Input(scratch));
        await PendingCutoverAsync(dr);
        // Runs outside the project after all (started by hand meanwhile, or another stack's): the take-down does not remove it.
        site.Services[service] = state;
        dr.Smoke.FailingUrls.Remove(TestHealth);
        await DecideCutoverAsync(dr, "approve");

        var done = await dr.StateAsync(run.Id);
        var incident = Assert.Single(done.Incidents);
        Assert.Equal("failCleanup", incident.ActivityId);
        Assert.Contains(problem, incident.Message, StringComparison.Ordinal);
        Assert.Equal(["ecommerce"], site.TakenDown);
        Assert.Empty(site.Containers);
        Assert.False(done.Output["Passed"]!.GetValue<bool>());
        var cleanup = done.Output["Report"]!["cleanup"]!;
        Assert.False(cleanup["clean"]!.GetValue<bool>());
        Assert.Contains(cleanup["problems"]!.AsArray(), p => p!.ToString().StartsWith(problem, StringComparison.Ordinal));
        Assert.Contains(dr.Comms.SlackPosts, p => p.Text.Contains("**Cleanup FAILED**", StringComparison.Ordinal));
        Assert.Contains("CLEANUP FAILED", Assert.Single(dr.PostMortems.Requests, r => r.Details.IsDrill).Details.Title, StringComparison.Ordinal);
    }

    /// <summary>
    /// The DR engine's view of the DR project (its containers and volumes, a take-down that removes them, containers by
    /// name) and the DR services as probed from the orchestrator (gone unless a test says otherwise).
    /// </summary>
    private sealed class FakeFailoverSite : IFailoverSimulationSite, IFailoverSimulationProbe
    {
        /// <summary>Containers by name on the DR engine, outside the project.</summary>
        public Dictionary<string, FailoverContainer> Existing { get; } = [];

        /// <summary>The state of <c>postgres</c> and <c>redis</c> when probed; gone when absent.</summary>
        public Dictionary<string, FailoverServiceState> Services { get; } = [];

        /// <summary>The probes, in order: before or after the take-down, and which service.</summary>
        public List<string> Probed { get; } = [];

        public Task<FailoverContainer?> FindContainerAsync(string name, CancellationToken cancellationToken) =>
            Task.FromResult(Existing.GetValueOrDefault(name));

        public Task<FailoverServiceProbe> ProbePostgresAsync(string server, TimeSpan waitGone, CancellationToken cancellationToken) =>
            Task.FromResult(Probe($"postgres {server}", "postgres", $"PostgreSQL server '{server}'", "127.0.0.1:5432", waitGone));

        public Task<FailoverServiceProbe> ProbeRedisAsync(TimeSpan waitGone, CancellationToken cancellationToken) =>
            Task.FromResult(Probe("redis", "redis", "Redis", "127.0.0.1:6379", waitGone));

        private FailoverServiceProbe Probe(string what, string key, string service, string endpoint, TimeSpan waitGone)
        {
            // The check probes once; the cleanup gives a port time to be released.
            Probed.Add((waitGone > TimeSpan.Zero ? "after " : "before ") + what);
            var state = Services.GetValueOrDefault(key, FailoverServiceState.Gone);
            var detail = state switch
            {
                FailoverServiceState.Gone => "connection refused",
                FailoverServiceState.Answers => "accepts connections",
                _ => "no answer within 3 s (neither refused nor accepted)",
            };
            return new FailoverServiceProbe(service, endpoint, state, detail);
        }

        public List<string> Containers { get; } = [];

        public List<string> Volumes { get; } = [];

        public List<string> TakenDown { get; } = [];

        /// <summary>A volume whose removal fails.</summary>
        public string? StuckVolume { get; set; }

        public Task<FailoverSiteState> InspectAsync(string project, CancellationToken cancellationToken) =>
            Task.FromResult(new FailoverSiteState(project, [.. Containers], [.. Volumes]));

        public Task<FailoverSiteCleanup> TakeDownAsync(string project, IReadOnlyCollection<string> keepVolumes, CancellationToken cancellationToken)
        {
            TakenDown.Add(project);
            var removed = Containers.Select(c => "container " + c).ToList();
            Containers.Clear();
            var problems = new List<string>();
            foreach (var volume in Volumes.Where(v => !keepVolumes.Contains(v)).ToList())
            {
                if (volume == StuckVolume)
                {
                    problems.Add($"volume {volume} could not be removed (left to the janitor)");
                    continue;
                }

                Volumes.Remove(volume);
                removed.Add("volume " + volume);
            }

            return Task.FromResult(new FailoverSiteCleanup(new FailoverSiteState(project, [.. Containers], [.. Volumes]), removed, problems));
        }
    }
}
