using System.Globalization;
using System.Text.Json.Nodes;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.PgBackRest;
using DrWorkflows.Activities.Storage;
using DrWorkflows.Core.Activities.Scheduling;
using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Drills;

/// <summary>The two promises of a component: <c>RPO</c> and <c>RTO</c>.</summary>
public static class RecoveryObjectiveNames
{
    public const string Rpo = "RPO";
    public const string Rto = "RTO";
}

/// <summary>
/// One promise of the objectives table, checked: can it hold by design (schedule, measured backup and restore times),
/// and is it held now (the age of the newest verified backup in each store; null when that is unknown).
/// </summary>
public sealed record RecoveryPromise(string Component, string Objective, TimeSpan Target, bool CanHold, bool? IsHeldNow, string Reason)
{
    /// <summary>Name for people, e.g. <c>PostgreSQL (Main)</c>.</summary>
    public string DisplayName { get; init; } = Component;

    /// <summary>
    /// RPO promises with an offsite store (<c>Backups:Stores:Offsite</c>): true when the offsite store does not hold the
    /// newest backup of the primary stores (or could not be read, so its copy cannot be counted on); null without an
    /// offsite store or for RTO. The offsite copy never decides <see cref="IsHeldNow"/>: the primary backup still counts.
    /// </summary>
    public bool? OffsiteCopyMissing { get; init; }
}

/// <summary>Checks every promise of the objectives table (<see cref="RecoveryObjectivesOptions"/>) against the schedules and the stores.</summary>
public interface IRecoveryPromiseCheck
{
    /// <summary>RPO then RTO of each component, in the table's order. Never throws for an unreadable store (the promise says unknown).</summary>
    Task<IReadOnlyList<RecoveryPromise>> CheckAsync(CancellationToken cancellationToken);
}

