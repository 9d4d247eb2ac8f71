using System.Collections.Concurrent;

namespace DrWorkflows.Workflows.Tests.Fakes;

/// <summary>Every call the fakes received, in order, as <c>area.operation argument</c> lines, shared by all fakes of a host.</summary>
public sealed class CallLog
{
    private readonly ConcurrentQueue<string> calls = new();

    public IReadOnlyList<string> Calls => [.. calls];

    public void Add(string call) => calls.Enqueue(call);

    /// <summary>Calls starting with <paramref name="prefix"/>, in order.</summary>
    public IReadOnlyList<string> Of(string prefix) => [.. calls.Where(c => c.StartsWith(prefix, StringComparison.Ordinal))];

    public bool Contains(string call) => calls.Contains(call);

    /// <summary>Position of the first call starting with <paramref name="prefix"/>; -1 when there is none.</summary>
    public int IndexOf(string prefix)
    {
        var list = Calls;
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i].StartsWith(prefix, StringComparison.Ordinal))
                return i;
        }

        return -1;
    }

    /// <summary>Asserts that calls starting with each prefix happened in this order.</summary>
    public void AssertOrder(params string[] prefixes)
    {
        var last = -1;
        var list = Calls;
        foreach (var prefix in prefixes)
        {
            var found = -1;
            for (var i = last + 1; i < list.Count; i++)
            {
                if (list[i].StartsWith(prefix, StringComparison.Ordinal))
                {
                    found = i;
                    break;
                }
            }

            Assert.True(found >= 0, $"Expected a call '{prefix}…' after position {last}; calls were:\n{string.Join('\n', list)}");
            last = found;
        }
    }
}
