using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Docker;

// A second restart interrupts a service that may already be serving again, so a crash mid-step asks an operator.
[Activity("DrWorkflows", "Docker", "Restarts a container (SIGTERM, then SIGKILL after the stop timeout) and returns its state right after.")]
public sealed class RestartContainer : CodeActivity<ContainerStatus>
{
    [Input(Description = "Container name or id, e.g. ecommerce_postgres.", Required = true)]
    public Input<string>? Container { get; set; }

    [Input(Description = "Seconds to wait for a clean stop before killing.", DefaultValue = 10)]
    public Input<int>? StopTimeoutSeconds { get; set; }

    protected override async ValueTask<ContainerStatus> RunAsync(ActivityExecutionContext context)
    {
        var docker = context.GetRequiredService<IDockerService>();
        var status = await docker.RestartContainerAsync(context.Get(Container)!, TimeSpan.FromSeconds(context.Get(StopTimeoutSeconds, 10)), context.CancellationToken);
        context.AddJournalData("container", new JsonObject { ["engine"] = docker.Endpoint, ["name"] = status.Name, ["id"] = status.Id, ["state"] = status.State });
        return status;
    }
}

// Stopping is an outage decision: after a crash an operator confirms before it is repeated.
[Activity("DrWorkflows", "Docker", "Stops containers; those already stopped are left as they are.")]
public sealed class StopContainers : CodeActivity
{
    [Input(Description = "Container names or ids.", Required = true)]
    public Input<List<string>>? Containers { get; set; }

    [Input(Description = "Seconds to wait for a clean stop before killing.", DefaultValue = 10)]
    public Input<int>? StopTimeoutSeconds { get; set; }

    [Output(Description = "The containers that were running and were stopped.")]
    public Output<List<string>> Stopped { get; set; } = new();

    protected override async ValueTask RunAsync(ActivityExecutionContext context)
    {
        var docker = context.GetRequiredService<IDockerService>();
        var timeout = TimeSpan.FromSeconds(context.Get(StopTimeoutSeconds, 10));
        var stopped = new List<string>();
        foreach (var container in context.Get(Containers) ?? [])
        {
            if (await docker.StopContainerAsync(container, timeout, context.CancellationToken))
                stopped.Add(container);
        }

        context.AddJournalData("stopped", new JsonArray([.. stopped.Select(s => JsonValue.Create(s))]));
        context.Set(Stopped, stopped);
    }
}

// Starting is idempotent (a running container is left alone) and destroys nothing.
[Activity("DrWorkflows", "Docker", "Starts containers; those already running are left as they are.", SafeToRerun = true)]
public sealed class StartContainers : CodeActivity
{
    [Input(Description = "Container names or ids.", Required = true)]
    public Input<List<string>>? Containers { get; set; }

    [Output(Description = "The containers that were started (not already running).")]
    public Output<List<string>> Started { get; set; } = new();

    protected override async ValueTask RunAsync(ActivityExecutionContext context)
    {
        var docker = context.GetRequiredService<IDockerService>();
        var started = new List<string>();
        foreach (var container in context.Get(Containers) ?? [])
        {
            if (await docker.StartContainerAsync(container, context.CancellationToken))
                started.Add(container);
        }

        context.Set(Started, started);
    }
}

// Waiting only reads state.
[Activity("DrWorkflows", "Docker", "Waits until every service of a Compose project (as its files declare them, minus explicit exclusions) or the named containers are healthy, or running and staying up when they have no healthcheck.",
    SafeToRerun = true, Outcomes = [Healthy, Unhealthy])]
public sealed class WaitForHealthy : Activity
{
    public const string Healthy = "Healthy";
    public const string Unhealthy = "Unhealthy";

    [Input(Description = "Container names or ids (or leave empty and give a Compose project).")]
    public Input<List<string>>? Containers { get; set; }

    [Input(Description = "Compose project whose services to wait for; Docker:ComposeProject when empty and no containers are named.")]
    public Input<string>? ComposeProject { get; set; }

    [Input(Description = "Only these services of the Compose project; every service its Compose files declare when empty.")]
    public Input<List<string>>? Services { get; set; }

    [Input(Description = "Services of the project left out on purpose (named in the journal and the report).")]
    public Input<List<string>>? ExcludeServices { get; set; }

    [Input(Description = "Seconds to wait at most.", DefaultValue = 300)]
    public Input<int>? TimeoutSeconds { get; set; }

    [Output(Description = "One line per service or container that is not ready, with its state and the reason (last health check output), or 'not found' when it has no container.")]
    public Output<List<string>> NotReady { get; set; } = new();

