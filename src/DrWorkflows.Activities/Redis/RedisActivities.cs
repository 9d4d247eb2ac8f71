using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Activities.Redis;

// A new BGSAVE and a fresh file are harmless; the file is replaced atomically.
[Activity("DrWorkflows", "Redis", "Takes an RDB snapshot of Redis (BGSAVE, wait, copy) to a file and records its size, SHA-256 and key count.", SafeToRerun = true)]
public sealed class SnapshotRedis : CodeActivity<RedisSnapshot>
{
    [Input(Description = "File to write the dump to, e.g. /backups/redis/dump-<date>.rdb.", Required = true)]
    public Input<string>? OutputPath { get; set; }

    protected override async ValueTask<RedisSnapshot> RunAsync(ActivityExecutionContext context)
    {
        var snapshot = await context.GetRequiredService<IRedisService>().SnapshotToFileAsync(context.Get(OutputPath)!, context.CancellationToken);
        context.AddJournalData("redis", new JsonObject
        {
            ["server"] = snapshot.Server,
            ["source"] = snapshot.Source.ToString(),
            ["savedAt"] = snapshot.SavedAt,
            ["keys"] = snapshot.Keys,
            ["path"] = snapshot.Path,
            ["bytes"] = snapshot.Bytes,
            ["sha256"] = snapshot.Sha256,
        });
        return snapshot;
    }
}

// Replaces the whole data set and restarts Redis: never repeated without an operator.
[Activity("DrWorkflows", "Redis", "Restores Redis from an RDB file: stops it, puts the dump in place, starts it and checks the key count.")]
public sealed class RestoreRedis : CodeActivity<RedisRestoreResult>
{
    [Input(Description = "The RDB file to restore.", Required = true)]
    public Input<string>? DumpPath { get; set; }

    [Input(Description = "Fail when Redis holds fewer keys than this after the restore (e.g. the snapshot's key count).")]
    public Input<long?>? ExpectedMinimumKeys { get; set; }

    protected override async ValueTask<RedisRestoreResult> RunAsync(ActivityExecutionContext context)
    {
        var result = await context.GetRequiredService<IRedisService>().RestoreAsync(context.Get(DumpPath)!, context.Get(ExpectedMinimumKeys), context.CancellationToken);
        context.AddJournalData("redis", new JsonObject { ["server"] = result.Server, ["target"] = result.Target, ["keys"] = result.Keys, ["seconds"] = result.Elapsed.TotalSeconds });
        return result;
    }
}
