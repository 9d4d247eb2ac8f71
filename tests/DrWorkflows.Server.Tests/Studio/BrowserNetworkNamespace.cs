using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace DrWorkflows.Server.Tests.Studio;

/// <summary>
/// A network namespace of its own for Chromium, with only loopback, and a relay from its <c>127.0.0.1:port</c> to the
/// test server's <c>127.0.0.1:port</c>.
/// </summary>
/// <remarks>
/// Chromium fails every request in flight with <c>net::ERR_NETWORK_CHANGED</c> when any network interface of its
/// namespace appears or goes, and the real-parts tests running next to the browser tests create and remove Docker
/// bridges and veth pairs all the time: the Studio then loses a WebAssembly download and never starts. In a namespace
/// of its own Chromium sees no interface but its loopback. The relay's listening socket is made inside the namespace
/// (a socket stays in the namespace it was created in; only the thread that creates it switches, and switches back),
/// and each connection it accepts is carried to the server over the host's loopback. Needs root (CI runs as root);
/// not as root, <see cref="TryCreate"/> answers null and Chromium runs in the host's namespace as before.
/// </remarks>
internal sealed partial class BrowserNetworkNamespace : IDisposable
{
    private const int CloneNewNet = 0x40000000;
    private static int counter;

    private readonly string name;
    private readonly Socket listener;
    private readonly IPEndPoint server;
    private readonly CancellationTokenSource stop = new();
    private readonly string directory;

    private BrowserNetworkNamespace(string name, Socket listener, IPEndPoint server, string directory, string chromiumWrapper)
    {
        this.name = name;
        this.listener = listener;
        this.server = server;
        this.directory = directory;
        ChromiumWrapper = chromiumWrapper;
        _ = Task.Run(AcceptAsync);
    }

    /// <summary>An executable that runs the given Chromium inside the namespace (for Playwright's ExecutablePath).</summary>
    public string ChromiumWrapper { get; }

    /// <summary>The namespace with the relay to <paramref name="serverPort"/>; null (with the reason) when not root. Throws when root cannot make it.</summary>
    public static BrowserNetworkNamespace? TryCreate(string chromium, int serverPort, out string? reason)
    {
        reason = null;
        if (!OperatingSystem.IsLinux() || EffectiveUserId() != 0)
        {
            reason = "not root: Chromium shares the host's network namespace";
            return null;
        }

        var name = $"drw-browser-{Environment.ProcessId}-{Interlocked.Increment(ref counter)}";
        if (Run("ip", "netns", "add", name) is { } addError)
            throw new InvalidOperationException($"ip netns add {name} failed: {addError}");

        try
        {
            if (Run("ip", "-n", name, "link", "set", "lo", "up") is { } upError)
                throw new InvalidOperationException($"ip link set lo up failed: {upError}");
            var listener = ListenInside(name, serverPort);
            var directory = Directory.CreateTempSubdirectory("drw-browser-").FullName;
            var wrapper = Path.Combine(directory, "chromium-in-namespace");
            File.WriteAllText(wrapper, $"#!/bin/sh\nexec nsenter --net=/run/netns/{name} -- '{chromium}' \"$@\"\n");
            File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            return new BrowserNetworkNamespace(name, listener, new IPEndPoint(IPAddress.Loopback, serverPort), directory, wrapper);
        }
        catch (Exception e) when (e is InvalidOperationException or SocketException or IOException)
        {
            // As root this works on every Linux the tests run on: a failure is the harness's to fix, not to hide.
            Run("ip", "netns", "delete", name);
            throw new InvalidOperationException($"The browser's network namespace {name} could not be set up: {e.Message}", e);
        }
    }

    public void Dispose()
    {
        stop.Cancel();
        listener.Dispose();
        Run("ip", "netns", "delete", name);
        Directory.Delete(directory, recursive: true);
        stop.Dispose();
    }

    /// <summary>Creates the listening socket inside the namespace, on a thread of its own that switches in and back.</summary>
    private static Socket ListenInside(string name, int port)
    {
        Socket? socket = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            using var own = File.OpenHandle("/proc/thread-self/ns/net");
            using var target = File.OpenHandle($"/run/netns/{name}");
            if (SetNamespace((int)target.DangerousGetHandle(), CloneNewNet) != 0)
            {
                failure = new InvalidOperationException($"setns into {name} failed: errno {Marshal.GetLastPInvokeError()}");
                return;
            }

            try
            {
                socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
                socket.Listen(128);
            }
            catch (SocketException e)
            {
                socket?.Dispose();
                socket = null;
                failure = e;
            }
            finally
            {
                // This thread ends right after; switching back keeps anything that might still run on it in the host's namespace.
                if (SetNamespace((int)own.DangerousGetHandle(), CloneNewNet) != 0)
                    Environment.FailFast($"setns back to the test host's network namespace failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }) { IsBackground = true, Name = "browser netns listener" };
        thread.Start();
        thread.Join();
        return socket ?? throw failure ?? new InvalidOperationException("The relay socket was not created.");
    }

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            Socket browser;
            try
            {
                browser = await listener.AcceptAsync(stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(() => RelayAsync(browser));
        }
    }

    private async Task RelayAsync(Socket browser)
    {
        using var _ = browser;
        using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await upstream.ConnectAsync(server, stop.Token);
            browser.NoDelay = true;
            await using var a = new NetworkStream(browser, ownsSocket: false);
            await using var b = new NetworkStream(upstream, ownsSocket: false);
            var toServer = PumpAsync(a, b, upstream);
            var toBrowser = PumpAsync(b, a, browser);
            await Task.WhenAll(toServer, toBrowser);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
            // One side closed or the test ended: the other side sees the connection end, as it would without the relay.
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, Socket toSocket)
    {
        try
        {
            await from.CopyToAsync(to, 81920, stop.Token);
        }
        finally
        {
            try
            {
                toSocket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Already closed.
            }
        }
    }

    /// <summary>Runs a command; null when it succeeded, else its error output.</summary>
    private static string? Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        try
        {
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? null : $"exit {process.ExitCode}: {error.Trim()}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return e.Message;
        }
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNamespace(int fd, int type);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint EffectiveUserId();
}
