using Microsoft.Extensions.Options;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.SoraRelay;

public sealed class NotifyHookOptionsTests
{
    [Theory]
    [InlineData("Reelay:SoraRelay:NotifyHook:MaxAttempts", "0", "Reelay:SoraRelay:NotifyHook:MaxAttempts must be 1 to 20")]
    [InlineData("Reelay:SoraRelay:NotifyHook:FirstRetryDelay", "01:00:00", "FirstRetryDelay must be positive and at most MaxRetryDelay")]
    [InlineData("Reelay:SoraRelay:NotifyHook:Timeout", "00:00:00", "Timeout must be positive")]
    [InlineData("Reelay:SoraRelay:NotifyHook:Retries", "3", "Reelay:SoraRelay:NotifyHook:Retries is not a known setting")]
    public async Task Start_InvalidNotifyHookSetting_FailsNamingTheSetting(string key, string value, string message)
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => ReelayTestServer.StartAsync(new() { [key] = value }));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }
}
