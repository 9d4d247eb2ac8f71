using System.Text.RegularExpressions;

namespace DrWorkflows.Activities.Postgres;

/// <summary>Adjusts a <c>pg_dumpall --globals-only</c> script before it is replayed on another server.</summary>
internal static partial class GlobalsScript
{
    /// <summary>
    /// Removes the <c>PASSWORD '...'</c> clause of the <c>ALTER ROLE</c> of <paramref name="role"/> (the role the
    /// restore connects as): replaying the source server's hash would change the target's password under the
    /// restore's feet, so the next connection with the configured password fails (a DR server set up with its own
    /// password). Every other role keeps its password hash. Returns the script unchanged when the role is not in it.
    /// </summary>
    public static string KeepPasswordOf(string script, string? role)
    {
        if (string.IsNullOrEmpty(role))
            return script;
        var prefixes = new[] { $"ALTER ROLE {role} WITH ", $"ALTER ROLE \"{role.Replace("\"", "\"\"", StringComparison.Ordinal)}\" WITH " };
        return string.Join('\n', script.Split('\n').Select(line =>
            prefixes.Any(p => line.StartsWith(p, StringComparison.Ordinal)) ? PasswordClause().Replace(line, string.Empty) : line));
    }

    [GeneratedRegex(" PASSWORD '(?:[^']|'')*'", RegexOptions.CultureInvariant)]
    private static partial Regex PasswordClause();
}
