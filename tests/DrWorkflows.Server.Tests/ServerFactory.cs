using System.Net.Http.Headers;
using DrWorkflows.Server.Security;
using DrWorkflows.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Server.Tests;

/// <summary>
/// The real server (Program) over a temp data directory (SQLite), with an admin key, a viewer key and a
/// designer key, a workflows folder, and optionally the Studio bundle; in memory (TestServer) or on a real
/// Kestrel port for browser tests.
/// </summary>
public sealed class ServerFactory : WebApplicationFactory<Program>
{
    public const string AdminKey = "test-admin-key";
    public const string ViewerKey = "test-viewer-key";
    public const string DesignerKey = "test-designer-key";

    private readonly TempDirectory data = new("server-data");
    private readonly TempDirectory workflows = new("server-workflows");
    private readonly string? studioDirectory;
    private readonly int? kestrelPort;
    private readonly IReadOnlyDictionary<string, string> settings;
    private readonly Action<IServiceCollection>? services;

    /// <param name="studioDirectory">Bundle directory (DRW_STUDIO_DIR); null: an empty directory (not installed).</param>
    /// <param name="kestrelPort">Listen on 127.0.0.1 at this port with Kestrel instead of the in-memory server.</param>
    /// <param name="workflowFiles">Files to place in the workflows folder before start (name, JSON).</param>
    /// <param name="settings">Further configuration (key, value), e.g. <c>Alertmanager:Routes:0:AlertName</c>.</param>
    /// <param name="services">Replaces services after the server's own registrations (test doubles).</param>
    public ServerFactory(string? studioDirectory = null, int? kestrelPort = null, IReadOnlyDictionary<string, string>? workflowFiles = null, IReadOnlyDictionary<string, string>? settings = null, Action<IServiceCollection>? services = null)
    {
        this.services = services;
        this.studioDirectory = studioDirectory;
        this.kestrelPort = kestrelPort;
        this.settings = settings ?? new Dictionary<string, string>();
        foreach (var (name, json) in workflowFiles ?? new Dictionary<string, string>())
            File.WriteAllText(workflows.Combine(name), json);
        if (kestrelPort is { } port)
        {
            UseKestrel(port);
            StartServer();
        }
    }

    public string DataDirectory => data.FullPath;

    /// <summary>The server's log lines (Warning and above unless settings lower the level).</summary>
    public CapturingLoggerProvider Logs { get; } = new();

    public Uri BaseAddress => kestrelPort is { } port ? new Uri($"http://127.0.0.1:{port}") : ClientOptions.BaseAddress;

    /// <summary>A client sending <c>Authorization: ApiKey key</c> (none when null).</summary>
    public HttpClient Client(string? key = AdminKey)
    {
        var client = kestrelPort is null ? CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false }) : new HttpClient { BaseAddress = BaseAddress };
        if (key is not null)
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", key);
        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("DRW_DATA_DIR", data.FullPath);
        builder.UseSetting("DRW_API_KEY", AdminKey);
        builder.UseSetting("DRW_WORKFLOWS_DIR", workflows.FullPath);
        builder.UseSetting("DRW_STUDIO_DIR", studioDirectory ?? data.Combine("no-studio"));
        AddKey(builder, 0, "viewer-user", ViewerKey, Roles.Viewer);
        AddKey(builder, 1, "designer-user", DesignerKey, Roles.Designer);
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.UseSetting("Logging:LogLevel:Microsoft.AspNetCore.DataProtection", "Error");
        builder.UseEnvironment("Development");
        foreach (var (key, value) in settings)
            builder.UseSetting(key, value);
        builder.ConfigureTestServices(s =>
        {
            s.AddSingleton<ILoggerProvider>(Logs);
            services?.Invoke(s);
        });
    }

    private static void AddKey(IWebHostBuilder builder, int index, string name, string key, string role)
    {
        builder.UseSetting($"DrWorkflows:Auth:Keys:{index}:Name", name);
        builder.UseSetting($"DrWorkflows:Auth:Keys:{index}:Sha256", ConfiguredApiKeyStore.HashHex(key));
        builder.UseSetting($"DrWorkflows:Auth:Keys:{index}:Roles:0", role);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            data.Dispose();
            workflows.Dispose();
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        data.Dispose();
        workflows.Dispose();
    }
}
