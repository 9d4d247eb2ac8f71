using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Postgres;

namespace DrWorkflows.Activities.Tests.Postgres;

/// <summary>How the data items of an archive are shared among the pg_restore processes of a restore while downloading.</summary>
public sealed class SectionedRestoreTests
{
    // As pg_restore -l --section=data lists them, in archive order.
    private static readonly string[] Items =
    [
        "3362; 0 16386 TABLE DATA public customers postgres",
        "3366; 0 16409 TABLE DATA public events postgres",
        "3364; 0 16395 TABLE DATA public orders postgres",
        "3370; 0 16420 TABLE DATA audit log postgres",
        "3376; 0 0 SEQUENCE SET public customers_id_seq postgres",
        "3377; 0 0 SEQUENCE SET public orders_id_seq postgres",
    ];

    private static TableFacts Table(string schema, string name, long rows, long? bytes) => new() { Schema = schema, Name = name, RowCount = rows, SizeBytes = bytes };

    [Fact]
    public void Tables_are_shared_largest_first_by_size_and_each_share_keeps_the_archive_order()
    {
        TableFacts[] tables = [Table("public", "customers", 300, 100), Table("public", "events", 1300, 200), Table("public", "orders", 1600, 700), Table("audit", "log", 10, 5)];

        var shares = SectionedRestore.ShareDataItems(Items, tables, jobs: 2);

        // orders (700) alone; events, customers and the small log (305) together; the sequence values, of unknown
        // size, to the share with fewer items; archive order within each share.
        Assert.Equal(2, shares.Count);
        Assert.Equal([Items[2], Items[4], Items[5]], shares[0]);
        Assert.Equal([Items[0], Items[1], Items[3]], shares[1]);
        Assert.Equal(Items.Order(), shares.SelectMany(s => s).Order());
    }

    [Fact]
    public void Without_sizes_in_the_manifest_row_counts_weigh_and_no_share_is_empty()
    {
        TableFacts[] tables = [Table("public", "customers", 300, null), Table("public", "events", 1300, null), Table("public", "orders", 1600, null), Table("audit", "log", 10, null)];

        var shares = SectionedRestore.ShareDataItems(Items, tables, jobs: 8);

        Assert.Equal(4, shares.Count); // one per table: never more processes than tables
        Assert.Contains([Items[2], Items[4]], shares);
        Assert.All(shares, share => Assert.NotEmpty(share));
        Assert.Equal(Items.Order(), shares.SelectMany(s => s).Order());
    }

    [Fact]
    public void Without_table_facts_or_with_one_job_everything_is_one_share_in_archive_order()
    {
        Assert.Equal(Items, Assert.Single(SectionedRestore.ShareDataItems(Items, null, jobs: 4)));
        Assert.Equal(Items, Assert.Single(SectionedRestore.ShareDataItems(Items, [Table("public", "orders", 1600, 700)], jobs: 1)));
        Assert.Empty(SectionedRestore.ShareDataItems([], null, jobs: 2));
    }

    [Fact]
    public void A_share_builds_early_only_the_constraints_and_triggers_of_its_own_tables()
    {
        string[] postData =
        [
            "3213; 2606 16393 CONSTRAINT public customers customers_pkey postgres",
            "3215; 2606 16402 CONSTRAINT public orders orders_pkey postgres",
            "3220; 2620 16500 TRIGGER public orders orders_touch postgres",
            "3211; 1259 16577 INDEX public orders_created_at postgres",
            "3218; 2606 16403 FK CONSTRAINT public orders orders_customer_id_fkey postgres",
            "3370; 0 0 COMMENT public CONSTRAINT orders_pkey ON orders postgres",
            "3221; 2606 16600 CONSTRAINT audit log log_pkey postgres",
        ];

        Assert.Equal([postData[1], postData[2]], SectionedRestore.OwnConstraintsAndTriggers(postData, [Items[2], Items[4]]));
        Assert.Equal([postData[0], postData[6]], SectionedRestore.OwnConstraintsAndTriggers(postData, [Items[0], Items[3]]));
        Assert.Empty(SectionedRestore.OwnConstraintsAndTriggers(postData, [Items[4], Items[5]]));
    }

    [Fact]
    public void The_table_holding_more_than_its_share_of_the_data_is_split_when_large_enough()
    {
        TableFacts[] tables = [Table("public", "customers", 300, 100), Table("public", "events", 1300, 200), Table("public", "orders", 1600, 700), Table("audit", "log", 10, 5)];

        Assert.Equal(Items[2], SectionedRestore.TableToSplit(Items, tables, jobs: 2, minimumBytes: 700));
        Assert.Null(SectionedRestore.TableToSplit(Items, tables, jobs: 2, minimumBytes: 701)); // too small to be worth the sessions
        Assert.Null(SectionedRestore.TableToSplit(Items, tables, jobs: 1, minimumBytes: 0)); // one job: nothing to share
        Assert.Null(SectionedRestore.TableToSplit(Items, tables, jobs: 2, minimumBytes: -1)); // turned off
        Assert.Equal(Items[2], SectionedRestore.TableToSplit(Items, tables, jobs: 3, minimumBytes: 0)); // 700 of 1005 > a third
    }

    [Fact]
    public void No_table_is_split_when_none_dominates_or_the_sizes_are_unknown()
    {
        TableFacts[] even = [Table("public", "customers", 300, 300), Table("public", "events", 1300, 300), Table("public", "orders", 1600, 300), Table("audit", "log", 10, 300)];
        TableFacts[] withoutSizes = [Table("public", "customers", 300, null), Table("public", "events", 1300, null), Table("public", "orders", 1600, null), Table("audit", "log", 10, null)];

        Assert.Null(SectionedRestore.TableToSplit(Items, even, jobs: 2, minimumBytes: 0));
        Assert.Null(SectionedRestore.TableToSplit(Items, withoutSizes, jobs: 2, minimumBytes: 0));
        Assert.Null(SectionedRestore.TableToSplit(Items, null, jobs: 2, minimumBytes: 0));
    }
}
