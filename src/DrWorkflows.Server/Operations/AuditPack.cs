using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Drills;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Core.Serialization;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Server.Operations;

/// <summary>What went into an audit pack: where it is, the hash of its manifest, and how many of each record.</summary>
public sealed record AuditPackSummary(
    string Path,
    string ManifestSha256,
    DateTimeOffset From,
    DateTimeOffset To,
    int Runs,
    int Drills,
    int Verifications,
    int Approvals,
    int Incidents,
    int WorkflowVersions,
    int Files);

/// <summary>
/// The evidence an external DR auditor reads, for one period, in one zip archive: the plan's objectives and the
/// objectives report (now, and as every drill measured it), every drill report, every verification result, every
/// approval with its evidence hash, the workflow versions that ran (with where they came from), and every incident
/// with its resolution, each tied to its run's full journal. <c>MANIFEST.sha256</c> lists the SHA-256 of every other
/// file in <c>sha256sum</c> format (<c>sha256sum -c MANIFEST.sha256</c> checks the unpacked pack); the manifest's own
/// hash is what the API, the CLI and the server log report, so a pack can be checked against the hash noted when it
/// was made.
/// </summary>
/// <remarks>
/// Everything comes from the orchestrator's own store as the runs recorded it (journals are redacted when written,
/// so the pack holds no secret a journal does not). A run belongs to the period when it was active in it: created
/// before <c>to</c> and not finished before <c>from</c>.
/// </remarks>
public sealed partial class AuditPackWriter(
    IWorkflowInstanceStore instances,
    IWorkflowDefinitionStore definitions,
    IRecoveryPromiseCheck promises,
    IOptions<RecoveryObjectivesOptions> objectives,
    TimeProvider clock,
    ILogger<AuditPackWriter> logger)
{
    private const int Page = 100;
    private const string CheckObjectivesType = "DrWorkflows." + nameof(CheckRecoveryObjectives);
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Writes the pack for [<paramref name="from"/>, <paramref name="to"/>) to <paramref name="path"/> (created or replaced).</summary>
    public async Task<AuditPackSummary> WriteAsync(DateTimeOffset from, DateTimeOffset to, string path, CancellationToken cancellationToken)
    {
        if (to <= from)
            throw new ArgumentException($"The period is empty: 'to' ({to:O}) must be after 'from' ({from:O}).", nameof(to));

        var madeAt = clock.GetUtcNow();
        var runs = await ListRunsAsync(from, to, cancellationToken);
        var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        var runIndex = new JsonArray();
        var drills = new JsonArray();
        var verifications = new StringBuilder();
        var approvals = new StringBuilder();
        var incidents = new StringBuilder();
        var objectivesHistory = new StringBuilder();
        var versionIds = new SortedSet<string>(StringComparer.Ordinal);
        int verificationCount = 0, approvalCount = 0, incidentCount = 0, measured = 0;

        foreach (var summary in runs)
        {
            var state = await instances.GetAsync(summary.Id, cancellationToken);
            if (state is null)
                continue; // deleted while the pack was being made
            var journal = (await instances.GetJournalAsync(state.Id, 0, int.MaxValue, cancellationToken)).Items;
            versionIds.Add(state.DefinitionVersionId);
            var isDrill = journal.Any(e => e.ActivityType == CheckObjectivesType && e.EventName == JournalEvents.Completed);
            var header = RunHeader(state);
            header["incidents"] = state.Incidents.Count;
            header["openIncidents"] = state.Incidents.Count(i => i.Resolution is null);
            header["drill"] = isDrill;
            header["journal"] = $"runs/{state.Id}/journal.jsonl";
            runIndex.Add(header);
            files[$"runs/{state.Id}/run.json"] = JsonBytes(RunDocument(state));
            files[$"runs/{state.Id}/journal.jsonl"] = Utf8.GetBytes(string.Concat(journal.Select(e => JsonSerializer.Serialize(e, Json.Options) + "\n")));

            foreach (var entry in journal)
            {
                // What a step recorded for the journal (AddJournalData) is under "data", redacted when it was written.
                if (entry.Payload?["data"] is not JsonObject payload)
                    continue;
                if (payload["verification"] is { } verification)
                {
                    verifications.Append(Line(Reference(state, entry), "verification", verification));
                    verificationCount++;
                }

                if (payload["decision"] is { } decision)
                {
                    var line = Reference(state, entry);
                    line["decision"] = decision.DeepClone();
                    line["evidenceSha256"] = decision["evidenceSha256"]?.DeepClone();
                    line["evidence"] = payload["evidence"]?.DeepClone();
                    approvals.Append(line.ToJsonString(Json.Options)).Append('\n');
                    approvalCount++;
                }

                if (payload["objectives"] is { } measuredObjectives)
                {
                    objectivesHistory.Append(Line(Reference(state, entry), "objectives", measuredObjectives));
                    measured++;
                }
            }

            foreach (var incident in state.Incidents)
            {
                var line = new JsonObject
                {
                    ["runId"] = state.Id,
                    ["definitionId"] = state.DefinitionId,
                    ["definitionVersion"] = state.DefinitionVersion,
                    ["incident"] = JsonSerializer.SerializeToNode(incident, Json.Options),
                    ["resolved"] = incident.Resolution is not null,
                };
                incidents.Append(line.ToJsonString(Json.Options)).Append('\n');
                incidentCount++;
            }

            if (isDrill)
            {
                var drillReport = RunHeader(state);
                drillReport["output"] = Copy(state.Output);
                files[$"drills/{state.Id}.json"] = JsonBytes(drillReport);
                if (state.Output.TryGetValue("Summary", out var markdown) && markdown is JsonValue text && text.TryGetValue<string>(out var body))
                    files[$"drills/{state.Id}.md"] = Utf8.GetBytes(body);
                drills.Add(state.Id);
            }
        }

        var versionIndex = new JsonArray();
        foreach (var versionId in versionIds)
        {
            var version = await definitions.FindByIdAsync(versionId, cancellationToken);
            if (version is null)
            {
                versionIndex.Add(new JsonObject { ["id"] = versionId, ["missing"] = "This version was deleted from the store after it ran; the runs' journals still name it." });
                continue;
            }

            var json = Utf8.GetBytes(version.Json);
            files[$"workflow-versions/{FileName(version.Id)}.json"] = json;
            versionIndex.Add(new JsonObject
            {
                ["id"] = version.Id,
                ["definitionId"] = version.DefinitionId,
                ["version"] = version.Version,
                ["name"] = version.Name,
                ["origin"] = version.Origin,
                ["gitCommit"] = SourceCommits.IsCommit(version.SourceCommit) ? version.SourceCommit : null,
                ["commitNote"] = CommitNote(version),
                ["createdAt"] = version.CreatedAt,
                ["published"] = version.IsPublished,
                ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(json)),
                ["file"] = $"workflow-versions/{FileName(version.Id)}.json",
            });
        }

        var plan = new JsonObject
        {
            ["drillRtoTarget"] = objectives.Value.DrillRtoTarget.ToString(),
            ["components"] = JsonSerializer.SerializeToNode(objectives.Value.Components, Json.Options),
        };
        var now = await promises.CheckAsync(cancellationToken);
        var report = new JsonObject
        {
            ["checkedAt"] = madeAt,
            ["items"] = new JsonArray([.. now.Select(p => (JsonNode)new JsonObject
            {
                ["component"] = p.Component,
                ["displayName"] = p.DisplayName,
                ["objective"] = p.Objective,
                ["target"] = p.Target.ToString(),
                ["canHold"] = p.CanHold,
                ["isHeldNow"] = p.IsHeldNow,
                ["reason"] = p.Reason,
            })]),
        };

        files["objectives/plan.json"] = JsonBytes(plan);
        files["objectives/report-at-pack-time.json"] = JsonBytes(report);
        files["objectives/measured-by-runs.jsonl"] = Utf8.GetBytes(objectivesHistory.ToString());
        files["runs/index.json"] = JsonBytes(runIndex);
        files["drills/index.json"] = JsonBytes(drills);
        files["verifications.jsonl"] = Utf8.GetBytes(verifications.ToString());
        files["approvals.jsonl"] = Utf8.GetBytes(approvals.ToString());
        files["incidents.jsonl"] = Utf8.GetBytes(incidents.ToString());
        files["workflow-versions/index.json"] = JsonBytes(versionIndex);
        files["README.md"] = Utf8.GetBytes(Readme(from, to, madeAt, runs.Count, drills.Count, verificationCount, approvalCount, incidentCount, versionIndex.Count, measured));

        var manifest = new StringBuilder();
        foreach (var (name, content) in files)
            manifest.Append(Convert.ToHexStringLower(SHA256.HashData(content))).Append("  ").Append(name).Append('\n');
        var manifestBytes = Utf8.GetBytes(manifest.ToString());
        var manifestSha256 = Convert.ToHexStringLower(SHA256.HashData(manifestBytes));

        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
            Directory.CreateDirectory(directory);
        await using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        await using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: false))
        {
            foreach (var (name, content) in files.Append(KeyValuePair.Create("MANIFEST.sha256", manifestBytes)))
            {
                var item = zip.CreateEntry(name, CompressionLevel.Optimal);
                item.LastWriteTime = madeAt;
                await using var entryStream = await item.OpenAsync(cancellationToken);
                await entryStream.WriteAsync(content, cancellationToken);
            }
        }

        var result = new AuditPackSummary(path, manifestSha256, from, to, runs.Count, drills.Count, verificationCount, approvalCount, incidentCount, versionIndex.Count, files.Count + 1);
        PackWritten(logger, from, to, runs.Count, manifestSha256);
        return result;
    }

    private async Task<List<WorkflowInstanceSummary>> ListRunsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var runs = new List<WorkflowInstanceSummary>();
        for (var skip = 0; ; skip += Page)
        {
            var page = await instances.ListAsync(new InstanceQuery(Skip: skip, Take: Page), cancellationToken);
            runs.AddRange(page.Items.Where(r => r.CreatedAt < to && (r.FinishedAt is null || r.FinishedAt >= from)));
            if (page.Items.Count < Page)
                break;
        }

        return [.. runs.OrderBy(r => r.CreatedAt).ThenBy(r => r.Id, StringComparer.Ordinal)];
    }

    /// <summary>What a run was: which workflow version, on what, started by whom, how it ended.</summary>
    private static JsonObject RunHeader(WorkflowState state) => new()
    {
        ["id"] = state.Id,
        ["definitionId"] = state.DefinitionId,
        ["definitionVersion"] = state.DefinitionVersion,
        ["definitionVersionId"] = state.DefinitionVersionId,
        ["name"] = state.Name,
        ["correlationId"] = state.CorrelationId,
        ["parentInstanceId"] = state.ParentInstanceId,
        ["platform"] = state.Platform,
        ["startedBy"] = state.StartedBy,
        ["status"] = state.Status.ToString(),
        ["subStatus"] = state.SubStatus.ToString(),
        ["createdAt"] = state.CreatedAt,
        ["finishedAt"] = state.FinishedAt,
    };

    /// <summary>The run without its working memory (variables, queue, bookmarks): what it was, what it gave, what went wrong.</summary>
    private static JsonObject RunDocument(WorkflowState state)
    {
        var document = RunHeader(state);
        document["input"] = Copy(state.Input);
        document["output"] = Copy(state.Output);
        document["fault"] = JsonSerializer.SerializeToNode(state.Fault, Json.Options);
        document["incidents"] = JsonSerializer.SerializeToNode(state.Incidents, Json.Options);
        return document;
    }

    private static JsonObject Copy(Dictionary<string, JsonNode?> values) => new(values.Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone())));

    private static JsonObject Reference(WorkflowState state, JournalEntry entry) => new()
    {
        ["runId"] = state.Id,
        ["definitionId"] = state.DefinitionId,
        ["definitionVersion"] = state.DefinitionVersion,
        ["at"] = entry.Timestamp,
        ["sequence"] = entry.Sequence,
        ["activityId"] = entry.ActivityId,
        ["activityType"] = entry.ActivityType,
    };

    private static string Line(JsonObject reference, string name, JsonNode value)
    {
        reference[name] = value.DeepClone();
        return reference.ToJsonString(Json.Options) + "\n";
    }

    private static byte[] JsonBytes(JsonNode node) => Utf8.GetBytes(node.ToJsonString(Json.Indented) + "\n");

    /// <summary>
    /// Where the version's commit came from, or why it has none, as recorded when the version was stored (never worked
    /// out now: a checkout or a build may have moved on since).
    /// </summary>
    private static string CommitNote(StoredWorkflowDefinition version)
    {
        var origin = version.Origin;
        if (SourceCommits.IsCommit(version.SourceCommit))
        {
            return DefinitionOrigins.ParseGit(origin) is { } git
                ? $"published from the workflows repository: {git.Describe()}" + (git.Commit == version.SourceCommit ? string.Empty : $" (recorded commit {version.SourceCommit})")
                : origin.StartsWith("code:", StringComparison.Ordinal)
                    ? "C# workflow: the source revision the build stamped into its assembly"
                    : "file under workflows/: the commit of the checkout it was loaded from (in a published server: the commit the publish stamped in workflows/SOURCE-COMMIT.json), the file committed there unchanged";
        }

        if (version.SourceCommit is { } reason)
            return reason; // "not in git: ..." as recorded
        if (origin == "api")
            return "none: made in the Studio or through the API, not from git; its runs' journals say who started them, and with GitOps on a version reaches production only through a reviewed merge (a git: origin with its commit)";
        if (DefinitionOrigins.ParseReview(origin) is { } review)
            return $"none: a draft awaiting review in pull request #{review.Number} ({review.Url})";
        if (origin.StartsWith(GitOps.BreakGlassPublisher.OriginPrefix, StringComparison.Ordinal))
            return $"none: published by the break-glass run {origin[GitOps.BreakGlassPublisher.OriginPrefix.Length..]}, outside review; that run's journal says who and why";
        return "not recorded: the version was stored before DrWorkflows recorded commits";
    }

    /// <summary>A version id as a file name: ids may hold <c>:</c> (e.g. <c>backup-postgres:v1</c>), which some unpackers refuse.</summary>
    private static string FileName(string id) => string.Concat(id.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));

    private static string Readme(DateTimeOffset from, DateTimeOffset to, DateTimeOffset madeAt, int runs, int drills, int verifications, int approvals, int incidents, int versions, int measured) => $"""
        # DrWorkflows audit evidence pack

        Period: {from:O} to {to:O} (runs active in it: created before the end, not finished before the start).
        Made at: {madeAt:O}.

        Check it first: unpack the archive and run `sha256sum -c MANIFEST.sha256` in its folder. Every file is
        listed there with its SHA-256. The SHA-256 of MANIFEST.sha256 itself was reported when the pack was made
        (API header X-DrWorkflows-Manifest-Sha256, `drw audit`, the server log); compare it with
        `sha256sum MANIFEST.sha256`.

        | File | What |
        |---|---|
        | objectives/plan.json | The plan's recovery objectives (RTO, RPO per component, the drill's own target). |
        | objectives/report-at-pack-time.json | Each objective checked when the pack was made: can it hold by design, is it held now, why. |
        | objectives/measured-by-runs.jsonl | {measured} objectives report(s) measured by drills and recoveries in the period, one per line. |
        | drills/ | {drills} drill or simulation report(s): the run's outputs (`.json`) and its Markdown summary (`.md`). |
        | verifications.jsonl | {verifications} backup verification result(s), one per line, with the run and step that produced it. |
        | approvals.jsonl | {approvals} approval decision(s): who decided, on which channel, when, and the SHA-256 of the evidence they saw. |
        | incidents.jsonl | {incidents} incident(s) with their resolution (none when still open). |
        | workflow-versions/ | {versions} workflow version(s) that ran: the definition as it ran, its origin, its SHA-256, and in `index.json` the git commit it came from (`gitCommit`, recorded when the version was stored) with `commitNote` saying where that commit is from or why there is none. |
        | runs/ | {runs} run(s): `index.json`, and per run `run.json` (status, inputs, outputs, faults) and its full journal. |

        Journals are redacted when they are written: secrets never reach them, so they never reach this pack.

        """;

    [LoggerMessage(EventId = 60, Level = LogLevel.Information, Message = "Audit pack written for {From} to {To}: {Runs} run(s), manifest SHA-256 {ManifestSha256}")]
    private static partial void PackWritten(ILogger logger, DateTimeOffset from, DateTimeOffset to, int runs, string manifestSha256);
}
