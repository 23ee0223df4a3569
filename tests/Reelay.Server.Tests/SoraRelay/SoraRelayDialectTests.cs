using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Engine;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.SoraRelay;

/// <summary>
/// Seed 004 (the Sora reseller's POST /v2/videos/generations): its curl example run through real curl with only host
/// and key changed, the query reconstructed from client code, and notify_hook callbacks to a loopback receiver.
/// </summary>
public sealed partial class SoraRelayDialectTests : IAsyncLifetime
{
    private static readonly string[] QueryFields = ["task_id", "status", "progress", "fail_reason", "data", "submit_time", "start_time", "finish_time"];

    private ReelayTestServer _server = null!;
    private ImageHost _images = null!;
    private HookReceiver _receiver = null!;

    public async Task InitializeAsync()
    {
        // The image and the hook receiver live on loopback, allowlisted for this test only (refused by default).
        _images = await ImageHost.StartAsync("/frames/boat.jpg", await TestFiles.ImageAsync(1024, 768, "jpg"), "image/jpeg");
        _receiver = await HookReceiver.StartAsync();
        _server = await ReelayTestServer.StartAsync(new()
        {
            ["Reelay:Sandbox:StandInFor:0"] = "*",
            ["Reelay:Limits:AllowPrivateNetworks:0"] = "127.0.0.1",
            ["Reelay:Webhooks:FirstRetryDelay"] = "00:00:00.200",
        });
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _receiver.DisposeAsync();
        await _images.DisposeAsync();
    }

    private string Host => _server.BaseAddress.ToString().TrimEnd('/');

    private string ImageUrl => _images.BaseAddress + "frames/boat.jpg";

    private string HookUrl => _receiver.BaseAddress + "hooks/sora?token=s3cret";

    /// <summary>Seed 004's curl example, with only the host and the key changed.</summary>
    private static Task<(int Status, JsonElement Body)> SeedCurl(string host, string key, string data) => Curl.RunAsync(
        "--location", "--request", "POST", $"{host}/v2/videos/generations",
        "--header", $"Authorization: Bearer {key}",
        "--header", "Content-Type: application/json",
        "--data-raw", data);

    private Task<(int Status, JsonElement Body)> Submit(string data) => SeedCurl(Host, _server.ApiKey, data);

    private Task<(int Status, JsonElement Body)> Query(string taskId, string? key = null) => Curl.RunAsync(
        "--location", "--request", "GET", $"{Host}/v2/videos/generations/{taskId}",
        "--header", $"Authorization: Bearer {key ?? _server.ApiKey}");

    private async Task<string> SubmitOkAsync(string data)
    {
        var (status, body) = await Submit(data);
        Assert.True(status == 200, body.ToString());
        Assert.Equal(["task_id"], body.EnumerateObject().Select(p => p.Name));
        return body.GetProperty("task_id").GetString()!;
    }

