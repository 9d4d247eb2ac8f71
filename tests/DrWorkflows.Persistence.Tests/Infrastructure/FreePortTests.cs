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
    public void Get_NeverHandsOutTheSamePortTwice()
    {
        var ports = Enumerable.Range(0, 20).Select(_ => FreePort.Get()).ToList();

        Assert.Equal(ports.Count, ports.Distinct().Count());
    }
}
