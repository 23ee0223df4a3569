using System.Net;
using System.Text.Json;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.ModelVerse;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Providers.Http;
using Reelay.Providers.ModelVerse;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers.ModelVerse;

/// <summary>The ModelVerse adapter against the ModelVerse EMULATOR (loopback; never the real service).</summary>
public sealed class ModelVerseProviderTests : IAsyncLifetime
{
    private readonly ModelVerseEmulator _emulator = new(new EmulatorOptions { ApiKey = "mv-secret-key-123456", RunTime = TimeSpan.FromMilliseconds(600), QueueTime = TimeSpan.FromMilliseconds(100) });
    private AdapterUnderTest _adapter = null!;

    public async Task InitializeAsync()
    {
        await _emulator.StartAsync();
        _adapter = AdapterUnderTest.Create(new ModelVerseProviderFactory(), _emulator, o => o.Timeout = TimeSpan.FromSeconds(10));
    }

    public async Task DisposeAsync()
    {
        await _adapter.DisposeAsync();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task Submit_SoraTextToVideo_SendsDocumentedWireFormatAndSucceeds()
    {
        var job = AdapterUnderTest.Job("sora-2", "openai/sora-2/text-to-video", 1280, 720, 8);
        var accepted = Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));

        var sent = _emulator.Requests.Single(r => r.PathAndQuery == "/v1/tasks/submit");
        Assert.Equal("raw:ok", sent.AuthorizationForm); // "Authorization: <key>" with no Bearer, as documented
        Assert.Equal("openai/sora-2/text-to-video", sent.Json.GetProperty("model").GetString());
        Assert.Equal("a lighthouse at dusk", sent.Json.GetProperty("input").GetProperty("prompt").GetString());
        Assert.Equal("1280x720", sent.Json.GetProperty("parameters").GetProperty("size").GetString());
        Assert.Equal(JsonValueKind.Number, sent.Json.GetProperty("parameters").GetProperty("duration").ValueKind);
        Assert.Equal(8, sent.Json.GetProperty("parameters").GetProperty("duration").GetInt32());

        var done = Assert.IsType<PollOutcome.Succeeded>(await _adapter.PollUntilDoneAsync(job, accepted.UpstreamId));
        using var video = new MemoryStream();
        await _adapter.Provider.DownloadAsync(job, done.Result, video, CancellationToken.None);
        Assert.True(video.Length > 1000);
        Assert.Equal("ftyp"u8.ToArray(), video.ToArray()[4..8]);
    }

    [Fact]
    public async Task Submit_SoraFirstFrameOfWrongSize_FittedToTheVideoSizeSoUpstreamAccepts()
    {
        var image = await TestFiles.ImageAsync(1000, 700, "jpg");
        var job = AdapterUnderTest.Job("sora-2", "openai/sora-2/image-to-video", 1280, 720, 4, image);

        Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));

        var sent = _emulator.Requests.Single(r => r.PathAndQuery == "/v1/tasks/submit").Json;
        var dataUri = sent.GetProperty("input").GetProperty("first_frame_url").GetString()!;
        Assert.StartsWith("data:image/png;base64,", dataUri, StringComparison.Ordinal);
        var info = Reelay.Media.ImageInfo.Sniff(Convert.FromBase64String(dataUri[(dataUri.IndexOf(',', StringComparison.Ordinal) + 1)..]));
        Assert.Equal((1280, 720), (info!.Width, info.Height));
    }

    [Fact]
    public async Task Submit_ViduOnModelVerse_SendsViduTypeAndOptions()
    {
        var image = await TestFiles.ImageAsync(640, 480);
        var job = AdapterUnderTest.Job("viduq2-pro", "viduq2-pro", 960, 720, 5, image, options: new Dictionary<string, string> { ["movement_amplitude"] = "large", ["bgm"] = "true" }, resolution: "720p");

        Assert.IsType<SubmitOutcome.Accepted>(await _adapter.Provider.SubmitAsync(job, CancellationToken.None));

        var p = _emulator.Requests.Single(r => r.PathAndQuery == "/v1/tasks/submit").Json.GetProperty("parameters");
        Assert.Equal("img2video", p.GetProperty("vidu_type").GetString());
        Assert.Equal("720p", p.GetProperty("resolution").GetString());
        Assert.Equal("large", p.GetProperty("movement_amplitude").GetString());
        Assert.True(p.GetProperty("bgm").GetBoolean());
    }

    [Fact]
    public async Task Submit_InvalidParameterUpstream_RejectedAsInvalidRequestWithTheirMessage()
    {
        // 1792x1024 is a pro size: the non-pro model refuses it (routing would have skipped it; the adapter still classifies).
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(await _adapter.Provider.SubmitAsync(AdapterUnderTest.Job("sora-2", "openai/sora-2/text-to-video", 1792, 1024), CancellationToken.None));
        Assert.Equal(ErrorCodes.InvalidRequest, outcome.Error.Code);
        Assert.Contains("parameters.size", outcome.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckSupport_DurationOrSizeNotOffered_SaysWhy()
    {
        var job = AdapterUnderTest.Job("sora-2", "openai/sora-2/text-to-video", 720, 1280, seconds: 10).Job;
        Assert.Contains("duration 10 s", _adapter.Provider.CheckSupport(job, "openai/sora-2/text-to-video"), StringComparison.Ordinal);
        var big = AdapterUnderTest.Job("sora-2-pro", "openai/sora-2/text-to-video", 1792, 1024).Job;
        Assert.Contains("size 1792x1024", _adapter.Provider.CheckSupport(big, "openai/sora-2/text-to-video"), StringComparison.Ordinal);
        Assert.Null(_adapter.Provider.CheckSupport(big, "openai/sora-2/text-to-video-pro"));
        var watermark = AdapterUnderTest.Job("sora-2", "openai/sora-2/text-to-video", 720, 1280, options: new Dictionary<string, string> { ["watermark"] = "true" }).Job;
        Assert.Contains("watermark", _adapter.Provider.CheckSupport(watermark, "openai/sora-2/text-to-video"), StringComparison.Ordinal);
    }

}
