using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Storage;

/// <summary>
/// At start, asks each S3 store configured with <c>ObjectLock</c> for its bucket's Object Lock configuration
/// (<c>GetObjectLockConfiguration</c>). A bucket without Object Lock enabled is refused: the server does not start
/// (<see cref="OptionsValidationException"/>, exit code 78) instead of failing every backup later. A bucket that cannot
/// be reached at start is logged and does not block the start (a recovery must not wait for S3); its writes then fail
/// loudly on their own.
/// </summary>
internal sealed class ObjectLockStartupCheck(IBackupStoreProvider stores, ILogger<ObjectLockStartupCheck> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var refusals = await CheckAsync(stores, logger, cancellationToken);
        if (refusals.Count > 0)
            throw new OptionsValidationException("Backups:Stores", typeof(BackupStoreOptions), refusals);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The refusals (empty when every locking store's bucket has Object Lock enabled, or could not be asked).</summary>
    internal static async Task<IReadOnlyList<string>> CheckAsync(IBackupStoreProvider stores, ILogger logger, CancellationToken cancellationToken)
    {
        var refusals = new List<string>();
        foreach (var name in stores.StoreNames.Order(StringComparer.Ordinal))
        {
            if (stores.Get(name) is not S3BackupStore { ObjectLock.Enabled: true } s3)
                continue;
            var section = string.Equals(name, BackupStoreOptions.OffsiteStoreName, StringComparison.OrdinalIgnoreCase) ? "Backups:Stores:Offsite" : "Backups:Stores:S3";
            try
            {
                if (await s3.CheckObjectLockSupportAsync(cancellationToken) is { } why)
                    refusals.Add($"{section}:ObjectLock:Mode is {s3.ObjectLock.Mode}, but {why}. Object Lock can only be enabled when a bucket is created (aws s3api create-bucket --object-lock-enabled-for-bucket): use such a bucket, or set {section}:ObjectLock:Mode to None.");
                else
                    Log.ObjectLockConfirmed(logger, name, s3.Location, s3.ObjectLock.Mode, s3.ObjectLock.RetainDays);
            }
            catch (Backups.BackupException ex) when (!cancellationToken.IsCancellationRequested)
            {
                Log.ObjectLockNotChecked(logger, name, s3.Location, ex.Message);
            }
        }

        return refusals;
    }
}
