using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Approvals;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Activities.Scheduling;
using DrWorkflows.Core.Expressions;
using DrWorkflows.Core.Model;
using Jint;
using Jint.Native;

namespace DrWorkflows.Activities.Preflight;

/// <summary>The integrations a workflow's steps use (each needs its settings, and its credentials must work).</summary>
public static class Integrations
{
    public const string Docker = "Docker";
    public const string Redis = "Redis";
    public const string Route53 = "Route 53";
    public const string Slack = "Slack";
    public const string GitHub = "GitHub";
    public const string Host = "Host";
}

/// <summary>A backup a step restores or looks for: its kind, its source (or the server it was taken from) and store.</summary>
public sealed record BackupNeed(string Kind, string? Source, string? Server, string? Store, string ActivityId);

/// <summary>
/// What a published workflow needs, read from its steps before any run (with the run's input, or the defaults its
/// expressions fall back to): the configuration its <see cref="CheckRecoveryConfiguration"/> step checks, and what its
/// other steps name (containers, volumes, database servers, backup stores, the backups it restores, approvers, the
/// integrations it calls). A value a step computes while running (from another step's output) cannot be known
/// beforehand and is left out.
/// </summary>
public sealed record WorkflowNeeds(string DefinitionId, string? Name)
{
    /// <summary>What the configuration check (its own step, or one derived from the steps) verifies.</summary>
    public required PreflightRequest Configuration { get; init; }

    /// <summary>Whether the workflow has its own <c>checkConfiguration</c> step (a DR scenario).</summary>
    public bool HasConfigurationStep { get; init; }

    /// <summary>Cron, Timer or StartAt triggers (the schedule texts).</summary>
    public IReadOnlyList<string> Schedules { get; init; } = [];

    public IReadOnlyList<string> Containers { get; init; } = [];

    public IReadOnlyList<string> Volumes { get; init; } = [];

    public IReadOnlyList<BackupNeed> Backups { get; init; } = [];

    public IReadOnlyList<string> Approvers { get; init; } = [];

    /// <summary>Integrations its steps call (<see cref="Integrations"/>).</summary>
    public IReadOnlySet<string> Uses { get; init; } = new HashSet<string>();

    /// <summary>Integrations its steps call only as best effort (notifications: a missing one never holds a run).</summary>
    public IReadOnlySet<string> BestEffort { get; init; } = new HashSet<string>();
}

