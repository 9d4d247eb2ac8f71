namespace DrWorkflows.Activities;

/// <summary>Marks this assembly: every activity class in it is registered with the runtime.</summary>
public static class ActivitiesAssembly;
