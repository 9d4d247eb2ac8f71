using DrWorkflows.Server.Studio;
using DrWorkflows.Testing;

namespace DrWorkflows.Server.Tests.Studio;

/// <summary>
/// The host pages' preload hints come from the boot configuration embedded in the bundle's <c>dotnet.js</c>: the
/// runtime's modules as modulepreload, its <c>.wasm</c> and ICU data as CORS fetches carrying the configuration's
/// integrity hash (else the runtime's own request would not reuse them); no hints without a boot configuration.
/// </summary>
public sealed class StudioBootResourcesTests : IDisposable
{
    private readonly TempDirectory bundle = new("studio-boot");

    public void Dispose() => bundle.Dispose();

    [Fact]
    public void Hints_name_the_runtime_files_with_their_integrity()
    {
        Directory.CreateDirectory(bundle.Combine("_framework"));
        File.WriteAllText(bundle.Combine("_framework", "dotnet.js"), """
            var a=1;ft.withConfig(/*json-start*/{
              "mainAssemblyName": "App",
              "resources": {
                "jsModuleNative": [ { "name": "dotnet.native.aaa.js" } ],
                "jsModuleRuntime": [ { "name": "dotnet.runtime.bbb.js" } ],
                "wasmNative": [ { "name": "dotnet.native.ccc.wasm", "hash": "sha256-W+/=", "cache": "force-cache" } ],
                "icu": [ { "virtualPath": "icudt.dat", "name": "icudt.ddd.dat", "hash": "sha256-I" },
                         { "virtualPath": "icudt_CJK.dat", "name": "icudt_CJK.eee.dat", "hash": "sha256-C" } ],
                "assembly": [ { "name": "App.fff.wasm", "hash": "sha256-A" } ]
              }
            }/*json-end*/);export{gt as default};
            """);

        var hints = StudioBootResources.PreloadHints(bundle.FullPath);

        Assert.Contains("<link rel=\"modulepreload\" href=\"_framework/dotnet.js\">", hints, StringComparison.Ordinal);
        Assert.Contains("<link rel=\"modulepreload\" href=\"_framework/dotnet.runtime.bbb.js\">", hints, StringComparison.Ordinal);
        Assert.Contains("<link rel=\"modulepreload\" href=\"_framework/dotnet.native.aaa.js\">", hints, StringComparison.Ordinal);
        Assert.Contains("<link rel=\"preload\" as=\"fetch\" crossorigin=\"anonymous\" href=\"_framework/dotnet.native.ccc.wasm\" integrity=\"sha256-W&#x2B;/=\">", hints, StringComparison.Ordinal);
        Assert.Contains("href=\"_framework/icudt.ddd.dat\" integrity=\"sha256-I\"", hints, StringComparison.Ordinal);
        Assert.DoesNotContain("icudt_CJK", hints, StringComparison.Ordinal);
        Assert.DoesNotContain("App.fff.wasm", hints, StringComparison.Ordinal);
    }

    [Fact]
    public void No_boot_configuration_means_no_hints()
    {
        Assert.Equal(string.Empty, StudioBootResources.PreloadHints(bundle.FullPath));
        Directory.CreateDirectory(bundle.Combine("_framework"));
        File.WriteAllText(bundle.Combine("_framework", "dotnet.js"), "// an older runtime: its boot configuration is in blazor.boot.json");
        Assert.Equal(string.Empty, StudioBootResources.PreloadHints(bundle.FullPath));
    }
}
