using System.Text.Json.Nodes;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Core.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DrWorkflows.Activities.Tests.Docker;

/// <summary>A run's platform, with the Docker activities registered: the engine and the Compose project it acts on.</summary>
public sealed class DockerPlatformTests
{
    private static IPlatformResolver Resolver(Action<DockerOptions> configure, bool dockerFirst)
    {
        var services = new ServiceCollection().AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        if (dockerFirst)
            services.AddDockerActivities(configure).AddDrWorkflowsRuntime();
        else
            services.AddDrWorkflowsRuntime().AddDockerActivities(configure);
        return services.BuildServiceProvider().GetRequiredService<IPlatformResolver>();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_platform_is_the_engine_and_the_Compose_project_whatever_the_registration_order(bool dockerFirst)
    {
        var resolver = Resolver(o => { o.Endpoint = "unix:///var/run/docker.sock/"; o.ComposeProject = "Shop"; }, dockerFirst);

        Assert.Equal("Docker unix:///var/run/docker.sock, Compose project shop", resolver.Resolve(new Dictionary<string, JsonNode?>()));
        Assert.Equal("Docker unix:///var/run/docker.sock, Compose project ai", resolver.Resolve(new Dictionary<string, JsonNode?> { ["ComposeProject"] = "ai" }));
        Assert.Equal("Docker unix:///var/run/docker.sock, Compose project shop", resolver.Resolve(new Dictionary<string, JsonNode?> { ["ComposeProject"] = " ", ["Container"] = "x" }));
    }

    [Fact]
    public void Without_a_Compose_project_the_platform_is_the_whole_engine()
    {
        var resolver = Resolver(o => o.Endpoint = "tcp://dr-host:2376", dockerFirst: false);

        Assert.Equal("Docker tcp://dr-host:2376", resolver.Resolve(new Dictionary<string, JsonNode?> { ["Container"] = "ecommerce_postgres" }));
    }
}
