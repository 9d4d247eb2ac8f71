using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;

namespace DrWorkflows.Activities.Dns;

/// <summary>
/// Route 53 REST API (version 2013-04-01) over <see cref="HttpClient"/> with SigV4 signing. Only what the
/// DR workflows need: read a record set, <c>UPSERT</c> one, read a change. Every call is idempotent, so
/// throttling, 5xx and network errors are retried with backoff, each attempt signed afresh.
/// </summary>
internal sealed class Route53Client : IDnsProvider, IDisposable
{
    internal const string ApiVersion = "2013-04-01";
    internal static readonly XNamespace Ns = "https://route53.amazonaws.com/doc/2013-04-01/";
    private const string Service = "route53";

    private static readonly HashSet<string> TransientCodes = new(StringComparer.Ordinal)
    {
        "Throttling", "ThrottlingException", "PriorRequestNotComplete", "ServiceUnavailable", "InternalError", "RequestTimeout",
    };

    private readonly HttpClient http;
    private readonly Route53Options options;
    private readonly TimeProvider clock;
    private readonly ILogger<Route53Client> logger;
    private readonly ResiliencePipeline retry;
    private readonly Uri endpoint;

    public Route53Client(HttpClient http, IOptions<Route53Options> options, TimeProvider clock, ILogger<Route53Client> logger)
    {
        this.http = http;
        this.options = options.Value;
        this.clock = clock;
        this.logger = logger;
        endpoint = new Uri(this.options.Endpoint.TrimEnd('/') + "/", UriKind.Absolute);
        retry = RetryPipelines.Create<DnsOperationException>(
            clock,
            this.options.MaxAttempts,
            this.options.RetryDelay,
            (attempt, delay, reason) => Log.Route53Retrying(logger, attempt, delay, reason));
    }

    public string Name => "route53";

    public void Dispose() => http.Dispose();

