using System.Diagnostics;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text;
using DrWorkflows.Testing;

namespace DrWorkflows.Durability.Tests;

/// <summary>
/// One real DrWorkflows server process (<c>dotnet DrWorkflows.Server.dll</c>) on a free loopback port, with the
/// durability test activities loaded as a plugin. <see cref="Kill"/> sends SIGKILL: nothing in the process gets
/// a chance to clean up, exactly like a power cut of the orchestrator (the OS keeps what was written to files).
/// </summary>
internal sealed class ServerNode : IDisposable
{
    private readonly Dictionary<string, string> environment;
    private readonly string logDirectory;
    private readonly Lock logGate = new();
    private Process? process;
    private StreamWriter? log;

    public ServerNode(string name, Dictionary<string, string> environment, string logDirectory)
    {
        Name = name;
        this.environment = environment;
        this.logDirectory = logDirectory;
        Directory.CreateDirectory(logDirectory);
    }

    public string Name { get; }

    /// <summary>How many times this node was started.</summary>
    public int Generation { get; private set; }

    /// <summary>The node id the current process uses in leases.</summary>
    public string NodeId { get; private set; } = string.Empty;

    public int Pid => process?.Id ?? 0;

    public bool IsRunning => process is { HasExited: false };

    public HttpClient? Client { get; private set; }

    /// <summary>Kill times by process id (UTC), to close the activity intervals a killed process left open.</summary>
    public static System.Collections.Concurrent.ConcurrentDictionary<int, DateTimeOffset> KillTimes { get; } = new();

    public static string ServerDll => Path("DrwServerDll");

    public static string TestActivitiesDll => Path("DrwTestActivitiesDll");

    private static string Path(string key)
    {
        var value = typeof(ServerNode).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;
        if (string.IsNullOrEmpty(value) || !File.Exists(value))
            throw new InvalidOperationException($"{key} '{value}' does not exist: build the test project (it builds the server and the test activities first).");
        return value;
    }

    /// <summary>The dotnet host that runs the tests (DOTNET_HOST_PATH under dotnet test), else dotnet on PATH.</summary>
    private static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>Starts the process with <paramref name="nodeId"/> and waits until /health answers.</summary>
    public async Task StartAsync(string nodeId, CancellationToken cancellationToken)
    {
        if (IsRunning)
            throw new InvalidOperationException($"{Name} is already running.");
        Generation++;
        NodeId = nodeId;
        var port = FreePort.Get();
        var url = $"http://127.0.0.1:{port}";
        var info = new ProcessStartInfo(DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(ServerDll);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add(url);
        foreach (var (key, value) in environment)
            info.Environment[key] = value;
        info.Environment["DrWorkflows__Runtime__NodeId"] = nodeId;
        if (!environment.ContainsKey(TestActivitiesVariable))
            info.Environment[TestActivitiesVariable] = TestActivitiesDll;
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["DOTNET_NOLOGO"] = "1";

        log?.Dispose();
        Directory.CreateDirectory(logDirectory); // idempotent; the directory was seen missing once in CI (cause not found)
        log = new StreamWriter(System.IO.Path.Combine(logDirectory, $"{Name}-{Generation}.log"), append: false, Encoding.UTF8) { AutoFlush = true };
        var started = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {DotnetHost} {ServerDll}.");
        process = started;
        started.OutputDataReceived += (_, e) => Write(e.Data);
        started.ErrorDataReceived += (_, e) => Write(e.Data);
        started.BeginOutputReadLine();
        started.BeginErrorReadLine();

        Client?.Dispose();
        var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", environment["DRW_API_KEY"]);
        Client = client;

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (started.HasExited)
                throw new InvalidOperationException($"{Name} (generation {Generation}) exited with code {started.ExitCode} during start:\n{Tail()}");
            try
            {
                using var probe = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                using var response = await client.GetAsync(new Uri("/health", UriKind.Relative), probe.Token);
                if (response.IsSuccessStatusCode)
                    return;
            }
            catch (HttpRequestException)
            {
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(180))
                throw new TimeoutException($"{Name} did not answer /health within 180 s:\n{Tail()}");
            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>Environment variable read by the server: the plugin with the test activities.</summary>
    public const string TestActivitiesVariable = "DRW_ACTIVITY_ASSEMBLIES";

    /// <summary>SIGKILL (Process.Kill on Unix), then waits for the process to be gone; returns when it died.</summary>
    public DateTimeOffset Kill()
    {
        var current = process;
        if (current is null || current.HasExited)
            return DateTimeOffset.UtcNow;
        current.Kill(entireProcessTree: false);
        current.WaitForExit();
        var at = DateTimeOffset.UtcNow;
        KillTimes[current.Id] = at;
        Write($"==> test: SIGKILL at {at:O}");
        return at;
    }

    /// <summary>The last lines of the current generation's log.</summary>
    public string Tail(int lines = 40)
    {
        lock (logGate)
        {
            var path = System.IO.Path.Combine(logDirectory, $"{Name}-{Generation}.log");
            log?.Flush();
            if (!File.Exists(path))
                return "(no log)";
            using var reader = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var text = new StreamReader(reader);
            var all = text.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }
    }

    private void Write(string? line)
    {
        if (line is null)
            return;
        lock (logGate)
            log?.WriteLine(line);
    }

    public void Dispose()
    {
        Kill();
        process?.Dispose();
        Client?.Dispose();
        lock (logGate)
            log?.Dispose();
    }
}
