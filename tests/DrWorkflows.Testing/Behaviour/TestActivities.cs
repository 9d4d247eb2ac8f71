using System.Text.Json.Nodes;
using DrWorkflows.Core;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;

namespace DrWorkflows.Testing.Behaviour;

/// <summary>
/// Logs in somewhere with a secret password: the password must never appear in the journal, in incidents or in
/// the run's state. It records the connection it used (with the password in it) as journal data, and when
/// <see cref="FailWith"/> is set it fails with a message that quotes the password.
/// </summary>
[Activity("Tests", "Tests", "Uses a secret password.", SafeToRerun = true)]
public sealed class SecretLogin : CodeActivity<string>
{
    [Input(Description = "The user name.")]
    public Input<string> User { get; set; } = new(string.Empty);

    [Input(Description = "The password.", IsSecret = true)]
    public Input<string> Password { get; set; } = new(string.Empty);

    [Input(Description = "When set, the login fails with this message followed by the password.")]
    public Input<string> FailWith { get; set; } = new(string.Empty);

    protected override ValueTask<string> RunAsync(ActivityExecutionContext context)
    {
        var user = context.Get(User);
        var password = context.Get(Password);
        context.AddJournalData("connection", $"postgres://{user}:{password}@db:5432/app");
        var failure = context.Get(FailWith);
        if (!string.IsNullOrEmpty(failure))
            throw new ActivityFailureException($"{failure} (user {user}, password {password})");
        return ValueTask.FromResult($"logged in as {user}");
    }
}

/// <summary>Fails on its first <see cref="Failures"/> attempts, then succeeds (for incident retries).</summary>
[Activity("Tests", "Tests", "Fails on the first attempts, then succeeds.", SafeToRerun = true)]
public sealed class Flaky : CodeActivity<int>
{
    [Input(Description = "How many attempts fail.")]
    public Input<int> Failures { get; set; } = new(1);

    protected override ValueTask<int> RunAsync(ActivityExecutionContext context)
    {
        if (context.Attempt <= context.Get(Failures))
            throw new ActivityFailureException($"attempt {context.Attempt} failed on purpose");
        return ValueTask.FromResult(context.Attempt);
    }
}

/// <summary>Waits on a bookmark named <c>Tests.Signal</c> until it is resumed; the payload becomes its result.</summary>
[Activity("Tests", "Tests", "Waits for a signal.", SafeToRerun = true, IsBlocking = true)]
public sealed class WaitForSignal : Activity
{
    public const string BookmarkName = "Tests.Signal";

    [Input(Description = "The bookmark key.")]
    public Input<string> Signal { get; set; } = new("go");

    [Output(Description = "The payload the bookmark was resumed with.")]
    public Output<JsonNode?> Result { get; set; } = new();

    public override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        context.CreateBookmark(BookmarkName, key: context.Get(Signal));
        return ValueTask.CompletedTask;
    }

    public override ValueTask ResumeAsync(ActivityExecutionContext context, BookmarkResumption resumption)
    {
        context.Set(Result, resumption.Payload);
        return context.CompleteAsync();
    }
}

/// <summary>
/// Waits on a <c>Tests.Signal</c> bookmark; when resumed (maybe by another process after a restart), its result is the
/// flowchart connection that scheduled it (<see cref="ActivityExecutionContext.ScheduledBy"/>) as its execution knows it then.
/// </summary>
[Activity("Tests", "Tests", "Waits for a signal, then tells which connection scheduled it.", SafeToRerun = true, IsBlocking = true)]
public sealed class WhoScheduledMe : Activity
{
    [Output(Description = "{activityId, port, executionId} of the connection that scheduled it, or null.")]
    public Output<JsonNode?> Result { get; set; } = new();

    public override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        context.CreateBookmark(WaitForSignal.BookmarkName, key: "who");
        return ValueTask.CompletedTask;
    }

    public override ValueTask ResumeAsync(ActivityExecutionContext context, BookmarkResumption resumption)
    {
        context.Set(Result, context.ScheduledBy?.ToJson());
        return context.CompleteAsync();
    }
}

