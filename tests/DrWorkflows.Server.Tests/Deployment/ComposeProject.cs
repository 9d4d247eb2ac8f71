using System.Globalization;
using System.Text.Json;
using DrWorkflows.Testing;

namespace DrWorkflows.Server.Tests.Deployment;

/// <summary>
/// The repository's <c>docker-compose.yml</c> as a Compose project of its own on the test run's private dockerd: a
/// unique project name (also the sample platform's container prefix), a temp folder with the variables
/// (<c>--env-file</c>), the settings file (<c>DRW_ENV_FILE</c>) and the secrets folder (<c>DRW_SECRETS_DIR</c>), free
/// loopback ports, and the image of <see cref="OrchestratorImage"/>. Dispose runs <c>down -v</c>.
/// </summary>
internal sealed class ComposeProject : IAsyncDisposable
{
    private readonly OrchestratorImage image;
    private readonly TempDirectory directory = new("drw-compose");

    private ComposeProject(OrchestratorImage image, string dockerGroup)
    {
        this.image = image;
        Directory.CreateDirectory(SecretsDirectory);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(directory.FullPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var socket = image.Docker.AbsolutePath;
        Variables["DRW_IMAGE"] = image.Tag;
        Variables["DRW_URLS"] = $"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";
        Variables["DRW_ENV_FILE"] = SettingsFile;
        Variables["DRW_SECRETS_DIR"] = SecretsDirectory;
        Variables["DOCKER_SOCKET"] = socket;
        Variables["DOCKER_GID"] = dockerGroup;
        Variables["DRW_HEALTH_INTERVAL"] = "2s";
        Variables["DRW_HEALTH_START_PERIOD"] = "2s";
        Variables["PLATFORM_NAME"] = Name;
        Variables["PLATFORM_PG_PORT"] = PlatformPostgresPort.ToString(CultureInfo.InvariantCulture);
        Variables["PLATFORM_WEB_PORT"] = FreePort.Get().ToString(CultureInfo.InvariantCulture);
        Variables["PLATFORM_PG_PASSWORD"] = PlatformPassword;
    }

    /// <summary>A project on the image's engine; the socket's group is given to the container as DOCKER_GID (as an operator would).</summary>
    public static async Task<ComposeProject> CreateAsync(OrchestratorImage image)
    {
        var group = await Shell.RunAsync(["stat", "-c", "%g", image.Docker.AbsolutePath], TimeSpan.FromSeconds(30));
        Assert.True(group.ExitCode == 0, $"stat of the Docker socket: {group.Error}");
        return new ComposeProject(image, group.Output.Trim());
    }

    public string Name { get; } = $"drwd-{Guid.NewGuid():N}"[..13];

    public int Port { get; } = FreePort.Get();

    public Uri BaseAddress => new($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}");

    public int PlatformPostgresPort { get; } = FreePort.Get();

    public string PlatformPassword { get; } = Guid.NewGuid().ToString("N");

    /// <summary>The admin key, given to the server as a secret file (DRW_API_KEY).</summary>
    public string ApiKey { get; } = Guid.NewGuid().ToString("N");

    /// <summary>Compose variables (the project's <c>.env</c>).</summary>
    public Dictionary<string, string> Variables { get; } = [];

    /// <summary>Lines of the settings file (DRW_ENV_FILE).</summary>
    public List<string> Settings { get; } = [];

    public string SettingsFile => directory.Combine("drworkflows.env");

    public string SecretsDirectory => directory.Combine("secrets");

    public string Container => $"{Name}_orchestrator_1";

    /// <summary>Writes a secret file as an operator would: readable by the container's user (uid 10001) only.</summary>
    public async Task SecretAsync(string name, string value)
    {
        var path = Path.Combine(SecretsDirectory, name);
        await File.WriteAllTextAsync(path, value + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead);
            File.SetUnixFileMode(SecretsDirectory, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
                | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }

        var chown = await Shell.RunAsync(["chown", "10001:10001", path], TimeSpan.FromSeconds(30));
        Assert.True(chown.ExitCode == 0, $"chown of {path}: {chown.Error}");
    }

    /// <summary><c>docker-compose [--profile P] up -d</c>; fails the test with Compose's output when it fails.</summary>
    public async Task UpAsync(string? profile = null)
    {
        await SecretAsync("DRW_API_KEY", ApiKey);
        await File.WriteAllLinesAsync(SettingsFile, Settings);
        await File.WriteAllLinesAsync(directory.Combine(".env"), Variables.Select(v => $"{v.Key}={v.Value}"));
        var result = await ComposeAsync(profile is null ? ["up", "-d"] : ["--profile", profile, "up", "-d"], TimeSpan.FromMinutes(5));
        Assert.True(result.ExitCode == 0, $"docker-compose up failed ({result.ExitCode}):\n{result.Tail(30)}");
    }

    public Task<Shell.Result> ComposeAsync(IReadOnlyList<string> arguments, TimeSpan timeout) =>
        Shell.RunAsync(["docker-compose", "-f", Path.Combine(OrchestratorImage.RepositoryRoot, "docker-compose.yml"), "-p", Name, "--env-file", directory.Combine(".env"), .. arguments],
            timeout, new Dictionary<string, string> { ["DOCKER_HOST"] = image.Docker.ToString() });

    public Task<Shell.Result> DockerAsync(params string[] arguments) =>
        Shell.RunAsync(["docker", "-H", image.Docker.ToString(), .. arguments], TimeSpan.FromMinutes(2));

    /// <summary>The container's <c>State</c> (Status, Running, StartedAt, Health.Status, RestartCount at the top).</summary>
    public async Task<JsonElement> InspectAsync(string container)
    {
        var result = await DockerAsync("inspect", container);
        Assert.True(result.ExitCode == 0, $"docker inspect {container}: {result.Error}");
        using var document = JsonDocument.Parse(result.Output);
        return document.RootElement[0].Clone();
    }

    public async Task<string> LogsAsync(string container) =>
        (await DockerAsync("logs", container)) is var result ? result.Output + result.Error : string.Empty;

    public async ValueTask DisposeAsync()
    {
        await ComposeAsync(["--profile", "platform", "--profile", "ha", "down", "-v", "-t", "5"], TimeSpan.FromMinutes(3));
        directory.Dispose();
    }
}
