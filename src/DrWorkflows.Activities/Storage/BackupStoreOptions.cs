using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Storage;

/// <summary>
/// Backup stores (configuration section <c>Backups:Stores</c>): the local directory (the embedded default), an
/// optional S3 bucket and an optional offsite S3 bucket (another region or endpoint), with retention per kind of backup.
/// </summary>
public sealed class BackupStoreOptions
{
    public const string LocalStoreName = "local";
    public const string S3StoreName = "s3";
    public const string OffsiteStoreName = "offsite";

    /// <summary>Store used when an activity names none: <c>local</c> (default) or <c>s3</c>.</summary>
    public string DefaultStore { get; set; } = LocalStoreName;

    public LocalBackupStoreOptions Local { get; set; } = new();

    /// <summary>S3 store; leave <see cref="S3BackupStoreOptions.BucketName"/> empty to disable it.</summary>
    public S3BackupStoreOptions S3 { get; set; } = new();

    /// <summary>
    /// The offsite copy (store <c>offsite</c>): a second S3 bucket in another region or at another endpoint, with its own
    /// credentials and retention, that <c>CopyToOffsite</c> copies every new set to. Leave its BucketName empty to disable it.
    /// </summary>
    public S3BackupStoreOptions Offsite { get; set; } = new();

    /// <summary>The configured S3 stores, by store name, with their configuration section.</summary>
    internal IEnumerable<(string Store, string Section, S3BackupStoreOptions Options)> S3Stores()
    {
        if (S3.Enabled)
            yield return (S3StoreName, "Backups:Stores:S3", S3);
        if (Offsite.Enabled)
            yield return (OffsiteStoreName, "Backups:Stores:Offsite", Offsite);
    }
}

/// <summary>How S3 Object Lock protects the objects of a store: none, or the S3 retention mode.</summary>
public enum BackupObjectLockMode
{
    /// <summary>No retention is asked for (the bucket's default retention, if any, still applies).</summary>
    None,

    /// <summary>GOVERNANCE: users with <c>s3:BypassGovernanceRetention</c> can still delete before the date.</summary>
    Governance,

    /// <summary>COMPLIANCE: nobody, not even the root account, can delete or shorten it before the date.</summary>
    Compliance,
}

/// <summary>
/// Immutable backups (<c>Backups:Stores:S3:ObjectLock</c>, <c>Backups:Stores:Offsite:ObjectLock</c>): every object of a
/// set is written with an Object Lock retention date. The bucket must have Object Lock enabled (checked at start).
/// </summary>
public sealed class ObjectLockOptions
{
    /// <summary><c>None</c> (default), <c>Governance</c> or <c>Compliance</c>.</summary>
    public BackupObjectLockMode Mode { get; set; } = BackupObjectLockMode.None;

    /// <summary>Days each object stays locked after it is written (needed with a mode; e.g. 30).</summary>
    public int RetainDays { get; set; }

    internal bool Enabled => Mode != BackupObjectLockMode.None;

