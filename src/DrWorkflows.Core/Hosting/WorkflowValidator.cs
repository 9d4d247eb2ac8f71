using System.Reflection;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Core.Hosting;

/// <summary>A workflow file to check: the path shown to the user and its text.</summary>
public sealed record WorkflowFile(string Path, string Text);

/// <summary>What <see cref="WorkflowValidator"/> found: the problems, and each file that parsed by its path.</summary>
public sealed record WorkflowValidation(IReadOnlyList<WorkflowProblem> Problems, IReadOnlyDictionary<string, WorkflowDefinitionDocument> Documents);

/// <summary>
/// Checks workflow files offline exactly as the server loads them: the files go through the server's own
/// <see cref="WorkflowLoader"/> (with the C# workflows next to them, as at start) into a throwaway in-memory store,
/// then through <see cref="WorkflowRules"/>, the definition-id uniqueness check and the round trip (what the server
/// would serve back is what was committed). Nothing is written anywhere but a temp folder that is deleted.
/// </summary>
public sealed class WorkflowValidator(ActivityRegistry registry, IReadOnlyList<Assembly> codeAssemblies, TimeProvider clock)
{
    public async Task<WorkflowValidation> ValidateAsync(IReadOnlyList<WorkflowFile> files, CancellationToken cancellationToken)
    {
        var problems = new List<WorkflowProblem>();
        var documents = new Dictionary<string, WorkflowDefinitionDocument>(StringComparer.Ordinal);
        var folder = Directory.CreateTempSubdirectory("drw-validate-");
        try
        {
            // The loader reads a folder; each file gets a neutral name there, mapped back to the user's path.
            var byLoaderName = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var index = 0; index < files.Count; index++)
            {
                var name = $"file{index:D4}.json";
                byLoaderName[$"workflows/{name}"] = files[index].Path;
                await File.WriteAllTextAsync(Path.Combine(folder.FullName, name), files[index].Text, cancellationToken);
            }

            var store = new InMemoryStore();
            var definitions = new WorkflowDefinitionService(store, registry, clock);
            var sources = new WorkflowSourceOptions { Directory = folder.FullName };
            foreach (var assembly in codeAssemblies)
                sources.CodeAssemblies.Add(assembly);
            var loader = new WorkflowLoader(definitions, Options.Create(sources), NullLogger<WorkflowLoader>.Instance);
            await loader.LoadAsync(cancellationToken);
            foreach (var error in loader.Errors)
            {
                var path = byLoaderName.GetValueOrDefault(error.Source, error.Source);
                var message = error.Message.StartsWith(error.Source, StringComparison.Ordinal) ? error.Message[error.Source.Length..].TrimStart(':', ' ') : error.Message;
                problems.Add(new WorkflowProblem(path, error.ActivityId, message, FixFor(message)));
            }

            // A file with the id of a C# workflow would silently become a new version of it: refuse that here.
            var owners = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var type in codeAssemblies.SelectMany(a => a.GetTypes()).Where(t => t is { IsAbstract: false, IsClass: true } && typeof(Building.ICodeWorkflow).IsAssignableFrom(t)))
                owners[((Building.ICodeWorkflow)Activator.CreateInstance(type)!).DefinitionId] = $"the C# workflow {type.FullName}";

            foreach (var file in files)
            {
                WorkflowDefinitionDocument document;
                try
                {
                    document = WorkflowDefinitionDocument.Parse(file.Text, file.Path);
                }
                catch (WorkflowDefinitionException)
                {
                    continue; // the loader reported it
                }

                documents[file.Path] = document;
                // The loader already named an activity it refused; the rules add only what it did not say.
                problems.AddRange(WorkflowRules.Check(registry, document, file.Path)
                    .Where(p => !problems.Any(known => known.File == p.File && known.ActivityId is not null && known.ActivityId == p.ActivityId)));
                if (string.IsNullOrWhiteSpace(document.DefinitionId))
                    continue;
                if (owners.TryGetValue(document.DefinitionId, out var owner))
                {
                    problems.Add(new WorkflowProblem(file.Path, null, $"definition id '{document.DefinitionId}' is also used by {owner}.", "give one of them another definitionId; each workflow needs its own."));
                    continue;
                }

                owners[document.DefinitionId] = file.Path;
                await CheckRoundTripAsync(store, document, file, problems, cancellationToken);
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }

        return new WorkflowValidation([.. problems.OrderBy(p => p.File, StringComparer.Ordinal)], documents);
    }

    /// <summary>What the server would serve back for the file (without its own fields) must be the file.</summary>
    private static async Task CheckRoundTripAsync(InMemoryStore store, WorkflowDefinitionDocument document, WorkflowFile file, List<WorkflowProblem> problems, CancellationToken cancellationToken)
    {
        var stored = await store.FindAsync(document.DefinitionId, VersionOptions.PublishedVersion, cancellationToken);
        if (stored is null)
            return; // not loaded: the loader said why
        if (!WorkflowLoader.SameContent(stored.Json, WorkflowDefinitionDocument.Parse(file.Text)))
            problems.Add(new WorkflowProblem(file.Path, null, "the file does not round-trip: what the server would serve back differs from it.", "export the definition again from the Studio (Export) and commit that file."));
    }

    private static string FixFor(string message) => message switch
    {
        _ when message.Contains("not valid JSON", StringComparison.Ordinal) => "correct the JSON at that line, or export the definition again from the Studio.",
        _ when message.Contains("definitionId' is missing", StringComparison.Ordinal) => "add \"definitionId\": a stable id of lower-case words with dashes.",
        _ when message.Contains("has unknown type", StringComparison.Ordinal) => "use a type listed in docs/activities/ (check the spelling and the namespace; the message names the closest known types).",
        _ when message.Contains("does not compile", StringComparison.Ordinal) => "correct the C# at that line and column (docs/elsa-compatibility.md, C#).",
        _ when message.Contains("expression", StringComparison.OrdinalIgnoreCase) => "use a Literal, Object, Variable or JavaScript expression (docs/elsa-compatibility.md).",
        _ when message.Contains("share the node id", StringComparison.Ordinal) => "give each activity its own id.",
        _ => "change the file as the message says; the server refuses it as written.",
    };
}
