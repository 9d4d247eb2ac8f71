using System.Text;
using System.Text.Encodings.Web;

namespace DrWorkflows.Server.Studio;

/// <summary>
/// The host pages of the Studio: plain HTML written here (the bundle's own <c>index.html</c> uses an element
/// name that is not registered). Element pages load the bundle's scripts and styles and place one of its custom
/// elements with <c>remote-endpoint</c> (this server's <c>/elsa/api</c>) and <c>api-key</c> (the signed-in
/// person's key; pages are only rendered for signed-in people).
/// </summary>
public static class StudioPages
{
    private static readonly HtmlEncoder Html = HtmlEncoder.Default;

    private const string PlainStyle = """
        <style>
          body { font-family: system-ui, sans-serif; margin: 0; color: #1f2937; background: #f9fafb; }
          main { max-width: 48rem; margin: 2rem auto; padding: 0 1rem; }
          h1 { font-size: 1.5rem; } a { color: #4f46e5; }
          .card { background: #fff; border: 1px solid #e5e7eb; border-radius: .5rem; padding: 1rem 1.25rem; margin: 1rem 0; }
          .warn { border-color: #f59e0b; background: #fffbeb; } .error { color: #b91c1c; }
          code, pre { background: #f3f4f6; padding: .1rem .3rem; border-radius: .25rem; }
          pre { padding: .75rem; overflow-x: auto; }
          label { display: block; margin: .5rem 0 .25rem; } input[type=password] { width: 100%; padding: .5rem; box-sizing: border-box; }
          button { margin-top: .75rem; padding: .5rem 1rem; }
        </style>
        """;

    private const string NavStyle = """
        <style>
          html, body { margin: 0; height: 100%; }
          .drw-nav { display: flex; gap: 1rem; align-items: center; padding: .4rem 1rem; background: #1f2937; color: #e5e7eb;
                     font: 14px system-ui, sans-serif; }
          .drw-nav a { color: #e5e7eb; text-decoration: none; } .drw-nav a:hover { text-decoration: underline; }
          .drw-nav .drw-right { margin-left: auto; display: flex; gap: .75rem; align-items: center; }
          .drw-nav form { margin: 0; } .drw-nav button { font: inherit; cursor: pointer; }
          .drw-host { height: calc(100% - 2.2rem); overflow: auto; }
          .drw-id, .drw-id form { display: flex; gap: .4rem; align-items: center; } .drw-id code { color: #fff; }
          .drw-id input { font: 13px ui-monospace, monospace; width: 18rem; } .drw-error { color: #fca5a5; }
        </style>
        """;

    /// <summary>The bundle's scripts, in the order its index.html loads them.</summary>
    private static readonly string[] Scripts =
    [
        "_content/BlazorMonaco/jsInterop.js",
        "_content/BlazorMonaco/lib/monaco-editor/min/vs/loader.js",
        "_content/BlazorMonaco/lib/monaco-editor/min/vs/editor/editor.main.js",
        "_content/MudBlazor/MudBlazor.min.js",
        "_content/CodeBeam.MudBlazor.Extensions/MudExtensions.min.js",
        "_content/Radzen.Blazor/Radzen.Blazor.js",
        BlazorScript,
    ];

    /// <summary>Blazor's loader: it does not start the runtime by itself (<c>autostart="false"</c>), <see cref="StartScript"/> does.</summary>
    private const string BlazorScript = "_framework/blazor.webassembly.js";

    /// <summary>
    /// The options the Studio's .NET runtime starts with. <c>--no-jiterpreter-traces-enabled</c>: the interpreter does not
    /// compile hot code paths ("traces") to WebAssembly as it goes. The Studio's time on every first load and move is
    /// code that runs once, in the interpreter (the main thread is busy throughout); compiling traces then costs more
    /// than it saves. Measured with <c>tests/bench/studio-bench.sh</c> (benchmarks.md, "Runtime options"): the moves to
    /// the editor, the instance list and the viewer are 11–16 % faster (the first load with an empty cache, once per browser, about 0.7 s slower).
    /// </summary>
    public static readonly IReadOnlyList<string> RuntimeOptions = ["--no-jiterpreter-traces-enabled"];

    /// <summary>Starts the Studio's .NET runtime with <see cref="RuntimeOptions"/>.</summary>
    private static readonly string StartScript =
        "<script>Blazor.start({ configureRuntime: function (runtime) { runtime.withRuntimeOptions("
        + System.Text.Json.JsonSerializer.Serialize(RuntimeOptions)
        + "); } });</script>\n";

