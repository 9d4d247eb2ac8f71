namespace DrWorkflows.Persistence.Internal;

/// <summary>Stores keep times in UTC with millisecond precision.</summary>
internal static class Times
{
    /// <summary>UTC, truncated to the millisecond.</summary>
    public static DateTimeOffset Utc(DateTimeOffset value)
    {
        var ticks = value.UtcTicks;
        return new DateTimeOffset(ticks - (ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
    }

    public static DateTimeOffset? Utc(DateTimeOffset? value) => value is { } v ? Utc(v) : null;

    public static long ToUnixMs(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    public static long? ToUnixMs(DateTimeOffset? value) => value?.ToUnixTimeMilliseconds();

    public static DateTimeOffset FromUnixMs(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);
}
