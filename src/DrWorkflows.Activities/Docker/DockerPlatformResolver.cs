using System.Text.Json.Nodes;
using DrWorkflows.Core.Runtime;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Docker;

/// <summary>
/// The platform of a run is the target its Docker and Compose steps act on: the engine (<c>Docker:Endpoint</c>) and the
/// Compose project (the run's <c>ComposeProject</c> input, else <c>Docker:ComposeProject</c>), e.g.
/// <c>Docker unix:///var/run/docker.sock, Compose project shop</c>. Without a project it is the whole engine. Two runs
/// whose steps would act on the same containers get the same name, so only one of a DR scenario runs there at a time.
/// </summary>
internal sealed class DockerPlatformResolver(IOptions<DockerOptions> options) : IPlatformResolver
{
    /// <summary>The workflow input that names another Compose project than the configured one.</summary>
    public const string ProjectInput = "ComposeProject";

    public string Resolve(IReadOnlyDictionary<string, JsonNode?> input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var settings = options.Value;
        var endpoint = settings.Endpoint.Trim().TrimEnd('/');
        var project = input.GetValueOrDefault(ProjectInput) is JsonValue value && value.TryGetValue<string>(out var given) && !string.IsNullOrWhiteSpace(given)
            ? given
            : settings.ComposeProject;
        return string.IsNullOrWhiteSpace(project)
            ? $"Docker {endpoint}"
            : $"Docker {endpoint}, Compose project {project.Trim().ToLowerInvariant()}";
    }
}
