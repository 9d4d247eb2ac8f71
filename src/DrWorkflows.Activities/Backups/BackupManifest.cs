using System.Text.Json;
using System.Text.Json.Serialization;

namespace DrWorkflows.Activities.Backups;

/// <summary>Kinds of backup set. Retention is configured per kind.</summary>
public static class BackupKinds
{
    public const string Postgres = "postgres";
    public const string Globals = "globals";
    public const string Redis = "redis";
    public const string Media = "media";

    /// <summary>An archived drill report (its JSON and Markdown), kept with the backups it rehearsed.</summary>
    public const string DrillReport = "drill-report";

    /// <summary>The monitoring volumes (Prometheus, Grafana) as tar archives, taken with their containers stopped.</summary>
    public const string Monitoring = "monitoring";

    /// <summary>The Docker configuration of a deployment: Compose files, env files without secrets, image digests.</summary>
    public const string DockerConfig = "docker-config";

    public static IReadOnlyList<string> All { get; } = [Postgres, Globals, Redis, Media, DrillReport, Monitoring, DockerConfig];

    public static string Validate(string kind) =>
        All.Contains(kind, StringComparer.Ordinal)
            ? kind
            : throw new BackupException(BackupErrorCodes.InvalidRequest, $"Unknown backup kind '{kind}'; use one of {string.Join(", ", All)}.");
}

/// <summary>
/// The manifest of a backup set (<c>manifest.json</c>, written last): what was backed up, when, with which tools,
/// how it was compressed and encrypted, and the size and SHA-256 of every stored file. A set without a manifest
/// is incomplete and is never offered for restore.
/// </summary>
public sealed class BackupManifest
{
    public const string FileName = "manifest.json";
    public const int CurrentFormatVersion = 1;

    public int FormatVersion { get; set; } = CurrentFormatVersion;

    /// <summary>Set id: the execution id of the activity that took it (a re-run overwrites, never duplicates).</summary>
    public string Id { get; set; } = string.Empty;

    /// <summary><see cref="BackupKinds"/>.</summary>
    public string Kind { get; set; } = string.Empty;

    /// <summary>What was backed up: database name, Redis instance, media volume name.</summary>
    public string Source { get; set; } = string.Empty;

    /// <summary>Database name for <c>postgres</c> sets.</summary>
    public string? Database { get; set; }

    /// <summary>Server version (e.g. PostgreSQL <c>15.18</c>).</summary>
    public string? ServerVersion { get; set; }

    /// <summary>Where the data came from (host:port, container, directory), for people.</summary>
    public string? Origin { get; set; }

    /// <summary>
    /// PostgreSQL sets: the <c>Postgres:Servers</c> name of the server the set was taken from. Null in sets written
    /// before it was recorded (<see cref="Origin"/> then names the server, see <see cref="IsFromServer"/>).
    /// </summary>
    public string? Server { get; set; }

    /// <summary>PostgreSQL sets: host:port of that server.</summary>
    public string? Endpoint { get; set; }

    /// <summary>
    /// Globals sets: the databases of the server (with their sizes) when the set was taken, so that a restore of the
    /// whole server knows what lived there when the server itself can no longer be asked. Null in older sets.
    /// </summary>
    public List<ServerDatabase>? ServerDatabases { get; set; }

    /// <summary>Globals sets: the roles of the server when the set was taken (without the built-in <c>pg_*</c> roles). Null in older sets.</summary>
    public List<string>? Roles { get; set; }

    /// <summary>Start of the backup (UTC). For PostgreSQL this is the snapshot the dump reflects.</summary>
    public DateTimeOffset StartedAt { get; set; }

    /// <summary>End of the backup (UTC). "Taken strictly before T" compares this time.</summary>
    public DateTimeOffset CompletedAt { get; set; }

    /// <summary>Total stored bytes of all files.</summary>
    public long Size { get; set; }

    /// <summary>Hex SHA-256 of the stored bytes of the main (first) file.</summary>
    public string? Sha256 { get; set; }

    public List<BackupFileEntry> Files { get; set; } = [];

    /// <summary><c>zstd</c>, <c>gzip</c> or <c>none</c>.</summary>
    public string Compression { get; set; } = "none";

    public BackupEncryptionInfo Encryption { get; set; } = new();

