using System.Text.Json.Nodes;
using DrWorkflows.Activities.Approvals;
using DrWorkflows.Activities.Notifications;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace DrWorkflows.Activities.Tests.Approvals;

/// <summary>
/// The runtime with the activities, notifications and approvals registered, a fake clock, and one WireMock
/// stand-in answering as Slack (<c>/api/chat.*</c>, <c>/api/usergroups.users.list</c>) and GitHub
/// (<c>/repos/…/comments</c>).
/// </summary>
internal sealed class ApprovalTestHost : IAsyncDisposable
{
    public const string Channel = "C0APPROVALS";
    public const string Issue = "acme/platform#7";
    private int ts;

    private ApprovalTestHost(WireMockServer server, WorkflowTestHost host)
    {
        Server = server;
        Host = host;
    }

    public WireMockServer Server { get; }

    public WorkflowTestHost Host { get; }

    public IApprovalService Approvals => Host.Services.GetRequiredService<IApprovalService>();

    public static ApprovalTestHost Create(Action<ApprovalsOptions>? approvals = null, Action<ContactTreeOptions>? contacts = null)
    {
        var server = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });
        ApprovalTestHost? created = null;
        var host = WorkflowTestHost.Create(configure: services =>
        {
            services.AddActivities(typeof(ActivitiesAssembly).Assembly);
            services.AddNotifications(o =>
            {
                o.Slack.BotToken = "xoxb-test";
                o.Slack.SigningSecret = "signing-secret";
                o.Slack.BaseUrl = server.Urls[0] + "/api/";
                o.Slack.DefaultChannel = Channel;
                o.Slack.MaxAttempts = 2;
                o.Slack.RetryDelay = TimeSpan.FromMilliseconds(10);
                contacts?.Invoke(o.Contacts);
            });
            services.AddApprovals(o =>
            {
                o.GitHub.Token = "ghp_test";
                o.GitHub.ApiBaseUrl = server.Urls[0] + "/";
                o.DefaultTimeout = TimeSpan.FromMinutes(30);
                approvals?.Invoke(o);
            });
        });
        created = new ApprovalTestHost(server, host);
        server.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost())
            .RespondWith(Response.Create().WithCallback(_ => new WireMock.ResponseMessage
            {
                StatusCode = 200,
                BodyData = new WireMock.Util.BodyData
                {
                    BodyAsString = $"{{\"ok\":true,\"channel\":\"{Channel}\",\"ts\":\"1700000000.{Interlocked.Increment(ref created.ts):000000}\"}}",
                    DetectedBodyType = WireMock.Types.BodyType.String,
                },
            }));
        server.Given(Request.Create().WithPath("/api/chat.update").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody($"{{\"ok\":true,\"channel\":\"{Channel}\",\"ts\":\"1700000000.000001\"}}"));
        server.Given(Request.Create().WithPath("/repos/acme/platform/issues/7/comments").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(201).WithBody("{\"id\":1}"));
        return created;
    }

    /// <summary>Bodies of the requests sent to a path, parsed as JSON, oldest first.</summary>
    public List<JsonObject> Requests(string path) =>
        [.. Server.LogEntries.Where(e => e.RequestMessage!.Path == path).OrderBy(e => e.RequestMessage!.DateTime)
            .Select(e => (JsonObject)JsonNode.Parse(e.RequestMessage!.Body!)!)];

    /// <summary>Starts the gate workflow and fires the publish timer (the Slack post).</summary>
    public async Task<WorkflowState> StartAsync(IDictionary<string, object?> inputs, string startedBy = "starter (api)")
    {
        var definition = await Host.PublishAsync(GateWorkflow(inputs), TestContext.Current.CancellationToken);
        var state = await Host.Runtime.StartAsync(new StartRunRequest(definition.DefinitionId) { StartedBy = startedBy }, TestContext.Current.CancellationToken);
        await Host.DrainAsync(TestContext.Current.CancellationToken);
        return state;
    }

    /// <summary>Advances the clock, fires the due timers, then the due-now publish timers they created.</summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        await Host.AdvanceAsync(by, TestContext.Current.CancellationToken);
        await Host.DrainAsync(TestContext.Current.CancellationToken);
    }

    public async Task<ApprovalRecord> PendingAsync(string instanceId) =>
        Assert.Single(await Approvals.ListAsync(new ApprovalQuery { Status = "pending", InstanceId = instanceId }, TestContext.Current.CancellationToken));

    public async Task<ApprovalRecord> RecordAsync(string approvalId) =>
        await Approvals.FindAsync(approvalId, TestContext.Current.CancellationToken) ?? throw new InvalidOperationException("no record " + approvalId);

    public Task<ApprovalResult> DecideAsync(string approvalId, ApprovalIdentity who, string vote, string? option = null, string? comment = null, JsonNode? value = null, string? confirmation = null) =>
        Approvals.DecideAsync(approvalId, who, new ApprovalRequest { Vote = vote, Option = option, Comment = comment, Value = value, Confirmation = confirmation }, TestContext.Current.CancellationToken);

    /// <summary>A snapshot to prove a refusal changed nothing: revision, journal length, bookmarks.</summary>
    public async Task<(long Revision, int Journal, string Bookmarks)> SnapshotAsync(string instanceId)
    {
        var state = await Host.GetAsync(instanceId) ?? throw new InvalidOperationException("no run");
        var journal = await Host.JournalAsync(instanceId);
        return (state.Revision, journal.Count, string.Join(",", state.Bookmarks.Select(b => b.Id)));
    }

    /// <summary>Start → gate → one WriteLine per outcome ("approved:{option}", "rejected", "timedout").</summary>
    public static string GateWorkflow(IDictionary<string, object?> inputs)
    {
        var gate = new JsonObject { ["type"] = "DrWorkflows.ApprovalGate", ["version"] = 1, ["id"] = "gate" };
        foreach (var (name, value) in inputs)
        {
            gate[name] = value switch
            {
                string s => Literal(s),
                bool b => Literal(b ? "true" : "false"),
                int i => Literal(i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                JsonNode node => new JsonObject { ["typeName"] = "Object", ["expression"] = new JsonObject { ["type"] = "Object", ["value"] = node.ToJsonString() } },
                IEnumerable<string> list => new JsonObject { ["typeName"] = "Object", ["expression"] = new JsonObject { ["type"] = "Object", ["value"] = new JsonArray([.. list.Select(x => (JsonNode?)JsonValue.Create(x))]).ToJsonString() } },
                _ => throw new ArgumentException("unsupported input " + name),
            };
        }

        var workflow = new JsonObject
        {
            ["definitionId"] = "gate-" + Guid.NewGuid().ToString("N")[..8],
            ["name"] = "Gate",
            ["root"] = new JsonObject
            {
                ["type"] = "Elsa.Flowchart",
                ["version"] = 1,
                ["id"] = "flow",
                ["activities"] = new JsonArray(
                    new JsonObject { ["type"] = "Elsa.Start", ["version"] = 1, ["id"] = "start" },
                    gate,
                    WriteLine("approved"),
                    WriteLine("rejected"),
                    WriteLine("timedout")),
                ["connections"] = new JsonArray(
                    Connection("start", "Done", "gate"),
                    Connection("gate", ApprovalOutcomes.Approved, "approved"),
                    Connection("gate", ApprovalOutcomes.Rejected, "rejected"),
                    Connection("gate", ApprovalOutcomes.TimedOut, "timedout")),
            },
        };
        return workflow.ToJsonString();
    }

    private static JsonObject Literal(string value) => new() { ["typeName"] = "String", ["expression"] = new JsonObject { ["type"] = "Literal", ["value"] = value } };

    private static JsonObject WriteLine(string id) => new()
    {
        ["type"] = "Elsa.WriteLine",
        ["version"] = 1,
        ["id"] = id,
        ["text"] = Literal(id),
    };

    private static JsonObject Connection(string source, string port, string target) => new()
    {
        ["source"] = new JsonObject { ["activity"] = source, ["port"] = port },
        ["target"] = new JsonObject { ["activity"] = target, ["port"] = "In" },
    };

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        Server.Dispose();
    }
}
