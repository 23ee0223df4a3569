using System.Collections.Concurrent;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Cli;

/// <summary>`reelay generate` against a real gateway follows the live event stream instead of polling.</summary>
public sealed class GenerateEventsTests
{
    [Fact]
    public async Task Generate_RealGateway_FollowsEventStreamAndNeverPolls()
    {
        await using var server = await ReelayTestServer.StartAsync();
        var output = Path.Combine(server.DataDirectory, "out.mp4");
        var handler = new RecordingHandler();

        var result = await CliRunner.RunAsync(
            ["generate", "--prompt", "A lighthouse at dawn", "--seconds", "4", "--size", "480x270", "--output", output, "--url", server.BaseAddress.ToString(), "--key", server.ApiKey],
            handler: handler);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal($"video: {output}{Environment.NewLine}", result.Output);
        Assert.True(new FileInfo(output).Length > 1000);
        var paths = handler.Requests.ToList();
        var events = Assert.Single(paths, p => p.EndsWith("/events", StringComparison.Ordinal));
        var id = events.Split('/')[3];
        Assert.DoesNotContain($"GET /v1/videos/{id}", paths);
        Assert.Contains("in progress", result.Error, StringComparison.Ordinal);
        Assert.Contains($"{id} completed 100%", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(server.ApiKey, result.Output + result.Error, StringComparison.Ordinal);
    }

    private sealed class RecordingHandler() : DelegatingHandler(new SocketsHttpHandler())
    {
        public ConcurrentQueue<string> Requests { get; } = new();

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Enqueue($"{request.Method} {request.RequestUri!.AbsolutePath}");
            return base.SendAsync(request, cancellationToken);
        }
    }
}
