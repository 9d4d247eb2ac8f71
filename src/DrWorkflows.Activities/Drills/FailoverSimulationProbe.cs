using System.Net;
using System.Net.Sockets;
using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Redis;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace DrWorkflows.Activities.Drills;

/// <summary>What a probe of a DR service found.</summary>
public enum FailoverServiceState
{
    /// <summary>Every endpoint refused the connection (or its Unix socket is not there): nothing listens.</summary>
    Gone,

    /// <summary>An endpoint accepted a connection: something still listens there.</summary>
    Answers,

    /// <summary>Neither refused nor accepted (no answer within the timeout, a name that does not resolve, no endpoint configured...): not proven gone.</summary>
    Unknown,
}

/// <summary>One DR service scenario 2 restores into, looked at from the orchestrator.</summary>
/// <param name="Service">What it is, e.g. <c>PostgreSQL server 'dr'</c> or <c>Redis</c>.</param>
/// <param name="Endpoint">host:port (or socket path) probed, safe to log.</param>
/// <param name="State">Gone, still answering, or not proven either way.</param>
/// <param name="Detail">What the probe saw, for the report.</param>
public sealed record FailoverServiceProbe(string Service, string Endpoint, FailoverServiceState State, string Detail);

/// <summary>
/// The DR services scenario 2 restores into: the DR database server and the DR Redis. The simulation looks at them
/// before (they must not answer while the DR project has no container: else they run outside it) and after the
/// take-down (they must be gone). Only connections are opened; nothing is sent, no credential is used.
/// </summary>
public interface IFailoverSimulationProbe
{
    /// <summary>
    /// Whether the PostgreSQL server <paramref name="server"/> (a <c>Postgres:Servers</c> name) still accepts connections.
    /// While it answers, it is asked again for up to <paramref name="waitGone"/> (a port is released just after its container).
    /// </summary>
    Task<FailoverServiceProbe> ProbePostgresAsync(string server, TimeSpan waitGone, CancellationToken cancellationToken);

    /// <summary>Whether the Redis of <c>Redis:ConnectionString</c> still accepts connections; as <see cref="ProbePostgresAsync"/>.</summary>
    Task<FailoverServiceProbe> ProbeRedisAsync(TimeSpan waitGone, CancellationToken cancellationToken);
}

internal sealed class FailoverSimulationProbe(IOptions<PostgresBackupOptions> postgres, IOptions<RedisOptions> redis, TimeProvider clock, ILogger<FailoverSimulationProbe> logger) : IFailoverSimulationProbe
{
    /// <summary>How long one connection attempt may take: a refusal comes at once, anything slower is not a refusal.</summary>
    internal static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(3);

    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    public Task<FailoverServiceProbe> ProbePostgresAsync(string server, TimeSpan waitGone, CancellationToken cancellationToken)
    {
        var service = $"PostgreSQL server '{server}'";
        if (!postgres.Value.Servers.TryGetValue(server, out var connectionString))
            return Task.FromResult(new FailoverServiceProbe(service, "?", FailoverServiceState.Unknown, $"not configured (no Postgres:Servers:{server}): cannot tell whether it answers"));
        List<ServiceEndpoint> endpoints;
        try
        {
            var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
            var port = builder.Port;
            endpoints = [.. (builder.Host ?? "localhost").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(host => PostgresEndpoint(host, port))];
        }
        catch (ArgumentException e)
        {
            return Task.FromResult(new FailoverServiceProbe(service, "?", FailoverServiceState.Unknown, $"Postgres:Servers:{server} cannot be read ({e.GetType().Name}): cannot tell whether it answers"));
        }

        return ProbeAsync(service, endpoints, waitGone, cancellationToken);
    }

    public Task<FailoverServiceProbe> ProbeRedisAsync(TimeSpan waitGone, CancellationToken cancellationToken)
    {
        const string service = "Redis";
        List<ServiceEndpoint> endpoints;
        try
        {
            endpoints = [.. ConfigurationOptions.Parse(redis.Value.ConnectionString).EndPoints.Select(RedisEndpoint)];
        }
        catch (ArgumentException e)
        {
            return Task.FromResult(new FailoverServiceProbe(service, "?", FailoverServiceState.Unknown, $"Redis:ConnectionString cannot be read ({e.GetType().Name}): cannot tell whether it answers"));
        }

        return ProbeAsync(service, endpoints, waitGone, cancellationToken);
    }

