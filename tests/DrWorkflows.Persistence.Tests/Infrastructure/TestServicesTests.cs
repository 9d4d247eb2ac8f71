using System.Diagnostics;
using DrWorkflows.Testing;
using Xunit.Sdk;

namespace DrWorkflows.Persistence.Tests.Infrastructure;

public class TestServicesTests
{
    private static TestServiceSettings Settings(params (string Name, string Value)[] variables)
    {
        var map = variables.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal);
        return new TestServiceSettings(name => map.GetValueOrDefault(name));
    }

    [Fact]
    public void Postgres_Unset_ReasonNamesTheVariableAndTheHarness()
    {
        var lookup = Settings().Postgres();

        Assert.Null(lookup.Value);
        Assert.Equal("PostgreSQL not available: set DRW_TEST_POSTGRES (tests/run.sh starts one)", lookup.Reason);
    }

    [Fact]
    public void Require_MissingInStrictMode_FailsInsteadOfSkipping()
    {
        var settings = Settings(("DRW_TEST_STRICT", "1"));

        var e = Assert.Throws<FailException>(() => settings.Require(settings.Postgres()));

        Assert.Contains("DRW_TEST_POSTGRES", e.Message, StringComparison.Ordinal);
        Assert.Contains("DRW_TEST_STRICT", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Require_Present_ReturnsTheValue()
    {
        var settings = Settings(("DRW_TEST_POSTGRES", "Host=127.0.0.1;Port=5999"), ("DRW_TEST_STRICT", "1"));

        Assert.Equal("Host=127.0.0.1;Port=5999", settings.Require(settings.Postgres()));
    }

    [Fact]
    public void Redis_BlankValue_CountsAsUnset_AndValuesAreTrimmed()
    {
        Assert.Null(Settings(("DRW_TEST_REDIS", "  ")).Redis().Value);
        Assert.Equal("127.0.0.1:6390", Settings(("DRW_TEST_REDIS", " 127.0.0.1:6390 ")).Redis().Value);
    }

    [Fact]
    public void S3_NotAnHttpUrl_ThrowsNamingTheVariable()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Settings(("DRW_TEST_S3_URL", "127.0.0.1:4569")).S3());

        Assert.Contains("DRW_TEST_S3_URL", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void S3_HttpUrl_ReturnsIt()
    {
        Assert.Equal(new Uri("http://127.0.0.1:4569"), Settings(("DRW_TEST_S3_URL", "http://127.0.0.1:4569")).S3().Value);
    }

    [Fact]
    public void Docker_SocketMissing_IsUnavailableWithTheSocketPath()
    {
        using var dir = new TempDirectory();
        var socket = dir.Combine("docker.sock");

        var lookup = Settings(("DRW_TEST_DOCKER_HOST", "unix://" + socket)).Docker();

        Assert.Null(lookup.Value);
        Assert.Contains(socket + " from DRW_TEST_DOCKER_HOST does not exist", lookup.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void DockerImage_OnlyListedImagesAreAvailable()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.Combine("docker.sock"), string.Empty);
        var settings = Settings(
            ("DRW_TEST_DOCKER_HOST", "unix://" + dir.Combine("docker.sock")),
            ("DRW_TEST_DOCKER_IMAGES", "local/busybox:1, local/pg:15"));

        Assert.Equal(["local/busybox:1", "local/pg:15"], settings.DockerImages);
        Assert.Equal(new Uri("unix://" + dir.Combine("docker.sock")), settings.Docker().Value);
        Assert.Equal("local/pg:15", settings.DockerImage("local/pg:15").Value);
        var missing = settings.DockerImage("local/redis:7");
        Assert.Null(missing.Value);
        Assert.Contains("local/redis:7", missing.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void PgBin_DirectoryWithoutPgDump_IsUnavailable()
    {
        using var dir = new TempDirectory();

        var lookup = Settings(("DRW_TEST_PG_BIN", dir.FullPath)).PgBin();

        Assert.Null(lookup.Value);
        Assert.Contains("has no pg_dump", lookup.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Chromium_MissingFile_IsUnavailable()
    {
        using var dir = new TempDirectory();

        Assert.Null(Settings(("DRW_TEST_CHROMIUM", dir.Combine("chromium"))).Chromium().Value);
    }

    [Fact]
    public async Task RequirePgBin_RealServerTools_AreVersion15()
    {
        var bin = TestServices.RequirePgBin();
        using var process = Process.Start(new ProcessStartInfo(Path.Combine(bin, "pg_dump"), "--version") { RedirectStandardOutput = true })!;
        var output = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.Equal(0, process.ExitCode);
        Assert.Matches(@"^pg_dump \(PostgreSQL\) 15\.", output);
    }
}
