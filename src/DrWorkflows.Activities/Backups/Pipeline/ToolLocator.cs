namespace DrWorkflows.Activities.Backups.Pipeline;

/// <summary>Finds command-line tools (pg_dump, zstd, gpg, age...) and says clearly where it looked.</summary>
public static class ToolLocator
{
    /// <summary>
    /// Resolves <paramref name="tool"/>: in <paramref name="directory"/> when given, else on PATH. An absolute path in
    /// <paramref name="tool"/> is used as is. Throws a <c>backup.tool-not-found</c> error naming the places searched
    /// and the option to set.
    /// </summary>
    public static string Find(string tool, string? directory, string optionName, string installHint)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tool);
        var searched = new List<string>();
        if (Path.IsPathRooted(tool))
        {
            if (IsExecutable(tool))
                return tool;
            searched.Add(tool);
        }
        else if (!string.IsNullOrWhiteSpace(directory))
        {
            var candidate = Path.Combine(directory, tool);
            if (IsExecutable(candidate))
                return candidate;
            searched.Add(candidate);
        }
        else
        {
            var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
            foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = Path.Combine(dir, tool);
                if (IsExecutable(candidate))
                    return candidate;
                searched.Add(dir);
            }

            if (searched.Count == 0)
                searched.Add("(PATH is empty)");
        }

        var where = directory is null && !Path.IsPathRooted(tool) ? $"on PATH ({string.Join(":", searched)})" : string.Join(", ", searched);
        throw new BackupException(BackupErrorCodes.ToolNotFound,
            $"'{tool}' was not found {where}. {installHint} Or set {optionName} to the directory (or path) that holds it.");
    }

    private static bool IsExecutable(string path)
    {
        if (!File.Exists(path))
            return false;
        if (OperatingSystem.IsWindows())
            return true;
        var mode = File.GetUnixFileMode(path);
        return (mode & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
    }
}
