using DrWorkflows.Core.Persistence;

namespace DrWorkflows.Activities.Throwaway;

/// <summary>Which holders (processes) are still alive, seen from this process.</summary>
internal static class ThrowawayProcesses
{
    /// <summary>This process's pid namespace on Linux (<c>pid:[4026531836]</c>), null elsewhere.</summary>
    public static string? PidNamespace { get; } = ReadPidNamespace();

    /// <summary>
    /// Why <paramref name="holder"/> is gone, or null when it may be alive: it is unknown; it is an older process of
    /// this node id (two live processes never share a node id); it ran on this host in this pid namespace and its
    /// process no longer exists; or it has not renewed its entry for longer than <paramref name="timeout"/>.
    /// </summary>
    public static string? WhyGone(ThrowawayHolder? holder, string holderId, ThrowawayHolder me, DateTimeOffset now, TimeSpan timeout)
    {
        if (holder is null)
            return $"its process ({holderId}) is unknown to the store";
        if (holder.Id == me.Id)
            return null;
        var process = $"its process (node {holder.NodeId}, pid {holder.Pid} on {holder.Host})";
        if (holder.NodeId == me.NodeId && holder.StartedAt <= me.StartedAt)
            return $"{process} is gone: node {me.NodeId} started again";
        if (holder.Host == me.Host && holder.PidNamespace is not null && holder.PidNamespace == me.PidNamespace && !Exists(holder.Pid))
            return $"{process} is gone";
        if (now - holder.SeenAt > timeout)
            return $"{process} has not been seen since {holder.SeenAt:yyyy-MM-dd HH:mm:ss} UTC";
        return null;
    }

    private static bool Exists(int pid)
    {
        if (Directory.Exists("/proc/self"))
            return Directory.Exists($"/proc/{pid}");
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static string? ReadPidNamespace()
    {
        try
        {
            return OperatingSystem.IsLinux() ? new FileInfo("/proc/self/ns/pid").LinkTarget : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