    private static readonly string[] Styles =
    [
        "_content/MudBlazor/MudBlazor.min.css",
        "_content/CodeBeam.MudBlazor.Extensions/MudExtensions.min.css",
        "_content/Radzen.Blazor/css/material-base.css",
        "_content/Elsa.Studio.Shell/css/shell.css",
        "Elsa.Studio.Host.CustomElements.styles.css",
    ];

    /// <summary>
    /// One page for the whole Studio: the WebAssembly runtime starts once. Moving between the definition list, the
    /// editor, the instance list, the instance viewer and the approvals page fetches the target page from the server
    /// (the same HTML a deep link or a reload gets, rendered for the signed-in person), and swaps the navigation bar
    /// and the hosted element, or, for the approvals page, its content in a shadow root (its own styles stay inside).
    /// The address follows with <c>history.pushState</c>, and Back and Forward swap again. Anything else (sign-out,
    /// forms, the landing page, a page that redirects, such as to the sign-in when the session ended, or a failed
    /// fetch) is an ordinary page load. The list and viewer elements report clicks through EventCallback properties,
    /// which exist once the element is defined (a value set before that is lost): they are wired after each swap.
    /// <c>window.drwStudio</c> exposes <c>navigate(url, push)</c> (a promise) and the number of swaps, for the tests
    /// and the navigation benchmark.
    /// </summary>
    private const string RouterScript = """
        <script>
        (function () {
          var swappable = /^\/studio\/(definitions|instances|approvals)(\/[^\/?#]+)?\/?([?#].*)?$/;
          var callbacks = [
            ['elsa-workflow-definition-list', 'editWorkflowDefinition', '/studio/definitions/'],
            ['elsa-workflow-instance-list', 'viewWorkflowInstance', '/studio/instances/'],
            ['elsa-workflow-instance-viewer', 'editWorkflowDefinition', '/studio/definitions/']
          ];
          var state = window.drwStudio = { swaps: 0, navigate: null, pending: null };
          var wire = function () {
            callbacks.forEach(function (c) {
              customElements.whenDefined(c[0]).then(function () {
                document.querySelectorAll(c[0]).forEach(function (element) {
                  element[c[1]] = function (id) { navigate(c[2] + encodeURIComponent(id), true); };
                });
              });
            });
          };
          var load = function (url) { location.assign(url); };
          // Blazor's custom elements dispose their component one second after they leave the document, and two
          // Studio elements cannot live at once (MudBlazor's popover section): dispose the old one first.
          var dispose = function (old) {
            if (!old) return Promise.resolve();
            old.remove();
            if (!old._addRootComponentPromise) return new Promise(function (resolve) { setTimeout(resolve, 1200); });
            clearTimeout(old._disposalTimeoutHandle);
            old._isDisposed = true;
            return old._addRootComponentPromise.then(function (component) { return component.dispose(); });
          };
          var swap = function (doc) {
            var host = document.querySelector('.drw-host');
            var nav = document.querySelector('.drw-nav');
            var source = doc.querySelector('.drw-host > *');
            var newNav = doc.querySelector('.drw-nav');
            var old = host.firstElementChild;
            var hosted = old && old.localName.indexOf('elsa-') === 0 ? old : null;
            document.title = doc.title;
            return dispose(hosted).then(function () {
              host.replaceChildren();
              if (source && newNav) {
                var element = document.createElement(source.localName);
                Array.prototype.forEach.call(source.attributes, function (a) { element.setAttribute(a.name, a.value); });
                nav.replaceWith(document.importNode(newNav, true));
                host.appendChild(element);
              } else {
                var page = document.createElement('div');
                page.className = 'drw-page';
                var root = page.attachShadow({ mode: 'open' });
                doc.querySelectorAll('head style').forEach(function (style) { root.appendChild(document.importNode(style, true)); });
                Array.prototype.forEach.call(doc.body.childNodes, function (node) { root.appendChild(document.importNode(node, true)); });
                var id = nav.querySelector('.drw-id');
                if (id) id.remove();
                host.appendChild(page);
              }
              state.swaps++;
              wire();
            });
          };
          var navigate = state.navigate = function (url, push) {
            var target = new URL(url, location.href);
            if (target.origin !== location.origin || !swappable.test(target.pathname + target.search)) { load(target.href); return Promise.resolve(false); }
            var done = state.pending = fetch(target.href, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } }).then(function (response) {
              if (!response.ok || response.redirected) throw new Error('status ' + response.status);
              return response.text();
            }).then(function (html) {
              if (state.pending !== done) return false;
              if (push) history.pushState({ drw: true }, '', target.href);
              return swap(new DOMParser().parseFromString(html, 'text/html')).then(function () { return true; });
            }).catch(function () { load(target.href); return false; });
            return done;
          };
          document.addEventListener('click', function (e) {
            if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
            var link = e.target.closest ? e.target.closest('a[href]') : null;
            if (!link || link.target || link.hasAttribute('download')) return;
            var target = new URL(link.getAttribute('href'), document.baseURI);
            if (target.origin !== location.origin || !swappable.test(target.pathname + target.search)) return;
            e.preventDefault();
            navigate(target.href, true);
          });
          window.addEventListener('popstate', function () { navigate(location.href, false); });
          wire();
        })();
        </script>
        """;

