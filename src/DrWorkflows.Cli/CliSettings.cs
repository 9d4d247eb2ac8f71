namespace DrWorkflows.Cli;

/// <summary>
/// Where <c>drw</c> finds the server and its key, first match wins: the flags (<c>--server</c>, <c>--api-key</c>), the
/// environment (DRW_SERVER, DRW_API_KEY), the config file (DRW_CONFIG, else <c>$XDG_CONFIG_HOME/drw/config</c>, else
/// <c>~/.config/drw/config</c>: lines <c>server = URL</c>, <c>api-key = KEY</c> or <c>api-key-file = PATH</c>, <c>#</c>
/// comments), then the server's own <c>api-key</c> file in DRW_DATA_DIR (default ~/.local/share/drworkflows) on the
/// same machine. <see cref="Looked"/> lists where a key was looked for, for the message when none was found.
/// </summary>
internal sealed record CliSettings(Uri Server, string? ApiKey, string KeySource, IReadOnlyList<string> Looked, string ConfigFile)
{
    public const string DefaultServer = "http://127.0.0.1:5080";

    /// <param name="serverFlag">--server, when given.</param>
    /// <param name="keyFlag">--api-key, when given.</param>
    /// <param name="environment">Reads an environment variable (the process environment; tests pass their own).</param>
    public static CliSettings Resolve(string? serverFlag, string? keyFlag, Func<string, string?> environment)
    {
        var configPath = ConfigPath(environment);
        var config = ReadConfig(configPath);
        var looked = new List<string>();

        var address = serverFlag ?? environment("DRW_SERVER") ?? config.GetValueOrDefault("server") ?? DefaultServer;
        if (!Uri.TryCreate(address, UriKind.Absolute, out var server) || server.Scheme is not ("http" or "https"))
            throw new CliException($"The server '{address}' is not an http(s) URL such as {DefaultServer} (--server, DRW_SERVER or 'server =' in {configPath}).");

        if (keyFlag is { Length: > 0 })
            return new CliSettings(server, keyFlag, "--api-key", looked, configPath);
        looked.Add("--api-key");
        if (environment("DRW_API_KEY") is { Length: > 0 } fromEnvironment)
            return new CliSettings(server, fromEnvironment, "DRW_API_KEY", looked, configPath);
        looked.Add("DRW_API_KEY");
        if (config.GetValueOrDefault("api-key") is { Length: > 0 } fromConfig)
            return new CliSettings(server, fromConfig, configPath, looked, configPath);
        if (config.GetValueOrDefault("api-key-file") is { Length: > 0 } keyFile)
        {
            var path = ExpandHome(keyFile);
            if (!File.Exists(path))
                throw new CliException($"The key file '{path}' named by 'api-key-file' in {configPath} does not exist.");
            return new CliSettings(server, File.ReadAllText(path).Trim(), path, looked, configPath);
        }

        looked.Add($"'api-key' or 'api-key-file' in {configPath}{(File.Exists(configPath) ? string.Empty : " (no such file)")}");
        var dataDir = environment("DRW_DATA_DIR")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "drworkflows");
        var serverKey = Path.Combine(dataDir, "api-key");
        if (File.Exists(serverKey))
            return new CliSettings(server, File.ReadAllText(serverKey).Trim(), serverKey, looked, configPath);
        looked.Add($"{serverKey} (no such file)");
        return new CliSettings(server, null, "none", looked, configPath);
    }

    /// <summary>Why a request was refused with 401, naming where the key came from or where none was found.</summary>
    public string Unauthorized(string detail) => ApiKey is null
        ? $"401 Unauthorized: no API key found. Looked in: {string.Join("; ", Looked)}. Pass --api-key, set DRW_API_KEY, or write 'api-key = <key>' in {ConfigFile}."
        : $"401 Unauthorized: the server refused the API key from {KeySource} ({detail}).";

    public static string ConfigPath(Func<string, string?> environment)
    {
        if (environment("DRW_CONFIG") is { Length: > 0 } explicitPath)
            return explicitPath;
        var configHome = environment("XDG_CONFIG_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        return Path.Combine(configHome, "drw", "config");
    }

    private static Dictionary<string, string> ReadConfig(string path)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (!File.Exists(path))
            return values;
        var number = 0;
        foreach (var raw in File.ReadLines(path))
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            var key = equals > 0 ? line[..equals].Trim() : string.Empty;
            if (key is not ("server" or "api-key" or "api-key-file"))
                throw new CliException($"{path} line {number}: expected 'server = URL', 'api-key = KEY' or 'api-key-file = PATH'.");
            values[key] = line[(equals + 1)..].Trim().Trim('"');
        }

        return values;
    }

    private static string ExpandHome(string path) =>
        path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path[2..]) : path;
}
