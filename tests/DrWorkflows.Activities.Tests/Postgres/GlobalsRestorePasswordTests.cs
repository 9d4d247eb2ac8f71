using DrWorkflows.Activities.Postgres;
using DrWorkflows.Activities.Tests.Backups;
using DrWorkflows.Testing;
using Npgsql;

namespace DrWorkflows.Activities.Tests.Postgres;

/// <summary>
/// A globals restore keeps the password of the role it connects as. Found by the host failover's real-parts test:
/// the DR server's superuser got the primary's password hash from the globals, and the next restore, with the DR
/// server's configured password, failed to log in.
/// </summary>
public sealed class GlobalsRestorePasswordTests
{
    [Fact]
    public void The_connecting_roles_password_clause_is_removed_and_every_other_role_is_untouched()
    {
        const string script = """
            CREATE ROLE postgres;
            ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$a:b';
            CREATE ROLE shop_app;
            ALTER ROLE shop_app WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS PASSWORD 'md5abc';
            CREATE ROLE "Ops Admin";
            ALTER ROLE "Ops Admin" WITH SUPERUSER LOGIN PASSWORD 'it''s';
            ALTER ROLE postgres SET search_path TO 'public';
            """;

        var kept = GlobalsScript.KeepPasswordOf(script, "postgres");
        var quoted = GlobalsScript.KeepPasswordOf(script, "Ops Admin");

        Assert.Contains("ALTER ROLE postgres WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS;\n", kept, StringComparison.Ordinal);
        Assert.Contains("PASSWORD 'md5abc';", kept, StringComparison.Ordinal);
        Assert.Contains("ALTER ROLE \"Ops Admin\" WITH SUPERUSER LOGIN PASSWORD 'it''s';", kept, StringComparison.Ordinal);
        Assert.Contains("ALTER ROLE postgres SET search_path TO 'public';", kept, StringComparison.Ordinal);
        Assert.Equal(script.Length - " PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$a:b'".Length, kept.Length);
        Assert.Contains("ALTER ROLE \"Ops Admin\" WITH SUPERUSER LOGIN;", quoted, StringComparison.Ordinal);
        Assert.Contains("PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$a:b'", quoted, StringComparison.Ordinal);
        Assert.Equal(script, GlobalsScript.KeepPasswordOf(script, null));
        Assert.Equal(script, GlobalsScript.KeepPasswordOf(script, "nobody"));
    }

    [Fact]
    public async Task A_globals_restore_keeps_the_password_of_the_role_it_connects_as_and_restores_the_others()
    {
        var ct = TestContext.Current.CancellationToken;
        var serverConnection = TestServices.RequirePostgres();
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var restorer = "drw_su_" + suffix;
        var app = "drw_app_" + suffix;
        await SampleDatabase.ExecuteAsync(serverConnection, $"CREATE ROLE {restorer} SUPERUSER LOGIN PASSWORD 'before-backup'; CREATE ROLE {app} LOGIN PASSWORD 'app-at-backup'", ct);
        try
        {
            // The test server trusts 127.0.0.1, so the restorer connects whatever its password; pg_authid shows the hashes.
            var server = BackupTestHost.TestServer(new NpgsqlConnectionStringBuilder(serverConnection) { Username = restorer }.ConnectionString);
            await using var host = BackupTestHost.Create();
            var set = await host.Backup.BackupGlobalsAsync(new PostgresGlobalsRequest(server, "exec-globals-pw"), ct);
            var appAtBackup = await HashAsync(serverConnection, app, ct);
            await SampleDatabase.ExecuteAsync(serverConnection, $"ALTER ROLE {restorer} PASSWORD 'the-target-s-own'; ALTER ROLE {app} PASSWORD 'app-changed-later'", ct);
            var restorerNow = await HashAsync(serverConnection, restorer, ct);

            await host.Restore.RestoreGlobalsAsync(set, server, null, ct);

            Assert.Equal(restorerNow, await HashAsync(serverConnection, restorer, ct));
            Assert.Equal(appAtBackup, await HashAsync(serverConnection, app, ct));
            Assert.NotEqual(appAtBackup, restorerNow);
        }
        finally
        {
            await SampleDatabase.ExecuteAsync(serverConnection, $"DROP ROLE IF EXISTS {restorer}; DROP ROLE IF EXISTS {app}", CancellationToken.None);
        }
    }

    private static async Task<string> HashAsync(string connectionString, string role, CancellationToken cancellationToken) =>
        (string)(await SampleDatabase.ScalarAsync(connectionString, $"SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'", cancellationToken))!;
}
