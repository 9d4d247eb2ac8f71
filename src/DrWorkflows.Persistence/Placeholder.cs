namespace DrWorkflows.Persistence; internal static class Placeholder;
