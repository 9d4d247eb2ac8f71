using DrWorkflows.Activities.Backups;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace DrWorkflows.Activities.Postgres;

/// <summary>Readiness of a PostgreSQL server (pg_isready semantics, through Npgsql).</summary>
public interface IPostgresReadiness
{
    /// <summary>
    /// Waits until the server accepts a connection and answers <c>SELECT 1</c>, retrying refused connections and
    /// "starting up" answers until <paramref name="timeout"/>. Wrong credentials or a missing database fail at once.
    /// Returns the server version.
    /// </summary>
    Task<PostgresReadyResult> WaitAsync(PostgresServer server, string? database, TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>The server answered.</summary>
public sealed record PostgresReadyResult(string ServerVersion, int Attempts, double WaitedSeconds);

internal sealed class PostgresReadiness(TimeProvider clock, ILogger<PostgresReadiness> logger) : IPostgresReadiness
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    public async Task<PostgresReadyResult> WaitAsync(PostgresServer server, string? database, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = clock.GetTimestamp();
        var attempts = 0;
        while (true)
        {
            attempts++;
            BackupException failure;
            try
            {
                await using var connection = await PostgresConnections.OpenAsync(server, database ?? "postgres", cancellationToken);
                await using var command = new NpgsqlCommand("SELECT current_setting('server_version')", connection);
                var version = (string)(await command.ExecuteScalarAsync(cancellationToken))!;
                var waited = clock.GetElapsedTime(started);
                Log.Ready(logger, server, version, attempts);
                return new PostgresReadyResult(version, attempts, Math.Round(waited.TotalSeconds, 2));
            }
            catch (BackupException ex) when (PostgresConnections.IsTransient(ex))
            {
                failure = ex;
            }
            catch (NpgsqlException ex)
            {
                failure = PostgresConnections.Translate(ex, server, database);
                if (!PostgresConnections.IsTransient(failure))
                    throw failure;
            }

            var elapsed = clock.GetElapsedTime(started);
            if (elapsed + RetryDelay > timeout)
                throw new BackupException(BackupErrorCodes.DatabaseUnreachable,
                    $"{server} did not become ready within {timeout.TotalSeconds:0} s ({attempts} attempts). Last error: {failure.Message}", retryable: true, failure);
            Log.NotReady(logger, server, attempts, failure.Message);
            await Task.Delay(RetryDelay, clock, cancellationToken);
        }
    }
}