    public async Task<DnsRecord?> GetRecordAsync(string zoneId, string name, string type, CancellationToken cancellationToken)
    {
        var zone = NormalizeZoneId(zoneId);
        var fqdn = ToFqdn(name);
        var recordType = DnsRecordTypes.Normalize(type);
        var document = await SendAsync(
            HttpMethod.Get,
            $"/{ApiVersion}/hostedzone/{zone}/rrset",
            [new("name", fqdn), new("type", recordType), new("maxitems", "1")],
            body: null,
            $"list record {fqdn} {recordType} in zone {zone}",
            cancellationToken);

        // ListResourceRecordSets starts at (name, type) and returns the next set in order: check it is ours.
        foreach (var set in document.Descendants().Where(e => e.Name.LocalName == "ResourceRecordSet"))
        {
            var setName = Child(set, "Name");
            var setType = Child(set, "Type");
            if (!SameName(setName, fqdn) || !string.Equals(setType, recordType, StringComparison.OrdinalIgnoreCase))
                continue;
            var values = set.Descendants().Where(e => e.Name.LocalName == "Value").Select(e => e.Value).ToList();
            var ttl = long.TryParse(Child(set, "TTL"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var t) ? t : 0;
            var alias = set.Elements().FirstOrDefault(e => e.Name.LocalName == "AliasTarget") is { } a ? Child(a, "DNSName") : null;
            return new DnsRecord(TrimDot(setName!), setType!, ttl, values) { AliasTarget = alias };
        }

        return null;
    }

    public async Task<DnsChange> UpsertRecordAsync(string zoneId, DnsRecord record, string? comment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var zone = NormalizeZoneId(zoneId);
        var type = DnsRecordTypes.Normalize(record.Type);
        if (record.Values.Count == 0 || record.Values.Any(string.IsNullOrWhiteSpace))
            throw new DnsOperationException($"The {type} record {record.Name} needs at least one non-empty value.", retryable: false) { Code = "dns.no-value" };
        if (type == DnsRecordTypes.Cname && record.Values.Count != 1)
            throw new DnsOperationException($"A CNAME record ({record.Name}) has exactly one value; {record.Values.Count} were given.", retryable: false) { Code = "dns.cname-values" };
        if (record.Ttl is < 0 or > 2147483647)
            throw new DnsOperationException($"TTL {record.Ttl} of {record.Name} is out of range (0 to 2147483647 seconds).", retryable: false) { Code = "dns.ttl" };

        var body = BuildChangeBatch(new DnsRecord(ToFqdn(record.Name), type, record.Ttl, record.Values), comment);
        var document = await SendAsync(
            HttpMethod.Post,
            $"/{ApiVersion}/hostedzone/{zone}/rrset",
            [],
            body,
            $"UPSERT {type} {record.Name} in zone {zone}",
            cancellationToken);
        var change = ParseChange(document, "ChangeResourceRecordSets");
        Log.Route53ChangeSubmitted(logger, change.Id, type, record.Name, zone, change.Status);
        return change;
    }

    public async Task<DnsChange> GetChangeAsync(string changeId, CancellationToken cancellationToken)
    {
        var id = NormalizeChangeId(changeId);
        var document = await SendAsync(HttpMethod.Get, $"/{ApiVersion}/change/{id}", [], body: null, $"get change {id}", cancellationToken);
        return ParseChange(document, "GetChange");
    }

    /// <summary>The <c>ChangeResourceRecordSetsRequest</c> document for one UPSERT.</summary>
    internal static byte[] BuildChangeBatch(DnsRecord record, string? comment)
    {
        var recordSet = new XElement(
            Ns + "ResourceRecordSet",
            new XElement(Ns + "Name", record.Name),
            new XElement(Ns + "Type", record.Type),
            new XElement(Ns + "TTL", record.Ttl.ToString(CultureInfo.InvariantCulture)),
            new XElement(Ns + "ResourceRecords", record.Values.Select(v => new XElement(Ns + "ResourceRecord", new XElement(Ns + "Value", v)))));
        var batch = new XElement(Ns + "ChangeBatch");
        if (!string.IsNullOrWhiteSpace(comment))
            batch.Add(new XElement(Ns + "Comment", comment.Length > 256 ? comment[..256] : comment));
        batch.Add(new XElement(Ns + "Changes", new XElement(Ns + "Change", new XElement(Ns + "Action", "UPSERT"), recordSet)));
        var document = new XDocument(new XDeclaration("1.0", "UTF-8", null), new XElement(Ns + "ChangeResourceRecordSetsRequest", batch));
        using var stream = new MemoryStream();
        using (var writer = System.Xml.XmlWriter.Create(stream, new System.Xml.XmlWriterSettings { Encoding = new UTF8Encoding(false), Indent = false }))
            document.Save(writer);
        return stream.ToArray();
    }

    /// <summary>Preflight (read-only): the credentials are accepted (<c>GetHostedZoneCount</c>); returns the number of hosted zones.</summary>
    public async Task<long> CountHostedZonesAsync(CancellationToken cancellationToken)
    {
        var document = await SendAsync(HttpMethod.Get, "/2013-04-01/hostedzonecount", [], null, "GetHostedZoneCount", cancellationToken);
        var count = document.Descendants().FirstOrDefault(e => e.Name.LocalName == "HostedZoneCount")?.Value;
        return long.TryParse(count, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : 0;
    }

    private async Task<XDocument> SendAsync(
        HttpMethod method,
        string path,
        IReadOnlyList<KeyValuePair<string, string>> query,
        byte[]? body,
        string operation,
        CancellationToken cancellationToken) =>
        await retry.ExecuteAsync(
            async ct =>
            {
                using var request = CreateSignedRequest(method, path, query, body);
                HttpResponseMessage response;
                try
                {
                    response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
                }
                catch (HttpRequestException e)
                {
                    throw new DnsOperationException($"Route 53 {operation}: could not reach {endpoint} ({e.Message}). Check network access to the Route 53 endpoint.", retryable: true, e) { Code = "dns.unreachable" };
                }
                catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
                {
                    throw new DnsOperationException($"Route 53 {operation}: no answer from {endpoint} within {options.RequestTimeout.TotalSeconds:0} s.", retryable: true, e) { Code = "dns.timeout" };
                }

                using (response)
                {
                    var text = await response.Content.ReadAsStringAsync(ct);
                    if (!response.IsSuccessStatusCode)
                        throw ToError(operation, response.StatusCode, text);
                    try
                    {
                        return XDocument.Parse(text);
                    }
                    catch (System.Xml.XmlException e)
                    {
                        throw new DnsOperationException($"Route 53 {operation}: the answer is not XML ({e.Message}).", retryable: false, e) { Code = "dns.bad-response" };
                    }
                }
            },
            cancellationToken);

    private HttpRequestMessage CreateSignedRequest(HttpMethod method, string path, IReadOnlyList<KeyValuePair<string, string>> query, byte[]? body)
    {
        var canonicalQuery = AwsSigV4Signer.CanonicalQuery(query);
        var encodedPath = AwsSigV4Signer.CanonicalPath(path);
        var uri = new Uri(endpoint, encodedPath.TrimStart('/') + (canonicalQuery.Length > 0 ? "?" + canonicalQuery : string.Empty));
        var request = new HttpRequestMessage(method, uri);
        var signedHeaders = new List<KeyValuePair<string, string>>();
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/xml");
            signedHeaders.Add(new("content-type", "application/xml"));
        }

        var credentials = options.Credentials;
        var signature = AwsSigV4Signer.Sign(
            new SigV4Request
            {
                Method = method.Method,
                Host = uri.Authority,
                Path = path,
                Query = query,
                Headers = signedHeaders,
                PayloadHash = AwsSigV4Signer.HashPayload(body ?? []),
            },
            credentials,
            options.Region,
            Service,
            clock.GetUtcNow());
        request.Headers.TryAddWithoutValidation("X-Amz-Date", signature.AmzDate);
        if (credentials.SessionToken is { } token)
            request.Headers.TryAddWithoutValidation("X-Amz-Security-Token", token);
        request.Headers.TryAddWithoutValidation("Authorization", signature.Authorization);
        return request;
    }

    private static DnsOperationException ToError(string operation, HttpStatusCode status, string body)
    {
        string? code = null;
        string? message = null;
        try
        {
            var document = XDocument.Parse(body);
            code = document.Descendants().FirstOrDefault(e => e.Name.LocalName == "Code")?.Value;
            var messages = document.Descendants().Where(e => e.Name.LocalName == "Message").Select(e => e.Value).ToList();
            message = messages.Count > 0 ? string.Join("; ", messages) : null;
            if (code is null && document.Root?.Name.LocalName == "InvalidChangeBatch")
                code = "InvalidChangeBatch";
        }
        catch (System.Xml.XmlException)
        {
            message = body.Length > 300 ? body[..300] : body;
        }

        var statusCode = (int)status;
        var transient = statusCode >= 500 || status == HttpStatusCode.TooManyRequests || (code is not null && TransientCodes.Contains(code));
        var hint = code switch
        {
            "InvalidClientTokenId" or "SignatureDoesNotMatch" or "IncompleteSignature" or "MissingAuthenticationToken" =>
                "Check Route53:AccessKeyId and Route53:SecretAccessKey (and the machine clock: signatures expire after 5 minutes).",
            "AccessDenied" or "AccessDeniedException" => "Grant the key route53:ChangeResourceRecordSets, route53:ListResourceRecordSets and route53:GetChange on this zone.",
            "NoSuchHostedZone" => "Check the hosted zone id (Route 53 console, or `aws route53 list-hosted-zones`).",
            "NoSuchChange" => "Check the change id: it is the one UpsertDnsRecord returned.",
            "InvalidChangeBatch" or "InvalidInput" => "Fix the record name, type, TTL or value in the workflow.",
            _ when transient => "Route 53 is throttling or failing; the call was retried with backoff. Re-run the step later.",
            _ => "See the Route 53 error above.",
        };
        return new DnsOperationException(
            $"Route 53 {operation} failed with HTTP {statusCode}{(code is null ? string.Empty : " " + code)}: {message ?? "(no message)"}. {hint}",
            transient)
        {
            Code = "dns.route53." + (code ?? statusCode.ToString(CultureInfo.InvariantCulture)),
            ProviderCode = code,
            StatusCode = statusCode,
        };
    }

    private static DnsChange ParseChange(XDocument document, string operation)
    {
        var info = document.Descendants().FirstOrDefault(e => e.Name.LocalName == "ChangeInfo")
            ?? throw new DnsOperationException($"Route 53 {operation}: the answer has no ChangeInfo element.", retryable: false) { Code = "dns.bad-response" };
        var id = Child(info, "Id") ?? throw new DnsOperationException($"Route 53 {operation}: the answer has no change id.", retryable: false) { Code = "dns.bad-response" };
        var status = Child(info, "Status") ?? string.Empty;
        DateTimeOffset? submitted = DateTimeOffset.TryParse(Child(info, "SubmittedAt"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;
        return new DnsChange(NormalizeChangeId(id), status, submitted);
    }

    private static string? Child(XElement element, string localName) =>
        element.Elements().FirstOrDefault(e => e.Name.LocalName == localName)?.Value;

    /// <summary>Accepts <c>Z123</c> or <c>/hostedzone/Z123</c>.</summary>
    internal static string NormalizeZoneId(string zoneId)
    {
        var id = (zoneId ?? string.Empty).Trim();
        if (id.StartsWith("/hostedzone/", StringComparison.OrdinalIgnoreCase))
            id = id["/hostedzone/".Length..];
        return id.Length > 0 && id.All(char.IsAsciiLetterOrDigit)
            ? id
            : throw new DnsOperationException($"'{zoneId}' is not a Route 53 hosted zone id (letters and digits, e.g. Z1234567890ABC).", retryable: false) { Code = "dns.zone-id" };
    }

    /// <summary>Accepts <c>C123</c> or <c>/change/C123</c>.</summary>
    internal static string NormalizeChangeId(string changeId)
    {
        var id = (changeId ?? string.Empty).Trim();
        if (id.StartsWith("/change/", StringComparison.OrdinalIgnoreCase))
            id = id["/change/".Length..];
        return id.Length > 0 && id.All(char.IsAsciiLetterOrDigit)
            ? id
            : throw new DnsOperationException($"'{changeId}' is not a Route 53 change id (e.g. C2682N5HXP0BZ4).", retryable: false) { Code = "dns.change-id" };
    }

    private static string ToFqdn(string name)
    {
        var trimmed = (name ?? string.Empty).Trim();
        if (trimmed.Length == 0 || trimmed.Contains(' ', StringComparison.Ordinal))
            throw new DnsOperationException($"'{name}' is not a DNS name.", retryable: false) { Code = "dns.name" };
        return trimmed.EndsWith('.') ? trimmed : trimmed + ".";
    }

    private static string TrimDot(string name) => name.EndsWith('.') ? name[..^1] : name;

    // Route 53 returns names with a trailing dot and escapes '*' as \052.
    private static bool SameName(string? a, string b) =>
        a is not null && string.Equals(TrimDot(a.Replace("\\052", "*", StringComparison.Ordinal)), TrimDot(b), StringComparison.OrdinalIgnoreCase);
}