/// <summary>
/// The objectives report. RPO: the backup interval (the component's backup workflow's trigger, else the plan's
/// schedule) plus the measured time to back up and transfer (the newest set in each store: completed − started, the
/// slowest store) must fit within the RPO; held now when the newest verified backup in every store is younger than
/// the RPO. RTO: the last measured restore (a drill's rehearsal of the component, or the verification restore of its
/// newest verified set, whichever is newer) must fit within the RTO; a restore never measured cannot be confirmed and
/// says so. Stateless components (RPO 0, nothing backed up) hold by design.
/// </summary>
internal sealed class RecoveryPromiseCheck(
    IOptions<RecoveryObjectivesOptions> options,
    IBackupCatalog catalog,
    IBackupStoreProvider stores,
    TimeProvider clock,
    ILogger<RecoveryPromiseCheck> logger,
    TriggerScheduler? triggers = null,
    IWorkflowInstanceStore? instances = null,
    IWalArchiveStatus? archiving = null,
    IPgBackRest? pgBackRest = null,
    IOptions<PgBackRestOptions>? pgBackRestOptions = null) : IRecoveryPromiseCheck
{
    /// <summary>How long one store may take to list a component's sets before the answer is "unknown".</summary>

    private static readonly string RehearsalType = "DrWorkflows." + nameof(RehearseRestore);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Container, string Stanza), (DateTimeOffset At, PgBackRestBackup? Newest, string? Unreadable)> infoCache = new();

    public async Task<IReadOnlyList<RecoveryPromise>> CheckAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = clock.GetUtcNow();
        var schedules = await SchedulesAsync(cancellationToken);
        var drills = await DrillRestoresAsync(settings.DrillWorkflow, cancellationToken);
        var archived = archiving is { Databases.Count: > 0 } ? await ArchivingAsync(archiving, cancellationToken) : new Dictionary<string, ArchivedFacts>();
        var promises = new List<RecoveryPromise>();
        foreach (var (component, objective) in settings.Components)
        {
            var name = objective.DisplayName ?? component;
            var stored = objective.BackupKind is { Length: > 0 } kind && objective.BackupSource is { Length: > 0 } source
                ? await ReadStoresAsync(kind, source, now, cancellationToken)
                : null;
            var rpo = archived.TryGetValue(component, out var wal) ? ArchivedRpo(component, name, objective, wal, stored, archiving!) : Rpo(component, name, objective, schedules, stored);
            promises.Add(rpo with { DisplayName = name, OffsiteCopyMissing = stored?.OffsiteCopyMissing });
            promises.Add(Rto(component, objective, stored, drills.GetValueOrDefault(component)) with { DisplayName = name });
        }

        return promises;
    }

    private static RecoveryPromise Rpo(string component, string name, RecoveryObjective objective, IReadOnlyDictionary<string, List<ScheduledTrigger>> schedules, StoreFacts? stored)
    {
        var target = objective.Rpo;
        if (target == TimeSpan.Zero && stored is null)
            return new RecoveryPromise(component, RecoveryObjectiveNames.Rpo, target, true, null, "Stateless (RPO 0): it keeps no data, so a recovery loses none; nothing is backed up.");

        var interval = Interval(objective, schedules);
        if (interval is null)
            return new RecoveryPromise(component, RecoveryObjectiveNames.Rpo, target, false, stored?.HeldNow(target), $"Nothing backs {name} up on a schedule (no Drills:Components:{component}:BackupWorkflow or BackupSchedule), so an RPO of {Format(target)} cannot hold.{stored?.Now(target)}");

        var (every, scheduleText) = interval.Value;
        var (duration, durationText) = stored?.SlowestBackup is { } slowest
            ? (slowest.Duration, $"{Format(slowest.Duration)} to back up and transfer (the newest set in store '{slowest.Store}', the slowest)")
            : (TimeSpan.Zero, stored is null
                ? "0 to back up and transfer (not measured: DrWorkflows does not back it up; set BackupKind and BackupSource)"
                : "0 to back up and transfer (not measured yet: no backup set in any store)");
        var worst = every + duration;
        var canHold = worst <= target;
        var verdict = canHold
            ? $"up to {Format(worst)} of data lost, within the RPO of {Format(target)}."
            : $"up to {Format(worst)} of data lost, more than the RPO of {Format(target)}: the promise cannot hold.";
        var reason = $"Backups every {Format(every)} ({scheduleText}) + {durationText} = {verdict}";
        return new RecoveryPromise(component, RecoveryObjectiveNames.Rpo, target, canHold, stored?.HeldNow(target), reason + (stored?.Now(target) ?? " Now: unknown, no backup source is configured."));
    }

    /// <summary>
    /// The RPO of a database whose WAL pgBackRest archives. By design: archive_timeout (as the server runs it; as
    /// configured when the server cannot be read) plus the transfer allowance must fit the RPO. Now: the server's
    /// archiver must not be failing, the WAL waiting to be archived must be younger than the RPO, and a repository must
    /// hold a base backup to replay it onto; unknown (null) when the server or the repositories cannot be read.
    /// </summary>
    private static RecoveryPromise ArchivedRpo(string component, string name, RecoveryObjective objective, ArchivedFacts facts, StoreFacts? stored, IWalArchiveStatus archiving)
    {
        var target = objective.Rpo;
        var state = facts.State;
        var statistics = state.Statistics;
        var timeout = statistics?.ArchiveTimeout ?? facts.ConfiguredTimeout;
        var timeoutSource = statistics is null ? "as configured (PgBackRest:ArchiveTimeoutSeconds; the server could not be read)" : "as the server runs it";
        var worst = timeout + archiving.TransferAllowance;
        var where = $"WAL archived continuously with pgBackRest (container {state.Container}, stanza {state.Stanza})";
        bool canHold;
        string design;
        if (statistics?.ArchiveMode == "off")
        {
            canHold = false;
            design = $"{where} is configured, but archive_mode is off on the server: nothing is archived, so an RPO of {Format(target)} cannot hold.";
        }
        else if (timeout <= TimeSpan.Zero)
        {
            canHold = false;
            design = $"{where}: archive_timeout is 0 ({timeoutSource}), so a quiet server keeps its last WAL unarchived for as long as it stays quiet: an RPO of {Format(target)} cannot hold.";
        }
        else
        {
            canHold = worst <= target;
            design = $"{where}: archive_timeout {Format(timeout)} ({timeoutSource}) + {Format(archiving.TransferAllowance)} allowed to reach the repositories (PgBackRest:ArchiveTransferAllowance, not measured) = "
                + (canHold ? $"up to {Format(worst)} of data lost, within the RPO of {Format(target)}." : $"up to {Format(worst)} of data lost, more than the RPO of {Format(target)}: the promise cannot hold.");
        }

        bool? heldNow;
        string now;
        if (state.Unreadable is { } unreadable)
        {
            heldNow = null;
            now = $"unknown, the server's archiver could not be read ({unreadable})";
        }
        else if (state.Problem(target) is { } problem)
        {
            heldNow = false;
            now = $"NOT held: {problem}";
        }
        else if (facts.InfoUnreadable is { } infoFailed)
        {
            heldNow = null;
            now = $"the WAL is archived (exposure {Format(state.Exposure ?? TimeSpan.Zero)}), but whether a base backup exists is unknown: pgbackrest info failed ({infoFailed})";
        }
        else if (facts.NewestBaseBackup is not { } newest)
        {
            heldNow = false;
            now = "NOT held: no repository holds a base backup, and archived WAL alone restores nothing (run TakePgBackRestBackup)";
        }
        else
        {
            heldNow = true;
            now = $"held: exposure {Format(state.Exposure!.Value)} (the last WAL archived at {state.Statistics!.LastArchivedAt!.Value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC"
                + (state.Statistics.UnarchivedBytes == 0 ? ", nothing written since" : string.Empty) + $"), newest base backup {newest.Label} in repository {newest.Repository}";
        }

        var dumps = stored is null ? string.Empty : " Dumps as well" + stored.Now(target)[4..];
        return new RecoveryPromise(component, RecoveryObjectiveNames.Rpo, target, canHold, heldNow, $"{design} Now: {now}.{dumps}");
    }

    /// <summary>Each archived database measured, and for each stanza the newest base backup of a readable repository.</summary>
    private async Task<Dictionary<string, ArchivedFacts>> ArchivingAsync(IWalArchiveStatus status, CancellationToken cancellationToken)
    {
        var states = await status.MeasureAsync(cancellationToken);
        var infos = new Dictionary<(string, string), (PgBackRestBackup? Newest, string? Unreadable)>();
        var facts = new Dictionary<string, ArchivedFacts>(StringComparer.OrdinalIgnoreCase);
        foreach (var state in states)
        {
            var key = (state.Container, state.Stanza);
            if (!infos.TryGetValue(key, out var info))
            {
                info = await NewestBaseBackupAsync(state.Container, state.Stanza, cancellationToken);
                infos[key] = info;
            }

            facts[state.Component] = new ArchivedFacts(state, info.Newest, info.Unreadable, TimeSpan.FromSeconds(ArchiveTimeoutConfigured()));
        }

        return facts;
    }

    /// <summary>
    /// The newest base backup of a stanza, from <c>pgbackrest info</c> run in the database container. The answer (or the
    /// failure) is kept for one archive monitor interval (<c>PgBackRest:ArchiveMonitorInterval</c>, at most
    /// archive_timeout): the metrics ask for this report on every scrape (every 15 s), and each <c>info</c> is a
    /// <c>docker exec</c> that may read S3. Base backups are taken daily, so a listing that old changes no verdict.
    /// </summary>
    private async Task<(PgBackRestBackup? Newest, string? Unreadable)> NewestBaseBackupAsync(string container, string stanza, CancellationToken cancellationToken)
    {
        if (pgBackRest is null)
            return (null, "the pgBackRest service is not registered");
        var now = clock.GetUtcNow();
        if (infoCache.TryGetValue((container, stanza), out var kept) && now - kept.At < InfoCacheFor)
            return (kept.Newest, kept.Unreadable);
        (PgBackRestBackup? Newest, string? Unreadable) read;
        try
        {
            var info = await pgBackRest.InfoAsync(container, stanza, cancellationToken);
            read = (info.Repositories.Where(r => r.Ok).SelectMany(r => r.Backups).OrderByDescending(b => b.StoppedAt).FirstOrDefault(), null);
        }
        catch (Exception e) when (e is PgBackRestException or Docker.DockerOperationException)
        {
            read = (null, e.Message);
        }

        infoCache[(container, stanza)] = (now, read.Newest, read.Unreadable);
        return read;
    }

    private TimeSpan InfoCacheFor => pgBackRestOptions?.Value.MonitorInterval ?? TimeSpan.FromSeconds(60);

    private int ArchiveTimeoutConfigured() => pgBackRestOptions?.Value.ArchiveTimeoutSeconds ?? 60;

    private static RecoveryPromise Rto(string component, RecoveryObjective objective, StoreFacts? stored, Measurement? drill)
    {
        var target = objective.Rto;
        if (objective.Rpo == TimeSpan.Zero && stored is null)
            return new RecoveryPromise(component, RecoveryObjectiveNames.Rto, target, true, null, "Stateless: recovered by recreating its containers, with nothing to restore; the scenarios time it when they run.");

        var last = new[] { drill, stored?.NewestVerification }.OfType<Measurement>().OrderByDescending(m => m.At).FirstOrDefault();
        if (last is null)
            return new RecoveryPromise(component, RecoveryObjectiveNames.Rto, target, true, null, $"No restore has been measured yet (no drill rehearsal, no verified backup), so the RTO of {Format(target)} is not confirmed: run the drill (drw run dr-monthly-drill).");

        var canHold = last.Duration <= target;
        var reason = $"The last measured restore took {Format(last.Duration)} ({last.What}, {last.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC), "
            + (canHold ? $"within the RTO of {Format(target)}." : $"more than the RTO of {Format(target)}: the promise cannot hold.");
        return new RecoveryPromise(component, RecoveryObjectiveNames.Rto, target, canHold, canHold, reason);
    }

    /// <summary>The longest gap between two backups, and where the schedule came from.</summary>
    private static (TimeSpan Every, string Source)? Interval(RecoveryObjective objective, IReadOnlyDictionary<string, List<ScheduledTrigger>> schedules)
    {
        if (objective.BackupWorkflow is { Length: > 0 } workflow && schedules.TryGetValue(workflow, out var found) && BackupIntervals.Longest(found) is { } gap)
            return (gap, $"workflow {workflow}, {string.Join(" and ", found.Select(t => t.ActivityType == "Elsa.Cron" ? "cron " + t.Schedule : "every " + t.Schedule))}");
        if (objective.BackupSchedule is { Length: > 0 } cron && BackupIntervals.Longest(cron) is { } planned)
        {
            var why = objective.BackupWorkflow is { Length: > 0 } missing ? $"workflow {missing} is not loaded or has no schedule" : "no backup workflow backs it up yet";
            return (planned, $"the plan's schedule, cron {cron}: {why}");
        }

        return null;
    }

    private async Task<IReadOnlyDictionary<string, List<ScheduledTrigger>>> SchedulesAsync(CancellationToken cancellationToken)
    {
        if (triggers is null)
            return new Dictionary<string, List<ScheduledTrigger>>();
        var all = await triggers.GetTriggersAsync(cancellationToken);
        return all.Where(t => t.ActivityType is "Elsa.Cron" or "Elsa.Timer")
            .GroupBy(t => t.DefinitionId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
    }

    /// <summary>Each store's newest set and newest verified set of a component (an unreadable store is "unknown").</summary>
    private async Task<StoreFacts> ReadStoresAsync(string kind, string source, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var facts = new StoreFacts(now);
        foreach (var listing in await StoreListing.ReadEveryStoreAsync(catalog, stores, kind, source, cancellationToken))
        {
            if (listing.Unreadable is { } reason)
                Log.StoreUnreadable(logger, listing.Store, kind, source, reason);
            facts.Stores.Add(new StoreState(listing.Store, listing.Newest, listing.NewestVerified, listing.Unreadable));
        }

        return facts;
    }

    /// <summary>The newest successful rehearsal of each component in the last drills (its step's duration).</summary>
    private async Task<Dictionary<string, Measurement>> DrillRestoresAsync(string drillWorkflow, CancellationToken cancellationToken)
    {
        var measured = new Dictionary<string, Measurement>(StringComparer.OrdinalIgnoreCase);
        if (instances is null || string.IsNullOrWhiteSpace(drillWorkflow))
            return measured;
        var runs = await instances.ListAsync(new InstanceQuery(DefinitionId: drillWorkflow, Take: 5), cancellationToken);
        foreach (var run in runs.Items)
        {
            for (var skip = 0; ; skip += 500)
            {
                var page = await instances.GetJournalAsync(run.Id, skip, 500, cancellationToken);
                foreach (var entry in page.Items.Where(e => e.EventName == JournalEvents.Completed && e.ActivityType == RehearsalType))
                {
                    if (entry.Payload?["data"]?["rehearsal"] is not JsonObject rehearsal || rehearsal["succeeded"]?.GetValue<bool>() != true
                        || rehearsal["component"]?.GetValue<string>() is not { Length: > 0 } component || entry.Payload["durationMs"]?.GetValue<long>() is not { } ms)
                        continue;
                    if (!measured.TryGetValue(component, out var known) || known.At < entry.Timestamp)
                        measured[component] = new Measurement(TimeSpan.FromMilliseconds(ms), entry.Timestamp, $"drill run {run.Id}");
                }

                if (page.Items.Count == 0 || skip + page.Items.Count >= page.TotalCount)
                    break;
            }
        }

        return measured;
    }

    private static string Format(TimeSpan value) => RecoveryObjectivesCalculator.Format(value);

    private sealed record Measurement(TimeSpan Duration, DateTimeOffset At, string What);

    private sealed record ArchivedFacts(WalArchiveState State, PgBackRestBackup? NewestBaseBackup, string? InfoUnreadable, TimeSpan ConfiguredTimeout);

    private sealed record StoreState(string Store, BackupSet? Newest, BackupSet? NewestVerified, string? Unreadable);

    private sealed class StoreFacts(DateTimeOffset now)
    {
        public List<StoreState> Stores { get; } = [];

        /// <summary>The longest backup (completed − started) among the stores' newest sets.</summary>
        public (string Store, TimeSpan Duration)? SlowestBackup =>
            Stores.Where(s => s.Newest is not null).Select(s => (s.Store, Duration: Positive(s.Newest!.Manifest.CompletedAt - s.Newest.Manifest.StartedAt)))
                .OrderByDescending(s => s.Duration).Cast<(string, TimeSpan)?>().FirstOrDefault();

        /// <summary>The newest verification restore among the stores' newest verified sets.</summary>
        public Measurement? NewestVerification =>
            Stores.Select(s => s.NewestVerified?.Manifest).Where(m => m?.Verification is { Succeeded: true, DurationSeconds: > 0 } && m.LastVerifiedAt is not null)
                .Select(m => new Measurement(TimeSpan.FromSeconds(m!.Verification!.DurationSeconds), m.LastVerifiedAt!.Value, $"verification restore of set {m.Id}"))
                .OrderByDescending(m => m.At).FirstOrDefault();

        /// <summary>The stores the backups are written to (every store but the offsite one, which only takes copies).</summary>
        private IEnumerable<StoreState> Primary => Stores.Where(s => !IsOffsite(s.Store));

        private StoreState? Offsite => Stores.FirstOrDefault(s => IsOffsite(s.Store));

        /// <summary>The newest set of the primary stores.</summary>
        private BackupSet? NewestPrimary => Primary.Select(s => s.Newest).OfType<BackupSet>().OrderByDescending(s => s.Manifest.CompletedAt).FirstOrDefault();

        /// <summary>Null without an offsite store; true when it lacks the newest primary set or could not be read.</summary>
        public bool? OffsiteCopyMissing => Offsite switch
        {
            null => null,
            { Unreadable: not null } => true,
            var offsite => NewestPrimary is { } newest && !string.Equals(offsite.Newest?.Id, newest.Id, StringComparison.Ordinal)
                && (offsite.Newest is null || offsite.Newest.Manifest.CompletedAt < newest.Manifest.CompletedAt),
        };

        /// <summary>False when a primary store has no verified backup or only an older one; null when one could not be read and none is false.</summary>
        public bool? HeldNow(TimeSpan rpo)
        {
            var primary = Primary.ToList();
            if (primary.Count == 0)
                return null;
            if (primary.Any(s => s.Unreadable is null && (s.NewestVerified is null || Age(s.NewestVerified) > rpo)))
                return false;
            return primary.Any(s => s.Unreadable is not null) ? null : true;
        }

        public string Now(TimeSpan rpo) => " Now: " + string.Join("; ", Stores.Select(s => s switch
        {
            { Unreadable: { } why } when IsOffsite(s.Store) => $"{s.Store}: the offsite copy is MISSING as far as can be told, the offsite store could not be read ({why}); the primary backups still count",
            _ when IsOffsite(s.Store) && OffsiteCopyMissing == true => $"{s.Store}: the offsite copy of the newest backup (set {NewestPrimary!.Id}) is MISSING"
                + (s.Newest is null ? ", the offsite store holds no copy" : $", its newest copy is {Format(Age(s.Newest))} old") + "; the primary backups still count",
            { Unreadable: { } why } => $"{s.Store}: unknown, the store could not be read ({why})",
            { NewestVerified: null } => $"{s.Store}: no verified backup",
            _ => $"{s.Store}: the newest verified backup is {Format(Age(s.NewestVerified!))} old{(Age(s.NewestVerified!) > rpo ? ", older than the RPO" : string.Empty)}",
        })) + ".";

        private TimeSpan Age(BackupSet set) => Positive(now - set.Manifest.StartedAt);

        private static bool IsOffsite(string store) => string.Equals(store, BackupStoreOptions.OffsiteStoreName, StringComparison.OrdinalIgnoreCase);

        private static TimeSpan Positive(TimeSpan value) => value < TimeSpan.Zero ? TimeSpan.Zero : value;
    }
}

