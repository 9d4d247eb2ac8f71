using System.Security.Claims;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Expressions;

namespace DrWorkflows.Server.Security;

/// <summary>
/// C# (<c>CSharp</c> expressions, <c>Elsa.RunCSharp</c>) is full-trust code: it runs inside the orchestrator with its
/// Docker socket, its secrets and its network. Saving or publishing a definition that contains it therefore needs a key
/// that carries the <c>designer</c> role itself (Elsa's own gate is a dedicated permission, <c>exec:csharp-expressions</c>);
/// <c>admin</c> alone, the bootstrap and automation key, is not enough. Files under <c>workflows/</c> and GitOps merges
/// are not checked here: they came through a reviewed pull request.
/// </summary>
public static class CSharpAuthoring
{
    public static bool MayAuthor(ClaimsPrincipal user) => user.IsInRole(Roles.Designer);

    /// <summary>Null when the key may save <paramref name="definition"/>; otherwise a 403 naming the activity and the rule.</summary>
    public static IResult? Refuse(ClaimsPrincipal user, JsonNode? definition)
    {
        if (MayAuthor(user) || CSharpHandler.FindUses(definition?["root"]) is not [var use, ..])
            return null;
        var what = use.IsExpression ? $"a C# expression (in '{use.Where}')" : "Elsa.RunCSharp";
        var detail = $"Activity '{use.ActivityId}' uses {what}. C# runs as full-trust code inside the orchestrator, so only keys with the designer role may save or publish a workflow that contains it, and this key does not have that role. Use a key with the designer role, or commit the workflow under workflows/ through a reviewed pull request (docs/elsa-compatibility.md, C#).";
        return Results.Json(new { status = 403, title = "Forbidden", detail, errors = new { generalErrors = new[] { detail } } }, statusCode: 403, contentType: "application/problem+json");
    }
}
