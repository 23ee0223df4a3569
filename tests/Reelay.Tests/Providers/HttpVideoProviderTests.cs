using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Providers.Http;

namespace Reelay.Tests.Providers;

/// <summary>
/// The helpers the HTTP adapters share (their submit plumbing runs against every emulator in the conformance suite):
/// the mode check by model id and the unknown-outcome refusal in the upstream's words.
/// </summary>
public sealed class HttpVideoProviderTests
{
    [Theory]
    [InlineData("wan2.5-t2v-preview", true, "wan2.5-t2v-preview is text-to-video only")]
    [InlineData("wan2.2-kf2v-flash", false, "wan2.2-kf2v-flash is image-to-video only")]
    [InlineData("wan2.5-i2v-preview", false, "wan2.5-i2v-preview is image-to-video only")]
    public void ModeNotOffered_IdOfTheOtherMode_SaysWhichModeItTakes(string model, bool image, string expected) =>
        Assert.Equal(expected, HttpVideoProvider.ModeNotOffered(model, image, ["-t2v"], ["-i2v", "-kf2v"]));

    [Theory]
    [InlineData("wan2.5-t2v-preview", false)]
    [InlineData("wan2.5-i2v-preview", true)]
    [InlineData("wan2.7-video", true)]
    [InlineData("wan2.7-video", false)]
    public void ModeNotOffered_IdOfTheJobsModeOrOfNone_ReturnsNull(string model, bool image) =>
        Assert.Null(HttpVideoProvider.ModeNotOffered(model, image, ["-t2v"], ["-i2v", "-kf2v"]));

    [Fact]
    public void SubmitWithoutTaskId_IdName_RefusesAsOutcomeUnknownInTheUpstreamsWords()
    {
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(UpstreamErrors.SubmitWithoutTaskId("veo-main", "operation name"));

        Assert.Equal(ErrorCodes.SubmitOutcomeUnknown, outcome.Error.Code);
        Assert.Equal("Provider 'veo-main' answered the submit without a readable operation name; it may have started the job. It was not resubmitted, to avoid paying twice.", outcome.Error.Message);
    }

    [Fact]
    public void SubmitWithoutTaskId_NoIdName_SaysTaskId()
    {
        var outcome = Assert.IsType<SubmitOutcome.Rejected>(UpstreamErrors.SubmitWithoutTaskId("mv"));

        Assert.Contains("without a readable task id;", outcome.Error.Message, StringComparison.Ordinal);
    }
}
