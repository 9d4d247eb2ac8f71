using System.Net;
using System.Net.Sockets;
using DrWorkflows.Testing;

namespace DrWorkflows.Persistence.Tests.Infrastructure;

public class FreePortTests
{
    [Fact]
    public void Get_ReturnsAPortThatCanBeBoundOnLoopback()
    {
        var port = FreePort.Get();

        Assert.InRange(port, 1024, 65535);
        using var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        Assert.Equal(port, ((IPEndPoint)listener.LocalEndpoint).Port);
    }

    [Fact]
    public void Get_PicksBelowTheEphemeralRangeWhereOutgoingConnectionsTakeTheirPorts()
    {
        var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        var ephemeralLow = int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.SkipWhen(ephemeralLow < 12_000, $"the ephemeral range starts at {ephemeralLow}: no room below it, the kernel picks");

        var ports = Enumerable.Range(0, 20).Select(_ => FreePort.Get()).ToList();

        Assert.All(ports, port => Assert.InRange(port, 10_000, ephemeralLow - 1));
    }

    [Fact]
    public void Get_NeverHandsOutTheSamePortTwice()
    {
        var ports = Enumerable.Range(0, 20).Select(_ => FreePort.Get()).ToList();

        Assert.Equal(ports.Count, ports.Distinct().Count());
    }
}
