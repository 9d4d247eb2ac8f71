namespace DrWorkflows.Testing;

/// <summary>Unix permission bits of files and directories, for tests that check secrets and evidence are private.</summary>
public static class FileModes
{
    /// <summary><c>0700</c>: rwx for the owner only.</summary>
    public const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary><c>0600</c>: rw for the owner only.</summary>
    public const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The mode of <paramref name="path"/> (a file or a directory); the tests run on Linux.</summary>
    public static UnixFileMode Of(string path) =>
        OperatingSystem.IsWindows() ? throw new PlatformNotSupportedException("Unix file modes are checked on Linux.") : File.GetUnixFileMode(path);

    /// <summary>The mode in octal, as <c>ls -l</c> people read it (for assertion messages).</summary>
    public static string Octal(string path) => Convert.ToString((int)Of(path), 8);
}
