namespace DrWorkflows.Testing; internal static class Placeholder;
