using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using DrWorkflows.Activities.Backups;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Storage;

/// <summary>
/// An S3 bucket (AWS or compatible). Large objects stream through a hand-written multipart loop: parts of
/// <see cref="S3BackupStoreOptions.PartSizeBytes"/> are uploaded while the next is filled; the object appears
/// only at CompleteMultipartUpload, and any failure or cancellation aborts the upload. Requests never use
/// aws-chunked bodies (<c>UseChunkEncoding=false</c>), which servers such as s3rver do not decode.
/// With <see cref="S3BackupStoreOptions.ObjectLock"/>, every PutObject and CreateMultipartUpload carries
/// <c>x-amz-object-lock-mode</c> and <c>x-amz-object-lock-retain-until-date</c> (now + RetainDays), and every PutObject
/// and UploadPart a <c>Content-MD5</c>, which S3 requires on writes with a retention.
/// </summary>
internal sealed class S3BackupStore : IBackupStore, IDisposable
{
    private readonly IAmazonS3 client;
    private readonly S3BackupStoreOptions options;
    private readonly string bucket;
    private readonly string prefix;
    private readonly ILogger logger;
    private readonly TimeProvider clock;

    public S3BackupStore(string name, S3BackupStoreOptions options, ILogger logger, TimeProvider? clock = null)
        : this(name, options, CreateClient(options), logger, clock)
    {
    }

    internal S3BackupStore(string name, S3BackupStoreOptions options, IAmazonS3 client, ILogger logger, TimeProvider? clock = null)
    {
        Name = name;
        this.options = options;
        this.client = client;
        this.logger = logger;
        this.clock = clock ?? TimeProvider.System;
        bucket = options.BucketName ?? throw new ArgumentException("S3 bucket name is required.", nameof(options));
        prefix = options.Prefix.Length == 0 || options.Prefix.EndsWith('/') ? options.Prefix : options.Prefix + "/";
    }

    public string Name { get; }

    public string Location => string.IsNullOrWhiteSpace(options.ServiceUrl)
        ? $"S3 bucket s3://{bucket}/{prefix} ({options.Region})"
        : $"S3 bucket s3://{bucket}/{prefix} at {options.ServiceUrl}";

    internal IAmazonS3 Client => client;

    /// <summary>The configuration section of this store, for messages.</summary>
    private string Section => string.Equals(Name, BackupStoreOptions.OffsiteStoreName, StringComparison.OrdinalIgnoreCase) ? "Backups:Stores:Offsite" : "Backups:Stores:S3";

    /// <summary>The Object Lock retention this store writes with (mode None when it writes none).</summary>
    internal ObjectLockOptions ObjectLock => options.ObjectLock;

    /// <summary>The retention an object written now gets, or null when this store locks nothing.</summary>
    internal BackupObjectLock? LockForNewObject() =>
        options.ObjectLock.Enabled ? new BackupObjectLock(options.ObjectLock.S3Mode, options.ObjectLock.RetainUntil(clock.GetUtcNow())) : null;

