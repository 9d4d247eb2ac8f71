using DrWorkflows.Core.Persistence;
using DrWorkflows.Core.Runtime;
using DrWorkflows.Server.Apis;
using DrWorkflows.Server.Hosting;
using DrWorkflows.Server.Security;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Primitives;

namespace DrWorkflows.Server.Studio;

/// <summary>
/// The Studio: the prebuilt Elsa Studio bundle served under <c>/studio</c>, our host pages (landing, sign-in,
/// definition list, editor, instance list, instance viewer), and the extra Elsa API routes its elements call
/// (descriptors, activity executions, features; unknown <c>/elsa/api</c> routes answer 404, never 5xx).
/// </summary>
public static partial class StudioSetup
{
    public static WebApplicationBuilder AddDrWorkflowsStudio(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(StudioBundle.Locate(builder.Configuration, builder.Environment.ContentRootPath));
        builder.Services.AddStudioSignIn();
        return builder;
    }

    public static WebApplication MapDrWorkflowsStudio(this WebApplication app)
    {
        var elsa = app.MapGroup("/elsa/api").RequireAuthorization(Roles.Viewer);
        elsa.MapDescriptorsApi();
        elsa.MapActivityExecutionsApi();
        elsa.MapDefinitionIdChange();
        elsa.MapJavaScriptTypeDefinitions();
        // Routes the Studio may call that this server does not implement (subgraphs, resilience, tests...): a quick
        // 404, because the Studio retries 5xx answers for about 14 s.
        elsa.Map("{**rest}", (string? rest) => Results.Problem(statusCode: 404, title: "Not found", detail: $"'/elsa/api/{rest}' is not a route of this server (see docs/api.md)."));

        var bundle = app.Services.GetRequiredService<StudioBundle>();
        if (bundle.Directory is { } directory)
            ServeBundle(app, directory);

        app.MapGet("/studio", LandingAsync).AllowAnonymous();
        app.MapGet("/studio/signin", SignInPage).AllowAnonymous();
        app.MapPost("/studio/signin", SignInAsync).AllowAnonymous().WithBodyLimit(BodyLimits.SignInForm).RequireRateLimiting(KeyAttemptLimiter.SignInPolicy);
        app.MapPost("/studio/signout", SignOutAsync).AllowAnonymous().WithBodyLimit(BodyLimits.SignInForm);

        var pages = app.MapGroup("/studio").RequireAuthorization(SignInSetup.Policy);
        pages.MapGet("/definitions", (HttpContext http, StudioBundle b, IAntiforgery af) =>
            ElementPage(http, b, af, "Workflow definitions", "elsa-workflow-definition-list", []));
        pages.MapGet("/definitions/{definitionId}", EditorPageAsync);
        pages.MapPost("/definitions/{definitionId}/id", ChangeIdAsync).WithBodyLimit(BodyLimits.SignInForm);
        pages.MapGet("/instances", (HttpContext http, StudioBundle b, IAntiforgery af) =>
            ElementPage(http, b, af, "Workflow instances", "elsa-workflow-instance-list", []));
        pages.MapGet("/instances/{instanceId}", (string instanceId, HttpContext http, StudioBundle b, IAntiforgery af) =>
            ElementPage(http, b, af, "Workflow instance", "elsa-workflow-instance-viewer", [new("instance-id", instanceId)]));
        return app;
    }

