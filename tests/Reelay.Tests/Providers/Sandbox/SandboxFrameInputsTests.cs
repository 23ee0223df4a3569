using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Tests.Media;
using static Reelay.Tests.Providers.Sandbox.SandboxTestJobs;

namespace Reelay.Tests.Providers.Sandbox;

/// <summary>
/// The sandbox (a local ffmpeg renderer, not AI) shows a job's last frame and reference images honestly: the closing
/// frames are the last frame, and reference images are thumbnails on the title card. Checked by the mean colour of
/// decoded frames, measured with ffmpeg independently of the renderer.
/// </summary>
public sealed class SandboxFrameInputsTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Solid(string name, string colour, int width, int height)
    {
        var path = _temp.File(name);
        TestMedia.Ffmpeg("-f", "lavfi", "-i", $"color=c={colour}:s={width}x{height}", "-frames:v", "1", "-update", "1", path);
        return path;
    }

    // The mean R, G, B of a region of the frame at `seconds` (negative: from the end), decoded by ffmpeg to raw RGB.
    private (double R, double G, double B) Mean(string video, double seconds, int x, int y, int width, int height)
    {
        var raw = _temp.File($"frame-{Guid.NewGuid():N}.rgb");
        string[] seek = seconds < 0 ? ["-sseof", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)] : ["-ss", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        TestMedia.Ffmpeg([.. seek, "-i", video, "-vf", $"crop={width}:{height}:{x}:{y}", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", raw]);
        var bytes = File.ReadAllBytes(raw);
        Assert.Equal(width * height * 3, bytes.Length);
        double r = 0, g = 0, b = 0;
        for (var i = 0; i < bytes.Length; i += 3)
        {
            r += bytes[i];
            g += bytes[i + 1];
            b += bytes[i + 2];
        }

        var n = bytes.Length / 3.0;
        return (r / n, g / n, b / n);
    }

    private static ProviderJob WithLastFrame(ProviderJob job, string lastFrame) => new()
    {
        Job = job.Job,
        UpstreamModel = job.UpstreamModel,
        OpenFirstFrame = job.OpenFirstFrame,
        OpenLastFrame = _ => Task.FromResult<Stream>(File.OpenRead(lastFrame)),
    };

    [Fact]
    public async Task SubmitAsync_LastFrame_ClosingFramesShowTheLastFrameAndTheOpeningTheFirst()
    {
        var first = Solid("first.png", "blue", 320, 240);
        var last = Solid("last.png", "red", 300, 300);
        await using var provider = Provider(_temp.Path, fps: 24);

        var path = await RenderAsync(provider, WithLastFrame(ImageJob("video_first_last", first, width: 320, height: 240, seconds: 2), last));

        // The centre, away from the caption, timer and progress bar along the edges.
        var closing = Mean(path, -0.1, 100, 60, 120, 100);
        Assert.True(closing.R > 180 && closing.G < 70 && closing.B < 70, $"closing frame mean {closing}");
        var opening = Mean(path, 0, 100, 60, 120, 100);
        Assert.True(opening.B > 180 && opening.R < 70, $"opening frame mean {opening}");
    }

    [Fact]
    public async Task SubmitAsync_NoLastFrame_ClosingFramesStayOnTheFirstFrame()
    {
        var first = Solid("first.png", "blue", 320, 240);
        await using var provider = Provider(_temp.Path, fps: 24);

        var path = await RenderAsync(provider, ImageJob("video_first_only", first, width: 320, height: 240, seconds: 2));

        var closing = Mean(path, -0.1, 100, 60, 120, 100);
        Assert.True(closing.B > 180 && closing.R < 70, $"closing frame mean {closing}");
    }

    [Fact]
    public async Task SubmitAsync_ReferenceImages_ShownAsThumbnailsOnTheTitleCard()
    {
        var green = Solid("ref0.png", "lime", 200, 200);
        var yellow = Solid("ref1.png", "yellow", 200, 100);
        await using var provider = Provider(_temp.Path, fps: 24);
        var text = TextJob("video_references", width: 320, height: 240, seconds: 1, prompt: "fox");
        var job = new ProviderJob
        {
            Job = text.Job,
            UpstreamModel = text.UpstreamModel,
            OpenReferenceImages = [_ => Task.FromResult<Stream>(File.OpenRead(green)), _ => Task.FromResult<Stream>(File.OpenRead(yellow))],
        };

        var path = await RenderAsync(provider, job);

        // Two 60 px thumbnails 4 px apart, centred, 30 px from the top: the first at x 98-158, the second at 162-222.
        var first = Mean(path, 0.5, 113, 45, 30, 30);
        Assert.True(first.G > 200 && first.R < 60 && first.B < 60, $"first thumbnail mean {first}");
        var second = Mean(path, 0.5, 177, 55, 30, 10);
        Assert.True(second.R > 200 && second.G > 200 && second.B < 60, $"second thumbnail mean {second}");
        var plain = await RenderAsync(provider, TextJob("video_no_references", width: 320, height: 240, seconds: 1, prompt: "fox"));
        var background = Mean(plain, 0.5, 113, 45, 30, 30);
        Assert.False(background.G > 200 && background.R < 60 && background.B < 60, $"the plain title card is green there too: {background}");
    }
}
