using System.Collections.Concurrent;
using System.Text;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Postgres;

namespace DrWorkflows.Activities.Tests.Postgres;

/// <summary>Handing one table's COPY rows from a pg_restore script to several sessions.</summary>
public sealed class TableRowDealerTests
{
    private const string Copy = "COPY public.orders (id, note, details) FROM stdin";

    private static readonly string[] Settings =
    [
        "SET statement_timeout = 0;",
        "SET client_encoding = 'UTF8';",
        "SET standard_conforming_strings = on;",
        "SELECT pg_catalog.set_config('search_path', '', false);",
        "SET row_security = off;",
    ];

    [Fact]
    public async Task Every_row_reaches_exactly_one_session_whole_whatever_the_sizes_of_the_writes()
    {
        var ct = TestContext.Current.CancellationToken;
        var rows = Rows(6000);
        var sessions = new ConcurrentBag<FakeSession>();
        await using var dealer = new TableRowDealer("public.orders", 3, (settings, copy, _) => Open(sessions, settings, copy));

        await WriteInPiecesAsync(dealer, Encoding.UTF8.GetBytes(Script(rows)), new Random(11), 1, 40_000, ct);
        await dealer.CompleteAsync(ct);

        Assert.Equal(3, sessions.Count);
        Assert.All(sessions, session =>
        {
            Assert.Equal(Settings, session.Settings);
            Assert.Equal(Copy, session.Copy);
            Assert.True(session.Completed);
            Assert.All(session.Writes, write => Assert.EndsWith("\n", write, StringComparison.Ordinal)); // whole rows only
        });
        var received = sessions.SelectMany(s => s.Writes).SelectMany(w => w.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Order(StringComparer.Ordinal);
        Assert.Equal(rows.Order(StringComparer.Ordinal), received);
        Assert.Equal(rows.Count, dealer.Rows);
        Assert.Equal(Settings, dealer.Settings);
    }

    [Fact]
    public async Task The_end_of_the_rows_is_found_when_it_arrives_one_byte_at_a_time()
    {
        var ct = TestContext.Current.CancellationToken;
        var rows = Rows(50);
        var sessions = new ConcurrentBag<FakeSession>();
        await using var dealer = new TableRowDealer("public.orders", 2, (settings, copy, _) => Open(sessions, settings, copy));

        await WriteInPiecesAsync(dealer, Encoding.UTF8.GetBytes(Script(rows)), new Random(3), 1, 1, ct);
        await dealer.CompleteAsync(ct);

        Assert.Equal(rows.Order(StringComparer.Ordinal), sessions.SelectMany(s => s.Writes).SelectMany(w => w.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Order(StringComparer.Ordinal));
        Assert.Equal(50, dealer.Rows);
    }

    [Fact]
    public async Task A_row_longer_than_a_block_is_sent_whole()
    {
        var ct = TestContext.Current.CancellationToken;
        List<string> rows = ["1\t" + new string('x', 700_000) + "\t{}", "2\tshort\t{}"];
        var sessions = new ConcurrentBag<FakeSession>();
        await using var dealer = new TableRowDealer("public.orders", 2, (settings, copy, _) => Open(sessions, settings, copy));

        await WriteInPiecesAsync(dealer, Encoding.UTF8.GetBytes(Script(rows)), new Random(5), 1000, 100_000, ct);
        await dealer.CompleteAsync(ct);

        Assert.Equal(rows, sessions.SelectMany(s => s.Writes).SelectMany(w => w.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_script_that_ends_inside_the_rows_is_refused_when_pg_restore_has_ended()
    {
        var ct = TestContext.Current.CancellationToken;
        var script = Script(Rows(100));
        var sessions = new ConcurrentBag<FakeSession>();
        await using var dealer = new TableRowDealer("public.orders", 2, (settings, copy, _) => Open(sessions, settings, copy));

        await dealer.WriteAsync(Encoding.UTF8.GetBytes(script[..script.IndexOf("\\.", StringComparison.Ordinal)]), ct);

        var error = await Assert.ThrowsAsync<BackupException>(() => dealer.CompleteAsync(ct));
        Assert.Contains("public.orders", error.Message, StringComparison.Ordinal);
        Assert.Contains("ended inside its rows", error.Message, StringComparison.Ordinal);
        Assert.All(sessions, session => Assert.False(session.Completed));
    }

    [Fact]
    public async Task A_script_without_a_COPY_is_refused()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dealer = new TableRowDealer("public.orders", 2, (settings, copy, _) => throw new InvalidOperationException("no session expected"));

        await dealer.WriteAsync(Encoding.UTF8.GetBytes(string.Join('\n', Settings) + "\n\n--\n-- PostgreSQL database dump complete\n--\n"), ct);

        var error = await Assert.ThrowsAsync<BackupException>(() => dealer.CompleteAsync(ct));
        Assert.Contains("no COPY for table public.orders", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_statement_over_several_lines_is_refused_instead_of_guessed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var dealer = new TableRowDealer("public.orders", 2, (settings, copy, _) => throw new InvalidOperationException("no session expected"));

        var error = await Assert.ThrowsAsync<BackupException>(async () => await dealer.WriteAsync(Encoding.UTF8.GetBytes("SET search_path =\n  public;\n"), ct));

        Assert.Contains("SET search_path =", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sessions_that_fail_stop_the_load_and_the_error_names_the_table_and_the_cause()
    {
        var ct = TestContext.Current.CancellationToken;
        var sessions = new ConcurrentBag<FakeSession>();
        await using var dealer = new TableRowDealer("public.orders", 2, (settings, copy, _) => Open(sessions, settings, copy, failOnWrite: true));

        var error = await Assert.ThrowsAsync<BackupException>(async () =>
        {
            await WriteInPiecesAsync(dealer, Encoding.UTF8.GetBytes(Script(Rows(20_000))), new Random(1), 50_000, 50_000, ct);
            await dealer.CompleteAsync(ct);
        });

        Assert.Contains("public.orders", error.Message, StringComparison.Ordinal);
        Assert.Contains("invalid input syntax for type jsonb", error.Message, StringComparison.Ordinal);
    }

    private static List<string> Rows(int count)
    {
        var random = new Random(42);
        // Escaped newlines, tabs and backslashes inside values, NULLs, a value that is "\." once escaped, unicode.
        string[] notes = ["plain", "two\\nlines", "tab\\there", "back\\\\slash", "\\N", "\\\\.", "grüße ✓", ""];
        return [.. Enumerable.Range(1, count).Select(i => $"{i}\t{notes[random.Next(notes.Length)]}{new string('n', random.Next(0, 300))}\t{{\"k\": {i}}}")];
    }

    private static string Script(IReadOnlyList<string> rows) =>
        "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc123\n\n-- Dumped from database version 15.18\n\n"
        + string.Join('\n', Settings) + "\n\n--\n-- Data for Name: orders; Type: TABLE DATA; Schema: public; Owner: shop\n--\n\n"
        + Copy + ";\n" + string.Concat(rows.Select(row => row + "\n")) + "\\.\n\n\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc123\n\n";

    private static async Task WriteInPiecesAsync(Stream stream, byte[] bytes, Random random, int min, int max, CancellationToken ct)
    {
        for (var offset = 0; offset < bytes.Length;)
        {
            var count = Math.Min(bytes.Length - offset, random.Next(min, max + 1));
            await stream.WriteAsync(bytes.AsMemory(offset, count), ct);
            offset += count;
        }
    }

    private static Task<ICopySession> Open(ConcurrentBag<FakeSession> sessions, IReadOnlyList<string> settings, string copy, bool failOnWrite = false)
    {
        var session = new FakeSession([.. settings], copy, failOnWrite);
        sessions.Add(session);
        return Task.FromResult<ICopySession>(session);
    }

    private sealed class FakeSession(List<string> settings, string copy, bool failOnWrite) : ICopySession
    {
        public List<string> Settings { get; } = settings;

        public string Copy { get; } = copy;

        public ConcurrentQueue<string> Writes { get; } = new();

        public bool Completed { get; private set; }

        public ValueTask WriteRowsAsync(ReadOnlyMemory<byte> rows, CancellationToken cancellationToken)
        {
            if (failOnWrite)
                throw new InvalidOperationException("invalid input syntax for type jsonb");
            Writes.Enqueue(Encoding.UTF8.GetString(rows.Span));
            return ValueTask.CompletedTask;
        }

        public Task CompleteAsync(CancellationToken cancellationToken)
        {
            Completed = true;
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
