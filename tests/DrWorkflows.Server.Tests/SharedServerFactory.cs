namespace DrWorkflows.Server.Tests;

/// <summary>
/// One in-memory <see cref="ServerFactory"/> for every test of a class (<c>IClassFixture&lt;SharedServerFactory&gt;</c>),
/// for classes whose tests do not depend on each other's data: starting a server costs about 2 s on the CI machine.
/// A class that needs something in it first (a published definition, a waiting run) derives and overrides
/// <see cref="PrepareAsync"/>. A test that needs an empty store, other settings or test doubles still builds its own.
/// </summary>
public class SharedServerFactory : IAsyncLifetime
{
    public ServerFactory Factory { get; } = new();

    /// <summary>A client with the admin key, for the preparation and for the tests.</summary>
    public HttpClient Admin { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Admin = Factory.Client();
        await PrepareAsync(Admin);
    }

    /// <summary>What the class's tests need on the server before the first of them runs; nothing by default.</summary>
    protected virtual Task PrepareAsync(HttpClient admin) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        Admin?.Dispose();
        await Factory.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
