using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Backups;

/// <summary>Encryption methods of backup data.</summary>
public enum EncryptionMethod
{
    /// <summary>Not encrypted (only for stores that are themselves protected).</summary>
    None,

    /// <summary>OpenPGP via the <c>gpg</c> tool with a public key file (<c>--recipient-file</c>; no keyring needed).</summary>
    Gpg,

    /// <summary>The <c>age</c> tool with X25519 recipients.</summary>
    Age,
}

/// <summary>
/// Encryption of backup data (configuration section <c>Backups:Encryption</c>). The backup host needs only the
/// public side (<see cref="GpgRecipientFile"/> or <see cref="AgeRecipients"/>); the private side
/// (<see cref="GpgPrivateKeyFile"/> + <see cref="GpgPassphraseFile"/>, or <see cref="AgeIdentityFile"/>) is only
/// needed where restores run, and should live in a secret store mounted as files.
/// </summary>
public sealed class EncryptionOptions
{
    public EncryptionMethod Method { get; set; } = EncryptionMethod.None;

    /// <summary>Refuse to run without encryption (the plan: "GPG encrypted before S3 upload").</summary>
    public bool Required { get; set; }

    /// <summary>ASCII-armored or binary OpenPGP public key file (<c>gpg --armor --export KEY &gt; pub.asc</c>).</summary>
    public string? GpgRecipientFile { get; set; }

    /// <summary>OpenPGP secret key file (<c>gpg --armor --export-secret-keys</c>) used by restores.</summary>
    public string? GpgPrivateKeyFile { get; set; }

    /// <summary>File holding the passphrase of <see cref="GpgPrivateKeyFile"/> (first line), if it has one.</summary>
    public string? GpgPassphraseFile { get; set; }

    /// <summary>age recipients (<c>age1...</c> public keys).</summary>
    public List<string> AgeRecipients { get; set; } = [];

    /// <summary>File with age recipients, one per line (alternative to <see cref="AgeRecipients"/>).</summary>
    public string? AgeRecipientsFile { get; set; }

    /// <summary>age identity file (<c>age-keygen -o key.txt</c>) used by restores. Passphrase-protected identities are not supported (they need a terminal).</summary>
    public string? AgeIdentityFile { get; set; }

    public string GpgPath { get; set; } = "gpg";

    public string GpgConfPath { get; set; } = "gpgconf";

    public string AgePath { get; set; } = "age";

    public string AgeKeygenPath { get; set; } = "age-keygen";
}

internal sealed class EncryptionOptionsValidator : IValidateOptions<EncryptionOptions>
{
    public ValidateOptionsResult Validate(string? name, EncryptionOptions options)
    {
        var errors = new List<string>();
        switch (options.Method)
        {
            case EncryptionMethod.None when options.Required:
                errors.Add("Backups:Encryption:Required is true but Method is None; set Method to Gpg or Age with a recipient.");
                break;
            case EncryptionMethod.Gpg:
                if (string.IsNullOrWhiteSpace(options.GpgRecipientFile))
                    errors.Add("Backups:Encryption:Method is Gpg but GpgRecipientFile is empty; export the public key (gpg --armor --export KEY > pub.asc) and set its path.");
                else if (!File.Exists(options.GpgRecipientFile))
                    errors.Add($"Backups:Encryption:GpgRecipientFile '{options.GpgRecipientFile}' does not exist.");
                break;
            case EncryptionMethod.Age:
                if (options.AgeRecipients.Count == 0 && string.IsNullOrWhiteSpace(options.AgeRecipientsFile))
                    errors.Add("Backups:Encryption:Method is Age but neither AgeRecipients nor AgeRecipientsFile is set.");
                if (options.AgeRecipients.Any(r => !r.StartsWith("age1", StringComparison.Ordinal)))
                    errors.Add("Backups:Encryption:AgeRecipients must be age public keys starting with 'age1'.");
                if (!string.IsNullOrWhiteSpace(options.AgeRecipientsFile) && !File.Exists(options.AgeRecipientsFile))
                    errors.Add($"Backups:Encryption:AgeRecipientsFile '{options.AgeRecipientsFile}' does not exist.");
                break;
            case EncryptionMethod.None:
                break;
            default:
                errors.Add($"Backups:Encryption:Method '{options.Method}' is unknown; use None, Gpg or Age.");
                break;
        }

        foreach (var (option, path) in new[] { ("GpgPrivateKeyFile", options.GpgPrivateKeyFile), ("GpgPassphraseFile", options.GpgPassphraseFile), ("AgeIdentityFile", options.AgeIdentityFile) })
        {
            if (!string.IsNullOrWhiteSpace(path) && !File.Exists(path))
                errors.Add($"Backups:Encryption:{option} '{path}' does not exist.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
