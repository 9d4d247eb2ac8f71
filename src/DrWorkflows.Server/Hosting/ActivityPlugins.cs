using System.Reflection;
using System.Runtime.Loader;
using DrWorkflows.Core.Abstractions;

namespace DrWorkflows.Server.Hosting;

/// <summary>
/// Extra activity assemblies loaded at start, so activities can be added without rebuilding the server:
/// <c>DrWorkflows:ActivityAssemblies</c> (an array of paths) or <c>DRW_ACTIVITY_ASSEMBLIES</c> (paths separated by
/// <c>:</c>). Each assembly gets its own <see cref="AssemblyLoadContext"/>: its private dependencies come from its
/// folder (its <c>.deps.json</c> when present), while the assemblies the server already has (DrWorkflows.Core,
/// Microsoft.Extensions.*) are shared, so its activities derive from the server's own <c>Activity</c> type.
/// </summary>
public static class ActivityPlugins
{
    /// <summary>Configuration key of the list of paths.</summary>
    public const string SettingKey = "DrWorkflows:ActivityAssemblies";

    /// <summary>Environment variable with the paths, separated by <see cref="Path.PathSeparator"/> (<c>:</c> on Linux).</summary>
    public const string EnvironmentKey = "DRW_ACTIVITY_ASSEMBLIES";

    /// <summary>Loads every configured activity assembly and registers its activities; throws <see cref="ServerConfigurationException"/> naming the path when one cannot be used.</summary>
    public static IServiceCollection AddActivityPlugins(this IServiceCollection services, IConfiguration configuration)
    {
        foreach (var path in ConfiguredPaths(configuration))
            services.AddActivities(Load(path));
        return services;
    }

    /// <summary>The configured paths, in order: the setting's array first, then the environment variable's list.</summary>
    public static IReadOnlyList<string> ConfiguredPaths(IConfiguration configuration)
    {
        var paths = configuration.GetSection(SettingKey).Get<string[]>()?.ToList() ?? [];
        if (paths.Count == 0 && configuration[SettingKey] is { Length: > 0 } single)
            paths.Add(single);
        if (configuration[EnvironmentKey] is { Length: > 0 } list)
            paths.AddRange(list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return [.. paths.Where(p => !string.IsNullOrWhiteSpace(p)).Select(p => p.Trim()).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Loads one activity assembly into its own load context and checks that it declares activities.</summary>
    public static Assembly Load(string path)
    {
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
            throw Error(path, fullPath, "the file does not exist (check the path; it must be the .dll of a .NET class library)");
        Assembly assembly;
        try
        {
            assembly = new PluginLoadContext(fullPath).LoadFromAssemblyPath(fullPath);
        }
        catch (BadImageFormatException e)
        {
            throw Error(path, fullPath, $"it is not a .NET assembly ({e.Message})");
        }
        catch (FileLoadException e)
        {
            throw Error(path, fullPath, $"it could not be loaded ({e.Message})");
        }

        Type[] types;
        try
        {
            types = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            var missing = string.Join("; ", e.LoaderExceptions.OfType<Exception>().Select(x => x.Message).Distinct(StringComparer.Ordinal).Take(3));
            throw Error(path, fullPath, $"some of its types need assemblies that are neither in the server nor next to it ({missing}). Publish the library with its dependencies (dotnet publish) and point at the published .dll");
        }

        if (!types.Any(t => t is { IsAbstract: false, IsClass: true } && typeof(Activity).IsAssignableFrom(t) && t.GetCustomAttribute<ActivityAttribute>() is not null))
        {
            var referencesCore = assembly.GetReferencedAssemblies().Any(a => a.Name == typeof(Activity).Assembly.GetName().Name);
            throw Error(path, fullPath, referencesCore
                ? "it declares no activity: no public non-abstract class derived from DrWorkflows.Core.Abstractions.Activity with an [Activity] attribute"
                : "it does not reference DrWorkflows.Core, so it cannot declare activities");
        }

        return assembly;
    }

    /// <summary>Stops the start with one line for the operator (Program prints it without a stack trace).</summary>
    private static ServerConfigurationException Error(string configured, string fullPath, string reason) =>
        new($"Activity assembly '{configured}'{(configured == fullPath ? string.Empty : $" ({fullPath})")} from {SettingKey} / {EnvironmentKey} cannot be used: {reason}.");

    /// <summary>One plugin's load context: shares what the server has, resolves the rest from the plugin's folder.</summary>
    private sealed class PluginLoadContext(string mainAssemblyPath) : AssemblyLoadContext($"activities:{Path.GetFileName(mainAssemblyPath)}")
    {
        private readonly AssemblyDependencyResolver resolver = new(mainAssemblyPath);

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            // The server's own copy wins, so Activity, Input<T> and the DI abstractions are the same types on both sides.
            try
            {
                return Default.LoadFromAssemblyName(assemblyName);
            }
            catch (FileNotFoundException)
            {
                return resolver.ResolveAssemblyToPath(assemblyName) is { } path ? LoadFromAssemblyPath(path) : null;
            }
        }

        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName) =>
            resolver.ResolveUnmanagedDllToPath(unmanagedDllName) is { } path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
    }
}
