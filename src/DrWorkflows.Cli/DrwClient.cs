using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DrWorkflows.Cli;

/// <summary>The server's HTTP API as the CLI uses it. Failures become <see cref="CliException"/> with the server's message.</summary>
internal sealed class DrwClient(HttpClient http, CliSettings? settings = null)
{
    public async Task<JsonNode?> GetAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, path), cancellationToken);
        return await ReadAsync(response, cancellationToken);
    }

    public async Task<JsonNode?> PostAsync(string path, JsonNode? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body ?? new JsonObject()) };
        using var response = await SendAsync(request, cancellationToken);
        return await ReadAsync(response, cancellationToken);
    }

    public async Task<(JsonNode? Body, string? InstanceId)> PostWithInstanceIdAsync(string path, JsonNode? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body ?? new JsonObject()) };
        using var response = await SendAsync(request, cancellationToken);
        var id = response.Headers.TryGetValues("x-elsa-workflow-instance-id", out var values) ? values.FirstOrDefault() : null;
        return (await ReadAsync(response, cancellationToken), id);
    }

    /// <summary>GETs a file into <paramref name="file"/> (written to a temporary name, moved into place when complete) and returns the answer's headers.</summary>
    public async Task<HttpResponseHeaders> DownloadAsync(string path, string file, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        using var response = await SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            await ReadAsync(response, cancellationToken);
            throw new CliException($"{(int)response.StatusCode} {response.ReasonPhrase}", ExitCodes.Refused);
        }

        var partial = file + ".partial";
        try
        {
            await using (var target = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
                await response.Content.CopyToAsync(target, cancellationToken);
            File.Move(partial, file, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(partial);
            throw new CliException($"Cannot write {file}: {e.Message}", ExitCodes.Refused);
        }
        catch
        {
            File.Delete(partial);
            throw;
        }

        return response.Headers;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"Cannot reach the DrWorkflows server at {http.BaseAddress}: {e.Message}. Is it running? Set --server or DRW_SERVER.", ExitCodes.Unreachable);
        }
    }

    private async Task<JsonNode?> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonNode? body = null;
        if (!string.IsNullOrWhiteSpace(text))
        {
            try
            {
                body = JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                body = JsonValue.Create(text);
            }
        }

        if (response.IsSuccessStatusCode)
            return body;
        var detail = body?["detail"]?.ToString() ?? body?["title"]?.ToString() ?? text;
        if (response.StatusCode == System.Net.HttpStatusCode.Unauthorized)
            throw new CliException(settings?.Unauthorized(detail) ?? $"401 Unauthorized: {detail}", ExitCodes.Unauthorized);
        throw new CliException($"{(int)response.StatusCode} {response.ReasonPhrase}: {detail}", ExitCodes.Refused);
    }

    public static HttpClient Create(Uri server, string? apiKey)
    {
        var http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromMinutes(10) };
        if (!string.IsNullOrEmpty(apiKey))
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", apiKey);
        return http;
    }
}

/// <summary>A failure to report to the user (no stack trace), with the process exit code.</summary>
internal sealed class CliException(string message, int exitCode = 2) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
