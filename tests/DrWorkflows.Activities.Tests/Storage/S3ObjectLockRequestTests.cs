using System.Globalization;
using System.Security.Cryptography;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Storage;
using DrWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using WireMock.Logging;
using WireMock.Matchers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace DrWorkflows.Activities.Tests.Storage;

/// <summary>
/// s3rver has no Object Lock, so the exact Object Lock requests are checked against a WireMock stand-in that records
/// them, answering as S3 does (docs/activities/backups.md describes the same check against real S3):
/// x-amz-object-lock-mode and x-amz-object-lock-retain-until-date with a Content-MD5 on every write,
/// GetObjectLockConfiguration at start, GetObjectRetention before retention deletes a set.
/// </summary>
public sealed class S3ObjectLockRequestTests : IDisposable
{
    private const string UploadId = "upload-9";
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 10, 0, 0, 500, TimeSpan.Zero);
    private readonly WireMockServer server = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });

    public S3ObjectLockRequestTests()
    {
        server.Given(Request.Create().WithPath("/bkt/dr/postgres/main/s1/manifest.json").UsingPut())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("ETag", "\"m\""));
        server.Given(Request.Create().WithPath("/bkt/dr/postgres/main/s1/big").WithParam("uploads").UsingPost())
            .RespondWith(Xml($"<InitiateMultipartUploadResult><Bucket>bkt</Bucket><Key>dr/postgres/main/s1/big</Key><UploadId>{UploadId}</UploadId></InitiateMultipartUploadResult>"));
        server.Given(Request.Create().WithPath("/bkt/dr/postgres/main/s1/big").WithParam("partNumber").UsingPut())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("ETag", "\"p\""));
        server.Given(Request.Create().WithPath("/bkt/dr/postgres/main/s1/big").WithParam("uploadId", UploadId).UsingPost())
            .RespondWith(Xml("<CompleteMultipartUploadResult><Bucket>bkt</Bucket><Key>dr/postgres/main/s1/big</Key><ETag>\"c\"</ETag></CompleteMultipartUploadResult>"));
    }

    public void Dispose() => server.Dispose();

    private static IResponseBuilder Xml(string body, int status = 200) =>
        Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/xml").WithBody(body);

    private S3BackupStoreOptions Options(BackupObjectLockMode mode, int days, string bucket = "bkt") => new()
    {
        BucketName = bucket,
        Prefix = "dr",
        ServiceUrl = server.Urls[0],
        ForcePathStyle = true,
        AccessKeyId = "k",
        SecretAccessKey = "s",
        PartSizeBytes = 5 * 1024 * 1024,
        ObjectLock = new ObjectLockOptions { Mode = mode, RetainDays = days },
    };

    private S3BackupStore Store(BackupObjectLockMode mode = BackupObjectLockMode.Governance, int days = 7) =>
        new("s3", Options(mode, days), NullLogger.Instance, new FakeTimeProvider(Now));

    private IReadOnlyList<ILogEntry> Requests(string method, string path) =>
        [.. server.LogEntries.Where(e => e.RequestMessage!.Method == method && e.RequestMessage.Path == path)];

    private static string Header(ILogEntry entry, string name) =>
        entry.RequestMessage!.Headers!.TryGetValue(name, out var values) ? values.Single() : throw new Xunit.Sdk.XunitException($"header {name} not sent");

    /// <summary>The Content-MD5 S3 expects for a body (S3's transport check, asked for on writes with a retention).</summary>
#pragma warning disable CA5351 // the value S3's Content-MD5 header carries; no security use
    private static string ContentMd5(byte[] body) => Convert.ToBase64String(MD5.HashData(body));
