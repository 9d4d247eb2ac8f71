using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace DrWorkflows.Testing;

/// <summary>Finds TCP ports on 127.0.0.1 that are free at the moment of the call.</summary>
/// <remarks>
/// A port is picked <b>below the kernel's ephemeral range</b> (Linux: <c>ip_local_port_range</c>, 32768–60999 by
/// default), from 10000 up. A port the kernel hands out for <c>bind(0)</c> comes from the ephemeral range, which is also
/// where every outgoing connection gets its local port: between the pick and the caller's bind (a sample platform binds
/// its gateway minutes later, when compose brings it up), one of the thousands of connections the tests open could hold
/// it, and the bind then fails (a fresh-clone CI run saw a gateway restart 11 times). Below that range only listeners
/// take ports. When the test scripts give a run-wide folder (<c>DRW_TEST_PORTS_DIR</c>, set by tests/run.sh), a port is
/// also reserved there with a file created exclusively, so two test processes of one run never get the same port.
/// </remarks>
public static class FreePort
{
    private const int Lowest = 10_000;

    /// <summary>The folder of run-wide reservations (one empty file per port handed out); none: this process only.</summary>
    public const string ReservationsVariable = "DRW_TEST_PORTS_DIR";

    private static readonly ConcurrentDictionary<int, byte> HandedOut = new();
    private static readonly Lazy<int> EphemeralLow = new(ReadEphemeralLow);

    /// <summary>
    /// Returns a loopback TCP port that nothing listens on right now, that this process (and, with
    /// <see cref="ReservationsVariable"/>, this test run) has not been given before, and that no outgoing connection
    /// takes by itself. Another program could still listen on it before the caller binds it, so bind soon after.
    /// </summary>
    public static int Get()
    {
        var high = EphemeralLow.Value;
        if (high - Lowest < 2_000)
            return FromKernel();
        for (var attempt = 0; attempt < 500; attempt++)
        {
            var port = Random.Shared.Next(Lowest, high);
            if (HandedOut.TryAdd(port, 0) && Reserve(port) && CanBind(port))
                return port;
        }

        throw new InvalidOperationException($"Could not find a free loopback TCP port in {Lowest}-{high - 1} in 500 attempts.");
    }

    /// <summary>Where the kernel's ephemeral range starts (outgoing connections and <c>bind(0)</c> take ports from it).</summary>
    private static int ReadEphemeralLow()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32_768; // Linux's default; IANA's dynamic range starts at 49152
        }
    }

    private static bool Reserve(int port)
    {
        if (Environment.GetEnvironmentVariable(ReservationsVariable) is not { Length: > 0 } folder)
            return true;
        try
        {
            Directory.CreateDirectory(folder);
            using var reservation = new FileStream(Path.Combine(folder, port.ToString(CultureInfo.InvariantCulture)), FileMode.CreateNew, FileAccess.Write);
            return true;
        }
        catch (IOException)
        {
            return false; // another test process of this run has it
        }
    }

    private static bool CanBind(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The kernel's pick (the ephemeral range), when there is no room below it.</summary>
    private static int FromKernel()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            if (HandedOut.TryAdd(port, 0))
                return port;
        }

        throw new InvalidOperationException("Could not find a free loopback TCP port that was not handed out before in 50 attempts.");
    }
}
