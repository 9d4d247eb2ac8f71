using DrWorkflows.Activities.Media;

namespace DrWorkflows.Activities.Backups;

/// <summary>Retention over backup sets and the media content objects they share.</summary>
public interface IBackupRetentionService
{
    /// <summary>Deletes expired sets (see <see cref="Storage.BackupStoreRetentionOptions"/>), then unreferenced media objects.</summary>
    Task<RetentionResult> ApplyAsync(RetentionRequest request, CancellationToken cancellationToken);
}

internal sealed class BackupRetentionService(IBackupCatalog catalog, IMediaBackupService media) : IBackupRetentionService
{
    public async Task<RetentionResult> ApplyAsync(RetentionRequest request, CancellationToken cancellationToken)
    {
        var result = await catalog.ApplyRetentionAsync(request, cancellationToken);
        if (request.Kind is null or BackupKinds.Media)
        {
            var objects = await media.CollectGarbageAsync(request.Store, request.DryRun, cancellationToken);
            if (objects > 0)
                result = result with { Deleted = [.. result.Deleted, $"{objects} unreferenced media object(s)"] };
        }

        return result;
    }
}
