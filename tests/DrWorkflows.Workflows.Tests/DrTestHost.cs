using DrWorkflows.Activities;
using DrWorkflows.Activities.Approvals;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Dns;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.GitHub;
using DrWorkflows.Activities.Hosts;
using DrWorkflows.Activities.Http;
using DrWorkflows.Activities.Media;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Redis;
using DrWorkflows.Activities.Storage;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Hosting;
using DrWorkflows.Testing;
using DrWorkflows.Workflows.Tests.Fakes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// The real runtime (fake clock, in-memory store) with every DR activity area registered as the server registers
/// it, the repository's workflows loaded through <see cref="WorkflowLoader"/>, and the IO services replaced by
/// recording fakes. The backup catalog is real (over in-memory <c>local</c> and <c>s3</c> stores), so restore
/// points, verification records and retention behave as in production.
/// </summary>
public sealed class DrTestHost : IAsyncDisposable
{
    /// <summary>The identity used to answer gates (an API key with the approver role).</summary>
    public static readonly ApprovalIdentity OnCall = ApprovalIdentity.User(ApprovalChannels.Api, "oncall", ["approver"]);

    private readonly TempDirectory scratch;

    private DrTestHost(WorkflowTestHost host, TempDirectory scratch)
    {
        Host = host;
        this.scratch = scratch;
    }

    public WorkflowTestHost Host { get; }

    public CallLog Calls => Get<CallLog>();

    public FakeDocker Docker => Get<FakeDocker>();

    public FakeHost Machine => Get<FakeHost>();

    public FakeSmokeTester Smoke => Get<FakeSmokeTester>();

    public FakeDns Dns => Get<FakeDns>();

    public FakeComms Comms => Get<FakeComms>();

    public FakePostMortems PostMortems => Get<FakePostMortems>();

    public FakeDatabases Databases => Get<FakeDatabases>();

    public IBackupCatalog Catalog => Get<IBackupCatalog>();

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Builds the host and loads every workflow of the repository; <paramref name="configure"/> may replace more services.</summary>
    public static Task<DrTestHost> StartAsync(DateTimeOffset? now = null, Action<IServiceCollection>? configure = null) =>
        StartAsync(now, configure, realBackups: null);

    /// <summary>
    /// A host whose PostgreSQL, media and backup-store services are the real ones (a local store in a temp directory,
    /// the real clock): for end-to-end drills against a real PostgreSQL server. Redis, Docker, hosts and comms stay fakes.
    /// </summary>
    public static Task<DrTestHost> StartWithRealBackupsAsync(Action<PostgresBackupOptions> postgres, Action<IServiceCollection>? configure = null) =>
        StartAsync(null, configure, postgres);

    private static async Task<DrTestHost> StartAsync(DateTimeOffset? now, Action<IServiceCollection>? configure, Action<PostgresBackupOptions>? realBackups)
    {
        var scratch = new TempDirectory("drw-wf");
        var host = WorkflowTestHost.Create(configure: services =>
        {
            services.AddSingleton<CallLog>();
            Fake<FakeDocker, IDockerService>(services);
            Fake<FakeCompose, IComposeService>(services);
            services.AddSingleton<FakeHost>();
            services.AddSingleton<IHostService>(sp => sp.GetRequiredService<FakeHost>());
            services.AddSingleton<INetworkIsolationService>(sp => sp.GetRequiredService<FakeHost>());
            Fake<FakeSmokeTester, ISmokeTester>(services);
            Fake<FakeDns, IDnsProvider>(services);
            Fake<FakeRedis, IRedisService>(services);
            services.AddSingleton<FakeComms>();
            services.AddSingleton<ISlackClient>(sp => sp.GetRequiredService<FakeComms>());
            services.AddSingleton<IEmailSender>(sp => sp.GetRequiredService<FakeComms>());
            services.AddSingleton<IStatusPageClient>(sp => sp.GetRequiredService<FakeComms>());
            Fake<FakePostMortems, IPostMortemPublisher>(services);
            services.AddSingleton<FakeDatabases>();
            if (realBackups is null)
            {
                services.AddSingleton<IPostgresReadiness>(sp => sp.GetRequiredService<FakeDatabases>());
                services.AddSingleton<IPostgresInventory>(sp => sp.GetRequiredService<FakeDatabases>());
                services.AddSingleton<IPostgresRestoreService>(sp => sp.GetRequiredService<FakeDatabases>());
                services.AddSingleton<IPostgresIntegrityChecker>(sp => sp.GetRequiredService<FakeDatabases>());
                services.AddSingleton<IPostgresBackupService>(sp => sp.GetRequiredService<FakeDatabases>());
                services.AddSingleton<IBackupVerifier>(sp => sp.GetRequiredService<FakeDatabases>());
                services.AddSingleton<IMediaBackupService>(sp => sp.GetRequiredService<FakeDatabases>());
                services.AddSingleton<IBackupStoreProvider, MemoryBackupStores>();
            }
            else
            {
                services.AddSingleton(TimeProvider.System);
            }

            services.AddActivities(typeof(ActivitiesAssembly).Assembly);
            services.AddOptions<DockerOptions>().Configure(o => o.ComposeProject = "ecommerce");
            services.AddNotifications(o =>
            {
                o.Slack.BotToken = "xoxb-test";
                o.Slack.DefaultChannel = "C0INCIDENTS";
                o.Contacts.Roles[ContactRoles.IncidentCommander] = [new ContactPerson { Name = "Ines", Email = "ines@example.com", SlackUserId = "U0INES0001" }];
                o.Contacts.Roles[ContactRoles.OperationsLead] = [new ContactPerson { Name = "Omar", Email = "omar@example.com" }];
                o.Contacts.Roles[ContactRoles.DatabaseAdmin] = [new ContactPerson { Name = "Dana", Email = "dana@example.com" }];
                o.Contacts.Roles[ContactRoles.ExecutiveSponsor] = [new ContactPerson { Name = "Erin", Email = "erin@example.com" }];
            });
            services.AddApprovals(o => o.DefaultTimeout = TimeSpan.FromMinutes(30));
            services.AddBackupActivities(
                stores: o => o.Local.Directory = scratch.FullPath,
                compression: o => o.Method = CompressionMethod.Gzip,
                postgres: realBackups ?? (o =>
                {
                    o.Servers["main"] = "Host=db.primary.invalid;Username=postgres;Password=secret";
                    o.Servers["ai"] = "Host=db.ai.invalid;Username=postgres;Password=secret";
                    o.Servers["dr"] = "Host=db.dr.invalid;Username=postgres;Password=secret";
                    o.Servers["drill"] = "Host=db.drill.invalid;Username=postgres;Password=secret";
                }));
            services.AddDrills();
            services.AddConfigurationBackups();
            services.AddRecoveryPreflight();
            configure?.Invoke(services);
        }, start: now);
        var dr = new DrTestHost(host, scratch);
        var loader = new WorkflowLoader(host.Definitions, Options.Create(WorkflowFiles.Sources()), NullLogger<WorkflowLoader>.Instance);
        await loader.LoadAsync(Ct);
        Assert.Empty(loader.Errors);
        return dr;
    }