/// <summary>Produces two outputs: <c>Result</c> (42) and <c>Message</c> (for getOutputFrom with an output name).</summary>
[Activity("Tests", "Tests", "Produces a result and a named output.", SafeToRerun = true)]
public sealed class TwoOutputs : CodeActivity
{
    [Output(Description = "The answer.")]
    public Output<int> Result { get; set; } = new();

    [Output(Description = "A message.")]
    public Output<string> Message { get; set; } = new();

    protected override ValueTask RunAsync(ActivityExecutionContext context)
    {
        context.Set(Result, 42);
        context.Set(Message, "forty-two");
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// Stands in for a step cut short by a crash: on its first <see cref="HangAttempts"/> attempts it waits until its
/// run's execution is cancelled (the test then starts the orchestrator again); later attempts complete at once with
/// the attempt number. Safe to re-run.
/// </summary>
[Activity("Tests", "Tests", "Hangs on its first attempts (a step cut short by a crash).", SafeToRerun = true)]
public sealed class Hang : CodeActivity<int>
{
    [Input(Description = "How many attempts hang.")]
    public Input<int> HangAttempts { get; set; } = new(1);

    protected override async ValueTask<int> RunAsync(ActivityExecutionContext context)
    {
        if (context.Attempt <= context.Get(HangAttempts))
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        return context.Attempt;
    }
}

/// <summary>The same as <see cref="Hang"/>, declared not safe to re-run.</summary>
[Activity("Tests", "Tests", "Hangs on its first attempt; not safe to re-run.")]
public sealed class HangUnsafe : CodeActivity<int>
{
    protected override async ValueTask<int> RunAsync(ActivityExecutionContext context)
    {
        if (context.Attempt == 1)
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        return context.Attempt;
    }
}

/// <summary>Returns the ambient activity attempt as services see it: <c>run|step|activity|attempt</c>.</summary>
[Activity("Tests", "Tests", "Returns the current activity attempt as services see it.", SafeToRerun = true)]
public sealed class WhoOwnsMe : CodeActivity<string>
{
    protected override async ValueTask<string> RunAsync(ActivityExecutionContext context)
    {
        await Task.Yield(); // as a service deep in an await chain would see it
        var attempt = ActivityAttempt.Current ?? throw new InvalidOperationException("No activity attempt in this flow.");
        return $"{attempt.InstanceId}|{attempt.ExecutionId}|{attempt.ActivityId}|{attempt.ActivityType}|{attempt.Attempt}";
    }
}

/// <summary>
/// Runs until the test releases it (in process, without a bookmark: the run's lock is held all along, like a long
/// restore). <see cref="Entered"/> says it started; <see cref="Release"/> lets it complete.
/// </summary>
[Activity("Tests", "Tests", "Holds the run in a step until released.", SafeToRerun = true)]
public sealed class Hold : CodeActivity
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, (TaskCompletionSource Entered, TaskCompletionSource Released)> Holds = new(StringComparer.Ordinal);

    [Input(Description = "Name of the hold (one per test).")]
    public Input<string> HoldName { get; set; } = new("hold");

    /// <summary>Completes when a step holding <paramref name="name"/> has started.</summary>
    public static Task Entered(string name) => For(name).Entered.Task;

    public static void Release(string name) => For(name).Released.TrySetResult();

    protected override async ValueTask RunAsync(ActivityExecutionContext context)
    {
        var hold = For(context.Get(HoldName) ?? "hold");
        hold.Entered.TrySetResult();
        await hold.Released.Task.WaitAsync(context.CancellationToken);
    }

    private static (TaskCompletionSource Entered, TaskCompletionSource Released) For(string name) =>
        Holds.GetOrAdd(name, _ => (new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)));
}

/// <summary>The behaviour tests' platforms: a run's input <c>Platform</c>, or <c>default</c>.</summary>
public sealed class InputPlatformResolver : DrWorkflows.Core.Runtime.IPlatformResolver
{
    public string Resolve(IReadOnlyDictionary<string, JsonNode?> input) =>
        input.GetValueOrDefault("Platform") is JsonValue value && value.TryGetValue<string>(out var platform) ? platform : "default";
}
