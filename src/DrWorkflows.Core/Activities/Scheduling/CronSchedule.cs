using Cronos;

namespace DrWorkflows.Core.Activities.Scheduling;

/// <summary>A parsed cron expression (Cronos): 5 fields, or 6 with seconds first; evaluated in UTC.</summary>
public sealed class CronSchedule
{
    private readonly CronExpression expression;

    private CronSchedule(string text, CronExpression expression)
    {
        Text = text;
        this.expression = expression;
    }

    public string Text { get; }

    public static CronSchedule Parse(string text)
    {
        var trimmed = text.Trim();
        var fields = trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        try
        {
            return new CronSchedule(trimmed, CronExpression.Parse(trimmed, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard));
        }
        catch (CronFormatException e)
        {
            throw new WorkflowDefinitionException($"'{text}' is not a valid cron expression ({e.Message}). Use 5 fields (minute hour day month weekday), e.g. '0 3 1 * *' for 03:00 UTC on the 1st of every month.", e);
        }
    }

    public DateTimeOffset? GetNextOccurrence(DateTimeOffset after) => expression.GetNextOccurrence(after, TimeZoneInfo.Utc);

    /// <summary>Occurrences in (<paramref name="from"/>, <paramref name="to"/>].</summary>
    public IEnumerable<DateTimeOffset> GetOccurrences(DateTimeOffset from, DateTimeOffset to) =>
        expression.GetOccurrences(from, to, TimeZoneInfo.Utc, fromInclusive: false, toInclusive: true);
}