    /// <summary>
    /// Static files of the bundle: <c>_framework</c>, <c>_content</c>, its stylesheet and <c>appsettings.json</c>
    /// (not its <c>index.html</c>, which hosts an unregistered element). Pre-compressed <c>.br</c>/<c>.gz</c>
    /// copies shipped in the package are served when the browser accepts them.
    /// </summary>
    private static void ServeBundle(WebApplication app, string directory)
    {
        var types = new FileExtensionContentTypeProvider();
        types.Mappings[".wasm"] = "application/wasm";
        types.Mappings[".dat"] = "application/octet-stream";
        types.Mappings[".webmanifest"] = "application/manifest+json";
        types.Mappings[".js"] = "text/javascript";
        var contentTypes = new PrecompressedContentTypes(types);
        foreach (var folder in (string[])["_framework", "_content"])
        {
            var root = Path.Combine(directory, folder);
            if (!System.IO.Directory.Exists(root))
                continue;
            var files = new PhysicalFileProvider(root);
            var requestPath = new PathString("/studio/" + folder);
            app.Use(async (context, next) =>
            {
                SelectPrecompressed(context, requestPath, files);
                await next(context);
            });
            app.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = files,
                RequestPath = requestPath,
                ContentTypeProvider = contentTypes,
                OnPrepareResponse = r => r.Context.Response.Headers.CacheControl = CacheControl(r.File.Name),
            });
        }

        foreach (var file in (string[])["Elsa.Studio.Host.CustomElements.styles.css", "appsettings.json"])
        {
            var path = Path.Combine(directory, file);
            if (File.Exists(path))
                app.MapGet("/studio/" + file, () => Results.File(path, types.TryGetContentType(file, out var type) ? type : "application/octet-stream")).AllowAnonymous();
        }
    }

    /// <summary>
    /// Files whose name carries the build's content hash (<c>Elsa.Api.Client.mbze71icf3.wasm</c>, and their
    /// <c>.br</c>/<c>.gz</c> copies) never change: cached for a year as immutable. The others (<c>dotnet.js</c>,
    /// <c>blazor.webassembly.js</c>, scripts and styles under <c>_content</c>) are revalidated with their ETag.
    /// </summary>
    internal static string CacheControl(string fileName)
    {
        var name = fileName.EndsWith(".br", StringComparison.Ordinal) || fileName.EndsWith(".gz", StringComparison.Ordinal) ? fileName[..^3] : fileName;
        return Fingerprinted().IsMatch(name) ? "public, max-age=31536000, immutable" : "no-cache";
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\.[a-z0-9]{10}\.[a-z]+$")]
    private static partial System.Text.RegularExpressions.Regex Fingerprinted();

    /// <summary>Rewrites <c>x.wasm</c> to the package's <c>x.wasm.br</c> (or <c>.gz</c>) when the browser accepts it.</summary>
    private static void SelectPrecompressed(HttpContext context, PathString requestPath, PhysicalFileProvider files)
    {
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
            return;
        if (!context.Request.Path.StartsWithSegments(requestPath, out var rest) || !rest.HasValue)
            return;
        var accept = context.Request.Headers.AcceptEncoding.ToString();
        foreach (var (encoding, extension) in (ReadOnlySpan<(string, string)>)[("br", ".br"), ("gzip", ".gz")])
        {
            if (!accept.Contains(encoding, StringComparison.OrdinalIgnoreCase) || !files.GetFileInfo(rest.Value + extension).Exists)
                continue;
            context.Request.Path = new PathString(context.Request.Path.Value + extension);
            context.Response.Headers.ContentEncoding = encoding;
            context.Response.Headers.Vary = "Accept-Encoding";
            return;
        }
    }

    /// <summary>Content types of pre-compressed files are those of the file they compress.</summary>
    private sealed class PrecompressedContentTypes(FileExtensionContentTypeProvider inner) : IContentTypeProvider
    {
        public bool TryGetContentType(string subpath, out string contentType)
        {
            foreach (var extension in (string[])[".br", ".gz"])
            {
                if (subpath.EndsWith(extension, StringComparison.OrdinalIgnoreCase))
                    return inner.TryGetContentType(subpath[..^extension.Length], out contentType!);
            }

            return inner.TryGetContentType(subpath, out contentType!);
        }
    }

    private static async Task<IResult> LandingAsync(HttpContext http, StudioBundle bundle, IAntiforgery antiforgery)
    {
        var name = await UseStudioUserAsync(http) ? http.User.Identity?.Name : null;
        return Page(http, StudioPages.Landing(name, bundle, name is null ? null : Field(http, antiforgery)));
    }

    private static IResult SignInPage(HttpContext http, IAntiforgery antiforgery, string? returnUrl) =>
        Page(http, StudioPages.SignIn(Field(http, antiforgery), LocalReturnUrl(returnUrl), error: null));

    private static async Task<IResult> SignInAsync(HttpContext http, IAntiforgery antiforgery, IApiKeyStore keys, KeyAttemptLimiter attempts, CancellationToken cancellationToken)
    {
        if (!http.Request.HasFormContentType)
            return Results.BadRequest("Sign in with the form at /studio/signin.");
        // Read first: a form over its limit is a 413 here, which antiforgery would turn into "the form expired".
        var form = await RequestForms.ReadAsync(http.Request, cancellationToken);
        if (!await antiforgery.IsRequestValidAsync(http))
            return Page(http, StudioPages.SignIn(Field(http, antiforgery), "/studio/", "The form expired; please sign in again."), 400);
        var key = form["apiKey"].ToString().Trim();
        var returnUrl = LocalReturnUrl(form["returnUrl"]);
        if (attempts.IsBlocked(http))
            return new TooManyAttempts("sign-in");
        var entry = key.Length == 0 ? null : await keys.FindAsync(key, cancellationToken);
        if (entry is null)
        {
            if (key.Length > 0)
                attempts.RecordFailure(http);
            return Page(http, StudioPages.SignIn(Field(http, antiforgery), returnUrl, "That API key is not valid."), 401);
        }

        await http.SignInAsync(SignInSetup.Scheme, SignInSetup.Principal(entry, key), new AuthenticationProperties { IsPersistent = false });
        return Results.Redirect(returnUrl);
    }

    private static async Task<IResult> SignOutAsync(HttpContext http, IAntiforgery antiforgery)
    {
        // The sign-out form's token was issued to the signed-in person: validate it as that person.
        await UseStudioUserAsync(http);
        if (http.Request.HasFormContentType)
            await RequestForms.ReadAsync(http.Request, http.RequestAborted);
        if (!http.Request.HasFormContentType || !await antiforgery.IsRequestValidAsync(http))
            return Results.Redirect("/studio/");
        await http.SignOutAsync(SignInSetup.Scheme);
        return Results.Redirect("/studio/");
    }

    /// <summary>On anonymous routes, makes the Studio cookie's person the request's user (when signed in).</summary>
    private static async Task<bool> UseStudioUserAsync(HttpContext http)
    {
        var result = await http.AuthenticateAsync(SignInSetup.Scheme);
        if (!result.Succeeded || result.Principal is null)
            return false;
        http.User = result.Principal;
        return true;
    }

    /// <summary>The editor, with the definition's id above it (a form to change it while it still may change).</summary>
    private static async Task<IResult> EditorPageAsync(string definitionId, string? idError, HttpContext http, StudioBundle bundle, IAntiforgery antiforgery, WorkflowDefinitionService definitions, CancellationToken cancellationToken)
    {
        var changeable = await DefinitionIdChange.IsChangeableAsync(definitionId, http, definitions, cancellationToken);
        var idBar = StudioPages.DefinitionIdBar(definitionId, changeable ? Field(http, antiforgery) : null, idError);
        return ElementPage(http, bundle, antiforgery, "Workflow editor", "elsa-workflow-definition-editor", [new("definition-id", definitionId)], idBar);
    }

    /// <summary>The editor's id form: changes the id and opens the editor at the new one, or shows why not.</summary>
    private static async Task<IResult> ChangeIdAsync(string definitionId, HttpContext http, IAntiforgery antiforgery, WorkflowDefinitionService definitions, IWorkflowInstanceStore instances, CancellationToken cancellationToken)
    {
        var editor = "/studio/definitions/" + Uri.EscapeDataString(definitionId);
        if (!http.Request.HasFormContentType)
            return Results.BadRequest("Change the id with the form of the editor page.");
        var form = await RequestForms.ReadAsync(http.Request, cancellationToken);
        if (!await antiforgery.IsRequestValidAsync(http))
            return Results.Redirect(editor + "?idError=" + Uri.EscapeDataString("The form expired; please try again."));
        if (!Roles.Admitting(Roles.Designer).Any(http.User.IsInRole))
            return Results.Redirect(editor + "?idError=" + Uri.EscapeDataString("Only designers may change a workflow's id."));
        var newId = form["definitionId"].ToString().Trim();
        if (newId == definitionId)
            return Results.Redirect(editor);
        try
        {
            var stored = await DefinitionIdChange.ChangeAsync(definitionId, newId, definitions, instances, cancellationToken);
            return Results.Redirect("/studio/definitions/" + Uri.EscapeDataString(stored.DefinitionId));
        }
        catch (Exception e) when (e is DefinitionIdChangeException or DefinitionNotFoundException or DefinitionReadOnlyException)
        {
            return Results.Redirect(editor + "?idError=" + Uri.EscapeDataString(e.Message));
        }
    }

    private static IResult ElementPage(HttpContext http, StudioBundle bundle, IAntiforgery antiforgery, string title, string element, KeyValuePair<string, string>[] attributes, string? bar = null)
    {
        if (!bundle.IsInstalled)
            return Page(http, StudioPages.NotInstalled(bundle), 503);
        var key = SignInSetup.Key(http.User);
        if (key is null)
            return Results.Redirect("/studio/signin");
        var endpoint = $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}/elsa/api";
        return Page(http, StudioPages.Element(title, element, attributes, endpoint, key, http.User.Identity?.Name ?? "?", Field(http, antiforgery), bar));
    }

    private static IResult Page(HttpContext http, string html, int status = 200)
    {
        // Pages may carry the signed-in person's key: never cache them, never send them as a referrer, never frame them.
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers["Referrer-Policy"] = "no-referrer";
        http.Response.Headers["X-Frame-Options"] = "DENY";
        http.Response.Headers["X-Content-Type-Options"] = "nosniff";
        return Results.Content(html, "text/html; charset=utf-8", statusCode: status);
    }

    private static string Field(HttpContext http, IAntiforgery antiforgery)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        return $"<input type=\"hidden\" name=\"{tokens.FormFieldName}\" value=\"{System.Net.WebUtility.HtmlEncode(tokens.RequestToken)}\">";
    }

    /// <summary>429 for a source that used up its failed-key attempts.</summary>
    private sealed class TooManyAttempts(string what) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) => KeyAttemptLimiter.WriteTooManyAsync(httpContext, what);
    }

    /// <summary>Only local Studio paths are followed after sign-in (no open redirect).</summary>
    private static string LocalReturnUrl(StringValues value)
    {
        var url = value.ToString();
        return url.StartsWith("/studio/", StringComparison.Ordinal) && !url.StartsWith("//", StringComparison.Ordinal) && !url.Contains('\\', StringComparison.Ordinal)
            ? url
            : "/studio/";
    }
}
