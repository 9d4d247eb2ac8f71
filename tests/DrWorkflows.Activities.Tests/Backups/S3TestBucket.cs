using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using DrWorkflows.Activities.Storage;
using DrWorkflows.Testing;

namespace DrWorkflows.Activities.Tests.Backups;

/// <summary>A fresh bucket on the S3 stand-in (<c>DRW_TEST_S3_URL</c>, or another endpoint), emptied and deleted on dispose.</summary>
internal sealed class S3TestBucket : IAsyncDisposable
{
    private S3TestBucket(Uri endpoint, string name, AmazonS3Client client)
    {
        Endpoint = endpoint;
        Name = name;
        Client = client;
    }

    public Uri Endpoint { get; }

    public string Name { get; }

    public AmazonS3Client Client { get; }

    public static async Task<S3TestBucket> CreateAsync(CancellationToken cancellationToken, bool create = true, Uri? endpoint = null)
    {
        endpoint ??= TestServices.RequireS3();
        var name = "drw-backup-" + Guid.NewGuid().ToString("N")[..12];
        var client = new AmazonS3Client(new BasicAWSCredentials("S3RVER", "S3RVER"), new AmazonS3Config
        {
            ServiceURL = endpoint.ToString(),
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        });
        if (create)
            await client.PutBucketAsync(new PutBucketRequest { BucketName = name }, cancellationToken);
        return new S3TestBucket(endpoint, name, client);
    }

    /// <summary>Store options pointing at this bucket.</summary>
    public void Configure(BackupStoreOptions options, int partSize = 5 * 1024 * 1024) => Configure(options.S3, partSize);

    /// <summary>S3 store options (the <c>s3</c> or the <c>offsite</c> store) pointing at this bucket.</summary>
    public void Configure(S3BackupStoreOptions s3, int partSize = 5 * 1024 * 1024)
    {
        s3.BucketName = Name;
        s3.ServiceUrl = Endpoint.ToString();
        s3.ForcePathStyle = true;
        s3.AccessKeyId = "S3RVER";
        s3.SecretAccessKey = "S3RVER";
        s3.PartSizeBytes = partSize;
    }

    public async Task<List<S3Object>> ListAsync(CancellationToken cancellationToken)
    {
        var response = await Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Name }, cancellationToken);
        return response.S3Objects ?? [];
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (var item in await ListAsync(CancellationToken.None))
                await Client.DeleteObjectAsync(Name, item.Key);
            await Client.DeleteBucketAsync(Name);
        }
        catch (AmazonS3Exception)
        {
            // The bucket was never created or is already gone.
        }

        Client.Dispose();
    }
}
