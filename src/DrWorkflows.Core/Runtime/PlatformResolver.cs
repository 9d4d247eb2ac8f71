using System.Text.Json.Nodes;

namespace DrWorkflows.Core.Runtime;

/// <summary>
/// Names the platform a run acts on, from the run's inputs and the orchestrator's configuration. A definition with
/// <c>customProperties.oneRunPerPlatform</c> (every DR scenario) runs at most once per platform at a time: a start while
/// another run of it is running on the same platform is refused with that run named.
/// </summary>
public interface IPlatformResolver
{
    /// <summary>A readable name of the target, the same text every time for the same target (it is compared as text).</summary>
    string Resolve(IReadOnlyDictionary<string, JsonNode?> input);
}

/// <summary>Without an integration that knows the target (no Docker section): every run acts on the one platform of this orchestrator.</summary>
internal sealed class SinglePlatformResolver : IPlatformResolver
{
    public const string Name = "this orchestrator's platform";

    public string Resolve(IReadOnlyDictionary<string, JsonNode?> input) => Name;
}
