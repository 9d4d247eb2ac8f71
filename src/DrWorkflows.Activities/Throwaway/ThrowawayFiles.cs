namespace DrWorkflows.Activities.Throwaway;

/// <summary>Private temporary directories and files: <c>0700</c> directories, <c>0600</c> files, names that cannot clash.</summary>
public static class ThrowawayFiles
{
    /// <summary>rwx for the owner only.</summary>
    public const UnixFileMode PrivateDirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>rw for the owner only.</summary>
    public const UnixFileMode PrivateFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// A new path <c>&lt;root&gt;/&lt;prefix&gt;&lt;12 hex&gt;</c> (not created). The root defaults to the temp directory; when that
    /// path would be long (gpg-agent's socket path must stay under about 100 characters), <c>/tmp</c> is used instead.
    /// </summary>
    public static string NewPath(string prefix, string? root = null)
    {
        var suffix = Guid.NewGuid().ToString("N")[..12];
        if (!string.IsNullOrWhiteSpace(root))
            return Path.Combine(Path.GetFullPath(root), prefix + suffix);
        var path = Path.Combine(Path.GetTempPath(), prefix + suffix);
        return path.Length < 60 || OperatingSystem.IsWindows() ? path : Path.Combine("/tmp", prefix + suffix);
    }

    /// <summary>Creates <paramref name="path"/> with mode 0700 (its missing parents too); an existing directory is refused.</summary>
    public static void CreatePrivateDirectory(string path)
    {
        var parent = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(parent) && !Directory.Exists(parent))
            CreateDirectories(parent);
        if (Directory.Exists(path) || File.Exists(path))
            throw new IOException($"Cannot create the private directory {path}: it already exists.");
        if (OperatingSystem.IsWindows())
            Directory.CreateDirectory(path);
        else
            Directory.CreateDirectory(path, PrivateDirectoryMode);
    }

    /// <summary>Creates the missing directories of <paramref name="directory"/> with mode 0700 (existing ones are left as they are).</summary>
    public static void CreateDirectories(string directory)
    {
        var full = Path.GetFullPath(directory);
        if (Directory.Exists(full))
            return;
        if (Path.GetDirectoryName(full) is { Length: > 0 } parent)
            CreateDirectories(parent);
        if (OperatingSystem.IsWindows())
            Directory.CreateDirectory(full);
        else
            Directory.CreateDirectory(full, PrivateDirectoryMode);
    }

    /// <summary>Whether group or others may read or enter <paramref name="directory"/> (never on Windows).</summary>
    public static bool IsOpenToOthers(string directory) =>
        !OperatingSystem.IsWindows() && (File.GetUnixFileMode(directory) & (UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute)) != 0;

    /// <summary>Deletes a directory with everything in it; nothing to do when it is gone.</summary>
    public static Task DeleteDirectoryAsync(string path)
    {
        if (Directory.Exists(path))
            Directory.Delete(path, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>Deletes a file; nothing to do when it is gone.</summary>
    public static Task DeleteFileAsync(string path)
    {
        File.Delete(path);
        return Task.CompletedTask;
    }
}
