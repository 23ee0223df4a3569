using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Reelay.Server.Tests.SoraRelay;

/// <summary>A notify_hook receiver on loopback: records every request and answers with what <see cref="Respond"/> says.</summary>
public sealed class HookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedHook> _received = new();

    private HookReceiver(WebApplication app) => _app = app;

    /// <summary>The HTTP status to answer a request with (200 unless set).</summary>
    public Func<ReceivedHook, int> Respond { get; set; } = _ => 200;

    public Uri BaseAddress => ReelayServer.BoundAddress(_app)!;

    public IReadOnlyList<ReceivedHook> Received => [.. _received];

    public static async Task<HookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        var receiver = new HookReceiver(app);
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            var hook = new ReceivedHook(
                context.Request.Method,
                context.Request.Path + context.Request.QueryString,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                body);
            receiver._received.Enqueue(hook);
            context.Response.StatusCode = receiver.Respond(hook);
        });
        await app.StartAsync();
        return receiver;
    }

    /// <summary>Waits until what was received satisfies <paramref name="done"/>.</summary>
    public async Task<IReadOnlyList<ReceivedHook>> WaitForAsync(Func<IReadOnlyList<ReceivedHook>, bool> done, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (DateTime.UtcNow < until)
        {
            var received = Received;
            if (done(received))
            {
                return received;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"The hook receiver got {Received.Count} requests: {string.Join(", ", Received.Select(r => r.Status))}");
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

/// <summary>One request a <see cref="HookReceiver"/> got.</summary>
public sealed record ReceivedHook(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement.Clone();

    public string? Status => Body.Length > 0 && Json.TryGetProperty("status", out var s) ? s.GetString() : null;

    public string Header(string name) => Headers.TryGetValue(name, out var value) ? value : "";
}
