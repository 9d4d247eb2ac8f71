using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.PgBackRest;

/// <summary>
/// Continuous WAL archiving and point-in-time restore with pgBackRest (configuration section <c>PgBackRest</c>).
/// pgBackRest runs inside the database container (<c>docker exec</c> as the postgres user); its configuration file,
/// written by <see cref="IPgBackRest.EnableArchivingAsync"/>, and its local repository live on a volume of their own
/// mounted at <see cref="RepositoryMount"/>, so that they survive the loss of the data volume.
/// </summary>
public sealed class PgBackRestOptions
{
    /// <summary>Key of the repositories (<c>repo-cipher-pass</c>, aes-256-cbc). Required to use pgBackRest; never logged.</summary>
    public string? CipherPass { get; set; }

    /// <summary>Mount point, in the database container, of the volume holding the configuration file and the local repository. Default <c>/var/lib/pgbackrest</c>.</summary>
    public string RepositoryMount { get; set; } = "/var/lib/pgbackrest";

    /// <summary>Data directory in the database container (PGDATA). Default <c>/var/lib/postgresql/data</c>.</summary>
    public string DataDirectory { get; set; } = "/var/lib/postgresql/data";

    /// <summary>Unix socket directory of the server in the container. Default <c>/run/postgresql</c>.</summary>
    public string SocketDirectory { get; set; } = "/run/postgresql";

    /// <summary>Seconds after which a quiet server still ships its WAL (<c>archive_timeout</c>); bounds the RPO. 1 to 60, default 60.</summary>
    public int ArchiveTimeoutSeconds { get; set; } = 60;

    /// <summary>Full backups kept per repository (<c>repo-retention-full</c>). Default 2.</summary>
    public int RetentionFull { get; set; } = 2;

    /// <summary>Differential backups kept per repository (<c>repo-retention-diff</c>). Default 6.</summary>
    public int RetentionDiff { get; set; } = 6;

    /// <summary>The S3 repository (repo1). Without a bucket, only the local repository is used.</summary>
    public PgBackRestS3Options S3 { get; set; } = new();

    /// <summary>Upper bound of one backup or restore command. Default 2 hours.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromHours(2);

