using System.Globalization;
using System.Text.RegularExpressions;
using DrWorkflows.Activities.Backups;
using DrWorkflows.Activities.Backups.Pipeline;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Postgres;

/// <summary>Locates the PostgreSQL client tools and reads their versions.</summary>
internal sealed partial class PostgresTools(IOptions<PostgresBackupOptions> options)
{
    private const string OptionName = "Postgres:Tools:BinDirectory (PostgresToolsOptions.BinDirectory)";

    public string Find(string tool) =>
        ToolLocator.Find(tool, options.Value.Tools.BinDirectory is { Length: > 0 } dir ? dir : null, OptionName,
            "Install the PostgreSQL client tools of the server's major version or newer (apt-get install postgresql-client-15).");

    public static Task<string> VersionAsync(string path, CancellationToken cancellationToken) => ToolRunner.VersionAsync(path, cancellationToken);

    /// <summary>Major version from <c>pg_dump (PostgreSQL) 15.18 (...)</c>, or 0.</summary>
    public static int MajorOf(string versionText)
    {
        var match = VersionPattern().Match(versionText);
        return match.Success ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>Refuses tools older than the server: pg_dump cannot dump a newer server.</summary>
    public static void EnsureCompatible(string tool, string toolVersion, int serverVersionNum, PostgresServer server)
    {
        var toolMajor = MajorOf(toolVersion);
        var serverMajor = serverVersionNum / 10000;
        if (toolMajor > 0 && serverMajor > 0 && toolMajor < serverMajor)
            throw new BackupException(BackupErrorCodes.ToolFailed,
                $"{tool} is version {toolMajor} but {server} runs PostgreSQL {serverMajor}: {tool} cannot handle a newer server. Install PostgreSQL {serverMajor} client tools and set {OptionName}.");
    }

    [GeneratedRegex(@"\)\s*(\d+)(?:\.\d+)?")]
    private static partial Regex VersionPattern();
}
