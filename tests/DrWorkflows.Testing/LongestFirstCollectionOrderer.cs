using Xunit.Sdk;
using Xunit.v3;

namespace DrWorkflows.Testing;

/// <summary>
/// How long a test class typically takes in the CI run (all projects at once on 2 cores). Used by
/// <see cref="LongestFirstCollectionOrderer"/> so that the long real-parts classes start first and the short ones fill
/// the end, instead of one long class running alone at the end while the other test thread has nothing to do.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class TypicalDurationAttribute(int seconds) : Attribute
{
    public int Seconds { get; } = seconds;
}

/// <summary>
/// Starts test collections (one per class here) longest first, by their <see cref="TypicalDurationAttribute"/>; the
/// others keep xunit's default order after them. With a fixed number of test threads, longest-first keeps the threads
/// busy until the end of the run.
/// </summary>
public sealed class LongestFirstCollectionOrderer : ITestCollectionOrderer
{
    private const string PerClassPrefix = "Test collection for ";

    public IReadOnlyCollection<TTestCollection> OrderTestCollections<TTestCollection>(IReadOnlyCollection<TTestCollection> testCollections)
        where TTestCollection : ITestCollection =>
        [.. DefaultTestCollectionOrderer.Instance.OrderTestCollections(testCollections).OrderByDescending(c => TypicalSeconds(c))];

    /// <summary>The collection's class's typical duration, or 0 when it declares none (or its class cannot be found).</summary>
    internal static int TypicalSeconds(ITestCollection collection)
    {
        var className = collection.TestCollectionClassName;
        if (className is null && collection.TestCollectionDisplayName.StartsWith(PerClassPrefix, StringComparison.Ordinal))
            className = collection.TestCollectionDisplayName[PerClassPrefix.Length..].Split(' ')[0];
        if (className is null)
            return 0;
        var type = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(className, throwOnError: false)).FirstOrDefault(t => t is not null);
        return type?.GetCustomAttributes(typeof(TypicalDurationAttribute), inherit: false).OfType<TypicalDurationAttribute>().FirstOrDefault()?.Seconds ?? 0;
    }
}
