using System.Diagnostics;
using System.Net.Sockets;
using DrWorkflows.Activities.Hosts;
using DrWorkflows.Testing;

namespace DrWorkflows.Activities.Tests.Hosts;

/// <summary>A private OpenSSH server on a free loopback port with its own host key and one authorized client key.</summary>
internal sealed class SshServerProcess : IAsyncDisposable
{
    private readonly TempDirectory dir = new("sshd");
    private Process? process;

    private SshServerProcess()
    {
    }

    public int Port { get; } = FreePort.Get();

    public string ClientKeyPath => dir.Combine("client_ed25519");

    public string HostKeySha256 { get; private set; } = string.Empty;

    public SshHostOptions Options(string? hostKey = null) => new()
    {
        Host = "127.0.0.1",
        Port = Port,
        User = Environment.UserName,
        PrivateKeyPath = ClientKeyPath,
        HostKeySha256 = hostKey ?? HostKeySha256,
    };

    public static async Task<SshServerProcess> StartAsync()
    {
        if (!File.Exists("/usr/sbin/sshd") || Environment.UserName != "root")
            Assert.Skip("SSH tests need root and OpenSSH's sshd (apt-get install openssh-server).");
        var server = new SshServerProcess();
        await server.LaunchAsync();
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (process is { HasExited: false })
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
        }

        process?.Dispose();
        dir.Dispose();
    }

    private async Task LaunchAsync()
    {
        var runner = new ProcessRunner(TimeProvider.System);
        var ct = TestContext.Current.CancellationToken;
        await runner.RunAsync(new CommandLine("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.Combine("host_ed25519")), null, ct);
        await runner.RunAsync(new CommandLine("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", ClientKeyPath), null, ct);
        File.Copy(ClientKeyPath + ".pub", dir.Combine("authorized_keys"));
        var fingerprint = await runner.RunAsync(new CommandLine("ssh-keygen", "-l", "-f", dir.Combine("host_ed25519.pub")), null, ct);
        HostKeySha256 = fingerprint.StandardOutput.Split(' ')[1];
        Directory.CreateDirectory("/run/sshd"); // privilege separation directory
        File.WriteAllText(dir.Combine("sshd_config"), $"""
            ListenAddress 127.0.0.1
            Port {Port}
            HostKey {dir.Combine("host_ed25519")}
            AuthorizedKeysFile {dir.Combine("authorized_keys")}
            PidFile {dir.Combine("sshd.pid")}
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            """);
        var info = new ProcessStartInfo("/usr/sbin/sshd") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { "-D", "-e", "-f", dir.Combine("sshd_config") })
            info.ArgumentList.Add(argument);
        process = Process.Start(info)!;
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", Port, ct);
                return;
            }
            catch (SocketException)
            {
                if (process.HasExited)
                    throw new InvalidOperationException($"sshd exited: {await process.StandardError.ReadToEndAsync(ct)}");
                await Task.Delay(50, ct);
            }
        }

        throw new InvalidOperationException($"sshd did not listen on {Port}.");
    }
}
