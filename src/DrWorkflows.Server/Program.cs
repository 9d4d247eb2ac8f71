using DrWorkflows.Server.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddDrWorkflowsServer();

var app = builder.Build();
app.MapDrWorkflowsServer();
await app.RunAsync();

/// <summary>Entry point, visible to the functional tests.</summary>
public partial class Program;
