namespace DrWorkflows.Activities; internal static class Placeholder;
