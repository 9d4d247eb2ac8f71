using System.Text.Json.Nodes;
using DrWorkflows.Core.Building;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Core.Hosting;

/// <summary>One definition that could not be loaded, and why.</summary>
public sealed record WorkflowLoadError(string Source, string? ActivityId, string Message);

/// <summary>
/// Loads the workflows that live as code: JSON files under the workflows folder and C# classes. Each becomes a
/// published, read-only definition (it changes only through a reviewed pull request); a changed file becomes a
/// new version. A broken file is reported with its path, activity id and problem, and never stops the server.
/// </summary>
public sealed partial class WorkflowLoader(
    WorkflowDefinitionService definitions,
    IOptions<WorkflowSourceOptions> options,
    ILogger<WorkflowLoader> logger)
{
    private static readonly string[] ServerFields = ["id", "version", "isLatest", "isPublished", "isReadonly", "createdAt", "links", "toolVersion", "isSystem", "gitCommit", "gitPullRequest", "$schema"];

    private readonly List<WorkflowLoadError> errors = [];

    /// <summary>Problems found by the last load.</summary>
    public IReadOnlyList<WorkflowLoadError> Errors => errors;

    public async Task<int> LoadAsync(CancellationToken cancellationToken)
    {
        errors.Clear();

        // Workflows used as activities must be known before the definitions that use them are read.
        await definitions.RegisterWorkflowActivitiesAsync(cancellationToken);
        var loaded = 0;
        // The commit each file came from, read once per load (a version records it when it is stored).
        var fileCommits = Directory.Exists(options.Value.Directory)
            ? await SourceCommits.OfFilesAsync(options.Value.Directory, [.. JsonFiles(options.Value.Directory).Select(f => f.Relative)], cancellationToken)
            : new Dictionary<string, string>();
        var pending = Discover(fileCommits).ToList();
        while (true)
        {
            var failed = new List<(Discovered Item, Exception Error)>();
            var loadedBefore = loaded;
            foreach (var item in pending)
            {
                try
                {
                    if (await LoadOneAsync(item, cancellationToken))
                        loaded++;
                }
                catch (WorkflowDefinitionException e)
                {
                    failed.Add((item, e));
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Whatever is wrong with one file must not keep the server (and the other workflows) from starting.
                    failed.Add((item, e));
                }
            }

            // A file may use a workflow activity defined in a file read after it: retry the failed ones while that helps.
            if (failed.Count > 0 && loaded > loadedBefore)
            {
                pending = [.. failed.Select(f => f.Item)];
                continue;
            }

            foreach (var ((source, _, _), e) in failed)
            {
                var message = e.Message.StartsWith(Describe(source), StringComparison.Ordinal) ? e.Message : $"{Describe(source)}: {e.Message}";
                errors.Add(new WorkflowLoadError(Describe(source), (e as WorkflowDefinitionException)?.ActivityId, message));
                Log.Broken(logger, message);
            }

            return loaded;
        }
    }

    /// <summary>Saves one definition as a new published version unless it is unchanged; true when it was saved.</summary>
    private async Task<bool> LoadOneAsync(Discovered item, CancellationToken cancellationToken)
    {
        var (source, build, commit) = item;
        var document = build();
        var current = await definitions.FindAsync(document.DefinitionId, VersionOptions.LatestVersion, cancellationToken);
        var published = current is { IsPublished: true } ? current : await definitions.FindAsync(document.DefinitionId, VersionOptions.PublishedVersion, cancellationToken);
        if (DefinitionOrigins.ParseGit(published?.Origin) is { } merged && source.StartsWith("file:", StringComparison.Ordinal))
        {
            // Published from a reviewed merge (GitOps): the deployed copy of the file does not replace it; drift shows a difference.
            var mergedFrom = merged.Describe();
            Log.MergedKept(logger, document.DefinitionId, mergedFrom, source);
            return false;
        }

        if (current is not null && current.Origin != source && !current.IsReadonly)
        {
            throw new WorkflowDefinitionException($"definition id '{document.DefinitionId}' is already used by a definition edited in the Studio; give the file another definitionId.");
        }

        if (current is not null && current.IsPublished && SameContent(current.Json, document))
            return false;
        await definitions.SaveAsync(document, publish: true, source, isReadonly: true, cancellationToken, sourceCommit: commit());
        Log.Loaded(logger, document.DefinitionId, source);
        return true;
    }

    /// <summary>A definition found in code or in a file: its origin, how to read it, and the commit it came from.</summary>
    private sealed record Discovered(string Source, Func<WorkflowDefinitionDocument> Build, Func<string> Commit);

    private static IEnumerable<(string File, string Relative)> JsonFiles(string directory) =>
        Directory.EnumerateFiles(directory, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(file => (File: file, Relative: Path.GetRelativePath(directory, file).Replace('\\', '/')))
            .Where(f => !SourceCommits.IsStamp(f.Relative)); // the publish's stamp of the commit, not a workflow

    private IEnumerable<Discovered> Discover(IReadOnlyDictionary<string, string> fileCommits)
    {
        var settings = options.Value;
        foreach (var assembly in settings.CodeAssemblies)
        {
            foreach (var type in assembly.GetTypes().Where(t => t is { IsAbstract: false, IsClass: true } && typeof(ICodeWorkflow).IsAssignableFrom(t)))
            {
                yield return new Discovered($"code:{type.FullName}", () =>
                {
                    var workflow = (ICodeWorkflow)Activator.CreateInstance(type)!;
                    var builder = new WorkflowBuilder(workflow.DefinitionId, workflow.Name);
                    workflow.Build(builder);
                    return builder.Build(definitions.Registry);
                }, () => SourceCommits.OfAssembly(assembly));
            }
        }

        if (!Directory.Exists(settings.Directory))
            yield break;
        foreach (var (file, relative) in JsonFiles(settings.Directory))
        {
            yield return new Discovered($"file:workflows/{relative}", () =>
            {
                var document = WorkflowDefinitionDocument.Parse(File.ReadAllText(file), $"workflows/{relative}");
                if (string.IsNullOrWhiteSpace(document.DefinitionId))
                    throw new WorkflowDefinitionException($"workflows/{relative}: 'definitionId' is missing.") { FilePath = relative };
                return document;
            }, () => fileCommits.GetValueOrDefault(relative) ?? $"{SourceCommits.NotInGit}: workflows/{relative} appeared after the commits were read");
        }
    }

    private static string Describe(string source) => source.StartsWith("file:", StringComparison.Ordinal) ? source[5..] : source;

    /// <summary>
    /// Whether a stored version holds the same definition as a document (a file): equal after normalizing, leaving
    /// out the fields the server manages (<see cref="Strip"/>). The designer's layout counts.
    /// </summary>
    public static bool SameContent(string storedJson, WorkflowDefinitionDocument candidate)
    {
        var stored = Strip(JsonNode.Parse(storedJson)!.AsObject());
        var incoming = Strip((JsonObject)candidate.Clone().Normalize().Json.DeepClone());
        return JsonNode.DeepEquals(stored, incoming);
    }

    /// <summary>Removes the fields the server manages (version id and number, flags, dates, links) from a definition's JSON.</summary>
    public static JsonObject Strip(JsonObject json)
    {
        foreach (var field in ServerFields)
            json.Remove(field);
        return json;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 120, Level = LogLevel.Information, Message = "Loaded workflow {DefinitionId} from {Source}")]
        public static partial void Loaded(ILogger logger, string definitionId, string source);

        [LoggerMessage(EventId = 122, Level = LogLevel.Information, Message = "Workflow {DefinitionId} runs the version published from {Commit}; the deployed {Source} is not loaded over it")]
        public static partial void MergedKept(ILogger logger, string definitionId, string commit, string source);

        [LoggerMessage(EventId = 121, Level = LogLevel.Error, Message = "Workflow not loaded: {Message}")]
        public static partial void Broken(ILogger logger, string message);
    }
}
