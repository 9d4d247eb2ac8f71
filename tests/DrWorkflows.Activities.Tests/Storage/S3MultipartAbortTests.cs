using DrWorkflows.Activities.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace DrWorkflows.Activities.Tests.Storage;

/// <summary>
/// s3rver 3.7.1 implements neither AbortMultipartUpload nor ListMultipartUploads, so the abort requests are checked
/// against a WireMock stand-in that records what the store sends.
/// </summary>
public sealed class S3MultipartAbortTests : IDisposable
{
    private const string UploadId = "upload-123";
    private readonly WireMockServer server = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"], StartAdminInterface = false });

    public S3MultipartAbortTests()
    {
        server.Given(Request.Create().WithPath("/bkt/dr/k/a/b/obj").WithParam("uploads").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/xml")
                .WithBody($"<InitiateMultipartUploadResult><Bucket>bkt</Bucket><Key>dr/k/a/b/obj</Key><UploadId>{UploadId}</UploadId></InitiateMultipartUploadResult>"));
        server.Given(Request.Create().WithPath("/bkt/dr/k/a/b/obj").WithParam("uploadId", UploadId).UsingDelete())
            .RespondWith(Response.Create().WithStatusCode(204));
    }

    public void Dispose() => server.Dispose();

    private S3BackupStore CreateStore() => new("s3", new S3BackupStoreOptions
    {
        BucketName = "bkt",
        Prefix = "dr",
        ServiceUrl = server.Urls[0],
        ForcePathStyle = true,
        AccessKeyId = "k",
        SecretAccessKey = "s",
        PartSizeBytes = 5 * 1024 * 1024,
    }, NullLogger.Instance);

    private int AbortRequests() => server.LogEntries.Count(e =>
        e.RequestMessage!.Method == "DELETE" && e.RequestMessage.Query is { } q && q.TryGetValue("uploadId", out var v) && v.Contains(UploadId));

    [Fact]
    public async Task A_cancelled_upload_is_aborted()
    {
        server.Given(Request.Create().WithPath("/bkt/dr/k/a/b/obj").WithParam("partNumber").UsingPut())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("ETag", "\"etag\""));
        using var store = CreateStore();
        using var cancel = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await using var writer = await store.CreateWriterAsync("k/a/b/obj", cancel.Token);
            await writer.WriteAsync(new byte[6 * 1024 * 1024], cancel.Token);
            await cancel.CancelAsync();
            await writer.WriteAsync(new byte[6 * 1024 * 1024], cancel.Token);
            await writer.CommitAsync(cancel.Token);
        });

        Assert.Equal(1, AbortRequests());
        Assert.DoesNotContain(server.LogEntries, e => e.RequestMessage!.Method == "POST" && e.RequestMessage.Query?.ContainsKey("uploadId") == true);
    }

    [Fact]
    public async Task A_failed_part_aborts_the_upload_and_never_completes_it()
    {
        server.Given(Request.Create().WithPath("/bkt/dr/k/a/b/obj").WithParam("partNumber").UsingPut())
            .RespondWith(Response.Create().WithStatusCode(403).WithHeader("Content-Type", "application/xml")
                .WithBody("<Error><Code>AccessDenied</Code><Message>denied</Message></Error>"));
        using var store = CreateStore();
        var ct = TestContext.Current.CancellationToken;
        var error = await Assert.ThrowsAsync<DrWorkflows.Activities.Backups.BackupException>(async () =>
        {
            await using var writer = await store.CreateWriterAsync("k/a/b/obj", ct);
            await writer.WriteAsync(new byte[6 * 1024 * 1024], ct);
            await writer.CommitAsync(ct);
        });

        Assert.Contains("access refused", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, AbortRequests());
        Assert.DoesNotContain(server.LogEntries, e => e.RequestMessage!.Method == "POST" && e.RequestMessage.Query?.ContainsKey("uploadId") == true);
    }
}
