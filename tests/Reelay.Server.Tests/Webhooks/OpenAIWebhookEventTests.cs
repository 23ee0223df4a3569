using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Reelay.Jobs;
using Reelay.Server.Tests.SoraRelay;
using Reelay.Server.Tests.Support;
using Reelay.Webhooks;

namespace Reelay.Server.Tests.Webhooks;

/// <summary>
/// OpenAI's own webhook event types: a job submitted through POST /v1/videos may ask for video.completed and video.failed
/// and gets them in OpenAI's event shape, signed as every delivery is; the other dialects keep Reelay's types only.
/// </summary>
public sealed class OpenAIWebhookEventTests : IAsyncLifetime
{
    private ReelayTestServer _server = null!;
    private HookReceiver _receiver = null!;

    public async Task InitializeAsync()
    {
        _receiver = await HookReceiver.StartAsync();
        _server = await ReelayTestServer.StartAsync(new() { ["Reelay:Limits:AllowPrivateNetworks:0"] = "127.0.0.1" });
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    private string HookUrl => _receiver.BaseAddress + "hooks/openai";

    private async Task<string> SubmitAsync(string json)
    {
        using var response = await _server.Http.PostAsync("/v1/videos", new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

    private static void AssertOpenAIEvent(ReceivedHook hook, string type, string videoId, string secret)
    {
        var json = hook.Json;
        Assert.Equal(["id", "object", "type", "created_at", "data"], json.EnumerateObject().Select(p => p.Name));
        Assert.Matches("^evt_[0-9a-f]{32}$", json.GetProperty("id").GetString());
        Assert.Equal(("event", type), (json.GetProperty("object").GetString(), json.GetProperty("type").GetString()));
        Assert.InRange(json.GetProperty("created_at").GetInt64(), DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeSeconds());
        Assert.Equal(["id"], json.GetProperty("data").EnumerateObject().Select(p => p.Name));
        Assert.Equal(videoId, json.GetProperty("data").GetProperty("id").GetString());
        Assert.Equal(type, hook.Header("x-reelay-event"));
        var timestamp = long.Parse(hook.Header("webhook-timestamp"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains(WebhookSigner.Sign(secret, hook.Header("webhook-id"), timestamp, Encoding.UTF8.GetBytes(hook.Body)), hook.Header("webhook-signature").Split(' '));
    }

    [Fact]
    public async Task Submit_OpenAIWithVideoCompleted_DeliveredInOpenAIEventShapeAfterReelaysOwn()
    {
        var secret = (await _server.Http.GetFromJsonAsync<JsonElement>("/v1/webhooks/secret")).GetProperty("secret").GetString()!;
        var id = await SubmitAsync($$"""{"model":"sandbox","prompt":"openai hook","seconds":"1","size":"160x90","webhook_url":"{{HookUrl}}","webhook_events":["video.completed","job.succeeded","video.failed"]}""");

        var hooks = await _receiver.WaitForAsync(r => r.Any(h => h.Body.Contains("video.completed", StringComparison.Ordinal)), TimeSpan.FromSeconds(90));
        await Task.Delay(300);
        var types = _receiver.Received.Select(h => h.Json.GetProperty("type").GetString()).ToList();
        Assert.Equal([WebhookEvents.Succeeded, WebhookEvents.VideoCompleted], types);
        Assert.Equal(id, hooks[0].Json.GetProperty("data").GetProperty("id").GetString());
        Assert.Equal("succeeded", hooks[0].Json.GetProperty("data").GetProperty("status").GetString());
        AssertOpenAIEvent(hooks[1], WebhookEvents.VideoCompleted, id, secret);

        var log = await _server.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}/webhooks");
        Assert.Contains(log.GetProperty("data").EnumerateArray(), d => d.GetProperty("event").GetString() == WebhookEvents.VideoCompleted);
    }

    [Fact]
    public async Task Submit_OpenAIWithVideoFailed_CancelledJobDeliversVideoFailedOnly()
    {
        var secret = (await _server.Http.GetFromJsonAsync<JsonElement>("/v1/webhooks/secret")).GetProperty("secret").GetString()!;
        var id = await SubmitAsync($$"""{"model":"sandbox","prompt":"cancel me","seconds":"20","size":"1920x1080","webhook_url":"{{HookUrl}}","webhook_events":["video.failed"]}""");
        using var cancel = await _server.Http.PostAsync($"/v1/videos/{id}/cancel", null);
        Assert.True(cancel.IsSuccessStatusCode, await cancel.Content.ReadAsStringAsync());

        var hooks = await _receiver.WaitForAsync(r => r.Count >= 1);
        await Task.Delay(300);
        Assert.Single(_receiver.Received);
        AssertOpenAIEvent(hooks[0], WebhookEvents.VideoFailed, id, secret);
    }

    [Theory]
    [InlineData("/v1/tasks/submit", """{"model":"sandbox","input":{"prompt":"x"},"webhook_url":"https://example.com/h","webhook_events":["video.completed"]}""")]
    [InlineData("/v2/video/generations", """{"model":"sandbox","prompt":"x","webhook_url":"https://example.com/h","webhook_events":["video.failed"]}""")]
    public async Task Submit_OtherDialectAsksForOpenAIEventType_400NamingWebhookEvents(string path, string json)
    {
        using var response = await _server.Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        var text = System.Text.RegularExpressions.Regex.Unescape(await response.Content.ReadAsStringAsync());
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Contains("webhook_events", text, StringComparison.Ordinal);
        Assert.Contains("are for jobs submitted through POST /v1/videos", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(JobStatus.Succeeded, null, new[] { "job.succeeded" })]
    [InlineData(JobStatus.Succeeded, new[] { "video.completed" }, new[] { "video.completed" })]
    [InlineData(JobStatus.Succeeded, new[] { "job.succeeded", "video.completed" }, new[] { "job.succeeded", "video.completed" })]
    [InlineData(JobStatus.Failed, new[] { "video.completed", "video.failed" }, new[] { "video.failed" })]
    [InlineData(JobStatus.Cancelled, new[] { "video.failed", "job.cancelled" }, new[] { "job.cancelled", "video.failed" })]
    [InlineData(JobStatus.Running, new[] { "video.completed", "video.failed" }, new string[0])]
    public void Deliveries_FilterWithOpenAITypes_ReelayTypeThenOpenAIAlias(JobStatus status, string[]? filter, string[] expected)
    {
        var job = new Job
        {
            Id = "video_x",
            Owner = "admin",
            Model = "sandbox",
            Mode = VideoMode.TextToVideo,
            Status = status,
            DurationSeconds = 1,
            Width = 160,
            Height = 90,
            CreatedAt = DateTimeOffset.UnixEpoch,
            UpdatedAt = DateTimeOffset.UnixEpoch,
            Deadline = DateTimeOffset.UnixEpoch.AddHours(1),
            WebhookUrl = "https://example.com/h",
            WebhookEvents = filter,
        };
        var raised = WebhookEvents.Terminal(status) ?? WebhookEvents.Running;
        Assert.Equal(expected, WebhookEvents.Deliveries(job, raised));
        Assert.All(WebhookEvents.OpenAI, t => Assert.True(WebhookEvents.Rank(t) > WebhookEvents.Rank(WebhookEvents.Succeeded)));
    }
}
