using DrWorkflows.Activities.Hosts;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Docker;

/// <summary>Compose-level commands the DR workflows use.</summary>
public enum ComposeVerb
{
    /// <summary><c>up -d</c>: create and start what is missing or changed.</summary>
    Up,
    Stop,
    Start,
    Restart,
    Pull,

    /// <summary>
    /// <c>down</c> (without <c>-v</c>: volumes are kept) of the whole project. Only Compose v2 accepts service names
    /// here; to remove the containers of some services use <see cref="Remove"/>, which both versions support.
    /// </summary>
    Down,

    /// <summary>
    /// <c>rm --stop --force</c>: stops and removes the containers of the services (all when none are named); volumes,
    /// networks and the other services are kept. The same command in Compose v1 and v2 (<c>--timeout</c> does not apply).
    /// </summary>
    Remove,

    /// <summary><c>config --services</c>: prints the services the files declare, one a line; changes nothing.</summary>
    ListServices,
}

/// <summary>One Compose invocation.</summary>
public sealed record ComposeRequest(ComposeVerb Verb)
{
    /// <summary>Services to act on; all when empty.</summary>
    public IReadOnlyList<string> Services { get; init; } = [];

    /// <summary>Project name; <see cref="DockerOptions.ComposeProject"/> when <c>null</c>.</summary>
    public string? Project { get; init; }

    /// <summary>Compose files; <see cref="DockerOptions.ComposeFiles"/> when empty.</summary>
    public IReadOnlyList<string> Files { get; init; } = [];

    /// <summary><c>up --force-recreate</c>: recreate containers even when unchanged.</summary>
    public bool ForceRecreate { get; init; }

    /// <summary><c>up --no-deps</c>: do not start linked services.</summary>
    public bool NoDeps { get; init; }

    /// <summary>Shutdown timeout for stop, restart, down and up (<c>-t</c>); <c>rm --stop</c> takes none.</summary>
    public TimeSpan? StopTimeout { get; init; }
}

/// <summary>Exit code and output of a Compose command.</summary>
public sealed record ComposeResult(string CommandLine, int ExitCode, string StandardOutput, string StandardError, TimeSpan Elapsed)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>Runs the Compose CLI (<c>docker compose</c> v2 or <c>docker-compose</c> v1) against the configured engine.</summary>
public interface IComposeService
{
    /// <summary>The CLI that will be used, e.g. <c>docker compose</c>; throws when neither is installed.</summary>
    Task<IReadOnlyList<string>> DetectCliAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Runs one Compose command. A non-zero exit throws <see cref="DockerOperationException"/> with the command
    /// line and the end of its error output; cancellation kills the CLI's process tree.
    /// </summary>
    Task<ComposeResult> RunAsync(ComposeRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// The services the Compose files declare (<c>config --services</c>; the engine is not asked), sorted. Throws
    /// <see cref="DockerOperationException"/> when the CLI or the files cannot be read.
    /// </summary>
    Task<IReadOnlyList<string>> ListServicesAsync(string? project, CancellationToken cancellationToken);
}

internal sealed class ComposeService(IOptions<DockerOptions> options, IProcessRunner runner, ILogger<ComposeService> logger) : IComposeService, IDisposable
{
    internal const string NotFoundMessage = "neither `docker compose` nor `docker-compose` found: install docker-compose-plugin or docker-compose";

    private readonly DockerOptions options = options.Value;
    private readonly SemaphoreSlim gate = new(1, 1);
    private IReadOnlyList<string>? cli;

    public void Dispose() => gate.Dispose();

    public async Task<IReadOnlyList<string>> DetectCliAsync(CancellationToken cancellationToken)
    {
        if (cli is not null)
            return cli;
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (cli is not null)
                return cli;
            if (options.ComposeCommand.Count > 0)
                return cli = [Resolve(options.ComposeCommand[0]) ?? options.ComposeCommand[0], .. options.ComposeCommand.Skip(1)];

            if (Resolve("docker") is { } docker && await WorksAsync(new CommandLine(docker, "compose", "version"), cancellationToken))
                cli = [docker, "compose"];
            else if (Resolve("docker-compose") is { } compose && await WorksAsync(new CommandLine(compose, "version"), cancellationToken))
                cli = [compose];
            else
                throw new DockerOperationException(NotFoundMessage + $" (searched {SearchPath()})", DockerOperationException.ComposeNotFound);
            Log.ComposeDetected(logger, cli);
            return cli;
        }
        finally
        {
            gate.Release();
        }
    }

