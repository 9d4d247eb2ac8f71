using System.Text.Json;

namespace DrWorkflows.Activities.Media;

/// <summary>The file map of a media backup set (<c>files.json</c>): path → checksum → content object.</summary>
public sealed class MediaFileMap
{
    public const string FileName = "files.json";

    /// <summary>Key prefix of the content objects (<c>media/{source}/_objects/</c>).</summary>
    public string ObjectPrefix { get; set; } = string.Empty;

    public List<MediaFileEntry> Files { get; set; } = [];

    /// <summary>Empty directories, so that a restore recreates them.</summary>
    public List<string> EmptyDirectories { get; set; } = [];

    /// <summary>Entries not backed up (symbolic links, special files, unreadable files), with the reason.</summary>
    public List<string> Skipped { get; set; } = [];

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Backups.BackupManifest.JsonOptions);

    public static MediaFileMap Parse(byte[] json) =>
        JsonSerializer.Deserialize<MediaFileMap>(json, Backups.BackupManifest.JsonOptions) ?? new MediaFileMap();
}

/// <summary>One file of a media backup.</summary>
public sealed class MediaFileEntry
{
    /// <summary>'/'-separated path relative to the volume root.</summary>
    public string Path { get; set; } = string.Empty;

    public long Size { get; set; }

    /// <summary>Hex SHA-256 of the content; also the content object's name.</summary>
    public string Sha256 { get; set; } = string.Empty;

    /// <summary>Key of the content object.</summary>
    public string Key { get; set; } = string.Empty;

    public DateTimeOffset Modified { get; set; }

    /// <summary>Unix mode bits (octal text), when known.</summary>
    public string? Mode { get; set; }
}
