using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;

namespace DrWorkflows.Core.Execution;

/// <summary>Elsa's log persistence mode of an activity input or output.</summary>
public enum LogPersistenceMode
{
    /// <summary>The mode of the level above: the property's activity, then the workflow, then <see cref="Include"/>.</summary>
    Inherit,
    Include,

    /// <summary>The value is kept out of the journal, the run's state and the activity execution records; only its name is listed as excluded.</summary>
    Exclude,
}

/// <summary>
/// Elsa's <c>logPersistenceMode</c> of inputs and outputs, read from <c>customProperties</c> as Elsa 3 reads them:
/// <c>logPersistenceConfig</c> (what the Studio writes: <c>{"default": {"evaluationMode": "Strategy", "strategyType":
/// "Elsa.Workflows.LogPersistence.Strategies.Exclude, Elsa.Workflows.Core"}, "inputs": {"text": {...}}, "outputs":
/// {...}}</c>) and the older <c>logPersistenceMode</c> (<c>{"default": "Exclude", "inputs": {"text": "Include"},
/// "outputs": {}}</c>). A property's own setting (the config's, else the older form's, by camelCase name) wins over its
/// activity's <c>default</c>, which wins over the workflow's <c>default</c> (the definition's <c>customProperties</c>);
/// <c>Inherit</c> passes to the level above, and the top level is <see cref="LogPersistenceMode.Include"/>. A strategy
/// chosen by an expression, or a strategy type that is none of Elsa's three, is refused when the definition is saved.
/// </summary>
public static class LogPersistence
{
    public const string ConfigKey = "logPersistenceConfig";
    public const string LegacyKey = "logPersistenceMode";
    public const string Inputs = "inputs";
    public const string Outputs = "outputs";
    private const string StrategyNamespace = "Elsa.Workflows.LogPersistence.Strategies.";

    /// <summary>The workflow's default (from the definition's <c>customProperties</c>): never <see cref="LogPersistenceMode.Inherit"/>.</summary>
    public static LogPersistenceMode WorkflowDefault(JsonObject? customProperties, string definitionId) =>
        Resolve(Default(customProperties, $"Workflow '{definitionId}'"), LogPersistenceMode.Include);

    /// <summary>Whether the value of an input (<see cref="Inputs"/>) or output (<see cref="Outputs"/>) of this activity is kept out of the records.</summary>
    public static bool IsExcluded(Activity activity, string kind, string name, LogPersistenceMode workflowDefault)
    {
        ArgumentNullException.ThrowIfNull(activity);
        var owner = $"Activity '{activity.Id}'";
        var activityDefault = Resolve(Default(activity.CustomProperties, owner), workflowDefault);
        return Resolve(Property(activity.CustomProperties, kind, name, owner), activityDefault) == LogPersistenceMode.Exclude;
    }

    /// <summary>Reads every setting of an activity (or a definition's <c>customProperties</c>), so that one that cannot be honoured is refused at save.</summary>
    public static void Validate(JsonObject? customProperties, string owner)
    {
        Default(customProperties, owner);
        foreach (var kind in (string[])[Inputs, Outputs])
        {
            foreach (var key in (string[])[ConfigKey, LegacyKey])
            {
                if (customProperties?[key]?[kind] is JsonObject section)
                {
                    foreach (var (_, value) in section)
                        Mode(value, owner);
                }
            }
        }
    }

    private static LogPersistenceMode Resolve(LogPersistenceMode? mode, LogPersistenceMode fallback) =>
        mode is null or LogPersistenceMode.Inherit ? fallback : mode.Value;

    private static LogPersistenceMode? Default(JsonObject? properties, string owner) =>
        properties?[ConfigKey]?["default"] is { } config ? Mode(config, owner) : Mode(properties?[LegacyKey]?["default"], owner);

    private static LogPersistenceMode? Property(JsonObject? properties, string kind, string name, string owner) =>
        Find(properties?[ConfigKey]?[kind], name) is { } config ? Mode(config, owner) : Mode(Find(properties?[LegacyKey]?[kind], name), owner);

    /// <summary>A property's entry by its camelCase name (Elsa's key), any case accepted.</summary>
    private static JsonNode? Find(JsonNode? section, string name) =>
        section is JsonObject values ? values.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value : null;

    /// <summary>A mode (<c>"Exclude"</c>, 2) or a configuration (<c>{"evaluationMode", "strategyType", "expression"}</c>); null when absent.</summary>
    private static LogPersistenceMode? Mode(JsonNode? node, string owner)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonObject config:
                var evaluation = config["evaluationMode"]?.ToString();
                if (evaluation is not null && !string.Equals(evaluation, "Strategy", StringComparison.OrdinalIgnoreCase))
                    throw new WorkflowDefinitionException($"{owner}: a log persistence mode chosen by an expression is not supported; choose the Include, Exclude or Inherit strategy (docs/elsa-compatibility.md, logPersistenceMode).");
                var strategy = config["strategyType"]?.ToString();
                if (string.IsNullOrWhiteSpace(strategy))
                    return LogPersistenceMode.Inherit;
                var type = strategy.Split(',')[0].Trim();
                if (type.StartsWith(StrategyNamespace, StringComparison.Ordinal) && Enum.TryParse<LogPersistenceMode>(type[StrategyNamespace.Length..], ignoreCase: false, out var chosen))
                    return chosen;
                throw new WorkflowDefinitionException($"{owner}: log persistence strategy '{strategy}' is not one of Elsa's Include, Exclude or Inherit (docs/elsa-compatibility.md, logPersistenceMode).");
            case JsonValue value when value.TryGetValue<int>(out var number) && Enum.IsDefined((LogPersistenceMode)number):
                return (LogPersistenceMode)number;
            case JsonValue value when value.TryGetValue<string>(out var text):
                if (string.Equals(text, "Default", StringComparison.OrdinalIgnoreCase) || string.IsNullOrWhiteSpace(text))
                    return LogPersistenceMode.Inherit;
                if (Enum.TryParse<LogPersistenceMode>(text, ignoreCase: true, out var mode) && !int.TryParse(text, out _))
                    return mode;
                break;
        }

        throw new WorkflowDefinitionException($"{owner}: log persistence mode '{node.ToJsonString()}' is not Include, Exclude or Inherit (docs/elsa-compatibility.md, logPersistenceMode).");
    }
}