    /// <summary>
    /// The bucket's Object Lock configuration (<c>GetObjectLockConfiguration</c>): null when Object Lock is enabled on it,
    /// else why a lock cannot be written there. Unreachable or refused: throws a <c>backup.store-error</c>.
    /// </summary>
    internal async Task<string?> CheckObjectLockSupportAsync(CancellationToken cancellationToken)
    {
        try
        {
            var response = await client.GetObjectLockConfigurationAsync(new GetObjectLockConfigurationRequest { BucketName = bucket }, cancellationToken);
            return response.ObjectLockConfiguration?.ObjectLockEnabled?.Value == ObjectLockEnabled.Enabled.Value
                ? null
                : $"the bucket '{bucket}' answers GetObjectLockConfiguration without ObjectLockEnabled=Enabled";
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode is "ObjectLockConfigurationNotFoundError" or "NotImplemented" or "InvalidRequest" or "MethodNotAllowed")
        {
            return $"the bucket '{bucket}' has no Object Lock ({ex.ErrorCode}: {ex.Message})";
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            // The SDK does not always pass the code of a 404 on: no Object Lock configuration, or no such bucket.
            return $"the bucket '{bucket}' answers 404 to GetObjectLockConfiguration ({ex.ErrorCode}): it has no Object Lock configuration, or it does not exist";
        }
        catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException)
        {
            throw Translate(ex, "read the Object Lock configuration");
        }
    }

    /// <summary>The retention S3 holds for an object (<c>GetObjectRetention</c>), or null when it has none.</summary>
    internal async Task<BackupObjectLock?> GetObjectLockAsync(string key, CancellationToken cancellationToken)
    {
        var fullKey = FullKey(key);
        try
        {
            var response = await client.GetObjectRetentionAsync(new GetObjectRetentionRequest { BucketName = bucket, Key = fullKey }, cancellationToken);
            return response.Retention is { RetainUntilDate: { } until } retention
                ? new BackupObjectLock(retention.Mode?.Value ?? "UNKNOWN", ToOffset(until))
                : null;
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode is "NoSuchObjectLockConfiguration")
        {
            return null;
        }
        catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException)
        {
            throw Translate(ex, $"read the Object Lock retention of {key}");
        }
    }

    internal string Bucket => bucket;

    internal string FullKey(string key) => prefix + BackupKeys.Validate(key);

    public static AmazonS3Client CreateClient(S3BackupStoreOptions options)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
        };
        if (!string.IsNullOrWhiteSpace(options.ServiceUrl))
        {
            config.ServiceURL = options.ServiceUrl;
            config.AuthenticationRegion = options.Region;
        }
        else
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(options.Region);
        }

        if (options.ChecksumWhenRequired)
        {
            config.RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED;
            config.ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED;
        }

        return string.IsNullOrWhiteSpace(options.AccessKeyId)
            ? new AmazonS3Client(config)
            : new AmazonS3Client(new BasicAWSCredentials(options.AccessKeyId, options.SecretAccessKey), config);
    }

    public Task<IBackupObjectWriter> CreateWriterAsync(string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult<IBackupObjectWriter>(new MultipartWriter(this, key, FullKey(key)));
    }

    public async Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var fullKey = FullKey(key);
        await Call($"write {key}", async () =>
        {
            var bytes = content.ToArray();
            using var body = new MemoryStream(bytes, writable: false);
            await client.PutObjectAsync(Locked(new PutObjectRequest { BucketName = bucket, Key = fullKey, InputStream = body, UseChunkEncoding = false, AutoCloseStream = false }, bytes, bytes.Length), cancellationToken);
            return 0;
        });
    }

    public async Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken)
    {
        // The whole object as a range (its size from a HEAD), so that the SDK does not MD5 the download with its
        // managed MD5 (a CPU-second per 300 MB); our readers check the SHA-256 the manifest recorded. An empty
        // object has no range to ask for.
        var fullKey = FullKey(key);
        var size = (await GetInfoAsync(key, cancellationToken))?.Size
            ?? throw NotFound(key, null);
        var request = new GetObjectRequest { BucketName = bucket, Key = fullKey, ByteRange = size > 0 ? new ByteRange(0, size - 1) : null };
        var response = await Call($"read {key}", () => client.GetObjectAsync(request, cancellationToken), notFoundKey: key);
        return new ResponseStream(response);
    }

    public async Task<BackupObjectInfo?> GetInfoAsync(string key, CancellationToken cancellationToken)
    {
        var fullKey = FullKey(key);
        try
        {
            var meta = await client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucket, Key = fullKey }, cancellationToken);
            return new BackupObjectInfo(key, meta.ContentLength, ToOffset(meta.LastModified));
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound && ex.ErrorCode is null or "NoSuchKey" or "NotFound")
        {
            return null;
        }
        catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException)
        {
            throw Translate(ex, $"read metadata of {key}");
        }
    }

    public async IAsyncEnumerable<BackupObjectInfo> ListAsync(string keyPrefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? continuation = null;
        do
        {
            var request = new ListObjectsV2Request { BucketName = bucket, Prefix = prefix + keyPrefix, ContinuationToken = continuation };
            var page = await Call($"list {keyPrefix}*", () => client.ListObjectsV2Async(request, cancellationToken));
            foreach (var item in page.S3Objects ?? [])
                yield return new BackupObjectInfo(item.Key[prefix.Length..], item.Size ?? 0, ToOffset(item.LastModified));
            continuation = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (continuation is not null);
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        var fullKey = FullKey(key);
        await Call($"delete {key}", () => client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = bucket, Key = fullKey }, cancellationToken));
    }

    public void Dispose() => client.Dispose();

    /// <summary>Adds the Object Lock retention and the Content-MD5 it needs to a PutObject, when this store locks.</summary>
    private PutObjectRequest Locked(PutObjectRequest request, byte[] data, int length)
    {
        if (LockForNewObject() is { } objectLock)
        {
            request.ObjectLockMode = new ObjectLockMode(objectLock.Mode);
            request.ObjectLockRetainUntilDate = objectLock.RetainUntil.UtcDateTime;
            request.MD5Digest = ContentMd5(data, length);
        }

        return request;
    }

    /// <summary>
    /// Base64 MD5 of the body, for the Content-MD5 header S3 requires on writes with an Object Lock retention. It is the
    /// protocol's transport check, not a security measure: the integrity of a backup is the SHA-256 in its manifest.
    /// </summary>
