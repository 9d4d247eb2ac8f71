namespace DrWorkflows.Core; internal static class Placeholder;
