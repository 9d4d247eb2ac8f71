using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Approvals;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Server.Hosting;
using DrWorkflows.Server.Tests.Approvals;
using DrWorkflows.Testing;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Server.Tests.Hardening;

/// <summary>
/// The fuzz test of issue 17, generated from the server's own route table (<see cref="EndpointDataSource"/>), so a
/// route added later is fuzzed without touching this file. Every route and method gets malformed bodies (duplicate
/// keys, wrong kinds, huge, deep, broken Unicode, empty, wrong content types), malformed ids and query values, and
/// correctly signed webhook variants, as every role and without a key. It asserts that no answer is a 5xx, that a
/// refused request (anything but 2xx) changed nothing in the store, and that the server stays healthy (it answers
/// /health and still records a real approval at the end).
/// Seeded: <c>DRW_FUZZ_SEED=&lt;n&gt;</c> replays a run (ids the server generates, such as approval ids, differ; the
/// choices made do not); <c>DRW_FUZZ_REQUESTS</c> changes the count (default 10,000). It prints its seed and counts.
/// </summary>
[TypicalDuration(62)]
public sealed class RouteFuzzTests
{
    private const int DefaultRequests = 10_000;

    /// <summary>Runs, revisions and states; definitions and versions; journal and bookmark counts.</summary>
    private const string DigestSql = """
        SELECT (SELECT group_concat(x, ',') FROM (SELECT id || ':' || revision || ':' || sub_status AS x FROM instances ORDER BY id)),
               (SELECT group_concat(x, ',') FROM (SELECT id || ':' || is_latest || is_published || ':' || length(json) AS x FROM definitions ORDER BY id)),
               (SELECT count(*) FROM journal), (SELECT count(*) FROM bookmarks)
        """;

    private const string WaitingWorkflow = """
        { "definitionId": "fuzz-waits", "name": "Waits",
          "root": { "type": "Elsa.Flowchart", "id": "fc", "version": 1,
            "activities": [
              { "id": "start", "type": "Elsa.Start", "version": 1 },
              { "id": "wait", "type": "Elsa.Delay", "version": 1, "timeSpan": { "typeName": "TimeSpan", "expression": { "type": "Literal", "value": "01:00:00" } } },
              { "id": "done", "type": "Elsa.WriteLine", "version": 1, "text": { "typeName": "String", "expression": { "type": "Literal", "value": "done" } } } ],
            "connections": [
              { "source": { "activity": "start", "port": "Done" }, "target": { "activity": "wait", "port": "In" } },
              { "source": { "activity": "wait", "port": "Done" }, "target": { "activity": "done", "port": "In" } } ] } }
        """;

