extern alias server;

using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using BodyLimit = server::DrWorkflows.Server.Hosting.BodyLimit;
using BodyLimits = server::DrWorkflows.Server.Hosting.BodyLimits;
using ServerSetup = server::DrWorkflows.Server.Hosting.ServerSetup;

namespace DrWorkflows.Benchmarks;

/// <summary>
/// Memory under abuse (issue 17): the real server process (SQLite) gets 100 concurrent 10 MB bodies on every write
/// route of its route table, one route after the other: half declare their length and ask to continue
/// (<c>Expect: 100-continue</c>, as curl does for large bodies), half are sent chunked, without a length. Prints the
/// server's peak resident memory (the kernel's <c>VmHWM</c>) against the 400 MB target, and what each route
/// answered; nothing may be accepted (a 2xx) past a route's limit. Exit code 1 when either fails.
/// </summary>
internal static class AbuseBenchmark
{
    private const int Concurrency = 100;
    private const int BodyBytes = 10 * 1000 * 1000;
    private const long TargetBytes = 400L * 1000 * 1000;

    public static async Task<int> RunAsync(Report report, string directory, CancellationToken ct)
    {
        var routes = await WriteRoutesAsync(Path.Combine(directory, "table"));
        var key = Guid.NewGuid().ToString("N");
        var workflows = Path.Combine(directory, "workflows");
        Directory.CreateDirectory(workflows);
        var env = new Dictionary<string, string>
        {
            ["DRW_DATA_DIR"] = Path.Combine(directory, "data"),
            ["DRW_API_KEY"] = key,
            ["DRW_WORKFLOWS_DIR"] = workflows,
            ["Logging__LogLevel__Default"] = "Error",
            // Every request comes from one address: throttling of keys is not what is measured here.
            ["DrWorkflows__Limits__FailedKeyAttemptsPerMinute"] = "100000",
            ["DrWorkflows__Limits__SignInAttemptsPerMinute"] = "100000",
        };
        var (process, port, _) = await ServerRecovery.StartAsync(env, ct);
        try
        {
            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = Concurrency * 2, Expect100ContinueTimeout = TimeSpan.FromSeconds(5), PooledConnectionLifetime = TimeSpan.FromSeconds(30) };
            using var client = new HttpClient(handler) { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(2) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", key);
            foreach (var route in routes)
                await SendAsync(client, route, size: 16, declared: true, ct);
            var idle = Memory(process.Id, "VmRSS");
            report.Note($"abuse: {routes.Count} write routes from the route table; the server's resident memory after one small request to each: {Mb(idle)}");

            var accepted = 0;
            var lines = new List<string>();
            var clock = Stopwatch.StartNew();
            foreach (var route in routes)
            {
                var outcomes = await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(i => SendAsync(client, route, BodyBytes, declared: i % 2 == 0, ct)));
                var counts = outcomes.GroupBy(o => o).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}×{g.Count()}");
                accepted += outcomes.Count(o => o.Length == 3 && o[0] == '2');
                var line = $"| {route.Method} {route.Path} | {Size(route.Limit)} | {string.Join(", ", counts)} | {Mb(Memory(process.Id, "VmRSS"))} |";
                lines.Add(line);
                Console.WriteLine("# " + line);
            }

