namespace DrWorkflows.Activities.Dns;

/// <summary>
/// A DNS service that holds the platform's records (Route 53 today). Record names are compared without the
/// trailing dot and case-insensitively; values are returned as the provider stores them.
/// </summary>
public interface IDnsProvider
{
    /// <summary>Provider name for messages and the journal, e.g. <c>route53</c>.</summary>
    string Name { get; }

    /// <summary>The current record set of <paramref name="name"/> and <paramref name="type"/>; <c>null</c> when there is none.</summary>
    Task<DnsRecord?> GetRecordAsync(string zoneId, string name, string type, CancellationToken cancellationToken);

    /// <summary>Creates or replaces the record set (Route 53 <c>UPSERT</c>). Returns the change to wait for.</summary>
    Task<DnsChange> UpsertRecordAsync(string zoneId, DnsRecord record, string? comment, CancellationToken cancellationToken);

    /// <summary>The current status of a change returned by <see cref="UpsertRecordAsync"/>.</summary>
    Task<DnsChange> GetChangeAsync(string changeId, CancellationToken cancellationToken);
}

/// <summary>A record set: one name and type, a TTL and one or more values.</summary>
public sealed record DnsRecord(string Name, string Type, long Ttl, IReadOnlyList<string> Values)
{
    /// <summary>Alias target (Route 53 alias records have no TTL or values of their own).</summary>
    public string? AliasTarget { get; init; }
}

/// <summary>A submitted change. <see cref="Status"/> is <c>PENDING</c> or <c>INSYNC</c> for Route 53.</summary>
public sealed record DnsChange(string Id, string Status, DateTimeOffset? SubmittedAt)
{
    public const string Pending = "PENDING";
    public const string InSync = "INSYNC";

    public bool IsInSync => string.Equals(Status, InSync, StringComparison.OrdinalIgnoreCase);
}

/// <summary>How a wait for a change ended.</summary>
public sealed record DnsChangeWaitResult(bool InSync, DnsChange LastStatus, int Polls, TimeSpan Elapsed);

/// <summary>Record types the activities accept; others are refused with a clear message.</summary>
public static class DnsRecordTypes
{
    public const string A = "A";
    public const string Aaaa = "AAAA";
    public const string Cname = "CNAME";
    public const string Txt = "TXT";

    public static IReadOnlyList<string> Supported { get; } = [A, Aaaa, Cname, Txt];

    /// <summary>Upper-cases and checks the type; throws <see cref="DnsOperationException"/> for others.</summary>
    public static string Normalize(string? type)
    {
        var normalized = (type ?? string.Empty).Trim().ToUpperInvariant();
        return Supported.Contains(normalized)
            ? normalized
            : throw new DnsOperationException($"DNS record type '{type}' is not supported; use one of {string.Join(", ", Supported)}.", retryable: false) { Code = "dns.unsupported-type" };
    }
}

public static class DnsProviderExtensions
{
    /// <summary>
    /// Polls <see cref="IDnsProvider.GetChangeAsync"/> every <paramref name="pollInterval"/> until the change is in sync
    /// or <paramref name="timeout"/> has passed on <paramref name="clock"/>. A timeout is a result, not an error.
    /// </summary>
    public static async Task<DnsChangeWaitResult> WaitForChangeAsync(
        this IDnsProvider provider,
        string changeId,
        TimeSpan timeout,
        TimeSpan pollInterval,
        TimeProvider clock,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(clock);
        if (pollInterval <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(pollInterval), pollInterval, "The poll interval must be positive.");
        var started = clock.GetTimestamp();
        var polls = 0;
        while (true)
        {
            var change = await provider.GetChangeAsync(changeId, cancellationToken);
            polls++;
            var elapsed = clock.GetElapsedTime(started);
            if (change.IsInSync)
                return new DnsChangeWaitResult(true, change, polls, elapsed);
            var left = timeout - elapsed;
            if (left <= TimeSpan.Zero)
                return new DnsChangeWaitResult(false, change, polls, elapsed);
            await Task.Delay(left < pollInterval ? left : pollInterval, clock, cancellationToken);
        }
    }
}
