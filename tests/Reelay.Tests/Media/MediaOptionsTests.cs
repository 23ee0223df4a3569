using Reelay.Media;

namespace Reelay.Tests.Media;

public sealed class MediaOptionsTests
{
    [Fact]
    public void Validate_Defaults_NoErrors()
    {
        var options = new MediaOptions();

        Assert.Empty(options.Validate());
        Assert.Equal(TimeSpan.FromSeconds(60), options.StallTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), options.KillGracePeriod);
        Assert.Equal(TimeSpan.FromSeconds(15), options.ImageCheckTimeout);
    }

    [Theory]
    [InlineData("00:00:00", "00:00:05", "00:00:15", "Reelay:Media:StallTimeout")]
    [InlineData("02:00:00", "00:00:05", "00:00:15", "Reelay:Media:StallTimeout")]
    [InlineData("00:01:00", "-00:00:01", "00:00:15", "Reelay:Media:KillGracePeriod")]
    [InlineData("00:01:00", "00:02:00", "00:00:15", "Reelay:Media:KillGracePeriod")]
    [InlineData("00:01:00", "00:00:05", "00:00:00.5", "Reelay:Media:ImageCheckTimeout")]
    public void Validate_OutOfRange_NamesTheKey(string stall, string grace, string check, string key)
    {
        var options = new MediaOptions
        {
            StallTimeout = TimeSpan.Parse(stall, System.Globalization.CultureInfo.InvariantCulture),
            KillGracePeriod = TimeSpan.Parse(grace, System.Globalization.CultureInfo.InvariantCulture),
            ImageCheckTimeout = TimeSpan.Parse(check, System.Globalization.CultureInfo.InvariantCulture),
        };

        var error = Assert.Single(options.Validate());

        Assert.StartsWith(key + " must be", error, StringComparison.Ordinal);
    }
}
