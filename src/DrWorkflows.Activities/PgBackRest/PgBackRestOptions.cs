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

    /// <summary>The configuration file's path in the container.</summary>
    internal string ConfigPath => RepositoryMount.TrimEnd('/') + "/pgbackrest.conf";

    /// <summary>The local repository's path in the container.</summary>
    internal string LocalRepositoryPath => RepositoryMount.TrimEnd('/') + "/repo";
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
