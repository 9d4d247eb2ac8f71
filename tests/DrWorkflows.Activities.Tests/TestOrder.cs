using DrWorkflows.Testing;

// The long real-parts classes start first (their typical CI durations are on the classes): see LongestFirstCollectionOrderer.
[assembly: TestCollectionOrderer(typeof(LongestFirstCollectionOrderer))]