    [Output(Description = "State and health of every container at the end of the wait.")]
    public Output<List<ContainerStatus>> Statuses { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var docker = context.GetRequiredService<IDockerService>();
        var containers = context.Get(Containers) ?? [];
        var project = context.Get(ComposeProject);
        if (containers.Count == 0 && string.IsNullOrWhiteSpace(project))
            project = context.GetRequiredService<Microsoft.Extensions.Options.IOptions<DockerOptions>>().Value.ComposeProject;
        if (containers.Count == 0 && string.IsNullOrWhiteSpace(project))
            throw new ArgumentException("Nothing to wait for: no containers are named and neither ComposeProject nor Docker:ComposeProject is set.");
        var services = context.Get(Services) ?? [];
        var excluded = context.Get(ExcludeServices) ?? [];
        var notes = new JsonArray();
        if (containers.Count == 0 && services.Count == 0)
        {
            // Every service: the ones the Compose files declare, so a service whose container is gone counts as missing.
            try
            {
                services = [.. await context.GetRequiredService<IComposeService>().ListServicesAsync(project, context.CancellationToken)];
                foreach (var name in excluded.Where(e => !services.Contains(e, StringComparer.Ordinal)))
                    notes.Add($"excluded service {name} is not declared in the Compose files");
            }
            catch (DockerOperationException e)
            {
                notes.Add($"the services the Compose files declare are unknown ({e.Message}); waited for every container labelled with project {project}");
            }
        }

        var selector = new ContainerSelector
        {
            Containers = containers,
            ComposeProject = string.IsNullOrWhiteSpace(project) ? null : project,
            Services = services,
            ExcludedServices = excluded,
        };
        var result = await docker.WaitForHealthyAsync(selector, TimeSpan.FromSeconds(context.Get(TimeoutSeconds, 300)), context.CancellationToken);
        context.Set(NotReady, [.. result.Problems]);
        context.Set(Statuses, [.. result.Containers]);
        context.AddJournalData("health", new JsonObject
        {
            ["selector"] = selector.ToString(),
            ["elapsedSeconds"] = result.Elapsed.TotalSeconds,
            ["result"] = result.Describe(),
            ["services"] = new JsonArray([.. result.Containers.Select(c => (JsonNode)new JsonObject { ["service"] = c.ComposeService, ["container"] = c.Name, ["state"] = c.State, ["health"] = c.Health, ["ready"] = c.IsReady })]),
            ["excluded"] = new JsonArray([.. excluded.Select(e => JsonValue.Create(e))]),
            ["notes"] = notes,
        });
        await context.CompleteAsync(result.AllReady ? Healthy : Unhealthy);
    }
}

// Reading logs changes nothing; a re-run replaces the file with a fresh capture.
[Activity("DrWorkflows", "Docker", "Captures a container's log (stdout and stderr) to a file or into an output, with tail and since.", SafeToRerun = true)]
public sealed class CaptureLogs : CodeActivity<LogCapture>
{
    [Input(Description = "Container name or id.", Required = true)]
    public Input<string>? Container { get; set; }

    [Input(Description = "Only the last N lines (all when empty).")]
    public Input<int?>? Tail { get; set; }

    [Input(Description = "Only lines since this time (ISO 8601).")]
    public Input<DateTimeOffset?>? Since { get; set; }

    [Input(Description = "File to write the log to (e.g. /var/forensics/<incident>/postgres.log); the text is returned when empty.")]
    public Input<string>? OutputPath { get; set; }

    [Input(Description = "Prefix lines with timestamps.", DefaultValue = false)]
    public Input<bool>? Timestamps { get; set; }

    protected override async ValueTask<LogCapture> RunAsync(ActivityExecutionContext context)
    {
        var docker = context.GetRequiredService<IDockerService>();
        var capture = await docker.CaptureLogsAsync(context.Get(Container)!, new LogCaptureRequest
        {
            Tail = context.Get(Tail),
            Since = context.Get(Since),
            OutputPath = context.Get(OutputPath) is { Length: > 0 } path ? path : null,
            Timestamps = context.Get(Timestamps, false),
        }, context.CancellationToken);
        context.AddJournalData("logs", new JsonObject { ["container"] = capture.Container, ["path"] = capture.Path, ["bytes"] = capture.Bytes, ["sha256"] = capture.Sha256 });
        return capture;
    }
}

