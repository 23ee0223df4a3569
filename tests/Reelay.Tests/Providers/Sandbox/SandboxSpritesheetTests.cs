using Reelay.Jobs;
using Reelay.Media;
using Reelay.Providers.Sandbox;
using Reelay.Tests.Media;

namespace Reelay.Tests.Providers.Sandbox;

/// <summary>Issue 17 item 9: a spritesheet of a sandbox video has ten real frames, never a black tile.</summary>
public sealed class SandboxSpritesheetTests : IDisposable
{
    private const int Width = 320;
    private const int Height = 180;
    private readonly TempDirectory _temp = new();
    private readonly FfmpegRunner _runner = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(1, 24)]
    [InlineData(4, 24)]
    [InlineData(4, 30)]
    [InlineData(8, 25)]
    public async Task CreateSpritesheetAsync_SandboxVideo_EveryTileIsAFrame(int seconds, int fps)
    {
        var video = _temp.File($"v{seconds}-{fps}.mp4");
        var renderer = new SandboxRenderer(new SandboxOptions { Fps = fps, Preset = "ultrafast" }, _runner, SandboxRenderer.FindFont());
        await renderer.RenderAsync(new RenderSpec(VideoMode.TextToVideo, Width, Height, seconds, 7, "tiles", null, null), _temp.Path, video, null, null, CancellationToken.None);
        var facts = await new MediaProbe(_runner).ProbeAsync(video, CancellationToken.None);
        var sheet = _temp.File($"sheet{seconds}-{fps}.webp");

        await new MediaTransforms(_runner).CreateSpritesheetAsync(video, sheet, facts.DurationSeconds, CancellationToken.None);

        var tileHeight = (int)Math.Round(256.0 * Height / Width / 2) * 2;
        Assert.Equal(new ImageInfo("webp", 5 * 256, 2 * tileHeight), ImageInfo.Sniff(await File.ReadAllBytesAsync(sheet)));
        var gray = _temp.File($"sheet{seconds}-{fps}.gray");
        TestMedia.Ffmpeg("-i", sheet, "-f", "rawvideo", "-pix_fmt", "gray", gray);
        var pixels = await File.ReadAllBytesAsync(gray);
        Assert.Equal(5 * 256 * 2 * tileHeight, pixels.Length);
        for (var tile = 0; tile < 10; tile++)
        {
            var (mean, deviation) = TileStats(pixels, 5 * 256, tile % 5 * 256, tile / 5 * tileHeight, 256, tileHeight);
            // A black tile (what a sample at or past the end of the video gives) is mean ~0 with no detail.
            Assert.True(mean > 12 && deviation > 4, $"tile {tile} of the {seconds} s video at {fps} fps looks blank (mean {mean:0.0}, deviation {deviation:0.0})");
        }
    }

    [Fact]
    public async Task CreateSpritesheetAsync_AudioLongerThanVideo_StillSamplesInsideTheVideo()
    {
        // The container lasts 3 s (the audio), the video 1 s: samples follow the video stream.
        var video = _temp.File("short-video-long-audio.mp4");
        TestMedia.Ffmpeg(
            "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=1",
            "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", video);
        var facts = await new MediaProbe(_runner).ProbeAsync(video, CancellationToken.None);
        Assert.True(facts.DurationSeconds > 2.5, $"container duration {facts.DurationSeconds}");
        var sheet = _temp.File("sheet.webp");

        await new MediaTransforms(_runner).CreateSpritesheetAsync(video, sheet, facts.DurationSeconds, CancellationToken.None);

        var gray = _temp.File("sheet.gray");
        TestMedia.Ffmpeg("-i", sheet, "-f", "rawvideo", "-pix_fmt", "gray", gray);
        var pixels = await File.ReadAllBytesAsync(gray);
        for (var tile = 0; tile < 10; tile++)
        {
            var (mean, deviation) = TileStats(pixels, 5 * 256, tile % 5 * 256, tile / 5 * 192, 256, 192);
            Assert.True(mean > 12 && deviation > 4, $"tile {tile} looks blank (mean {mean:0.0}, deviation {deviation:0.0})");
        }
    }

    [Theory]
    [InlineData(4.0, 24.0, 96L)]
    [InlineData(1.0, 24.0, 24L)]
    [InlineData(8.0, 25.0, 200L)]
    [InlineData(0.2, 25.0, 5L)]
    [InlineData(4.0, null, null)]
    public void SpritesheetTimes_AnyLength_TenIncreasingSamplesBeforeTheLastFrameStarts(double duration, double? fps, long? frames)
    {
        var times = MediaTransforms.SpritesheetTimes(duration, fps, frames);

        Assert.Equal(10, times.Count);
        var frame = 1 / (fps ?? 25);
        var lastStart = frames is { } n && fps is { } f ? (n - 1) / f : duration - frame;
        Assert.All(times, t => Assert.InRange(t, 0, lastStart));
        for (var i = 1; i < times.Count; i++)
        {
            Assert.True(times[i] >= times[i - 1]);
        }

        // The middles of ten equal slices: the first sample lies in the first tenth of the video.
        Assert.InRange(times[0], 0, duration / 10);
    }

    private static (double Mean, double Deviation) TileStats(byte[] pixels, int stride, int x0, int y0, int width, int height)
    {
        double sum = 0, squares = 0;
        for (var y = y0; y < y0 + height; y++)
        {
            for (var x = x0; x < x0 + width; x++)
            {
                var p = pixels[(y * stride) + x];
                sum += p;
                squares += p * p;
            }
        }

        var n = (double)width * height;
        var mean = sum / n;
        return (mean, Math.Sqrt(Math.Max(0, (squares / n) - (mean * mean))));
    }
}

/// <summary>Issue 17 item 2: a render over an image whose pixel data never decodes is stopped by the watchdog.</summary>
public sealed class SandboxWatchdogTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task RenderAsync_CorruptFirstFrame_StoppedForMakingNoProgress()
    {
        var image = _temp.File("first.png");
        await File.WriteAllBytesAsync(image, Convert.FromBase64String(ImageDecodeCheckTests.CorruptPngBase64));
        var runner = new FfmpegRunner(options: new MediaOptions { StallTimeout = TimeSpan.FromSeconds(2), KillGracePeriod = TimeSpan.FromSeconds(1) });
        var renderer = new SandboxRenderer(new SandboxOptions { Fps = 24, Preset = "ultrafast" }, runner, SandboxRenderer.FindFont());

        var ex = await Assert.ThrowsAsync<FfmpegException>(() => renderer
            .RenderAsync(new RenderSpec(VideoMode.ImageToVideo, 320, 180, 4, 1, "p", null, image), _temp.Path, _temp.File("out.mp4"), null, null, CancellationToken.None)
            .WaitAsync(TimeSpan.FromMinutes(2)));

        // Either ffmpeg gives up on its own (exit code) or the watchdog stops it; it never runs on.
        Assert.True(ex.Stalled || ex.ExitCode != 0, ex.Message);
    }
}
