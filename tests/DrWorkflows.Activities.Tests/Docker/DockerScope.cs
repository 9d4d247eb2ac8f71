using Docker.DotNet;
using Docker.DotNet.Models;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace DrWorkflows.Activities.Tests.Docker;

/// <summary>
/// The private dockerd of the test run plus a unique name prefix: every container, volume and image a test makes
/// is named <c>drwt-XXXXXXXX-...</c> and removed on dispose.
/// </summary>
internal sealed class DockerScope : IAsyncDisposable
{
    public const string Busybox = "local/busybox:1";

    private readonly List<string> extraVolumes = [];

    private DockerScope(Uri endpoint, DockerOptions options)
    {
        Endpoint = endpoint;
        Options = options;
        Client = new DockerClientConfiguration(endpoint).CreateClient();
        Service = new DockerService(Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System, NullLogger<DockerService>.Instance);
    }

    public Uri Endpoint { get; }

    public DockerOptions Options { get; }

    public string Prefix { get; } = $"drwt-{Guid.NewGuid():N}"[..13];

    /// <summary>Raw client for test setup (the code under test is <see cref="Service"/>).</summary>
    public DockerClient Client { get; }

    public DockerService Service { get; }

    public static DockerScope Create(Action<DockerOptions>? configure = null)
    {
        var endpoint = TestServices.RequireDocker();
        TestServices.RequireDockerImage(Busybox);
        var options = new DockerOptions { Endpoint = endpoint.ToString(), HelperImage = Busybox, PollInterval = TimeSpan.FromMilliseconds(200) };
        configure?.Invoke(options);
        return new DockerScope(endpoint, options);
    }

    public string Name(string suffix) => $"{Prefix}-{suffix}";

    /// <summary>Removes a volume not named with the prefix (an anonymous one) on dispose too.</summary>
    public void TrackVolume(string name) => extraVolumes.Add(name);

    /// <summary>A busybox shell command that exits promptly on SIGTERM (PID 1 ignores signals it does not trap).</summary>
    public static IList<string> Sh(string script) => ["sh", "-c", $"trap 'exit 0' TERM; {script}"];

    public static HealthConfig Health(string shellTest) => new()
    {
        Test = ["CMD-SHELL", shellTest],
        Interval = TimeSpan.FromMilliseconds(300),
        Timeout = TimeSpan.FromSeconds(2),
        Retries = 1,
    };

    /// <summary>Creates and starts a busybox container named <c>{Prefix}-{suffix}</c>.</summary>
    public async Task<string> RunAsync(string suffix, IList<string> command, HealthConfig? health = null, Action<CreateContainerParameters>? configure = null, bool start = true)
    {
        var parameters = new CreateContainerParameters
        {
            Name = Name(suffix),
            Image = Busybox,
            Cmd = command,
            Healthcheck = health,
            Labels = new Dictionary<string, string>(),
            HostConfig = new HostConfig { NetworkMode = "none" },
        };
        configure?.Invoke(parameters);
        var created = await Client.Containers.CreateContainerAsync(parameters, TestContext.Current.CancellationToken);
        if (start)
            await Client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), TestContext.Current.CancellationToken);
        return parameters.Name;
    }

    /// <summary>Runs a throwaway container with <paramref name="binds"/> and returns its output (stdout then stderr).</summary>
    public async Task<string> RunToEndAsync(IList<string> command, params string[] binds)
    {
        var name = Name($"run-{Guid.NewGuid():N}"[..20]);
        var created = await Client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = name,
            Image = Busybox,
            Cmd = command,
            HostConfig = new HostConfig { NetworkMode = "none", Binds = binds },
        }, TestContext.Current.CancellationToken);
        await Client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), TestContext.Current.CancellationToken);
        await Client.Containers.WaitContainerAsync(created.ID, TestContext.Current.CancellationToken);
        using var logs = await Client.Containers.GetContainerLogsAsync(created.ID, false, new ContainerLogsParameters { ShowStdout = true, ShowStderr = true }, TestContext.Current.CancellationToken);
        var (stdout, stderr) = await logs.ReadOutputToEndAsync(TestContext.Current.CancellationToken);
        await Client.Containers.RemoveContainerAsync(created.ID, new ContainerRemoveParameters { Force = true }, TestContext.Current.CancellationToken);
        return stdout + stderr;
    }

    public async ValueTask DisposeAsync()
    {
        var containers = await Client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [Prefix] = true } },
        });
        foreach (var container in containers)
            await Client.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true, RemoveVolumes = true });
        var volumes = await Client.Volumes.ListAsync(new VolumesListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["name"] = new Dictionary<string, bool> { [Prefix] = true } },
        });
        foreach (var volume in (volumes.Volumes ?? []).Select(v => v.Name).Concat(extraVolumes).Distinct())
        {
            try
            {
                await Client.Volumes.RemoveAsync(volume, true);
            }
            catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                // Removed with its container.
            }
        }
        var images = await Client.Images.ListImagesAsync(new ImagesListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["reference"] = new Dictionary<string, bool> { [Prefix + "*"] = true } },
        });
        foreach (var image in images)
            await Client.Images.DeleteImageAsync(image.ID, new ImageDeleteParameters { Force = true });
        Service.Dispose();
        Client.Dispose();
    }
}
