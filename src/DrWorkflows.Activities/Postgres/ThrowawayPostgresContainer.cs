using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using DrWorkflows.Activities.Backups;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Postgres;

/// <summary>
/// A PostgreSQL server in a throwaway container for one verification. <see cref="StartAsync"/> is the one place
/// such a container is created (and started), <see cref="RemoveAsync"/> the one place it is removed, with its
/// anonymous data volume: a resource ledger registers it there. Containers carry the label
/// <c>drworkflows.throwaway=verification</c>.
/// </summary>
internal sealed class ThrowawayPostgresContainer
{
    public const string Label = "drworkflows.throwaway";
    private const string PostgresPort = "5432/tcp";
    private readonly DockerClient docker;
    private readonly string endpoint;
    private readonly ILogger logger;
    private int removed;

    private ThrowawayPostgresContainer(DockerClient docker, string endpoint, string id, string name, PostgresServer server, ILogger logger)
    {
        this.docker = docker;
        this.endpoint = endpoint;
        this.logger = logger;
        Id = id;
        Name = name;
        Server = server;
    }

    public string Id { get; }

    public string Name { get; }

    /// <summary>The server in the container (superuser postgres, its random password).</summary>
    public PostgresServer Server { get; }

    /// <summary>
    /// Creates and starts a container of <paramref name="image"/> with a random superuser password. The image must be
    /// on the engine already (nothing is pulled during a verification): otherwise the verification is refused.
    /// </summary>
    public static async Task<ThrowawayPostgresContainer> StartAsync(DockerClient docker, string endpoint, string image, string name, VerificationContainerOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            await docker.Images.InspectImageAsync(image, cancellationToken);
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            throw new BackupException(BackupErrorCodes.VerificationRefused,
                $"The verification image {image} is not on the Docker engine at {endpoint}: pull or load it there (docker pull {image}), or change Postgres:VerificationContainers:Images.", innerException: ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or SocketException or TimeoutException or DockerApiException && !cancellationToken.IsCancellationRequested)
        {
            throw Unreachable(endpoint, ex);
        }

        var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', 'x').Replace('/', 'y').TrimEnd('=');
        var hostPort = options.HostNetwork ? FreeLoopbackPort() : 0;
        var create = new CreateContainerParameters
        {
            Image = image,
            Name = name,
            Env = options.HostNetwork ? [$"POSTGRES_PASSWORD={password}", $"PGPORT={hostPort}"] : [$"POSTGRES_PASSWORD={password}"],
            Labels = new Dictionary<string, string> { [Label] = "verification" },
            HostConfig = options.HostNetwork
                ? new HostConfig { NetworkMode = "host" }
                : new HostConfig { PortBindings = new Dictionary<string, IList<PortBinding>> { [PostgresPort] = [new PortBinding { HostIP = "127.0.0.1", HostPort = string.Empty }] } },
        };
        if (options.HostNetwork)
            create.Cmd = ["-c", "listen_addresses=127.0.0.1"];
        else
            create.ExposedPorts = new Dictionary<string, EmptyStruct> { [PostgresPort] = default };

        // Not cancelled half-way: the engine could create the container after the call was given up, and nothing
        // would know its id to remove it. The request timeout (Docker:RequestTimeout) bounds it.
        string id;
        try
        {
            id = (await docker.Containers.CreateContainerAsync(create, CancellationToken.None)).ID;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or SocketException or TimeoutException or DockerApiException or OperationCanceledException)
        {
            throw Unreachable(endpoint, ex);
        }

        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            await docker.Containers.StartContainerAsync(id, new ContainerStartParameters(), cancellationToken);
            if (!options.HostNetwork)
            {
                var inspected = await docker.Containers.InspectContainerAsync(id, cancellationToken);
                var binding = inspected.NetworkSettings?.Ports is { } ports && ports.TryGetValue(PostgresPort, out var bindings) ? bindings?.FirstOrDefault() : null;
                hostPort = binding is not null && int.TryParse(binding.HostPort, out var port) ? port
                    : throw new BackupException(BackupErrorCodes.VerificationRefused, $"The verification container {name} got no published port for 5432 on {endpoint}; on an engine without a bridge network set Postgres:VerificationContainers:HostNetwork to true.");
            }

            Log.ContainerStarted(logger, name, image, endpoint, hostPort);
            return new ThrowawayPostgresContainer(docker, endpoint, id, name,
                new PostgresServer($"verification container {name}", $"Host=127.0.0.1;Port={hostPort};Username=postgres;Password={password};Database=postgres;Timeout=10"), logger);
        }
        catch (Exception ex)
        {
            await RemoveByIdAsync(docker, endpoint, id, name, logger);
            if (ex is BackupException or OperationCanceledException)
                throw;
            throw new BackupException(BackupErrorCodes.VerificationRefused, $"The verification container {name} ({image}) could not be started on {endpoint}: {ex.Message}", innerException: ex);
        }
    }

    /// <summary>A new container name (<c>drw-verify-{hint}-{8 hex}</c>): known before the container exists, so a ledger can record it first.</summary>
    public static string NewName(string nameHint) => $"drw-verify-{(nameHint.Length > 0 ? nameHint + "-" : string.Empty)}{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>Removes a container by name or id with its anonymous volumes; one that does not exist counts as removed. Throws when the engine refuses.</summary>
    public static async Task RemoveByNameAsync(DockerClient docker, string name, CancellationToken cancellationToken)
    {
        try
        {
            await docker.Containers.RemoveContainerAsync(name, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, cancellationToken);
        }
        catch (DockerContainerNotFoundException)
        {
            // Never created, or removed already.
        }
        catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            // Never created, or removed already.
        }
    }

    /// <summary>The container's state for a message (e.g. <c>exited with code 1</c>).</summary>
    public async Task<string> DescribeStateAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var state = (await docker.Containers.InspectContainerAsync(Id, timeout.Token)).State;
            return state.Running ? "running" : $"{state.Status}, exit code {state.ExitCode}{(string.IsNullOrEmpty(state.Error) ? string.Empty : ": " + state.Error)}";
        }
        catch (Exception ex) when (ex is DockerApiException or HttpRequestException or IOException or OperationCanceledException)
        {
            return "state unknown: " + ex.Message;
        }
    }

    /// <summary>Removes the container (killed if running) and its anonymous volumes. Never throws; runs once.</summary>
    public async ValueTask RemoveAsync()
    {
        if (Interlocked.Exchange(ref removed, 1) == 0)
            await RemoveByIdAsync(docker, endpoint, Id, Name, logger);
    }

    private static async Task RemoveByIdAsync(DockerClient docker, string endpoint, string id, string name, ILogger logger)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await docker.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, timeout.Token);
            Log.ContainerRemoved(logger, name);
        }
        catch (DockerContainerNotFoundException)
        {
            Log.ContainerRemoved(logger, name);
        }
        catch (Exception ex) when (ex is DockerApiException or HttpRequestException or IOException or SocketException or OperationCanceledException)
        {
            Log.ContainerRemoveFailed(logger, name, endpoint, ex.Message);
        }
    }

    private static BackupException Unreachable(string endpoint, Exception ex) =>
        new(BackupErrorCodes.VerificationRefused, $"The Docker engine at {endpoint} (Docker:Endpoint) could not run a verification container: {ex.Message}", innerException: ex);

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
