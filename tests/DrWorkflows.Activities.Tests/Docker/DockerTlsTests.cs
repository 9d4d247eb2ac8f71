using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Tests.Docker;

/// <summary>
/// A remote engine over TCP with mutual TLS, as <c>dockerd --tlsverify</c> serves it: a TLS front on loopback that
/// requires a client certificate from the test CA and forwards to the private dockerd's socket.
/// </summary>
public sealed class DockerTlsTests : IAsyncLifetime
{
    private readonly TempDirectory dir = new("docker-tls");
    private readonly CancellationTokenSource stop = new();
    private TcpListener listener = null!;
    private Task accepting = Task.CompletedTask;
    private X509Certificate2 ca = null!;
    private X509Certificate2 server = null!;
    private string socket = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Endpoint => $"tcp://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";

    public ValueTask InitializeAsync()
    {
        var docker = TestServices.RequireDocker();
        socket = docker.LocalPath;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=drw test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(dir.Combine("ca.pem"), ca.ExportCertificatePem());

        server = Issue("CN=127.0.0.1", serverAuth: true, out _);
        var client = Issue("CN=drworkflows", serverAuth: false, out var clientKey);
        File.WriteAllText(dir.Combine("cert.pem"), client.ExportCertificatePem());
        File.WriteAllText(dir.Combine("key.pem"), clientKey.ExportPkcs8PrivateKeyPem());

        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var other = new CertificateRequest("CN=other CA", otherKey, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(dir.Combine("other-ca.pem"), other.ExportCertificatePem());

        listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        accepting = AcceptAsync();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Stop();
        try
        {
            await accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        stop.Dispose();
        dir.Dispose();
    }

    [Fact]
    public async Task Mutual_tls_with_client_certificate_and_pinned_ca_reaches_the_engine()
    {
        using var service = Create(dir.Combine("ca.pem"));
        Assert.Matches(@"^\d+\.\d+", await service.GetEngineVersionAsync(Ct));
        var missing = await Assert.ThrowsAsync<DockerOperationException>(() => service.InspectContainerAsync("drwt-tls-none", Ct));
        Assert.Equal(DockerOperationException.ContainerNotFound, missing.Code); // a real API answer through the TLS front
    }

    [Fact]
    public async Task A_server_certificate_from_another_ca_is_refused()
    {
        using var service = Create(dir.Combine("other-ca.pem"));
        var e = await Assert.ThrowsAsync<DockerOperationException>(() => service.GetEngineVersionAsync(Ct));
        Assert.Equal(DockerOperationException.EngineUnreachable, e.Code);
        Assert.Contains($"TLS handshake with the Docker engine at {Endpoint} failed", e.Message);
        Assert.Contains("TlsCaCertificatePath", e.Message);
    }

    [Fact]
    public async Task Without_a_client_certificate_the_engine_refuses_the_connection()
    {
        using var service = new DockerService(Options.Create(new DockerOptions { Endpoint = Endpoint, RequestTimeout = TimeSpan.FromSeconds(5) }), TimeProvider.System, NullLogger<DockerService>.Instance);
        var e = await Assert.ThrowsAsync<DockerOperationException>(() => service.GetEngineVersionAsync(Ct));
        Assert.Equal(DockerOperationException.EngineUnreachable, e.Code);
    }

    private DockerService Create(string caPath) =>
        new(Options.Create(new DockerOptions
        {
            Endpoint = Endpoint,
            TlsCaCertificatePath = caPath,
            TlsClientCertificatePath = dir.Combine("cert.pem"),
            TlsClientKeyPath = dir.Combine("key.pem"),
            RequestTimeout = TimeSpan.FromSeconds(10),
        }), TimeProvider.System, NullLogger<DockerService>.Instance);

    private X509Certificate2 Issue(string subject, bool serverAuth, out ECDsa key)
    {
        key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (serverAuth)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
        }

        var serial = RandomNumberGenerator.GetBytes(8);
        using var issued = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(CaKey()), DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(2), serial);
        return issued.CopyWithPrivateKey(key);
    }

    private ECDsa CaKey() => ca.GetECDsaPrivateKey()!;

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            var client = await listener.AcceptTcpClientAsync(stop.Token);
            _ = Task.Run(() => ServeAsync(client), stop.Token);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            await using var tls = new SslStream(client.GetStream(), false, (_, certificate, _, _) =>
            {
                if (certificate is null)
                    return false;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(certificate));
            });
            try
            {
                await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = server, ClientCertificateRequired = true }, stop.Token);
            }
            catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException)
            {
                return;
            }

            using var engine = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await engine.ConnectAsync(new UnixDomainSocketEndPoint(socket), stop.Token);
            await using var engineStream = new NetworkStream(engine, ownsSocket: false);
            var up = tls.CopyToAsync(engineStream, stop.Token);
            var down = engineStream.CopyToAsync(tls, stop.Token);
            try
            {
                await Task.WhenAny(up, down);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException)
            {
                // A side closed.
            }
        }
    }
}
