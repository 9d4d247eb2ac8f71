using DrWorkflows.Testing;

namespace DrWorkflows.Activities.Tests.Backups;

/// <summary>Command-line tools the backup tests run (zstd, gpg, age): skip, or fail in strict mode, when one is missing.</summary>
internal static class RequiredTools
{
    public static void Require(string tool, string package)
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, tool)));
        if (found)
            return;
        var reason = $"'{tool}' is not installed (apt-get install {package})";
        if (TestServices.Strict)
            Assert.Fail($"{reason}. {TestServices.StrictVariable} is set, so a missing tool is a failure, not a skip.");
        Assert.Skip(reason);
    }
}
