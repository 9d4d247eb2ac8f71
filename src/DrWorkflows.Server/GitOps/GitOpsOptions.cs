using Microsoft.Extensions.Options;

namespace DrWorkflows.Server.GitOps;

/// <summary>
/// GitOps settings (section <c>DrWorkflows:GitOps</c>). When enabled, the workflows on <see cref="Branch"/> of
/// <see cref="Repository"/> (folder <see cref="Folder"/>) are what production must run; GitHub is reached through the
/// <c>GitHub</c> section's <c>BaseUrl</c> and <c>Token</c>. When disabled, drift is measured against the server's
/// own workflows folder (DRW_WORKFLOWS_DIR).
/// </summary>
public sealed class GitOpsOptions
{
    public const string SectionName = "DrWorkflows:GitOps";

    public bool Enabled { get; set; }

    /// <summary>The workflows repository, <c>owner/name</c>.</summary>
    public string? Repository { get; set; }

    /// <summary>The branch production follows. Default <c>main</c>.</summary>
    public string Branch { get; set; } = "main";

    /// <summary>Folder of the JSON workflows in the repository. Default <c>workflows</c>.</summary>
    public string Folder { get; set; } = "workflows";

    /// <summary>How often the drift metric is refreshed in the background; zero turns the background check off.</summary>
    public TimeSpan DriftCheckInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How often the reviewed branch is polled for merges the webhook did not bring (the fallback); zero turns polling
    /// off. Default 5 minutes.
    /// </summary>
    public TimeSpan MergePollInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Who may approve a break-glass publish (two different people are needed; the admin who asks cannot). Default <c>role:admin</c>.</summary>
    public List<string> BreakGlassApprovers { get; set; } = [];

    /// <summary>The approvers in force: <see cref="BreakGlassApprovers"/>, or <c>role:admin</c> when none is set.</summary>
    public IReadOnlyList<string> EffectiveBreakGlassApprovers => BreakGlassApprovers.Count > 0 ? BreakGlassApprovers : ["role:admin"];

    public string Owner => Repository?.Split('/')[0] ?? string.Empty;

    public string Name => Repository?.Split('/') is [_, var name] ? name : string.Empty;
}

/// <summary>An enabled GitOps section needs a repository as <c>owner/name</c> and a GitHub token; checked at start.</summary>
public sealed class GitOpsOptionsValidator(IConfiguration configuration) : IValidateOptions<GitOpsOptions>
{
    public ValidateOptionsResult Validate(string? name, GitOpsOptions options)
    {
        var failures = new List<string>();
        if (options.DriftCheckInterval < TimeSpan.Zero)
            failures.Add("DrWorkflows:GitOps:DriftCheckInterval must not be negative (zero turns the background check off).");
        if (options.MergePollInterval < TimeSpan.Zero)
            failures.Add("DrWorkflows:GitOps:MergePollInterval must not be negative (zero turns polling off).");
        if (!options.Enabled)
            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        if (options.Repository?.Split('/') is not [{ Length: > 0 }, { Length: > 0 }])
            failures.Add($"DrWorkflows:GitOps:Repository must be owner/name (e.g. shop/dr-workflows), not '{options.Repository}'.");
        if (string.IsNullOrWhiteSpace(options.Branch))
            failures.Add("DrWorkflows:GitOps:Branch must not be empty (default main).");
        if (string.IsNullOrWhiteSpace(options.Folder) || options.Folder.Contains("..", StringComparison.Ordinal))
            failures.Add("DrWorkflows:GitOps:Folder must be a folder of the repository, e.g. workflows.");
        if (string.IsNullOrWhiteSpace(configuration["GitHub:Token"]))
            failures.Add("DrWorkflows:GitOps:Enabled needs GitHub:Token (environment GitHub__Token) with read access to the repository's contents.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
