using DrWorkflows.Testing.Behaviour;

namespace DrWorkflows.Core.Tests.Behaviour;

// The runtime behaviour suites (tests/DrWorkflows.Testing/Behaviour) on the in-memory store.

public sealed class InMemoryFlowchartTests : FlowchartBehaviourTests
{
    protected override BehaviourStore CreateStore() => new InMemoryBehaviourStore();
}

public sealed class InMemoryControlFlowTests : ControlFlowBehaviourTests
{
    protected override BehaviourStore CreateStore() => new InMemoryBehaviourStore();
}

public sealed class InMemoryPrimitiveTests : PrimitiveBehaviourTests
{
    protected override BehaviourStore CreateStore() => new InMemoryBehaviourStore();
}

public sealed class InMemoryExpressionTests : ExpressionBehaviourTests
{
    protected override BehaviourStore CreateStore() => new InMemoryBehaviourStore();
}

public sealed class InMemoryTimerTests : TimerBehaviourTests
{
    protected override BehaviourStore CreateStore() => new InMemoryBehaviourStore();
}

public sealed class InMemoryCompositionTests : CompositionBehaviourTests
{
    protected override BehaviourStore CreateStore() => new InMemoryBehaviourStore();
}

public sealed class InMemoryRuntimeTests : RuntimeBehaviourTests
{
    protected override BehaviourStore CreateStore() => new InMemoryBehaviourStore();
}

public sealed class InMemoryDefinitionTests : DefinitionBehaviourTests
{
    protected override BehaviourStore CreateStore() => new InMemoryBehaviourStore();
}

public sealed class InMemoryInterruptedAttemptTests : InterruptedAttemptBehaviourTests
{
    protected override BehaviourStore CreateStore() => new InMemoryBehaviourStore();
}

public sealed class InMemoryOneRunPerPlatformTests : OneRunPerPlatformBehaviourTests
{
    protected override BehaviourStore CreateStore() => new InMemoryBehaviourStore();
}

public sealed class InMemoryIncidentStrategyTests : IncidentStrategyBehaviourTests
{
    protected override BehaviourStore CreateStore() => new InMemoryBehaviourStore();
}

public sealed class InMemoryLogPersistenceTests : LogPersistenceBehaviourTests
{
    protected override BehaviourStore CreateStore() => new InMemoryBehaviourStore();
}
