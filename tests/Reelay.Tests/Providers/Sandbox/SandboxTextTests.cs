using Reelay.Media;
using Reelay.Providers.Sandbox;

namespace Reelay.Tests.Providers.Sandbox;

public sealed class SandboxTextTests
{
    [Fact]
    public void Wrap_Words_BreaksAtSpacesWithinWidth()
    {
        Assert.Equal(["the quick", "brown fox", "jumps"], SandboxText.Wrap("the quick brown fox jumps", 10, 10));
    }

    [Fact]
    public void Wrap_LineBreaksAndControlCharacters_KeepsBreaksDropsControls()
    {
        Assert.Equal(["one", "two", "three four"], SandboxText.Wrap("one\r\ntwo\n\n\nthree\tfour\u0007", 20, 10));
    }

    [Fact]
    public void Wrap_WordLongerThanLine_HardBreaks()
    {
        Assert.Equal(["abcde", "fghij", "k"], SandboxText.Wrap("abcdefghijk", 5, 10));
    }

    [Fact]
    public void Wrap_TooManyLines_TruncatesWithEllipsis()
    {
        Assert.Equal(["aa bb", "cc d…"], SandboxText.Wrap("aa bb cc dd ee ff", 5, 2));
    }

    [Fact]
    public void EscapeFilterValue_SpecialCharacters_EscapesForOptionThenGraph()
    {
        Assert.Equal(@"a\\:b\\\'c\,d\[e\]\;f\\\\g", SandboxText.EscapeFilterValue(@"a:b'c,d[e];f\g"));
    }

    [Fact]
    public void DescribeFailure_StderrWithPaths_RemovesPaths()
    {
        var ex = new FfmpegException("x", 1, "first\n[Parsed_drawtext_0] Cannot find a valid font for the family /home/someone/data/fonts/a.ttf\nError opening output file ../video_1.mp4.part");

        var message = SandboxProvider.DescribeFailure(ex);

        Assert.StartsWith("The sandbox renderer (ffmpeg) failed with exit code 1.", message, StringComparison.Ordinal);
        Assert.DoesNotContain("/home/someone", message, StringComparison.Ordinal);
        Assert.Contains("<path>", message, StringComparison.Ordinal);
    }
}
