using Reelay.Jobs;
using Reelay.Media;
using Reelay.Providers.Sandbox;

namespace Reelay.Tests.Providers.Sandbox;

public sealed class SandboxRendererTests
{
    private static SandboxRenderer Renderer(string? font = "/fonts/Deja Vu:Sans, [1].ttf") =>
        new(new SandboxOptions { Fps = 25, Preset = "veryfast" }, new FfmpegRunner(), font);

    [Fact]
    public void BuildArguments_TextJob_PutsTextInFilesNotInTheGraph()
    {
        var files = new Dictionary<string, string>();
        const string prompt = "a 'quoted': prompt, with [brackets]; and 100%";

        var arguments = Renderer().BuildArguments(new RenderSpec(VideoMode.TextToVideo, 640, 360, 4, 1, prompt, "kling-v2", null), files, "../out.mp4.part");

        var shown = string.Join(' ', files.Where(f => f.Key.StartsWith("prompt", StringComparison.Ordinal)).OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => f.Value));
        Assert.Equal(prompt, shown);
        Assert.Equal("SANDBOX stand-in for kling-v2", files["standin.txt"]);
        Assert.Equal(SandboxRenderer.Caption, files["caption.txt"]);
        Assert.DoesNotContain(arguments, a => a.Contains("quoted", StringComparison.Ordinal));
        Assert.Contains(arguments, a => a.Contains(@"fontfile=/fonts/Deja Vu\\:Sans\, \[1\].ttf:", StringComparison.Ordinal));
        Assert.Equal("100", arguments[arguments.IndexOf("-frames:v") + 1]);
        Assert.Equal("file:../out.mp4.part", arguments[^1]);
        Assert.Contains("+faststart", arguments);
        Assert.Contains("+bitexact", arguments);
    }

    [Fact]
    public void BuildArguments_NoStandInNoFont_OmitsNoticeAndFontfile()
    {
        var files = new Dictionary<string, string>();

        var arguments = Renderer(font: null).BuildArguments(new RenderSpec(VideoMode.TextToVideo, 160, 120, 1, 1, "fox", null, null), files, "o.mp4");

        Assert.False(files.ContainsKey("standin.txt"));
        Assert.DoesNotContain(arguments, a => a.Contains("fontfile", StringComparison.Ordinal));
    }

    [Fact]
    public void BuildArguments_LongPrompt_WrapsIntoSeveralLinesWithEllipsis()
    {
        var files = new Dictionary<string, string>();
        var prompt = string.Join(' ', Enumerable.Repeat("word", 2000));

        Renderer().BuildArguments(new RenderSpec(VideoMode.TextToVideo, 320, 240, 1, 1, prompt, null, null), files, "o.mp4");

        var lines = files.Where(f => f.Key.StartsWith("prompt", StringComparison.Ordinal)).ToList();
        Assert.InRange(lines.Count, 2, 20);
        Assert.EndsWith(SandboxText.Ellipsis, files[$"prompt{lines.Count - 1}.txt"], StringComparison.Ordinal);
    }

    [Fact]
    public void SeedOf_NoSeed_IsStableAndDependsOnPrompt()
    {
        var epoch = DateTimeOffset.UnixEpoch;
        Job Make(string prompt, long? seed = null) => new()
        {
            Id = "video_1", Owner = "o", Model = "sandbox", Mode = VideoMode.TextToVideo, Prompt = prompt, DurationSeconds = 4,
            Width = 640, Height = 360, Seed = seed, Status = JobStatus.Queued, CreatedAt = epoch, UpdatedAt = epoch, Deadline = epoch,
        };

        Assert.Equal(RenderSpec.SeedOf(Make("fox")), RenderSpec.SeedOf(Make("fox") with { Id = "video_2" }));
        Assert.NotEqual(RenderSpec.SeedOf(Make("fox")), RenderSpec.SeedOf(Make("cat")));
        Assert.Equal(5UL, RenderSpec.SeedOf(Make("fox", 5)));
    }
}
