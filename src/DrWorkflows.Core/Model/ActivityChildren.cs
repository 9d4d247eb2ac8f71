using System.Collections.Concurrent;
using System.Reflection;
using DrWorkflows.Core.Abstractions;

namespace DrWorkflows.Core.Model;

/// <summary>Finds the child activities of an activity: its port properties and custom children.</summary>
internal static class ActivityChildren
{
    private static readonly ConcurrentDictionary<Type, PropertyInfo[]> PortProperties = new();

    public static IEnumerable<Activity> Of(Activity activity)
    {
        var properties = PortProperties.GetOrAdd(activity.GetType(), type => [.. type
            .GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.DeclaringType != typeof(Activity) && (typeof(Activity).IsAssignableFrom(p.PropertyType) || typeof(IEnumerable<Activity>).IsAssignableFrom(p.PropertyType)))]);
        foreach (var property in properties)
        {
            switch (property.GetValue(activity))
            {
                case Activity child:
                    yield return child;
                    break;
                case IEnumerable<Activity> children:
                    foreach (var child in children)
                        yield return child;
                    break;
            }
        }

        if (activity is ICustomActivityJson custom)
        {
            foreach (var child in custom.GetCustomChildren())
                yield return child;
        }
    }
}
