using DrWorkflows.Activities.Docker;
using DrWorkflows.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Tests.Docker;

/// <summary>Faults that need no engine: nothing listens where the options point.</summary>
public sealed class DockerFaultTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Missing_unix_socket_is_reported_as_unreachable_naming_the_endpoint()
    {
        using var dir = new TempDirectory("docker-fault");
        var endpoint = $"unix://{dir.Combine("docker.sock")}";
        using var service = Create(endpoint);

        var e = await Assert.ThrowsAsync<DockerOperationException>(() => service.InspectContainerAsync("postgres", Ct));

        Assert.Equal(DockerOperationException.EngineUnreachable, e.Code);
        Assert.True(e.Retryable);
        Assert.Contains(endpoint, e.Message);
        Assert.Contains("is unreachable", e.Message);
    }

    [Fact]
    public async Task Closed_tcp_port_is_reported_as_unreachable_and_a_health_wait_does_not_hide_it()
    {
        var endpoint = $"tcp://127.0.0.1:{FreePort.Get()}";
        using var service = Create(endpoint);

        var version = await Assert.ThrowsAsync<DockerOperationException>(() => service.GetEngineVersionAsync(Ct));
        Assert.Equal(DockerOperationException.EngineUnreachable, version.Code);
        Assert.Contains(endpoint, version.Message);

        var wait = await Assert.ThrowsAsync<DockerOperationException>(() => service.WaitForHealthyAsync(ContainerSelector.Named("db"), TimeSpan.FromMilliseconds(600), Ct));
        Assert.Equal(DockerOperationException.EngineUnreachable, wait.Code);
    }

    [Fact]
    public void Options_validation_rejects_ssh_and_half_configured_tls()
    {
        var validator = new DockerOptionsValidator();
        var ssh = validator.Validate(null, new DockerOptions { Endpoint = "ssh://admin@dr-server" });
        Assert.True(ssh.Failed);
        Assert.Contains("SSH tunnel", ssh.FailureMessage);

        var tls = validator.Validate(null, new DockerOptions { Endpoint = "tcp://127.0.0.1:2376", TlsClientCertificatePath = "/nonexistent/cert.pem" });
        Assert.True(tls.Failed);
        Assert.Contains("TlsClientKeyPath", tls.FailureMessage);
        Assert.Contains("/nonexistent/cert.pem", tls.FailureMessage);

        Assert.True(validator.Validate(null, new DockerOptions()).Succeeded);
    }

    [Theory]
    [InlineData("forensic-db:incident-1", "forensic-db", "incident-1")]
    [InlineData("forensic-db", "forensic-db", "latest")]
    [InlineData("registry.local:5000/team/img", "registry.local:5000/team/img", "latest")]
    [InlineData("registry.local:5000/team/img:v2", "registry.local:5000/team/img", "v2")]
    public void Image_references_split_into_repository_and_tag(string reference, string repository, string tag) =>
        Assert.Equal((repository, tag), DockerService.SplitReference(reference));

    private static DockerService Create(string endpoint) =>
        new(Options.Create(new DockerOptions { Endpoint = endpoint, RequestTimeout = TimeSpan.FromSeconds(5), PollInterval = TimeSpan.FromMilliseconds(100) }), TimeProvider.System, NullLogger<DockerService>.Instance);
}
