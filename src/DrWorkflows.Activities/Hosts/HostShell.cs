using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace DrWorkflows.Activities.Hosts;

/// <summary>Runs commands on the configured host: locally, or over SSH (argument lists are quoted for the remote shell).</summary>
public interface IHostShell
{
    /// <summary>"localhost" or user@host:port, for messages.</summary>
    string HostName { get; }

    bool IsLocal { get; }

    /// <summary>Runs a command; <paramref name="privileged"/> adds <c>sudo -n</c> on SSH hosts configured for it.</summary>
    Task<CommandResult> RunAsync(CommandLine command, bool privileged, CancellationToken cancellationToken);
}

internal sealed class HostShell(IOptions<HostOptions> options, IProcessRunner runner) : IHostShell, IDisposable
{
    private readonly HostOptions options = options.Value;
    private readonly SemaphoreSlim gate = new(1, 1);
    private SshClient? ssh;

    public string HostName => options.Ssh is { } s ? $"{s.User}@{s.Host}:{s.Port}" : "localhost";

    public bool IsLocal => options.Ssh is null;

    public void Dispose()
    {
        ssh?.Dispose();
        gate.Dispose();
    }

    public async Task<CommandResult> RunAsync(CommandLine command, bool privileged, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (options.Ssh is not { } target)
        {
            try
            {
                return await runner.RunAsync(command, options.CommandTimeout, cancellationToken);
            }
            catch (CommandNotFoundException e)
            {
                throw new HostOperationException($"{e.Message} on {HostName}.", HostOperationException.ToolMissing, false, e);
            }
        }

        var arguments = command.Arguments.AsEnumerable();
        var program = command.Program;
        if (privileged && target.UseSudo)
        {
            arguments = ["-n", program, .. arguments];
            program = "sudo";
        }

        var text = ShellQuoting.Join(program, arguments);
        if (command.Environment is { Count: > 0 } environment)
            text = "env " + string.Join(' ', environment.Select(p => ShellQuoting.Quote($"{p.Key}={p.Value}"))) + " " + text;
        var client = await ConnectAsync(target, cancellationToken);
        using var sshCommand = client.CreateCommand(text);
        sshCommand.CommandTimeout = options.CommandTimeout;
        var start = TimeProvider.System.GetTimestamp();
        try
        {
            await sshCommand.ExecuteAsync(cancellationToken);
        }
        catch (SshOperationTimeoutException e)
        {
            throw new HostOperationException($"`{text}` on {HostName} did not finish within {options.CommandTimeout}.", HostOperationException.CommandFailed, false, e);
        }
        catch (SshConnectionException e)
        {
            throw new HostOperationException($"The SSH connection to {HostName} dropped while running `{text}`: {e.Message}", HostOperationException.Unreachable, true, e);
        }

        var exit = sshCommand.ExitStatus ?? -1;
        if (exit == 127)
            throw new HostOperationException($"'{program}' is not installed on {HostName} (exit 127: command not found).", HostOperationException.ToolMissing);
        return new CommandResult(exit, sshCommand.Result, sshCommand.Error, TimeProvider.System.GetElapsedTime(start));
    }

    private async Task<SshClient> ConnectAsync(SshHostOptions target, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (ssh is { IsConnected: true })
                return ssh;
            ssh?.Dispose();
            var methods = new List<AuthenticationMethod>();
            if (target.PrivateKeyPath is not null)
            {
                var key = target.PrivateKeyPassphrase is null ? new PrivateKeyFile(target.PrivateKeyPath) : new PrivateKeyFile(target.PrivateKeyPath, target.PrivateKeyPassphrase);
                methods.Add(new PrivateKeyAuthenticationMethod(target.User, key));
            }

            if (target.Password is not null)
                methods.Add(new PasswordAuthenticationMethod(target.User, target.Password));
            var connection = new ConnectionInfo(target.Host, target.Port, target.User, [.. methods]) { Timeout = target.ConnectTimeout };
            var client = new SshClient(connection);
            string? seen = null;
            client.HostKeyReceived += (_, e) =>
            {
                seen = "SHA256:" + Convert.ToBase64String(SHA256.HashData(e.HostKey)).TrimEnd('=');
                e.CanTrust = string.Equals(seen, target.HostKeySha256.TrimEnd('='), StringComparison.Ordinal);
            };
            try
            {
                await client.ConnectAsync(cancellationToken);
            }
            catch (SshConnectionException e) when (seen is not null && !string.Equals(seen, target.HostKeySha256.TrimEnd('='), StringComparison.Ordinal))
            {
                client.Dispose();
                throw new HostOperationException(
                    $"The host key of {HostName} is {seen}, not the pinned {target.HostKeySha256}: refusing to connect. If the host was rebuilt, update Host:Ssh:HostKeySha256.",
                    HostOperationException.Unreachable, false, e);
            }
            catch (Exception e) when (e is SshException or System.Net.Sockets.SocketException or TimeoutException)
            {
                client.Dispose();
                throw new HostOperationException($"Cannot connect over SSH to {HostName}: {e.Message}", HostOperationException.Unreachable, true, e);
            }

            return ssh = client;
        }
        finally
        {
            gate.Release();
        }
    }
}
