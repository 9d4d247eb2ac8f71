using System.ComponentModel.DataAnnotations;

namespace DrWorkflows.Server.Hosting;

/// <summary>Which store holds the orchestrator's own state.</summary>
public enum StoreProvider
{
    /// <summary>One SQLite file in the data directory (the embedded default).</summary>
    Sqlite,

    /// <summary>A PostgreSQL database (several nodes; never a database DrWorkflows protects).</summary>
    Postgres,
}

/// <summary>Server settings an operator sets first. Environment: DRW_DATA_DIR, DRW_API_KEY, DRW_STORE, DRW_POSTGRES.</summary>
public sealed class ServerOptions
{
    /// <summary>Where SQLite and local files live (DRW_DATA_DIR). Default: ~/.local/share/drworkflows.</summary>
    [Required]
    public string DataDirectory { get; set; } = DefaultDataDirectory();

    /// <summary>The bootstrap admin API key (DRW_API_KEY). When unset, one is generated into the data directory.</summary>
    public string? ApiKey { get; set; }

    public StoreProvider Store { get; set; } = StoreProvider.Sqlite;

    /// <summary>PostgreSQL connection string (DRW_POSTGRES) when <see cref="Store"/> is Postgres.</summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>Schema of DrWorkflows' tables in that database (DrWorkflows:PostgresSchema). Default: drworkflows.</summary>
    public string? PostgresSchema { get; set; }

    /// <summary>Folder of workflow JSON files (DRW_WORKFLOWS_DIR). Default: the workflows folder shipped with the server.</summary>
    public string? WorkflowsDirectory { get; set; }

    public static string DefaultDataDirectory() =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify) is { Length: > 0 } local ? local : Path.GetTempPath(), "drworkflows");
}

/// <summary>A server setting is missing or wrong; the message names it and says what to set.</summary>
public sealed class ServerConfigurationException(string message) : Exception(message);
