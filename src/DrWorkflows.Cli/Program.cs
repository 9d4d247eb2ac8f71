namespace DrWorkflows.Cli;

/// <summary>Entry point of <c>drw</c>.</summary>
internal static class DrwEntryPoint
{
    public static async Task<int> Main(string[] args)
    {
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        return await CliApp.RunAsync(args, Console.Out, Console.Error, cancellationToken: cancel.Token);
    }
}
