using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.DockerConfig;

/// <summary>
/// The Docker configuration backup of each deployment (configuration section <c>Backups:DockerConfig</c>): the Compose
/// files, the env files with their secrets removed, and the digests of the running images, committed to a git
/// repository and stored as a backup set (kind <c>docker-config</c>).
/// </summary>
public sealed class DockerConfigBackupOptions
{
    /// <summary>Source name of the sets in the store and folder in the git repository (default <c>platform</c>).</summary>
    public string Source { get; set; } = "platform";

    /// <summary>Project directory; default <c>Docker:ComposeProjectDirectory</c>.</summary>
    public string? ProjectDirectory { get; set; }

    /// <summary>Compose files (relative to the project directory or absolute); default <c>Docker:ComposeFiles</c>.</summary>
    public List<string> ComposeFiles { get; set; } = [];

    /// <summary>Env files (relative to the project directory or absolute); default <c>.env</c> when it exists.</summary>
    public List<string> EnvFiles { get; set; } = [];

    /// <summary>
    /// Git repository the configuration is committed to: a URL (<c>https://…</c>, <c>ssh://…</c>, <c>git@host:…</c>) or
    /// the path of a local (bare) repository. Credentials in the URL are never logged or journaled. Empty: the backup
    /// refuses to run (the plan wants git and S3).
    /// </summary>
    public string? GitRepository { get; set; }

    /// <summary>Branch the commits go to (default <c>main</c>).</summary>
    public string GitBranch { get; set; } = "main";

    public string GitAuthorName { get; set; } = "DrWorkflows";

    public string GitAuthorEmail { get; set; } = "drworkflows@localhost";

    /// <summary>Words that make a key look secret (its value is removed); default <see cref="SecretStripper.DefaultSecretWords"/>.</summary>
    public List<string> SecretWords { get; set; } = [];

    /// <summary>How long one git command may take (default 2 minutes).</summary>
    public TimeSpan GitTimeout { get; set; } = TimeSpan.FromMinutes(2);

    internal IReadOnlyList<string> Words => SecretWords.Count > 0 ? SecretWords : SecretStripper.DefaultSecretWords;
}

internal sealed class DockerConfigBackupOptionsValidator : IValidateOptions<DockerConfigBackupOptions>
{
    public ValidateOptionsResult Validate(string? name, DockerConfigBackupOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Source))
            errors.Add("Backups:DockerConfig:Source must name the source of the sets (default platform).");
        if (string.IsNullOrWhiteSpace(options.GitBranch) || options.GitBranch.StartsWith('-') || options.GitBranch.Contains(' ', StringComparison.Ordinal))
            errors.Add($"Backups:DockerConfig:GitBranch '{options.GitBranch}' is not a branch name.");
        if (options.GitRepository is { Length: > 0 } repository && repository.StartsWith('-'))
            errors.Add("Backups:DockerConfig:GitRepository must be a URL or a path, not an option.");
        if (options.SecretWords.Any(string.IsNullOrWhiteSpace))
            errors.Add("Backups:DockerConfig:SecretWords must not hold empty words.");
        if (options.GitTimeout <= TimeSpan.Zero)
            errors.Add("Backups:DockerConfig:GitTimeout must be positive.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
