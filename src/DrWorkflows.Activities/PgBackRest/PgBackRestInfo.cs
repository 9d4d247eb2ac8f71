using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace DrWorkflows.Activities.PgBackRest;

/// <summary>One backup in a pgBackRest repository, from <c>pgbackrest info --output=json</c>.</summary>
public sealed record PgBackRestBackup(string Label, string Type, int Repository, DateTimeOffset StartedAt, DateTimeOffset StoppedAt, string ArchiveStart, string ArchiveStop, long Bytes, long RepositoryBytes)
{
    /// <summary>The backup's annotations (<c>pgbackrest annotate</c>), e.g. <c>drw-verified-at</c> written by a verification.</summary>
    public IReadOnlyDictionary<string, string> Annotations { get; init; } = new Dictionary<string, string>();
}

/// <summary>One repository of a stanza: its state, its backups (oldest first) and its WAL archive.</summary>
public sealed record PgBackRestRepository(int Key, bool Ok, string Status, string? Cipher, IReadOnlyList<PgBackRestBackup> Backups, string? ArchiveId, string? ArchiveMin, string? ArchiveMax);

/// <summary>What <c>pgbackrest info --output=json</c> says about a stanza.</summary>
public sealed record PgBackRestStanzaInfo(string Stanza, bool Ok, string Status, IReadOnlyList<PgBackRestRepository> Repositories)
{
    /// <summary>Parses the JSON of <c>info --output=json --stanza=X</c> (an array with that stanza).</summary>
    public static PgBackRestStanzaInfo Parse(string stanza, string json)
    {
        // With a wrong key pgBackRest puts the undecryptable bytes it read, unescaped, into the status message.
        using var document = JsonDocument.Parse(new string([.. json.Select(c => c < ' ' && c is not ('\n' or '\r' or '\t') ? '?' : c)]));
        var entry = document.RootElement.EnumerateArray().FirstOrDefault(e => e.TryGetProperty("name", out var n) && n.GetString() == stanza);
        if (entry.ValueKind != JsonValueKind.Object)
            throw new PgBackRestException(PgBackRestErrorCodes.NoStanza, $"pgbackrest info lists no stanza '{stanza}'.");
        var status = entry.GetProperty("status");
        var statusCode = status.GetProperty("code").GetInt32();
        var backups = entry.TryGetProperty("backup", out var b) ? b.EnumerateArray().Select(ParseBackup).ToList() : [];
        var archives = entry.TryGetProperty("archive", out var a) ? a.EnumerateArray().ToList() : [];
        var repositories = new List<PgBackRestRepository>();
        foreach (var repo in entry.GetProperty("repo").EnumerateArray())
        {
            var key = repo.GetProperty("key").GetInt32();
            var repoStatus = repo.GetProperty("status");
            var code = repoStatus.GetProperty("code").GetInt32();
            var archive = archives.LastOrDefault(x => x.GetProperty("database").GetProperty("repo-key").GetInt32() == key);
            repositories.Add(new PgBackRestRepository(
                key, code == 0, code == 0 ? "ok" : $"code {code}: {FirstLines(repoStatus.GetProperty("message").GetString())}",
                repo.TryGetProperty("cipher", out var c) ? c.GetString() : null,
                [.. backups.Where(x => x.Repository == key).OrderBy(x => x.StoppedAt)],
                archive.ValueKind == JsonValueKind.Object ? archive.GetProperty("id").GetString() : null,
                archive.ValueKind == JsonValueKind.Object ? archive.GetProperty("min").GetString() : null,
                archive.ValueKind == JsonValueKind.Object ? archive.GetProperty("max").GetString() : null));
        }

        return new PgBackRestStanzaInfo(stanza, statusCode == 0, $"code {statusCode}: {status.GetProperty("message").GetString()}", repositories);
    }

