using DrWorkflows.Activities.PgBackRest;

namespace DrWorkflows.Activities.Tests.PgBackRest;

/// <summary>Reading <c>pgbackrest info</c> and <c>repo-ls</c> output as pgBackRest 2.45 writes it (samples captured from real runs).</summary>
public sealed class PgBackRestInfoTests
{

    [Fact]
    public void Info_lists_each_repository_with_its_backups_and_archive()
    {
        const string json = """
            [{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1","max":"000000010000000000000004","min":"000000010000000000000001"}],
              "backup":[{"archive":{"start":"000000010000000000000002","stop":"000000010000000000000003"},"backrest":{"format":5,"version":"2.45"},
                "database":{"id":1,"repo-key":1},"error":false,"info":{"delta":23213867,"repository":{"delta":3088368,"size":3088368},"size":23213867},
                "label":"20261205-141210F","lsn":{"start":"0/2000028","stop":"0/3000088"},"prior":null,"reference":null,
                "timestamp":{"start":1796479930,"stop":1796479944},"type":"full"}],
              "cipher":"aes-256-cbc","db":[{"id":1,"repo-key":1,"system-id":7715822499751628814,"version":"15"}],"name":"main",
              "repo":[{"cipher":"aes-256-cbc","key":1,"status":{"code":0,"message":"ok"}}],"status":{"code":0,"lock":{"backup":{"held":false}},"message":"ok"}}]
            """;
        var info = PgBackRestStanzaInfo.Parse("main", json);
        var repo = Assert.Single(info.Repositories);
        Assert.True(repo.Ok);
        Assert.Equal("aes-256-cbc", repo.Cipher);
        Assert.Equal("000000010000000000000004", repo.ArchiveMax);
        var backup = Assert.Single(repo.Backups);
        Assert.Equal(("20261205-141210F", "full", "000000010000000000000002"), (backup.Label, backup.Type, backup.ArchiveStart));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1796479944), backup.StoppedAt);
    }

    [Fact]
    public void A_repository_that_the_key_does_not_decrypt_is_not_ok_even_with_raw_bytes_in_the_message()
    {
        // pgBackRest 2.45 puts the undecryptable bytes, unescaped, into the JSON string.
        var json = "[{\"archive\":[],\"backup\":[],\"cipher\":\"aes-256-cbc\",\"db\":[],\"name\":\"shop\",\"repo\":[{\"cipher\":\"aes-256-cbc\",\"key\":1,\"status\":{\"code\":99,\"message\":\"[FormatError] unable to load info file 'backup.info':\\nFormatError: key/value found outside of section at line 1: \u000e\u0001x\\nHINT: backup.info cannot be opened and is required to perform a backup.\"}}],\"status\":{\"code\":99,\"lock\":{\"backup\":{\"held\":false}},\"message\":\"other\"}}]";
        var info = PgBackRestStanzaInfo.Parse("shop", json);
        Assert.False(info.Ok);
        var repo = Assert.Single(info.Repositories);
        Assert.False(repo.Ok);
        Assert.StartsWith("code 99: [FormatError] unable to load info file", repo.Status, StringComparison.Ordinal);
        Assert.Contains("HINT: backup.info cannot be opened", repo.Status, StringComparison.Ordinal);
        Assert.DoesNotContain("outside of section", repo.Status, StringComparison.Ordinal);
    }

    [Fact]
    public void A_stanza_not_in_the_output_is_an_error()
    {
        var error = Assert.Throws<PgBackRestException>(() => PgBackRestStanzaInfo.Parse("other", "[]"));
        Assert.Equal(PgBackRestErrorCodes.NoStanza, error.Code);
    }

    [Theory]
    [InlineData("000000010000000000000001", "000000010000000000000002")]
    [InlineData("0000000100000000000000FF", "000000010000000100000000")]
    [InlineData("000000020000000A000000FE", "000000020000000A000000FF")]
    public void The_next_segment_rolls_over_after_FF(string segment, string next) =>
        Assert.Equal(next, WalArchiveListing.Next(segment));

    [Fact]
    public void A_whole_chain_has_no_gaps_and_a_deleted_segment_is_named()
    {
        var whole = Listing("000000010000000000000001", "000000010000000000000002", "000000010000000000000003", "000000010000000000000004");
        Assert.Empty(whole.Gaps("000000010000000000000002", null));

        var gap = Listing("000000010000000000000001", "000000010000000000000002", "000000010000000000000004", "000000010000000000000005");
        Assert.Equal(["000000010000000000000003"], gap.Gaps("000000010000000000000002", null));
        // A gap after the end of a backup restored to its end does not matter.
        Assert.Empty(gap.Gaps("000000010000000000000001", "000000010000000000000002"));
        // The backup's own first segment missing is a gap too.
        Assert.Equal(["000000010000000000000003"], gap.Gaps("000000010000000000000003", null));
    }

    [Fact]
    public void A_gap_on_a_later_timeline_is_found_and_the_newest_stored_time_is_the_newest_segment()
    {
        var listing = Listing("000000010000000000000002", "000000010000000000000003", "000000020000000000000003", "000000020000000000000005");
        Assert.Equal(["000000020000000000000004"], listing.Gaps("000000010000000000000002", null));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_796_480_003), listing.NewestStoredAt("000000010000000000000002"));
    }

    private static WalArchiveListing Listing(params string[] segments)
    {
        var entries = segments.Select((s, i) => $"\"15-1/0000000100000000/{s}-f3bc6e885597675b397eb6d71570ccb11dad743d.zst\":{{\"type\":\"file\",\"size\":100,\"time\":{1_796_480_000 + i}}}");
        return WalArchiveListing.Parse("{\".\":{\"type\":\"path\"},\"15-1/0000000100000000/000000010000000000000002.00000028.backup\":{\"type\":\"file\",\"size\":400,\"time\":1},\"archive.info\":{\"type\":\"file\",\"size\":368,\"time\":1}," + string.Join(",", entries) + "}");
    }
}
