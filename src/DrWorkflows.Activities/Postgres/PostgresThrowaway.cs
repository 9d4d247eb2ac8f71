using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Throwaway;
using DrWorkflows.Core.Persistence;
using Microsoft.Extensions.Options;
using Npgsql;

namespace DrWorkflows.Activities.Postgres;

/// <summary>Throwaway databases: how one is dropped, by its step and by the janitor alike.</summary>
public static class PostgresThrowaway
{
    /// <summary>Drops the database, ending its connections (<c>DROP DATABASE IF EXISTS … WITH (FORCE)</c>); nothing to do when it is gone.</summary>
    public static async Task DropDatabaseAsync(PostgresServer server, string database, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(server);
        await using var connection = await PostgresConnections.OpenAsync(server, "postgres", cancellationToken);
        try
        {
            await PostgresRestoreService.ExecuteAsync(connection, $"DROP DATABASE IF EXISTS {PostgresConnections.QuoteIdentifier(database)} WITH (FORCE)", cancellationToken);
        }
        catch (PostgresException ex)
        {
            throw PostgresConnections.Translate(ex, server, database);
        }
    }
}

/// <summary>
/// The janitor's remover of throwaway databases. The server is found by the name recorded in the ledger in
/// <c>Postgres:Servers</c> (or, for a server given by connection string, a configured server at the same host and port).
/// </summary>
internal sealed class PostgresDatabaseRemover(IPostgresServerResolver resolver, IOptions<PostgresBackupOptions> options) : IThrowawayRemover
{
    public string Kind => ThrowawayKinds.PostgresDatabase;

    public string? CannotRemoveHere(ThrowawayResource resource, out bool elsewhere)
    {
        elsewhere = false;
        return Find(resource) is null
            ? $"PostgreSQL server '{resource.Location}' is not configured on this node: add it under Postgres:Servers (or drop database {resource.Name} by hand)"
            : null;
    }

    public Task RemoveAsync(ThrowawayResource resource, CancellationToken cancellationToken) =>
        PostgresThrowaway.DropDatabaseAsync(Find(resource) ?? throw new InvalidOperationException($"PostgreSQL server '{resource.Location}' is not configured on this node."), resource.Name, cancellationToken);

    private PostgresServer? Find(ThrowawayResource resource)
    {
        if (string.IsNullOrWhiteSpace(resource.Location))
            return null;
        if (options.Value.Servers.ContainsKey(resource.Location))
            return resolver.Resolve(resource.Location, null);
        foreach (var name in options.Value.Servers.Keys)
        {
            try
            {
                var server = resolver.Resolve(name, null);
                if (string.Equals(server.Endpoint, resource.Location, StringComparison.OrdinalIgnoreCase))
                    return server;
            }
            catch (BackupException)
            {
                // A badly configured server cannot be the one; the others are still tried.
            }
        }

        return null;
    }
}