    private static PgBackRestBackup ParseBackup(JsonElement backup)
    {
        var timestamp = backup.GetProperty("timestamp");
        var archive = backup.GetProperty("archive");
        var info = backup.GetProperty("info");
        return new PgBackRestBackup(
            backup.GetProperty("label").GetString()!, backup.GetProperty("type").GetString()!, backup.GetProperty("database").GetProperty("repo-key").GetInt32(),
            DateTimeOffset.FromUnixTimeSeconds(timestamp.GetProperty("start").GetInt64()), DateTimeOffset.FromUnixTimeSeconds(timestamp.GetProperty("stop").GetInt64()),
            archive.GetProperty("start").GetString() ?? string.Empty, archive.GetProperty("stop").GetString() ?? string.Empty,
            info.GetProperty("size").GetInt64(), info.GetProperty("repository").GetProperty("size").GetInt64())
        {
            Annotations = backup.TryGetProperty("annotation", out var annotation) && annotation.ValueKind == JsonValueKind.Object
                ? annotation.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? string.Empty, StringComparer.Ordinal)
                : new Dictionary<string, string>(),
        };
    }

    private static string FirstLines(string? message)
    {
        var lines = (message ?? string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // pgBackRest repeats the undecryptable bytes it read: keep the first line and the hints.
        return string.Join(" ", lines.Take(1).Concat(lines.Where(l => l.StartsWith("HINT:", StringComparison.Ordinal))));
    }
}

/// <summary>The WAL segments held in a repository's archive (names and the time each was stored), from <c>repo-ls --recurse --output=json</c>.</summary>
public sealed partial class WalArchiveListing
{
    private readonly SortedDictionary<string, DateTimeOffset> segments;

    private WalArchiveListing(SortedDictionary<string, DateTimeOffset> segments) => this.segments = segments;

    public int Count => segments.Count;

    /// <summary>Parses the listing of <c>archive/&lt;stanza&gt;/&lt;archive id&gt;</c> (paths relative to it).</summary>
    public static WalArchiveListing Parse(string json)
    {
        var segments = new SortedDictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        using var document = JsonDocument.Parse(json);
        foreach (var entry in document.RootElement.EnumerateObject())
        {
            var name = entry.Name[(entry.Name.LastIndexOf('/') + 1)..];
            var match = SegmentFile().Match(name);
            if (!match.Success || entry.Value.GetProperty("type").GetString() != "file")
                continue;
            var time = entry.Value.TryGetProperty("time", out var t) ? DateTimeOffset.FromUnixTimeSeconds(t.GetInt64()) : DateTimeOffset.MinValue;
            segments[match.Groups[1].Value] = time;
        }

        return new WalArchiveListing(segments);
    }

    /// <summary>When the newest segment at or after <paramref name="from"/> on its timeline chain was stored: the latest moment the archive can reach.</summary>
    public DateTimeOffset? NewestStoredAt(string from) =>
        segments.Where(s => string.CompareOrdinal(s.Key[8..], from[8..]) >= 0).Select(s => (DateTimeOffset?)s.Value).Max();

    /// <summary>
    /// The segments missing between <paramref name="from"/> and the newest segment of each timeline from
    /// <paramref name="from"/>'s on (WAL replay stops silently at the first gap). Empty when the chain is whole.
    /// </summary>
    public IReadOnlyList<string> Gaps(string from, string? upTo)
    {
        var missing = new List<string>();
        var timeline = Convert.ToUInt32(from[..8], 16);
        var present = segments.Keys.Where(k => Convert.ToUInt32(k[..8], 16) >= timeline).ToList();
        if (!segments.ContainsKey(from))
            missing.Add(from);
        foreach (var group in present.GroupBy(k => k[..8]))
        {
            var names = group.Where(k => string.CompareOrdinal(k[8..], from[8..]) >= 0 && (upTo is null || string.CompareOrdinal(k[8..], upTo[8..]) <= 0)).ToList();
            if (names.Count == 0)
                continue;
            var first = group.Key == from[..8] ? from : names[0];
            var last = names[^1];
            for (var name = first; string.CompareOrdinal(name, last) < 0 && missing.Count < 20; name = Next(name))
            {
                if (!segments.ContainsKey(name) && !missing.Contains(name))
                    missing.Add(name);
            }
        }

        return missing;
    }

    /// <summary>The segment after <paramref name="segment"/> (16 MB segments: 256 per log file).</summary>
    public static string Next(string segment)
    {
        var log = Convert.ToUInt32(segment[8..16], 16);
        var seg = Convert.ToUInt32(segment[16..24], 16);
        if (++seg > 0xFF)
        {
            seg = 0;
            log++;
        }

        return segment[..8] + log.ToString("X8", CultureInfo.InvariantCulture) + seg.ToString("X8", CultureInfo.InvariantCulture);
    }

    [GeneratedRegex("^([0-9A-F]{24})-[0-9a-f]{40}(\\.[a-z0-9]+)?$")]
    private static partial Regex SegmentFile();
}
