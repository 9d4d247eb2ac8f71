using System.Text.Json.Nodes;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Drills;

// The set id is the execution id: a re-run replaces the same set.
[Activity("DrWorkflows", "Redis", "Backs up Redis (BGSAVE, the RDB streamed through compression and encryption) into a backup store as a set with a manifest, so it gets retention and restore-point selection like the databases.", SafeToRerun = true)]
public sealed class BackupRedis : Activity
{
    [Input(Description = "Backup store: local or s3 (default: Backups:Stores:DefaultStore).", Options = ["", "local", "s3"])]
    public Input<string>? Store { get; set; }

    [Input(Description = "Name of the Redis instance in the store.", DefaultValue = "redis")]
    public Input<string>? SourceName { get; set; }

    [Output(Description = "The stored backup set.")]
    public Output<BackupSetSummary> Backup { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var set = await context.GetRequiredService<IRedisStoreBackup>().BackupAsync(
            context.Get(SourceName) is { Length: > 0 } source ? source : "redis",
            context.ExecutionId,
            context.Get(Store) is { Length: > 0 } store ? store : null,
            context.WorkflowInstanceId,
            context.CancellationToken);
        var summary = BackupSetSummary.From(set);
        context.Set(Backup, summary);
        context.AddJournalData("backup", summary.ToJournal());
        await context.CompleteAsync();
    }
}

// Writes a local file only (atomically); a repeat fetches the same set again.
[Activity("DrWorkflows", "Redis", "Downloads a Redis backup set (the newest when no set is named), checks its SHA-256, decrypts and decompresses it to an RDB file for RestoreRedis.", SafeToRerun = true)]
public sealed class FetchRedisBackup : Activity
{
    [Input(Description = "Backup store: local or s3 (default: Backups:Stores:DefaultStore).", Options = ["", "local", "s3"])]
    public Input<string>? Store { get; set; }

    [Input(Description = "Name of the Redis instance in the store.", DefaultValue = "redis")]
    public Input<string>? SourceName { get; set; }

    [Input(Description = "Set id; empty for the newest set.")]
    public Input<string>? SetId { get; set; }

    [Input(Description = "Where to write the RDB file, e.g. /backups/redis/restore.rdb.", Required = true)]
    public Input<string>? OutputPath { get; set; }

    [Output(Description = "The RDB file, the set it came from, its time and key count.")]
    public Output<FetchedRedisBackup> Dump { get; set; } = new();

    [Output(Description = "Path of the RDB file (for RestoreRedis's DumpPath).")]
    public Output<string> DumpPath { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var fetched = await context.GetRequiredService<IRedisStoreBackup>().FetchAsync(
            context.Get(SourceName) is { Length: > 0 } source ? source : "redis",
            context.Get(SetId) is { Length: > 0 } id ? id : null,
            context.Get(Store) is { Length: > 0 } store ? store : null,
            context.Get(OutputPath)!,
            null,
            context.CancellationToken);
        context.Set(Dump, fetched);
        context.Set(DumpPath, fetched.Path);
        context.AddJournalData("redisBackup", new JsonObject { ["store"] = fetched.Store, ["setId"] = fetched.SetId, ["takenAt"] = fetched.TakenAt, ["keys"] = fetched.Keys, ["path"] = fetched.Path, ["bytes"] = fetched.Bytes });
        await context.CompleteAsync();
    }
}

// Reads the stores and records the verification in each set's manifest; a repeat finds nothing new to verify.
[Activity("DrWorkflows", "Redis", "Verifies the new Redis backup sets in every store (the offsite copy too): each read back from that store, checked against the manifest, decrypted and decompressed, its SHA-256 compared with the RDB's as written, and parsed key by key with its checksum by redis-check-rdb; 'last verified' is recorded per set and store. Failed when a set does not pass or a store cannot be read.", SafeToRerun = true, Outcomes = [Verified, Failed])]
public sealed class VerifyRedisBackups : Activity
{
    public const string Verified = ArchiveVerification.VerifiedOutcome;
    public const string Failed = ArchiveVerification.FailedOutcome;

    [Input(Description = "Name of the Redis instance in the stores.", DefaultValue = "redis")]
    public Input<string>? SourceName { get; set; }

    [Input(Description = "Stores to verify in; empty for every configured store.", UIHint = InputUIHints.MultiText)]
    public Input<List<string>>? Stores { get; set; }

    [Output(Description = "The sets verified (one line each, with how) and the problems.")]
    public Output<ArchiveVerification?> Result { get; set; } = new();

    public override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var result = await context.GetRequiredService<RedisBackupVerifier>().VerifyNewAsync(
            context.Get(SourceName) is { Length: > 0 } source ? source : "redis", context.Get(Stores), context.CancellationToken);
        await result.CompleteStepAsync(context, Result);
    }
}
