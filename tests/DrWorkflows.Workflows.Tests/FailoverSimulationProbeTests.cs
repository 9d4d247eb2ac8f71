using System.Net;
using System.Net.Sockets;
using DrWorkflows.Activities.Drills;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Redis;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Workflows.Tests;

/// <summary>
/// The simulation's probe of the DR database server and Redis, for real on loopback sockets: a listener answers, a
/// closed port is gone (refused), and what is neither (not configured, a name that does not resolve) is never gone.
/// </summary>
public sealed class FailoverSimulationProbeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ServiceProvider Probe(int postgresPort, string redis) => new ServiceCollection()
        .AddLogging()
        .AddDrills()
        .Configure<PostgresBackupOptions>(o => o.Servers["dr"] = $"Host=127.0.0.1;Port={postgresPort};Username=postgres;Password=unused")
        .Configure<RedisOptions>(o => o.ConnectionString = redis)
        .BuildServiceProvider();

    [Fact]
    public async Task A_listener_answers_and_once_closed_it_is_gone()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        await using var services = Probe(port, $"127.0.0.1:{port}");
        var probe = services.GetRequiredService<IFailoverSimulationProbe>();

        var postgres = await probe.ProbePostgresAsync("dr", TimeSpan.Zero, Ct);
        Assert.Equal(FailoverServiceState.Answers, postgres.State);
        Assert.Equal($"127.0.0.1:{port}", postgres.Endpoint);
        Assert.Equal("PostgreSQL server 'dr'", postgres.Service);
        Assert.Equal(FailoverServiceState.Answers, (await probe.ProbeRedisAsync(TimeSpan.Zero, Ct)).State);

        listener.Stop();
        var gone = await probe.ProbePostgresAsync("dr", TimeSpan.Zero, Ct);
        Assert.True(gone.State == FailoverServiceState.Gone, gone.Detail);
        Assert.Contains("connection refused", gone.Detail, StringComparison.Ordinal);
        Assert.Equal(FailoverServiceState.Gone, (await probe.ProbeRedisAsync(TimeSpan.Zero, Ct)).State);
    }

    [Fact]
    public async Task A_service_that_goes_away_within_the_wait_is_gone_and_one_that_stays_still_answers()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        await using var services = Probe(port, $"127.0.0.1:{port}");
        var probe = services.GetRequiredService<IFailoverSimulationProbe>();

        // Stays: asked again until the wait is over, then reported as still answering.
        Assert.Equal(FailoverServiceState.Answers, (await probe.ProbeRedisAsync(TimeSpan.FromSeconds(2), Ct)).State);

        // Goes away while the probe waits (a port released just after its container).
        var waiting = probe.ProbePostgresAsync("dr", TimeSpan.FromSeconds(30), Ct);
        await Task.Delay(TimeSpan.FromMilliseconds(1500), Ct);
        listener.Stop();
        var result = await waiting;
        Assert.True(result.State == FailoverServiceState.Gone, result.Detail);
    }

    [Fact]
    public async Task What_is_neither_refused_nor_accepted_is_unknown_never_gone()
    {
        await using var services = Probe(1, "drw-no-such-host.invalid:6379");
        var probe = services.GetRequiredService<IFailoverSimulationProbe>();

        var notConfigured = await probe.ProbePostgresAsync("elsewhere", TimeSpan.Zero, Ct);
        Assert.Equal(FailoverServiceState.Unknown, notConfigured.State);
        Assert.Contains("Postgres:Servers:elsewhere", notConfigured.Detail, StringComparison.Ordinal);

        var unresolved = await probe.ProbeRedisAsync(TimeSpan.Zero, Ct);
        Assert.True(unresolved.State == FailoverServiceState.Unknown, unresolved.Detail);
        Assert.Equal("drw-no-such-host.invalid:6379", unresolved.Endpoint);
    }
}