/// <summary>The longest gap between two runs of a schedule (cron or timer), looked at over a year.</summary>
public static class BackupIntervals
{
    private const int MaxOccurrences = 2000;
    private static readonly DateTimeOffset From = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The longest gap of one cron expression (UTC); null when it runs less than twice a year.</summary>
    public static TimeSpan? Longest(string cron) => Longest([Occurrences(CronSchedule.Parse(cron))]);

    /// <summary>The longest gap between backups when several triggers (cron or timer) start the same workflow.</summary>
    public static TimeSpan? Longest(IEnumerable<ScheduledTrigger> triggers)
    {
        var lists = new List<IEnumerable<DateTimeOffset>>();
        foreach (var trigger in triggers)
        {
            if (trigger.ActivityType == "Elsa.Cron")
            {
                lists.Add(Occurrences(CronSchedule.Parse(trigger.Schedule)));
            }
            else if (trigger.ActivityType == "Elsa.Timer" && ValueConverter.ParseTimeSpan(trigger.Schedule) is { } every && every > TimeSpan.Zero)
            {
                return every;
            }
        }

        return Longest(lists);
    }

    private static TimeSpan? Longest(IEnumerable<IEnumerable<DateTimeOffset>> occurrences)
    {
        var all = occurrences.SelectMany(o => o).Distinct().Order().ToList();
        if (all.Count < 2)
            return null;
        var longest = TimeSpan.Zero;
        for (var i = 1; i < all.Count; i++)
            longest = all[i] - all[i - 1] > longest ? all[i] - all[i - 1] : longest;
        return longest;
    }

    private static IEnumerable<DateTimeOffset> Occurrences(CronSchedule schedule)
    {
        var until = From.AddDays(400);
        var at = From;
        for (var i = 0; i < MaxOccurrences && schedule.GetNextOccurrence(at) is { } next && next <= until; i++)
        {
            yield return next;
            at = next;
        }
    }
}
