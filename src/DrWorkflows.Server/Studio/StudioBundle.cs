namespace DrWorkflows.Server.Studio;

/// <summary>
/// Where the prebuilt Elsa Studio (npm <c>@elsa-workflows/elsa-studio-wasm</c>) is installed: <c>DRW_STUDIO_DIR</c>
/// (or <c>DrWorkflows:Studio:BundleDirectory</c>) when set, else <c>studio/node_modules/@elsa-workflows/elsa-studio-wasm</c>
/// under the server's content root, where <c>src/DrWorkflows.Server/studio/install.sh</c> puts it. The server runs
/// without it; <c>/studio</c> then says how to install it.
/// </summary>
public sealed class StudioBundle
{
    /// <summary>The npm package and version the pages are written for (package.json pins the same).</summary>
    public const string PackageName = "@elsa-workflows/elsa-studio-wasm";

    public const string PackageVersion = "3.8.2";

    /// <summary>Relative to the server project: the script that installs the bundle.</summary>
    public const string InstallScript = "src/DrWorkflows.Server/studio/install.sh";

    private StudioBundle(string? directory, string searched)
    {
        Directory = directory;
        Searched = searched;
    }

    /// <summary>The bundle's root (holding <c>_framework</c> and <c>_content</c>), or null when it is not installed.</summary>
    public string? Directory { get; }

    /// <summary>Where the server looked, for the "not installed" message.</summary>
    public string Searched { get; }

    public bool IsInstalled => Directory is not null;

    public static StudioBundle Locate(IConfiguration configuration, string contentRoot)
    {
        var configured = configuration["DRW_STUDIO_DIR"] is { Length: > 0 } env ? env : configuration["DrWorkflows:Studio:BundleDirectory"];
        var candidate = Path.GetFullPath(configured is { Length: > 0 }
            ? configured
            : Path.Combine(contentRoot, "studio", "node_modules", "@elsa-workflows", "elsa-studio-wasm"));
        return File.Exists(Path.Combine(candidate, "_framework", "blazor.webassembly.js"))
            ? new StudioBundle(candidate, candidate)
            : new StudioBundle(null, candidate);
    }
}
