using System.Globalization;
using System.Text;

namespace DrWorkflows.Core.Runtime;

/// <summary>
/// Readable definition ids: lower-case letters and digits joined by single dashes (<c>restore-shop-database</c>),
/// derived from a workflow's name when it is created without an id (the Studio's "Create workflow" dialog
/// sends none), so that runs, files, metrics and the CLI name the workflow the way people do.
/// </summary>
public static class DefinitionIds
{
    /// <summary>Longest derived id (a suffix such as <c>-2</c> may follow).</summary>
    public const int MaxLength = 60;

    /// <summary>The id used when a name has no letter or digit.</summary>
    public const string Fallback = "workflow";

    /// <summary>
    /// <c>"Restore Shop DB (v2)!"</c> → <c>restore-shop-db-v2</c>. Accents are dropped (<c>é</c> → <c>e</c>); any
    /// run of other characters becomes one dash; no dash at either end.
    /// </summary>
    public static string FromName(string? name)
    {
        var builder = new StringBuilder(MaxLength);
        var dash = false;
        foreach (var c in name ?? string.Empty)
        {
            var letters = Fold(char.ToLowerInvariant(c));
            if (letters.Length == 0)
            {
                dash = true;
                continue;
            }

            if (dash && builder.Length > 0)
                builder.Append('-');
            dash = false;
            builder.Append(letters);
            if (builder.Length >= MaxLength)
                break;
        }

        if (builder.Length > MaxLength)
            builder.Length = MaxLength;

        var id = builder.ToString().TrimEnd('-');
        return id.Length == 0 ? Fallback : id;
    }

    /// <summary>
    /// A lower-case character as ASCII letters or digits: itself, the Latin letter without its accent
    /// (<c>é</c> → <c>e</c>, <c>ß</c> → <c>ss</c>), or nothing (a separator). A table rather than Unicode
    /// decomposition, which the server's invariant globalization mode does not do.
    /// </summary>
    private static string Fold(char c)
    {
        if (char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c))
            return c.ToString();
        foreach (var (plain, accented) in Accents)
        {
            if (accented.Contains(c, StringComparison.Ordinal))
                return plain;
        }

        return string.Empty;
    }

    private static readonly (string Plain, string Accented)[] Accents =
    [
        ("a", "àáâãäåāăą"), ("c", "çćĉċč"), ("d", "ďđð"), ("e", "èéêëēĕėęě"), ("g", "ĝğġģ"), ("h", "ĥħ"),
        ("i", "ìíîïĩīĭįı"), ("j", "ĵ"), ("k", "ķ"), ("l", "ĺļľŀł"), ("n", "ñńņňŉ"), ("o", "òóôõöøōŏő"),
        ("r", "ŕŗř"), ("s", "śŝşšș"), ("t", "ţťŧț"), ("u", "ùúûüũūŭůűų"), ("w", "ŵ"), ("y", "ýÿŷ"), ("z", "źżž"),
        ("ss", "ß"), ("ae", "æ"), ("oe", "œ"), ("th", "þ"),
    ];

    /// <summary>Whether an id has the readable form (what <see cref="FromName"/> gives, up to 100 characters).</summary>
    public static bool IsReadable(string? id) =>
        id is { Length: > 0 and <= 100 } && id[0] != '-' && id[^1] != '-' && !id.Contains("--", StringComparison.Ordinal)
        && id.All(c => char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c) || c == '-');

    /// <summary>The id derived from <paramref name="name"/>, with <c>-2</c>, <c>-3</c>… added while <paramref name="isTaken"/> says it is in use.</summary>
    public static async Task<string> UniqueFromNameAsync(string? name, Func<string, Task<bool>> isTaken)
    {
        var stem = FromName(name);
        var candidate = stem;
        for (var n = 2; await isTaken(candidate); n++)
            candidate = $"{stem}-{n.ToString(CultureInfo.InvariantCulture)}";
        return candidate;
    }
}
