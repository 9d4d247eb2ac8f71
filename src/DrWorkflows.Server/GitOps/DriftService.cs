using System.Diagnostics.Metrics;
using DrWorkflows.Core.Hosting;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;

namespace DrWorkflows.Server.GitOps;

/// <summary>Where one definition stands against the reviewed branch.</summary>
public enum DriftState
{
    /// <summary>The running published version is the branch's file.</summary>
    InSync,

    /// <summary>The running published version differs from the branch's file (a Studio or break-glass publish, or a merge not yet published).</summary>
    Differs,

    /// <summary>A published definition with no file on the branch (created in the Studio or through the API).</summary>
    NoFile,

    /// <summary>A file on the branch with no published version on this server.</summary>
    NotPublished,

    /// <summary>A file on the branch that does not parse, so nothing can be compared.</summary>
    Unreadable,
}

/// <summary>One definition against the branch; <c>File</c> is the branch's file of it, when there is one.</summary>
public sealed record DriftItem(string DefinitionId, DriftState State, int? PublishedVersion, string? Origin, string? File, string Reason);

/// <summary>One drift check; <c>Against</c> is what was compared with, e.g. <c>github shop/dr-workflows@main:workflows</c>.</summary>
public sealed record DriftReport(string Against, DateTimeOffset CheckedAt, IReadOnlyList<DriftItem> Items)
{
    public int Drifted => Items.Count(i => i.State != DriftState.InSync);
}

/// <summary>
/// Drift: which definitions run something that is not on the reviewed branch. Each published definition (the C#
/// workflows excepted: they ship inside the server's build) is compared with the branch's file of the same
/// <c>definitionId</c>, by content (the designer's layout included, the server's own fields excluded). The last
/// report feeds the metric <c>drworkflows.gitops.drifted_definitions</c> (meter <c>DrWorkflows.GitOps</c>); it is
/// -1 until a check succeeded and after a check failed, never a reassuring 0 that was not measured.
/// </summary>
public sealed class DriftService : IDisposable
{
    public const string MeterName = "DrWorkflows.GitOps";

    private readonly IWorkflowRepository repository;
    private readonly IWorkflowDefinitionStore store;
    private readonly TimeProvider clock;
    private readonly Meter meter = new(MeterName);
    private volatile DriftReport? last;
    private volatile bool lastFailed;

    public DriftService(IWorkflowRepository repository, IWorkflowDefinitionStore store, TimeProvider clock)
    {
        this.repository = repository;
        this.store = store;
        this.clock = clock;
        meter.CreateObservableGauge("drworkflows.gitops.drifted_definitions", () => DriftedForMetric, description: "Definitions whose running published version differs from the reviewed branch, or has no file there; -1 when unknown (not checked yet or the last check failed).");
    }

    /// <summary>The last successful report, if any.</summary>
    public DriftReport? Last => last;

    /// <summary>The value of the drift metric: the last report's count, -1 when unknown.</summary>
    public int DriftedForMetric => !lastFailed && last is { } report ? report.Drifted : -1;

    public async Task<DriftReport> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            var report = await MeasureAsync(cancellationToken);
            last = report;
            lastFailed = false;
            return report;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            lastFailed = true;
            throw;
        }
    }

    private async Task<DriftReport> MeasureAsync(CancellationToken cancellationToken)
    {
        var files = await repository.ListAsync(cancellationToken);
        var byId = new Dictionary<string, (BranchWorkflowFile File, WorkflowDefinitionDocument? Document, string? Error)>(StringComparer.Ordinal);
        var items = new List<DriftItem>();
        foreach (var file in files)
        {
            try
            {
                var document = WorkflowDefinitionDocument.Parse(file.Text, file.Path);
                if (string.IsNullOrWhiteSpace(document.DefinitionId))
                    items.Add(new DriftItem(string.Empty, DriftState.Unreadable, null, null, file.Path, "the file has no definitionId."));
                else
                    byId.TryAdd(document.DefinitionId, (file, document, null));
            }
            catch (Core.WorkflowDefinitionException e)
            {
                items.Add(new DriftItem(string.Empty, DriftState.Unreadable, null, null, file.Path, e.Message));
            }
        }

        var published = (await store.ListAsync(new DefinitionQuery(VersionOptions.PublishedVersion, Take: 10_000), cancellationToken)).Items
            .Where(d => !d.Origin.StartsWith("code:", StringComparison.Ordinal))
            .ToList();
        foreach (var definition in published)
        {
            if (!byId.TryGetValue(definition.DefinitionId, out var entry))
            {
                items.Add(new DriftItem(definition.DefinitionId, DriftState.NoFile, definition.Version, definition.Origin, null,
                    $"published version {definition.Version} ({definition.Origin}) has no file on {repository.Description}."));
            }
            else if (WorkflowLoader.SameContent(definition.Json, entry.Document!))
            {
                items.Add(new DriftItem(definition.DefinitionId, DriftState.InSync, definition.Version, definition.Origin, entry.File.Path, "the published version is the file."));
            }
            else
            {
                items.Add(new DriftItem(definition.DefinitionId, DriftState.Differs, definition.Version, definition.Origin, entry.File.Path,
                    $"published version {definition.Version} ({definition.Origin}) differs from {entry.File.Path}."));
            }
        }

        var publishedIds = published.Select(d => d.DefinitionId).ToHashSet(StringComparer.Ordinal);
        foreach (var (id, entry) in byId.Where(e => !publishedIds.Contains(e.Key)))
        {
            var code = await store.FindAsync(id, VersionOptions.PublishedVersion, cancellationToken);
            items.Add(code is not null
                ? new DriftItem(id, DriftState.Differs, code.Version, code.Origin, entry.File.Path, $"the id is a C# workflow's ({code.Origin}); the file {entry.File.Path} cannot take it over.")
                : new DriftItem(id, DriftState.NotPublished, null, null, entry.File.Path, $"{entry.File.Path} is on the branch but has no published version here."));
        }

        return new DriftReport(repository.Description, clock.GetUtcNow(), [.. items.OrderBy(i => i.State == DriftState.InSync).ThenBy(i => i.DefinitionId, StringComparer.Ordinal).ThenBy(i => i.File, StringComparer.Ordinal)]);
    }

    public void Dispose() => meter.Dispose();
}
