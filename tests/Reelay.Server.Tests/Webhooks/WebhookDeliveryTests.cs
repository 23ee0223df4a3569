using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Reelay.Server.Tests.Hosting;
using Reelay.Server.Tests.SoraRelay;
using Reelay.Server.Tests.Support;
using Reelay.Webhooks;

namespace Reelay.Server.Tests.Webhooks;

/// <summary>Signed webhooks end to end: the submit extension fields, the secret and delivery-log endpoints, and a crash mid-delivery.</summary>
public sealed class WebhookDeliveryTests : IAsyncLifetime
{
    private ReelayTestServer _server = null!;
    private HookReceiver _receiver = null!;

    public async Task InitializeAsync()
    {
        _receiver = await HookReceiver.StartAsync();
        _server = await ReelayTestServer.StartAsync(new()
        {
            ["Reelay:Limits:AllowPrivateNetworks:0"] = "127.0.0.1",
            ["Reelay:Webhooks:FirstRetryDelay"] = "00:00:00.200",
        });
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    private string HookUrl => _receiver.BaseAddress + "hooks/reelay?token=t0k3n";

    private static void AssertSigned(ReceivedHook hook, string secret)
    {
        var timestamp = long.Parse(hook.Header("webhook-timestamp"), System.Globalization.CultureInfo.InvariantCulture);
        var expected = WebhookSigner.Sign(secret, hook.Header("webhook-id"), timestamp, Encoding.UTF8.GetBytes(hook.Body));
        Assert.Contains(expected, hook.Header("webhook-signature").Split(' '));
    }

    [Fact]
    public async Task Submit_OpenAIJsonWithWebhook_EveryEventSignedInOrderAndLogged()
    {
        var secret = (await _server.Http.GetFromJsonAsync<JsonElement>("/v1/webhooks/secret")).GetProperty("secret").GetString()!;
        using var response = await _server.Http.PostAsync("/v1/videos", new StringContent(
            $$"""{"model":"sandbox","prompt":"hooked","seconds":"1","size":"640x360","webhook_url":"{{HookUrl}}","metadata":{"order":"A-1"} }""", Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        var hooks = await _receiver.WaitForAsync(r => r.Any(h => h.Body.Contains("job.succeeded", StringComparison.Ordinal)));
        var types = hooks.Select(h => h.Json.GetProperty("type").GetString()!).ToList();
        Assert.Equal(WebhookEvents.Queued, types[0]);
        Assert.Equal(WebhookEvents.Running, types[1]);
        Assert.Equal(WebhookEvents.Succeeded, types[^1]);
        Assert.All(types.Skip(2).SkipLast(1), t => Assert.Equal(WebhookEvents.Progress, t));
        Assert.Equal(hooks.Count, hooks.Select(h => h.Header("webhook-id")).Distinct().Count());
        foreach (var hook in hooks)
        {
            AssertSigned(hook, secret);
            Assert.Equal("/hooks/reelay?token=t0k3n", hook.PathAndQuery);
            Assert.Equal(id, hook.Json.GetProperty("data").GetProperty("id").GetString());
        }

        var last = hooks[^1].Json.GetProperty("data");
        Assert.Equal(("succeeded", 100, "A-1"), (last.GetProperty("status").GetString(), last.GetProperty("progress").GetInt32(), last.GetProperty("metadata").GetProperty("order").GetString()));

        JsonElement log = default;
        var until = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < until && (log = await _server.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}/webhooks")).GetProperty("data").EnumerateArray().Any(d => d.GetProperty("status").GetString() != "delivered"))
        {
            await Task.Delay(50);
        }

        var entries = log.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(hooks.Select(h => h.Header("webhook-id")), entries.Select(e => e.GetProperty("id").GetString()));
        Assert.All(entries, e => Assert.Equal(("delivered", 200, 1), (e.GetProperty("status").GetString(), e.GetProperty("last_status_code").GetInt32(), e.GetProperty("attempt_log").GetArrayLength())));
        Assert.All(entries, e => Assert.Equal(_receiver.BaseAddress + "hooks/reelay", e.GetProperty("url").GetString()));
        Assert.DoesNotContain(secret, log.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RotateSecret_AfterRotation_DeliveriesCarryNewAndPreviousSignatures()
    {
        var before = (await _server.Http.GetFromJsonAsync<JsonElement>("/v1/webhooks/secret")).GetProperty("secret").GetString()!;
        using var rotate = await _server.Http.PostAsync("/v1/webhooks/secret/rotate", null);
        var rotated = await rotate.Content.ReadFromJsonAsync<JsonElement>();
        var after = rotated.GetProperty("secret").GetString()!;
        Assert.NotEqual(before, after);
        Assert.True(rotated.GetProperty("previous_secret_expires_at").GetInt64() > DateTimeOffset.UtcNow.AddHours(23).ToUnixTimeSeconds());
        Assert.Equal(after, (await _server.Http.GetFromJsonAsync<JsonElement>("/v1/webhooks/secret")).GetProperty("secret").GetString());

        using var response = await _server.Http.PostAsync("/v1/videos", new StringContent(
            $$"""{"model":"sandbox","prompt":"rotated","seconds":"1","size":"640x360","webhook_url":"{{HookUrl}}","webhook_events":["job.queued"]}""", Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());

        var hook = (await _receiver.WaitForAsync(r => r.Count >= 1)).Single();
        Assert.Equal(2, hook.Header("webhook-signature").Split(' ').Length);
        AssertSigned(hook, after);
        AssertSigned(hook, before);
        Assert.Equal(WebhookSigner.Sign(after, hook.Header("webhook-id"), long.Parse(hook.Header("webhook-timestamp"), System.Globalization.CultureInfo.InvariantCulture), Encoding.UTF8.GetBytes(hook.Body)), hook.Header("webhook-signature").Split(' ')[0]);
    }

    [Theory]
    [InlineData("/v1/videos", """{"model":"sandbox","prompt":"x","webhook_url":"ftp://example.com/h"}""", "webhook_url", "not an absolute http(s) URL")]
    [InlineData("/v1/videos", """{"model":"sandbox","prompt":"x","webhook_url":"http://10.1.2.3/h"}""", "webhook_url", "private")]
    [InlineData("/v1/videos", """{"model":"sandbox","prompt":"x","webhook_url":"https://example.com/h","webhook_events":["job.done"]}""", "webhook_events", "'job.done', which is not an event; allowed: job.queued, job.running, job.progress, job.succeeded, job.failed, job.cancelled")]
    [InlineData("/v1/videos", """{"model":"sandbox","prompt":"x","webhook_events":["job.queued"]}""", "webhook_events", "needs 'webhook_url'")]
    [InlineData("/v2/video/generations", """{"model":"sandbox","prompt":"x","webhook_url":7}""", "webhook_url", "must be a string")]
    [InlineData("/v1/tasks/submit", """{"model":"sandbox","input":{"prompt":"x"},"webhook_url":"https://example.com/h","webhook_events":[]}""", "webhook_events", "is empty")]
    public async Task Submit_BadWebhookField_400NamingTheField(string path, string body, string field, string message)
    {
        using var response = await _server.Http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        var text = System.Text.RegularExpressions.Regex.Unescape(await response.Content.ReadAsStringAsync());

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Contains(field, text, StringComparison.Ordinal);
        Assert.Contains(message, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_MultipartWithWebhookFields_StoredOnTheJob()
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent("sandbox"), "model" },
            { new StringContent("form hook"), "prompt" },
            { new StringContent("1"), "seconds" },
            { new StringContent(HookUrl), "webhook_url" },
            { new StringContent("job.succeeded,job.failed"), "webhook_events" },
        };
        using var response = await _server.Http.PostAsync("/v1/videos", form);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());

        var hooks = await _receiver.WaitForAsync(r => r.Count >= 1);
        await Task.Delay(300);
        Assert.Equal([WebhookEvents.Succeeded], _receiver.Received.Select(h => h.Json.GetProperty("type").GetString()));
        Assert.Equal(hooks[0].Header("webhook-id"), _receiver.Received.Single().Header("webhook-id"));
    }

    [Fact]
    public async Task Deliveries_UnknownJob_404InOpenAIEnvelope()
    {
        using var response = await _server.Http.GetAsync("/v1/videos/video_nope/webhooks");

        Assert.Equal(404, (int)response.StatusCode);
        Assert.Equal("video_nope", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("message").GetString()!.Split('\'')[1]);
    }

    [Fact]
    public async Task Serve_KilledMidDelivery_SameWebhookIdDeliveredAfterRestart()
    {
        var data = Path.Combine(Path.GetTempPath(), "reelay-hookcrash-" + Guid.NewGuid().ToString("N"));
        var key = "rk_test_" + Guid.NewGuid().ToString("N");
        var hung = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var environment = new Dictionary<string, string>
        {
            ["Reelay__Limits__AllowPrivateNetworks__0"] = "127.0.0.1",
            ["Reelay__Webhooks__FirstRetryDelay"] = "00:00:00.300",
            ["Reelay__Webhooks__MaxRetryDelay"] = "00:00:01",
        };
        var attempts = 0;
        var accept = false;
        _receiver.Respond = _ =>
        {
            if (Volatile.Read(ref accept))
            {
                return 200;
            }

            if (Interlocked.Increment(ref attempts) == 2)
            {
                // The second attempt hangs: the gateway is killed while it waits for the answer.
                hung.TrySetResult();
                Thread.Sleep(3000);
            }

            return 500;
        };
        try
        {
            string id;
            string webhookId;
            await using (var first = await CrashRecoveryTests.ServeProcess.StartAsync(data, key, environment))
            {
                using var response = await first.Http.PostAsync("/v1/videos", new StringContent(
                    $$"""{"model":"sandbox","prompt":"crash hook","seconds":"1","size":"640x360","webhook_url":"{{HookUrl}}","webhook_events":["job.queued"]}""", Encoding.UTF8, "application/json"));
                Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
                id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
                await hung.Task.WaitAsync(TimeSpan.FromSeconds(30));
                webhookId = _receiver.Received[0].Header("webhook-id");
                first.Crash();
            }

            Volatile.Write(ref accept, true);
            await using var second = await CrashRecoveryTests.ServeProcess.StartAsync(data, key, environment);
            var secret = (await second.Http.GetFromJsonAsync<JsonElement>("/v1/webhooks/secret")).GetProperty("secret").GetString()!;
            var received = await _receiver.WaitForAsync(r => r.Count >= 3, TimeSpan.FromSeconds(30));
            Assert.All(received, h => Assert.Equal(webhookId, h.Header("webhook-id")));
            AssertSigned(received[^1], secret);

            JsonElement entry = default;
            var until = DateTime.UtcNow.AddSeconds(10);
            while (DateTime.UtcNow < until && (entry = (await second.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}/webhooks")).GetProperty("data")[0]).GetProperty("status").GetString() != "delivered")
            {
                await Task.Delay(50);
            }

            Assert.Equal((webhookId, "delivered", 200), (entry.GetProperty("id").GetString(), entry.GetProperty("status").GetString(), entry.GetProperty("last_status_code").GetInt32()));
            Assert.Equal(500, entry.GetProperty("attempt_log")[0].GetProperty("status_code").GetInt32());
        }
        finally
        {
            ReelayTestServer.TryDeleteDirectory(data);
        }
    }
}
