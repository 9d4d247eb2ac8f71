using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using DrWorkflows.Server.Telemetry;

namespace DrWorkflows.Server.Tests.Telemetry;

/// <summary>Traces per run, exported over OTLP/HTTP to a real HTTP receiver on a local port.</summary>
public sealed class RunTracesTests
{
    private const string Hello = """
    { "definitionId": "traced-hello", "name": "Traced hello",
      "root": { "type": "Elsa.Sequence", "version": 1, "id": "seq", "activities": [
        { "type": "Elsa.WriteLine", "version": 1, "id": "say", "text": { "typeName": "String", "expression": { "type": "Literal", "value": "hello" } } } ] } }
    """;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_run_and_its_steps_reach_the_OTLP_endpoint_under_a_trace_id_derived_from_the_run()
    {
        using var receiver = new OtlpReceiver();
        string runId;
        using (var server = new ServerFactory(
            workflowFiles: new Dictionary<string, string> { ["hello.json"] = Hello },
            settings: new Dictionary<string, string> { ["DrWorkflows:Tracing:OtlpEndpoint"] = receiver.Address, ["DrWorkflows:Tracing:Protocol"] = "http/protobuf" }))
        {
            var (status, _, response) = await server.Client().PostJsonAsync("/elsa/api/workflow-definitions/traced-hello/execute", "{}");
            Assert.Equal(HttpStatusCode.OK, status);
            runId = response.Headers.GetValues("x-elsa-workflow-instance-id").Single();

            // The batch exporter sends every few seconds: wait (generously, on a loaded machine) for the run span.
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (!Contains([.. receiver.Bodies.SelectMany(b => b)], Encoding.UTF8.GetBytes("run traced-hello")) && DateTime.UtcNow < deadline)
                await Task.Delay(200, Ct);
        }

        // The receiver got real OTLP export requests.
        var traceId = new byte[16];
        RunTraces.TraceId(runId).CopyTo(traceId);
        var bodies = receiver.Bodies.ToList();
        Assert.NotEmpty(bodies);
        Assert.All(receiver.Paths, p => Assert.Equal("/v1/traces", p));
        var all = bodies.SelectMany(b => b).ToArray();
        Assert.True(Contains(all, Encoding.UTF8.GetBytes("run traced-hello")), "no run span");
        Assert.True(Contains(all, Encoding.UTF8.GetBytes("Elsa.WriteLine say")), "no step span");
        Assert.True(Contains(all, Encoding.UTF8.GetBytes(runId)), "no run id tag");
        Assert.True(Contains(all, traceId), "the spans do not carry the trace id derived from the run id");
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    /// <summary>A minimal OTLP/HTTP receiver: records each request's path and body and answers 200 with an empty export response.</summary>
    private sealed class OtlpReceiver : IDisposable
    {
        private readonly HttpListener listener = new();
        private readonly Task loop;

        public OtlpReceiver()
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            Address = $"http://127.0.0.1:{port}";
            listener.Prefixes.Add(Address + "/");
            listener.Start();
            loop = Task.Run(ServeAsync);
        }

        public string Address { get; }

        public ConcurrentQueue<byte[]> Bodies { get; } = new();

        public ConcurrentQueue<string> Paths { get; } = new();

        public void Dispose()
        {
            listener.Stop();
            listener.Close();
            _ = loop.Wait(TimeSpan.FromSeconds(10));
        }

        private async Task ServeAsync()
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body, Ct);
                Paths.Enqueue(context.Request.Url!.AbsolutePath);
                Bodies.Enqueue(body.ToArray());
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
                context.Response.Close();
            }
        }
    }
}
