using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Docker.DotNet;
using Docker.DotNet.X509;

namespace DrWorkflows.Activities.Docker;

/// <summary>Builds a Docker.DotNet client for <see cref="DockerOptions"/>: a unix socket, or TCP with mutual TLS.</summary>
internal static class DockerClientFactory
{
    public static DockerClient Create(DockerOptions options)
    {
        var endpoint = new Uri(options.Endpoint);
        Credentials credentials = new AnonymousCredentials();
        if (options.TlsClientCertificatePath is { } certificatePath && options.TlsClientKeyPath is { } keyPath)
        {
            var clientCertificate = LoadClientCertificate(certificatePath, keyPath);
            var tls = new CertificateCredentials(clientCertificate);
            if (options.TlsCaCertificatePath is { } caPath)
            {
                var ca = X509CertificateLoader.LoadCertificateFromFile(caPath);
                tls.ServerCertificateValidationCallback = (_, certificate, _, errors) => ValidateAgainstCa(ca, certificate, errors);
            }

            credentials = tls;
        }

        var configuration = new DockerClientConfiguration(endpoint, credentials, options.RequestTimeout);
        return configuration.CreateClient();
    }

    /// <summary>
    /// Accepts the engine's certificate when it chains to <paramref name="ca"/> (and names the host): the same
    /// check as <c>docker --tlsverify --tlscacert</c>.
    /// </summary>
    internal static bool ValidateAgainstCa(X509Certificate2 ca, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
            return false;
        using var server = certificate as X509Certificate2 ?? new X509Certificate2(certificate);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(server);
    }

    private static X509Certificate2 LoadClientCertificate(string certificatePath, string keyPath)
    {
        // SslStream needs a certificate whose key is not ephemeral on some platforms: round-trip through PKCS#12.
        using var pem = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }
}