    private const string FileWorkflow = """
        { "definitionId": "fuzz-readonly", "name": "From a file",
          "root": { "type": "Elsa.Sequence", "id": "seq", "version": 1,
            "activities": [ { "id": "say", "type": "Elsa.WriteLine", "version": 1, "text": { "typeName": "String", "expression": { "type": "Literal", "value": "hello" } } } ] } }
        """;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_route_and_method_survives_malformed_input_without_a_5xx_or_a_change_from_a_refusal()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("DRW_FUZZ_SEED"), CultureInfo.InvariantCulture, out var given) ? given : Random.Shared.Next();
        var total = int.TryParse(Environment.GetEnvironmentVariable("DRW_FUZZ_REQUESTS"), CultureInfo.InvariantCulture, out var requested) ? requested : DefaultRequests;
        using var studio = new TempDirectory("fuzz-studio");
        using var workflows = new TempDirectory("fuzz-workflows");
        Directory.CreateDirectory(studio.Combine("_framework"));
        await File.WriteAllTextAsync(studio.Combine("_framework", "blazor.webassembly.js"), "// stand-in", Ct);
        await File.WriteAllTextAsync(workflows.Combine("readonly.json"), FileWorkflow, Ct);
        await using var server = new ApprovalServerFactory(settings: new Dictionary<string, string>
        {
            ["DRW_STUDIO_DIR"] = studio.FullPath,
            ["DRW_WORKFLOWS_DIR"] = workflows.FullPath,
            // Key guessing is throttled per source, and every fuzz request comes from one: the limits are tested elsewhere.
            ["DrWorkflows:Limits:FailedKeyAttemptsPerMinute"] = "100000",
            ["DrWorkflows:Limits:SignInAttemptsPerMinute"] = "100000",
            ["IncidentAlerts:Enabled"] = "false",
            ["Logging:LogLevel:Default"] = "Error",
        });
        var pools = await SeedAsync(server);
        var routes = FuzzRoute.From(server.Services.GetRequiredService<EndpointDataSource>(), BodyLimits.Default);
        var input = new FuzzInput(new Random(seed), pools);
        using var client = server.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });
        await using var store = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(server.DataDirectory, "drworkflows.db"), Mode = SqliteOpenMode.ReadOnly }.ToString());
        await store.OpenAsync(Ct);

        var statuses = new SortedDictionary<int, int>();
        var covered = new HashSet<(string Route, string Role)>();
        var failures = new List<string>();
        var digest = await StableDigestAsync(store, server);
        var clock = Stopwatch.StartNew();
        var sent = 0;
        var lastAccepted = "none";
        for (var i = 0; i < total && failures.Count < 25; i++)
        {
            var route = routes[i % routes.Count];
            var request = input.Next(route);
            sent++;
            int status;
            string answer;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(60));
                using var message = request.ToMessage();
                using var response = await client.SendAsync(message, timeout.Token);
                status = (int)response.StatusCode;
                answer = await response.Content.ReadAsStringAsync(timeout.Token);
            }
            catch (Exception e) when (e is HttpRequestException or InvalidOperationException or IOException or OperationCanceledException && !Ct.IsCancellationRequested)
            {
                failures.Add($"#{i} {request.Describe()}\n  threw {e.GetType().Name}: {e.Message}");
                digest = await StableDigestAsync(store, server);
                continue;
            }

            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            covered.Add((route.Display, request.Role));
            if (status >= 500)
                failures.Add($"#{i} {request.Describe()}\n  answered {status}: {Cut(answer)}");
            // GET is not always safe here: Elsa's execute and dispatch routes answer GET and start a run. So a GET is
            // checked like any other method: an accepted one moves the digest on, a refused one must change nothing.
            if (status is >= 200 and < 300)
            {
                lastAccepted = $"#{i} {request.Describe()} answered {status}: {Cut(answer)}";
                digest = await StableDigestAsync(store, server);
                continue;
            }

            var after = await DigestAsync(store);
            if (after != digest)
            {
                failures.Add($"#{i} {request.Describe()}\n  answered {status} but changed the store (last accepted: {lastAccepted}):\n  before {Cut(digest)}\n  after  {Cut(after)}");
                digest = await StableDigestAsync(store, server);
            }

            if (i % 500 == 499)
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health", Ct)).StatusCode);
        }

        var elapsed = clock.Elapsed;
        var summary = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"fuzz: seed {seed}, {sent} requests over {routes.Count} route methods in {elapsed.TotalSeconds:F1} s; ")
            .Append("statuses ").AppendJoin(", ", statuses.Select(s => $"{s.Key}: {s.Value}"))
            .Append(CultureInfo.InvariantCulture, $"; {failures.Count} failures. Replay: DRW_FUZZ_SEED={seed} bash tests/run.sh --project tests/DrWorkflows.Server.Tests -- --filter-class '*RouteFuzzTests*'")
            .ToString();
        // "==> " lines of a test's output are printed by tests/run.sh with the results (tests/infra/trx-summary.py).
        TestContext.Current.TestOutputHelper?.WriteLine("==> " + summary);
        TestContext.Current.TestOutputHelper?.WriteLine("routes: " + string.Join(", ", routes.Select(r => r.Display)));

        // CI prints a failed test's first line only, so the first failure goes on it too.
        var first = failures.Count == 0 ? string.Empty : " First: " + failures[0].ReplaceLineEndings(" / ");
        Assert.True(failures.Count == 0, summary + first + "\n" + string.Join("\n", failures));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health", Ct)).StatusCode);
        await AssertStillDecidesAsync(server);
        if (total >= DefaultRequests)
        {
            var missing = routes.SelectMany(r => FuzzPools.Roles.Select(role => (r.Display, role.Role))).Where(c => !covered.Contains(c)).ToList();
            Assert.True(missing.Count == 0, "not fuzzed: " + string.Join(", ", missing));
        }
    }

    /// <summary>Runs at a gate (options, plain, free answer), waiting runs, a draft with two versions, a read-only definition; their ids are the pools.</summary>
    private static async Task<FuzzPools> SeedAsync(ApprovalServerFactory server)
    {
        var pools = new FuzzPools { Now = server.Clock.GetUtcNow() };
        var gates = new List<ApprovalRecord>
        {
            (await server.StartGateAsync()).Gate,
            (await server.StartGateAsync(texts: new ApprovalServerFactory.GateTexts { Options = [] })).Gate,
            (await server.StartGateAsync(texts: new ApprovalServerFactory.GateTexts { Options = null, InputSchema = JsonNode.Parse("""{"type":"string"}""") })).Gate,
        };
        var admin = server.Client(ApprovalServerFactory.AdminKey);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = JsonNode.Parse(WaitingWorkflow), ["publish"] = true })).Status);
        foreach (var id in (string[])["fuzz-wait-1", "fuzz-wait-2", "fuzz-wait-3"])
            Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync("/elsa/api/workflow-definitions/fuzz-waits/execute", new JsonObject { ["instanceId"] = id })).Status);
        var draft = JsonNode.Parse(WaitingWorkflow)!.AsObject();
        draft["definitionId"] = "fuzz-draft";
        Assert.Equal(HttpStatusCode.Created, (await admin.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = draft.DeepClone(), ["publish"] = true })).Status);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync("/elsa/api/workflow-definitions", new JsonObject { ["model"] = draft, ["publish"] = false })).Status);
        await server.SweepAsync();

        var instances = server.Services.GetRequiredService<IWorkflowInstanceStore>();
        var definitions = server.Services.GetRequiredService<IWorkflowDefinitionStore>();
        // Only the test's own definitions: the DR workflows from code are never started by the fuzz (they act on real hosts).
        var own = (await definitions.ListAsync(new DefinitionQuery(VersionOptions.All, Take: 10_000), Ct)).Items
            .Where(d => d.DefinitionId.StartsWith("fuzz-", StringComparison.Ordinal) || d.DefinitionId.StartsWith("gate-", StringComparison.Ordinal)).ToList();
        pools.Ids.AddRange(own.Select(d => d.DefinitionId).Distinct().Concat(own.Select(d => d.Id)));
        foreach (var run in (await instances.ListAsync(new InstanceQuery(Take: 100), Ct)).Items)
        {
            pools.Ids.Add(run.Id);
            pools.Ids.AddRange((await instances.GetAsync(run.Id, Ct))!.Bookmarks.Select(b => b.Id));
        }

        foreach (var gate in gates)
        {
            pools.ApprovalIds.Add(gate.ApprovalId);
            pools.ApprovalIds.Add(gate.ApprovalId[(gate.ApprovalId.LastIndexOf('.') + 1)..]);
        }

        pools.Ids.Sort(StringComparer.Ordinal);
        pools.ApprovalIds.Sort(StringComparer.Ordinal);
        return pools;
    }

    /// <summary>The server still does its job after the fuzz: a new gate is decided through the API.</summary>
    private static async Task AssertStillDecidesAsync(ApprovalServerFactory server)
    {
        var (_, gate) = await server.StartGateAsync();
        var (status, body, _) = await server.Client(ApprovalServerFactory.AliceKey).PostJsonAsync($"/api/approvals/{gate.ApprovalId}/approve", """{"option":"1","comment":"after the fuzz"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("decided", body!["result"]!.GetValue<string>());
    }

    private static async Task<string> DigestAsync(SqliteConnection store)
    {
        await using var command = store.CreateCommand();
        command.CommandText = DigestSql;
        await using var reader = await command.ExecuteReaderAsync(Ct);
        await reader.ReadAsync(Ct);
        return string.Join(" | ", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? string.Empty : Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture)));
    }

    /// <summary>
    /// The digest once the work an accepted request started has settled: no run pending, executing or held, no timer due
    /// (the clock is fake and stands still, so a due timer is one a decision just made, such as the gate's publish
    /// step; it is run here rather than left to the background loop), and the same digest twice.
    /// </summary>
    private static async Task<string> StableDigestAsync(SqliteConnection store, ApprovalServerFactory server)
    {
        var previous = await DigestAsync(store);
        for (var i = 0; i < 500; i++)
        {
            if (await BusyAsync(store, server.Clock.GetUtcNow()))
                await server.SweepAsync();
            else
                await Task.Delay(TimeSpan.FromMilliseconds(2), TimeProvider.System, Ct);
            var current = await DigestAsync(store);
            if (current == previous && !await BusyAsync(store, server.Clock.GetUtcNow()))
                return current;
            previous = current;
        }

        return previous;
    }

    private static async Task<bool> BusyAsync(SqliteConnection store, DateTimeOffset now)
    {
        await using var command = store.CreateCommand();
        // A run the runtime still holds (its lease row) may commit again: a dispatched run is committed Suspended by
        // its step, then once more at the end of the drive, and under load the second commit can come after two
        // equal digests (seed 1241040997 showed it).
        command.CommandText = "SELECT (SELECT count(*) FROM instances WHERE sub_status IN ('Pending', 'Executing')) + (SELECT count(*) FROM bookmarks WHERE resume_at IS NOT NULL AND resume_at <= $now) + (SELECT count(*) FROM leases)";
        command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        return Convert.ToInt64(await command.ExecuteScalarAsync(Ct), CultureInfo.InvariantCulture) > 0;
    }

    private static string Cut(string text) => text.Length <= 600 ? text : text[..600] + "…";
}
