using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Docker;

// `up -d` converges on the Compose file: a second run leaves what is already up as it is.
[Activity("DrWorkflows", "Docker", "`docker compose up -d` (or docker-compose) for the configured project, optionally for some services.", SafeToRerun = true)]
public sealed class ComposeUp : CodeActivity<ComposeResult>
{
    [Input(Description = "Services to bring up; all when empty.")]
    public Input<List<string>>? Services { get; set; }

    [Input(Description = "Compose project; Docker:ComposeProject when empty.")]
    public Input<string>? Project { get; set; }

    protected override async ValueTask<ComposeResult> RunAsync(ActivityExecutionContext context) =>
        await ComposeCommand.RunAsync(context, new ComposeRequest(ComposeVerb.Up) { Services = context.Get(Services) ?? [], Project = Blank(context.Get(Project)) });

    internal static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}

// stop/restart/pull/down/rm/up --force-recreate interrupt services: an operator confirms a repeat.
[Activity("DrWorkflows", "Docker", "Runs a Compose command (up, stop, start, restart, pull, down, rm) for the configured project.")]
public sealed class ComposeCommand : CodeActivity<ComposeResult>
{
    [Input(
        Description = "Command. rm stops and removes the containers of the services (volumes kept), in Compose v1 and v2; down with services needs Compose v2.",
        Options = ["up", "stop", "start", "restart", "pull", "down", "rm"],
        Required = true)]
    public Input<string>? Command { get; set; }

    [Input(Description = "Services; all when empty.")]
    public Input<List<string>>? Services { get; set; }

    [Input(Description = "Compose project; Docker:ComposeProject when empty.")]
    public Input<string>? Project { get; set; }

    [Input(Description = "up: recreate containers even when unchanged (the plan's clean rebuild).", DefaultValue = false)]
    public Input<bool>? ForceRecreate { get; set; }

    [Input(Description = "up: leave the services they depend on alone (--no-deps); otherwise Compose v1 also recreates those with ForceRecreate.", DefaultValue = false)]
    public Input<bool>? NoDeps { get; set; }

    [Input(Description = "Seconds to wait for containers to stop (stop, restart, down, up).")]
    public Input<int?>? StopTimeoutSeconds { get; set; }

    protected override async ValueTask<ComposeResult> RunAsync(ActivityExecutionContext context)
    {
        var text = context.Get(Command) ?? string.Empty;
        if (string.Equals(text, "rm", StringComparison.OrdinalIgnoreCase))
            text = nameof(ComposeVerb.Remove);
        if (!Enum.TryParse<ComposeVerb>(text, ignoreCase: true, out var verb) || !Enum.IsDefined(verb) || verb == ComposeVerb.ListServices || int.TryParse(text, out _))
            throw new ArgumentException($"Unknown Compose command '{text}': use up, stop, start, restart, pull, down or rm.");
        var timeout = context.Get(StopTimeoutSeconds);
        return await RunAsync(context, new ComposeRequest(verb)
        {
            Services = context.Get(Services) ?? [],
            Project = ComposeUp.Blank(context.Get(Project)),
            ForceRecreate = context.Get(ForceRecreate, false),
            NoDeps = context.Get(NoDeps, false),
            StopTimeout = timeout is { } t ? TimeSpan.FromSeconds(t) : null,
        });
    }

    internal static async Task<ComposeResult> RunAsync(ActivityExecutionContext context, ComposeRequest request)
    {
        var result = await context.GetRequiredService<IComposeService>().RunAsync(request, context.CancellationToken);
        context.AddJournalData("compose", new JsonObject { ["command"] = result.CommandLine, ["exitCode"] = result.ExitCode, ["seconds"] = result.Elapsed.TotalSeconds });
        return result;
    }
}
