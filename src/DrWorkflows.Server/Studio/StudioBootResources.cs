using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace DrWorkflows.Server.Studio;

/// <summary>
/// The WebAssembly runtime's boot resources, read from the boot configuration that .NET 10 embeds in the bundle's
/// <c>_framework/dotnet.js</c> (between <c>/*json-start*/</c> and <c>/*json-end*/</c>), written as preload hints for the
/// host pages: without them the browser asks for <c>dotnet.js</c> only once every other script of the page has run,
/// and for the runtime's modules, its <c>.wasm</c>, ICU data and assemblies only once <c>dotnet.js</c> has run.
/// With them the fetches start while the page's scripts are still parsed. Only the runtime itself is hinted: hints for
/// its 125 assemblies too held the page's own scripts back (DOMContentLoaded 1.7 s later on a first load, measured with
/// tests/bench/studio-profile.sh; docs/benchmarks.md). Each hint matches the request the runtime
/// makes later, or the browser fetches twice: modules as <c>modulepreload</c>; the rest as <c>fetch</c>, CORS
/// anonymous, with the boot configuration's <c>integrity</c> hash (the runtime checks it, and a preload is reused
/// only for a request with the same integrity).
/// </summary>
public static class StudioBootResources
{
    private const string Start = "/*json-start*/";
    private const string End = "/*json-end*/";

    /// <summary>The hints' HTML, one <c>&lt;link&gt;</c> a line; empty when the bundle has no readable boot configuration.</summary>
    public static string PreloadHints(string bundleDirectory)
    {
        var dotnet = Path.Combine(bundleDirectory, "_framework", "dotnet.js");
        if (!File.Exists(dotnet))
            return string.Empty;
        var text = File.ReadAllText(dotnet);
        var start = text.IndexOf(Start, StringComparison.Ordinal);
        var end = text.IndexOf(End, StringComparison.Ordinal);
        if (start < 0 || end < start)
            return string.Empty;
        using var config = JsonDocument.Parse(text.AsMemory(start + Start.Length, end - start - Start.Length));
        if (!config.RootElement.TryGetProperty("resources", out var resources))
            return string.Empty;

        var html = new StringBuilder();
        var encoder = HtmlEncoder.Default;
        html.Append("<link rel=\"modulepreload\" href=\"_framework/dotnet.js\">\n");
        foreach (var group in (string[])["jsModuleRuntime", "jsModuleNative"])
        {
            foreach (var (name, _) in Entries(resources, group))
                html.Append("<link rel=\"modulepreload\" href=\"_framework/").Append(encoder.Encode(name)).Append("\">\n");
        }

        // The culture data the runtime picks for globalizationMode "all" is the one file named icudt.dat.
        foreach (var group in (string[])["wasmNative", "icu"])
        {
            foreach (var (name, hash) in Entries(resources, group))
            {
                if (hash is null || (group == "icu" && !name.StartsWith("icudt.", StringComparison.Ordinal)))
                    continue;
                html.Append("<link rel=\"preload\" as=\"fetch\" crossorigin=\"anonymous\" href=\"_framework/").Append(encoder.Encode(name))
                    .Append("\" integrity=\"").Append(encoder.Encode(hash)).Append("\">\n");
            }
        }

        return html.ToString();
    }

    private static IEnumerable<(string Name, string? Hash)> Entries(JsonElement resources, string group)
    {
        if (!resources.TryGetProperty(group, out var entries) || entries.ValueKind != JsonValueKind.Array)
            yield break;
        foreach (var entry in entries.EnumerateArray())
        {
            if (entry.TryGetProperty("name", out var name) && name.GetString() is { Length: > 0 } value)
                yield return (value, entry.TryGetProperty("hash", out var hash) ? hash.GetString() : null);
        }
    }
}
