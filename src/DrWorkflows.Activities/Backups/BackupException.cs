using DrWorkflows.Core;

namespace DrWorkflows.Activities.Backups;

/// <summary>
/// An expected failure of a backup, restore, verification or store operation. The message names what failed
/// and what to do next; <see cref="ActivityFailureException.Code"/> classifies it (see <see cref="BackupErrorCodes"/>).
/// </summary>
public sealed class BackupException : ActivityFailureException
{
    public BackupException(string code, string message, bool retryable = false, Exception? innerException = null)
        : base(message, retryable, innerException)
    {
        Code = code;
    }
}

/// <summary>Stable codes of <see cref="BackupException"/>.</summary>
public static class BackupErrorCodes
{
    /// <summary>A stored backup's bytes do not match the SHA-256 (or size) recorded in its manifest.</summary>
    public const string ChecksumMismatch = "backup.checksum-mismatch";

    /// <summary>A command-line tool (pg_dump, zstd, gpg, age...) was not found.</summary>
    public const string ToolNotFound = "backup.tool-not-found";

    /// <summary>A command-line tool exited with an error.</summary>
    public const string ToolFailed = "backup.tool-failed";

    /// <summary>The backup store (directory or bucket) is missing, unreachable or refused the operation.</summary>
    public const string StoreError = "backup.store-error";

    /// <summary>The backup store or a temporary directory ran out of space.</summary>
    public const string StoreFull = "backup.store-full";

    /// <summary>A backup set or object does not exist.</summary>
    public const string NotFound = "backup.not-found";

    /// <summary>No backup fits the request (for example none verified before the given time).</summary>
    public const string NoRestorePoint = "backup.no-restore-point";

    /// <summary>Decryption failed: wrong or missing private key, or wrong passphrase.</summary>
    public const string DecryptionFailed = "backup.decryption-failed";

    /// <summary>The encryption or key configuration is unusable.</summary>
    public const string EncryptionConfig = "backup.encryption-config";

    /// <summary>The PostgreSQL server could not be reached or did not become ready in time.</summary>
    public const string DatabaseUnreachable = "postgres.unreachable";

    /// <summary>The PostgreSQL server refused the credentials.</summary>
    public const string DatabaseAuthentication = "postgres.authentication-failed";

    /// <summary>The PostgreSQL server answered with an error (missing database, permission...).</summary>
    public const string DatabaseError = "postgres.error";

    /// <summary>A restore target is not in the expected state (database exists when a new one was asked...).</summary>
    public const string RestoreTarget = "postgres.restore-target";

    /// <summary>
    /// A verification was refused: no server that can read the dump is available (no container image of the
    /// source's major version, a verification server older than the source, client tools too old). Nothing is recorded.
    /// </summary>
    public const string VerificationRefused = "backup.verification-refused";

    /// <summary>An input or option has an invalid value.</summary>
    public const string InvalidRequest = "backup.invalid-request";
}
