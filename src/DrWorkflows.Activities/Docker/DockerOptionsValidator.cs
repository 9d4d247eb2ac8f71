using Microsoft.Extensions.Options;

namespace DrWorkflows.Activities.Docker;

/// <summary>Checks <see cref="DockerOptions"/> at start so that a wrong endpoint or a missing certificate is reported early.</summary>
internal sealed class DockerOptionsValidator : IValidateOptions<DockerOptions>
{
    public ValidateOptionsResult Validate(string? name, DockerOptions options)
    {
        var failures = new List<string>();
        if (!Uri.TryCreate(options.Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("unix" or "tcp" or "http" or "https" or "npipe"))
        {
            failures.Add($"Docker:Endpoint '{options.Endpoint}' is not an engine address: use unix:///var/run/docker.sock or tcp://host:2376" +
                         (options.Endpoint.StartsWith("ssh:", StringComparison.OrdinalIgnoreCase)
                             ? " (ssh:// is not supported by Docker.DotNet: forward the remote socket with an SSH tunnel and use the forwarded socket)"
                             : string.Empty));
        }

        if ((options.TlsClientCertificatePath is null) != (options.TlsClientKeyPath is null))
            failures.Add("Docker:TlsClientCertificatePath and Docker:TlsClientKeyPath must be set together.");
        foreach (var (key, path) in new[]
                 {
                     ("TlsCaCertificatePath", options.TlsCaCertificatePath),
                     ("TlsClientCertificatePath", options.TlsClientCertificatePath),
                     ("TlsClientKeyPath", options.TlsClientKeyPath),
                 })
        {
            if (path is not null && !File.Exists(path))
                failures.Add($"Docker:{key} '{path}' does not exist.");
        }

        if (options.UsesTls && uri is not null && uri.Scheme == "unix")
            failures.Add("Docker: TLS certificates are set but the endpoint is a unix socket; use tcp://host:2376 or remove the certificates.");
        if (options.PollInterval <= TimeSpan.Zero)
            failures.Add("Docker:PollInterval must be positive.");
        if (options.RunningStableTime < TimeSpan.Zero)
            failures.Add("Docker:RunningStableTime must not be negative.");
        if (options.RequestTimeout <= TimeSpan.Zero)
            failures.Add("Docker:RequestTimeout must be positive.");
        if (options.ComposeTimeout <= TimeSpan.Zero)
            failures.Add("Docker:ComposeTimeout must be positive.");
        if (string.IsNullOrWhiteSpace(options.HelperImage))
            failures.Add("Docker:HelperImage must name an image present on the engine.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
