using System.Diagnostics;
using System.Security.Cryptography;
using Reelay.Jobs;
using Reelay.Media;
using Reelay.Providers;
using Reelay.Tests.Media;
using static Reelay.Tests.Providers.Sandbox.SandboxTestJobs;

namespace Reelay.Tests.Providers.Sandbox;

public sealed class SandboxProviderTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly MediaProbe _probe = new(new FfmpegRunner());

    public void Dispose() => _temp.Dispose();

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    private static void AssertVideo(MediaInfo info, int width, int height, int seconds, int fps)
    {
        Assert.Equal("h264", info.CodecName);
        Assert.Equal("yuv420p", info.PixelFormat);
        Assert.Equal((width, height), (info.Width, info.Height));
        Assert.InRange(info.DurationSeconds, seconds - (1.0 / fps), seconds + (1.0 / fps));
        Assert.Equal(fps, info.FrameRate);
        Assert.Equal(seconds * fps, info.FrameCount);
    }

    [Fact]
    public async Task SubmitAsync_TextToVideo_RendersFaststartH264AtExactSizeDurationAndFps()
    {
        await using var provider = Provider(_temp.Path, fps: 30);

        var path = await RenderAsync(provider, TextJob("video_t2v", width: 320, height: 240, seconds: 2));

        AssertVideo(await _probe.ProbeAsync(path, CancellationToken.None), 320, 240, 2, 30);
        var boxes = TestMedia.TopLevelBoxes(path);
        Assert.True(boxes.IndexOf("moov") >= 0 && boxes.IndexOf("moov") < boxes.IndexOf("mdat"), string.Join(",", boxes));
        Assert.Equal(Path.Combine(provider.WorkDirectory, "video_t2v.mp4"), path);
        Assert.Equal(["video_t2v.mp4"], Directory.EnumerateFileSystemEntries(provider.WorkDirectory).Select(Path.GetFileName));
    }

    [Fact]
    public async Task SubmitAsync_ImageToVideo_RendersFaststartH264AtExactSizeDurationAndFps()
    {
        var image = TestMedia.Image(_temp.File("first.jpg"), 400, 300);
        await using var provider = Provider(_temp.Path, fps: 24);

        var path = await RenderAsync(provider, ImageJob("video_i2v", image, width: 192, height: 108, seconds: 2));

        AssertVideo(await _probe.ProbeAsync(path, CancellationToken.None), 192, 108, 2, 24);
        var boxes = TestMedia.TopLevelBoxes(path);
        Assert.True(boxes.IndexOf("moov") < boxes.IndexOf("mdat"), string.Join(",", boxes));
    }

    [Fact]
    public async Task SubmitAsync_SameSeedTwice_ProducesIdenticalBytes()
    {
        var image = TestMedia.Image(_temp.File("first.png"), 300, 300);
        await using var provider = Provider(_temp.Path);

        var a = await RenderAsync(provider, TextJob("video_a", seed: 42));
        var b = await RenderAsync(provider, TextJob("video_b", seed: 42));
        var c = await RenderAsync(provider, ImageJob("video_c", image, seed: 42));
        var d = await RenderAsync(provider, ImageJob("video_d", image, seed: 42));

        Assert.Equal(Sha256(a), Sha256(b));
        Assert.Equal(Sha256(c), Sha256(d));
    }

    [Fact]
    public async Task SubmitAsync_DifferentSeeds_ProducesDifferentBytes()
    {
        var image = TestMedia.Image(_temp.File("first.png"), 300, 300);
        await using var provider = Provider(_temp.Path);

        var a = await RenderAsync(provider, TextJob("video_a", seed: 1));
        var b = await RenderAsync(provider, TextJob("video_b", seed: 2));
        var c = await RenderAsync(provider, ImageJob("video_c", image, seed: 1));
        var d = await RenderAsync(provider, ImageJob("video_d", image, seed: 2));

        Assert.NotEqual(Sha256(a), Sha256(b));
        Assert.NotEqual(Sha256(c), Sha256(d));
    }

    [Fact]
    public async Task SubmitAsync_NoSeed_IsDeterministicFromParameters()
    {
        await using var provider = Provider(_temp.Path);

        var a = await RenderAsync(provider, TextJob("video_a", seed: null));
        var b = await RenderAsync(provider, TextJob("video_b", seed: null));

        Assert.Equal(Sha256(a), Sha256(b));
    }

    [Fact]
    public async Task PollAsync_DuringRender_ReportsNonDecreasingProgressThenHundred()
    {
        await using var provider = Provider(_temp.Path);
        var job = TextJob("video_progress", width: 640, height: 360, seconds: 8);
        await provider.SubmitAsync(job, CancellationToken.None);

        var seen = new List<int>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (provider.RenderProgress(job.Job.Id) is { } p && p < 100)
        {
            seen.Add(p);
            var polled = await provider.PollAsync(job, timeout.Token);
            var running = Assert.IsType<PollOutcome.Running>(polled);
            Assert.InRange(running.Progress!.Value, p, 99);
            await Task.Delay(20, timeout.Token);
        }

        Assert.Equal(100, provider.RenderProgress(job.Job.Id));
        Assert.IsType<PollOutcome.Succeeded>(await provider.PollAsync(job, CancellationToken.None));
        Assert.Contains(seen, p => p > 0);
        Assert.All(seen, p => Assert.InRange(p, 0, 99));
        Assert.Equal(seen.Order(), seen);
    }

    [Fact]
    public async Task CancelAsync_RunningRender_KillsFfmpegAndLeavesNoResult()
    {
        await using var provider = Provider(_temp.Path);
        var job = TextJob("video_cancel", width: 640, height: 480, seconds: 120);
        await provider.SubmitAsync(job, CancellationToken.None);
        using var ffmpeg = await RenderProcessAsync(provider, job.Job.Id);

        await provider.CancelAsync(job, CancellationToken.None);

        Assert.True(ffmpeg.HasExited);
        var outcome = Assert.IsType<PollOutcome.Failed>(await provider.PollAsync(job, CancellationToken.None));
        Assert.Equal(ErrorCodes.Cancelled, outcome.Error.Code);
        Assert.Empty(Directory.EnumerateFileSystemEntries(provider.WorkDirectory));
    }

    [Fact]
    public async Task CancelAsync_UnknownJob_DoesNotThrow()
    {
        await using var provider = Provider(_temp.Path);

        await provider.CancelAsync(TextJob("video_unknown"), CancellationToken.None);

        Assert.IsType<PollOutcome.Failed>(await provider.PollAsync(TextJob("video_unknown"), CancellationToken.None));
    }

    [Fact]
    public async Task DisposeAsync_RunningRender_KillsFfmpeg()
    {
        var provider = Provider(_temp.Path);
        var job = TextJob("video_dispose", width: 640, height: 480, seconds: 120);
        await provider.SubmitAsync(job, CancellationToken.None);
        using var ffmpeg = await RenderProcessAsync(provider, job.Job.Id);

        await provider.DisposeAsync();

        Assert.True(ffmpeg.HasExited);
        Assert.False(File.Exists(Path.Combine(provider.WorkDirectory, "video_dispose.mp4")));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => provider.PollAsync(job, CancellationToken.None));
    }

    [Fact]
    public async Task PollAsync_NewInstanceFinishedJob_ReturnsSucceeded()
    {
        var job = TextJob("video_done");
        string path;
        await using (var first = Provider(_temp.Path))
        {
            path = await RenderAsync(first, job);
        }

        await using var second = Provider(_temp.Path);
        var outcome = await second.PollAsync(job, CancellationToken.None);

        Assert.Equal(new PollOutcome.Succeeded(new ResultLocation(path, IsLocalFile: true)), outcome);
    }

    [Fact]
    public async Task PollAsync_NewInstanceUnfinishedJob_RestartsAndSucceeds()
    {
        var job = TextJob("video_restart", width: 320, height: 240, seconds: 20);
        await using (var first = Provider(_temp.Path))
        {
            await first.SubmitAsync(job, CancellationToken.None);
            using var ffmpeg = await RenderProcessAsync(first, job.Job.Id);
        }

        await using var second = Provider(_temp.Path);
        Assert.Equal(new PollOutcome.Running(0), await second.PollAsync(job, CancellationToken.None));
        var (outcome, _) = await WaitAsync(second, job);

        var succeeded = Assert.IsType<PollOutcome.Succeeded>(outcome);
        AssertVideo(await _probe.ProbeAsync(succeeded.Result.Video, CancellationToken.None), 320, 240, 20, 24);
    }

    [Fact]
    public async Task SubmitAsync_HostilePrompt_RendersFine()
    {
        await using var provider = Provider(_temp.Path);
        const string prompt = "Say \"hi\": 100% done; it's 'quoted' \\ back\\slash \\n [a],{b} %{pts} %{eif:1:d}\nsecond line\r\nthird\tline\u0001 with a verylongwordthatcannotpossiblyfitonasinglelineofthecard ünïcödé ✓";

        var path = await RenderAsync(provider, TextJob("video_hostile", prompt: prompt, standIn: true, model: "kling: \"v2\" 100%"));

        AssertVideo(await _probe.ProbeAsync(path, CancellationToken.None), 160, 120, 1, 24);
    }

    [Theory]
    [InlineData(161, 120, 1)]
    [InlineData(160, 8, 1)]
    [InlineData(160, 120, 0)]
    public async Task SubmitAsync_SizeOrDurationItCannotRender_Rejects(int width, int height, int seconds)
    {
        await using var provider = Provider(_temp.Path);

        var outcome = await provider.SubmitAsync(TextJob("video_bad", width, height, seconds), CancellationToken.None);

        Assert.Equal(ErrorCodes.InvalidRequest, Assert.IsType<SubmitOutcome.Rejected>(outcome).Error.Code);
    }

    [Fact]
    public async Task PollAsync_FirstFrameNotAnImage_FailsWithImageInvalid()
    {
        var junk = _temp.File("junk.png");
        await File.WriteAllTextAsync(junk, "this is not an image at all");
        await using var provider = Provider(_temp.Path);
        var job = ImageJob("video_junk", junk);

        await provider.SubmitAsync(job, CancellationToken.None);
        var (outcome, _) = await WaitAsync(provider, job);

        Assert.Equal(ErrorCodes.ImageInvalid, Assert.IsType<PollOutcome.Failed>(outcome).Error.Code);
    }

    [Fact]
    public async Task PollAsync_FfmpegFails_FailsWithRenderFailedAndNoMachinePaths()
    {
        // A PNG whose header sniffs fine but whose data is cut: ffmpeg cannot decode it.
        var image = TestMedia.Image(_temp.File("whole.png"), 300, 300);
        var cut = _temp.File("cut.png");
        await File.WriteAllBytesAsync(cut, File.ReadAllBytes(image).AsSpan(0, 60).ToArray());
        await using var provider = Provider(_temp.Path);
        var job = ImageJob("video_cut", cut);

        await provider.SubmitAsync(job, CancellationToken.None);
        var (outcome, _) = await WaitAsync(provider, job);

        var error = Assert.IsType<PollOutcome.Failed>(outcome).Error;
        Assert.Equal(ErrorCodes.RenderFailed, error.Code);
        Assert.StartsWith("The sandbox renderer (ffmpeg) failed", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_temp.Path, error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(provider.WorkDirectory));
    }

    [Fact]
    public async Task RecoverSubmitAsync_RenderNotInMemory_ReturnsNotFound()
    {
        await using var provider = Provider(_temp.Path);

        Assert.IsType<RecoveryOutcome.NotFound>(await provider.RecoverSubmitAsync(TextJob("video_lost"), CancellationToken.None));
    }

    [Fact]
    public async Task RecoverSubmitAsync_RenderRunning_ReturnsFound()
    {
        await using var provider = Provider(_temp.Path);
        var job = TextJob("video_running", width: 640, height: 480, seconds: 60);
        await provider.SubmitAsync(job, CancellationToken.None);

        Assert.Equal(new RecoveryOutcome.Found("video_running"), await provider.RecoverSubmitAsync(job, CancellationToken.None));
        await provider.CancelAsync(job, CancellationToken.None);
    }

    [Fact]
    public async Task DownloadAsync_FinishedRender_CopiesTheFile()
    {
        await using var provider = Provider(_temp.Path);
        var job = TextJob("video_download");
        var path = await RenderAsync(provider, job);
        var copy = new MemoryStream();

        await provider.DownloadAsync(job, new ResultLocation(path, IsLocalFile: true), copy, CancellationToken.None);

        Assert.Equal(await File.ReadAllBytesAsync(path), copy.ToArray());
    }

    [Fact]
    public async Task DownloadAsync_PathOutsideWorkFolder_Throws()
    {
        await using var provider = Provider(_temp.Path);
        var outside = _temp.File("secret.txt");
        await File.WriteAllTextAsync(outside, "secret");

        await Assert.ThrowsAsync<ArgumentException>(() =>
            provider.DownloadAsync(TextJob("video_x"), new ResultLocation(outside, IsLocalFile: true), new MemoryStream(), CancellationToken.None));
    }

    [Fact]
    public async Task Contract_Properties_MatchOptions()
    {
        await using var provider = Provider(_temp.Path, renders: 3);

        Assert.Equal("sandbox", provider.Name);
        Assert.Equal(3, provider.MaxConcurrentJobs);
        Assert.InRange(provider.PollSchedule.Initial, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(500));
        Assert.Equal(TimeSpan.FromSeconds(2), provider.PollSchedule.Max);
        Assert.Equal(Path.Combine(_temp.Path, "work", "sandbox"), provider.WorkDirectory);
    }

    /// <summary>Waits until the render's ffmpeg runs and returns our own handle on it.</summary>
    private static async Task<Process> RenderProcessAsync(Reelay.Providers.Sandbox.SandboxProvider provider, string jobId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            if (provider.RenderProcess(jobId) is { } process)
            {
                return Process.GetProcessById(process.Id);
            }

            await Task.Delay(10, timeout.Token);
        }
    }
}
