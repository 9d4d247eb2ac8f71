using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;

namespace DrWorkflows.Activities.GitHub;

/// <summary>
/// What a workflow definition tells its post-mortem. A step marked as the <em>detection</em> confirms the incident
/// with one of its outcomes (scenario 2's check that the primary does not answer ends <c>Failed</c>; scenario 1's
/// first health check ends <c>Unhealthy</c>): that outcome is how the run learnt of the incident, not something that
/// went wrong during it. The mark lives on the activity, as Elsa's <c>customProperties</c>
/// (<c>"detectionOutcomes": ["Failed"]</c>), so JSON workflows and code workflows say it the same way.
/// </summary>
public static class PostMortemMarkers
{
    /// <summary>Custom property of an activity: the outcomes (ports) that are the detection of the incident.</summary>
    public const string DetectionOutcomesProperty = "detectionOutcomes";

    /// <summary>Marks <paramref name="outcomes"/> of <paramref name="activity"/> as the detection of the incident.</summary>
    public static TActivity MarkDetection<TActivity>(TActivity activity, params string[] outcomes)
        where TActivity : Activity
    {
        ArgumentNullException.ThrowIfNull(activity);
        if (outcomes.Length == 0)
            throw new ArgumentException("Name the outcome (port) that detects the incident, e.g. Failed.", nameof(outcomes));
        activity.CustomProperties[DetectionOutcomesProperty] = new JsonArray([.. outcomes.Select(o => (JsonNode?)JsonValue.Create(o))]);
        return activity;
    }

    /// <summary>The detection outcomes of every marked activity, by activity id.</summary>
    public static IReadOnlyDictionary<string, IReadOnlySet<string>> DetectionOutcomes(IEnumerable<Activity> activities)
    {
        ArgumentNullException.ThrowIfNull(activities);
        var result = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        foreach (var activity in activities)
        {
            var outcomes = activity.CustomProperties[DetectionOutcomesProperty] switch
            {
                JsonArray array => array.Select(o => o is JsonValue v && v.TryGetValue<string>(out var s) ? s : null).OfType<string>().ToHashSet(StringComparer.Ordinal),
                JsonValue single when single.TryGetValue<string>(out var s) => new HashSet<string>(StringComparer.Ordinal) { s },
                _ => null,
            };
            if (outcomes is { Count: > 0 } && !string.IsNullOrEmpty(activity.Id))
                result[activity.Id] = outcomes;
        }

        return result;
    }
}