    public static string Landing(string? userName, StudioBundle bundle, string? antiforgeryField)
    {
        var body = new StringBuilder();
        body.Append("<h1>DrWorkflows Studio</h1>");
        body.Append("<p>Design, version, publish and run the disaster-recovery workflows of this server in Elsa Studio.</p>");
        if (!bundle.IsInstalled)
            body.Append(NotInstalledCard(bundle));
        if (userName is null)
        {
            body.Append("<div class=\"card\"><p>You are not signed in.</p><p><a href=\"signin\">Sign in with your API key</a></p></div>");
        }
        else
        {
            body.Append("<div class=\"card\"><p>Signed in as <strong>").Append(Html.Encode(userName)).Append("</strong>.</p><ul>")
                .Append("<li><a href=\"definitions\">Workflow definitions</a>: create, edit, version and publish workflows.</li>")
                .Append("<li><a href=\"instances\">Workflow instances</a>: runs, where they wait, their journal.</li>")
                .Append("<li><a href=\"approvals\">Approvals</a>: decisions the runs wait for.</li></ul>")
                .Append(SignOutForm(antiforgeryField)).Append("</div>");
        }

        body.Append("<p>Workflows defined in C# or in files under <code>workflows/</code> open read-only: change them through a reviewed pull request.</p>");
        return Plain("DrWorkflows Studio", body.ToString());
    }

    public static string SignIn(string antiforgeryField, string returnUrl, string? error)
    {
        var body = new StringBuilder();
        body.Append("<h1>Sign in to DrWorkflows Studio</h1><div class=\"card\">");
        if (error is not null)
            body.Append("<p class=\"error\" role=\"alert\">").Append(Html.Encode(error)).Append("</p>");
        body.Append("<form method=\"post\" action=\"signin\">")
            .Append(antiforgeryField)
            .Append("<input type=\"hidden\" name=\"returnUrl\" value=\"").Append(Html.Encode(returnUrl)).Append("\">")
            .Append("<label for=\"apiKey\">API key</label>")
            .Append("<input type=\"password\" id=\"apiKey\" name=\"apiKey\" autocomplete=\"current-password\" required autofocus>")
            .Append("<button type=\"submit\">Sign in</button></form>")
            .Append("<p>Use the key your administrator gave you (its roles decide what you may do), or the server's admin key: ")
            .Append("<code>DRW_API_KEY</code>, or the file <code>api-key</code> in the data directory.</p></div>");
        return Plain("Sign in · DrWorkflows Studio", body.ToString());
    }

    public static string NotInstalled(StudioBundle bundle) =>
        Plain("Studio not installed · DrWorkflows", "<h1>DrWorkflows Studio</h1>" + NotInstalledCard(bundle) + "<p><a href=\"/studio/\">Back</a></p>");