    public T Get<T>()
        where T : notnull => Host.Services.GetRequiredService<T>();

    /// <summary>Starts a workflow with input and runs it (and every timer already due) until it waits or ends.</summary>
    public async Task<WorkflowState> RunAsync(string definitionId, object? input = null)
    {
        var state = await Host.StartAsync(definitionId, input, Ct);
        await Host.DrainAsync(Ct);
        return await StateAsync(state.Id);
    }

    public async Task<WorkflowState> StateAsync(string instanceId) =>
        await Host.GetAsync(instanceId) ?? throw new InvalidOperationException($"run {instanceId} not found");

    /// <summary>The one gate the run waits on.</summary>
    public async Task<ApprovalRecord> PendingGateAsync(string instanceId) =>
        Assert.Single(await Get<IApprovalService>().ListAsync(new ApprovalQuery { Status = "pending", InstanceId = instanceId }, Ct));

    /// <summary>Answers the run's pending gate as the on-call approver and runs on until the run waits or ends.</summary>
    public async Task<ApprovalRecord> DecideAsync(string instanceId, string vote, string? option = null, string? comment = null, string? confirmation = null)
    {
        var gate = await PendingGateAsync(instanceId);
        var result = await Get<IApprovalService>().DecideAsync(gate.ApprovalId, OnCall, new ApprovalRequest { Vote = vote, Option = option, Comment = comment ?? "decided by the test", Confirmation = confirmation }, Ct);
        Assert.Equal(ApprovalResultKind.Decided, result.Kind);
        await Host.DrainAsync(Ct);
        return gate;
    }

    /// <summary>Moves the clock and runs what became due.</summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        await Host.AdvanceAsync(by, Ct);
        await Host.DrainAsync(Ct);
    }

    /// <summary>Ids of the activities the run completed, in journal order.</summary>
    public async Task<IReadOnlyList<string>> CompletedAsync(string instanceId) =>
        [.. (await Host.JournalAsync(instanceId)).Where(e => e.EventName == JournalEvents.Completed && e.ActivityId is not null).Select(e => e.ActivityId!)];

    /// <summary>The outcome an activity completed with (its first completion).</summary>
    public async Task<string?> OutcomeAsync(string instanceId, string activityId) =>
        (await Host.JournalAsync(instanceId)).FirstOrDefault(e => e.EventName == JournalEvents.Completed && e.ActivityId == activityId)?.Outcomes is [var first, ..] ? first : null;

    /// <summary>
    /// The step and port that led the run to its failure end (<paramref name="recordId"/>: <c>recordFailure</c>, or
    /// <c>recordPartial</c> for the partial end), as the reason step journaled it, with the key of the reason it used;
    /// checks that the journal's Started entry of that step names the same connection.
    /// </summary>
    public async Task<(string Step, string Port, string? ReasonKey)> FailureSourceAsync(string instanceId, string recordId = Workflows.Shared.IncidentComms.RecordFailureId)
    {
        var journal = await Host.JournalAsync(instanceId);
        var completed = Assert.Single(journal, e => e.EventName == JournalEvents.Completed && e.ActivityId == recordId);
        var data = completed.Payload!["data"]!;
        var source = ScheduledBy.FromJson(data["source"]) ?? throw new Xunit.Sdk.XunitException($"{recordId} journaled no source: {data.ToJsonString()}");
        var started = Assert.Single(journal, e => e.EventName == JournalEvents.Started && e.ExecutionId == completed.ExecutionId);
        Assert.Equal(source, ScheduledBy.FromJson(started.Payload?[ScheduledBy.JournalKey]));
        return (source.ActivityId, source.Port, data["reasonKey"]?.GetValue<string>());
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        scratch.Dispose();
    }

    private static void Fake<TFake, TService>(IServiceCollection services)
        where TFake : class, TService
        where TService : class
    {
        services.AddSingleton<TFake>();
        services.AddSingleton<TService>(sp => sp.GetRequiredService<TFake>());
    }
}

/// <summary>Where the repository's workflows are: the JSON files copied next to the tests, and the C# workflows assembly.</summary>
public static class WorkflowFiles
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "workflows");

    public static WorkflowSourceOptions Sources()
    {
        var options = new WorkflowSourceOptions { Directory = Directory };
        options.CodeAssemblies.Add(typeof(WorkflowsAssembly).Assembly);
        return options;
    }
}
