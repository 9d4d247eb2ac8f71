using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Backups;

/// <summary>Compression methods of backup data.</summary>
public enum CompressionMethod
{
    /// <summary>The <c>zstd</c> command-line tool (default; about 10× faster than gzip for the same ratio).</summary>
    Zstd,

    /// <summary>In-process gzip (<see cref="System.IO.Compression.GZipStream"/>); no external tool needed.</summary>
    Gzip,

    /// <summary>No compression.</summary>
    None,
}

/// <summary>Compression of backup data (configuration section <c>Backups:Compression</c>).</summary>
public sealed class CompressionOptions
{
    public CompressionMethod Method { get; set; } = CompressionMethod.Zstd;

    /// <summary>zstd level 1-19 (default 3). For gzip: 1-3 fastest, 4-8 optimal, 9 smallest.</summary>
    public int Level { get; set; } = 3;

    /// <summary>zstd worker threads (<c>-T</c>); 0 uses every core.</summary>
    public int Threads { get; set; }

    /// <summary>zstd executable: a name looked up on PATH or an absolute path.</summary>
    public string ZstdPath { get; set; } = "zstd";
}

internal sealed class CompressionOptionsValidator : IValidateOptions<CompressionOptions>
{
    public ValidateOptionsResult Validate(string? name, CompressionOptions options)
    {
        var errors = new List<string>();
        if (!Enum.IsDefined(options.Method))
            errors.Add($"Backups:Compression:Method '{options.Method}' is unknown; use Zstd, Gzip or None.");
        if (options.Level is < 1 or > 19)
            errors.Add($"Backups:Compression:Level is {options.Level}; use 1 to 19 (zstd) or 1 to 9 (gzip).");
        if (options.Threads < 0)
            errors.Add("Backups:Compression:Threads must be 0 (all cores) or more.");
        if (options.Method == CompressionMethod.Zstd && string.IsNullOrWhiteSpace(options.ZstdPath))
            errors.Add("Backups:Compression:ZstdPath must name the zstd executable.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