    /// <summary>Polls the query until the task finishes, checking the shape of every answer on the way.</summary>
    private async Task<(JsonElement Final, List<string> Seen)> PollUntilFinishedAsync(string taskId)
    {
        var seen = new List<string>();
        var lastProgress = 0;
        for (var i = 0; i < 600; i++)
        {
            var (code, body) = await Query(taskId);
            Assert.Equal(200, code);
            Assert.Equal(QueryFields, body.EnumerateObject().Select(p => p.Name));
            Assert.Equal(taskId, body.GetProperty("task_id").GetString());
            var status = body.GetProperty("status").GetString()!;
            Assert.Contains(status, new[] { "NOT_START", "IN_PROGRESS", "SUCCESS", "FAILURE" });
            if (seen.Count == 0 || seen[^1] != status)
            {
                seen.Add(status);
            }

            var progress = body.GetProperty("progress").GetString()!;
            Assert.Matches(ProgressPattern(), progress);
            var percent = int.Parse(progress.TrimEnd('%'), System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(percent >= lastProgress, $"progress went back from {lastProgress}% to {progress}");
            lastProgress = percent;
            Assert.True(body.GetProperty("submit_time").GetInt64() > 1_700_000_000);
            if (status is "SUCCESS" or "FAILURE")
            {
                return (body, seen);
            }

            Assert.Equal("", body.GetProperty("fail_reason").GetString());
            Assert.False(body.GetProperty("data").TryGetProperty("output", out _));
            Assert.Equal(0, body.GetProperty("finish_time").GetInt64());
            Assert.Equal(status == "NOT_START", body.GetProperty("start_time").GetInt64() == 0);
            await Task.Delay(100);
        }

        throw new TimeoutException(taskId);
    }

    [GeneratedRegex("^([0-9]|[1-9][0-9]|100)%$")]
    private static partial Regex ProgressPattern();

    [Fact]
    public async Task Seed004_VerbatimCurl_400NamingEveryPlaceholderField()
    {
        // The example exactly as the document prints it: "string" placeholders, and hd with sora-2, which the same
        // document says only sora-2-pro supports. Invalid by the document's own rules, so a clear 400 naming each field.
        var (status, body) = await Submit("""
            {
                "prompt": "string",
                "model": "sora-2",
                "images": [
                    "string"
                ],
                "aspect_ratio": "16:9",
                "hd": true,
                "duration": "10",
                "notify_hook": "string",
                "watermark": true,
                "private": true
            }
            """);

        Assert.Equal(400, status);
        var message = body.GetProperty("message").GetString()!;
        var error = body.GetProperty("error");
        Assert.Equal(message, error.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("invalid_request", error.GetProperty("code").GetString());
        Assert.Equal("images[0]", error.GetProperty("param").GetString());
        Assert.StartsWith("3 fields are invalid:", message, StringComparison.Ordinal);
        Assert.Contains("'images[0]' is neither an http(s) URL nor valid base64 image data", message, StringComparison.Ordinal);
        Assert.Contains("hd is supported only by sora-2-pro", message, StringComparison.Ordinal);
        Assert.Contains("notify_hook 'string' is not an absolute http(s) URL", message, StringComparison.Ordinal);
        Assert.Empty(_receiver.Received);
    }

    [Fact]
    public async Task Seed004_FilledInCurl_SucceedsWithEveryQueryFieldAndNotifiesEachStatus()
    {
        // The same example with its placeholders filled in: a real image URL and hook, and sora-2-pro so that hd is allowed.
        var taskId = await SubmitOkAsync($$"""
            {
                "prompt": "A paper boat drifts across a rain puddle, slow push in",
                "model": "sora-2-pro",
                "images": [
                    "{{ImageUrl}}"
                ],
                "aspect_ratio": "16:9",
                "hd": true,
                "duration": "10",
                "notify_hook": "{{HookUrl}}",
                "watermark": true,
                "private": true
            }
            """);
        Assert.StartsWith("video_", taskId, StringComparison.Ordinal);

        var (final, seen) = await PollUntilFinishedAsync(taskId);
        Assert.Equal("SUCCESS", final.GetProperty("status").GetString());
        Assert.Equal(seen, new[] { "NOT_START", "IN_PROGRESS", "SUCCESS" }.Where(seen.Contains));
        Assert.Equal("100%", final.GetProperty("progress").GetString());
        Assert.Equal("", final.GetProperty("fail_reason").GetString());
        var submit = final.GetProperty("submit_time").GetInt64();
        var start = final.GetProperty("start_time").GetInt64();
        var finish = final.GetProperty("finish_time").GetInt64();
        Assert.True(submit <= start && start <= finish, $"{submit} <= {start} <= {finish}");
        var output = final.GetProperty("data").GetProperty("output").GetString()!;
        Assert.StartsWith($"{Host}/content/{taskId}/video?expires=", output, StringComparison.Ordinal);

        // The link needs no key, and is Reelay's own copy of the 10 s video at sora-2-pro's HD landscape size.
        using var anonymous = new HttpClient();
        var video = await anonymous.GetByteArrayAsync(output);
        var path = Path.Combine(_server.DataDirectory, taskId + ".mp4");
        await File.WriteAllBytesAsync(path, video);
        var probe = await TestFiles.FfprobeAsync(path, "stream=width,height:format=duration");
        Assert.Contains("width=1792", probe, StringComparison.Ordinal);
        Assert.Contains("height=1024", probe, StringComparison.Ordinal);
        Assert.Contains("duration=10.0", probe, StringComparison.Ordinal);

        // notify_hook: one POST per status, in order, each body the query shape; the last one is SUCCESS.
        var hooks = await _receiver.WaitForAsync(r => r.Any(h => h.Status == "SUCCESS"));
        var statuses = hooks.Select(h => h.Status!).ToList();
        Assert.Equal(statuses, new[] { "NOT_START", "IN_PROGRESS", "SUCCESS" }.Where(statuses.Contains));
        Assert.Contains("IN_PROGRESS", statuses);
        foreach (var hook in hooks)
        {
            Assert.Equal("POST", hook.Method);
            Assert.Equal("/hooks/sora?token=s3cret", hook.PathAndQuery);
            Assert.StartsWith("application/json", hook.Header("Content-Type"), StringComparison.Ordinal);
            Assert.Equal("Reelay/1.0 (notify_hook)", hook.Header("User-Agent"));
            Assert.Equal(taskId, hook.Header("X-Reelay-Task-Id"));
            Assert.Equal(hook.Status, hook.Header("X-Reelay-Status"));
            Assert.Equal($"{taskId}:{hook.Status}", hook.Header("X-Reelay-Delivery-Id"));
            Assert.Equal("1", hook.Header("X-Reelay-Attempt"));
            Assert.Equal(QueryFields, hook.Json.EnumerateObject().Select(p => p.Name));
            Assert.Equal(taskId, hook.Json.GetProperty("task_id").GetString());
        }

        // The SUCCESS body is the final query body (its link is signed separately, so compare it without the signature).
        var success = hooks.Single(h => h.Status == "SUCCESS").Json;
        foreach (var field in QueryFields.Where(f => f != "data"))
        {
            Assert.Equal(final.GetProperty(field).ToString(), success.GetProperty(field).ToString());
        }

        var hookOutput = success.GetProperty("data").GetProperty("output").GetString()!;
        Assert.Equal(output.Split('?')[0], hookOutput.Split('?')[0]);
        Assert.Equal(video.Length, (await anonymous.GetByteArrayAsync(hookOutput)).Length);

        // Stored on the job: watermark and private as options, notify_hook as its webhook; and readable through OpenAI's API.
        var job = await _server.App.Services.GetRequiredService<JobEngine>().GetAsync(taskId, Caller.Admin, CancellationToken.None);
        Assert.Equal(("true", "true"), (job.Options["watermark"], job.Options["private"]));
        Assert.Equal(HookUrl, job.WebhookUrl);
        Assert.Equal(("1080p", "16:9"), (job.Resolution, job.AspectRatio));
        var openai = await _server.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{taskId}");
        Assert.Equal(("completed", "sora-2-pro", "1792x1024", "10"), (openai.GetProperty("status").GetString(), openai.GetProperty("model").GetString(), openai.GetProperty("size").GetString(), openai.GetProperty("seconds").GetString()));
    }

    [Fact]
    public async Task NotifyHook_ReceiverAnswers500TwiceThen200_SameDeliveryRetriedUntilAccepted()
    {
        var successes = 0;
        _receiver.Respond = hook => hook.Status == "SUCCESS" && Interlocked.Increment(ref successes) <= 2 ? 500 : 200;
        var taskId = await SubmitOkAsync($$"""{"prompt":"retry me","model":"sandbox","duration":"1","aspect_ratio":"16:9","notify_hook":"{{HookUrl}}"}""");

        var hooks = await _receiver.WaitForAsync(r => r.Count(h => h.Status == "SUCCESS") >= 3);
        await Task.Delay(1000);
        var attempts = _receiver.Received.Where(h => h.Status == "SUCCESS").ToList();
        Assert.Equal(3, attempts.Count);
        Assert.Equal(["1", "2", "3"], attempts.Select(h => h.Header("X-Reelay-Attempt")));
        Assert.All(attempts, h => Assert.Equal($"{taskId}:SUCCESS", h.Header("X-Reelay-Delivery-Id")));
        Assert.All(attempts, h => Assert.Equal(attempts[0].Body, h.Body));
        Assert.Single(hooks, h => h.Status == "IN_PROGRESS");
    }

    [Fact]
    public async Task NotifyHook_ReceiverAnswers404_NotRetried()
    {
        _receiver.Respond = _ => 404;
        var taskId = await SubmitOkAsync($$"""{"prompt":"gone","model":"sandbox","duration":"1","notify_hook":"{{HookUrl}}"}""");

        await _receiver.WaitForAsync(r => r.Any(h => h.Status == "SUCCESS"));
        await Task.Delay(1000);
        var received = _receiver.Received;
        Assert.Equal(received.Count, received.Select(h => h.Status).Distinct().Count());
        Assert.All(received, h => Assert.Equal("1", h.Header("X-Reelay-Attempt")));
        Assert.All(received, h => Assert.Equal(taskId, h.Header("X-Reelay-Task-Id")));
    }

    [Fact]
    public async Task Query_CancelledTask_FailureWithFailReasonAndHook()
    {
        var taskId = await SubmitOkAsync($$"""{"prompt":"long one","model":"sandbox","duration":"20","hd":true,"notify_hook":"{{HookUrl}}"}""");
        using var cancel = await _server.Http.PostAsync($"/v1/videos/{taskId}/cancel", null);
        Assert.True(cancel.IsSuccessStatusCode, await cancel.Content.ReadAsStringAsync());

        var (status, body) = await Query(taskId);
        Assert.Equal(200, status);
        Assert.Equal("FAILURE", body.GetProperty("status").GetString());
        Assert.Equal("The job was cancelled by its owner.", body.GetProperty("fail_reason").GetString());
        Assert.False(body.GetProperty("data").TryGetProperty("output", out _));
        Assert.True(body.GetProperty("finish_time").GetInt64() >= body.GetProperty("submit_time").GetInt64());

        var hooks = await _receiver.WaitForAsync(r => r.Any(h => h.Status == "FAILURE"));
        Assert.Equal("The job was cancelled by its owner.", hooks.Single(h => h.Status == "FAILURE").Json.GetProperty("fail_reason").GetString());
    }

    [Theory]
    [InlineData("{\"model\":", "body", "invalid_request", "not valid JSON")]
    [InlineData("[\"sora-2\"]", "body", "invalid_request", "JSON object")]
    [InlineData("{\"model\":\"sora-2\"}", "prompt", "invalid_request", "'prompt' is required")]
    [InlineData("{\"model\":\"sora-2\",\"prompt\":7}", "prompt", "invalid_request", "'prompt' must be a string")]
    [InlineData("{\"prompt\":\"x\"}", "model", "invalid_request", "'model' is required; allowed: sora-2, sora-2-pro or sandbox")]
    [InlineData("{\"prompt\":\"x\",\"model\":\"sora-3\"}", "model", "unsupported_model", "allowed: sora-2, sora-2-pro or sandbox")]
    [InlineData("{\"prompt\":\"x\",\"model\":\"sora-2\",\"aspect_ratio\":\"1:1\"}", "aspect_ratio", "invalid_request", "allowed: 16:9 or 9:16")]
    [InlineData("{\"prompt\":\"x\",\"model\":\"sora-2\",\"duration\":\"7\"}", "duration", "invalid_request", "allowed: 4, 8, 10, 12 or 15 seconds")]
    [InlineData("{\"prompt\":\"x\",\"model\":\"sora-2\",\"duration\":\"25\"}", "duration", "invalid_request", "allowed: 4, 8, 10, 12 or 15 seconds")]
    [InlineData("{\"prompt\":\"x\",\"model\":\"sora-2\",\"duration\":\"ten\"}", "duration", "invalid_request", "offers 4, 8, 10, 12 or 15")]
    [InlineData("{\"prompt\":\"x\",\"model\":\"sora-2-pro\",\"duration\":[10]}", "duration", "invalid_request", "must be a string")]
    [InlineData("{\"prompt\":\"x\",\"model\":\"sora-2-pro\",\"hd\":\"yes\"}", "hd", "invalid_request", "'hd' must be a boolean, true or false (got a string \"yes\")")]
    [InlineData("{\"prompt\":\"x\",\"model\":\"sora-2\",\"hd\":true}", "hd", "invalid_request", "hd is supported only by sora-2-pro")]
    [InlineData("{\"prompt\":\"x\",\"model\":\"sora-2-pro\",\"hd\":true,\"duration\":\"25\"}", "duration", "invalid_request", "cannot be combined with hd")]
    [InlineData("{\"prompt\":\"x\",\"model\":\"sora-2\",\"images\":[\"data:image/png;base64,aGVsbG8=\",\"data:image/png;base64,aGVsbG8=\"]}", "images", "invalid_request", "at most one")]
    [InlineData("{\"prompt\":\"x\",\"model\":\"sora-2\",\"images\":\"https://example.com/a.png\"}", "images", "invalid_request", "must be an array")]
    [InlineData("{\"prompt\":\"x\",\"model\":\"sora-2\",\"images\":[\"data:image/png;base64,aGVsbG8=\"]}", "images[0]", "image_invalid", "not a PNG, JPEG or WebP")]
    [InlineData("{\"prompt\":\"x\",\"model\":\"sora-2\",\"notify_hook\":\"string\"}", "notify_hook", "invalid_request", "not an absolute http(s) URL")]
    [InlineData("{\"prompt\":\"x\",\"model\":\"sora-2\",\"notify_hook\":\"ftp://example.com/hook\"}", "notify_hook", "invalid_request", "not an absolute http(s) URL")]
    [InlineData("{\"prompt\":\"x\",\"model\":\"sora-2\",\"watermark\":\"yes\"}", "watermark", "invalid_request", "must be a boolean")]
    [InlineData("{\"prompt\":\"x\",\"model\":\"sora-2\",\"private\":1}", "private", "invalid_request", "must be a boolean")]
    [InlineData("{\"prompt\":\"x\",\"model\":\"sora-2\",\"seed\":42}", "seed", "invalid_request", "does not take a seed")]
    [InlineData("{\"prompt\":\"x\",\"model\":\"sandbox\",\"watermark\":true}", "watermark", "invalid_request", "does not take the option 'watermark'")]
    [InlineData("{\"prompt\":\"x\",\"model\":\"sora-2\",\"character_url\":\"https://example.com/c.mp4\"}", "character_url", "invalid_request", "character cameos")]
    [InlineData("{\"prompt\":\"x\",\"model\":\"sora-2\",\"style\":\"anime\"}", "style", "invalid_request", "allowed fields: prompt, model, images")]
    public async Task Submit_BadInput_4xxEnvelopeNamingTheField(string data, string param, string code, string message)
    {
        var (status, body) = await Submit(data);
        Assert.Equal(400, status);
        var error = body.GetProperty("error");
        Assert.Equal(body.GetProperty("message").GetString(), error.GetProperty("message").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains(param, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, (await _server.Http.GetFromJsonAsync<JsonElement>("/v1/videos")).GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task Submit_OversizedImage_400NamingImages0()
    {
        await using var small = await ReelayTestServer.StartAsync(new()
        {
            ["Reelay:Sandbox:StandInFor:0"] = "*",
            ["Reelay:Limits:AllowPrivateNetworks:0"] = "127.0.0.1",
            ["Reelay:Limits:MaxImageBytes"] = "2048",
        });
        var (status, body) = await SeedCurl(small.BaseAddress.ToString().TrimEnd('/'), small.ApiKey, $$"""{"prompt":"x","model":"sora-2","images":["{{ImageUrl}}"]}""");
        Assert.Equal(400, status);
        var error = body.GetProperty("error");
        Assert.Equal(("images[0]", "image_invalid"), (error.GetProperty("param").GetString(), error.GetProperty("code").GetString()));
        Assert.Contains("at most 2048 bytes are allowed", body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_NotifyHookAtPrivateAddressWithoutAllowlist_RefusedAtSubmitOrAtSend()
    {
        await using var strict = await ReelayTestServer.StartAsync(new() { ["Reelay:Sandbox:StandInFor:0"] = "*" });
        var host = strict.BaseAddress.ToString().TrimEnd('/');
        foreach (var hook in new[] { $"http://127.0.0.1:{_receiver.BaseAddress.Port}/hooks", "http://10.1.2.3/hook", "http://169.254.169.254/latest/meta-data", "http://[::1]/hook", "https://192.168.1.20:8443/cb?k=v" })
        {
            var (status, body) = await SeedCurl(host, strict.ApiKey, $$"""{"prompt":"x","model":"sandbox","duration":"1","notify_hook":"{{hook}}"}""");
            Assert.True(status == 400, hook);
            Assert.Equal("notify_hook", body.GetProperty("error").GetProperty("param").GetString());
            Assert.Contains("loopback, private, link-local, metadata or multicast", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        // A name is resolved when the hook is sent, and its loopback address is refused then: nothing reaches the receiver.
        var (accepted, created) = await SeedCurl(host, strict.ApiKey, $$"""{"prompt":"x","model":"sandbox","duration":"1","notify_hook":"http://localhost:{{_receiver.BaseAddress.Port}}/hooks"}""");
        Assert.Equal(200, accepted);
        var taskId = created.GetProperty("task_id").GetString()!;
        var finished = false;
        for (var i = 0; i < 300 && !finished; i++)
        {
            var (_, task) = await Curl.RunAsync($"{host}/v2/videos/generations/{taskId}", "--header", $"Authorization: Bearer {strict.ApiKey}");
            finished = task.GetProperty("status").GetString() == "SUCCESS";
            await Task.Delay(100);
        }

        Assert.True(finished, taskId);
        await Task.Delay(1000);
        Assert.Empty(_receiver.Received);
    }

    [Fact]
    public async Task Query_UnknownTask_404Envelope()
    {
        var (status, body) = await Query("video_00000000000000000000000000000000");
        Assert.Equal(404, status);
        var error = body.GetProperty("error");
        Assert.Equal(("not_found", "task_id", "invalid_request_error"), (error.GetProperty("code").GetString(), error.GetProperty("param").GetString(), error.GetProperty("type").GetString()));
        Assert.Contains("video_00000000000000000000000000000000", body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubmitAndQuery_WrongOrMissingKey_401Envelope()
    {
        var (status, body) = await SeedCurl(Host, "wrong-key", """{"prompt":"x","model":"sandbox"}""");
        Assert.Equal(401, status);
        Assert.Equal(("unauthorized", "authentication_error"), (body.GetProperty("error").GetProperty("code").GetString(), body.GetProperty("error").GetProperty("type").GetString()));
        Assert.Contains("Authorization: Bearer", body.GetProperty("message").GetString(), StringComparison.Ordinal);

        var (missing, denied) = await Curl.RunAsync($"{Host}/v2/videos/generations/video_x");
        Assert.Equal(401, missing);
        Assert.Equal("unauthorized", denied.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Submit_TextOnlySandbox_ReadableThroughOpenAIDialectWithoutHooks()
    {
        var taskId = await SubmitOkAsync("""{"prompt":"one id space","model":"sandbox","duration":"1","aspect_ratio":"9:16","notify_hook":""}""");
        var video = await _server.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{taskId}");
        Assert.Equal((taskId, "720x1280", "1"), (video.GetProperty("id").GetString(), video.GetProperty("size").GetString(), video.GetProperty("seconds").GetString()));
        var (final, _) = await PollUntilFinishedAsync(taskId);
        Assert.Equal("SUCCESS", final.GetProperty("status").GetString());
        Assert.Empty(_receiver.Received);
    }
}