// A re-run would commit again and replace the saved evidence with a later state: an operator decides.
[Activity("DrWorkflows", "Docker", "Forensics: commits a container to an image and saves the image to a tar file, recording the SHA-256 of the saved bytes.")]
public sealed class SnapshotContainerForForensics : CodeActivity<ForensicSnapshot>
{
    [Input(Description = "Container name or id.", Required = true)]
    public Input<string>? Container { get; set; }

    [Input(Description = "Image reference to commit to, e.g. forensic-postgres:incident-20251224-0200.", Required = true)]
    public Input<string>? ImageReference { get; set; }

    [Input(Description = "Tar file to save the image to, e.g. /var/forensics/<incident>/postgres.tar.", Required = true)]
    public Input<string>? OutputPath { get; set; }

    protected override async ValueTask<ForensicSnapshot> RunAsync(ActivityExecutionContext context)
    {
        var docker = context.GetRequiredService<IDockerService>();
        var snapshot = await docker.SnapshotForForensicsAsync(context.Get(Container)!, context.Get(ImageReference)!, context.Get(OutputPath)!, context.CancellationToken);
        context.AddJournalData("forensics", new JsonObject
        {
            ["container"] = snapshot.Container,
            ["containerId"] = snapshot.ContainerId,
            ["image"] = snapshot.ImageReference,
            ["imageId"] = snapshot.ImageId,
            ["path"] = snapshot.Path,
            ["bytes"] = snapshot.Bytes,
            ["sha256"] = snapshot.Sha256,
        });
        return snapshot;
    }
}

// An arbitrary command may have side effects: never repeated without an operator.
[Activity("DrWorkflows", "Docker", "Runs a command in a running container and returns its exit code and output.", Outcomes = [Succeeded, Failed])]
public sealed class ExecInContainer : Activity
{
    public const string Succeeded = "Succeeded";
    public const string Failed = "Failed";

    [Input(Description = "Container name or id.", Required = true)]
    public Input<string>? Container { get; set; }

    [Input(Description = "Program and arguments, e.g. [\"pg_isready\", \"-U\", \"postgres\"] (no shell unless you call one).", Required = true)]
    public Input<List<string>>? Command { get; set; }

    [Input(Description = "Text written to the command's standard input.")]
    public Input<string>? StandardInput { get; set; }

    [Input(Description = "User to run as.")]
    public Input<string>? User { get; set; }

    [Input(Description = "Seconds the command may take (no limit when empty).")]
    public Input<int?>? TimeoutSeconds { get; set; }

    [Output(Description = "Exit code.")]
    public Output<long> ExitCode { get; set; } = new();

    [Output(Description = "Standard output.")]
    public Output<string> StandardOutput { get; set; } = new();

    [Output(Description = "Standard error.")]
    public Output<string> StandardError { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var docker = context.GetRequiredService<IDockerService>();
        var timeout = context.Get(TimeoutSeconds);
        var result = await docker.ExecAsync(context.Get(Container)!, context.Get(Command) ?? [], new ExecOptions
        {
            StandardInput = context.Get(StandardInput),
            User = context.Get(User),
            Timeout = timeout is { } t ? TimeSpan.FromSeconds(t) : null,
        }, context.CancellationToken);
        context.Set(ExitCode, result.ExitCode);
        context.Set(StandardOutput, result.StandardOutput);
        context.Set(StandardError, result.StandardError);
        await context.CompleteAsync(result.Succeeded ? Succeeded : Failed);
    }
}

// Replaces a container: a repeat after a crash could act on a half-done replacement.
[Activity("DrWorkflows", "Docker", "Recreates a container from its image with the same configuration (env, mounts incl. anonymous volumes, ports, networks, restart policy); rolls back on failure.")]
public sealed class RecreateContainer : CodeActivity<RecreateResult>
{
    [Input(Description = "Container name or id.", Required = true)]
    public Input<string>? Container { get; set; }

    [Input(Description = "Seconds to wait for a clean stop of the old container.", DefaultValue = 10)]
    public Input<int>? StopTimeoutSeconds { get; set; }

    protected override async ValueTask<RecreateResult> RunAsync(ActivityExecutionContext context)
    {
        var docker = context.GetRequiredService<IDockerService>();
        var result = await docker.RecreateContainerAsync(context.Get(Container)!, TimeSpan.FromSeconds(context.Get(StopTimeoutSeconds, 10)), context.CancellationToken);
        context.AddJournalData("recreate", new JsonObject { ["name"] = result.Name, ["oldId"] = result.OldId, ["newId"] = result.NewId, ["image"] = result.Image });
        return result;
    }
}
