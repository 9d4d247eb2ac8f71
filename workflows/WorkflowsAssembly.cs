namespace DrWorkflows.Workflows;

/// <summary>Marks this assembly: every <see cref="Core.Building.ICodeWorkflow"/> in it is loaded by the server at start.</summary>
public static class WorkflowsAssembly;