    /// <summary>Versions of the tools used, by tool name (e.g. <c>pg_dump</c>: <c>pg_dump (PostgreSQL) 15.18</c>).</summary>
    public Dictionary<string, string> Tools { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Per-table facts recorded at backup time, in the dump's snapshot (PostgreSQL sets).</summary>
    public List<TableFacts>? Tables { get; set; }

    /// <summary>Time of the last successful verification (restore + integrity checks), or null.</summary>
    public DateTimeOffset? LastVerifiedAt { get; set; }

    /// <summary>Result of the last verification attempt.</summary>
    public BackupVerificationRecord? Verification { get; set; }

    /// <summary>
    /// The S3 Object Lock retention the set was written with (the manifest's own, the latest of the set's objects),
    /// or null when its store locks nothing. Retention never deletes the set before this date.
    /// </summary>
    public BackupObjectLock? ObjectLock { get; set; }

    /// <summary>Workflow instance that took the backup.</summary>
    public string? WorkflowInstanceId { get; set; }

    /// <summary>Kind-specific data (e.g. the media file map key).</summary>
    public Dictionary<string, string> Properties { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Verified means the last verification succeeded.</summary>
    [JsonIgnore]
    public bool IsVerified => LastVerifiedAt is not null && Verification is { Succeeded: true };

    /// <summary>
    /// Whether the set was taken from the server named <paramref name="server"/> at <paramref name="endpoint"/>
    /// (host:port, null when not known): the same <c>Postgres:Servers</c> name or the same host:port (two names for one
    /// server, such as <c>main</c> and <c>ai</c>, are one server). Sets written before <see cref="Server"/> was recorded
    /// are matched on their <see cref="Origin"/> (<c>PostgreSQL server 'main' (host:port)</c>); a set that names no
    /// server matches none.
    /// </summary>
    public bool IsFromServer(string server, string? endpoint)
    {
        var sameEndpoint = endpoint is not null;
        if (Server is not null || Endpoint is not null)
            return string.Equals(Server, server, StringComparison.Ordinal) || (sameEndpoint && string.Equals(Endpoint, endpoint, StringComparison.OrdinalIgnoreCase));
        return Origin is { } origin
            && (origin.StartsWith($"PostgreSQL server '{server}' (", StringComparison.Ordinal)
                || (sameEndpoint && (origin.EndsWith($"({endpoint})", StringComparison.OrdinalIgnoreCase) || string.Equals(origin, $"PostgreSQL at {endpoint}", StringComparison.OrdinalIgnoreCase))));
    }

    public BackupFileEntry MainFile =>
        Files.Count > 0 ? Files[0] : throw new BackupException(BackupErrorCodes.NotFound, $"Backup set {Kind}/{Source}/{Id} lists no data file.");

    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions);

    public static BackupManifest Parse(ReadOnlySpan<byte> json, string where)
    {
        try
        {
            var manifest = JsonSerializer.Deserialize<BackupManifest>(json, JsonOptions)
                ?? throw new JsonException("empty document");
            if (manifest.FormatVersion > CurrentFormatVersion)
                throw new BackupException(BackupErrorCodes.InvalidRequest, $"The manifest {where} has format version {manifest.FormatVersion}; this DrWorkflows reads up to {CurrentFormatVersion}. Upgrade DrWorkflows.");
            return manifest;
        }
        catch (JsonException ex)
        {
            throw new BackupException(BackupErrorCodes.ChecksumMismatch, $"The manifest {where} is not valid JSON ({ex.Message}); the backup set cannot be trusted.", innerException: ex);
        }
    }
}

/// <summary>An S3 Object Lock retention: <c>GOVERNANCE</c> or <c>COMPLIANCE</c>, and the date until which the object cannot be deleted.</summary>
public sealed record BackupObjectLock(string Mode, DateTimeOffset RetainUntil);

/// <summary>A database of a PostgreSQL server: its name, its size on disk (<c>pg_database_size</c>) and its owner, when known.</summary>
public sealed record ServerDatabase(string Name, long? SizeBytes, string? Owner = null);

/// <summary>One stored file of a backup set.</summary>
public sealed class BackupFileEntry
{
    /// <summary>File name within the set (e.g. <c>main.dump.zst.gpg</c>).</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Object key in the store.</summary>
    public string Key { get; set; } = string.Empty;

    /// <summary>Stored bytes.</summary>
    public long Size { get; set; }

    /// <summary>Hex SHA-256 of the stored bytes.</summary>
    public string Sha256 { get; set; } = string.Empty;
}

/// <summary>How the data files were encrypted.</summary>
public sealed class BackupEncryptionInfo
{
    /// <summary><c>none</c>, <c>gpg</c> or <c>age</c>.</summary>
    public string Method { get; set; } = "none";

    /// <summary>Recipient: OpenPGP key fingerprint(s) or age recipient(s) (public values).</summary>
    public List<string> Recipients { get; set; } = [];
}

/// <summary>Row count and newest <c>created_at</c> of one table.</summary>
public sealed class TableFacts
{
    public string Schema { get; set; } = string.Empty;

    public string Name { get; set; } = string.Empty;

    public long RowCount { get; set; }

    /// <summary>Newest value of the table's created-at column, when it has one.</summary>
    public DateTimeOffset? NewestCreatedAt { get; set; }

    /// <summary>
    /// Disk size of the table when it was backed up (<c>pg_table_size</c>: heap and TOAST, no indexes); shares the
    /// tables among parallel restore jobs. Null in manifests written before it was recorded.
    /// </summary>
    public long? SizeBytes { get; set; }

    [JsonIgnore]
    public string QualifiedName => $"{Schema}.{Name}";
}

/// <summary>Outcome of one verification of a backup set.</summary>
public sealed class BackupVerificationRecord
{
    public DateTimeOffset At { get; set; }

    public bool Succeeded { get; set; }

    /// <summary>How it was verified, e.g. <c>restore into throwaway database drw_verify_x on 127.0.0.1:5432</c>.</summary>
    public string Method { get; set; } = string.Empty;

    public List<string> Problems { get; set; } = [];

    public double DurationSeconds { get; set; }
}