#pragma warning restore CA5351

    private static bool HasHeader(ILogEntry entry, string name) => entry.RequestMessage!.Headers!.ContainsKey(name);

    [Fact]
    public async Task Every_write_of_a_locking_store_carries_the_mode_the_retain_until_date_and_a_content_md5()
    {
        var ct = TestContext.Current.CancellationToken;
        using var store = Store(BackupObjectLockMode.Compliance, 30);
        var manifest = "{\"id\":\"s1\"}"u8.ToArray();
        var big = RandomNumberGenerator.GetBytes((5 * 1024 * 1024) + 1000);

        await store.PutAsync("postgres/main/s1/manifest.json", manifest, ct);
        await using (var writer = await store.CreateWriterAsync("postgres/main/s1/big", ct))
        {
            await writer.WriteAsync(big, ct);
            await writer.CommitAsync(ct);
        }

        var expectedUntil = new DateTimeOffset(2027, 1, 4, 10, 0, 1, TimeSpan.Zero); // now + 30 days, rounded up to the second
        var put = Assert.Single(Requests("PUT", "/bkt/dr/postgres/main/s1/manifest.json"));
        Assert.Equal("COMPLIANCE", Header(put, "x-amz-object-lock-mode"));
        Assert.Equal(expectedUntil, DateTimeOffset.Parse(Header(put, "x-amz-object-lock-retain-until-date"), CultureInfo.InvariantCulture));
        Assert.Equal(ContentMd5(manifest), Header(put, "Content-MD5"));

        var start = Assert.Single(Requests("POST", "/bkt/dr/postgres/main/s1/big"), e => e.RequestMessage!.Query!.ContainsKey("uploads"));
        Assert.Equal("COMPLIANCE", Header(start, "x-amz-object-lock-mode"));
        Assert.Equal(expectedUntil, DateTimeOffset.Parse(Header(start, "x-amz-object-lock-retain-until-date"), CultureInfo.InvariantCulture));
        var parts = Requests("PUT", "/bkt/dr/postgres/main/s1/big");
        Assert.Equal(2, parts.Count);
        foreach (var part in parts)
            Assert.Equal(ContentMd5(part.RequestMessage!.BodyAsBytes!), Header(part, "Content-MD5"));
        Assert.Equal(big.Length, parts.Sum(p => p.RequestMessage!.BodyAsBytes!.Length));
        Assert.Equal(new BackupObjectLock("COMPLIANCE", expectedUntil), store.LockForNewObject());
    }

    [Fact]
    public async Task A_store_without_a_lock_sends_no_lock_headers()
    {
        var ct = TestContext.Current.CancellationToken;
        using var store = Store(BackupObjectLockMode.None, 0);
        await store.PutAsync("postgres/main/s1/manifest.json", "{}"u8.ToArray(), ct);
        var put = Assert.Single(Requests("PUT", "/bkt/dr/postgres/main/s1/manifest.json"));
        Assert.False(HasHeader(put, "x-amz-object-lock-mode"));
        Assert.False(HasHeader(put, "x-amz-object-lock-retain-until-date"));
        Assert.Null(store.LockForNewObject());
    }

    [Fact]
    public async Task At_start_a_bucket_without_object_lock_is_refused_with_the_setting_to_fix_and_one_with_it_is_accepted()
    {
        var ct = TestContext.Current.CancellationToken;
        server.Given(Request.Create().WithPath(new RegexMatcher("^/locked/?$")).WithParam("object-lock").UsingGet())
            .RespondWith(Xml("<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>"));
        server.Given(Request.Create().WithPath(new RegexMatcher("^/plain/?$")).WithParam("object-lock").UsingGet())
            .RespondWith(Xml("<Error><Code>ObjectLockConfigurationNotFoundError</Code><Message>Object Lock configuration does not exist for this bucket</Message></Error>", 404));

        // Registered by AddBackupActivities as a hosted service: the server's start runs it.
        static IHostedService Check(Action<BackupStoreOptions> configure)
        {
            var services = new ServiceCollection().AddLogging();
            services.AddBackupActivities(configure);
            return services.BuildServiceProvider().GetServices<IHostedService>().Single(s => s.GetType().Name == "ObjectLockStartupCheck");
        }

        await Check(s => s.S3 = Options(BackupObjectLockMode.Compliance, 30, "locked")).StartAsync(ct);

        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => Check(s =>
        {
            s.S3 = Options(BackupObjectLockMode.Governance, 30, "locked");
            s.Offsite = Options(BackupObjectLockMode.Compliance, 30, "plain");
            s.Offsite.Region = "eu-west-1";
        }).StartAsync(ct));
        var message = Assert.Single(refused.Failures);
        Assert.StartsWith("Backups:Stores:Offsite:ObjectLock:Mode is Compliance, but the bucket 'plain' has no Object Lock (ObjectLockConfigurationNotFoundError", message, StringComparison.Ordinal);
        Assert.Contains("set Backups:Stores:Offsite:ObjectLock:Mode to None", message, StringComparison.Ordinal);
        Assert.Equal(3, server.LogEntries.Count(e => e.RequestMessage!.Method == "GET" && e.RequestMessage.Query!.ContainsKey("object-lock")));
    }

    [Fact]
    public async Task An_unreachable_bucket_at_start_does_not_block_the_start()
    {
        var ct = TestContext.Current.CancellationToken;
        var options = Options(BackupObjectLockMode.Compliance, 30);
        options.ServiceUrl = $"http://127.0.0.1:{FreePort.Get()}";
        var provider = new BackupStoreProvider(Microsoft.Extensions.Options.Options.Create(new BackupStoreOptions { S3 = options }), NullLoggerFactory.Instance, TimeProvider.System);
        Assert.Empty(await ObjectLockStartupCheck.CheckAsync(provider, NullLogger.Instance, ct));
    }

    [Fact]
    public void A_lock_without_days_or_days_without_a_mode_are_refused_by_the_options_validation()
    {
        var validator = new BackupStoreOptionsValidator();
        var noDays = validator.Validate(null, new BackupStoreOptions { S3 = Options(BackupObjectLockMode.Governance, 0) });
        Assert.Contains("Backups:Stores:S3:ObjectLock:RetainDays is 0; with Mode Governance give the days", noDays.FailureMessage, StringComparison.Ordinal);
        var noMode = validator.Validate(null, new BackupStoreOptions { Offsite = Options(BackupObjectLockMode.None, 30) });
        Assert.Contains("Backups:Stores:Offsite:ObjectLock:RetainDays is 30 but ObjectLock:Mode is None", noMode.FailureMessage, StringComparison.Ordinal);
        var sameBucket = validator.Validate(null, new BackupStoreOptions { S3 = Options(BackupObjectLockMode.None, 0), Offsite = Options(BackupObjectLockMode.None, 0) });
        Assert.Contains("an offsite copy must be another bucket in another region or at another endpoint", sameBucket.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retention_keeps_a_set_until_the_lock_the_bucket_reports_has_passed_and_when_it_cannot_be_read()
    {
        var ct = TestContext.Current.CancellationToken;
        using var store = Store(BackupObjectLockMode.Governance, 7);
        var now = Now.AddDays(40);
        BackupSet Set(string id, BackupObjectLock? recorded) =>
            new(store.Name, $"postgres/main/{id}/", new BackupManifest { Id = id, Kind = "postgres", Source = "main", ObjectLock = recorded });
        void Retention(string id, string body, int status = 200) =>
            server.Given(Request.Create().WithPath($"/bkt/dr/postgres/main/{id}/manifest.json").WithParam("retention").UsingGet()).RespondWith(Xml(body, status));
        Retention("extended", "<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2027-03-01T00:00:00.000Z</RetainUntilDate></Retention>");
        Retention("expired", "<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2026-12-12T10:00:01.000Z</RetainUntilDate></Retention>");
        Retention("broken", "<Error><Code>InternalError</Code><Message>try again</Message></Error>", 500);

        // Recorded in the manifest and not yet passed: kept without asking the bucket.
        var recorded = await BackupCatalog.LockedAsync(store, Set("recorded", new BackupObjectLock("GOVERNANCE", now.AddDays(1))), now, ct);
        Assert.StartsWith("S3 Object Lock GOVERNANCE until ", recorded, StringComparison.Ordinal);
        Assert.Contains("recorded in its manifest", recorded, StringComparison.Ordinal);
        Assert.DoesNotContain(server.LogEntries, e => e.RequestMessage!.Path.Contains("/recorded/", StringComparison.Ordinal));

        // The recorded date passed, but the bucket holds a later one (the manifest was rewritten by a verification).
        var extended = await BackupCatalog.LockedAsync(store, Set("extended", new BackupObjectLock("GOVERNANCE", now.AddDays(-1))), now, ct);
        Assert.Equal("S3 Object Lock GOVERNANCE until 2027-03-01 00:00:00Z, as the bucket reports it", extended);

        Assert.Null(await BackupCatalog.LockedAsync(store, Set("expired", new BackupObjectLock("GOVERNANCE", now.AddDays(-30))), now, ct));

        var broken = await BackupCatalog.LockedAsync(store, Set("broken", null), now, ct);
        Assert.StartsWith("its S3 Object Lock retention could not be read", broken, StringComparison.Ordinal);
        Assert.EndsWith("so it is kept until it can be", broken, StringComparison.Ordinal);
        Assert.DoesNotContain(server.LogEntries, e => e.RequestMessage!.Method == "DELETE");
    }
}
