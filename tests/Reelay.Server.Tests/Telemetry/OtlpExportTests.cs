using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Telemetry;

/// <summary>
/// OTLP export to an in-process OTLP/HTTP receiver on loopback (a stand-in for a collector: it keeps the raw protobuf
/// bodies and does not decode them; span names are plain UTF-8 strings inside them).
/// </summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task Otlp_SandboxJob_ExportsRequestAndJobPhaseSpans()
    {
        var traces = new ConcurrentQueue<byte[]>();
        var receiverBuilder = WebApplication.CreateSlimBuilder();
        receiverBuilder.WebHost.UseUrls("http://127.0.0.1:0");
        receiverBuilder.Logging.ClearProviders();
        await using var receiver = receiverBuilder.Build();
        receiver.MapPost("/v1/traces", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            traces.Enqueue(body.ToArray());
            return TypedResults.Ok();
        });
        receiver.MapPost("/v1/metrics", () => TypedResults.Ok());
        await receiver.StartAsync();
        var endpoint = receiver.Urls.First();

        var server = await ReelayTestServer.StartAsync(new()
        {
            ["Reelay:Telemetry:OtlpEndpoint"] = endpoint,
            ["Reelay:Telemetry:OtlpProtocol"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
        });
        try
        {
            await TelemetryTestSupport.RenderSandboxVideoAsync(server.Http);
        }
        finally
        {
            // Stopping flushes the exporter.
            await server.DisposeAsync();
        }

        var all = Encoding.UTF8.GetString([.. traces.SelectMany(b => b)]);
        Assert.Contains("reelay.job.submit", all, StringComparison.Ordinal);
        Assert.Contains("reelay.job.poll", all, StringComparison.Ordinal);
        Assert.Contains("reelay.job.finalize", all, StringComparison.Ordinal);
        Assert.Contains("/v1/videos/{id}", all, StringComparison.Ordinal); // the request spans carry the route template
        Assert.Contains("reelay", all, StringComparison.Ordinal); // service.name
    }
}
