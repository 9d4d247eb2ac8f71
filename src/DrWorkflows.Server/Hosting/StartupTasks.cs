using DrWorkflows.Core.Hosting;
using DrWorkflows.Persistence;

namespace DrWorkflows.Server.Hosting;

/// <summary>Prepares the store (schema migrations) and loads the workflows in <c>workflows/</c> before anything runs.</summary>
public sealed class StartupTasks(IStoreInitializer store, WorkflowLoader loader, ServerOptions settings, ILogger<StartupTasks> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        ServerLog.Starting(logger, settings.Store, settings.DataDirectory);
        await store.InitializeAsync(cancellationToken);
        var loaded = await loader.LoadAsync(cancellationToken);
        ServerLog.WorkflowsLoaded(logger, loaded, loader.Errors.Count);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

internal static partial class ServerLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "DrWorkflows starting: store {Store}, data directory {DataDirectory}")]
    public static partial void Starting(ILogger logger, StoreProvider store, string dataDirectory);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Workflows from code and files: {Loaded} new or changed, {Errors} not loaded (see GET /api/workflows/load-errors)")]
    public static partial void WorkflowsLoaded(ILogger logger, int loaded, int errors);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "No DRW_API_KEY set: generated an admin API key in {Path} (readable by this user only)")]
    public static partial void GeneratedApiKey(ILogger logger, string path);

    [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "Request {Method} {Path} failed unexpectedly (correlation id {CorrelationId})")]
    public static partial void Unexpected(ILogger logger, string method, string path, string correlationId, Exception exception);

    [LoggerMessage(EventId = 5, Level = LogLevel.Error, Message = "Request {Method} {Path} answered {Status} (correlation id {CorrelationId}): {Reason}")]
    public static partial void Outage(ILogger logger, string method, string path, int status, string correlationId, string reason);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Refused {Method} {Path} with {Status}: {Reason}")]
    public static partial void RequestRefused(ILogger logger, string method, string path, int status, string reason);
}