            var elapsed = clock.Elapsed;
            using var health = await client.GetAsync(new Uri("/health", UriKind.Relative), ct);
            var peak = Memory(process.Id, "VmHWM");
            Console.WriteLine();
            Console.WriteLine("| route | body limit | answers to 50 declared + 50 chunked 10 MB bodies | server RSS after |");
            Console.WriteLine("|---|---|---|---|");
            lines.ForEach(Console.WriteLine);
            report.Note($"abuse: {routes.Count * Concurrency} requests of 10 MB in {elapsed.TotalSeconds:F0} s ({Concurrency} at a time per route); answers: 413 = refused over the limit, 'closed' = the server closed the connection while the client was still sending after the refusal");
            report.Line("server", $"peak resident memory (VmHWM) under {Concurrency} concurrent 10 MB bodies per write route; target {Mb(TargetBytes)}", peak / 1e6, "MB");
            report.Line("server", "ratio of the peak to the 400 MB target", (double)peak / TargetBytes, "×");
            report.Line("server", "requests accepted (2xx) past their route's limit", accepted, "requests");
            report.Note($"abuse: /health after the storm answered {(int)health.StatusCode}");
            return peak <= TargetBytes && accepted == 0 && health.IsSuccessStatusCode ? 0 : 1;
        }
        finally
        {
            if (!process.HasExited)
                process.Kill();
            await process.WaitForExitAsync(CancellationToken.None);
            process.Dispose();
        }
    }

    /// <summary>One request: the status it got, or 'closed' when the server closed the connection while the body was being sent.</summary>
    private static async Task<string> SendAsync(HttpClient client, WriteRoute route, int size, bool declared, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(new HttpMethod(route.Method), route.Path);
        var body = new PatternStream(route.ContentType.Contains("json", StringComparison.Ordinal) ? "{\"ids\":[\""u8.ToArray() : "apiKey="u8.ToArray(), size, declared);
        request.Content = new StreamContent(body);
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(route.ContentType);
        if (declared)
        {
            request.Content.Headers.ContentLength = size;
            request.Headers.ExpectContinue = size > 1024;
        }

        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            return ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        }
        catch (HttpRequestException)
        {
            return "closed";
        }
    }

    private sealed record WriteRoute(string Method, string Path, long Limit, string ContentType);

    /// <summary>The write routes of the server's route table (built in this process, not started), with their body limits.</summary>
    private static async Task<List<WriteRoute>> WriteRoutesAsync(string dataDirectory)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration["DRW_DATA_DIR"] = dataDirectory;
        builder.Configuration["DRW_API_KEY"] = "route-table";
        builder.Configuration["DRW_WORKFLOWS_DIR"] = dataDirectory;
        builder.Configuration["Logging:LogLevel:Default"] = "Error";
        ServerSetup.AddDrWorkflowsServer(builder);
        await using var app = builder.Build();
        ServerSetup.MapDrWorkflowsServer(app);
        var routes = new List<WriteRoute>();
        foreach (var endpoint in ((IEndpointRouteBuilder)app).DataSources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>())
        {
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods is { Count: > 0 } declared ? declared : ["POST"];
            var json = endpoint.Metadata.GetMetadata<IAcceptsMetadata>()?.ContentTypes.Any(t => t.Contains("json", StringComparison.Ordinal)) == true;
            var limit = endpoint.Metadata.GetMetadata<BodyLimit>()?.Bytes ?? BodyLimits.Default;
            foreach (var method in methods.Where(m => m is not ("GET" or "HEAD" or "OPTIONS")))
                routes.Add(new WriteRoute(method, PathOf(endpoint.RoutePattern), limit, json ? "application/json" : "application/x-www-form-urlencoded"));
        }

        return [.. routes.OrderBy(r => r.Path, StringComparer.Ordinal).ThenBy(r => r.Method, StringComparer.Ordinal)];
    }

    private static string PathOf(RoutePattern pattern) =>
        "/" + string.Join('/', pattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternSeparatorPart separator => separator.Content,
            RoutePatternParameterPart parameter => parameter.ParameterPolicies.Any(p => p.Content == "int") ? "1" : "x",
            _ => string.Empty,
        }))));

    /// <summary>A line of /proc/{pid}/status in bytes (VmRSS: resident now; VmHWM: the peak).</summary>
    private static long Memory(int pid, string field)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    private static string Mb(long bytes) => (bytes / 1e6).ToString("F0", CultureInfo.InvariantCulture) + " MB";

    private static string Size(long bytes) => bytes >= 1024 * 1024 ? $"{bytes / (1024 * 1024)} MiB" : $"{bytes / 1024} KiB";

    /// <summary>A body of the given size that is generated as it is read (the client holds no 10 MB buffers).</summary>
    private sealed class PatternStream(byte[] head, long length, bool seekable) : Stream
    {
        private long position;

        public override bool CanRead => true;

        public override bool CanSeek => seekable;

        public override bool CanWrite => false;

        public override long Length => seekable ? length : throw new NotSupportedException();

        public override long Position { get => position; set => position = value; }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, length - position);
            for (var i = 0; i < n; i++)
                buffer[i] = position + i < head.Length ? head[position + i] : (byte)'x';
            position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => position + offset,
            _ => length + offset,
        };

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
