using DrWorkflows.Activities.Backups;

namespace DrWorkflows.Activities.Storage;

/// <summary>Validation and building of object keys shared by every store.</summary>
public static class BackupKeys
{
    /// <summary>Checks a relative key: non-empty '/'-separated segments, no '.'/'..', no backslash or control characters.</summary>
    public static string Validate(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0 || key.Length > 900 || key[0] == '/' || key[^1] == '/' || key.Contains('\\', StringComparison.Ordinal)
            || key.Any(char.IsControl))
            throw Invalid(key);
        foreach (var segment in key.Split('/'))
        {
            if (segment.Length == 0 || segment is "." or "..")
                throw Invalid(key);
        }

        return key;
    }

    /// <summary>Turns a free-form name (database, execution id) into one safe key segment.</summary>
    public static string Segment(string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        var chars = value.Trim().Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray();
        var segment = new string(chars).Trim('.');
        if (segment.Length == 0)
            segment = "_";
        return segment.Length > 120 ? segment[..120] : segment;
    }

    private static BackupException Invalid(string key) =>
        new(BackupErrorCodes.InvalidRequest, $"Invalid backup object key '{key}': use relative '/'-separated names without '.', '..', empty segments or backslashes.");
}
