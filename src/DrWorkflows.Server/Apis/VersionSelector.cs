using DrWorkflows.Core.Persistence;

namespace DrWorkflows.Server.Apis;

/// <summary>
/// Elsa's <c>versionOptions</c> as the Studio sends them: <c>Latest</c>, <c>Published</c>,
/// <c>LatestOrPublished</c>, <c>LatestAndPublished</c>, <c>Draft</c>, <c>AllVersions</c> (or <c>All</c>), or a
/// version number. Empty means "not given".
/// </summary>
public readonly record struct VersionSelector(string Kind, int? Number = null)
{
    public static VersionSelector Latest { get; } = new("Latest");

    public static VersionSelector Published { get; } = new("Published");

    public static VersionSelector All { get; } = new("AllVersions");

    public static VersionSelector Parse(string? text, VersionSelector fallback)
    {
        if (string.IsNullOrWhiteSpace(text))
            return fallback;
        var value = text.Trim();
        foreach (var kind in (string[])["Latest", "Published", "LatestOrPublished", "LatestAndPublished", "Draft", "AllVersions"])
        {
            if (string.Equals(value, kind, StringComparison.OrdinalIgnoreCase))
                return new VersionSelector(kind);
        }

        if (string.Equals(value, "All", StringComparison.OrdinalIgnoreCase))
            return All;
        if (int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) && number > 0)
            return new VersionSelector("Specific", number);
        throw new FormatException($"versionOptions '{text}' is not one of Latest, Published, LatestOrPublished, LatestAndPublished, Draft, AllVersions or a version number.");
    }

    public bool Matches(StoredWorkflowDefinition d) => Kind switch
    {
        "Latest" => d.IsLatest,
        "Published" => d.IsPublished,
        "LatestOrPublished" or "LatestAndPublished" => d.IsLatest || d.IsPublished,
        "Draft" => d.IsLatest && !d.IsPublished,
        "Specific" => d.Version == Number,
        _ => true,
    };

    /// <summary>The one version a single lookup returns: the newest that matches.</summary>
    public StoredWorkflowDefinition? Pick(IEnumerable<StoredWorkflowDefinition> versions)
    {
        var selector = this;
        return versions.Where(selector.Matches).OrderByDescending(v => v.Version).FirstOrDefault();
    }

    /// <summary>The runtime's equivalent, for starting runs.</summary>
    public VersionOptions ToRuntime() => Kind switch
    {
        "Published" => VersionOptions.PublishedVersion,
        "LatestOrPublished" or "LatestAndPublished" => VersionOptions.LatestOrPublishedVersion,
        "Specific" => VersionOptions.SpecificVersion(Number!.Value),
        _ => VersionOptions.LatestVersion,
    };
}
