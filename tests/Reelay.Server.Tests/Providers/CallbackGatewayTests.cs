using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Reelay.Emulators.Fal;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.Kling;
using Reelay.Emulators.Seedance;
using Reelay.Emulators.Veo;
using Reelay.Emulators.Vidu;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers;

/// <summary>
/// Provider callbacks through a real gateway and each provider's EMULATOR: the emulator calls the per-job URL when its task
/// ends, and the gateway polls at once (its own first poll would come only 16-24 s after the submit here). Forged tokens answer 404, a
/// fal callback without a valid ED25519 signature 401, and a callback's body never becomes the job's truth.
/// </summary>
public sealed class CallbackGatewayTests
{
    private static readonly TimeSpan SlowPolls = TimeSpan.FromSeconds(20);

    private static EmulatorOptions Fast(string key) => new() { ApiKey = key, QueueTime = TimeSpan.FromMilliseconds(100), RunTime = TimeSpan.FromMilliseconds(700) };

    /// <summary>A gateway whose public base URL is its own loopback address, polling slowly, routed to one emulator.</summary>
    private static async Task<ReelayTestServer> GatewayAsync(string type, UpstreamEmulator emulator, string model, Dictionary<string, string?>? extra = null)
    {
        var port = FreePort();
        var settings = GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("up", type, emulator),
            new()
            {
                ["urls"] = $"http://127.0.0.1:{port}",
                ["Reelay:PublicBaseUrl"] = $"http://127.0.0.1:{port}",
                ["Reelay:Providers:up:PollInterval"] = SlowPolls.ToString(),
                ["Reelay:Providers:up:MaxPollInterval"] = SlowPolls.ToString(),
                [$"Reelay:Routes:{model}:0:Provider"] = "up",
            },
            extra ?? []);
        var server = await ReelayTestServer.StartAsync(settings);
        Assert.Equal(port, server.BaseAddress.Port);
        return server;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<string> RunAsync(ReelayTestServer server, object body)
    {
        var id = await GatewayWithEmulators.CreateAsync(server, body);
        var video = await GatewayWithEmulators.WaitAsync(server, id, TimeSpan.FromSeconds(90));
        Assert.Equal("completed", video.GetProperty("status").GetString());
        return id;
    }

    /// <summary>
    /// The emulator sent one callback, answered 200, and the gateway's next status request came within a few seconds of it:
    /// the job's own first poll is due 16-24 s after its submit (the task ends under a second after it), so this poll is
    /// the hint's. (Finishing the job also runs ffprobe and ffmpeg, which on a loaded machine take seconds: not measured.)
    /// </summary>
    private static void AssertPolledOnTheCallback(UpstreamEmulator emulator, Func<RecordedRequest, bool> isPoll)
    {
        var sent = Assert.Single(emulator.Callbacks.Sent);
        Assert.Equal(200, sent.Status);
        var submitted = emulator.Requests.First(r => r.Method == "POST").At;
        var poll = emulator.Requests.FirstOrDefault(r => isPoll(r) && r.At >= sent.SentAt);
        Assert.True(poll is not null, "no poll after the callback");
        Assert.True(poll.At - sent.SentAt < TimeSpan.FromSeconds(6), $"the first poll after the callback came {poll.At - sent.SentAt} after it");
        Assert.True(poll.At - submitted < SlowPolls * 0.8, $"the first poll after the callback came {poll.At - submitted} after the submit: the job's own schedule, not the hint");
    }

    private static string CallbackUrlOf(UpstreamEmulator emulator, string field)
    {
        var submit = emulator.Requests.First(r => r.Method == "POST" && r.Body.Contains(field, StringComparison.Ordinal));
        return submit.Json.GetProperty(field).GetString()!;
    }

