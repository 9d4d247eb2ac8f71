using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Text;
using System.Text.RegularExpressions;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Backups.Pipeline;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Postgres;

/// <summary>
/// Restores a pg_dump custom archive into a new, empty database while the archive is still being downloaded and
/// decoded into a <see cref="GrowingFile"/>. <c>pg_restore -j</c> needs the whole archive (it seeks), so without
/// this the download would have to finish first. pg_restore reads the archive section by section instead:
/// <list type="number">
/// <item><c>pg_restore -l</c> reads the table of contents (the start of the archive) and lists the data and post-data items;</item>
/// <item><c>pg_restore --section=pre-data</c> creates the schema (tables, types, functions, views...);</item>
/// <item>up to N <c>pg_restore -L</c> processes load the table data at the same time, the tables shared among them
/// by their size in the manifest (largest first, each to the least loaded process); each reads the file from its
/// start as it grows and skips what is not its own. A table holding more than its share of the data is loaded
/// by N sessions at once instead (<c>pg_restore -f -</c> prints its rows, a <see cref="TableRowDealer"/> hands
/// them out), the other tables by N - 1 processes;</item>
/// <item>each process, once its tables are loaded, builds their primary keys, unique constraints and triggers;</item>
/// <item>once the whole archive arrived and matched its checksum, <c>pg_restore -j N</c> builds the rest of the
/// post-data section: indexes, foreign keys, materialized views' data...</item>
/// </list>
/// The three sections together are the whole archive. The first failure stops every process; the caller drops the
/// database it created.
/// </summary>
internal sealed partial class SectionedRestore(
    string pgRestore,
    IReadOnlyDictionary<string, string?> environment,
    PostgresServer server,
    string database,
    IReadOnlyList<string> options,
    long splitTableMinimumBytes,
    ILogger logger)
{
    /// <summary>Runs the steps; <paramref name="downloaded"/> completes when the archive is whole and verified.</summary>
    public async Task RunAsync(GrowingFile archive, Task downloaded, int jobs, IReadOnlyList<TableFacts>? tables, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var items = await ListItemsAsync(archive, "data", cancellationToken);
        var postItems = await ListItemsAsync(archive, "post-data", cancellationToken);
        await PgRestoreAsync("pg_restore (schema)", archive, ["--section=pre-data"], cancellationToken);
        Log.RestoreSectionDone(logger, database, "schema", watch.Elapsed.TotalSeconds);

        var listDirectory = Path.GetDirectoryName(archive.Path)!;
        var split = TableToSplit(items, tables, jobs, splitTableMinimumBytes);
        // The dealer's sessions speak UTF-8 (Npgsql), so only a UTF-8 dump's rows can go through them as they are.
        if (split is not null && !string.Equals(await ArchiveEncodingAsync(archive, listDirectory, cancellationToken), "UTF8", StringComparison.OrdinalIgnoreCase))
            split = null;
        var shares = ShareDataItems(split is null ? items : [.. items.Where(item => item != split)], tables, split is null ? jobs : jobs - 1);
        using var dataFailed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var loads = new List<Task>();
        var builtEarly = new List<string>();
        if (split is not null)
        {
            var early = OwnConstraintsAndTriggers(postItems, [split]);
            builtEarly.AddRange(early);
            loads.Add(StopOthersOnFailureAsync(LoadSplitTableAsync(archive, split, jobs, Path.Combine(listDirectory, "split.list"), early, dataFailed.Token), dataFailed));
        }

        for (var i = 0; i < shares.Count; i++)
        {
            var list = Path.Combine(listDirectory, $"data-{i + 1}.list");
            await File.WriteAllLinesAsync(list, shares[i], cancellationToken);
            var early = OwnConstraintsAndTriggers(postItems, shares[i]);
            builtEarly.AddRange(early);
            loads.Add(StopOthersOnFailureAsync(LoadShareAsync(archive, i, shares.Count, list, early, dataFailed.Token), dataFailed));
        }

        Log.RestoreDataStarted(logger, database, items.Count, shares.Count);
        await WhenAllAsync(loads);
        Log.RestoreSectionDone(logger, database, "data", watch.Elapsed.TotalSeconds);

        await downloaded;
        var rest = postItems.Except(builtEarly, StringComparer.Ordinal).ToList();
        if (rest.Count > 0)
        {
            var list = Path.Combine(listDirectory, "post-data.list");
            await File.WriteAllLinesAsync(list, rest, cancellationToken);
            var postData = Stage("pg_restore (indexes and constraints)", [$"--jobs={jobs}", $"--use-list={list}", archive.Path]);
            await StreamPipeline.RunAsync(null, [postData], Stream.Null, logger, cancellationToken);
        }

        Log.RestoreSectionDone(logger, database, "indexes and constraints", watch.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Loads one share of the table data, then builds the primary keys, unique constraints and triggers of its own
    /// tables while the other shares still load (the cores would otherwise wait for the largest table).
    /// </summary>
    private async Task LoadShareAsync(GrowingFile archive, int index, int count, string list, IReadOnlyList<string> early, CancellationToken cancellationToken)
    {
        await PgRestoreAsync($"pg_restore (data {index + 1}/{count})", archive, [$"--use-list={list}"], cancellationToken);
        await BuildEarlyAsync($"data {index + 1}/{count}", archive, list, early, cancellationToken);
    }

    /// <summary>Builds the post-data items of tables that are loaded (<paramref name="early"/>), next to their data list.</summary>
    private async Task BuildEarlyAsync(string what, GrowingFile archive, string dataList, IReadOnlyList<string> early, CancellationToken cancellationToken)
    {
        if (early.Count == 0)
            return;
        var earlyList = Path.ChangeExtension(dataList, ".post.list");
        await File.WriteAllLinesAsync(earlyList, early, cancellationToken);
        await PgRestoreAsync($"pg_restore (constraints of {what})", archive, [$"--use-list={earlyList}"], cancellationToken);
    }

    /// <summary>
    /// Loads the table that holds more than its share of the data with <paramref name="sessions"/> sessions at once:
    /// <c>pg_restore -f -</c> prints its data as a script and a <see cref="TableRowDealer"/> hands the rows to the
    /// sessions. Then its own keys and triggers are built, as for a share.
    /// </summary>
    private async Task LoadSplitTableAsync(GrowingFile archive, string item, int sessions, string list, IReadOnlyList<string> early, CancellationToken cancellationToken)
    {
        await File.WriteAllLinesAsync(list, [item], cancellationToken);
        var table = TableDataItem().Match(item) is { Success: true } m ? $"{m.Groups["schema"].Value}.{m.Groups["name"].Value}" : item;
        Log.RestoreSplitTableStarted(logger, database, table, sessions);
        await using (var dealer = new TableRowDealer(table, sessions, TableRowDealer.NpgsqlSessions(server, database)))
        {
            await using (var reader = archive.OpenReader())
                await StreamPipeline.RunAsync(reader, [Stage($"pg_restore (rows of {table})", ["--file=-", $"--use-list={list}", .. options], connects: false)], dealer, logger, cancellationToken);
            await dealer.CompleteAsync(cancellationToken);
            Log.RestoreSplitTableDone(logger, database, table, dealer.Rows, sessions);
        }

        await BuildEarlyAsync(table, archive, list, early, cancellationToken);
    }

    /// <summary>
    /// The table data item to load with <paramref name="jobs"/> sessions, or null: the largest table, when there
    /// are several jobs, its size (from the manifest) is at least <paramref name="minimumBytes"/> (-1: never) and it
    /// holds more than its share of the data (the total of all tables divided by the jobs).
    /// </summary>
    internal static string? TableToSplit(IReadOnlyList<string> items, IReadOnlyList<TableFacts>? tables, int jobs, long minimumBytes)
    {
        if (jobs < 2 || minimumBytes < 0 || tables is not { Count: > 0 } || tables.Any(t => t.SizeBytes is null))
            return null;
        var sizes = tables.ToDictionary(t => (t.Schema, t.Name), t => t.SizeBytes!.Value);
        var weighted = items.Select(line => (Line: line, Size: TableDataItem().Match(line) is { Success: true } m
                && sizes.TryGetValue((m.Groups["schema"].Value, m.Groups["name"].Value), out var size) ? size : 0L))
            .Where(item => item.Size > 0).ToList();
        if (weighted.Count == 0)
            return null;
        var largest = weighted.MaxBy(item => item.Size);
        return largest.Size >= minimumBytes && largest.Size * jobs > weighted.Sum(item => item.Size) ? largest.Line : null;
    }

    /// <summary>
    /// The post-data items that belong to the tables of one share alone: constraints (primary keys, unique,
    /// exclusion) and triggers, whose listing names their table. Foreign keys (they involve another table),
    /// indexes (their listing does not name the table) and everything else wait for the end.
    /// </summary>
    internal static List<string> OwnConstraintsAndTriggers(IReadOnlyList<string> postItems, IReadOnlyList<string> share)
    {
        var tables = share.Select(item => TableDataItem().Match(item)).Where(m => m.Success)
            .Select(m => (m.Groups["schema"].Value, m.Groups["name"].Value)).ToHashSet();
        return [.. postItems.Where(item => OwnItem().Match(item) is { Success: true } m && tables.Contains((m.Groups["schema"].Value, m.Groups["name"].Value)))];
    }

    /// <summary>
    /// Shares the data items of a table-of-contents listing among at most <paramref name="jobs"/> lists: table data
    /// largest first, each to the list with the least data so far (sizes from the manifest, row counts for older
    /// manifests); items of unknown size (sequence values, large objects, tables the manifest does not name) to the
    /// list with the fewest items. Each list keeps the archive's order, which a reader of a non-seekable archive
    /// must follow. Lists without items are left out.
    /// </summary>
    internal static List<List<string>> ShareDataItems(IReadOnlyList<string> items, IReadOnlyList<TableFacts>? tables, int jobs)
    {
        var bySize = tables is { Count: > 0 } && tables.All(t => t.SizeBytes is not null);
        var weights = new Dictionary<(string, string), long>();
        foreach (var table in tables ?? [])
            weights[(table.Schema, table.Name)] = Math.Max(1, bySize ? table.SizeBytes!.Value : table.RowCount);

        var weighted = items.Select((line, index) => (Line: line, Index: index, Weight: TableDataItem().Match(line) is { Success: true } m
                && weights.TryGetValue((m.Groups["schema"].Value, m.Groups["name"].Value), out var weight) ? weight : 0L))
            .OrderByDescending(item => item.Weight).ThenBy(item => item.Index)
            .ToList();
        var count = Math.Clamp(weighted.Count(item => item.Weight > 0), 1, Math.Max(1, jobs));
        var shares = Enumerable.Range(0, count).Select(_ => (Load: 0L, Items: new List<(string Line, int Index)>())).ToArray();
        foreach (var item in weighted)
        {
            var target = item.Weight > 0
                ? Array.IndexOf(shares, shares.MinBy(share => share.Load))
                : Array.IndexOf(shares, shares.MinBy(share => share.Items.Count));
            shares[target].Items.Add((item.Line, item.Index));
            shares[target].Load += item.Weight;
        }

        return [.. shares.Where(share => share.Items.Count > 0).Select(share => share.Items.OrderBy(item => item.Index).Select(item => item.Line).ToList())];
    }

    /// <summary>The items of one section of the archive, as <c>pg_restore -l</c> lists them (one line each).</summary>
    private async Task<List<string>> ListItemsAsync(GrowingFile archive, string section, CancellationToken cancellationToken)
    {
        using var listing = new MemoryStream();
        await using (var reader = archive.OpenReader())
            await StreamPipeline.RunAsync(reader, [Stage("pg_restore (list)", ["--list", $"--section={section}"], connects: false)], listing, logger, cancellationToken);
        return [.. Encoding.UTF8.GetString(listing.ToArray()).Split('\n')
            .Select(line => line.TrimEnd('\r'))
            .Where(line => line.Length > 0 && !line.StartsWith(';'))];
    }

    /// <summary>The dump's encoding: the <c>SET client_encoding</c> of the script pg_restore prints for no item at all.</summary>
    private async Task<string?> ArchiveEncodingAsync(GrowingFile archive, string listDirectory, CancellationToken cancellationToken)
    {
        var none = Path.Combine(listDirectory, "none.list");
        await File.WriteAllTextAsync(none, "", cancellationToken);
        using var script = new MemoryStream();
        await using (var reader = archive.OpenReader())
            await StreamPipeline.RunAsync(reader, [Stage("pg_restore (encoding)", ["--file=-", $"--use-list={none}"], connects: false)], script, logger, cancellationToken);
        return ClientEncoding().Match(Encoding.UTF8.GetString(script.ToArray())) is { Success: true } m ? m.Groups["encoding"].Value : null;
    }

    /// <summary>One pg_restore into the database, reading the archive as it grows.</summary>
    private async Task PgRestoreAsync(string name, GrowingFile archive, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        await using var reader = archive.OpenReader();
        await StreamPipeline.RunAsync(reader, [Stage(name, arguments)], Stream.Null, logger, cancellationToken);
    }

    private ProcessStage Stage(string name, IReadOnlyList<string> arguments, bool connects = true) => new(name, pgRestore,
        connects ? [$"--dbname=dbname={PostgresConnections.ConnInfoValue(database)}", "--no-password", .. options, .. arguments] : arguments)
    {
        Environment = environment,
        RemoveEnvironmentPrefixes = ["PG"],
        MayStopReadingEarly = true,
        Classify = (_, stderr) => PostgresConnections.ClassifyToolFailure("pg_restore", stderr, server, database)
            ?? new BackupException(BackupErrorCodes.ToolFailed,
                $"{PostgresConnections.FirstErrors(stderr)} (reported by {name} into database '{database}' on {server}). The new database is dropped; fix the cause and run the restore again."),
    };

    /// <summary>Waits for all; on failure throws the first real cause, not the cancellations it caused in the others.</summary>
    private static async Task WhenAllAsync(IReadOnlyList<Task> tasks)
    {
        try
        {
            await Task.WhenAll(tasks);
        }
        catch (Exception) when (tasks.Select(task => task.Exception?.InnerException).FirstOrDefault(ex => ex is not null and not OperationCanceledException) is { } cause)
        {
            ExceptionDispatchInfo.Throw(cause);
        }
    }

    private static async Task StopOthersOnFailureAsync(Task load, CancellationTokenSource others)
    {
        try
        {
            await load;
        }
        catch
        {
            await others.CancelAsync();
            throw;
        }
    }

    [GeneratedRegex(@"^SET client_encoding = '(?<encoding>[^']+)';", RegexOptions.CultureInvariant | RegexOptions.Multiline)]
    private static partial Regex ClientEncoding();

    [GeneratedRegex(@"^\d+; \d+ \d+ TABLE DATA (?<schema>\S+) (?<name>\S+) ", RegexOptions.CultureInvariant)]
    private static partial Regex TableDataItem();

    // "CONSTRAINT public customers customers_pkey owner", "TRIGGER public orders orders_touch owner" (not "FK CONSTRAINT").
    [GeneratedRegex(@"^\d+; \d+ \d+ (?:CONSTRAINT|TRIGGER) (?<schema>\S+) (?<name>\S+) \S", RegexOptions.CultureInvariant)]
    private static partial Regex OwnItem();
}
