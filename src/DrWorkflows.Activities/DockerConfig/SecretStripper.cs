using System.Text.RegularExpressions;

namespace DrWorkflows.Activities.DockerConfig;

/// <summary>A file with its secret values replaced, and the names of the keys whose values were replaced.</summary>
public sealed record StrippedFile(string Text, IReadOnlyList<string> RedactedKeys);

/// <summary>
/// Removes secret values from env files and Compose files before they are stored or committed. A key "looks secret"
/// when its name contains one of the configured words (PASSWORD, SECRET, TOKEN, KEY, …); its value is replaced by
/// <see cref="Placeholder"/>. Every value so removed is also replaced wherever else it occurs (a password pasted into a
/// Compose file, a URL that embeds it). References such as <c>${PG_PASSWORD}</c> are not values and are kept. Our own
/// code rather than a library: dotenv and YAML parsers rewrite the files (comments, order, quoting), and the point is
/// to keep the files as they are, minus the secrets.
/// </summary>
public static partial class SecretStripper
{
    public const string Placeholder = "<redacted by DrWorkflows>";

    /// <summary>The default words of secret-looking key names (compared ignoring case).</summary>
    public static IReadOnlyList<string> DefaultSecretWords { get; } = ["PASSWORD", "PASSWD", "PASS", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "PRIVATE", "AUTH", "CERT", "DSN", "CONNECTION_STRING", "COOKIE", "SALT", "SIGNATURE", "WEBHOOK"];

    public static bool LooksSecret(string key, IReadOnlyList<string> words) =>
        words.Any(w => key.Contains(w, StringComparison.OrdinalIgnoreCase));

    /// <summary>An env file (<c>KEY=value</c> lines, <c>export KEY=value</c>, comments): the values of secret-looking keys replaced.</summary>
    public static StrippedFile StripEnvFile(string text, IReadOnlyList<string> words, ISet<string> secretValues)
    {
        ArgumentNullException.ThrowIfNull(text);
        var keys = new List<string>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var match = EnvLine().Match(lines[i]);
            if (!match.Success || !LooksSecret(match.Groups["key"].Value, words))
                continue;
            var value = Unquote(match.Groups["value"].Value.TrimEnd('\r'));
            if (value.Length == 0 || IsReference(value))
                continue;
            secretValues.Add(value);
            keys.Add(match.Groups["key"].Value);
            lines[i] = $"{match.Groups["prefix"].Value}{match.Groups["key"].Value}={Placeholder}{(lines[i].EndsWith('\r') ? "\r" : string.Empty)}";
        }

        return new StrippedFile(ReplaceValues(string.Join('\n', lines), secretValues), keys);
    }

    /// <summary>
    /// A Compose file: literal values of secret-looking keys in <c>environment:</c> (map <c>KEY: value</c> or list
    /// <c>- KEY=value</c>) replaced, and every known secret value replaced wherever it occurs.
    /// </summary>
    public static StrippedFile StripComposeFile(string text, IReadOnlyList<string> words, ISet<string> secretValues)
    {
        ArgumentNullException.ThrowIfNull(text);
        var keys = new List<string>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var match = ComposeLine().Match(lines[i]);
            if (!match.Success || !LooksSecret(match.Groups["key"].Value, words))
                continue;
            var value = Unquote(match.Groups["value"].Value.TrimEnd('\r').Trim());
            if (value.Length == 0 || IsReference(value) || value is "|" or ">" || value.StartsWith('{') || value.StartsWith('['))
                continue;
            secretValues.Add(value);
            keys.Add(match.Groups["key"].Value);
            lines[i] = $"{match.Groups["prefix"].Value}{match.Groups["key"].Value}{match.Groups["separator"].Value}\"{Placeholder}\"{(lines[i].EndsWith('\r') ? "\r" : string.Empty)}";
        }

        return new StrippedFile(ReplaceValues(string.Join('\n', lines), secretValues), keys);
    }

    /// <summary>Every secret value (longest first, values shorter than 4 characters are too common to replace blindly) replaced.</summary>
    private static string ReplaceValues(string text, ISet<string> secretValues)
    {
        foreach (var value in secretValues.Where(v => v.Length >= 4).OrderByDescending(v => v.Length))
            text = text.Replace(value, Placeholder, StringComparison.Ordinal);
        return text;
    }

    private static bool IsReference(string value) => value.StartsWith("${", StringComparison.Ordinal) && value.EndsWith('}') || value == Placeholder;

    private static string Unquote(string value) =>
        value.Length >= 2 && (value[0] == '"' && value[^1] == '"' || value[0] == '\'' && value[^1] == '\'') ? value[1..^1] : value;

    [GeneratedRegex(@"^(?<prefix>\s*(?:export\s+)?)(?<key>[A-Za-z_][A-Za-z0-9_.-]*)\s*=(?<value>.*)$")]
    private static partial Regex EnvLine();

    [GeneratedRegex(@"^(?<prefix>\s*(?:-\s*)?)(?<key>[A-Za-z_][A-Za-z0-9_.-]*)(?<separator>\s*[:=]\s*)(?<value>\S.*)$")]
    private static partial Regex ComposeLine();
}
