using DrWorkflows.Testing.Behaviour;

namespace DrWorkflows.Persistence.Tests.Behaviour;

// The runtime behaviour suites (tests/DrWorkflows.Testing/Behaviour) on a fresh PostgreSQL database per test (DRW_TEST_POSTGRES; skipped without it).

public sealed class PostgresFlowchartTests : FlowchartBehaviourTests
{
    protected override BehaviourStore CreateStore() => new PostgresBehaviourStore();
}

public sealed class PostgresControlFlowTests : ControlFlowBehaviourTests
{
    protected override BehaviourStore CreateStore() => new PostgresBehaviourStore();
}

public sealed class PostgresPrimitiveTests : PrimitiveBehaviourTests
{
    protected override BehaviourStore CreateStore() => new PostgresBehaviourStore();
}

public sealed class PostgresExpressionTests : ExpressionBehaviourTests
{
    protected override BehaviourStore CreateStore() => new PostgresBehaviourStore();
}

public sealed class PostgresTimerTests : TimerBehaviourTests
{
    protected override BehaviourStore CreateStore() => new PostgresBehaviourStore();
}

public sealed class PostgresCompositionTests : CompositionBehaviourTests
{
    protected override BehaviourStore CreateStore() => new PostgresBehaviourStore();
}

public sealed class PostgresRuntimeTests : RuntimeBehaviourTests
{
    protected override BehaviourStore CreateStore() => new PostgresBehaviourStore();
}

public sealed class PostgresDefinitionTests : DefinitionBehaviourTests
{
    protected override BehaviourStore CreateStore() => new PostgresBehaviourStore();
}

public sealed class PostgresInterruptedAttemptTests : InterruptedAttemptBehaviourTests
{
    protected override BehaviourStore CreateStore() => new PostgresBehaviourStore();
}

public sealed class PostgresOneRunPerPlatformTests : OneRunPerPlatformBehaviourTests
{
    protected override BehaviourStore CreateStore() => new PostgresBehaviourStore();
}
