using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Approvals;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Server.Approvals;
using DrWorkflows.Server.Security;
using DrWorkflows.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace DrWorkflows.Server.Tests.Approvals;

/// <summary>
/// The real server over a temp SQLite data directory with a fake clock, API keys for each role, and one
/// WireMock stand-in answering as Slack (Web API and response_url) and GitHub (issue comments).
/// </summary>
public sealed class ApprovalServerFactory : WebApplicationFactory<Program>
{
    public const string AdminKey = "approvals-admin-key";
    public const string AliceKey = "alice-approver-key";
    public const string StarterKey = "starter-approver-key";
    public const string ViewerKey = "approvals-viewer-key";
    public const string OperatorKey = "approvals-operator-key";
    public const string DesignerKey = "approvals-designer-key";
    public const string SigningSecret = "slack-signing-secret-for-tests";
    public const string WebhookSecret = "github-webhook-secret-for-tests";
    public const string Channel = "C0APPROVALS";
    public const string MessageTs = "1700000000.000100";

    private readonly TempDirectory data = new("approvals-server");
    private readonly TimeSpan? slackAnswerBudget;
    private readonly IReadOnlyDictionary<string, string> settings;

    /// <param name="slackAnswerBudget">Approvals:SlackAnswerBudget (default here: one minute, so a click is answered once decided).</param>
    /// <param name="settings">Further configuration, applied last.</param>
    public ApprovalServerFactory(TimeSpan? slackAnswerBudget = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        this.slackAnswerBudget = slackAnswerBudget;
        this.settings = settings ?? new Dictionary<string, string>();
        Stand = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });
        Stand.Given(Request.Create().WithPath("/api/chat.postMessage").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody($"{{\"ok\":true,\"channel\":\"{Channel}\",\"ts\":\"{MessageTs}\"}}"));
        Stand.Given(Request.Create().WithPath("/api/chat.update").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody($"{{\"ok\":true,\"channel\":\"{Channel}\",\"ts\":\"{MessageTs}\"}}"));
        Stand.Given(Request.Create().WithPath("/slack-response/*").UsingPost()).RespondWith(Response.Create().WithStatusCode(200).WithBody("ok"));
        Stand.Given(Request.Create().WithPath("/repos/acme/platform/issues/7/comments").UsingPost()).RespondWith(Response.Create().WithStatusCode(201).WithBody("{\"id\":1}"));
    }

    public WireMockServer Stand { get; }

    public string DataDirectory => data.FullPath;

    /// <summary>The server's log lines (Warning and above).</summary>
    public CapturingLoggerProvider Logs { get; } = new();

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 1, 3, 0, 0, TimeSpan.Zero));

    public string ResponseUrl => Stand.Urls[0] + "/slack-response/T1/abc";

    public HttpClient Client(string? key)
    {
        var client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });
        if (key is not null)
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", key);
        return client;
    }

    public WorkflowRuntime Runtime => Services.GetRequiredService<WorkflowRuntime>();

    public IApprovalService Approvals => Services.GetRequiredService<IApprovalService>();

    /// <summary>The phrase option dr-2 needs typed on a gate started with <c>confirm: true</c>.</summary>
    public const string Dr2Phrase = "cut over to dr-2";

    /// <summary>Publishes the gate workflow and starts it as <paramref name="startedBy"/>; fires the publish timer.</summary>
    public async Task<(string InstanceId, ApprovalRecord Gate)> StartGateAsync(string startedBy = "starter (api)", int required = 1, GateTexts? texts = null, bool confirm = false)
    {
        var ct = TestContext.Current.CancellationToken;
        var definitions = Services.GetRequiredService<WorkflowDefinitionService>();
        var definition = await definitions.SaveAsync(WorkflowDefinitionDocument.Parse(GateWorkflow(required, (texts ?? new GateTexts()) with { ConfirmationPhrases = confirm ? new Dictionary<string, string> { ["dr-2"] = Dr2Phrase } : texts?.ConfirmationPhrases })), publish: true, "api", isReadonly: false, ct);
        var state = await Runtime.StartAsync(new StartRunRequest(definition.DefinitionId) { StartedBy = startedBy }, ct);
        await SweepAsync();
        var gate = Assert.Single(await Approvals.ListAsync(new ApprovalQuery { Status = "pending", InstanceId = state.Id }, ct));
        return (state.Id, gate);
    }

    /// <summary>One pass of the runtime's timer sweep (the publish timers are due at once).</summary>
    public async Task SweepAsync()
    {
        for (var i = 0; i < 3; i++)
            await Services.GetRequiredService<RuntimeBackgroundService>().SweepAsync(TestContext.Current.CancellationToken);
    }

    public async Task<(long Revision, int Journal)> SnapshotAsync(string instanceId)
    {
        var store = Services.GetRequiredService<DrWorkflows.Core.Persistence.IWorkflowInstanceStore>();
        var state = await store.GetAsync(instanceId, TestContext.Current.CancellationToken);
        var journal = await store.GetJournalAsync(instanceId, 0, 10_000, TestContext.Current.CancellationToken);
        return (state!.Revision, (int)journal.TotalCount);
    }

    public async Task<IReadOnlyList<JournalEntry>> JournalAsync(string instanceId) =>
        (await Services.GetRequiredService<DrWorkflows.Core.Persistence.IWorkflowInstanceStore>().GetJournalAsync(instanceId, 0, 10_000, TestContext.Current.CancellationToken)).Items;

    /// <summary>A Slack interaction request for a button, signed (or not) at the fake clock's time.</summary>
    /// <remarks>The click comes from the gate's message (<see cref="Channel"/>, <see cref="MessageTs"/>) unless <paramref name="channel"/> or <paramref name="messageTs"/> say otherwise.</remarks>
    public HttpRequestMessage SlackClick(string userId, string actionId, string value, string triggerId, string? secret = SigningSecret, TimeSpan? age = null, string? retryNum = null, string channel = Channel, string messageTs = MessageTs)
    {
        var payload = new JsonObject
        {
            ["type"] = "block_actions",
            ["user"] = new JsonObject { ["id"] = userId, ["username"] = userId.ToLowerInvariant() },
            ["trigger_id"] = triggerId,
            ["response_url"] = ResponseUrl,
            ["channel"] = new JsonObject { ["id"] = channel, ["name"] = "approvals" },
            ["container"] = new JsonObject { ["type"] = "message", ["message_ts"] = messageTs, ["channel_id"] = channel, ["is_ephemeral"] = false },
            ["message"] = new JsonObject { ["ts"] = messageTs, ["type"] = "message" },
            ["actions"] = new JsonArray(new JsonObject { ["action_id"] = actionId, ["value"] = value, ["action_ts"] = "1700000001.000200" }),
        };
        return SlackInteraction(payload, secret, age, retryNum);
    }

    /// <summary>Any Slack interaction payload, form-encoded and signed (or not) at the fake clock's time.</summary>
    public HttpRequestMessage SlackInteraction(JsonNode payload, string? secret = SigningSecret, TimeSpan? age = null, string? retryNum = null)
    {
        var body = "payload=" + Uri.EscapeDataString(payload.ToJsonString());
        var timestamp = (Clock.GetUtcNow() - (age ?? TimeSpan.Zero)).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var request = new HttpRequestMessage(HttpMethod.Post, "/slack/interactions") { Content = new StringContent(body, Encoding.UTF8, "application/x-www-form-urlencoded") };
        request.Headers.Add("X-Slack-Request-Timestamp", timestamp);
        if (secret is not null)
            request.Headers.Add("X-Slack-Signature", SlackSignature.Compute(secret, timestamp, Encoding.UTF8.GetBytes(body)));
        if (retryNum is not null)
            request.Headers.Add("X-Slack-Retry-Num", retryNum);
        return request;
    }

    /// <summary>A GitHub issue_comment delivery, signed (or not) with the webhook secret.</summary>
    public static HttpRequestMessage GitHubComment(string login, string body, long commentId, string? secret = WebhookSecret, string type = "User", string action = "created", string repository = "acme/platform", int issue = 7)
    {
        var payload = new JsonObject
        {
            ["action"] = action,
            ["issue"] = new JsonObject { ["number"] = issue },
            ["repository"] = new JsonObject { ["full_name"] = repository },
            ["comment"] = new JsonObject { ["id"] = commentId, ["body"] = body, ["user"] = new JsonObject { ["login"] = login, ["type"] = type } },
            ["sender"] = new JsonObject { ["login"] = login, ["type"] = type },
        };
        return GitHubEvent(payload, secret);
    }

    /// <summary>Any issue_comment delivery (raw JSON), signed (or not) with the webhook secret.</summary>
    public static HttpRequestMessage GitHubEvent(JsonNode json, string? secret = WebhookSecret) => GitHubEvent(json.ToJsonString(), secret);

    public static HttpRequestMessage GitHubEvent(string payload, string? secret = WebhookSecret)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/github/webhook") { Content = new StringContent(payload, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-GitHub-Event", "issue_comment");
        request.Headers.Add("X-GitHub-Delivery", Guid.NewGuid().ToString());
        if (secret is not null)
            request.Headers.Add("X-Hub-Signature-256", GitHubSignature.Compute(secret, Encoding.UTF8.GetBytes(payload)));
        return request;
    }

    public List<JsonObject> Requests(string pathStart) =>
        [.. Stand.LogEntries.Where(e => e.RequestMessage!.Path.StartsWith(pathStart, StringComparison.Ordinal)).OrderBy(e => e.RequestMessage!.DateTime)
            .Select(e => (JsonObject)JsonNode.Parse(e.RequestMessage!.Body!)!)];

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("DRW_DATA_DIR", data.FullPath);
        builder.UseSetting("DRW_API_KEY", AdminKey);
        builder.UseSetting("DRW_WORKFLOWS_DIR", data.Combine("no-workflows"));
        builder.UseSetting("DRW_STUDIO_DIR", data.Combine("no-studio"));
        AddKey(builder, 0, "alice", AliceKey, Roles.Approver);
        AddKey(builder, 1, "starter", StarterKey, Roles.Approver);
        AddKey(builder, 2, "vic", ViewerKey, Roles.Viewer);
        AddKey(builder, 3, "otto", OperatorKey, Roles.Operator);
        AddKey(builder, 4, "dana", DesignerKey, Roles.Designer);
        builder.UseSetting("Notifications:Slack:BotToken", "xoxb-test");
        builder.UseSetting("Notifications:Slack:SigningSecret", SigningSecret);
        builder.UseSetting("Notifications:Slack:BaseUrl", Stand.Urls[0] + "/api/");
        builder.UseSetting("Notifications:Slack:DefaultChannel", Channel);
        builder.UseSetting("Approvals:SlackResponseUrlPrefix", Stand.Urls[0] + "/slack-response/");
        builder.UseSetting("Approvals:GitHub:WebhookSecret", WebhookSecret);
        builder.UseSetting("Approvals:GitHub:Token", "ghp_test");
        builder.UseSetting("Approvals:GitHub:ApiBaseUrl", Stand.Urls[0] + "/");
        // Tests read the run right after a click: unless a test is about the budget, the answer waits for the
        // decision (under CI load the server's 2 s can pass first, and the decision would then land mid-assertion).
        var budget = slackAnswerBudget ?? TimeSpan.FromMinutes(1);
        builder.UseSetting("Approvals:SlackAnswerBudget", budget.ToString("c", System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.UseEnvironment("Development");
        foreach (var (key, value) in settings)
            builder.UseSetting(key, value);
        builder.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(Clock).AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(Logs));
    }

    private static void AddKey(IWebHostBuilder builder, int index, string name, string key, string role)
    {
        builder.UseSetting($"DrWorkflows:Auth:Keys:{index}:Name", name);
        builder.UseSetting($"DrWorkflows:Auth:Keys:{index}:Sha256", ConfiguredApiKeyStore.HashHex(key));
        builder.UseSetting($"DrWorkflows:Auth:Keys:{index}:Roles:0", role);
    }

    /// <summary>What the gate shows: by default the DNS cutover with options dr-1 and dr-2.</summary>
    public sealed record GateTexts
    {
        public string Title { get; init; } = "Approve the DNS cutover";

        public string Question { get; init; } = "Point app.example.com at the DR server?";

        public JsonNode Evidence { get; init; } = new JsonObject { ["text"] = "Primary down for 12 minutes.", ["facts"] = new JsonObject { ["drHealthy"] = true, ["replicationLag"] = "4s" } };

        /// <summary>Options; null for a free-answer gate (see <see cref="InputSchema"/>) or an empty list for plain approve/reject.</summary>
        public IReadOnlyList<string>? Options { get; init; } = ["dr-1", "dr-2"];

        public JsonNode? InputSchema { get; init; }

        public string? EvidenceFormat { get; init; }

        /// <summary>Options that need a typed confirmation, with their phrases.</summary>
        public IReadOnlyDictionary<string, string>? ConfirmationPhrases { get; init; }
    }

    /// <summary>Start → gate (approvers slack:U0ALICE001, github:carol, user:alice, user:starter; issue acme/platform#7) → a WriteLine per outcome.</summary>
    private static string GateWorkflow(int required, GateTexts texts)
    {
        static JsonObject Literal(string type, string value) => new() { ["typeName"] = type, ["expression"] = new JsonObject { ["type"] = "Literal", ["value"] = value } };
        static JsonObject Json(JsonNode value) => new() { ["typeName"] = "Object", ["expression"] = new JsonObject { ["type"] = "Object", ["value"] = value.ToJsonString() } };
        var gate = new JsonObject
        {
            ["type"] = "DrWorkflows.ApprovalGate",
            ["version"] = 1,
            ["id"] = "gate",
            ["title"] = Literal("String", texts.Title),
            ["question"] = Literal("String", texts.Question),
            ["evidence"] = Json(texts.Evidence),
            ["approvers"] = Json(new JsonArray("slack:U0ALICE001", "github:carol", "user:alice", "user:starter")),
            ["requiredApprovals"] = Literal("Int32", required.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ["gitHubIssue"] = Literal("String", "acme/platform#7"),
        };
        if (texts.Options is { } options)
            gate["options"] = Json(new JsonArray([.. options.Select(o => (JsonNode?)JsonValue.Create(o))]));
        if (texts.InputSchema is { } schema)
            gate["inputSchema"] = Json(schema);
        if (texts.ConfirmationPhrases is { } phrases)
            gate["confirmationPhrases"] = Json(new JsonObject([.. phrases.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonValue.Create(p.Value)))]));
        if (texts.EvidenceFormat is { } format)
            gate["evidenceFormat"] = Literal("String", format);
        var definition = JsonNode.Parse($$"""
            {
              "definitionId": "gate-{{Guid.NewGuid().ToString("N")[..8]}}",
              "name": "DNS cutover",
              "root": {
                "type": "Elsa.Flowchart", "version": 1, "id": "flow",
                "activities": [
                  { "type": "Elsa.Start", "version": 1, "id": "start" },
                  { "type": "Elsa.WriteLine", "version": 1, "id": "approved", "text": { "typeName": "String", "expression": { "type": "Literal", "value": "approved" } } },
                  { "type": "Elsa.WriteLine", "version": 1, "id": "rejected", "text": { "typeName": "String", "expression": { "type": "Literal", "value": "rejected" } } }
                ],
                "connections": [
                  { "source": { "activity": "start", "port": "Done" }, "target": { "activity": "gate", "port": "In" } },
                  { "source": { "activity": "gate", "port": "Approved" }, "target": { "activity": "approved", "port": "In" } },
                  { "source": { "activity": "gate", "port": "Rejected" }, "target": { "activity": "rejected", "port": "In" } }
                ]
              }
            }
            """)!;
        definition["root"]!["activities"]!.AsArray().Insert(1, gate);
        return definition.ToJsonString();
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Stand.Dispose();
            data.Dispose();
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Stand.Dispose();
        data.Dispose();
    }
}
