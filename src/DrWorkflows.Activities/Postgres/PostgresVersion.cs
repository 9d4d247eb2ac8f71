using System.Globalization;
using System.Text.RegularExpressions;

namespace DrWorkflows.Activities.Postgres;

/// <summary>A PostgreSQL server version (major and minor), as a manifest records it (<c>15.20</c>, <c>16.4 (Debian 16.4-1)</c>).</summary>
public sealed partial record PostgresVersion(int Major, int Minor)
{
    /// <summary>The version at the start of <paramref name="text"/>, or null when there is none.</summary>
    public static PostgresVersion? Parse(string? text)
    {
        var match = text is null ? null : Pattern().Match(text);
        if (match is not { Success: true })
            return null;
        return new PostgresVersion(
            int.Parse(match.Groups["major"].Value, CultureInfo.InvariantCulture),
            match.Groups["minor"].Success ? int.Parse(match.Groups["minor"].Value, CultureInfo.InvariantCulture) : 0);
    }

    /// <summary>From <c>server_version_num</c> (e.g. 150018; PostgreSQL 10 and later), or null when it is not one.</summary>
    public static PostgresVersion? FromNumber(int versionNum) =>
        versionNum >= 100000 ? new PostgresVersion(versionNum / 10000, versionNum % 10000) : null;

    /// <summary>An older major version, or the same major with an older minor.</summary>
    public bool IsOlderThan(PostgresVersion other) => Major != other.Major ? Major < other.Major : Minor < other.Minor;

    public override string ToString() => $"{Major}.{Minor}";

    [GeneratedRegex(@"^\s*(?<major>\d+)(?:\.(?<minor>\d+))?", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
