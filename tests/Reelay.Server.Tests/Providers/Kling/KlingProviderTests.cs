using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.Kling;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Providers.Kling;
using Reelay.Server.Tests.Providers.Conformance;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers.Kling;

/// <summary>The Kling adapter in the conformance suite, against the Kling EMULATOR (which verifies each request's JWT).</summary>
public sealed class KlingConformanceTests : ProviderConformanceTests
{
    protected override IProviderFactory Factory { get; } = new KlingProviderFactory();

    protected override string ApiKey => KlingProviderTests.Key;

    protected override string WrongKey => "ak-someone-else:" + new string('w', 32);

    protected override string? WrongKeyAuthForm => "Bearer:wrong";

    protected override UpstreamEmulator CreateEmulator(EmulatorOptions options) => new KlingEmulator(options);

    protected override Task<ProviderJob> JobAsync(string prompt) =>
        Task.FromResult(AdapterUnderTest.Job("kling-v2-5-turbo", "kling-v2-5-turbo", 1280, 720, 5, prompt: prompt, resolution: "720p"));
}

/// <summary>What is particular to Kling's wire (JWT per request, string durations, raw Base64, codes in 2xx), against the Kling EMULATOR (loopback; never the real service), and through a real gateway.</summary>
public sealed class KlingProviderTests : IAsyncLifetime
{
    internal const string AccessKey = "ak-reelay-test-0001";
    internal const string SecretKey = "sk-reelay-test-secret-0123456789abcdef";
    internal const string Key = AccessKey + ":" + SecretKey;
    private readonly KlingEmulator _emulator = new(new EmulatorOptions { ApiKey = Key, RunTime = TimeSpan.FromMilliseconds(600), QueueTime = TimeSpan.FromMilliseconds(100) });
    private AdapterUnderTest _adapter = null!;
    private byte[] _image = null!;

    public async Task InitializeAsync()
    {
        await _emulator.StartAsync();
        _adapter = AdapterUnderTest.Create(new KlingProviderFactory(), _emulator, o => o.Timeout = TimeSpan.FromSeconds(10));
        _image = await TestFiles.ImageAsync(640, 480);
    }

    public async Task DisposeAsync()
    {
        await _adapter.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    private static ProviderJob Text(int width = 1280, int height = 720, int seconds = 5, string model = "kling-v2-5-turbo", IReadOnlyDictionary<string, string>? options = null) =>
        AdapterUnderTest.Job("kling-v2-5-turbo", model, width, height, seconds, options: options);

    [Fact]
    public async Task Submit_TextToVideo_SignsAJwtPerRequestAndSendsStringDuration()
    {
        var job = Text(1080, 1920, 10, "kling-v2-6", new Dictionary<string, string> { ["audio"] = "true", ["negative_prompt"] = "blurry" });
        var withReference = new ProviderJob { Job = job.Job, UpstreamModel = job.UpstreamModel, ClientReference = "reelay-job1-1" };
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(withReference, CancellationToken.None));

        var sent = _emulator.Requests.Single(r => r.Method == "POST");
        Assert.Equal("/v1/videos/text2video", sent.PathAndQuery);
        Assert.Equal("Bearer:ok", sent.AuthorizationForm); // the emulator verified the HS256 signature, iss, nbf and exp
        var body = sent.Json;
        Assert.Equal("kling-v2-6", body.GetProperty("model_name").GetString());
        Assert.Equal("10", body.GetProperty("duration").GetString());
        Assert.Equal("pro", body.GetProperty("mode").GetString());
        Assert.Equal("9:16", body.GetProperty("aspect_ratio").GetString());
        Assert.Equal("on", body.GetProperty("sound").GetString());
        Assert.Equal("blurry", body.GetProperty("negative_prompt").GetString());
        Assert.Equal("reelay-job1-1", body.GetProperty("external_task_id").GetString());
        Assert.False(body.TryGetProperty("image", out _));
        Assert.True(long.TryParse(accepted.UpstreamId, out _)); // numeric-string ids

        var done = Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        Assert.Equal($"/v1/videos/text2video/{accepted.UpstreamId}", _emulator.Requests.First(r => r.Method == "GET").PathAndQuery);
        Assert.Contains("/_emulator/videos/", done.Result.Video, StringComparison.Ordinal);
        Assert.Equal((1080, 1920, 10), (_emulator.Tasks.All.Single().Width, _emulator.Tasks.All.Single().Height, _emulator.Tasks.All.Single().Seconds));
    }