#pragma warning disable CA5351 // S3 asks for MD5 in Content-MD5; nothing relies on it for security.
    private static string ContentMd5(byte[] data, int length) => Convert.ToBase64String(MD5.HashData(data.AsSpan(0, length)));
#pragma warning restore CA5351

    private static DateTimeOffset ToOffset(DateTime? time) =>
        time is { } t ? new DateTimeOffset(t.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(t, DateTimeKind.Utc) : t.ToUniversalTime()) : DateTimeOffset.MinValue;

    private async Task<T> Call<T>(string operation, Func<Task<T>> action, string? notFoundKey = null)
    {
        try
        {
            return await action();
        }
        catch (AmazonS3Exception ex) when (notFoundKey is not null && ex.ErrorCode == "NoSuchKey")
        {
            throw NotFound(notFoundKey, ex);
        }
        catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException)
        {
            throw Translate(ex, operation);
        }
    }

    private BackupException NotFound(string key, Exception? cause) =>
        new(BackupErrorCodes.NotFound, $"Backup object '{key}' does not exist in the {Location}.", innerException: cause);

    internal BackupException Translate(Exception ex, string operation)
    {
        var what = $"Could not {operation} in the {Location}";
        return ex switch
        {
            BackupException backup => backup,
            AmazonS3Exception { ErrorCode: "NoSuchBucket" } =>
                new BackupException(BackupErrorCodes.StoreError, $"{what}: the bucket '{bucket}' does not exist. Create it (with versioning or Object Lock where available) or fix {Section}:BucketName.", innerException: ex),
            AmazonS3Exception { ErrorCode: "AccessDenied" or "InvalidAccessKeyId" or "SignatureDoesNotMatch" or "ExpiredToken" } s3 =>
                new BackupException(BackupErrorCodes.StoreError, $"{what}: access refused ({s3.ErrorCode}). Check the S3 credentials ({Section}:AccessKeyId / AWS_ACCESS_KEY_ID) and the bucket policy.", innerException: ex),
            AmazonS3Exception s3 =>
                new BackupException(BackupErrorCodes.StoreError, $"{what}: {s3.ErrorCode ?? s3.StatusCode.ToString()}: {s3.Message}", retryable: (int)s3.StatusCode >= 500, ex),
            HttpRequestException or AmazonClientException or IOException =>
                new BackupException(BackupErrorCodes.StoreError, $"{what}: the endpoint is unreachable ({ex.GetBaseException().Message}). Check {Section}:ServiceUrl/Region and the network.", retryable: true, ex),
            _ => new BackupException(BackupErrorCodes.StoreError, $"{what}: {ex.Message}", innerException: ex),
        };
    }

    /// <summary>
    /// The multipart write loop. Part buffers are its own (at most <c>MaxConcurrentParts</c> + 1, reused part after
    /// part, dropped with the writer), not the shared array pool's: a pooled array returned by the thread that
    /// finished an upload stays in that thread's cache, so each new thread meant a new 16 MiB array and the
    /// memory of a backup grew with its length.
    /// </summary>
    private sealed class MultipartWriter(S3BackupStore store, string key, string fullKey) : IBackupObjectWriter
    {
        private readonly int partSize = store.options.PartSizeBytes;
        private readonly List<PartETag> parts = [];
        private readonly List<Task> inFlight = [];
        private readonly Stack<byte[]> spare = [];
        private byte[]? buffer;
        private int filled;
        private int partNumber;
        private string? uploadId;
        private bool committed;
        private bool disposed;
        /// <summary>The request that makes the object appear (PutObject or CompleteMultipartUpload) was sent.</summary>
        private bool putStarted;

        public string Key => key;

        public long BytesWritten { get; private set; }

        public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(disposed || committed, this);
            while (!data.IsEmpty)
            {
                buffer ??= TakeBuffer();
                var take = Math.Min(partSize - filled, data.Length);
                data.Span[..take].CopyTo(buffer.AsSpan(filled));
                filled += take;
                BytesWritten += take;
                data = data[take..];
                if (filled == partSize)
                    await StartPartAsync(cancellationToken);
            }
        }

        public async Task CommitAsync(CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(disposed || committed, this);
            if (uploadId is null)
            {
                // Small object: one PutObject, atomic by nature (but it may land although this side gave up on it).
                putStarted = true;
                var data = buffer ?? [];
                using var body = new MemoryStream(data, 0, filled, writable: false);
                await store.Call($"write {key}", () => store.client.PutObjectAsync(store.Locked(new PutObjectRequest
                {
                    BucketName = store.bucket, Key = fullKey, InputStream = body, UseChunkEncoding = false, AutoCloseStream = false,
                }, data, filled), cancellationToken));
                committed = true;
                return;
            }

            if (filled > 0)
                await StartPartAsync(cancellationToken);
            await Task.WhenAll(inFlight);
            inFlight.Clear();
            putStarted = true;
            var request = new CompleteMultipartUploadRequest { BucketName = store.bucket, Key = fullKey, UploadId = uploadId, PartETags = [.. parts.OrderBy(p => p.PartNumber)] };
            await store.Call($"complete the upload of {key}", () => store.client.CompleteMultipartUploadAsync(request, cancellationToken));
            committed = true;
            Log.MultipartCompleted(store.logger, key, parts.Count, BytesWritten);
        }

        private async Task StartPartAsync(CancellationToken cancellationToken)
        {
            if (uploadId is null)
            {
                var start = new InitiateMultipartUploadRequest { BucketName = store.bucket, Key = fullKey };
                if (store.LockForNewObject() is { } objectLock)
                {
                    start.ObjectLockMode = new ObjectLockMode(objectLock.Mode);
                    start.ObjectLockRetainUntilDate = objectLock.RetainUntil.UtcDateTime;
                }

                uploadId = (await store.Call($"start the upload of {key}", () => store.client.InitiateMultipartUploadAsync(start, cancellationToken))).UploadId;
            }

            // Bound the parts in flight; surface the first failure of an earlier part now.
            while (inFlight.Count >= store.options.MaxConcurrentParts)
            {
                var done = await Task.WhenAny(inFlight);
                inFlight.Remove(done);
                await done;
            }

            var number = ++partNumber;
            var data = buffer!;
            var length = filled;
            buffer = null;
            filled = 0;
            inFlight.Add(UploadPartAsync(number, data, length, cancellationToken));
        }

        private byte[] TakeBuffer()
        {
            lock (spare)
            {
                if (spare.Count > 0)
                    return spare.Pop();
            }

            return GC.AllocateUninitializedArray<byte>(partSize);
        }

        private async Task UploadPartAsync(int number, byte[] data, int length, CancellationToken cancellationToken)
        {
            try
            {
                using var body = new MemoryStream(data, 0, length, writable: false);
                var response = await store.Call($"upload part {number} of {key}", () => store.client.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = store.bucket, Key = fullKey, UploadId = uploadId, PartNumber = number, PartSize = length,
                    InputStream = body, UseChunkEncoding = false,
                    MD5Digest = store.options.ObjectLock.Enabled ? ContentMd5(data, length) : null,
                }, cancellationToken));
                lock (parts)
                    parts.Add(new PartETag(number, response.ETag));
            }
            finally
            {
                lock (spare)
                    spare.Push(data);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (disposed)
                return;
            disposed = true;
            buffer = null;
            lock (spare)
                spare.Clear();

            if (committed)
                return;

            // A PutObject or CompleteMultipartUpload cancelled or failed in flight may still have been stored.
            if (putStarted)
                await DeleteQuietlyAsync();
            if (uploadId is null)
                return;

            try
            {
                await Task.WhenAll(inFlight);
            }
            catch (Exception)
            {
                // The upload is being aborted; part failures were or will be reported by the caller.
            }

            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await store.client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = store.bucket, Key = fullKey, UploadId = uploadId }, timeout.Token);
                Log.MultipartAborted(store.logger, key, uploadId);
            }
            catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or OperationCanceledException)
            {
                Log.MultipartAbortFailed(store.logger, key, uploadId, ex);
            }
        }

        private async Task DeleteQuietlyAsync()
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await store.client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = store.bucket, Key = fullKey }, timeout.Token);
            }
            catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or OperationCanceledException)
            {
                Log.UnfinishedPutNotRemoved(store.logger, key, ex);
            }
        }
    }

    /// <summary>Owns the GetObject response so that disposing the stream releases the connection.</summary>
    private sealed class ResponseStream(GetObjectResponse response) : ReadOnlyStream
    {
        private readonly Stream inner = response.ResponseStream;

        public override long Length => response.ContentLength;

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                response.Dispose();
            base.Dispose(disposing);
        }
    }
}
