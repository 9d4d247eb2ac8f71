using DrWorkflows.Core.Execution;
using DrWorkflows.Core.Expressions;
using DrWorkflows.Core.Hosting;
using DrWorkflows.Core.Model;
using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the DrWorkflows runtime.</summary>
public static class RuntimeServiceCollectionExtensions
{
    /// <summary>
    /// Adds the runtime (registry with the standard Elsa activities, expressions, executor, definitions,
    /// runtime, background service). A store must be added too (SQLite, PostgreSQL or in-memory).
    /// </summary>
    public static IServiceCollection AddDrWorkflowsRuntime(this IServiceCollection services, Action<ActivityRegistry>? configureActivities = null)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<RuntimeOptions>().BindConfiguration("DrWorkflows:Runtime").ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<WorkflowSourceOptions>().BindConfiguration("DrWorkflows:Workflows");
        services.TryAddSingleton(sp =>
        {
            var registry = new ActivityRegistry().RegisterAssembly(typeof(ActivityRegistry).Assembly);
            foreach (var configure in sp.GetServices<ActivityRegistration>())
                configure.Apply(registry);
            return registry;
        });
        if (configureActivities is not null)
            services.AddSingleton(new ActivityRegistration(configureActivities));
        services.AddOptions<CSharpOptions>().BindConfiguration("DrWorkflows:CSharp").ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<CSharpHandler>();
        services.TryAddSingleton(sp => ExpressionEvaluator.CreateDefault(sp.GetRequiredService<CSharpHandler>()));
        services.TryAddSingleton<WorkflowExecutor>();
        services.TryAddSingleton<WorkflowDefinitionService>();
        services.TryAddSingleton<IPlatformResolver, SinglePlatformResolver>();
        services.TryAddSingleton<WorkflowRuntime>();
        services.TryAddSingleton<WorkflowLoader>();
        services.TryAddSingleton<TriggerScheduler>();
        services.TryAddSingleton<DrWorkflows.Core.Activities.Http.HttpResponses>();
        services.TryAddSingleton<RuntimeBackgroundService>();
        services.AddHostedService(sp => sp.GetRequiredService<RuntimeBackgroundService>());
        return services;
    }

    /// <summary>Registers more activity types (e.g. every activity class of an assembly).</summary>
    public static IServiceCollection AddActivities(this IServiceCollection services, System.Reflection.Assembly assembly) =>
        services.AddSingleton(new ActivityRegistration(registry => registry.RegisterAssembly(assembly)));

    /// <summary>An in-memory store: for tests and throwaway runs only (nothing survives a restart).</summary>
    public static IServiceCollection AddDrWorkflowsInMemoryStore(this IServiceCollection services)
    {
        var store = new InMemoryStore();
        services.AddSingleton<IWorkflowDefinitionStore>(store);
        services.AddSingleton<IWorkflowInstanceStore>(store);
        services.AddSingleton<IScheduleStore>(store);
        services.AddSingleton<IThrowawayResourceStore>(store);
        return services;
    }
}

/// <summary>A deferred change to the activity registry, applied when the registry is built.</summary>
public sealed class ActivityRegistration(Action<ActivityRegistry> apply)
{
    public void Apply(ActivityRegistry registry) => apply(registry);
}
