using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Activities.Primitives;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace DrWorkflows.Testing;

/// <summary>
/// The runtime wired as the server wires it, over a given store, with a fake clock and captured
/// <c>WriteLine</c> output. Saves definitions, runs them, advances time and fires due timers.
/// </summary>
public sealed class WorkflowTestHost : IAsyncDisposable
{
    private WorkflowTestHost(ServiceProvider services, FakeTimeProvider clock, CapturedOutput output)
    {
        Services = services;
        Clock = clock;
        Output = output;
    }

    public ServiceProvider Services { get; }

    public FakeTimeProvider Clock { get; }

    public CapturedOutput Output { get; }

    public WorkflowRuntime Runtime => Services.GetRequiredService<WorkflowRuntime>();

    public WorkflowDefinitionService Definitions => Services.GetRequiredService<WorkflowDefinitionService>();

    public IWorkflowInstanceStore Instances => Services.GetRequiredService<IWorkflowInstanceStore>();

    public ActivityRegistry Registry => Services.GetRequiredService<ActivityRegistry>();

    /// <summary>Builds a host. <paramref name="addStore"/> registers the store (default: in memory).</summary>
    public static WorkflowTestHost Create(Action<IServiceCollection>? addStore = null, Action<IServiceCollection>? configure = null, DateTimeOffset? start = null)
    {
        var clock = new FakeTimeProvider(start ?? new DateTimeOffset(2026, 11, 1, 3, 0, 0, TimeSpan.Zero));
        var output = new CapturedOutput();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<TimeProvider>(clock);
        services.AddSingleton<IStandardOutput>(output);
        services.AddDrWorkflowsRuntime();
        (addStore ?? (s => s.AddDrWorkflowsInMemoryStore()))(services);
        configure?.Invoke(services);
        return new WorkflowTestHost(services.BuildServiceProvider(), clock, output);
    }

    /// <summary>Saves and publishes an Elsa 3 definition given as JSON text.</summary>
    public async Task<StoredWorkflowDefinition> PublishAsync(string json, CancellationToken cancellationToken = default) =>
        await Definitions.SaveAsync(WorkflowDefinitionDocument.Parse(json), publish: true, "api", isReadonly: false, cancellationToken);

    /// <summary>Publishes and starts a definition; runs it until it waits or ends.</summary>
    public async Task<WorkflowState> RunAsync(string json, object? input = null, CancellationToken cancellationToken = default)
    {
        var definition = await PublishAsync(json, cancellationToken);
        return await StartAsync(definition.DefinitionId, input, cancellationToken);
    }

    public async Task<WorkflowState> StartAsync(string definitionId, object? input = null, CancellationToken cancellationToken = default)
    {
        var inputNode = input is null ? null : ValueConverter.ToJsonNode(input) as JsonObject;
        return await Runtime.StartAsync(new StartRunRequest(definitionId)
        {
            Input = inputNode?.ToDictionary(p => p.Key, p => p.Value?.DeepClone()),
            StartedBy = "test",
        }, cancellationToken);
    }

    /// <summary>Runs everything queued in the background (child runs) until nothing is left.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken = default)
    {
        var background = Services.GetRequiredService<RuntimeBackgroundService>();
        for (var i = 0; i < 100; i++)
        {
            var ran = false;
            while (Runtime.Backlog.TryRead(out var instanceId))
            {
                ran = true;
                await Runtime.RunAsync(instanceId, cancellationToken);
            }

            await background.SweepAsync(cancellationToken);
            if (!ran && !Runtime.Backlog.TryPeek(out _))
                return;
        }
    }

    /// <summary>Moves the fake clock forward and fires every timer that became due.</summary>
    public async Task AdvanceAsync(TimeSpan by, CancellationToken cancellationToken = default)
    {
        Clock.Advance(by);
        await DrainAsync(cancellationToken);
    }

    public Task<WorkflowState?> GetAsync(string instanceId) => Instances.GetAsync(instanceId, CancellationToken.None);

    public async Task<IReadOnlyList<JournalEntry>> JournalAsync(string instanceId) =>
        (await Instances.GetJournalAsync(instanceId, 0, 10_000, CancellationToken.None)).Items;

    public async ValueTask DisposeAsync() => await Services.DisposeAsync();
}

/// <summary>Lines written by <c>WriteLine</c>, in order.</summary>
public sealed class CapturedOutput : IStandardOutput
{
    private readonly ConcurrentQueue<string> lines = new();

    public IReadOnlyList<string> Lines => [.. lines];

    public ValueTask WriteLineAsync(string text, CancellationToken cancellationToken)
    {
        lines.Enqueue(text);
        return ValueTask.CompletedTask;
    }
}