    /// <summary>How long a restored server may take to finish recovery. Default 1 hour.</summary>
    public TimeSpan RecoveryTimeout { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// The databases whose WAL is archived, by component key of <c>Drills:Components</c> (e.g. <c>postgres-main</c>):
    /// the objectives report judges their RPO by archiving, <c>drw status</c> and <c>drw_rpo_exposure</c> show their
    /// exposure, and the archive monitor pages on-call when their archiving stops. Empty: nothing is watched.
    /// </summary>
    public Dictionary<string, ArchivedDatabase> Archiving { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Time allowed for one WAL segment to reach the repositories after <c>archive_timeout</c> closed it (archive-push
    /// to S3 and the local repository). Not measured: the RPO by design is archive_timeout + this. Default 30 s.
    /// </summary>
    public TimeSpan ArchiveTransferAllowance { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the archive monitor measures each archived database. At most <see cref="ArchiveTimeoutSeconds"/>; default that.</summary>
    public TimeSpan? ArchiveMonitorInterval { get; set; }

    /// <summary>
    /// How old the last archived WAL may be, while WAL written after it waits, before on-call is paged. Default
    /// archive_timeout + <see cref="ArchiveTransferAllowance"/> (the RPO by design).
    /// </summary>
    public TimeSpan? ArchiveAllowedLag { get; set; }

    /// <summary>The monitor's interval as used.</summary>
    public TimeSpan MonitorInterval => ArchiveMonitorInterval ?? TimeSpan.FromSeconds(ArchiveTimeoutSeconds);

    /// <summary>The allowed lag as used.</summary>
    public TimeSpan AllowedLag => ArchiveAllowedLag ?? TimeSpan.FromSeconds(ArchiveTimeoutSeconds) + ArchiveTransferAllowance;

    /// <summary>The configuration file's path in the container.</summary>
    internal string ConfigPath => RepositoryMount.TrimEnd('/') + "/pgbackrest.conf";

    /// <summary>The local repository's path in the container.</summary>
    internal string LocalRepositoryPath => RepositoryMount.TrimEnd('/') + "/repo";
}

/// <summary>One PostgreSQL server whose WAL pgBackRest archives (<c>PgBackRest:Archiving:&lt;component&gt;</c>).</summary>
public sealed class ArchivedDatabase
{
    /// <summary>The PostgreSQL container, e.g. <c>ecommerce_postgres</c>.</summary>
    public string Container { get; set; } = string.Empty;

    /// <summary>The pgBackRest stanza. Default <c>main</c>.</summary>
    public string Stanza { get; set; } = "main";
}

/// <summary>The S3 repository of pgBackRest (it speaks HTTPS only).</summary>
public sealed class PgBackRestS3Options
{
    public string? Bucket { get; set; }

    /// <summary>Host of the endpoint, e.g. <c>s3.eu-west-1.amazonaws.com</c> or <c>127.0.0.1</c>.</summary>
    public string? Endpoint { get; set; }

    /// <summary>HTTPS port. Default 443.</summary>
    public int Port { get; set; } = 443;

    public string Region { get; set; } = "us-east-1";

    public string? AccessKey { get; set; }

    /// <summary>Secret key; never logged.</summary>
    public string? SecretKey { get; set; }

    /// <summary>Path of the repository in the bucket. Default <c>/pgbackrest</c>.</summary>
    public string Path { get; set; } = "/pgbackrest";

    /// <summary><c>host</c> (virtual-hosted, AWS) or <c>path</c> (MinIO, s3rver). Default host.</summary>
    public string UriStyle { get; set; } = "host";

    /// <summary>Check the endpoint's certificate. Default true; false only for a test stand-in with a self-signed certificate.</summary>
    public bool VerifyTls { get; set; } = true;

    /// <summary>CA file (path in the container) to check the endpoint's certificate against.</summary>
    public string? CaFile { get; set; }

    internal bool Enabled => !string.IsNullOrWhiteSpace(Bucket);
}

internal sealed class PgBackRestOptionsValidator : IValidateOptions<PgBackRestOptions>
{
    public ValidateOptionsResult Validate(string? name, PgBackRestOptions options)
    {
        var errors = new List<string>();
        if (options.ArchiveTimeoutSeconds is < 1 or > 60)
            errors.Add($"PgBackRest:ArchiveTimeoutSeconds must be 1 to 60 (the RPO target is 60 s), not {options.ArchiveTimeoutSeconds}.");
        if (options.RetentionFull is < 1 or > 9999999)
            errors.Add($"PgBackRest:RetentionFull must be at least 1, not {options.RetentionFull}.");
        if (options.RetentionDiff is < 1 or > 9999999)
            errors.Add($"PgBackRest:RetentionDiff must be at least 1, not {options.RetentionDiff}.");
        foreach (var (key, path) in new[] { ("RepositoryMount", options.RepositoryMount), ("DataDirectory", options.DataDirectory), ("SocketDirectory", options.SocketDirectory) })
        {
            if (string.IsNullOrWhiteSpace(path) || !path.StartsWith('/') || path.Any(c => char.IsWhiteSpace(c) || c is '\'' or '"' or '\\'))
                errors.Add($"PgBackRest:{key} must be an absolute path without spaces or quotes, not '{path}'.");
        }

        if (options.CipherPass is { } pass && (pass.Length < 16 || pass.Any(c => c is '\n' or '\r')))
            errors.Add("PgBackRest:CipherPass must be at least 16 characters on one line.");
        if (options.CommandTimeout <= TimeSpan.Zero || options.RecoveryTimeout <= TimeSpan.Zero)
            errors.Add("PgBackRest:CommandTimeout and PgBackRest:RecoveryTimeout must be positive.");
        if (options.ArchiveTransferAllowance <= TimeSpan.Zero)
            errors.Add($"PgBackRest:ArchiveTransferAllowance must be positive (e.g. 00:00:30), not {options.ArchiveTransferAllowance}.");
        var timeout = TimeSpan.FromSeconds(options.ArchiveTimeoutSeconds);
        if (options.MonitorInterval <= TimeSpan.Zero || options.MonitorInterval > timeout)
            errors.Add($"PgBackRest:ArchiveMonitorInterval must be positive and at most archive_timeout ({timeout.TotalSeconds:0} s), so that a stop is paged within one archive interval; it is {options.MonitorInterval}.");
        if (options.AllowedLag < timeout)
            errors.Add($"PgBackRest:ArchiveAllowedLag must be at least archive_timeout ({timeout.TotalSeconds:0} s): a healthy server ships a segment only every archive_timeout; it is {options.AllowedLag}.");
        foreach (var (component, database) in options.Archiving)
        {
            if (database is null || string.IsNullOrWhiteSpace(database.Container) || database.Container.Any(c => char.IsWhiteSpace(c) || c is '/' or '\\'))
                errors.Add($"PgBackRest:Archiving:{component}:Container must name the PostgreSQL container, e.g. ecommerce_postgres.");
            else if (string.IsNullOrEmpty(database.Stanza) || database.Stanza.Length > 64 || !database.Stanza.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                errors.Add($"PgBackRest:Archiving:{component}:Stanza must be letters, digits, - and _, not '{database.Stanza}'.");
        }

        var s3 = options.S3;
        if (s3.Enabled)
        {
            if (string.IsNullOrWhiteSpace(s3.Endpoint) || string.IsNullOrWhiteSpace(s3.AccessKey) || string.IsNullOrWhiteSpace(s3.SecretKey))
                errors.Add("PgBackRest:S3 needs Endpoint, AccessKey and SecretKey with a Bucket.");
            if (s3.Port is < 1 or > 65535)
                errors.Add($"PgBackRest:S3:Port must be 1 to 65535, not {s3.Port}.");
            if (s3.UriStyle is not ("host" or "path"))
                errors.Add($"PgBackRest:S3:UriStyle must be host or path, not '{s3.UriStyle}'.");
            foreach (var value in new[] { s3.Bucket, s3.Endpoint, s3.AccessKey, s3.SecretKey, s3.Path, s3.Region, s3.CaFile })
            {
                if (value is not null && value.Any(c => c is '\n' or '\r'))
                    errors.Add("PgBackRest:S3 values must be on one line.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
