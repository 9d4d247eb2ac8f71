using System.IO.Compression;
using System.Net;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Server.Tests.Approvals;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Server.Tests.Operations;

/// <summary>
/// <c>GET /api/audit</c> and <c>drw audit</c> on the real server: the pack holds exactly what the runs of the period
/// recorded (approvals with their evidence hash, incidents with their resolution, drill reports, the workflow
/// versions that ran, whole journals), and its manifest checks every file.
/// </summary>
public sealed class AuditPackTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_pack_holds_what_the_runs_of_the_period_recorded_and_its_manifest_checks_every_file()
    {
        await using var server = new ApprovalServerFactory();
        var before = await StartAsync(server, "before-the-period", "RunJavaScript", """{ "type": "Elsa.RunJavaScript", "version": 1, "id": "noop", "script": { "typeName": "String", "expression": { "type": "Literal", "value": "1" } } }""");
        Assert.Equal(WorkflowStatus.Finished, before.Status);
        server.Clock.Advance(TimeSpan.FromDays(2));
        var from = server.Clock.GetUtcNow();
        server.Clock.Advance(TimeSpan.FromMinutes(1));

        // An approval decided through the API with the hash of the evidence the approver saw.
        var (gateRun, gate) = await server.StartGateAsync();
        var (approved, _, _) = await server.Client(ApprovalServerFactory.AliceKey).PostJsonAsync($"/api/approvals/{gate.ApprovalId}/approve", new JsonObject { ["option"] = "dr-1", ["evidenceSha256"] = gate.EvidenceSha256 });
        Assert.Equal(HttpStatusCode.OK, approved);
        await FinishedAsync(server, gateRun);

        // An incident an operator resolved.
        var failing = await StartAsync(server, "nightly-dump", "dump", """{ "type": "Elsa.RunJavaScript", "version": 1, "id": "dump", "script": { "typeName": "String", "expression": { "type": "Literal", "value": "throw new Error('disk full at /backups')" } } }""");
        var incident = Assert.Single(failing.Incidents);
        var (resolved, _, _) = await server.Client(ApprovalServerFactory.OperatorKey).PostJsonAsync($"/api/workflow-instances/{failing.Id}/incidents/{incident.Id}/skip", new JsonObject());
        Assert.Equal(HttpStatusCode.OK, resolved);
        await FinishedAsync(server, failing.Id);

        // A drill: its objectives judged from a measurement.
        var recoveredAt = server.Clock.GetUtcNow().AddMinutes(4).ToString("O");
        var drill = await StartAsync(server, "drill-lite", "judge", $$"""
            { "type": "DrWorkflows.CheckRecoveryObjectives", "version": 1, "id": "judge", "title": { "typeName": "String", "expression": { "type": "Literal", "value": "Audit test drill" } },
              "measurements": { "typeName": "Object", "expression": { "type": "JavaScript", "value": "[{ component: 'backend', startedAt: '{{from:O}}', recoveredAt: '{{recoveredAt}}', succeeded: true, method: 'health check' }]" } } },
            { "type": "Elsa.SetOutput", "version": 1, "id": "out", "outputName": { "typeName": "String", "expression": { "type": "Literal", "value": "Summary" } },
              "outputValue": { "typeName": "Object", "expression": { "type": "JavaScript", "value": "getOutputFrom('judge', 'Summary')" } } }
            """, outputs: """[{ "type": "String", "name": "Summary", "displayName": "Summary" }]""");
        Assert.Equal(WorkflowStatus.Finished, drill.Status);
        server.Clock.Advance(TimeSpan.FromMinutes(5));
        var to = server.Clock.GetUtcNow();

        using var client = server.Client(ApprovalServerFactory.ViewerKey);
        using var response = await client.GetAsync($"/api/audit?from={Uri.EscapeDataString(from.ToString("O"))}&to={Uri.EscapeDataString(to.ToString("O"))}", Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/zip", response.Content.Headers.ContentType?.MediaType);
        var manifestHash = Assert.Single(response.Headers.GetValues("X-DrWorkflows-Manifest-Sha256"));
        var pack = await ReadAsync(await response.Content.ReadAsByteArrayAsync(Ct));

        // The manifest lists every other file with its SHA-256, and its own hash is the one reported.
        Assert.Equal(manifestHash, Sha256(pack["MANIFEST.sha256"]));
        var listed = Text(pack, "MANIFEST.sha256").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split("  ", 2)).ToDictionary(p => p[1], p => p[0]);
        Assert.Equal(pack.Keys.Where(k => k != "MANIFEST.sha256").Order(StringComparer.Ordinal), listed.Keys.Order(StringComparer.Ordinal));
        Assert.All(listed, f => Assert.Equal(f.Value, Sha256(pack[f.Key])));

        // The runs of the period, not the one before it.
        var runs = Json(pack, "runs/index.json").AsArray().Select(r => r!["id"]!.GetValue<string>()).ToList();
        Assert.Equal(new[] { gateRun, failing.Id, drill.Id }.Order(StringComparer.Ordinal), runs.Order(StringComparer.Ordinal));
        Assert.DoesNotContain(pack.Keys, k => k.Contains(before.Id, StringComparison.Ordinal));
        var store = server.Services.GetRequiredService<IWorkflowInstanceStore>();
        foreach (var run in runs)
        {
            var journal = (await store.GetJournalAsync(run, 0, 10_000, Ct)).Items;
            var lines = Text(pack, $"runs/{run}/journal.jsonl").Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(journal.Select(e => e.Sequence), lines.Select(l => JsonNode.Parse(l)!["sequence"]!.GetValue<long>()));
        }

        // The approval with who decided, how, and the evidence hash they approved.
        var approval = Assert.Single(Lines(pack, "approvals.jsonl"));
        Assert.Equal(gateRun, approval["runId"]!.GetValue<string>());
        Assert.Equal(gate.EvidenceSha256, approval["evidenceSha256"]!.GetValue<string>());
        Assert.Equal("dr-1", approval["decision"]!["option"]!.GetValue<string>());
        Assert.Contains("alice", approval["decision"]!["votes"]![0]!["by"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotNull(approval["evidence"]);

        // The incident with its resolution.
        var resolvedIncident = Assert.Single(Lines(pack, "incidents.jsonl"));
        Assert.Equal(failing.Id, resolvedIncident["runId"]!.GetValue<string>());
        Assert.True(resolvedIncident["resolved"]!.GetValue<bool>());
        Assert.Equal("Skip", resolvedIncident["incident"]!["resolution"]!.GetValue<string>());
        Assert.Contains("disk full at /backups", resolvedIncident["incident"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        // The drill's report, as the run measured it, and nothing else counted as a drill.
        Assert.Equal([drill.Id], Json(pack, "drills/index.json").AsArray().Select(d => d!.GetValue<string>()));
        var drillState = await store.GetAsync(drill.Id, Ct);
        Assert.Equal(drillState!.Output["Summary"]!.GetValue<string>(), Text(pack, $"drills/{drill.Id}.md"));
        Assert.Contains("Audit test drill", Text(pack, $"drills/{drill.Id}.md"), StringComparison.Ordinal);
        var measured = Assert.Single(Lines(pack, "objectives/measured-by-runs.jsonl"));
        Assert.Equal(drill.Id, measured["runId"]!.GetValue<string>());
        Assert.Equal("backend", measured["objectives"]!["components"]![0]!["component"]!.GetValue<string>());
        Assert.NotEmpty(Json(pack, "objectives/report-at-pack-time.json")["items"]!.AsArray());
        Assert.NotNull(Json(pack, "objectives/plan.json")["components"]!["postgres-main"]);

        // The three workflow versions that ran, each as it ran and with its hash.
        var versions = Json(pack, "workflow-versions/index.json").AsArray();
        Assert.Equal(3, versions.Count);
        var definitions = server.Services.GetRequiredService<IWorkflowDefinitionStore>();
        foreach (var version in versions)
        {
            var stored = await definitions.FindByIdAsync(version!["id"]!.GetValue<string>(), Ct);
            Assert.Equal(stored!.Json, Text(pack, version["file"]!.GetValue<string>()));
            Assert.Equal(Sha256(Encoding.UTF8.GetBytes(stored.Json)), version["sha256"]!.GetValue<string>());
        }

        Assert.Contains("sha256sum -c MANIFEST.sha256", Text(pack, "README.md"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_version_that_ran_is_listed_with_the_commit_recorded_when_it_was_stored()
    {
        await using var server = new ApprovalServerFactory();
        var from = server.Clock.GetUtcNow();
        server.Clock.Advance(TimeSpan.FromMinutes(1));

        // A workflows/ checkout: one file committed, one changed after the commit, loaded as the server loads them.
        using var checkout = new DrWorkflows.Testing.TempDirectory("audit-workflows");
        await File.WriteAllTextAsync(checkout.Combine("committed.json"), Noop("from-commit"), Ct);
        await File.WriteAllTextAsync(checkout.Combine("changed.json"), Noop("from-changed-file"), Ct);
        await GitAsync(checkout.FullPath, "init", "-q");
        await GitAsync(checkout.FullPath, "add", ".");
        await GitAsync(checkout.FullPath, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "workflows");
        var head = (await GitAsync(checkout.FullPath, "rev-parse", "HEAD")).Trim();
        await File.WriteAllTextAsync(checkout.Combine("changed.json"), Noop("from-changed-file", "2"), Ct);
        using var notACheckout = new DrWorkflows.Testing.TempDirectory("audit-folder");
        await File.WriteAllTextAsync(notACheckout.Combine("plain.json"), Noop("from-plain-folder"), Ct);
        // A published folder (no .git) with the stamp the publish writes: the file as committed at head.
        using var published = new DrWorkflows.Testing.TempDirectory("audit-published");
        await File.WriteAllTextAsync(published.Combine("committed.json"), Noop("from-published-file"), Ct);
        await File.WriteAllTextAsync(published.Combine(SourceCommits.StampFileName),
            $$"""{ "commit": "{{head}}", "files": { "committed.json": "{{Sha256(await File.ReadAllBytesAsync(published.Combine("committed.json"), Ct))}}" }, "notCommitted": {} }""", Ct);
        var definitions = server.Services.GetRequiredService<WorkflowDefinitionService>();
        foreach (var folder in new[] { checkout.FullPath, notACheckout.FullPath, published.FullPath })
        {
            var options = new DrWorkflows.Core.Hosting.WorkflowSourceOptions { Directory = folder };
            if (folder == checkout.FullPath)
                options.CodeAssemblies.Add(typeof(DrWorkflows.Testing.Behaviour.GreetingCodeWorkflow).Assembly);
            var loader = new DrWorkflows.Core.Hosting.WorkflowLoader(definitions, Microsoft.Extensions.Options.Options.Create(options), Microsoft.Extensions.Logging.Abstractions.NullLogger<DrWorkflows.Core.Hosting.WorkflowLoader>.Instance);
            Assert.True(await loader.LoadAsync(Ct) > 0, string.Join("; ", loader.Errors.Select(e => e.Message)));
            Assert.Empty(loader.Errors); // the stamp is not read as a workflow
        }

        // A version merged through GitOps, and one made through the API.
        var merge = "fedcba9876543210fedcba9876543210fedcba98";
        await definitions.SaveAsync(WorkflowDefinitionDocument.Parse(Noop("from-merge")), publish: true, DefinitionOrigins.Git(new GitSource("workflows/from-merge.json", merge, 42)), isReadonly: false, Ct);
        await definitions.SaveAsync(WorkflowDefinitionDocument.Parse(Noop("from-api")), publish: true, "api", isReadonly: false, Ct);
        string[] ran = ["from-commit", "from-changed-file", "from-plain-folder", "from-published-file", "from-merge", "from-api", DrWorkflows.Testing.Behaviour.GreetingCodeWorkflow.Id];
        foreach (var id in ran)
        {
            await server.Runtime.StartAsync(new StartRunRequest(id), Ct);
            await server.SweepAsync();
        }

        server.Clock.Advance(TimeSpan.FromMinutes(1));

        using var client = server.Client(ApprovalServerFactory.ViewerKey);
        using var response = await client.GetAsync($"/api/audit?from={Uri.EscapeDataString(from.ToString("O"))}&to={Uri.EscapeDataString(server.Clock.GetUtcNow().ToString("O"))}", Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var pack = await ReadAsync(await response.Content.ReadAsByteArrayAsync(Ct));
        var listed = Text(pack, "MANIFEST.sha256");
        Assert.Contains($"{Sha256(pack["workflow-versions/index.json"])}  workflow-versions/index.json", listed, StringComparison.Ordinal);

        // Exactly the versions the runs of the period ran, each with what was recorded for it when it was stored.
        var store = server.Services.GetRequiredService<IWorkflowInstanceStore>();
        var runVersions = (await store.ListAsync(new InstanceQuery(Take: 100), Ct)).Items.Select(r => r.DefinitionVersionId).ToHashSet(StringComparer.Ordinal);
        var versions = Json(pack, "workflow-versions/index.json").AsArray().Select(v => v!.AsObject()).ToDictionary(v => v["definitionId"]!.GetValue<string>(), StringComparer.Ordinal);
        Assert.Equal(ran.Order(StringComparer.Ordinal), versions.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(runVersions.Order(StringComparer.Ordinal), versions.Values.Select(v => v["id"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        string? Commit(string id) => versions[id]["gitCommit"]?.GetValue<string>();
        string Note(string id) => versions[id]["commitNote"]!.GetValue<string>();

        Assert.Equal(head, Commit("from-commit"));
        Assert.Contains("checkout it was loaded from", Note("from-commit"), StringComparison.Ordinal);
        Assert.Null(Commit("from-changed-file"));
        Assert.Equal($"not in git: the file has changes not committed on top of {head}", Note("from-changed-file"));
        Assert.Null(Commit("from-plain-folder"));
        Assert.StartsWith("not in git: the workflows folder ", Note("from-plain-folder"), StringComparison.Ordinal);
        Assert.Equal(head, Commit("from-published-file"));
        Assert.Contains("SOURCE-COMMIT.json", Note("from-published-file"), StringComparison.Ordinal);
        Assert.Equal(merge, Commit("from-merge"));
        Assert.Contains("pull request #42", Note("from-merge"), StringComparison.Ordinal);
        Assert.Null(Commit("from-api"));
        Assert.StartsWith("none: made in the Studio or through the API", Note("from-api"), StringComparison.Ordinal);
        var stamped = typeof(DrWorkflows.Testing.Behaviour.GreetingCodeWorkflow).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Equal(stamped[(stamped.LastIndexOf('+') + 1)..], Commit(DrWorkflows.Testing.Behaviour.GreetingCodeWorkflow.Id)); // the build stamps the checkout's HEAD
        Assert.True(SourceCommits.IsCommit(Commit(DrWorkflows.Testing.Behaviour.GreetingCodeWorkflow.Id)), stamped);

        // What the pack says is what the store recorded, not worked out when the pack was made.
        foreach (var (id, entry) in versions)
            Assert.Equal((await definitions.FindByIdAsync(entry["id"]!.GetValue<string>(), Ct))!.SourceCommit is { } recorded && SourceCommits.IsCommit(recorded) ? recorded : null, Commit(id));
    }

    private static string Noop(string definitionId, string value = "1") => $$"""
        { "definitionId": "{{definitionId}}", "name": "{{definitionId}}",
          "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq", "activities": [ { "type": "Elsa.RunJavaScript", "version": 1, "id": "noop", "script": { "typeName": "String", "expression": { "type": "Literal", "value": "{{value}}" } } } ] } }
        """;

    private static async Task<string> GitAsync(string directory, params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo("git") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(Ct);
        var error = await process.StandardError.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);
        Assert.True(process.ExitCode == 0, $"git {string.Join(' ', arguments)}: {error}");
        return await output;
    }

    [Fact]
    public async Task Bad_periods_are_refused_with_the_reason_and_anonymous_callers_get_nothing()
    {
        await using var server = new ApprovalServerFactory();
        using var viewer = server.Client(ApprovalServerFactory.ViewerKey);

        var (missing, body, _) = await viewer.GetJsonAsync("/api/audit");
        Assert.Equal(HttpStatusCode.BadRequest, missing);
        Assert.Contains("'from' is required", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        (var notADate, body, _) = await viewer.GetJsonAsync("/api/audit?from=last-tuesday");
        Assert.Equal(HttpStatusCode.BadRequest, notADate);
        Assert.Contains("'last-tuesday'", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        (var empty, body, _) = await viewer.GetJsonAsync("/api/audit?from=2026-02-01&to=2026-01-01");
        Assert.Equal(HttpStatusCode.BadRequest, empty);
        Assert.Contains("The period is empty", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client(null).GetJsonAsync("/api/audit?from=2026-01-01")).Status);
    }

    [Fact]
    public async Task Drw_audit_writes_the_pack_and_prints_the_manifest_hash_an_auditor_checks_it_against()
    {
        await using var server = new ApprovalServerFactory();
        var (gateRun, _) = await server.StartGateAsync();
        server.Clock.Advance(TimeSpan.FromMinutes(1)); // the period ends now, after the run started
        using var folder = new DrWorkflows.Testing.TempDirectory("drw-audit");
        var file = folder.Combine("pack.zip");
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await DrWorkflows.Cli.CliApp.RunAsync(
            ["audit", "--from", "2026-10-01", "--out", file, "--api-key", ApprovalServerFactory.ViewerKey], output, error, (_, key) => server.Client(key), null, Ct);

        Assert.True(exit == 0, $"exit {exit}: {error}");
        var pack = await ReadAsync(await File.ReadAllBytesAsync(file, Ct));
        var printed = output.ToString();
        Assert.Contains($"SHA-256 of MANIFEST.sha256: {Sha256(pack["MANIFEST.sha256"])}", printed, StringComparison.Ordinal);
        Assert.Contains("runs=1;", printed, StringComparison.Ordinal);
        Assert.Contains(gateRun, Json(pack, "runs/index.json")[0]!["id"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.False(File.Exists(file + ".partial"));

        exit = await DrWorkflows.Cli.CliApp.RunAsync(["audit", "--from", "yesterday-ish", "--out", folder.Combine("bad.zip"), "--api-key", ApprovalServerFactory.ViewerKey], output, error, (_, key) => server.Client(key), null, Ct);
        Assert.Equal(2, exit);
        Assert.Contains("'from' is not a date or time", error.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(folder.Combine("bad.zip")));
    }

    private static async Task<WorkflowState> StartAsync(ApprovalServerFactory server, string definitionId, string name, string activities, string outputs = "[]")
    {
        var json = $$"""
            { "definitionId": "{{definitionId}}", "name": "{{name}}", "outputs": {{outputs}},
              "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq", "activities": [ {{activities}} ] } }
            """;
        var definition = await server.Services.GetRequiredService<WorkflowDefinitionService>().SaveAsync(WorkflowDefinitionDocument.Parse(json), publish: true, "api", isReadonly: false, Ct);
        await server.Runtime.StartAsync(new StartRunRequest(definition.DefinitionId), Ct);
        await server.SweepAsync();
        var runs = await server.Services.GetRequiredService<IWorkflowInstanceStore>().ListAsync(new InstanceQuery(DefinitionId: definitionId), Ct);
        return (await server.Services.GetRequiredService<IWorkflowInstanceStore>().GetAsync(Assert.Single(runs.Items).Id, Ct))!;
    }

    /// <summary>Sweeps until the run has finished (a decided gate or a resolved incident resumes it on the runtime's next pass).</summary>
    private static async Task FinishedAsync(ApprovalServerFactory server, string runId)
    {
        var store = server.Services.GetRequiredService<IWorkflowInstanceStore>();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            await server.SweepAsync();
            var state = await store.GetAsync(runId, Ct);
            if (state!.Status == WorkflowStatus.Finished)
                return;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"Run {runId} did not finish within 90 s: {state.Status}/{state.SubStatus}.");
            await Task.Delay(100, Ct);
        }
    }

    private static async Task<Dictionary<string, byte[]>> ReadAsync(byte[] zip)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        await using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
        foreach (var entry in archive.Entries)
        {
            using var content = new MemoryStream();
            await using (var stream = await entry.OpenAsync(Ct))
                await stream.CopyToAsync(content, Ct);
            files[entry.FullName] = content.ToArray();
        }

        return files;
    }

    private static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    private static string Text(Dictionary<string, byte[]> pack, string name) =>
        pack.TryGetValue(name, out var content) ? Encoding.UTF8.GetString(content) : throw new Xunit.Sdk.XunitException($"{name} is not in the pack: {string.Join(", ", pack.Keys)}");

    private static JsonNode Json(Dictionary<string, byte[]> pack, string name) => JsonNode.Parse(Text(pack, name))!;

    private static List<JsonObject> Lines(Dictionary<string, byte[]> pack, string name) =>
        [.. Text(pack, name).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject())];
}
