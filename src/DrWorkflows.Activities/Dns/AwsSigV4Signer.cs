using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace DrWorkflows.Activities.Dns;

/// <summary>AWS credentials for request signing. <see cref="SecretAccessKey"/> is never logged.</summary>
public sealed record AwsCredentials(string AccessKeyId, string SecretAccessKey, string? SessionToken = null)
{
    /// <summary>Keeps the secret out of <c>ToString()</c> (records print every property by default).</summary>
    public override string ToString() => $"AwsCredentials {{ AccessKeyId = {AccessKeyId} }}";
}

/// <summary>
/// What goes into an AWS Signature Version 4: the request as it is sent. <see cref="Path"/> and the
/// <see cref="Query"/> pairs are given unencoded; the signer percent-encodes them (RFC 3986 unreserved
/// characters stay as they are). <c>host</c> and <c>x-amz-date</c> (and <c>x-amz-security-token</c> when
/// the credentials have a session token) are added by the signer; every header in <see cref="Headers"/> is signed.
/// </summary>
public sealed class SigV4Request
{
    public required string Method { get; init; }

    /// <summary>Host as sent in the <c>Host</c> header: the authority, with the port when it is not the default.</summary>
    public required string Host { get; init; }

    public string Path { get; init; } = "/";

    public IReadOnlyList<KeyValuePair<string, string>> Query { get; init; } = [];

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    /// <summary>Lower-case hex SHA-256 of the body (see <see cref="AwsSigV4Signer.HashPayload"/>).</summary>
    public string PayloadHash { get; init; } = AwsSigV4Signer.EmptyPayloadHash;
}

/// <summary>The intermediate and final values of a signature, so each step can be checked against AWS's test suite.</summary>
public sealed record SigV4Signature(
    string CanonicalRequest,
    string StringToSign,
    string Signature,
    string SignedHeaders,
    string AmzDate,
    string Authorization);

/// <summary>
/// AWS Signature Version 4 with the BCL only (HMAC-SHA256), for services the AWS SDK is not served for
/// (Route 53). Verified against AWS's published SigV4 test suite in the tests.
/// </summary>
public static class AwsSigV4Signer
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>SHA-256 of an empty body.</summary>
    public const string EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    public static string HashPayload(ReadOnlySpan<byte> payload) => Convert.ToHexStringLower(SHA256.HashData(payload));

    public static SigV4Signature Sign(SigV4Request request, AwsCredentials credentials, string region, string service, DateTimeOffset signedAt)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(credentials);
        var utc = signedAt.ToUniversalTime();
        var amzDate = utc.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var date = utc.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

        var headers = new List<KeyValuePair<string, string>>(request.Headers)
        {
            new("host", request.Host),
            new("x-amz-date", amzDate),
        };
        if (!string.IsNullOrEmpty(credentials.SessionToken))
            headers.Add(new("x-amz-security-token", credentials.SessionToken));

        // Same-named headers are joined with commas in the order given; names are sorted.
        var canonicalHeaders = headers
            .GroupBy(h => h.Key.Trim().ToLowerInvariant(), StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (Name: g.Key, Value: string.Join(',', g.Select(h => NormalizeHeaderValue(h.Value)))))
            .ToList();
        var signedHeaders = string.Join(';', canonicalHeaders.Select(h => h.Name));

        var canonicalRequest = new StringBuilder()
            .Append(request.Method.ToUpperInvariant()).Append('\n')
            .Append(CanonicalPath(request.Path)).Append('\n')
            .Append(CanonicalQuery(request.Query)).Append('\n');
        foreach (var (name, value) in canonicalHeaders)
            canonicalRequest.Append(name).Append(':').Append(value).Append('\n');
        canonicalRequest.Append('\n').Append(signedHeaders).Append('\n').Append(request.PayloadHash);
        var canonical = canonicalRequest.ToString();

        var scope = $"{date}/{region}/{service}/aws4_request";
        var stringToSign = $"{Algorithm}\n{amzDate}\n{scope}\n{HashPayload(Encoding.UTF8.GetBytes(canonical))}";

        var key = Hmac(Encoding.UTF8.GetBytes("AWS4" + credentials.SecretAccessKey), date);
        key = Hmac(key, region);
        key = Hmac(key, service);
        key = Hmac(key, "aws4_request");
        var signature = Convert.ToHexStringLower(Hmac(key, stringToSign));

        var authorization = $"{Algorithm} Credential={credentials.AccessKeyId}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}";
        return new SigV4Signature(canonical, stringToSign, signature, signedHeaders, amzDate, authorization);
    }

    /// <summary>RFC 3986 percent-encoding as SigV4 wants it: unreserved characters kept, UTF-8 bytes as upper-case %XX.</summary>
    public static string UriEncode(string value, bool keepSlash = false)
    {
        var builder = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~' || (keepSlash && c == '/'))
                builder.Append(c);
            else
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }

        return builder.ToString();
    }

    /// <summary>The query string exactly as it is signed (and so as it must be sent).</summary>
    public static string CanonicalQuery(IEnumerable<KeyValuePair<string, string>> query) =>
        string.Join('&', query
            .Select(p => (Name: UriEncode(p.Key), Value: UriEncode(p.Value)))
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => $"{p.Name}={p.Value}"));

    /// <summary>The path exactly as it is signed (and so as it must be sent).</summary>
    public static string CanonicalPath(string path) => string.IsNullOrEmpty(path) ? "/" : UriEncode(path, keepSlash: true);

    private static string NormalizeHeaderValue(string value)
    {
        var builder = new StringBuilder(value.Length);
        var space = false;
        foreach (var c in value.Trim())
        {
            if (c is ' ' or '\t')
            {
                space = true;
                continue;
            }

            if (space)
                builder.Append(' ');
            space = false;
            builder.Append(c);
        }

        return builder.ToString();
    }

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));
}
