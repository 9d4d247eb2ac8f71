using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using DrWorkflows.Testing;
using Npgsql;

namespace DrWorkflows.Persistence.Tests.Infrastructure;

/// <summary>The servers that tests/run.sh starts answer where the DRW_TEST_* variables say.</summary>
public class HarnessServicesTests
{
    [Fact]
    public async Task Redis_AnswersPing()
    {
        var ct = TestContext.Current.CancellationToken;
        var address = TestServices.RequireRedis();
        var separator = address.LastIndexOf(':');
        using var client = new TcpClient();
        await client.ConnectAsync(address[..separator], int.Parse(address[(separator + 1)..]), ct);
        await using var stream = client.GetStream();

        await stream.WriteAsync("PING\r\n"u8.ToArray(), ct);
        var buffer = new byte[64];
        var read = await stream.ReadAsync(buffer, ct);

        Assert.Equal("+PONG\r\n", Encoding.ASCII.GetString(buffer, 0, read));
    }

    [Fact]
    public async Task S3_ListsBuckets()
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient { BaseAddress = TestServices.RequireS3() };

        using var response = await http.GetAsync(new Uri("/", UriKind.Relative), ct);
        var body = await response.Content.ReadAsStringAsync(ct);

        Assert.True(response.IsSuccessStatusCode, $"GET / returned {(int)response.StatusCode}: {body}");
        Assert.Contains("ListAllMyBucketsResult", body, StringComparison.Ordinal);
    }

    private static HttpClient DockerApi(Uri endpoint)
    {
        Assert.Equal("unix", endpoint.Scheme);
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(endpoint.LocalPath), token);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        return new HttpClient(handler, disposeHandler: true) { BaseAddress = new Uri("http://docker") };
    }

    [Fact]
    public async Task Docker_AnswersPing_AndHasTheListedImages()
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = DockerApi(TestServices.RequireDocker());

        Assert.Equal("OK", await http.GetStringAsync(new Uri("/_ping", UriKind.Relative), ct));
        var images = await http.GetStringAsync(new Uri("/images/json", UriKind.Relative), ct);
        foreach (var image in TestServices.DockerImages)
        {
            Assert.Contains($"\"{image}\"", images, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task PgImage_StartsHealthy_AndAcceptsThePassword()
    {
        var ct = TestContext.Current.CancellationToken;
        var image = TestServices.RequireDockerImage("local/pg:15");
        using var http = DockerApi(TestServices.RequireDocker());
        var port = FreePort.Get();
        var name = "drw-harness-pg-" + Guid.NewGuid().ToString("N")[..12];
        var create = new
        {
            Image = image,
            Env = new[] { "POSTGRES_PASSWORD=harness-secret", $"PGPORT={port}" },
            Cmd = new[] { "-c", "listen_addresses=127.0.0.1" },
            HostConfig = new { NetworkMode = "host" },
        };
        using (var created = await http.PostAsJsonAsync(new Uri($"/containers/create?name={name}", UriKind.Relative), create, ct))
        {
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync(ct));
        }

        try
        {
            using (var started = await http.PostAsync(new Uri($"/containers/{name}/start", UriKind.Relative), null, ct))
            {
                Assert.True(started.IsSuccessStatusCode, await started.Content.ReadAsStringAsync(ct));
            }

            var health = "";
            for (var i = 0; i < 300 && health != "healthy"; i++)
            {
                await Task.Delay(100, ct);
                using var inspect = JsonDocument.Parse(await http.GetStringAsync(new Uri($"/containers/{name}/json", UriKind.Relative), ct));
                health = inspect.RootElement.GetProperty("State").GetProperty("Health").GetProperty("Status").GetString() ?? "";
            }

            Assert.Equal("healthy", health);
            var connectionString = $"Host=127.0.0.1;Port={port};Username=postgres;Password=harness-secret;Database=postgres;Pooling=false";
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(ct);
            await using var command = new NpgsqlCommand("SHOW server_version", connection);
            Assert.StartsWith("15.", (string)(await command.ExecuteScalarAsync(ct))!, StringComparison.Ordinal);
        }
        finally
        {
            using var removed = await http.DeleteAsync(new Uri($"/containers/{name}?force=true&v=true", UriKind.Relative), CancellationToken.None);
        }
    }

    [Fact]
    public async Task Chromium_ReportsItsVersion()
    {
        var ct = TestContext.Current.CancellationToken;
        var chromium = TestServices.RequireChromium();
        using var process = Process.Start(new ProcessStartInfo(chromium, "--version") { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = await process.StandardOutput.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);

        Assert.Equal(0, process.ExitCode);
        Assert.Contains("Chromium", output, StringComparison.Ordinal);
    }
}
