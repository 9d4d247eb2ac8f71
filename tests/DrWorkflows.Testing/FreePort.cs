using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace DrWorkflows.Testing;

/// <summary>Finds TCP ports on 127.0.0.1 that are free at the moment of the call.</summary>
public static class FreePort
{
    private static readonly ConcurrentDictionary<int, byte> HandedOut = new();

    /// <summary>
    /// Returns a loopback TCP port that nothing listens on right now and that this process has not been given
    /// before. Another process could still take it before the caller binds it, so bind soon after.
    /// </summary>
    public static int Get()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            if (HandedOut.TryAdd(port, 0))
            {
                return port;
            }
        }

        throw new InvalidOperationException("Could not find a free loopback TCP port that was not handed out before in 50 attempts.");
    }
}
