using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Storage;

/// <summary>
/// Backup stores (configuration section <c>Backups:Stores</c>): the local directory (the embedded default) and an
/// optional S3 bucket, with retention per kind of backup.
/// </summary>
public sealed class BackupStoreOptions
{
    public const string LocalStoreName = "local";
    public const string S3StoreName = "s3";

    /// <summary>Store used when an activity names none: <c>local</c> (default) or <c>s3</c>.</summary>
    public string DefaultStore { get; set; } = LocalStoreName;

    public LocalBackupStoreOptions Local { get; set; } = new();

    /// <summary>S3 store; leave <see cref="S3BackupStoreOptions.BucketName"/> empty to disable it.</summary>
    public S3BackupStoreOptions S3 { get; set; } = new();
}

/// <summary>Retention settings shared by both stores.</summary>
public abstract class BackupStoreRetentionOptions
{
    /// <summary>
    /// Days to keep a backup set, by kind (<c>postgres</c>, <c>globals</c>, <c>redis</c>, <c>media</c>);
    /// the key <c>default</c> applies to kinds not listed. A value of 0 or less keeps that kind forever.
    /// </summary>
    public Dictionary<string, int> RetentionDays { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Never delete the newest N complete sets of a source, whatever their age (default 1).</summary>
    public int MinimumKeep { get; set; } = 1;

    /// <summary>Never delete the newest verified set of a source, whatever its age (default true).</summary>
    public bool KeepNewestVerified { get; set; } = true;

    /// <summary>Retention days for a kind, or <c>null</c> to keep forever.</summary>
    public int? DaysFor(string kind)
    {
        if (RetentionDays.TryGetValue(kind, out var days) || RetentionDays.TryGetValue("default", out days))
            return days > 0 ? days : null;
        return null;
    }
}

/// <summary>The local directory store (the plan's <c>/backups</c>).</summary>
public sealed class LocalBackupStoreOptions : BackupStoreRetentionOptions
{
    public LocalBackupStoreOptions() => RetentionDays["default"] = 7;

    /// <summary>Root directory of the store; created (mode 0700) when missing. Default: <c>./backups</c>.</summary>
    public string Directory { get; set; } = "backups";
}

/// <summary>The S3 store (AWS or any S3-compatible server).</summary>
public sealed class S3BackupStoreOptions : BackupStoreRetentionOptions
{
    public S3BackupStoreOptions()
    {
        RetentionDays["default"] = 30;
        RetentionDays["postgres"] = 30;
        RetentionDays["globals"] = 30;
        RetentionDays["redis"] = 14;
        RetentionDays["media"] = 90;
    }

    /// <summary>Bucket name; empty disables the S3 store.</summary>
    public string? BucketName { get; set; }

    /// <summary>Key prefix inside the bucket (e.g. <c>dr/</c>); may be empty.</summary>
    public string Prefix { get; set; } = string.Empty;

    /// <summary>Region (e.g. <c>eu-west-1</c>); also the signing region for <see cref="ServiceUrl"/> endpoints.</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>Endpoint of an S3-compatible server (e.g. <c>http://127.0.0.1:4569</c>); empty for AWS.</summary>
    public string? ServiceUrl { get; set; }

    /// <summary>Path-style addressing (<c>host/bucket/key</c>), needed by most S3-compatible servers.</summary>
    public bool ForcePathStyle { get; set; }

    /// <summary>
    /// Access key id. When empty the SDK's default chain is used (<c>AWS_ACCESS_KEY_ID</c> /
    /// <c>AWS_SECRET_ACCESS_KEY</c>, profile, instance role). Bind it from the environment, never from a committed file.
    /// </summary>
    public string? AccessKeyId { get; set; }

    /// <summary>Secret access key (see <see cref="AccessKeyId"/>).</summary>
    public string? SecretAccessKey { get; set; }

    /// <summary>
    /// Compute request checksums and validate response checksums only when S3 requires them, and never send
    /// aws-chunked bodies. Needed by s3rver and other servers that do not decode aws-chunked; harmless on AWS,
    /// because every backup file is checked end to end with the SHA-256 in its manifest. Default true.
    /// </summary>
    public bool ChecksumWhenRequired { get; set; } = true;

    /// <summary>Multipart part size in bytes (minimum 5 MiB, default 16 MiB).</summary>
    public int PartSizeBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Parts uploaded in parallel while the next one is filled (default 2). Memory ≈ (this + 1) × part size.</summary>
    public int MaxConcurrentParts { get; set; } = 2;

    internal bool Enabled => !string.IsNullOrWhiteSpace(BucketName);
}

internal sealed class BackupStoreOptionsValidator : IValidateOptions<BackupStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, BackupStoreOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Local.Directory))
            errors.Add("Backups:Stores:Local:Directory must name a directory.");
        if (!string.Equals(options.DefaultStore, BackupStoreOptions.LocalStoreName, StringComparison.OrdinalIgnoreCase)
            && !string.Equals(options.DefaultStore, BackupStoreOptions.S3StoreName, StringComparison.OrdinalIgnoreCase))
            errors.Add($"Backups:Stores:DefaultStore is '{options.DefaultStore}'; use 'local' or 's3'.");
        if (string.Equals(options.DefaultStore, BackupStoreOptions.S3StoreName, StringComparison.OrdinalIgnoreCase) && !options.S3.Enabled)
            errors.Add("Backups:Stores:DefaultStore is 's3' but Backups:Stores:S3:BucketName is empty.");
        if (options.S3.Enabled)
        {
            var s3 = options.S3;
            if (s3.PartSizeBytes < 5 * 1024 * 1024)
                errors.Add($"Backups:Stores:S3:PartSizeBytes is {s3.PartSizeBytes}; S3 requires at least 5 MiB (5242880).");
            if (s3.MaxConcurrentParts is < 1 or > 16)
                errors.Add($"Backups:Stores:S3:MaxConcurrentParts is {s3.MaxConcurrentParts}; use 1 to 16.");
            if (!string.IsNullOrWhiteSpace(s3.ServiceUrl) && !Uri.TryCreate(s3.ServiceUrl, UriKind.Absolute, out _))
                errors.Add($"Backups:Stores:S3:ServiceUrl '{s3.ServiceUrl}' is not an absolute URL.");
            if (string.IsNullOrWhiteSpace(s3.AccessKeyId) != string.IsNullOrWhiteSpace(s3.SecretAccessKey))
                errors.Add("Backups:Stores:S3: set both AccessKeyId and SecretAccessKey, or neither (to use the AWS default credential chain).");
            if (s3.Prefix.StartsWith('/') || s3.Prefix.Contains('\\', StringComparison.Ordinal))
                errors.Add($"Backups:Stores:S3:Prefix '{s3.Prefix}' must be relative and '/'-separated.");
        }

        foreach (var (store, retention) in new (string, BackupStoreRetentionOptions)[] { ("Local", options.Local), ("S3", options.S3) })
        {
            if (retention.MinimumKeep < 0)
                errors.Add($"Backups:Stores:{store}:MinimumKeep must be 0 or more.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
