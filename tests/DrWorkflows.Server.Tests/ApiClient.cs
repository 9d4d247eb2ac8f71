using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace DrWorkflows.Server.Tests;

/// <summary>Small JSON helpers over <see cref="HttpClient"/> for the API tests.</summary>
public static class ApiClient
{
    public static async Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> SendAsync(this HttpClient client, HttpMethod method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        JsonNode? body = null;
        if (text.Length > 0 && (response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) ?? false))
            body = JsonNode.Parse(text);
        return (response.StatusCode, body, response);
    }

    public static Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> GetJsonAsync(this HttpClient client, string path) =>
        client.SendAsync(HttpMethod.Get, path);

    public static Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> PostJsonAsync(this HttpClient client, string path, string json) =>
        client.SendAsync(HttpMethod.Post, path, json);

    public static Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> PostJsonAsync(this HttpClient client, string path, JsonNode json) =>
        client.SendAsync(HttpMethod.Post, path, json.ToJsonString());

    /// <summary>A file of <c>Studio/Fixtures</c> (request bodies captured from the real Studio 3.8.2).</summary>
    public static string Fixture(string name) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Studio", "Fixtures", name));

    /// <summary>The <c>model</c> of a captured save request.</summary>
    public static JsonObject FixtureModel(string name) => JsonNode.Parse(Fixture(name))!["model"]!.AsObject();
}
