using DrWorkflows.Testing;

namespace DrWorkflows.Persistence.Tests.Infrastructure;

public class TempDirectoryTests
{
    [Fact]
    public void Constructor_CreatesAnEmptyDirectoryUnderTheTempPath()
    {
        using var dir = new TempDirectory("fixture");

        Assert.True(Directory.Exists(dir.FullPath));
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.FullPath));
        Assert.StartsWith(Path.GetTempPath(), dir.FullPath, StringComparison.Ordinal);
        Assert.Contains("drw-fixture-", dir.FullPath, StringComparison.Ordinal);
    }

    [Fact]
    public void Dispose_RemovesNestedAndReadOnlyContent()
    {
        var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Combine("a", "b"));
        File.WriteAllText(dir.Combine("a", "b", "file.txt"), "x");
        var readOnly = dir.Combine("a", "readonly.txt");
        File.WriteAllText(readOnly, "y");
        File.SetAttributes(readOnly, FileAttributes.ReadOnly);

        dir.Dispose();
        dir.Dispose();

        Assert.False(Directory.Exists(dir.FullPath));
    }

    [Fact]
    public void Combine_JoinsUnderTheDirectory_WithoutCreatingAnything()
    {
        using var dir = new TempDirectory();

        var path = dir.Combine("x", "y.txt");

        Assert.Equal(Path.Combine(dir.FullPath, "x", "y.txt"), path);
        Assert.False(Directory.Exists(dir.Combine("x")));
    }
}
