using System.Formats.Tar;
using System.Security.Cryptography;
using DrWorkflows.Activities.Docker;
using DrWorkflows.Testing;

namespace DrWorkflows.Activities.Tests.Docker;

public sealed class DockerVolumeTests : IAsyncLifetime
{
    private const string Populate =
        "echo hello > /v/a.txt; mkdir -p /v/sub; echo deep > /v/sub/b.txt; chown -R 999:999 /v/sub; chmod 700 /v; chown 70:70 /v";

    private const string Describe = "cd /v && stat -c '%n %u:%g %a' . a.txt sub sub/b.txt && cat a.txt sub/b.txt";

    private DockerScope docker = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        docker = DockerScope.Create();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => docker.DisposeAsync();

    [Fact]
    public async Task Create_is_idempotent_and_remove_reports_whether_it_removed()
    {
        var name = docker.Name("vol");
        var labels = new Dictionary<string, string> { ["org.drworkflows.test"] = "1" };
        var created = await docker.Service.CreateVolumeAsync(name, labels, Ct);
        var again = await docker.Service.CreateVolumeAsync(name, null, Ct);
        Assert.Equal(name, created.Name);
        Assert.Equal("1", again.Labels["org.drworkflows.test"]);

        Assert.True(await docker.Service.RemoveVolumeAsync(name, false, Ct));
        Assert.False(await docker.Service.RemoveVolumeAsync(name, false, Ct));
        Assert.Null(await docker.Service.InspectVolumeAsync(name, Ct));
    }

    [Fact]
    public async Task Archive_writes_a_tar_relative_to_the_volume_root_with_owners_and_its_checksum()
    {
        var volume = await PopulatedVolumeAsync("arch");
        using var dir = new TempDirectory("docker-volume");
        var path = dir.Combine("volume.tar");

        var archive = await docker.Service.ArchiveVolumeToFileAsync(volume, path, Ct);

        Assert.Equal(FileModes.PrivateFile, FileModes.Of(path)); // the whole database in clear: owner only
        var bytes = await File.ReadAllBytesAsync(path, Ct);
        Assert.Equal(bytes.Length, archive.Bytes);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), archive.Sha256);
        var entries = new Dictionary<string, (int Uid, UnixFileMode Mode)>();
        await using (var reader = new TarReader(new MemoryStream(bytes)))
        {
            while (await reader.GetNextEntryAsync(cancellationToken: Ct) is { } entry)
                entries[entry.Name.TrimEnd('/')] = (entry.Uid, entry.Mode);
        }

        Assert.Equal([".", "./a.txt", "./sub", "./sub/b.txt"], entries.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(999, entries["./sub/b.txt"].Uid);
        Assert.Equal(70, entries["."].Uid);

        // Restoring the archive into a new volume reproduces content, owners and modes.
        var restored = docker.Name("arch-restored");
        await using (var tar = File.OpenRead(path))
            await docker.Service.RestoreVolumeAsync(restored, tar, Ct);
        Assert.Equal(await DescribeAsync(volume), await DescribeAsync(restored));
    }

    [Fact]
    public async Task Copy_reproduces_the_volume_and_can_rename_it_by_removing_the_source()
    {
        var source = await PopulatedVolumeAsync("src");
        var expected = await DescribeAsync(source);
        var destination = docker.Name("forensic-copy");

        var copy = await docker.Service.CopyVolumeAsync(source, destination, new VolumeCopyOptions(), Ct);
        Assert.Equal(expected, await DescribeAsync(destination));
        Assert.False(copy.SourceRemoved);
        Assert.True(copy.Bytes > 0);
        Assert.Matches("^[0-9a-f]{64}$", copy.Sha256);
        Assert.Equal(". 70:70 700\na.txt 0:0 644\nsub 999:999 755\nsub/b.txt 999:999 644\nhello\ndeep\n", expected);

        var renamed = docker.Name("renamed");
        var rename = await docker.Service.CopyVolumeAsync(destination, renamed, new VolumeCopyOptions { RemoveSource = true }, Ct);
        Assert.True(rename.SourceRemoved);
        Assert.Null(await docker.Service.InspectVolumeAsync(destination, Ct));
        Assert.Equal(expected, await DescribeAsync(renamed));
    }

    [Fact]
    public async Task Copy_refuses_a_non_empty_destination_and_a_source_used_by_a_running_container()
    {
        var source = await PopulatedVolumeAsync("busy");
        var occupied = await PopulatedVolumeAsync("occupied");

        var notEmpty = await Assert.ThrowsAsync<DockerOperationException>(() => docker.Service.CopyVolumeAsync(source, occupied, new VolumeCopyOptions(), Ct));
        Assert.Equal(DockerOperationException.VolumeNotEmpty, notEmpty.Code);
        Assert.Contains(occupied, notEmpty.Message);

        var user = await docker.RunAsync("user", DockerScope.Sh("sleep 3600 & wait"), configure: p => p.HostConfig.Binds = [$"{source}:/data"]);
        var inUse = await Assert.ThrowsAsync<DockerOperationException>(() => docker.Service.CopyVolumeAsync(source, docker.Name("copy2"), new VolumeCopyOptions(), Ct));
        Assert.Equal(DockerOperationException.VolumeInUse, inUse.Code);
        Assert.Contains(user, inUse.Message);
        Assert.Null(await docker.Service.InspectVolumeAsync(docker.Name("copy2"), Ct)); // refused before creating anything

        var removeInUse = await Assert.ThrowsAsync<DockerOperationException>(() => docker.Service.RemoveVolumeAsync(source, true, Ct));
        Assert.Equal(DockerOperationException.VolumeInUse, removeInUse.Code);
        Assert.Contains(user, removeInUse.Message);
    }

    [Fact]
    public async Task Unknown_volume_is_a_clear_error_and_is_not_created_by_the_attempt()
    {
        var name = docker.Name("ghost");
        var archive = await Assert.ThrowsAsync<DockerOperationException>(() => docker.Service.ArchiveVolumeAsync(name, Stream.Null, Ct));
        Assert.Equal(DockerOperationException.VolumeNotFound, archive.Code);
        Assert.Contains(name, archive.Message);
        var copy = await Assert.ThrowsAsync<DockerOperationException>(() => docker.Service.CopyVolumeAsync(name, docker.Name("x"), new VolumeCopyOptions(), Ct));
        Assert.Equal(DockerOperationException.VolumeNotFound, copy.Code);
        Assert.Null(await docker.Service.InspectVolumeAsync(name, Ct));
    }

    [Fact]
    public async Task A_missing_helper_image_falls_back_to_an_image_present_on_the_engine()
    {
        await using var scope = DockerScope.Create(o => o.HelperImage = "drw/no-such-helper:0");
        var volume = scope.Name("fallback");
        await scope.Service.CreateVolumeAsync(volume, null, Ct);
        var sink = new MemoryStream();
        var digest = await scope.Service.ArchiveVolumeAsync(volume, sink, Ct);
        Assert.Equal(sink.Length, digest.Bytes);
    }

    private async Task<string> PopulatedVolumeAsync(string suffix)
    {
        var volume = docker.Name(suffix);
        await docker.Service.CreateVolumeAsync(volume, null, Ct);
        await docker.RunToEndAsync(["sh", "-c", Populate], $"{volume}:/v");
        return volume;
    }

    private Task<string> DescribeAsync(string volume) => docker.RunToEndAsync(["sh", "-c", Describe], $"{volume}:/v:ro");
}