    public async Task<ComposeResult> RunAsync(ComposeRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var command = await DetectCliAsync(cancellationToken);
        var arguments = new List<string>();
        var isV2 = command.Count > 1 && command[1] == "compose";

        // Engine address and TLS: global flags of `docker` (v2) or of `docker-compose` (v1).
        var engine = new List<string> { "--host", options.Endpoint };
        if (options.TlsClientCertificatePath is not null)
        {
            engine.Add("--tlsverify");
            if (options.TlsCaCertificatePath is not null)
                engine.AddRange(["--tlscacert", options.TlsCaCertificatePath]);
            engine.AddRange(["--tlscert", options.TlsClientCertificatePath, "--tlskey", options.TlsClientKeyPath!]);
        }

        var program = command[0];
        if (isV2)
        {
            arguments.AddRange(engine);
            arguments.AddRange(command.Skip(1));
        }
        else
        {
            arguments.AddRange(command.Skip(1));
            arguments.AddRange(engine);
        }

        if ((request.Project ?? options.ComposeProject) is { } project)
            arguments.AddRange(["--project-name", project]);
        foreach (var file in request.Files.Count > 0 ? request.Files : [.. options.ComposeFiles])
            arguments.AddRange(["--file", file]);

        var timeout = request.StopTimeout is { } t ? ((int)Math.Ceiling(t.TotalSeconds)).ToString() : null;
        switch (request.Verb)
        {
            case ComposeVerb.Up:
                arguments.AddRange(["up", "--detach"]);
                if (request.ForceRecreate)
                    arguments.Add("--force-recreate");
                if (request.NoDeps)
                    arguments.Add("--no-deps");
                break;
            case ComposeVerb.Stop:
                arguments.Add("stop");
                break;
            case ComposeVerb.Start:
                arguments.Add("start");
                timeout = null;
                break;
            case ComposeVerb.Restart:
                arguments.Add("restart");
                break;
            case ComposeVerb.Pull:
                arguments.Add("pull");
                timeout = null;
                break;
            case ComposeVerb.Down:
                // docker-compose 1.x: `down` takes no service names; given some, it prints its usage and exits 0 having
                // removed nothing (a silent no-op). v2 removes only those services.
                if (!isV2 && request.Services.Count > 0)
                {
                    throw new DockerOperationException(
                        $"Compose v1 ({string.Join(' ', command)}) cannot `down` some services ({string.Join(", ", request.Services)}): " +
                        "its `down` acts on the whole project. Use the `rm` command (stop and remove those services' containers), or install Compose v2.",
                        DockerOperationException.ComposeFailed);
                }

                arguments.Add("down");
                break;
            case ComposeVerb.Remove:
                arguments.AddRange(["rm", "--stop", "--force"]);
                timeout = null;
                break;
            case ComposeVerb.ListServices:
                arguments.AddRange(["config", "--services"]);
                timeout = null;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(request), request.Verb, "Unknown Compose verb.");
        }

        if (timeout is not null)
            arguments.AddRange(["--timeout", timeout]);
        arguments.AddRange(request.Services);

        var line = new CommandLine(program, arguments)
        {
            WorkingDirectory = options.ComposeProjectDirectory,

            // Compose v1 prints progress as if on a terminal unless told otherwise.
            Environment = new Dictionary<string, string> { ["COMPOSE_INTERACTIVE_NO_CLI"] = "1", ["COMPOSE_ANSI"] = "never" },
        };
        Log.ComposeRunning(logger, line);
        CommandResult result;
        try
        {
            result = await runner.RunAsync(line, options.ComposeTimeout, cancellationToken);
        }
        catch (CommandNotFoundException e)
        {
            throw new DockerOperationException(NotFoundMessage + $" ({e.Message})", DockerOperationException.ComposeNotFound, false, e);
        }
        catch (TimeoutException e)
        {
            throw new DockerOperationException($"Compose did not finish within {options.ComposeTimeout}: {e.Message}", DockerOperationException.ComposeFailed, false, e);
        }

        Log.ComposeFinished(logger, result.ExitCode, result.Elapsed);
        if (!result.Succeeded)
        {
            throw new DockerOperationException(
                $"`{line}` failed with exit code {result.ExitCode} on {options.Endpoint}: {result.Summary}",
                DockerOperationException.ComposeFailed);
        }

        return new ComposeResult(line.ToString(), result.ExitCode, result.StandardOutput, result.StandardError, result.Elapsed);
    }

    public async Task<IReadOnlyList<string>> ListServicesAsync(string? project, CancellationToken cancellationToken)
    {
        var result = await RunAsync(new ComposeRequest(ComposeVerb.ListServices) { Project = project }, cancellationToken);
        return [.. result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    private async Task<bool> WorksAsync(CommandLine line, CancellationToken cancellationToken)
    {
        try
        {
            var result = await runner.RunAsync(line, TimeSpan.FromSeconds(30), cancellationToken);
            return result.Succeeded;
        }
        catch (CommandNotFoundException)
        {
            return false;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private string SearchPath() => options.ComposeSearchPath ?? Environment.GetEnvironmentVariable("PATH") ?? string.Empty;

    /// <summary>The full path of <paramref name="program"/> on the search path, or <c>null</c>.</summary>
    private string? Resolve(string program)
    {
        if (program.Contains('/', StringComparison.Ordinal))
            return File.Exists(program) ? program : null;
        foreach (var directory in SearchPath().Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, program);
            if (File.Exists(candidate))
                return candidate;
        }

        return null;
    }
}
