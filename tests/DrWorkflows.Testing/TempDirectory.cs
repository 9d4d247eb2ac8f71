namespace DrWorkflows.Testing;

/// <summary>A new, empty directory under the system temp directory, deleted with all its content on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    /// <summary>Creates the directory, named <c>drw-{prefix}-{random}</c>.</summary>
    public TempDirectory(string prefix = "test")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        FullPath = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"drw-{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(FullPath);
    }

    /// <summary>Absolute path of the directory.</summary>
    public string FullPath { get; }

    /// <summary>A path inside the directory (nothing is created).</summary>
    public string Combine(params string[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        return System.IO.Path.Combine([FullPath, .. parts]);
    }

    /// <summary>Deletes the directory and everything in it, including read-only files and directories.</summary>
    public void Dispose()
    {
        if (!Directory.Exists(FullPath))
        {
            return;
        }

        try
        {
            Directory.Delete(FullPath, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            MakeWritable(new DirectoryInfo(FullPath));
            Directory.Delete(FullPath, recursive: true);
        }
    }

    private static void MakeWritable(DirectoryInfo directory)
    {
        if (!OperatingSystem.IsWindows())
        {
            directory.UnixFileMode |= UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        }

        foreach (var file in directory.EnumerateFiles())
        {
            file.Attributes &= ~FileAttributes.ReadOnly;
        }

        foreach (var child in directory.EnumerateDirectories())
        {
            if (!child.Attributes.HasFlag(FileAttributes.ReparsePoint))
            {
                MakeWritable(child);
            }
        }
    }
}