    [Fact]
    public async Task Submit_ImageToVideo_SendsRawBase64AndPollsTheImage2VideoPath()
    {
        var job = AdapterUnderTest.Job("kling-v2-5-turbo", "kling-v2-5-turbo", 960, 720, 5, _image, "the astronaut waves", resolution: "720p");
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));

        var body = _emulator.Requests.Single(r => r.Method == "POST" && r.PathAndQuery == "/v1/videos/image2video").Json;
        var image = body.GetProperty("image").GetString()!;
        Assert.DoesNotContain("data:", image, StringComparison.Ordinal);
        Assert.Equal(_image.Length, Convert.FromBase64String(image).Length);
        Assert.False(body.TryGetProperty("aspect_ratio", out _));
        Assert.Equal("std", body.GetProperty("mode").GetString());

        Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        Assert.All(_emulator.Requests.Where(r => r.Method == "GET"), r => Assert.StartsWith("/v1/videos/image2video/", r.PathAndQuery, StringComparison.Ordinal));
        Assert.Equal((960, 720), (_emulator.Tasks.All.Single().Width, _emulator.Tasks.All.Single().Height));
    }

    [Fact]
    public async Task Emulator_ExpiredOrForeignToken_RefusedWithTheDocumentedCode()
    {
        var secret = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(SecretKey));
        var now = DateTime.UtcNow;
        var expired = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = AccessKey, NotBefore = now.AddHours(-2), Expires = now.AddHours(-1), SigningCredentials = new SigningCredentials(secret, SecurityAlgorithms.HmacSha256),
        });
        var foreign = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "someone-else", NotBefore = now.AddSeconds(-5), Expires = now.AddMinutes(30), SigningCredentials = new SigningCredentials(secret, SecurityAlgorithms.HmacSha256),
        });
        using var http = new HttpClient();
        foreach (var (token, code) in new[] { (expired, "1004"), (foreign, "1002") })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_emulator.BaseUrl, "v1/videos/text2video?pageNum=1&pageSize=1"));
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(request);
            Assert.Equal(401, (int)response.StatusCode);
            Assert.Contains($"\"code\":{code}", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Submit_BalanceExhaustedAs429_RejectedAsUpstreamQuotaNotRetried()
    {
        _emulator.Faults.Add(FaultScope.Submit, new Fault.QuotaExhausted());
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(await _adapter.Provider.SubmitAsync(Text(), CancellationToken.None));
        Assert.Equal(ErrorCodes.UpstreamQuota, outcome.Error.Code);
        Assert.Contains("1102", outcome.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_KeyWithoutSecret_SentUnsignedAndRefusedAsUpstreamAuth()
    {
        await using var bad = AdapterUnderTest.Create(new KlingProviderFactory(), _emulator, o => o.ApiKey = "only-an-access-key");
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(await bad.Provider.SubmitAsync(Text(), CancellationToken.None));
        Assert.Equal(ErrorCodes.UpstreamAuth, outcome.Error.Code);
        Assert.Equal("none", _emulator.Requests[^1].AuthorizationForm);
        var probe = await bad.Provider.ProbeAsync(CancellationToken.None);
        Assert.False(probe.Ok);
        Assert.Contains("<access key>:<secret key>", probe.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecoverSubmit_TaskCarriesTheReference_FoundByExternalTaskId()
    {
        var job = Text();
        var submitted = new ProviderJob { Job = job.Job, UpstreamModel = job.UpstreamModel, ClientReference = "reelay-lost-1" };
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(submitted, CancellationToken.None));

        var found = Assert.IsType<RecoveryOutcome.Found>(await _adapter.Provider.RecoverSubmitAsync(submitted, CancellationToken.None));
        Assert.Equal(accepted.UpstreamId, found.UpstreamId);
        var other = new ProviderJob { Job = job.Job, UpstreamModel = job.UpstreamModel, ClientReference = "reelay-never-sent-1" };
        Assert.IsType<RecoveryOutcome.Unknown>(await _adapter.Provider.RecoverSubmitAsync(other, CancellationToken.None));
    }

    [Fact]
    public void CheckSupport_DurationResolutionShapeOrOptionNotOffered_SaysWhy()
    {
        var p = _adapter.Provider;
        Assert.Null(p.CheckSupport(Text().Job, "kling-v2-5-turbo"));
        Assert.Null(p.CheckSupport(Text(1080, 1080, 10).Job, "kling-v2-5-turbo"));
        Assert.Contains("duration 8 s", p.CheckSupport(Text(seconds: 8).Job, "kling-v2-5-turbo"), StringComparison.Ordinal);
        Assert.Contains("resolution 480p", p.CheckSupport(Text(854, 480).Job, "kling-v2-5-turbo"), StringComparison.Ordinal);
        Assert.Contains("image-to-video only", p.CheckSupport(Text().Job, "kling-v2-1"), StringComparison.Ordinal);
        Assert.Contains("audio=true", p.CheckSupport(Text(options: new Dictionary<string, string> { ["audio"] = "true" }).Job, "kling-v2-5-turbo"), StringComparison.Ordinal);
        Assert.Null(p.CheckSupport(Text(options: new Dictionary<string, string> { ["audio"] = "true" }).Job, "kling-v2-6"));
    }

    [Fact]
    public async Task Gateway_TextAndImageToVideoRoutedToTheEmulator_CompleteAtTheRightShape()
    {
        var settings = GatewayWithEmulators.Merge(
            GatewayWithEmulators.Instance("kling", "kling", _emulator),
            new() { ["Reelay:Routes:kling-v2-5-turbo:0:Provider"] = "kling" });
        await using var gateway = await ReelayTestServer.StartAsync(settings);

        var text = await GatewayWithEmulators.CreateAsync(gateway, new { model = "kling-v2-5-turbo", prompt = "a paper boat", seconds = "5", size = "1280x720" });
        var image = await GatewayWithEmulators.CreateAsync(gateway, new
        {
            model = "kling-v2-5-turbo",
            prompt = "the astronaut waves",
            seconds = "5",
            input_reference = new { image_url = "data:image/png;base64," + Convert.ToBase64String(_image) },
        });

        Assert.Equal("completed", (await GatewayWithEmulators.WaitAsync(gateway, text)).GetProperty("status").GetString());
        Assert.Equal("completed", (await GatewayWithEmulators.WaitAsync(gateway, image)).GetProperty("status").GetString());
        var textProbe = await GatewayWithEmulators.ProbeContentAsync(gateway, text);
        Assert.Contains("width=1280", textProbe, StringComparison.Ordinal);
        Assert.Contains("height=720", textProbe, StringComparison.Ordinal);
        Assert.Contains("duration=5.0", textProbe, StringComparison.Ordinal);
        var imageProbe = await GatewayWithEmulators.ProbeContentAsync(gateway, image);
        Assert.Contains("width=960", imageProbe, StringComparison.Ordinal); // 720p at the 4:3 of the 640x480 first frame
        Assert.Contains("height=720", imageProbe, StringComparison.Ordinal);
        Assert.All(_emulator.Requests, r => Assert.Equal("Bearer:ok", r.AuthorizationForm));
        Assert.All(_emulator.Tasks.All, t => Assert.StartsWith($"reelay-", t.Extra["external_task_id"], StringComparison.Ordinal));
    }
}
