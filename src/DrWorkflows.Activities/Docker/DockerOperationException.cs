using DrWorkflows.Core;

namespace DrWorkflows.Activities.Docker;

/// <summary>A Docker operation failed; the message names the engine, the object and what to do next.</summary>
public sealed class DockerOperationException : ActivityFailureException
{
    public const string EngineUnreachable = "docker.engine-unreachable";
    public const string ContainerNotFound = "docker.container-not-found";
    public const string ImageNotFound = "docker.image-not-found";
    public const string VolumeNotFound = "docker.volume-not-found";
    public const string VolumeInUse = "docker.volume-in-use";
    public const string VolumeNotEmpty = "docker.volume-not-empty";
    public const string ComposeNotFound = "docker.compose-not-found";
    public const string ComposeFailed = "docker.compose-failed";
    public const string ApiError = "docker.api-error";

    public DockerOperationException(string message, string code, bool retryable = false, Exception? innerException = null)
        : base(message, retryable, innerException)
    {
        Code = code;
    }
}
