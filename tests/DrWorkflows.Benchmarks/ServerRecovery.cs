using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Reflection;
using System.Text.Json.Nodes;

namespace DrWorkflows.Benchmarks;

/// <summary>
/// The real server process (SQLite): a run is killed (SIGKILL) in the middle of a long step; the time from starting
/// the server again to that run's step starting again (the durability test activities record it in a file).
/// </summary>
internal static class ServerRecovery
{
    private const string Definition = "bench-server-recover";

    public static async Task MeasureAsync(Report report, string directory, CancellationToken ct)
    {
        var records = Path.Combine(directory, "records");
        var workflows = Path.Combine(directory, "workflows");
        Directory.CreateDirectory(workflows);
        await File.WriteAllTextAsync(Path.Combine(workflows, "recover.json"), $$"""
            { "definitionId": "{{Definition}}", "name": "{{Definition}}", "version": 1, "toolVersion": "3.8.0", "variables": [], "inputs": [], "outputs": [],
              "outcomes": [], "customProperties": {}, "options": {},
              "root": { "type": "Elsa.Sequence", "version": 1, "id": "root", "activities": [
                { "type": "Durability.Probe", "version": 1, "id": "long", "durationMs": { "typeName": "Int32", "expression": { "type": "Literal", "value": "600000" } } } ] } }
            """, ct);
        var key = Guid.NewGuid().ToString("N");
        var env = new Dictionary<string, string>
        {
            ["DRW_DATA_DIR"] = Path.Combine(directory, "data"),
            ["DRW_API_KEY"] = key,
            ["DRW_WORKFLOWS_DIR"] = workflows,
            ["DRW_ACTIVITY_ASSEMBLIES"] = Paths.TestActivitiesDll,
            ["DRW_DURABILITY_RECORDS"] = records,
            ["DrWorkflows__Runtime__NodeId"] = "bench-server",
            ["Logging__LogLevel__Default"] = "Warning",
        };

        var toHealth = new List<double>();
        var toRunning = new List<double>();
        Process? server = null;
        try
        {
            for (var i = 0; i < 5; i++)
            {
                var (process, port, _) = await StartAsync(env, ct);
                server = process;
                using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", key);
                using var response = await client.PostAsJsonAsync($"/elsa/api/workflow-definitions/{Definition}/dispatch", new JsonObject(), ct);
                response.EnsureSuccessStatusCode();
                var instanceId = (await response.Content.ReadFromJsonAsync<JsonObject>(ct))!["workflowInstanceId"]!.GetValue<string>();
                await WaitForStartAsync(records, instanceId, process.Id, ct);

                process.Kill(); // SIGKILL
                await process.WaitForExitAsync(ct);
                process.Dispose();

                var startedAt = DateTimeOffset.UtcNow;
                var (again, _, healthy) = await StartAsync(env, ct);
                server = again;
                var resumedAt = await WaitForStartAsync(records, instanceId, again.Id, ct);
                toHealth.Add((healthy - startedAt).TotalMilliseconds);
                toRunning.Add((resumedAt - startedAt).TotalMilliseconds);
                again.Kill();
                await again.WaitForExitAsync(ct);
                again.Dispose();
                server = null;
            }
        }
        finally
        {
            if (server is { HasExited: false })
                server.Kill();
        }

        toHealth.Sort();
        toRunning.Sort();
        report.Line("SQLite", $"server process start → /health answers (median of {toHealth.Count})", toHealth[toHealth.Count / 2], "ms");
        report.Line("SQLite", $"recovery: server process start after SIGKILL → interrupted run's step running again (median of {toRunning.Count}, max {toRunning[^1]:F0} ms)", toRunning[toRunning.Count / 2], "ms");
    }

    internal static async Task<(Process Process, int Port, DateTimeOffset Healthy)> StartAsync(Dictionary<string, string> env, CancellationToken ct)
    {
        var port = FreePort();
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(Paths.ServerDll);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{port}");
        foreach (var (name, value) in env)
            info.Environment[name] = value;
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
                Console.Error.WriteLine("server: " + line);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (process.HasExited)
                throw new InvalidOperationException($"The server exited with code {process.ExitCode} during start.");
            try
            {
                using var response = await client.GetAsync(new Uri("/health", UriKind.Relative), ct);
                if (response.IsSuccessStatusCode)
                    return (process, port, DateTimeOffset.UtcNow);
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
            }

            await Task.Delay(5, ct);
        }

        process.Kill();
        throw new TimeoutException("The server did not answer /health within 60 s.");
    }

    /// <summary>Waits for the S record of the run written by the given process; returns its time.</summary>
    private static async Task<DateTimeOffset> WaitForStartAsync(string records, string instanceId, int pid, CancellationToken ct)
    {
        var file = Path.Combine(records, $"records-{pid}.log");
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (File.Exists(file))
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                using var reader = new StreamReader(stream);
                foreach (var line in (await reader.ReadToEndAsync(ct)).Split('\n'))
                {
                    var f = line.Split('\t');
                    if (f.Length == 8 && f[0] == "S" && f[2] == instanceId)
                        return new DateTimeOffset(long.Parse(f[6], CultureInfo.InvariantCulture), TimeSpan.Zero);
                }
            }

            await Task.Delay(2, ct);
        }

        throw new TimeoutException($"Run {instanceId} did not start its step in process {pid} within 60 s.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Where the built server and test activities are (written by the project file at build time).</summary>
internal static class Paths
{
    public static string ServerDll => Get("DrwServerDll");

    public static string TestActivitiesDll => Get("DrwTestActivitiesDll");

    private static string Get(string key) =>
        typeof(Paths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value is { Length: > 0 } path && File.Exists(path)
            ? path
            : throw new InvalidOperationException($"{key} not found: build the benchmark project (it builds the server first).");
}
