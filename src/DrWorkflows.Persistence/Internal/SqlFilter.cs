using System.Text;
using DrWorkflows.Core.Persistence;

namespace DrWorkflows.Persistence.Internal;

/// <summary>Collects parameters for one dynamic statement; each dialect renders placeholders its own way.</summary>
internal abstract class SqlParameters
{
    /// <summary>Adds a value and returns its placeholder.</summary>
    public abstract string Add(object? value);

    /// <summary>A condition: <paramref name="column"/> is one of <paramref name="items"/> (never empty).</summary>
    public abstract string In(string column, IReadOnlyCollection<string> items);

    /// <summary>A condition: <paramref name="column"/> contains <paramref name="term"/>, ignoring case (ordinal).</summary>
    public abstract string ContainsIgnoreCase(string column, string term);
}

/// <summary>WHERE clauses shared by the SQL stores, mirroring the in-memory store's filters.</summary>
internal static class SqlFilter
{
    /// <summary>A WHERE clause (with leading space) or an empty string; null when the query can match nothing.</summary>
    public static string? Definitions(DefinitionQuery query, SqlParameters p)
    {
        var where = new List<string>();
        var versions = Versions(query.Versions, p);
        if (versions is not null)
            where.Add(versions);
        if (query.DefinitionIds is { } ids)
        {
            if (ids.Count == 0)
                return null;
            where.Add(p.In("definition_id", ids));
        }

        if (query.UsableAsActivity is { } usable)
            where.Add($"usable_as_activity = {p.Add(usable)}");
        if (!string.IsNullOrEmpty(query.SearchTerm))
            where.Add($"({p.ContainsIgnoreCase("name", query.SearchTerm)} OR {p.ContainsIgnoreCase("definition_id", query.SearchTerm)})");
        return Render(where);
    }

    /// <summary>A WHERE clause (with leading space) for the throwaway-resource ledger, or an empty string.</summary>
    public static string Throwaways(ThrowawayQuery query, SqlParameters p)
    {
        var where = new List<string>();
        if (query.InstanceId is { } instance)
            where.Add("instance_id = " + p.Add(instance));
        if (query.State is { } state)
            where.Add("state = " + p.Add(state.ToString()));
        if (query.Journaled is { } journaled)
            where.Add("journaled = " + p.Add(journaled));
        return Render(where);
    }

    /// <summary>The condition for Elsa's version options, or null for "all versions".</summary>
    public static string? Versions(VersionOptions v, SqlParameters p)
    {
        if (v.AllVersions)
            return null;
        if (v.Version is { } n)
            return $"version = {p.Add(n)}";
        if (v.LatestOrPublished)
            return "(is_latest OR is_published)";
        return (v.Latest, v.Published) switch
        {
            (true, true) => "(is_latest AND is_published)",
            (true, false) => "is_latest",
            (false, true) => "is_published",
            _ => null,
        };
    }

    public static string? Instances(InstanceQuery query, SqlParameters p)
    {
        var where = new List<string>();
        if (query.DefinitionId is not null)
            where.Add($"definition_id = {p.Add(query.DefinitionId)}");
        if (query.DefinitionIds is { } ids)
        {
            if (ids.Count == 0)
                return null;
            where.Add(p.In("definition_id", ids));
        }

        if (query.CorrelationId is not null)
            where.Add($"correlation_id = {p.Add(query.CorrelationId)}");
        if (query.Status is { } status)
            where.Add($"status = {p.Add(status.ToString())}");
        if (query.SubStatuses is { } subStatuses)
        {
            if (subStatuses.Count == 0)
                return null;
            where.Add(p.In("sub_status", [.. subStatuses.Select(s => s.ToString()).Distinct()]));
        }

        if (query.ParentInstanceId is not null)
            where.Add($"parent_instance_id = {p.Add(query.ParentInstanceId)}");
        if (query.HasParent is { } hasParent)
            where.Add(hasParent ? "parent_instance_id IS NOT NULL" : "parent_instance_id IS NULL");
        if (query.Platform is not null)
            where.Add($"platform = {p.Add(query.Platform)}");
        if (query.HasIncidents is { } hasIncidents)
            where.Add(hasIncidents ? "incident_count > 0" : "incident_count = 0");
        if (!string.IsNullOrEmpty(query.SearchTerm))
        {
            where.Add($"({p.ContainsIgnoreCase("id", query.SearchTerm)} OR {p.ContainsIgnoreCase("name", query.SearchTerm)} OR {p.ContainsIgnoreCase("correlation_id", query.SearchTerm)})");
        }

        return Render(where);
    }

    public static string Bookmarks(BookmarkQuery query, SqlParameters p)
    {
        var where = new List<string>();
        if (query.Name is not null)
            where.Add($"name = {p.Add(query.Name)}");
        if (query.Key is not null)
            where.Add($"key = {p.Add(query.Key)}");
        if (query.InstanceId is not null)
            where.Add($"instance_id = {p.Add(query.InstanceId)}");
        if (query.BookmarkId is not null)
            where.Add($"id = {p.Add(query.BookmarkId)}");
        return Render(where);
    }

    private static string Render(List<string> where)
    {
        if (where.Count == 0)
            return string.Empty;
        var sb = new StringBuilder(" WHERE ");
        sb.AppendJoin(" AND ", where);
        return sb.ToString();
    }
}
