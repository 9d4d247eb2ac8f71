using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Docker;

// Creating a volume that exists returns it unchanged.
[Activity("DrWorkflows", "Docker", "Creates a Docker volume, or returns the existing one of that name.", SafeToRerun = true)]
public sealed class CreateVolume : CodeActivity<VolumeInfo>
{
    [Input(Description = "Volume name.", Required = true)]
    public Input<string>? Volume { get; set; }

    [Input(Description = "Labels of a new volume.")]
    public Input<Dictionary<string, string>>? Labels { get; set; }

    protected override async ValueTask<VolumeInfo> RunAsync(ActivityExecutionContext context) =>
        await context.GetRequiredService<IDockerService>().CreateVolumeAsync(context.Get(Volume)!, context.Get(Labels), context.CancellationToken);
}

// Reads the volume only; the archive file is replaced atomically by a re-run.
[Activity("DrWorkflows", "Docker", "Archives a volume's content to a tar file (owners and modes kept) and records its SHA-256.", SafeToRerun = true)]
public sealed class ArchiveVolume : CodeActivity<VolumeArchive>
{
    [Input(Description = "Volume name, e.g. ecommerce_postgres_data.", Required = true)]
    public Input<string>? Volume { get; set; }

    [Input(Description = "Tar file to write, e.g. /backups/emergency/corrupted-volume.tar.", Required = true)]
    public Input<string>? OutputPath { get; set; }

    protected override async ValueTask<VolumeArchive> RunAsync(ActivityExecutionContext context)
    {
        var archive = await context.GetRequiredService<IDockerService>().ArchiveVolumeToFileAsync(context.Get(Volume)!, context.Get(OutputPath)!, context.CancellationToken);
        context.AddJournalData("archive", new JsonObject { ["volume"] = archive.Volume, ["path"] = archive.Path, ["bytes"] = archive.Bytes, ["sha256"] = archive.Sha256 });
        return archive;
    }
}

// A first attempt cut short leaves a partly filled destination, which a repeat would refuse or merge into: an operator checks.
[Activity("DrWorkflows", "Docker", "Copies one volume into another (created when missing); with RemoveSource it renames a volume by copy (the plan's forensic rename).")]
public sealed class CopyVolume : CodeActivity<VolumeCopy>
{
    [Input(Description = "Source volume.", Required = true)]
    public Input<string>? Source { get; set; }

    [Input(Description = "Destination volume, e.g. forensic-postgres-data-<incident>.", Required = true)]
    public Input<string>? Destination { get; set; }

    [Input(Description = "Remove the source after the copy (rename by copy).", DefaultValue = false)]
    public Input<bool>? RemoveSource { get; set; }

    [Input(Description = "Copy even when a running container uses the source (the copy may be inconsistent).", DefaultValue = false)]
    public Input<bool>? AllowSourceInUse { get; set; }

    [Input(Description = "Copy into a destination that already holds files.", DefaultValue = false)]
    public Input<bool>? AllowNonEmptyDestination { get; set; }

    [Output(Description = "Labels of the source volume (e.g. Compose's), to create a replacement with them after a rename by copy.")]
    public Output<Dictionary<string, string>> SourceLabels { get; set; } = new();

    protected override async ValueTask<VolumeCopy> RunAsync(ActivityExecutionContext context)
    {
        var docker = context.GetRequiredService<IDockerService>();
        var sourceLabels = (await docker.InspectVolumeAsync(context.Get(Source)!, context.CancellationToken))?.Labels.ToDictionary(StringComparer.Ordinal) ?? [];
        context.Set(SourceLabels, sourceLabels);
        var copy = await docker.CopyVolumeAsync(context.Get(Source)!, context.Get(Destination)!, new VolumeCopyOptions
        {
            RemoveSource = context.Get(RemoveSource, false),
            AllowSourceInUse = context.Get(AllowSourceInUse, false),
            RequireEmptyDestination = !context.Get(AllowNonEmptyDestination, false),
            Labels = new Dictionary<string, string> { ["org.drworkflows.copied-from"] = context.Get(Source)!, ["org.drworkflows.run"] = context.WorkflowInstanceId },
        }, context.CancellationToken);
        context.AddJournalData("copy", new JsonObject { ["source"] = copy.Source, ["destination"] = copy.Destination, ["bytes"] = copy.Bytes, ["sha256"] = copy.Sha256, ["sourceRemoved"] = copy.SourceRemoved });
        return copy;
    }
}

// Destroys data: never repeated without an operator.
[Activity("DrWorkflows", "Docker", "Removes a Docker volume (its data is lost); a missing volume is reported, not an error.", Outcomes = [Removed, NotFound])]
public sealed class RemoveVolume : Activity
{
    public const string Removed = "Removed";
    public const string NotFound = "NotFound";

    [Input(Description = "Volume name.", Required = true)]
    public Input<string>? Volume { get; set; }

    [Output(Description = "Labels of the removed volume (e.g. Compose's project and volume labels), to create its replacement with them.")]
    public Output<Dictionary<string, string>> Labels { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var volume = context.Get(Volume)!;
        var docker = context.GetRequiredService<IDockerService>();

        // A replacement created without Compose's labels is "not created by Docker Compose" for Compose (a warning
        // on every up, left out of label-based clean-ups): keep them for CreateVolume.
        var labels = (await docker.InspectVolumeAsync(volume, context.CancellationToken))?.Labels.ToDictionary(StringComparer.Ordinal) ?? [];
        var removed = await docker.RemoveVolumeAsync(volume, force: false, context.CancellationToken);
        context.Set(Labels, labels);
        context.AddJournalData("volume", new JsonObject { ["name"] = volume, ["removed"] = removed, ["labels"] = new JsonObject([.. labels.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)l.Value))]) });
        await context.CompleteAsync(removed ? Removed : NotFound);
    }
}
