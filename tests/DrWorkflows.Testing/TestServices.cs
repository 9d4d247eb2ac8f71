using Xunit;

namespace DrWorkflows.Testing;

/// <summary>
/// The throwaway servers and tools that <c>tests/run.sh</c> starts for a test run, read from <c>DRW_TEST_*</c>
/// environment variables. Each <c>Require*</c> method returns the address or path, or ends the calling test as
/// skipped (with the reason and the variable to set) when it is not available. With <c>DRW_TEST_STRICT=1</c>
/// (set by <c>tests/run.sh</c> in CI) a missing service fails the test instead of skipping it.
/// </summary>
public static class TestServices
{
    /// <summary>Npgsql connection string of a PostgreSQL 15 server (superuser <c>postgres</c>, database <c>postgres</c>).</summary>
    public const string PostgresVariable = "DRW_TEST_POSTGRES";

    /// <summary>Directory holding the PostgreSQL 15 client programs (pg_dump, pg_restore, psql).</summary>
    public const string PgBinVariable = "DRW_TEST_PG_BIN";

    /// <summary>Redis server as <c>host:port</c>.</summary>
    public const string RedisVariable = "DRW_TEST_REDIS";

    /// <summary>Base URL of the S3 stand-in (s3rver), e.g. <c>http://127.0.0.1:4569</c>.</summary>
    public const string S3UrlVariable = "DRW_TEST_S3_URL";

    /// <summary>Base URL of a second s3rver serving HTTPS with a self-signed certificate for 127.0.0.1 and the bucket <c>pgbackrest</c> (pgBackRest speaks TLS only), e.g. <c>https://127.0.0.1:4570</c>.</summary>
    public const string S3TlsUrlVariable = "DRW_TEST_S3_TLS_URL";

    /// <summary>Base URL of a second S3 stand-in (another s3rver, its own data), for the offsite copy.</summary>
    public const string S3OffsiteUrlVariable = "DRW_TEST_S3_OFFSITE_URL";

    /// <summary>Docker Engine API endpoint of a private dockerd, e.g. <c>unix:///tmp/x/docker.sock</c>.</summary>
    public const string DockerHostVariable = "DRW_TEST_DOCKER_HOST";

    /// <summary>Comma-separated list of images built offline into that dockerd (e.g. <c>local/busybox:1</c>).</summary>
    public const string DockerImagesVariable = "DRW_TEST_DOCKER_IMAGES";

    /// <summary>Path of a Chromium executable for browser tests.</summary>
    public const string ChromiumVariable = "DRW_TEST_CHROMIUM";

    /// <summary>When <c>1</c> or <c>true</c>, a missing service fails the test instead of skipping it.</summary>
    public const string StrictVariable = "DRW_TEST_STRICT";

    private static readonly TestServiceSettings Current = new(Environment.GetEnvironmentVariable);

    /// <summary>Whether a missing service fails tests instead of skipping them.</summary>
    public static bool Strict => Current.Strict;

    /// <summary>The images listed in <see cref="DockerImagesVariable"/> (empty when unset).</summary>
    public static IReadOnlyList<string> DockerImages => Current.DockerImages;

    /// <summary>The PostgreSQL server's connection string, or skips the test.</summary>
    public static string RequirePostgres() => Current.Require(Current.Postgres());

    /// <summary>The directory of the PostgreSQL 15 client programs, or skips the test.</summary>
    public static string RequirePgBin() => Current.Require(Current.PgBin());

    /// <summary>The Redis server as <c>host:port</c>, or skips the test.</summary>
    public static string RequireRedis() => Current.Require(Current.Redis());

    /// <summary>The S3 stand-in's base URL, or skips the test.</summary>
    public static Uri RequireS3() => Current.Require(Current.S3());

    /// <summary>The HTTPS s3rver's base URL (bucket <c>pgbackrest</c> exists), or skips the test.</summary>
    public static Uri RequireS3Tls() => Current.Require(Current.S3Tls());

    /// <summary>The second S3 stand-in's base URL (the offsite store), or skips the test.</summary>
    public static Uri RequireS3Offsite() => Current.Require(Current.S3(TestServices.S3OffsiteUrlVariable));

    /// <summary>The private dockerd's API endpoint, or skips the test.</summary>
    public static Uri RequireDocker() => Current.Require(Current.Docker());

    /// <summary>The name of an image known to be present in the private dockerd, or skips the test.</summary>
    public static string RequireDockerImage(string image) => Current.Require(Current.DockerImage(image));

    /// <summary>The Chromium executable, or skips the test.</summary>
    public static string RequireChromium() => Current.Require(Current.Chromium());
}

/// <summary>A service's address or path, or why it is not available.</summary>
internal readonly record struct ServiceLookup<T>(T? Value, string? Reason)
    where T : class
{
    public static ServiceLookup<T> Found(T value) => new(value, null);

    public static ServiceLookup<T> Missing(string reason) => new(null, reason);
}

/// <summary>
/// The logic behind <see cref="TestServices"/>, over any variable lookup so that it can be tested. The lookups
/// never skip; only <see cref="Require{T}"/> does (a caught skip exception still marks an xunit v3 test skipped).
/// </summary>
internal sealed class TestServiceSettings(Func<string, string?> getVariable)
{
    public bool Strict => Get(TestServices.StrictVariable) is "1" or "true" or "True" or "TRUE";

