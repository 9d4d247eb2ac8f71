using System.Text.Json.Nodes;
using DrWorkflows.Core.Persistence;

namespace DrWorkflows.Server.Apis;

/// <summary>
/// How stored definitions look in Elsa's API: the stored JSON with <c>links</c> (the Studio edits a definition
/// only when it has a <c>publish</c> link), summaries for lists, and the reason a definition is read-only.
/// </summary>
public static class DefinitionViews
{
    /// <summary>Server fields of a definition that an export leaves out (an import gets new ones).</summary>
    private static readonly string[] ServerFields = ["links", "isLatest", "isPublished", "isReadonly", "isSystem", "gitCommit", "gitPullRequest"];

    /// <summary>The full definition (Elsa's <c>WorkflowDefinition</c>) as the Studio loads it.</summary>
    public static JsonObject Model(StoredWorkflowDefinition definition)
    {
        var json = JsonNode.Parse(definition.Json)!.AsObject();
        json["isLatest"] = definition.IsLatest;
        json["isPublished"] = definition.IsPublished;
        json["isReadonly"] = definition.IsReadonly;
        json["isSystem"] = false;
        json["materializerName"] = "Json";
        json["providerName"] = definition.Origin;
        AddGitSource(json, definition);
        if (json["toolVersion"] is null)
            json["toolVersion"] = "3.8.0";
        if (ReadOnlyReason(definition) is { } reason)
        {
            // Shown in the Studio's Information/Properties panels: why nothing can be edited, and where to change it.
            json["description"] = Prefixed(reason, definition.Description);
            var custom = json["customProperties"] as JsonObject ?? [];
            custom["drwReadOnlyReason"] = reason;
            json["customProperties"] = custom;
        }

        json["links"] = Links(definition);
        return json;
    }

    /// <summary>
    /// Elsa's <c>WorkflowDefinitionSummary</c> (list rows). The description of a draft in a pull request starts
    /// "Awaiting review: #n", and that of a version published from the repository names its file, commit and pull
    /// request (only here: the full model goes back to the server on every Studio save, and a note must not become
    /// part of the definition).
    /// </summary>
    public static JsonObject Summary(StoredWorkflowDefinition definition) => AddGitSource(new()
    {
        ["id"] = definition.Id,
        ["definitionId"] = definition.DefinitionId,
        ["name"] = definition.Name,
        ["description"] = ReadOnlyReason(definition) is { } reason
            ? Prefixed(reason, definition.Description)
            : AwaitingReview(definition) is { } review ? Prefixed(ReviewNote(review), definition.Description)
            : Core.Runtime.DefinitionOrigins.ParseGit(definition.Origin) is { } git ? Prefixed($"From {git.Describe()}.", definition.Description)
            : definition.Description,
        ["version"] = definition.Version,
        ["toolVersion"] = "3.8.0",
        ["isLatest"] = definition.IsLatest,
        ["isPublished"] = definition.IsPublished,
        ["isReadonly"] = definition.IsReadonly,
        ["isSystem"] = false,
        ["providerName"] = definition.Origin,
        ["materializerName"] = "Json",
        ["isMaterializerAvailable"] = true,
        ["createdAt"] = definition.CreatedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        ["links"] = Links(definition),
    }, definition);

    /// <summary>
    /// For a version published from the workflows repository: <c>gitCommit</c> (the merge commit's SHA) and
    /// <c>gitPullRequest</c> (the pull request's number, when one brought it).
    /// </summary>
    private static JsonObject AddGitSource(JsonObject json, StoredWorkflowDefinition definition)
    {
        if (Core.Runtime.DefinitionOrigins.ParseGit(definition.Origin) is { } git)
        {
            json["gitCommit"] = git.Commit;
            json["gitPullRequest"] = git.PullRequest;
        }

        return json;
    }

    /// <summary>The definition as a file (export): the stored model without server-only fields.</summary>
    public static JsonObject Export(StoredWorkflowDefinition definition)
    {
        var json = JsonNode.Parse(definition.Json)!.AsObject();
        foreach (var field in ServerFields)
            json.Remove(field);
        return json;
    }

    /// <summary>The export file: the committed format of <c>workflows/</c> (<see cref="GitOps.PullRequestOpener.CommittedFormat"/>), so an export is the file to commit.</summary>
    public static string ExportText(StoredWorkflowDefinition definition) =>
        GitOps.PullRequestOpener.CommittedFormat(new Core.Model.WorkflowDefinitionDocument(Export(definition)));

    /// <summary>The pull request a GitOps publish put this draft in (null when none, or once it is published).</summary>
    public static (int Number, string Url)? AwaitingReview(StoredWorkflowDefinition definition) =>
        definition.IsPublished ? null : Core.Runtime.DefinitionOrigins.ParseReview(definition.Origin);

    /// <summary>What the Studio's definition list shows for a draft in a pull request.</summary>
    private static string ReviewNote((int Number, string Url) review) =>
        $"Awaiting review: #{review.Number.ToString(System.Globalization.CultureInfo.InvariantCulture)} ({review.Url}). Not runnable until the pull request is merged.";

    private static string Prefixed(string note, string? description) =>
        string.IsNullOrWhiteSpace(description) ? note : $"{note} {description}";

    /// <summary>Why the Studio cannot change a definition (null when it can).</summary>
    public static string? ReadOnlyReason(StoredWorkflowDefinition definition) => !definition.IsReadonly ? null : definition.Origin switch
    {
        var o when o.StartsWith("file:", StringComparison.Ordinal) => $"Read-only: defined in the file {o[5..]}. Change it there, through a reviewed pull request.",
        var o when o.StartsWith("code:", StringComparison.Ordinal) => $"Read-only: defined in the C# class {o[5..]}. Change it there, through a reviewed pull request.",
        var o => $"Read-only: defined by {o}.",
    };

    /// <summary>
    /// Elsa's links. Editable definitions get <c>publish</c> (without it the Studio opens them read-only);
    /// read-only ones (files, C#) get only <c>self</c> and <c>export</c>.
    /// </summary>
    public static JsonArray Links(StoredWorkflowDefinition definition)
    {
        var id = Uri.EscapeDataString(definition.DefinitionId);
        var links = new JsonArray
        {
            Link($"/workflow-definitions/by-id/{Uri.EscapeDataString(definition.Id)}", "self", "GET"),
            Link($"/workflow-definitions/{id}/export", "export", "GET"),
        };
        if (definition.IsReadonly)
            return links;
        links.Add(Link($"/workflow-definitions/{id}/publish", "publish", "POST"));
        links.Add(Link($"/workflow-definitions/{id}/retract", "retract", "POST"));
        links.Add(Link($"/workflow-definitions/{id}", "delete", "DELETE"));
        links.Add(Link($"/workflow-definitions/{id}/execute", "execute", "POST"));
        links.Add(Link("/workflow-definitions/import", "import", "POST"));
        return links;
    }

    public static JsonObject Link(string href, string rel, string method) => new() { ["href"] = href, ["rel"] = rel, ["method"] = method };
}
