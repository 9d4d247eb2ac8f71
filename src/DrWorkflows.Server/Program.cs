using DrWorkflows.Persistence;
using DrWorkflows.Server.Hosting;
using Microsoft.Extensions.Options;

try
{
    var builder = WebApplication.CreateBuilder(args);
    builder.AddDrWorkflowsServer();

    var app = builder.Build();
    app.MapDrWorkflowsServer();
    await app.RunAsync();
    return 0;
}
catch (Exception e) when (StartupFailure.Describe(e) is { } message)
{
    // A configuration or store problem at start: one clear message for the operator, no stack trace.
    await Console.Error.WriteLineAsync($"DrWorkflows cannot start: {message}");
    return StartupFailure.ExitCode(e);
}

/// <summary>Entry point, visible to the functional tests.</summary>
public partial class Program;

/// <summary>Turns the failures an operator can fix (settings, store) into one message.</summary>
internal static class StartupFailure
{
    public static string? Describe(Exception e) => e switch
    {
        StoreUnavailableException store => store.Message,
        OptionsValidationException options => string.Join(" ", options.Failures),
        ServerConfigurationException config => config.Message,
        AggregateException aggregate when aggregate.InnerExceptions.Count == 1 => Describe(aggregate.InnerException!),
        _ => null,
    };

    /// <summary>
    /// 78 (EX_CONFIG) when a setting is missing or invalid: restarting cannot help, and the container's entry point
    /// stays up unhealthy instead of looping (deploy/orchestrator/entrypoint.sh). 1 when the store is unreachable,
    /// which a restart may get past.
    /// </summary>
    public static int ExitCode(Exception e) => e switch
    {
        StoreUnavailableException => 1,
        AggregateException aggregate when aggregate.InnerExceptions.Count == 1 => ExitCode(aggregate.InnerException!),
        _ => 78,
    };
}
