using DrWorkflows.Core;

namespace DrWorkflows.Activities.Hosts;

/// <summary>A host operation failed; the message names the host, the command and what to do next.</summary>
public sealed class HostOperationException : ActivityFailureException
{
    public const string Unreachable = "host.unreachable";
    public const string CommandFailed = "host.command-failed";
    public const string NoSystemd = "host.no-systemd";
    public const string ToolMissing = "host.tool-missing";
    public const string NoDockerUserChain = "host.no-docker-user-chain";
    public const string EngineNotBack = "host.engine-not-back";
    public const string IsolationNotEffective = "host.isolation-not-effective";
    public const string IsolationUnverified = "host.isolation-unverified";
    public const string IsolationNotLifted = "host.isolation-not-lifted";

    public HostOperationException(string message, string code, bool retryable = false, Exception? innerException = null)
        : base(message, retryable, innerException)
    {
        Code = code;
    }
}
