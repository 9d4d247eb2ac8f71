namespace DrWorkflows.Core.Hosting;

/// <summary>Where workflows-as-code come from (section <c>DrWorkflows:Workflows</c>).</summary>
public sealed class WorkflowSourceOptions
{
    /// <summary>Folder of <c>*.json</c> definitions, searched recursively. Default: <c>workflows</c> next to the server.</summary>
    public string Directory { get; set; } = Path.Combine(AppContext.BaseDirectory, "workflows");

    /// <summary>Assemblies scanned for <see cref="Building.ICodeWorkflow"/> classes.</summary>
    public IList<System.Reflection.Assembly> CodeAssemblies { get; } = [];
}