    [Fact]
    public async Task Seedance_CallbackUrlSent_EmulatorCallsBackAndTheGatewayPollsAtOnce()
    {
        await using var ark = new SeedanceEmulator(Fast("ark-key-0123456789"));
        await ark.StartAsync();
        await using var server = await GatewayAsync("seedance", ark, "seedance-2-0");

        var id = await RunAsync(server, new { model = "seedance-2-0", prompt = "a paper boat", seconds = "4", size = "864x496" });

        AssertPolledOnTheCallback(ark, r => r.Method == "GET" && r.PathAndQuery.Contains("/tasks/cgt-", StringComparison.Ordinal));
        var url = CallbackUrlOf(ark, "callback_url");
        Assert.StartsWith(server.BaseAddress.GetLeftPart(UriPartial.Authority) + "/callbacks/up/" + id + ".", url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kling_CallbackUrlSent_EmulatorCallsBackAndTheGatewayPollsAtOnce()
    {
        await using var kling = new KlingEmulator(Fast("ak-callbacks-0001:sk-callbacks-secret-0123456789abcdef"));
        await kling.StartAsync();
        await using var server = await GatewayAsync("kling", kling, "kling-v2-5-turbo");

        var id = await RunAsync(server, new { model = "kling-v2-5-turbo", prompt = "a paper boat", seconds = "5", size = "1280x720" });

        AssertPolledOnTheCallback(kling, r => r.Method == "GET" && r.PathAndQuery.StartsWith("/v1/videos/text2video/", StringComparison.Ordinal));
        Assert.Contains("/callbacks/up/" + id + ".", CallbackUrlOf(kling, "callback_url"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Vidu_CallbackUrlSent_EmulatorCallsBackAndTheGatewayPollsAtOnce()
    {
        await using var vidu = new ViduEmulator(Fast("vidu-key-0123456789"));
        await vidu.StartAsync();
        await using var server = await GatewayAsync("vidu", vidu, "viduq2-pro");
        var image = await TestFiles.ImageAsync(640, 480);

        var id = await RunAsync(server, new
        {
            model = "viduq2-pro",
            prompt = "the astronaut waves",
            seconds = "5",
            input_reference = new { image_url = "data:image/png;base64," + Convert.ToBase64String(image) },
        });

        AssertPolledOnTheCallback(vidu, r => r.Method == "GET" && r.PathAndQuery.Contains("/creations", StringComparison.Ordinal));
        Assert.Contains("/callbacks/up/" + id + ".", CallbackUrlOf(vidu, "callback_url"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fal_SignedWebhook_VerifiedAgainstTheEmulatorsJwksAndTheGatewayPollsAtOnce()
    {
        await using var fal = new FalEmulator(Fast("fal-key-0123456789"));
        await fal.StartAsync();
        await using var server = await GatewayAsync("fal", fal, "veo-3.1", new() { ["Reelay:Providers:up:Callbacks:JwksUrl"] = fal.JwksUrl.AbsoluteUri });

        var id = await RunAsync(server, new { model = "veo-3.1", prompt = "a paper boat", seconds = "4", size = "1280x720" });

        AssertPolledOnTheCallback(fal, r => r.Method == "GET" && r.PathAndQuery.Contains("/status", StringComparison.Ordinal));
        var submit = fal.Requests.First(r => r.Method == "POST" && r.PathAndQuery.Contains("fal_webhook=", StringComparison.Ordinal));
        Assert.Contains(Uri.EscapeDataString("/callbacks/up/" + id + "."), submit.PathAndQuery, StringComparison.Ordinal);
        Assert.Contains(fal.Requests, r => r.PathAndQuery == "/.well-known/jwks.json");
    }

    [Fact]
    public async Task Fal_WebhookWithoutOrWithAWrongSignature_401AndNoEarlyPoll()
    {
        await using var fal = new FalEmulator(new EmulatorOptions { ApiKey = "fal-key-0123456789", QueueTime = TimeSpan.FromMilliseconds(100), RunTime = TimeSpan.FromSeconds(30) });
        await fal.StartAsync();
        await using var server = await GatewayAsync("fal", fal, "veo-3.1", new() { ["Reelay:Providers:up:Callbacks:JwksUrl"] = fal.JwksUrl.AbsoluteUri });
        var id = await GatewayWithEmulators.CreateAsync(server, new { model = "veo-3.1", prompt = "a paper boat", seconds = "4", size = "1280x720" });
        var url = await WaitForSubmitAsync(fal, r => r.PathAndQuery.Contains("fal_webhook=", StringComparison.Ordinal));
        var callback = Uri.UnescapeDataString(url.PathAndQuery[(url.PathAndQuery.IndexOf("fal_webhook=", StringComparison.Ordinal) + "fal_webhook=".Length)..]);
        var body = """{"request_id":"x","status":"OK","payload":{"video":{"url":"https://evil.example/fake.mp4"}}}""";

        using var unsigned = await PostAsync(callback, body);
        using var forged = await PostAsync(callback, body, new()
        {
            ["X-Fal-Webhook-Request-Id"] = "x",
            ["X-Fal-Webhook-User-Id"] = FalEmulator.WebhookUserId,
            ["X-Fal-Webhook-Timestamp"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["X-Fal-Webhook-Signature"] = new string('a', 128),
        });

        Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        await Task.Delay(500);
        Assert.DoesNotContain(fal.Requests, r => r.PathAndQuery.Contains("/status", StringComparison.Ordinal)); // no poll was made early
        var video = JsonDocument.Parse(await server.Http.GetStringAsync($"/v1/videos/{id}")).RootElement;
        Assert.NotEqual("completed", video.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Veo_SignedWebhook_VerifiedAgainstTheEmulatorsJwksAndTheGatewayPollsAtOnce()
    {
        await using var veo = new VeoEmulator(Fast("veo-key-0123456789"));
        await veo.StartAsync();
        await using var server = await GatewayAsync("veo", veo, "veo-3.1", new() { ["Reelay:Providers:up:Callbacks:JwksUrl"] = veo.JwksUrl.AbsoluteUri });

        var id = await RunAsync(server, new { model = "veo-3.1", prompt = "a paper boat", seconds = "4", size = "1280x720" });

        AssertPolledOnTheCallback(veo, r => r.Method == "GET" && r.PathAndQuery.Contains("/operations/", StringComparison.Ordinal));
        var submit = veo.Requests.First(r => r.Method == "POST" && r.Body.Contains("webhookConfig", StringComparison.Ordinal)).Json;
        var uri = Assert.Single(submit.GetProperty("webhookConfig").GetProperty("uris").EnumerateArray()).GetString()!;
        Assert.StartsWith(server.BaseAddress.GetLeftPart(UriPartial.Authority) + "/callbacks/up/" + id + ".", uri, StringComparison.Ordinal);
        Assert.Contains(veo.Requests, r => r.PathAndQuery == "/.well-known/jwks.json");
    }

    [Theory]
    [InlineData(VeoWebhookSigning.WrongKey)]
    [InlineData(VeoWebhookSigning.WrongAudience)]
    [InlineData(VeoWebhookSigning.Expired)]
    public async Task Veo_WebhookWithAWrongKeyAudienceOrExpiry_401AndPollingStillFinishesTheJob(VeoWebhookSigning signing)
    {
        await using var veo = new VeoEmulator(Fast("veo-key-0123456789")) { WebhookSigning = signing };
        await veo.StartAsync();
        await using var server = await GatewayAsync("veo", veo, "veo-3.1", new()
        {
            ["Reelay:Providers:up:Callbacks:JwksUrl"] = veo.JwksUrl.AbsoluteUri,
            ["Reelay:Providers:up:PollInterval"] = "00:00:01",
            ["Reelay:Providers:up:MaxPollInterval"] = "00:00:01",
        });

        await RunAsync(server, new { model = "veo-3.1", prompt = "a paper boat", seconds = "4", size = "1280x720" });

        var sent = Assert.Single(veo.Callbacks.Sent);
        Assert.Equal(401, sent.Status);
    }

    [Fact]
    public async Task Veo_WebhookWithoutASignature_401AndNoEarlyPoll()
    {
        await using var veo = new VeoEmulator(new EmulatorOptions { ApiKey = "veo-key-0123456789", QueueTime = TimeSpan.FromMilliseconds(100), RunTime = TimeSpan.FromSeconds(30) });
        await veo.StartAsync();
        await using var server = await GatewayAsync("veo", veo, "veo-3.1", new() { ["Reelay:Providers:up:Callbacks:JwksUrl"] = veo.JwksUrl.AbsoluteUri });
        var id = await GatewayWithEmulators.CreateAsync(server, new { model = "veo-3.1", prompt = "a paper boat", seconds = "4", size = "1280x720" });
        var submit = await WaitForSubmitAsync(veo, r => r.Body.Contains("webhookConfig", StringComparison.Ordinal));
        var url = submit.Json.GetProperty("webhookConfig").GetProperty("uris")[0].GetString()!;

        using var unsigned = await PostAsync(url, """{"type":"video.generated","version":"v1","data":{"id":"x"}}""");
        using var garbage = await PostAsync(url, "{}", new() { ["Webhook-Signature"] = "not.a.jwt" });

        Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, garbage.StatusCode);
        await Task.Delay(500);
        Assert.DoesNotContain(veo.Requests, r => r.PathAndQuery.Contains("/operations/", StringComparison.Ordinal)); // no poll was made early
        var video = JsonDocument.Parse(await server.Http.GetStringAsync($"/v1/videos/{id}")).RootElement;
        Assert.NotEqual("completed", video.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Callback_ForgedTokens_404WithNothingLearned()
    {
        await using var ark = new SeedanceEmulator(new EmulatorOptions { ApiKey = "ark-key-0123456789", QueueTime = TimeSpan.FromMilliseconds(100), RunTime = TimeSpan.FromSeconds(30) });
        await ark.StartAsync();
        await using var server = await GatewayAsync("seedance", ark, "seedance-2-0");
        var id = await GatewayWithEmulators.CreateAsync(server, new { model = "seedance-2-0", prompt = "a paper boat", seconds = "4", size = "864x496" });
        await WaitForSubmitAsync(ark, r => r.Body.Contains("callback_url", StringComparison.Ordinal));
        var good = CallbackUrlOf(ark, "callback_url");
        var token = good[(good.LastIndexOf('/') + 1)..];
        var mac = token[(token.IndexOf('.', StringComparison.Ordinal) + 1)..];
        var origin = server.BaseAddress.GetLeftPart(UriPartial.Authority);

        string[] forged =
        [
            $"{origin}/callbacks/up/{id}.{new string('A', mac.Length)}",     // guessed mac
            $"{origin}/callbacks/up/video_00000000000000000000000000000000.{mac}", // another job with this mac
            $"{origin}/callbacks/other/{token}",                              // another instance
            $"{origin}/callbacks/sandbox/{token}",                            // the built-in instance
            $"{origin}/callbacks/up/{id}",                                    // no mac
        ];
        var answers = new List<string>();
        foreach (var url in forged)
        {
            using var response = await PostAsync(url, "{}");
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            answers.Add(await response.Content.ReadAsStringAsync());
        }

        Assert.Single(answers.Distinct()); // every refusal looks the same
        Assert.DoesNotContain(id, answers[0], StringComparison.Ordinal);
        using var ok = await PostAsync(good, "{}");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task Callback_LyingBody_JobKeepsTheUpstreamsTruth()
    {
        await using var ark = new SeedanceEmulator(new EmulatorOptions { ApiKey = "ark-key-0123456789", QueueTime = TimeSpan.FromMilliseconds(100), RunTime = TimeSpan.FromSeconds(3) });
        await ark.StartAsync();
        await using var server = await GatewayAsync("seedance", ark, "seedance-2-0");
        var id = await GatewayWithEmulators.CreateAsync(server, new { model = "seedance-2-0", prompt = "a paper boat", seconds = "4", size = "864x496" });
        await WaitForSubmitAsync(ark, r => r.Body.Contains("callback_url", StringComparison.Ordinal));
        await WaitForStatusAsync(server, id, "in_progress");
        var task = Assert.Single(ark.Tasks.All);

        // The task is still running upstream; the callback says it succeeded with another video.
        var lie = "{\"id\":\"" + task.Id + "\",\"status\":\"succeeded\",\"content\":{\"video_url\":\"https://evil.example/other.mp4\"}}";
        using var answer = await PostAsync(CallbackUrlOf(ark, "callback_url"), lie);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        await Task.Delay(700);

        var early = JsonDocument.Parse(await server.Http.GetStringAsync($"/v1/videos/{id}")).RootElement;
        Assert.NotEqual("completed", early.GetProperty("status").GetString());
        Assert.Contains(ark.Requests, r => r.Method == "GET" && r.PathAndQuery.EndsWith(task.Id, StringComparison.Ordinal)); // the hint made it poll: the upstream said running

        var video = await GatewayWithEmulators.WaitAsync(server, id, TimeSpan.FromSeconds(15));
        Assert.Equal("completed", video.GetProperty("status").GetString());
        var probe = await GatewayWithEmulators.ProbeContentAsync(server, id);
        Assert.Contains("width=864", probe, StringComparison.Ordinal); // the emulator's real render, not the lie's URL
    }

    [Fact]
    public async Task Callback_CallbacksTurnedOffForTheInstance_NoCallbackUrlSent()
    {
        await using var ark = new SeedanceEmulator(Fast("ark-key-0123456789"));
        await ark.StartAsync();
        await using var server = await GatewayAsync("seedance", ark, "seedance-2-0", new() { ["Reelay:Providers:up:Callbacks:Enabled"] = "false", ["Reelay:Providers:up:PollInterval"] = "00:00:00.200", ["Reelay:Providers:up:MaxPollInterval"] = "00:00:00.500" });

        await RunAsync(server, new { model = "seedance-2-0", prompt = "a paper boat", seconds = "4", size = "864x496" });

        Assert.DoesNotContain(ark.Requests, r => r.Body.Contains("callback_url", StringComparison.Ordinal));
        Assert.Empty(ark.Callbacks.Sent);
    }

    private static async Task<RecordedRequest> WaitForSubmitAsync(UpstreamEmulator emulator, Func<RecordedRequest, bool> match)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            if (emulator.Requests.FirstOrDefault(r => r.Method == "POST" && match(r)) is { } found)
            {
                return found;
            }

            Assert.True(DateTime.UtcNow < until, "the gateway never submitted");
            await Task.Delay(50);
        }
    }

    private static async Task WaitForStatusAsync(ReelayTestServer server, string id, string status)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (JsonDocument.Parse(await server.Http.GetStringAsync($"/v1/videos/{id}")).RootElement.GetProperty("status").GetString() != status)
        {
            Assert.True(DateTime.UtcNow < until, $"video {id} never became {status}");
            await Task.Delay(50);
        }
    }

    private static async Task<HttpResponseMessage> PostAsync(string url, string body, Dictionary<string, string>? headers = null)
    {
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.Add(name, value);
        }

        return await client.SendAsync(request);
    }
}
