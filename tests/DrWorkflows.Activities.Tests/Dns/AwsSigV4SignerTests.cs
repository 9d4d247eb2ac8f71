using System.Text;
using DrWorkflows.Activities.Dns;

namespace DrWorkflows.Activities.Tests.Dns;

/// <summary>
/// The signer against AWS's published Signature Version 4 test suite (aws-sig-v4-test-suite): every case
/// signs for host example.amazonaws.com at 20150830T123600Z, region us-east-1, service "service", with the
/// suite's example key. Expected values are the suite's canonical requests, string-to-sign hashes and signatures.
/// </summary>
public sealed class AwsSigV4SignerTests
{
    private const string Host = "example.amazonaws.com";
    private const string Scope = "20150830/us-east-1/service/aws4_request";
    private static readonly AwsCredentials Suite = new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    private static readonly DateTimeOffset SignedAt = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);

    private sealed record Vector(
        string Method,
        string Path,
        (string Name, string Value)[] Query,
        (string Name, string Value)[] Headers,
        string Body,
        string SignedHeaders,
        string Signature,
        string? CanonicalRequest = null,
        string? CanonicalRequestHash = null,
        string? SessionToken = null);

    private static readonly Dictionary<string, Vector> Vectors = new()
    {
        ["get-vanilla"] = new("GET", "/", [], [], "", "host;x-amz-date",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"),
        ["post-vanilla"] = new("POST", "/", [], [], "", "host;x-amz-date",
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
            "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ["get-vanilla-query-order-key-case"] = new("GET", "/", [("Param2", "value2"), ("Param1", "value1")], [], "", "host;x-amz-date",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
            "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0"),
        ["post-x-www-form-urlencoded"] = new("POST", "/", [], [("Content-Type", "application/x-www-form-urlencoded")], "Param1=value1", "content-type;host;x-amz-date",
            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
            "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"),
        ["post-vanilla-query"] = new("POST", "/", [("Param1", "value1")], [], "", "host;x-amz-date",
            "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
            CanonicalRequestHash: "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd"),
        ["get-vanilla-query-order-encoded"] = new("GET", "/", [("Param-3", "Value3"), ("Param", "Value2"), ("\u1234", "Value1")], [], "", "host;x-amz-date",
            "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac",
            "GET\n/\n%E1%88%B4=Value1&Param=Value2&Param-3=Value3\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "868294f5c38bd141c4972a373a76654f1418a8e4fc18b2e7903ae45e8ae0ec71"),
        ["get-vanilla-query-unreserved"] = new("GET", "/",
            [("-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")],
            [], "", "host;x-amz-date",
            "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
            CanonicalRequestHash: "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177"),
        ["get-vanilla-utf8-query"] = new("GET", "/", [("\u1234", "bar")], [], "", "host;x-amz-date",
            "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
            CanonicalRequestHash: "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073"),
        ["get-utf8"] = new("GET", "/\u1234", [], [], "", "host;x-amz-date",
            "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
            "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ["get-unreserved"] = new("GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", [], [], "", "host;x-amz-date",
            "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
            CanonicalRequestHash: "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9"),
        ["get-space-unnormalized"] = new("GET", "/example space/", [], [], "", "host;x-amz-date",
            "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
            CanonicalRequestHash: "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86"),
        ["get-header-key-duplicate"] = new("GET", "/", [], [("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")], "", "host;my-header1;x-amz-date",
            "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
            "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ["get-header-value-order"] = new("GET", "/", [], [("My-Header1", "value4"), ("My-Header1", "value1"), ("My-Header1", "value3"), ("My-Header1", "value2")], "", "host;my-header1;x-amz-date",
            "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
            CanonicalRequestHash: "31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86"),
        ["get-header-value-trim"] = new("GET", "/", [], [("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")], "", "host;my-header1;my-header2;x-amz-date",
            "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
            "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7"),
        ["post-header-value-case"] = new("POST", "/", [], [("My-Header1", "VALUE1")], "", "host;my-header1;x-amz-date",
            "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
            CanonicalRequestHash: "d51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93"),
        ["get-vanilla-with-session-token"] = new("GET", "/", [], [], "", "host;x-amz-date;x-amz-security-token",
            "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n\nhost;x-amz-date;x-amz-security-token\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b",
            SessionToken: "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"),
    };

    public static TheoryData<string> Cases => [.. Vectors.Keys];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Signs_each_case_of_the_AWS_test_suite(string name)
    {
        var vector = Vectors[name];
        var signature = Sign(vector);

        Assert.Equal(vector.Signature, signature.Signature);
        Assert.Equal(vector.SignedHeaders, signature.SignedHeaders);
        Assert.Equal("20150830T123600Z", signature.AmzDate);
        Assert.Equal(
            $"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{Scope}, SignedHeaders={vector.SignedHeaders}, Signature={vector.Signature}",
            signature.Authorization);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Builds_the_suites_canonical_request_and_string_to_sign(string name)
    {
        var vector = Vectors[name];
        var signature = Sign(vector);

        if (vector.CanonicalRequest is { } canonical)
            Assert.Equal(canonical, signature.CanonicalRequest);
        var canonicalHash = AwsSigV4Signer.HashPayload(Encoding.UTF8.GetBytes(signature.CanonicalRequest));
        if (vector.CanonicalRequestHash is { } hash)
            Assert.Equal(hash, canonicalHash);
        Assert.Equal($"AWS4-HMAC-SHA256\n20150830T123600Z\n{Scope}\n{canonicalHash}", signature.StringToSign);
    }

    [Fact]
    public void Hashes_the_form_body_of_the_suite()
    {
        Assert.Equal("9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e", AwsSigV4Signer.HashPayload("Param1=value1"u8));
        Assert.Equal(AwsSigV4Signer.EmptyPayloadHash, AwsSigV4Signer.HashPayload([]));
    }

    [Fact]
    public void A_different_secret_gives_a_different_signature()
    {
        var vector = Vectors["get-vanilla"];
        var other = AwsSigV4Signer.Sign(Request(vector), Suite with { SecretAccessKey = "another-secret" }, "us-east-1", "service", SignedAt);

        Assert.NotEqual(vector.Signature, other.Signature);
    }

    [Fact]
    public void Credentials_do_not_print_the_secret()
    {
        var text = new AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-value").ToString();

        Assert.Contains("AKIDEXAMPLE", text, StringComparison.Ordinal);
        Assert.DoesNotContain("EXAMPLEKEY", text, StringComparison.Ordinal);
        Assert.DoesNotContain("session-token-value", text, StringComparison.Ordinal);
    }

    private static SigV4Signature Sign(Vector vector) =>
        AwsSigV4Signer.Sign(Request(vector), vector.SessionToken is null ? Suite : Suite with { SessionToken = vector.SessionToken }, "us-east-1", "service", SignedAt);

    private static SigV4Request Request(Vector vector) => new()
    {
        Method = vector.Method,
        Host = Host,
        Path = vector.Path,
        Query = [.. vector.Query.Select(q => new KeyValuePair<string, string>(q.Name, q.Value))],
        Headers = [.. vector.Headers.Select(h => new KeyValuePair<string, string>(h.Name, h.Value))],
        PayloadHash = AwsSigV4Signer.HashPayload(Encoding.UTF8.GetBytes(vector.Body)),
    };
}