    public IReadOnlyList<string> DockerImages =>
        (Get(TestServices.DockerImagesVariable) ?? string.Empty)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public ServiceLookup<string> Postgres() =>
        Variable(TestServices.PostgresVariable, "PostgreSQL", "tests/run.sh starts one");

    public ServiceLookup<string> PgBin()
    {
        var dir = Variable(TestServices.PgBinVariable, "PostgreSQL client programs", "tests/run.sh sets it to /usr/lib/postgresql/15/bin");
        if (dir.Value is not null && !File.Exists(Path.Combine(dir.Value, "pg_dump")))
        {
            return ServiceLookup<string>.Missing($"PostgreSQL client programs not available: {TestServices.PgBinVariable}={dir.Value} has no pg_dump (install postgresql-15 or fix the variable)");
        }

        return dir;
    }

    public ServiceLookup<string> Redis() =>
        Variable(TestServices.RedisVariable, "Redis", "tests/run.sh starts one");

    public ServiceLookup<Uri> S3(string variable = TestServices.S3UrlVariable)
    {
        var value = Variable(variable, variable == TestServices.S3UrlVariable ? "S3 stand-in" : "second S3 stand-in", "tests/run.sh starts s3rver");
        if (value.Value is null)
        {
            return ServiceLookup<Uri>.Missing(value.Reason!);
        }

        if (!Uri.TryCreate(value.Value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new InvalidOperationException($"{variable}='{value.Value}' is not an http(s) URL; expected e.g. http://127.0.0.1:4569.");
        }

        return ServiceLookup<Uri>.Found(uri);
    }

    public ServiceLookup<Uri> S3Tls()
    {
        var value = Variable(TestServices.S3TlsUrlVariable, "S3 stand-in over TLS", "tests/run.sh starts a second s3rver with a self-signed certificate");
        if (value.Value is null)
        {
            return ServiceLookup<Uri>.Missing(value.Reason!);
        }

        if (!Uri.TryCreate(value.Value, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
        {
            throw new InvalidOperationException($"{TestServices.S3TlsUrlVariable}='{value.Value}' is not an https URL; expected e.g. https://127.0.0.1:4570.");
        }

        return ServiceLookup<Uri>.Found(uri);
    }

    public ServiceLookup<Uri> Docker()
    {
        var value = Variable(TestServices.DockerHostVariable, "Docker", "tests/run.sh starts a private dockerd");
        if (value.Value is null)
        {
            return ServiceLookup<Uri>.Missing(value.Reason!);
        }

        if (!Uri.TryCreate(value.Value, UriKind.Absolute, out var uri))
        {
            throw new InvalidOperationException($"{TestServices.DockerHostVariable}='{value.Value}' is not a URI; expected e.g. unix:///tmp/drw/docker.sock.");
        }

        if (uri.Scheme == "unix" && !File.Exists(uri.LocalPath))
        {
            return ServiceLookup<Uri>.Missing($"Docker not available: the socket {uri.LocalPath} from {TestServices.DockerHostVariable} does not exist (is the dockerd started by tests/run.sh still running?)");
        }

        return ServiceLookup<Uri>.Found(uri);
    }

    public ServiceLookup<string> DockerImage(string image)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(image);
        var docker = Docker();
        if (docker.Value is null)
        {
            return ServiceLookup<string>.Missing(docker.Reason!);
        }

        return DockerImages.Contains(image, StringComparer.Ordinal)
            ? ServiceLookup<string>.Found(image)
            : ServiceLookup<string>.Missing($"Docker image {image} not available: it is not listed in {TestServices.DockerImagesVariable} (tests/run.sh builds it with tests/infra/build-images.sh)");
    }

    public ServiceLookup<string> Chromium()
    {
        var path = Variable(TestServices.ChromiumVariable, "Chromium", "tests/run.sh installs Debian's chromium");
        if (path.Value is not null && !File.Exists(path.Value))
        {
            return ServiceLookup<string>.Missing($"Chromium not available: {TestServices.ChromiumVariable}={path.Value} does not exist (apt-get install chromium)");
        }

        return path;
    }

    /// <summary>The value, or ends the test: skipped, or failed in strict mode.</summary>
    public T Require<T>(ServiceLookup<T> lookup)
        where T : class
    {
        if (lookup.Value is not null)
        {
            return lookup.Value;
        }

        var reason = lookup.Reason ?? "service not available";
        if (Strict)
        {
            Assert.Fail($"{reason}. {TestServices.StrictVariable} is set, so a missing service is a failure, not a skip.");
        }

        Assert.Skip(reason);
        throw new InvalidOperationException(reason); // not reached: Assert.Skip throws.
    }

    private ServiceLookup<string> Variable(string variable, string what, string hint)
    {
        var value = Get(variable);
        return value is null
            ? ServiceLookup<string>.Missing($"{what} not available: set {variable} ({hint})")
            : ServiceLookup<string>.Found(value);
    }

    private string? Get(string variable)
    {
        var value = getVariable(variable);
        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }
}
