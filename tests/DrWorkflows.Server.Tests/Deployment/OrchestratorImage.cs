using System.Diagnostics;
using System.Reflection;
using System.Text;
using DrWorkflows.Testing;

namespace DrWorkflows.Server.Tests.Deployment;

/// <summary>
/// The orchestrator image, built once per test class by the repository's own <c>deploy/orchestrator/build-image.sh</c>
/// on the test run's private dockerd: the server published (Release, self-contained, ReadyToRun) with its own
/// artifacts path, on the offline base <c>local/drw-runtime:1</c> (tests/infra/build-images.sh) instead of
/// <c>debian:bookworm-slim</c>, under a tag of its own. The image is removed on dispose.
/// </summary>
public sealed class OrchestratorImage : IAsyncLifetime
{
    public const string BaseImage = "local/drw-runtime:1";

    private readonly TempDirectory work = new("drw-image");

    public string Tag { get; } = $"drworkflows/orchestrator:test-{Guid.NewGuid():N}"[..41];

    public Uri Docker { get; private set; } = null!;

    public string? Skipped { get; private set; }

    /// <summary>What build-image.sh published into the image (its build context's app/), read after the build.</summary>
    public string PublishedApp => work.Combine("context", "app");

    public string? Failed { get; private set; }

    /// <summary>How long the build took and how large the image is (for docs/deployment.md).</summary>
    public string Measurements { get; private set; } = string.Empty;

    /// <summary>The repository this test assembly was built from (its Compose file, deploy/, src/).</summary>
    public static string RepositoryRoot =>
        typeof(OrchestratorImage).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "DrwRepositoryRoot")?.Value is { Length: > 0 } root
            ? Path.GetFullPath(root)
            : throw new InvalidOperationException("the test assembly has no DrwRepositoryRoot metadata");

    /// <summary>
    /// The publish's obj/bin, kept between test runs (next to the harness's Docker data-roots) so that a run only
    /// rebuilds what changed: a first Release publish takes 10 to 20 minutes on the loaded 2-core machine. One folder
    /// per checkout; a lock keeps two runs of one checkout from publishing into it at once.
    /// </summary>
    private static string PublishArtifacts =>
        Path.Combine(Environment.GetEnvironmentVariable("DRW_TEST_CACHE") is { Length: > 0 } cache ? cache : "/var/cache/drworkflows", "publish",
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(RepositoryRoot)))[..16]);

    public async ValueTask InitializeAsync()
    {
        // The fixture cannot skip; the tests skip (or fail, in CI) through Require* themselves, and read Failed.
        if (Environment.GetEnvironmentVariable(TestServices.DockerHostVariable) is not { Length: > 0 } host
            || !TestServices.DockerImages.Contains(BaseImage) || !TestServices.DockerImages.Contains("local/pg:15"))
        {
            Skipped = "no private dockerd with local/drw-runtime:1 and local/pg:15";
            return;
        }

        Docker = new Uri(host);
        Directory.CreateDirectory(PublishArtifacts);
        await using var publishLock = await LockAsync(Path.Combine(PublishArtifacts, ".lock"));
        var watch = Stopwatch.StartNew();
        var result = await Shell.RunAsync(
            ["bash", Path.Combine(RepositoryRoot, "deploy", "orchestrator", "build-image.sh"), Tag],
            TimeSpan.FromMinutes(20),
            new Dictionary<string, string>
            {
                ["DOCKER_HOST"] = Docker.ToString(),
                ["DRW_BASE_IMAGE"] = BaseImage,
                ["DRW_PUBLISH_ARTIFACTS"] = PublishArtifacts,
                ["DRW_BUILD_CONTEXT"] = work.Combine("context"),
            });
        if (result.ExitCode != 0)
        {
            Failed = $"build-image.sh failed ({result.ExitCode}):\n{result.Tail(40)}";
            return;
        }

        var size = await Shell.RunAsync(["docker", "-H", Docker.ToString(), "image", "inspect", "-f", "{{.Size}}", Tag], TimeSpan.FromMinutes(1));
        Measurements = $"image {Tag} built in {watch.Elapsed.TotalSeconds:F0} s (publish included), {long.Parse(size.Output.Trim(), System.Globalization.CultureInfo.InvariantCulture) / 1_000_000} MB";
    }

    private static async Task<FileStream> LockAsync(string path)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (waited.Elapsed < TimeSpan.FromMinutes(30))
            {
                await Task.Delay(1000);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Skipped is null && Docker is not null)
            await Shell.RunAsync(["docker", "-H", Docker.ToString(), "image", "rm", "-f", Tag], TimeSpan.FromMinutes(2));
        work.Dispose();
    }

    /// <summary>Skips (or fails, in CI) when the engine or the base images are missing; fails when the build failed.</summary>
    public void Require()
    {
        TestServices.RequireDocker();
        TestServices.RequireDockerImage(BaseImage);
        TestServices.RequireDockerImage("local/pg:15");
        Assert.True(Failed is null, Failed);
        Assert.True(Skipped is null, Skipped);
    }
}

/// <summary>Runs a program with arguments (no shell), capturing its output, within a deadline.</summary>
internal static class Shell
{
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public string Tail(int lines) => string.Join('\n', (Output + "\n" + Error).Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(lines));
    }

    public static async Task<Result> RunAsync(IReadOnlyList<string> command, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? OrchestratorImage.RepositoryRoot,
        };
        foreach (var argument in command.Skip(1))
            info.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            info.Environment[name] = value;
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var output = new StringBuilder();
        var error = new StringBuilder();
        var reading = Task.WhenAll(
            Task.Run(async () => output.Append(await process.StandardOutput.ReadToEndAsync())),
            Task.Run(async () => error.Append(await process.StandardError.ReadToEndAsync())));
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            await reading;
            return new Result(-1, output.ToString(), $"{error}\n{string.Join(' ', command)}: no exit within {timeout}");
        }

        await reading;
        return new Result(process.ExitCode, output.ToString(), error.ToString());
    }
}
