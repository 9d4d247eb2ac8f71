using DrWorkflows.Testing.Behaviour;

namespace DrWorkflows.Persistence.Tests.Behaviour;

// The runtime behaviour suites (tests/DrWorkflows.Testing/Behaviour) on a SQLite database file per test.

public sealed class SqliteFlowchartTests : FlowchartBehaviourTests
{
    protected override BehaviourStore CreateStore() => new SqliteBehaviourStore();
}

public sealed class SqliteControlFlowTests : ControlFlowBehaviourTests
{
    protected override BehaviourStore CreateStore() => new SqliteBehaviourStore();
}

public sealed class SqlitePrimitiveTests : PrimitiveBehaviourTests
{
    protected override BehaviourStore CreateStore() => new SqliteBehaviourStore();
}

public sealed class SqliteExpressionTests : ExpressionBehaviourTests
{
    protected override BehaviourStore CreateStore() => new SqliteBehaviourStore();
}

public sealed class SqliteTimerTests : TimerBehaviourTests
{
    protected override BehaviourStore CreateStore() => new SqliteBehaviourStore();
}

public sealed class SqliteCompositionTests : CompositionBehaviourTests
{
    protected override BehaviourStore CreateStore() => new SqliteBehaviourStore();
}

public sealed class SqliteRuntimeTests : RuntimeBehaviourTests
{
    protected override BehaviourStore CreateStore() => new SqliteBehaviourStore();
}

public sealed class SqliteDefinitionTests : DefinitionBehaviourTests
{
    protected override BehaviourStore CreateStore() => new SqliteBehaviourStore();
}

public sealed class SqliteInterruptedAttemptTests : InterruptedAttemptBehaviourTests
{
    protected override BehaviourStore CreateStore() => new SqliteBehaviourStore();
}

public sealed class SqliteOneRunPerPlatformTests : OneRunPerPlatformBehaviourTests
{
    protected override BehaviourStore CreateStore() => new SqliteBehaviourStore();
}

public sealed class SqliteIncidentStrategyTests : IncidentStrategyBehaviourTests
{
    protected override BehaviourStore CreateStore() => new SqliteBehaviourStore();
}

public sealed class SqliteLogPersistenceTests : LogPersistenceBehaviourTests
{
    protected override BehaviourStore CreateStore() => new SqliteBehaviourStore();
}
