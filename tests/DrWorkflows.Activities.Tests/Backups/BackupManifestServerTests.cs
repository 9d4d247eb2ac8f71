using DrWorkflows.Activities.Backups;

namespace DrWorkflows.Activities.Tests.Backups;

/// <summary>Which server a set was taken from: what a restore of a whole server relies on, for new and older manifests.</summary>
public sealed class BackupManifestServerTests
{
    [Fact]
    public void A_set_is_the_servers_by_its_name_or_its_host_and_port()
    {
        var throughAi = new BackupManifest { Server = "ai", Endpoint = "10.0.0.5:5432" };

        Assert.True(throughAi.IsFromServer("ai", "10.0.0.5:5432"));
        Assert.True(throughAi.IsFromServer("main", "10.0.0.5:5432")); // two names for one server
        Assert.False(throughAi.IsFromServer("main", "10.0.0.6:5432"));
        Assert.False(throughAi.IsFromServer("main", null)); // host and port unknown here: by name only
        Assert.True(throughAi.IsFromServer("ai", null));
    }

    [Fact]
    public void Older_sets_are_matched_on_their_origin_and_a_set_that_names_no_server_on_none()
    {
        var named = new BackupManifest { Origin = "PostgreSQL server 'main' (10.0.0.5:5432)" };
        var adHoc = new BackupManifest { Origin = "PostgreSQL at 10.0.0.5:5432" };

        Assert.True(named.IsFromServer("main", null));
        Assert.True(named.IsFromServer("ai", "10.0.0.5:5432"));
        Assert.False(named.IsFromServer("mainframe", "10.0.0.50:5432"));
        Assert.True(adHoc.IsFromServer("main", "10.0.0.5:5432"));
        Assert.False(adHoc.IsFromServer("main", null));
        Assert.False(new BackupManifest().IsFromServer("main", "10.0.0.5:5432"));
    }

    [Fact]
    public void The_server_and_what_lived_on_it_round_trip_and_older_manifests_still_read()
    {
        var manifest = new BackupManifest
        {
            Id = "g1",
            Kind = BackupKinds.Globals,
            Source = "main",
            Server = "main",
            Endpoint = "10.0.0.5:5432",
            ServerDatabases = [new("ecommerce_db", 8_000_000, "shop_app"), new("ai_db", null)],
            Roles = ["postgres", "shop_app"],
            Files = [new BackupFileEntry { Name = "globals.sql.zst", Key = "globals/main/g1/globals.sql.zst", Size = 10, Sha256 = new string('0', 64) }],
        };

        var read = BackupManifest.Parse(manifest.ToJsonBytes(), "test");

        Assert.Equal(("main", "10.0.0.5:5432"), (read.Server, read.Endpoint));
        Assert.Equal(manifest.ServerDatabases, read.ServerDatabases);
        Assert.Equal(manifest.Roles, read.Roles);
        var older = BackupManifest.Parse("""{"formatVersion":1,"id":"g0","kind":"globals","source":"main","origin":"PostgreSQL server 'main' (10.0.0.5:5432)"}"""u8, "test");
        Assert.Null(older.Server);
        Assert.Null(older.ServerDatabases);
        Assert.True(older.IsFromServer("main", "10.0.0.5:5432"));
    }
}
