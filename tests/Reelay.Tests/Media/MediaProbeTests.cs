using Reelay.Media;

namespace Reelay.Tests.Media;

public sealed class MediaProbeTests
{
    [Fact]
    public async Task ProbeAsync_H264Video_ReturnsStreamFacts()
    {
        using var temp = new TempDirectory();
        var video = TestMedia.Video(temp.File("v.mp4"), 320, 240, 2, fps: 25);

        var info = await new MediaProbe(new FfmpegRunner()).ProbeAsync(video, CancellationToken.None);

        Assert.Equal("h264", info.CodecName);
        Assert.Equal("yuv420p", info.PixelFormat);
        Assert.Equal((320, 240), (info.Width, info.Height));
        Assert.InRange(info.DurationSeconds, 1.96, 2.04);
        Assert.Equal(new FileInfo(video).Length, info.Bytes);
        Assert.Equal(25, info.FrameRate);
        Assert.Equal(50, info.FrameCount);
    }

    [Fact]
    public async Task ProbeAsync_NotMedia_ThrowsFfmpegException()
    {
        using var temp = new TempDirectory();
        var path = temp.File("junk.mp4");
        await File.WriteAllTextAsync(path, "not a video");

        await Assert.ThrowsAsync<FfmpegException>(() => new MediaProbe(new FfmpegRunner()).ProbeAsync(path, CancellationToken.None));
    }

    [Fact]
    public void Parse_UnknownValues_UsesFallbacks()
    {
        const string json = """
            {"streams":[{"codec_type":"audio","codec_name":"aac"},{"codec_type":"video","codec_name":"png","width":10,"height":20,"r_frame_rate":"25/1","avg_frame_rate":"0/0","duration":"N/A"}],
             "format":{"duration":"N/A","size":"1234"}}
            """;

        var info = MediaProbe.Parse(json);

        Assert.Equal(new MediaInfo(0, 10, 20, "png", null, 1234, 25, null), info);
    }

    [Fact]
    public void Parse_NoVideoStream_Throws()
    {
        Assert.Throws<FfmpegException>(() => MediaProbe.Parse("""{"streams":[{"codec_type":"audio"}],"format":{}}"""));
    }
}