/// <summary>Reads <see cref="WorkflowNeeds"/> from a workflow graph.</summary>
public static class WorkflowNeedsReader
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(2);

    public static WorkflowNeeds Read(WorkflowGraph graph, IReadOnlyDictionary<string, JsonNode?>? input = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var values = new InputValues(input ?? new Dictionary<string, JsonNode?>());
        var activities = WorkflowGraph.Walk(graph.Root).ToList();
        var check = activities.OfType<CheckRecoveryConfiguration>().FirstOrDefault();
        var servers = new List<string>();
        var stores = new List<string>();
        var containers = new List<string>();
        var volumes = new List<string>();
        var backups = new List<BackupNeed>();
        var approvers = new List<string>();
        var uses = new HashSet<string>(StringComparer.Ordinal);
        var bestEffort = new HashSet<string>(StringComparer.Ordinal);
        var schedules = new List<string>();
        var usesCompose = false;

        foreach (var activity in activities)
        {
            var area = activity.GetType().Namespace ?? string.Empty;
            switch (activity)
            {
                case Cron cron when cron.CronExpression.Expression?.ValueText is { } expression:
                    schedules.Add(expression);
                    break;
                case Core.Activities.Scheduling.Timer timer when timer.Interval.Expression?.ValueText is { } interval:
                    schedules.Add("every " + interval);
                    break;
                case StartAt at when at.DateTime.Expression?.ValueText is { } time:
                    schedules.Add("at " + time);
                    break;
                case ApprovalGate gate:
                    approvers.AddRange(values.Strings(gate.Approvers));
                    bestEffort.Add(Integrations.Slack);
                    break;
                case Notifications.CloseIncident:
                    // The end of an incident: the thread and the post-mortem issue (its area is Notifications).
                    bestEffort.Add(Integrations.Slack);
                    bestEffort.Add(Integrations.GitHub);
                    break;
                case FindRestorePoint find:
                    backups.Add(new BackupNeed(values.String(find.Kind) ?? BackupKinds.Postgres, values.String(find.Source), null, values.String(find.Store), find.Id));
                    break;
                case PlanServerRestore plan when values.String(plan.Server) is { Length: > 0 } from:
                    backups.Add(new BackupNeed(BackupKinds.Postgres, null, from, values.String(plan.Store), plan.Id));
                    break;
            }

            if (area.EndsWith(".Docker", StringComparison.Ordinal))
            {
                uses.Add(Integrations.Docker);
                usesCompose |= activity.GetType().Name.StartsWith("Compose", StringComparison.Ordinal) || activity is WaitForHealthy;
                if (activity is not CreateVolume)
                {
                    containers.AddRange(values.Strings(Property(activity, "Containers")));
                    if (values.String(Property(activity, "Container")) is { Length: > 0 } container)
                        containers.Add(container);
                    if (values.String(Property(activity, "Volume")) is { Length: > 0 } volume)
                        volumes.Add(volume);
                }
            }
            else if (area.EndsWith(".Redis", StringComparison.Ordinal) || activity is Drills.BackupRedis) // BackupRedis snapshots the live Redis
            {
                uses.Add(Integrations.Redis);
            }
            else if (area.EndsWith(".Dns", StringComparison.Ordinal))
            {
                uses.Add(Integrations.Route53);
            }
            else if (area.EndsWith(".Hosts", StringComparison.Ordinal))
            {
                uses.Add(Integrations.Host);
            }
            else if (area.EndsWith(".GitHub", StringComparison.Ordinal))
            {
                bestEffort.Add(Integrations.GitHub);
            }
            else if (area.EndsWith(".Notifications", StringComparison.Ordinal) && activity.GetType().Name.Contains("Slack", StringComparison.Ordinal))
            {
                bestEffort.Add(Integrations.Slack);
            }

            if (activity is PostgresServerActivity && values.String(Property(activity, "Server")) is { Length: > 0 } server)
                servers.Add(server);
            if (activity is not CheckRecoveryConfiguration)
            {
                if (values.String(Property(activity, "Store")) is { } store && (area.EndsWith(".Backups", StringComparison.Ordinal) || area.EndsWith(".Postgres", StringComparison.Ordinal) || area.EndsWith(".Redis", StringComparison.Ordinal) || area.EndsWith(".Media", StringComparison.Ordinal) || area.EndsWith(".Drills", StringComparison.Ordinal)))
                    stores.Add(store);
                stores.AddRange(values.Strings(Property(activity, "Stores")));
            }
        }

        PreflightRequest configuration;
        if (check is not null)
        {
            configuration = new PreflightRequest(values.String(check.Scenario) ?? graph.Name ?? graph.DefinitionId)
            {
                ComposeProject = values.String(check.ComposeProject),
                // The scenario's own statement of what must be configured here (host failover names the primary's
                // server only to match its backups by name: it need not be configured on the DR orchestrator).
                PostgresServers = Distinct(values.Strings(check.PostgresServers)),
                BackupStores = Distinct(values.Strings(check.BackupStores), keepEmpty: true),
                NetworkIsolation = values.Bool(check.NetworkIsolation),
                DockerEngineRestart = values.Bool(check.DockerEngineRestart),
            };
        }
        else
        {
            configuration = new PreflightRequest(graph.Name ?? graph.DefinitionId)
            {
                ComposeProjectRequired = usesCompose,
                PostgresServers = Distinct(servers),
                BackupStores = Distinct(stores, keepEmpty: true),
                StoresMustHoldBackups = false, // the backups it restores are checked one by one (Backups)
            };
        }

        return new WorkflowNeeds(graph.DefinitionId, graph.Name)
        {
            Configuration = configuration,
            HasConfigurationStep = check is not null,
            Schedules = schedules,
            Containers = Distinct(containers),
            Volumes = Distinct(volumes),
            Backups = backups.DistinctBy(b => (b.Kind, b.Source, b.Server, b.Store)).ToList(),
            Approvers = Distinct(approvers),
            Uses = uses,
            BestEffort = bestEffort,
        };
    }

    private static Input? Property(Activity activity, string name) =>
        activity.GetType().GetProperty(name)?.GetValue(activity) as Input;

    private static List<string> Distinct(IEnumerable<string> names, bool keepEmpty = false) =>
        names.Select(n => n.Trim()).Where(n => keepEmpty || n.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToList();

    /// <summary>
    /// Evaluates an input before any run: literals as they are, JavaScript with <c>getInput</c> answering from the given
    /// input (else <c>undefined</c>, so the script's own default is taken). A script that needs what the run computes
    /// (a variable, another step's output) gives no value.
    /// </summary>
    private sealed class InputValues(IReadOnlyDictionary<string, JsonNode?> input)
    {
        public string? String(Input? value) => Evaluate(value) switch
        {
            JsonValue v when v.TryGetValue<string>(out var text) => text,
            JsonValue v => v.ToJsonString(),
            _ => null,
        };

        public bool Bool(Input? value) => Evaluate(value) is JsonValue v && (v.TryGetValue<bool>(out var b) ? b : v.TryGetValue<string>(out var s) && bool.TryParse(s, out var parsed) && parsed);

        public IEnumerable<string> Strings(Input? value) => Evaluate(value) switch
        {
            JsonArray array => array.Select(a => a is JsonValue v && v.TryGetValue<string>(out var s) ? s : null).OfType<string>(),
            JsonValue v when v.TryGetValue<string>(out var text) => [text],
            _ => [],
        };

        private JsonNode? Evaluate(Input? value)
        {
            if (value?.Expression is not { } expression)
                return null;
            var text = expression.ValueText;
            if (string.IsNullOrWhiteSpace(text))
                return expression.Value?.DeepClone();
            if (expression.Type == ExpressionTypes.JavaScript)
                return Script(text);
            if (expression.Type is ExpressionTypes.Object or ExpressionTypes.Json || (expression.Type == ExpressionTypes.Literal && text.TrimStart() is ['[' or '{', ..]))
                return TryParse(text) ?? expression.Value?.DeepClone();
            return expression.Type == ExpressionTypes.Literal ? expression.Value?.DeepClone() : null;
        }

        private JsonNode? Script(string script)
        {
            var engine = new Engine(o => o.TimeoutInterval(ScriptTimeout).LimitMemory(8 * 1024 * 1024).LimitRecursion(64).Culture(CultureInfo.InvariantCulture));
            engine.SetValue("getInput", new Func<string, JsValue>(name => input.TryGetValue(name, out var v) && v is not null ? engine.Evaluate("(" + v.ToJsonString() + ")") : JsValue.Undefined));
            engine.SetValue("getWorkflowInput", new Func<string, JsValue>(name => input.TryGetValue(name, out var v) && v is not null ? engine.Evaluate("(" + v.ToJsonString() + ")") : JsValue.Undefined));
            engine.SetValue("getWorkflowInstanceId", new Func<string>(() => "preflight"));
            engine.SetValue("getOutputFrom", new Func<string, string?, JsValue>((_, _) => JsValue.Undefined));
            try
            {
                var result = engine.Evaluate(script);
                if (result.IsUndefined() || result.IsNull())
                    return null;
                return TryParse(engine.Evaluate("JSON.stringify").AsFunctionInstance().Call(result).ToString());
            }
#pragma warning disable CA1031 // A script that needs the run (a variable, an output) has no value before it.
            catch (Exception)
#pragma warning restore CA1031
            {
                return null;
            }
        }

        private static JsonNode? TryParse(string text)
        {
            try
            {
                return JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }
}
