using Microsoft.Extensions.Options;
using Npgsql;

namespace DrWorkflows.Activities.Postgres;

/// <summary>Where the PostgreSQL client tools (pg_dump, pg_dumpall, pg_restore, psql) are.</summary>
public sealed class PostgresToolsOptions
{
    /// <summary>
    /// Directory holding the client tools (e.g. <c>/usr/lib/postgresql/16/bin</c>); empty to search PATH.
    /// The tools must be of the server's major version or newer.
    /// </summary>
    public string? BinDirectory { get; set; }
}

/// <summary>PostgreSQL backups, restores and checks (configuration section <c>Postgres</c>).</summary>
public sealed class PostgresBackupOptions
{
    public PostgresToolsOptions Tools { get; set; } = new();

    /// <summary>
    /// Named servers: name → Npgsql connection string (e.g. <c>main</c> → <c>Host=db;Username=postgres;Password=...</c>).
    /// Activities refer to them by name so that passwords stay out of workflow definitions; bind them from the
    /// environment or a secret file.
    /// </summary>
    public Dictionary<string, string> Servers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Seconds to wait for a connection (libpq <c>connect_timeout</c> and Npgsql <c>Timeout</c>). Default 10.</summary>
    public int ConnectTimeoutSeconds { get; set; } = 10;

    /// <summary>Count the rows of every table (and the newest created-at) in the dump's snapshot and record them in the manifest. Default true.</summary>
    public bool RecordRowCounts { get; set; } = true;

    /// <summary>Columns whose newest value is recorded and checked (timestamp, timestamptz or date). Default <c>created_at</c>.</summary>
    public List<string> CreatedAtColumns { get; set; } = ["created_at"];

    /// <summary>Parallel jobs of pg_restore (<c>-j</c>). Default 2.</summary>
    public int RestoreJobs { get; set; } = 2;

    /// <summary>
    /// A restore into a new database loads a table with <see cref="RestoreJobs"/> sessions at once (instead of
    /// one) when it holds more than its share of the data (the total divided by the jobs) and is at least this
    /// large (bytes, from the manifest). PostgreSQL loads one COPY with one process, so such a table would
    /// otherwise be the restore's critical path. Default 64 MiB; -1 turns it off.
    /// </summary>
    public long SplitTableMinimumBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Directory for the decrypted dump during a restore (pg_restore -j needs a seekable file). Default: the system temp directory.</summary>
    public string? TempDirectory { get; set; }

    /// <summary>Server (name in <see cref="Servers"/>) where verification restores throwaway copies; default: the backup's own server.</summary>
    public string? VerificationServer { get; set; }

    /// <summary>Name prefix of throwaway verification databases.</summary>
    public string VerificationDatabasePrefix { get; set; } = "drw_verify_";

    /// <summary>
    /// Throwaway PostgreSQL containers of the backup's own major version for verification. When images are set,
    /// every verification runs in one (and <see cref="VerificationServer"/> is not used).
    /// </summary>
    public VerificationContainerOptions VerificationContainers { get; set; } = new();
}

/// <summary>
/// Verification in a throwaway PostgreSQL container of the source's major version, taken from the backup's manifest
/// (configuration section <c>Postgres:VerificationContainers</c>). The containers run on the Docker engine of
/// <c>Docker:Endpoint</c>, which must be on this host (the server is reached on 127.0.0.1).
/// </summary>
public sealed class VerificationContainerOptions
{
    /// <summary>
    /// Image per PostgreSQL major version, e.g. <c>"15": "postgres:15"</c>. It must start PostgreSQL with the
    /// superuser <c>postgres</c> and the password in <c>POSTGRES_PASSWORD</c> (the official image does), and honour
    /// <c>PGPORT</c> with <see cref="HostNetwork"/>. A backup of a major version without an image is not verified
    /// (refused, with that reason).
    /// </summary>
    public Dictionary<string, string> Images { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Run the container in the host's network, PostgreSQL listening on 127.0.0.1 on a free port (for engines
    /// without a bridge network). Default false: the container's 5432 is published on 127.0.0.1 on a free port.
    /// </summary>
    public bool HostNetwork { get; set; }

    /// <summary>Seconds the container has to accept connections (first start runs initdb). Default 120.</summary>
    public int StartTimeoutSeconds { get; set; } = 120;
}

internal sealed class PostgresBackupOptionsValidator : IValidateOptions<PostgresBackupOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresBackupOptions options)
    {
        var errors = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.Tools.BinDirectory) && !Directory.Exists(options.Tools.BinDirectory))
            errors.Add($"Postgres:Tools:BinDirectory '{options.Tools.BinDirectory}' does not exist; point it at the PostgreSQL client tools (e.g. /usr/lib/postgresql/15/bin) or leave it empty to use PATH.");
        if (options.ConnectTimeoutSeconds is < 1 or > 600)
            errors.Add("Postgres:ConnectTimeoutSeconds must be between 1 and 600.");
        if (options.RestoreJobs is < 1 or > 64)
            errors.Add("Postgres:RestoreJobs must be between 1 and 64.");
        if (options.SplitTableMinimumBytes < -1)
            errors.Add("Postgres:SplitTableMinimumBytes must be -1 (off) or a size in bytes.");
        if (!string.IsNullOrWhiteSpace(options.TempDirectory) && !Directory.Exists(options.TempDirectory))
            errors.Add($"Postgres:TempDirectory '{options.TempDirectory}' does not exist.");
        foreach (var (server, connectionString) in options.Servers)
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder(connectionString);
            }
            catch (ArgumentException ex)
            {
                errors.Add($"Postgres:Servers:{server} is not a valid connection string: {ex.Message}");
            }
        }

        if (!string.IsNullOrWhiteSpace(options.VerificationServer) && !options.Servers.ContainsKey(options.VerificationServer))
            errors.Add($"Postgres:VerificationServer '{options.VerificationServer}' is not one of Postgres:Servers ({string.Join(", ", options.Servers.Keys)}).");
        foreach (var (major, image) in options.VerificationContainers.Images)
        {
            if (!int.TryParse(major, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) || number < 10)
                errors.Add($"Postgres:VerificationContainers:Images:{major}: the key must be a PostgreSQL major version (10 or later), e.g. 15.");
            if (string.IsNullOrWhiteSpace(image) || image.Any(char.IsWhiteSpace))
                errors.Add($"Postgres:VerificationContainers:Images:{major} must name an image (e.g. postgres:{major}), without spaces.");
        }

        if (options.VerificationContainers.StartTimeoutSeconds is < 5 or > 3600)
            errors.Add("Postgres:VerificationContainers:StartTimeoutSeconds must be between 5 and 3600.");
        if (string.IsNullOrWhiteSpace(options.VerificationDatabasePrefix) || options.VerificationDatabasePrefix.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '_'))
            errors.Add("Postgres:VerificationDatabasePrefix must be letters, digits and underscores.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
