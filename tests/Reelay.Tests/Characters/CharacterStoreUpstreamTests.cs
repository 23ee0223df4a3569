using Microsoft.Extensions.Time.Testing;
using Reelay.Characters;
using Reelay.Jobs;
using Reelay.Media;
using Reelay.Results;
using Reelay.Tests.Media;

namespace Reelay.Tests.Characters;

/// <summary>
/// Issue 15, characters through upstreams: the ids an upstream gives a character are kept next to it in the result
/// storage (so a restart or another node reuses them), per upstream account; a video character's still is one real frame
/// taken with ffmpeg once and kept.
/// </summary>
public sealed class CharacterStoreUpstreamTests
{
    private readonly FakeTimeProvider _clock = new();

    [Fact]
    public async Task FindUpstreamIdAsync_RememberedThenStoreReopened_SameIdForThatAccountOnly()
    {
        using var temp = new TempDirectory();
        var first = new CharacterStore(new LocalResultStore(temp.File("results")), _clock);
        var character = await first.CreateAsync("key_a", "Hero", await File.ReadAllBytesAsync(TestMedia.Image(temp.File("hero.png"), 32, 32)), "video", CancellationToken.None);
        Assert.Null(await first.FindUpstreamIdAsync(character, "oa http://127.0.0.1:1/v1/", CancellationToken.None));

        await first.RememberUpstreamIdAsync(character, "oa http://127.0.0.1:1/v1/", "char_upstream_1", CancellationToken.None);

        // A new store over the same storage: what a restart, or another node sharing the storage, sees.
        var reopened = new CharacterStore(new LocalResultStore(temp.File("results")), _clock);
        var again = await reopened.FindAsync("key_a", character.Id, CancellationToken.None);
        Assert.NotNull(again);
        Assert.Equal("char_upstream_1", await reopened.FindUpstreamIdAsync(again, "oa http://127.0.0.1:1/v1/", CancellationToken.None));
        Assert.Null(await reopened.FindUpstreamIdAsync(again, "oa http://127.0.0.1:2/v1/", CancellationToken.None));
        Assert.Null(await reopened.FindUpstreamIdAsync(again, "other http://127.0.0.1:1/v1/", CancellationToken.None));
    }

    [Fact]
    public async Task OpenStillAsync_VideoCharacter_OneFrameAsJpegKeptForLaterCalls()
    {
        using var temp = new TempDirectory();
        var results = new LocalResultStore(temp.File("results"));
        var store = new CharacterStore(results, _clock);
        var video = await File.ReadAllBytesAsync(TestMedia.Video(temp.File("hero.mp4"), 160, 120, 1));
        var character = await store.CreateAsync("key_a", "Hero", video, "video", CancellationToken.None);
        var runner = new FfmpegRunner();
        var media = new FfmpegMediaInspector(new MediaProbe(runner), new MediaTransforms(runner));

        var still = await ReadAsync(await store.OpenStillAsync(character, media, temp.File("tmp"), CancellationToken.None));

        var info = ImageInfo.Sniff(still);
        Assert.NotNull(info);
        Assert.Equal("image/jpeg", info.MediaType);
        Assert.Equal((160, 120), (info.Width, info.Height));

        // Kept: a later call (this node or another) reads the stored still, even without a working ffmpeg.
        var broken = new FfmpegMediaInspector(new MediaProbe(new FfmpegRunner("/nonexistent/ffmpeg", "/nonexistent/ffprobe")), new MediaTransforms(new FfmpegRunner("/nonexistent/ffmpeg", "/nonexistent/ffprobe")));
        Assert.Equal(still, await ReadAsync(await new CharacterStore(results, _clock).OpenStillAsync(character, broken, temp.File("tmp"), CancellationToken.None)));
        Assert.Empty(Directory.EnumerateFiles(temp.File("tmp")));
    }

    [Fact]
    public async Task OpenStillAsync_VideoWithoutAFrame_ImageInvalidNamingCharacters()
    {
        using var temp = new TempDirectory();
        var store = new CharacterStore(new LocalResultStore(temp.File("results")), _clock);
        byte[] notReallyAVideo = [0, 0, 0, 24, (byte)'f', (byte)'t', (byte)'y', (byte)'p', (byte)'i', (byte)'s', (byte)'o', (byte)'m', 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
        var character = await store.CreateAsync("key_a", "Ghost", notReallyAVideo, "video", CancellationToken.None);
        var runner = new FfmpegRunner();

        var error = await Assert.ThrowsAsync<ReelayException>(() => store.OpenStillAsync(character, new FfmpegMediaInspector(new MediaProbe(runner), new MediaTransforms(runner)), temp.File("tmp"), CancellationToken.None));

        Assert.Equal(ErrorCodes.ImageInvalid, error.Error.Code);
        Assert.Equal("characters", error.Error.Param);
    }

    private static async Task<byte[]> ReadAsync(Stream stream)
    {
        await using (stream)
        {
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer);
            return buffer.ToArray();
        }
    }
}