    /// <summary>The retention date of an object written at <paramref name="now"/>: now + <see cref="RetainDays"/>, rounded up to the second.</summary>
    internal DateTimeOffset RetainUntil(DateTimeOffset now)
    {
        var until = now.AddDays(RetainDays);
        var rest = until.UtcTicks % TimeSpan.TicksPerSecond;
        return new DateTimeOffset(until.UtcTicks - rest + (rest == 0 ? 0 : TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }

    /// <summary>The S3 name of the mode (<c>GOVERNANCE</c>, <c>COMPLIANCE</c>).</summary>
    internal string S3Mode => Mode.ToString().ToUpperInvariant();
}

/// <summary>Retention settings shared by both stores.</summary>
public abstract class BackupStoreRetentionOptions
{
    /// <summary>
    /// Days to keep a backup set, by kind (<c>postgres</c>, <c>globals</c>, <c>redis</c>, <c>media</c>);
    /// the key <c>default</c> applies to kinds not listed. A value of 0 or less keeps that kind forever.
    /// </summary>
    public Dictionary<string, int> RetentionDays { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Sets to keep per source, by kind, counted from the newest (e.g. <c>docker-config</c>: 10, the plan's "last 10"):
    /// older ones are expired whatever their age. 0 or less: no count limit. Applies together with
    /// <see cref="RetentionDays"/> (a set goes when either expires it) and never overrides <see cref="MinimumKeep"/>,
    /// <see cref="KeepNewestVerified"/> or an Object Lock.
    /// </summary>
    public Dictionary<string, int> KeepLast { get; set; } = new(StringComparer.OrdinalIgnoreCase) { ["docker-config"] = 10 };

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

    /// <summary>How many of a kind's newest sets per source to keep, or <c>null</c> for no count limit.</summary>
    public int? KeepLastFor(string kind) => KeepLast.TryGetValue(kind, out var count) && count > 0 ? count : null;
}

/// <summary>The local directory store (the plan's <c>/backups</c>).</summary>
public sealed class LocalBackupStoreOptions : BackupStoreRetentionOptions
{
    public LocalBackupStoreOptions()
    {
        RetentionDays["default"] = 7;
        RetentionDays["drill-report"] = 400; // audit evidence: a year of drill reports and then some
        RetentionDays["monitoring"] = 30; // the plan: weekly, kept 30 days
        RetentionDays["docker-config"] = 0; // kept by count (KeepLast: the last 10), not by age
    }

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
        RetentionDays["drill-report"] = 400; // audit evidence: a year of drill reports and then some
        RetentionDays["monitoring"] = 30; // the plan: weekly, kept 30 days
        RetentionDays["docker-config"] = 0; // kept by count (KeepLast: the last 10), not by age
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

    /// <summary>Immutable backups: the Object Lock retention every object of a set is written with (default none).</summary>
    public ObjectLockOptions ObjectLock { get; set; } = new();

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
            errors.Add($"Backups:Stores:DefaultStore is '{options.DefaultStore}'; use 'local' or 's3' (the offsite store only takes copies).");
        if (string.Equals(options.DefaultStore, BackupStoreOptions.S3StoreName, StringComparison.OrdinalIgnoreCase) && !options.S3.Enabled)
            errors.Add("Backups:Stores:DefaultStore is 's3' but Backups:Stores:S3:BucketName is empty.");
        foreach (var (_, section, s3) in options.S3Stores())
            ValidateS3(section, s3, errors);
        if (options.Offsite.Enabled && options.S3.Enabled
            && string.Equals(options.Offsite.BucketName, options.S3.BucketName, StringComparison.Ordinal)
            && string.Equals(options.Offsite.ServiceUrl ?? string.Empty, options.S3.ServiceUrl ?? string.Empty, StringComparison.OrdinalIgnoreCase)
            && string.Equals(options.Offsite.Region, options.S3.Region, StringComparison.OrdinalIgnoreCase))
            errors.Add($"Backups:Stores:Offsite names the same bucket '{options.S3.BucketName}' at the same endpoint and region as Backups:Stores:S3: an offsite copy must be another bucket in another region or at another endpoint.");

        foreach (var (store, retention) in new (string, BackupStoreRetentionOptions)[] { ("Local", options.Local), ("S3", options.S3), ("Offsite", options.Offsite) })
        {
            if (retention.MinimumKeep < 0)
                errors.Add($"Backups:Stores:{store}:MinimumKeep must be 0 or more.");
            foreach (var (kind, count) in retention.KeepLast)
            {
                if (!DrWorkflows.Activities.Backups.BackupKinds.All.Contains(kind, StringComparer.OrdinalIgnoreCase))
                    errors.Add($"Backups:Stores:{store}:KeepLast names the unknown kind '{kind}'; use one of {string.Join(", ", DrWorkflows.Activities.Backups.BackupKinds.All)}.");
                else if (count < 0)
                    errors.Add($"Backups:Stores:{store}:KeepLast:{kind} is {count}; give the number of newest sets to keep (0 for no count limit).");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateS3(string section, S3BackupStoreOptions s3, List<string> errors)
    {
        if (s3.PartSizeBytes < 5 * 1024 * 1024)
            errors.Add($"{section}:PartSizeBytes is {s3.PartSizeBytes}; S3 requires at least 5 MiB (5242880).");
        if (s3.MaxConcurrentParts is < 1 or > 16)
            errors.Add($"{section}:MaxConcurrentParts is {s3.MaxConcurrentParts}; use 1 to 16.");
        if (!string.IsNullOrWhiteSpace(s3.ServiceUrl) && !Uri.TryCreate(s3.ServiceUrl, UriKind.Absolute, out _))
            errors.Add($"{section}:ServiceUrl '{s3.ServiceUrl}' is not an absolute URL.");
        if (string.IsNullOrWhiteSpace(s3.AccessKeyId) != string.IsNullOrWhiteSpace(s3.SecretAccessKey))
            errors.Add($"{section}: set both AccessKeyId and SecretAccessKey, or neither (to use the AWS default credential chain).");
        if (s3.Prefix.StartsWith('/') || s3.Prefix.Contains('\\', StringComparison.Ordinal))
            errors.Add($"{section}:Prefix '{s3.Prefix}' must be relative and '/'-separated.");
        if (!Enum.IsDefined(s3.ObjectLock.Mode))
            errors.Add($"{section}:ObjectLock:Mode is '{s3.ObjectLock.Mode}'; use None, Governance or Compliance.");
        else if (s3.ObjectLock.Enabled && s3.ObjectLock.RetainDays is < 1 or > 36500)
            errors.Add($"{section}:ObjectLock:RetainDays is {s3.ObjectLock.RetainDays}; with Mode {s3.ObjectLock.Mode} give the days each backup stays locked (1 to 36500).");
        else if (!s3.ObjectLock.Enabled && s3.ObjectLock.RetainDays != 0)
            errors.Add($"{section}:ObjectLock:RetainDays is {s3.ObjectLock.RetainDays} but ObjectLock:Mode is None: set Mode to Governance or Compliance, or remove RetainDays.");
    }
}