    /// <summary>A page hosting one Studio element.</summary>
    /// <param name="title">Page title.</param>
    /// <param name="element">Custom element name, e.g. <c>elsa-workflow-definition-editor</c>.</param>
    /// <param name="attributes">Element attributes besides the endpoint and key (e.g. <c>definition-id</c>).</param>
    /// <param name="remoteEndpoint">Absolute URL of this server's <c>/elsa/api</c> (no trailing slash).</param>
    /// <param name="apiKey">The signed-in person's key.</param>
    /// <param name="userName">The signed-in person.</param>
    /// <param name="antiforgeryField">Hidden input for the sign-out form.</param>
    /// <param name="bar">HTML placed in the navigation bar (the editor's id), or null.</param>
    public static string Element(string title, string element, IEnumerable<KeyValuePair<string, string>> attributes, string remoteEndpoint, string apiKey, string userName, string antiforgeryField, string? bar = null)
    {
        var html = new StringBuilder(4096);
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1.0\"/>\n")
            .Append("<title>").Append(Html.Encode(title)).Append(" · DrWorkflows Studio</title>\n")
            .Append("<base href=\"/studio/\"/>\n")
            .Append("<link rel=\"icon\" type=\"image/png\" sizes=\"32x32\" href=\"_content/Elsa.Studio.Shell/favicon-32x32.png\">\n");
        foreach (var style in Styles)
            html.Append("<link href=\"").Append(style).Append("\" rel=\"stylesheet\">\n");
        html.Append(NavStyle).Append("</head>\n<body>\n");
        html.Append("<nav class=\"drw-nav\"><strong>DrWorkflows</strong><a href=\"/studio/\">Home</a><a href=\"definitions\">Definitions</a><a href=\"instances\">Instances</a><a href=\"approvals\">Approvals</a>")
            .Append(bar)
            .Append("<span class=\"drw-right\"><span>").Append(Html.Encode(userName)).Append("</span>").Append(SignOutForm(antiforgeryField)).Append("</span></nav>\n");
        html.Append("<div class=\"drw-host\"><").Append(element)
            .Append(" remote-endpoint=\"").Append(Html.Encode(remoteEndpoint)).Append('"')
            .Append(" api-key=\"").Append(Html.Encode(apiKey)).Append('"');
        foreach (var (name, value) in attributes)
            html.Append(' ').Append(name).Append("=\"").Append(Html.Encode(value)).Append('"');
        html.Append("></").Append(element).Append("></div>\n");
        html.Append("<div id=\"blazor-error-ui\">An unhandled error has occurred. <a href=\"\" class=\"reload\">Reload</a> <a class=\"dismiss\">&#x1F5D9;</a></div>\n");
        foreach (var script in Scripts)
            html.Append("<script src=\"").Append(script).Append(script == BlazorScript ? "\" autostart=\"false\"></script>\n" : "\"></script>\n");
        html.Append(StartScript);
        html.Append(RouterScript);
        html.Append("\n</body>\n</html>\n");
        return html.ToString();
    }

    /// <summary>
    /// The editor's definition id: a form to change it (<paramref name="antiforgeryField"/> given: a designer, and
    /// the workflow was never published nor run), else the id alone; with the last refusal, if any.
    /// </summary>
    public static string DefinitionIdBar(string definitionId, string? antiforgeryField, string? error)
    {
        var bar = new StringBuilder("<span class=\"drw-id\">");
        if (antiforgeryField is null)
        {
            bar.Append("Id <code>").Append(Html.Encode(definitionId)).Append("</code>");
        }
        else
        {
            bar.Append("<form method=\"post\" action=\"/studio/definitions/").Append(Html.Encode(Uri.EscapeDataString(definitionId))).Append("/id\">")
                .Append(antiforgeryField)
                .Append("<label for=\"drw-definition-id\">Id</label> <input id=\"drw-definition-id\" name=\"definitionId\" value=\"").Append(Html.Encode(definitionId))
                .Append("\" required maxlength=\"100\" pattern=\"[a-z0-9]+(-[a-z0-9]+)*\" title=\"lower-case letters and digits joined by dashes; it can change until the first publish or run\">")
                .Append(" <button type=\"submit\">Change id</button></form>");
        }

        if (error is { Length: > 0 })
            bar.Append(" <span class=\"drw-error\" role=\"alert\">").Append(Html.Encode(error)).Append("</span>");
        return bar.Append("</span>").ToString();
    }

    private static string SignOutForm(string? antiforgeryField) =>
        antiforgeryField is null ? string.Empty : $"<form method=\"post\" action=\"/studio/signout\">{antiforgeryField}<button type=\"submit\">Sign out</button></form>";

    private static string NotInstalledCard(StudioBundle bundle) =>
        "<div class=\"card warn\" role=\"alert\"><p><strong>The Elsa Studio bundle is not installed</strong>, so the designer pages cannot load.</p>"
        + $"<p>It is the npm package <code>{StudioBundle.PackageName}@{StudioBundle.PackageVersion}</code>, installed (never committed) by:</p>"
        + $"<pre>{StudioBundle.InstallScript}</pre>"
        + "<p>(it needs Node.js and npm), then restart the server. The server looked in <code>" + Html.Encode(bundle.Searched)
        + "</code>; set <code>DRW_STUDIO_DIR</code> to use another directory. See docs/studio.md.</p></div>";

    private static string Plain(string title, string body) =>
        $"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1.0\"/>\n<title>{Html.Encode(title)}</title>\n<base href=\"/studio/\"/>\n<link rel=\"icon\" href=\"data:,\">\n{PlainStyle}\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n";
}
