using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace DrWorkflows.Server.Security;

/// <summary>
/// Sign-in for the Studio pages: a person signs in with their API key; the server checks it like any API call
/// and sets an encrypted, HttpOnly, SameSite=Strict cookie (Secure on https) scoped to <c>/studio</c>. The key
/// travels inside the cookie's protected ticket (ASP.NET Core Data Protection, keys in the data directory), so
/// that the pages rendered for that person can hand it to the Studio elements, which send it as
/// <c>Authorization: ApiKey</c>. The key is re-checked on every page: a key removed from configuration ends
/// the session.
/// </summary>
public static class SignInSetup
{
    public const string Scheme = "DrwStudio";

    /// <summary>Policy of the Studio pages: signed in through the cookie.</summary>
    public const string Policy = "drw-studio";

    public const string CookieName = "drw.studio";

    /// <summary>Claim holding the signed-in person's API key (only inside the encrypted cookie ticket).</summary>
    public const string KeyClaim = "drw:api-key";

    public static IServiceCollection AddStudioSignIn(this IServiceCollection services)
    {
        services.AddAuthentication()
            .AddCookie(Scheme, o =>
            {
                o.Cookie.Name = CookieName;
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.Cookie.Path = "/studio";
                o.LoginPath = "/studio/signin";
                o.LogoutPath = "/studio/signout";
                o.AccessDeniedPath = "/studio/signin";
                o.ReturnUrlParameter = "returnUrl";
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                o.SlidingExpiration = true;
                o.Events.OnValidatePrincipal = ValidateAsync;
            });
        services.AddAuthorizationBuilder().AddPolicy(Policy, p => p.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser());
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "drw.studio.antiforgery";
            o.Cookie.Path = "/studio";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.FormFieldName = "__antiforgery";
        });
        return services;
    }

    /// <summary>The principal of a person signed in with <paramref name="key"/> (found as <paramref name="entry"/>).</summary>
    public static ClaimsPrincipal Principal(ApiKeyEntry entry, string key)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, entry.Name), new("drw:channel", "studio"), new(KeyClaim, key) };
        claims.AddRange(entry.Roles.Select(r => new Claim(ClaimTypes.Role, r)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme));
    }

    /// <summary>The API key of the signed-in person (null when not signed in through the Studio cookie).</summary>
    public static string? Key(ClaimsPrincipal user) => user.FindFirst(KeyClaim)?.Value;

    private static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var key = context.Principal is { } principal ? Key(principal) : null;
        var keys = context.HttpContext.RequestServices.GetRequiredService<IApiKeyStore>();
        if (key is null || await keys.FindAsync(key, context.HttpContext.RequestAborted) is null)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(Scheme);
        }
    }
}
