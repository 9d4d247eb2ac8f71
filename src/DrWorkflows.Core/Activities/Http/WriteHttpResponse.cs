using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DrWorkflows.Core.Abstractions;
using DrWorkflows.Core.Execution;
using Microsoft.Extensions.DependencyInjection;

namespace DrWorkflows.Core.Activities.Http;

/// <summary>
/// Elsa's <c>Elsa.WriteHttpResponse</c>: the answer to the request that started or resumed this run at an
/// <see cref="HttpEndpoint"/>. It is sent at once (the run goes on). With no request waiting (the run was resumed by
/// something else, or the caller already had its answer) it fails and raises an incident, as Elsa faults when the
/// HTTP context is gone.
/// </summary>
[Activity("Elsa", "HTTP", "Write a response to the current HTTP response object.", DisplayName = "HTTP Response")]
public sealed class WriteHttpResponse : CodeActivity
{
    [Input(Description = "The status code to return.", DefaultValue = "OK")]
    public Input<HttpStatusCode> StatusCode { get; set; } = new(HttpStatusCode.OK);

    [Input(Description = "The content to write back. Text is sent as it is; anything else as JSON.")]
    public Input<object?> Content { get; set; } = new(default(object));

    [Input(Description = "The content type. Empty: text/plain for text, application/json for anything else.", Options = ["application/json", "application/xml", "application/x-www-form-urlencoded", "application/octet-stream", "text/plain", "text/html", "text/json", "text/xml"], UIHint = InputUIHints.Dropdown)]
    public Input<string?> ContentType { get; set; } = new(default(string));

    [Input(Description = "Headers to send with the response, e.g. {\"Location\": \"/orders/42\"}.", UIHint = InputUIHints.JsonEditor, Category = "Advanced")]
    public Input<JsonObject?> ResponseHeaders { get; set; } = new(default(JsonObject));

    protected override ValueTask RunAsync(ActivityExecutionContext context)
    {
        var status = (int)context.Get(StatusCode, HttpStatusCode.OK);
        if (status is < 100 or > 599)
            throw new ActivityFailureException($"HTTP response '{Id}': {status} is not an HTTP status code.");
        var content = context.Get(Content);
        var contentType = context.Get(ContentType);
        byte[] body = [];
        if (content is not null && status != (int)HttpStatusCode.NoContent)
        {
            var text = content is string s ? s : JsonSerializer.Serialize(ValueConverter.ToJsonNode(content), Serialization.Json.Options);
            contentType = string.IsNullOrWhiteSpace(contentType) ? content is string ? "text/plain" : "application/json" : contentType.Trim();
            body = Encoding.UTF8.GetBytes(text);
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in context.Get(ResponseHeaders) ?? [])
        {
            headers[name] = value switch
            {
                JsonArray array => string.Join(", ", array.Select(v => v?.ToString())),
                null => string.Empty,
                _ => value.ToString(),
            };
        }

        context.AddJournalData("statusCode", status);
        context.AddJournalData("contentType", contentType);
        context.AddJournalData("bytes", body.Length);
        var responses = context.Services.GetService<HttpResponses>();
        if (responses is null || !responses.TryAnswer(context.WorkflowInstanceId, new HttpResponseData(status, headers, contentType, body)))
            throw new ActivityFailureException($"HTTP response '{Id}': no HTTP request is waiting for this run's response. A response can only answer the request that started or resumed the run at an HTTP endpoint, before the run waits on something else, and only once (docs/elsa-compatibility.md, Elsa.WriteHttpResponse).");
        return ValueTask.CompletedTask;
    }
}
