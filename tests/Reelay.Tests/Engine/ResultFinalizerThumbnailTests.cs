using Microsoft.Extensions.Logging.Abstractions;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Providers;

namespace Reelay.Tests.Engine;

/// <summary>
/// Reelay:Storage:Thumbnails: a finished result with and without its thumbnail (the ffmpeg process it costs); and a
/// second finalization of a job that already succeeded, which must not delete the first one's content.
/// </summary>
public sealed class ResultFinalizerThumbnailTests
{
    [Fact]
    public async Task Finalize_ThumbnailsOff_SucceedsWithoutThumbnailOrItsFfmpegCall()
    {
        await using var h = await EngineHarness.StartAsync(configure: o => o.Storage.Thumbnails = false);
        var job = await h.SubmitAsync();

        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "job succeeded");

        var done = await h.GetAsync(job.Id);
        Assert.Null(done.ThumbnailKey);
        Assert.Equal(0, h.Media.ThumbnailCalls);
        Assert.DoesNotContain(h.Results.Objects.Keys, k => k.StartsWith("thumbnails/", StringComparison.Ordinal));
        Assert.Equal($"videos/{job.Id}.mp4", done.ResultKey);
        Assert.Equal($"spritesheets/{job.Id}.webp", done.SpritesheetKey);

        var missing = await Assert.ThrowsAsync<ReelayException>(() => h.Engine.OpenContentAsync(job.Id, Caller.Admin, ContentVariant.Thumbnail, CancellationToken.None));
        Assert.Equal(ErrorCodes.NotFound, missing.Error.Code);
        Assert.Equal(404, missing.HttpStatus);
        await using var video = await h.Engine.OpenContentAsync(job.Id, Caller.Admin, ContentVariant.Video, CancellationToken.None);
        Assert.NotNull(video);
    }

    [Fact]
    public async Task Finalize_SameJobAgainAfterItSucceeded_SupersededAndTheStoredContentStays()
    {
        await using var h = await EngineHarness.StartAsync();
        var job = await h.SubmitAsync();
        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "job succeeded");
        var done = await h.GetAsync(job.Id);
        using var second = new ResultFinalizer(h.Results, h.Media, h.Scheduler.Transitions, h.Clock, h.Options, NullLogger.Instance);

        // A second poll saw the same upstream success while the first finalization ran (both wait for a finalization slot).
        var outcome = await second.FinalizeAsync(new ProviderJob { Job = done, UpstreamModel = "sandbox" }, h.Provider, new ResultLocation("https://upstream.invalid/v.mp4", false), CancellationToken.None);

        Assert.IsType<FinalizeOutcome.Superseded>(outcome);
        Assert.True(h.Results.Objects.ContainsKey(done.ResultKey!), "the succeeded job's video was deleted");
        Assert.True(h.Results.Objects.ContainsKey(done.ThumbnailKey!), "the succeeded job's thumbnail was deleted");
        Assert.True(h.Results.Objects.ContainsKey(done.SpritesheetKey!), "the succeeded job's spritesheet was deleted");
    }

    [Fact]
    public async Task Finalize_ThumbnailsOnByDefault_StoresTheThumbnail()
    {
        await using var h = await EngineHarness.StartAsync();
        Assert.True(h.Options.Storage.Thumbnails);
        var job = await h.SubmitAsync();

        await h.WaitForAsync(job.Id, j => j.Status == JobStatus.Succeeded, "job succeeded");

        var done = await h.GetAsync(job.Id);
        Assert.Equal($"thumbnails/{job.Id}.webp", done.ThumbnailKey);
        Assert.Equal(1, h.Media.ThumbnailCalls);
        Assert.Equal("thumbnail"u8.ToArray(), h.Results.Objects[done.ThumbnailKey!]);
    }
}
