using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Media;

/// <summary>Media volume backups (configuration section <c>Backups:Media</c>).</summary>
public sealed class MediaBackupOptions
{
    /// <summary>Files hashed and uploaded in parallel (default 3).</summary>
    public int Parallelism { get; set; } = 3;

    /// <summary>
    /// Reuse the previous backup's checksum of a file whose size and modification time did not change, instead of
    /// reading it again (rsync's quick check). Faster on large volumes; default false (every file is hashed).
    /// </summary>
    public bool ReuseChecksumsOfUnchangedFiles { get; set; }

    /// <summary>Content objects not referenced by any set are deleted by retention only when older than this (default 1 day).</summary>
    public TimeSpan UnreferencedObjectGrace { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// Where verification restores each new media set to check it (a private throwaway folder inside, removed after each
    /// set). It needs room for the largest set; default: the temp directory.
    /// </summary>
    public string? VerificationDirectory { get; set; }
}

internal sealed class MediaBackupOptionsValidator : IValidateOptions<MediaBackupOptions>
{
    public ValidateOptionsResult Validate(string? name, MediaBackupOptions options) =>
        options.Parallelism is < 1 or > 32
            ? ValidateOptionsResult.Fail("Backups:Media:Parallelism must be between 1 and 32.")
            : options.UnreferencedObjectGrace < TimeSpan.Zero
                ? ValidateOptionsResult.Fail("Backups:Media:UnreferencedObjectGrace must not be negative.")
                : ValidateOptionsResult.Success;
}
