namespace DrWorkflows.Activities.Throwaway;

/// <summary>The kinds of throwaway resources the ledger knows; each has a remover (<see cref="IThrowawayRemover"/>).</summary>
public static class ThrowawayKinds
{
    /// <summary>A database on a PostgreSQL server named in <c>Postgres:Servers</c> (location: the server's name).</summary>
    public const string PostgresDatabase = "postgres-database";

    /// <summary>A Docker container (location: the engine endpoint); removed with force, with its anonymous volumes.</summary>
    public const string DockerContainer = "docker-container";

    /// <summary>A Docker network (location: the engine endpoint).</summary>
    public const string DockerNetwork = "docker-network";

    /// <summary>A Docker volume (location: the engine endpoint).</summary>
    public const string DockerVolume = "docker-volume";

    /// <summary>A directory and everything in it, on the host that created it.</summary>
    public const string Directory = "directory";

    /// <summary>A file, on the host that created it.</summary>
    public const string File = "file";
}

/// <summary>
/// A throwaway resource to record before it is created: its kind, name, where it lives (a server name or engine
/// endpoint, never a connection string) and, for local things, the host. <see cref="Description"/> is for people and
/// must not hold secrets.
/// </summary>
public sealed record ThrowawaySpec(string Kind, string Name)
{
    /// <summary>The PostgreSQL server's name or the Docker engine's endpoint; null for files.</summary>
    public string? Location { get; init; }

    /// <summary>The host it must be removed from; null when any node reaches it (a named server, a TCP engine).</summary>
    public string? Host { get; init; }

    public string? Description { get; init; }

    /// <summary>This machine's name, as the ledger records the host of local resources.</summary>
    public static string ThisHost => Environment.MachineName;

    /// <summary>A directory on this host (removed with everything in it).</summary>
    public static ThrowawaySpec Directory(string path, string? description = null) =>
        new(ThrowawayKinds.Directory, System.IO.Path.GetFullPath(path)) { Host = ThisHost, Description = description };

    /// <summary>A file on this host.</summary>
    public static ThrowawaySpec File(string path, string? description = null) =>
        new(ThrowawayKinds.File, System.IO.Path.GetFullPath(path)) { Host = ThisHost, Description = description };

    /// <summary>A database on a PostgreSQL server, by the server's configured name (the janitor resolves it the same way).</summary>
    public static ThrowawaySpec PostgresDatabase(string serverName, string database, string? description = null) =>
        new(ThrowawayKinds.PostgresDatabase, database) { Location = serverName, Description = description };

    /// <summary>A container on a Docker engine (a local socket belongs to this host).</summary>
    public static ThrowawaySpec DockerContainer(string endpoint, string name, string? description = null) => Docker(ThrowawayKinds.DockerContainer, endpoint, name, description);

    /// <summary>A network on a Docker engine.</summary>
    public static ThrowawaySpec DockerNetwork(string endpoint, string name, string? description = null) => Docker(ThrowawayKinds.DockerNetwork, endpoint, name, description);

    /// <summary>A volume on a Docker engine.</summary>
    public static ThrowawaySpec DockerVolume(string endpoint, string name, string? description = null) => Docker(ThrowawayKinds.DockerVolume, endpoint, name, description);

    private static ThrowawaySpec Docker(string kind, string endpoint, string name, string? description) =>
        new(kind, name)
        {
            Location = endpoint,
            Host = endpoint.StartsWith("unix://", StringComparison.OrdinalIgnoreCase) || endpoint.StartsWith("npipe://", StringComparison.OrdinalIgnoreCase) ? ThisHost : null,
            Description = description,
        };

    public override string ToString() => Location is null ? $"{Kind} {Name}" : $"{Kind} {Name} on {Location}";
}