    private async Task<FailoverServiceProbe> ProbeAsync(string service, List<ServiceEndpoint> endpoints, TimeSpan waitGone, CancellationToken cancellationToken)
    {
        var names = endpoints.Count == 0 ? "none" : string.Join(", ", endpoints.Select(e => e.Name));
        if (endpoints.Count == 0)
            return new FailoverServiceProbe(service, names, FailoverServiceState.Unknown, "no endpoint configured: cannot tell whether it answers");
        var started = clock.GetTimestamp();
        while (true)
        {
            var seen = new List<(ServiceEndpoint Endpoint, FailoverServiceState State, string Detail)>();
            foreach (var endpoint in endpoints)
            {
                var (found, said) = await ConnectAsync(endpoint, cancellationToken);
                seen.Add((endpoint, found, said));
            }

            var answering = seen.Where(s => s.State == FailoverServiceState.Answers).ToList();
            var unknown = seen.Where(s => s.State == FailoverServiceState.Unknown).ToList();
            var state = answering.Count > 0 ? FailoverServiceState.Answers : unknown.Count > 0 ? FailoverServiceState.Unknown : FailoverServiceState.Gone;
            var detail = string.Join("; ", seen.Select(s => $"{s.Endpoint.Name}: {s.Detail}"));
            if (state != FailoverServiceState.Answers || clock.GetElapsedTime(started) + RetryDelay > waitGone)
            {
                Log.SimulationProbed(logger, service, names, state, detail);
                return new FailoverServiceProbe(service, names, state, detail);
            }

            await Task.Delay(RetryDelay, clock, cancellationToken);
        }
    }

    /// <summary>Opens a connection and closes it at once: refused is <see cref="FailoverServiceState.Gone"/>, accepted is <see cref="FailoverServiceState.Answers"/>, anything else unknown.</summary>
    private async Task<(FailoverServiceState State, string Detail)> ConnectAsync(ServiceEndpoint endpoint, CancellationToken cancellationToken)
    {
        if (endpoint.SocketPath is { } path && !File.Exists(path))
            return (FailoverServiceState.Gone, "socket file absent");
        if (endpoint.SocketPath is null && endpoint.Host is null)
            return (FailoverServiceState.Unknown, "an endpoint of a kind that cannot be probed");
        using var socket = endpoint.SocketPath is null ? new Socket(SocketType.Stream, ProtocolType.Tcp) : new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ConnectTimeout);
        try
        {
            if (endpoint.SocketPath is { } socketPath)
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), timeout.Token);
            else
                await socket.ConnectAsync(endpoint.Host!, endpoint.Port, timeout.Token);
            return (FailoverServiceState.Answers, "accepts connections");
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return (FailoverServiceState.Gone, "connection refused");
        }
        catch (SocketException e)
        {
            return (FailoverServiceState.Unknown, $"neither refused nor accepted ({e.SocketErrorCode})");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (FailoverServiceState.Unknown, $"no answer within {ConnectTimeout.TotalSeconds:0} s (neither refused nor accepted)");
        }
    }

    private static ServiceEndpoint PostgresEndpoint(string host, int port)
    {
        // Npgsql: a host starting with / is the directory of a Unix socket, host:port overrides the port.
        if (host.StartsWith('/'))
        {
            var socket = Path.Combine(host, $".s.PGSQL.{port}");
            return new ServiceEndpoint(socket, null, 0, socket);
        }

        var colon = host.LastIndexOf(':');
        if (colon > 0 && !host.EndsWith(']') && host.IndexOf(':') == colon && int.TryParse(host[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var given))
            (host, port) = (host[..colon], given);
        return new ServiceEndpoint($"{host}:{port}", host.Trim('[', ']'), port, null);
    }

    private static ServiceEndpoint RedisEndpoint(EndPoint endpoint) => endpoint switch
    {
        DnsEndPoint dns => new ServiceEndpoint($"{dns.Host}:{dns.Port}", dns.Host, dns.Port, null),
        IPEndPoint ip => new ServiceEndpoint(ip.ToString(), ip.Address.ToString(), ip.Port, null),
        UnixDomainSocketEndPoint unix => new ServiceEndpoint(unix.ToString(), null, 0, unix.ToString()),
        _ => new ServiceEndpoint(endpoint.ToString() ?? "?", null, 0, null),
    };

    private sealed record ServiceEndpoint(string Name, string? Host, int Port, string? SocketPath);
}
