using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;

namespace DrWorkflows.Core.Execution;

/// <summary>What a composite activity learns when one of its children ends.</summary>
public sealed record ChildCompletion(Activity Activity, string ExecutionId, IReadOnlyList<string> Outcomes, JsonNode? Tag);

/// <summary>What a blocking activity receives when its bookmark is resumed.</summary>
public sealed record BookmarkResumption(Bookmark Bookmark, JsonNode? Payload, string? ResumedBy);
