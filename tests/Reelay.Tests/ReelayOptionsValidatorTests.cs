using Microsoft.Extensions.Configuration;

namespace Reelay.Tests;

/// <summary>The library's start-up check: each module's values, and keys known to the library or to a host's own settings.</summary>
public sealed class ReelayOptionsValidatorTests
{
    private sealed class HostSettings
    {
        public TimeSpan ContentUrlLifetime { get; set; }

        public HostSection Events { get; set; } = new();
    }

    private sealed class HostSection
    {
        public int MaxOpenStreams { get; set; }
    }

    [Fact]
    public void Validate_HostKeyWithoutExtension_RejectedAsUnknown()
    {
        var errors = Validate(new() { ["Reelay:Events:MaxOpenStreams"] = "5" });

        Assert.Contains(errors, e => e.StartsWith("Reelay:Events is not a known setting", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_HostKeysWithExtension_AcceptedAndTyposBelowThemRejected()
    {
        var extension = new ReelaySettingsExtension(typeof(HostSettings));

        Assert.Empty(Validate(new() { ["Reelay:Events:MaxOpenStreams"] = "5", ["Reelay:ContentUrlLifetime"] = "01:00:00", ["Reelay:JobDeadline"] = "00:10:00" }, extension));
        var errors = Validate(new() { ["Reelay:Events:MaxOpenStream"] = "5" }, extension);
        Assert.Equal("Reelay:Events:MaxOpenStream is not a known setting. Known settings under Reelay:Events: MaxOpenStreams.", Assert.Single(errors));
    }

    [Fact]
    public void Validate_EveryModuleOutOfRange_EachModuleNamesItsKey()
    {
        var options = new ReelayOptions();
        options.Store.CacheCapacity = -1;
        options.Sandbox.Fps = 60;
        options.Accounts.IdempotencyRetention = TimeSpan.FromHours(1);
        options.Webhooks.MaxConcurrentDeliveries = 0;

        var errors = Validate([], options: options);

        Assert.Equal(4, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("Reelay:Store:CacheCapacity", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Reelay:Sandbox:Fps", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Reelay:Accounts:IdempotencyRetention", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Reelay:Webhooks:MaxConcurrentDeliveries", StringComparison.Ordinal));
    }

    private static List<string> Validate(Dictionary<string, string?> settings, ReelaySettingsExtension? extension = null, ReelayOptions? options = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var result = new ReelayOptionsValidator(configuration, extension is null ? [] : [extension]).Validate(null, options ?? new ReelayOptions());
        return result.Failed ? [.. result.Failures!] : [];
    }
}
