using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace DrWorkflows.Server.Security;

/// <summary>An API key as configured: a name, the SHA-256 of the key (never the key), and roles.</summary>
public sealed record ApiKeyEntry(string Name, string Sha256, IReadOnlyList<string> Roles);

/// <summary>Known API keys. Keys are compared by hash in constant time.</summary>
public interface IApiKeyStore
{
    ValueTask<ApiKeyEntry?> FindAsync(string presentedKey, CancellationToken cancellationToken);
}

/// <summary>Keys from configuration (<c>DrWorkflows:Auth:Keys</c>) plus the bootstrap admin key.</summary>
public sealed class ConfiguredApiKeyStore(IReadOnlyList<ApiKeyEntry> entries) : IApiKeyStore
{
    public ValueTask<ApiKeyEntry?> FindAsync(string presentedKey, CancellationToken cancellationToken)
    {
        var hash = Hash(presentedKey);
        ApiKeyEntry? match = null;
        foreach (var entry in entries)
        {
            if (CryptographicOperations.FixedTimeEquals(Convert.FromHexString(entry.Sha256), hash))
                match = entry;
        }

        return ValueTask.FromResult(match);
    }

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public static string HashHex(string key) => Convert.ToHexStringLower(Hash(key));
}

/// <summary>Authenticates <c>Authorization: ApiKey &lt;key&gt;</c>.</summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IApiKeyStore keys,
    KeyAttemptLimiter attempts) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? presented = null;
        if (Request.Headers.Authorization.ToString() is { Length: > 0 } header)
        {
            if (!header.StartsWith(SchemeName + " ", StringComparison.OrdinalIgnoreCase))
                return AuthenticateResult.NoResult();
            presented = header[(SchemeName.Length + 1)..].Trim();
        }

        if (string.IsNullOrEmpty(presented))
            return AuthenticateResult.NoResult();
        if (attempts.IsBlocked(Context))
            return AuthenticateResult.Fail("Too many API keys that were not valid came from this address.");
        var entry = await keys.FindAsync(presented, Context.RequestAborted);
        if (entry is null)
        {
            attempts.RecordFailure(Context);
            return AuthenticateResult.Fail("The API key is not valid.");
        }

        var claims = new List<Claim> { new(ClaimTypes.Name, entry.Name), new("drw:channel", "api") };
        claims.AddRange(entry.Roles.Select(r => new Claim(ClaimTypes.Role, r)));
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (KeyAttemptLimiter.IsThrottled(Context))
        {
            await KeyAttemptLimiter.WriteTooManyAsync(Context, "API key");
            return;
        }

        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = SchemeName;
        await Response.WriteAsJsonAsync(new { status = 401, title = "Unauthorized", detail = "Send 'Authorization: ApiKey <key>'. The server's admin key is DRW_API_KEY, or the file api-key in its data directory." });
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await Response.WriteAsJsonAsync(new { status = 403, title = "Forbidden", detail = "This API key does not have the role this action needs." });
    }
}
