using System.Net.Sockets;
using Npgsql;

namespace DrWorkflows.Persistence.Postgres;

/// <summary>Turns connection failures into one message naming the server and what to check (never the password).</summary>
internal static class PostgresErrors
{
    public static StoreUnavailableException Describe(Exception e, NpgsqlConnectionStringBuilder target, string schema)
    {
        var where = $"PostgreSQL at {target.Host}:{target.Port} (database '{target.Database}', user '{target.Username}')";
        if (e is PostgresException pe)
        {
            var message = pe.SqlState switch
            {
                "28P01" or "28000" =>
                    $"{where} rejected the login: {pe.MessageText}. Check the user name and password of the connection string, and that "
                    + "pg_hba.conf allows this user from this host.",
                "3D000" =>
                    $"{where}: the database does not exist. Create it (CREATE DATABASE \"{target.Database}\" OWNER \"{target.Username}\") or correct "
                    + "Database= in the connection string; DrWorkflows creates its schema but not the database.",
                "42501" =>
                    $"{where}: permission denied ({pe.MessageText}). The user needs CREATE on the database (to create schema '{schema}') "
                    + "or ownership of that schema.",
                "53300" =>
                    $"{where} has no free connection slots ({pe.MessageText}). Raise max_connections or lower Maximum Pool Size on the nodes.",
                "57P03" =>
                    $"{where} is starting up, shutting down or in recovery ({pe.MessageText}). Wait for it, or point the store at the primary.",
                "25006" =>
                    $"{where} is read-only ({pe.MessageText}). Point the store at the primary server, not a standby.",
                _ => $"{where} failed: {pe.MessageText} (SQLSTATE {pe.SqlState}).",
            };
            return new StoreUnavailableException(message, e);
        }

        if (Find<SocketException>(e) is { } socket)
        {
            return new StoreUnavailableException(
                $"Cannot reach {where}: {socket.Message} ({socket.SocketErrorCode}). Check that the server is running and listens on that "
                + "address and port, that the host name resolves from this node, and that no firewall blocks it.", e);
        }

        if (e is TimeoutException || Find<TimeoutException>(e) is not null)
        {
            return new StoreUnavailableException(
                $"Timed out connecting to {where} after {target.Timeout} s. Check that the server is up and reachable from this node "
                + "(Timeout= in the connection string sets the wait).", e);
        }

        return new StoreUnavailableException(
            $"Cannot use {where}: {e.Message}. Check the connection string (host, port, database, user, password, SSL settings).", e);
    }

    private static T? Find<T>(Exception e)
        where T : Exception
    {
        for (Exception? current = e; current is not null; current = current.InnerException)
        {
            if (current is T match)
                return match;
        }

        return null;
    }
}
