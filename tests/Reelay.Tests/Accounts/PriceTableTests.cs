using Reelay.Accounts;
using Reelay.Catalog;
using Reelay.Jobs;

namespace Reelay.Tests.Accounts;

public sealed class PriceTableTests
{
    private static readonly ModelCatalog Catalog = ModelCatalog.Load();

    [Theory]
    [InlineData("sora-2-pro", 1792, 1024, null, "1080p", 500_000)]
    [InlineData("sora-2-pro", 720, 1280, null, "720p", 300_000)]
    [InlineData("sora-2", 1280, 720, "720p", "720p", 100_000)]
    [InlineData("viduq2-pro", 1280, 720, null, "720p", 60_000)]
    [InlineData("viduq2-pro", 960, 540, null, "540p", 40_000)]
    [InlineData("sandbox", 160, 90, null, "*", 0)]
    public void PriceOf_Job_TierAndPricePerSecond(string model, int width, int height, string? resolution, string tier, long micros)
    {
        var prices = new PriceTable(Catalog);
        Assert.Equal((tier, micros), prices.PriceOf(Job(model, width, height, resolution, 4)));
    }

    [Fact]
    public void PriceOf_OperatorOverride_ReplacesThatTierOnly()
    {
        var prices = new PriceTable(Catalog, new Dictionary<string, Dictionary<string, decimal>> { ["sora-2-pro"] = new() { ["720p"] = 0.25m } });
        Assert.Equal(("720p", 250_000L), prices.PriceOf(Job("sora-2-pro", 1280, 720, null, 8)));
        Assert.Equal(("1080p", 500_000L), prices.PriceOf(Job("sora-2-pro", 1024, 1792, null, 8)));
        Assert.Equal(2_000_000L, prices.HoldFor(Job("sora-2-pro", 1280, 720, null, 8)));
    }

    [Fact]
    public void New_OverrideForUnknownModel_Throws()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => new PriceTable(Catalog, new Dictionary<string, Dictionary<string, decimal>> { ["sora-9"] = new() { ["*"] = 1 } }));
        Assert.Contains("Reelay:Pricing:sora-9", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(100_000, 4, 4.0, 400_000)]
    [InlineData(100_000, 4, 3.96, 396_000)]
    [InlineData(100_000, 4, 4.2, 400_000)]
    [InlineData(13_000, 1, 0.9583333, 12_458)]
    [InlineData(13_000, 1, 0, 0)]
    public void Charge_Produced_PricePerSecondTimesSecondsCappedAtRequested(long perSecond, int requested, double produced, long expected) =>
        Assert.Equal(expected, PriceTable.Charge(perSecond, requested, produced));

    private static Job Job(string model, int width, int height, string? resolution, int seconds) => new()
    {
        Id = Reelay.Jobs.Job.NewId(), Owner = "k", Model = model, Mode = VideoMode.TextToVideo, DurationSeconds = seconds, Width = width, Height = height,
        Resolution = resolution, Status = JobStatus.Queued, CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch, Deadline = DateTimeOffset.UnixEpoch,
    };
}
