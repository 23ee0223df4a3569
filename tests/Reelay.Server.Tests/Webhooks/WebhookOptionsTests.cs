using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Webhooks;

public sealed class WebhookOptionsTests
{
    [Theory]
    [InlineData("Reelay:Webhooks:FirstRetryDelay", "02:00:00", "Reelay:Webhooks:FirstRetryDelay must be positive and at most MaxRetryDelay")]
    [InlineData("Reelay:Webhooks:RetryWindow", "00:00:00", "Reelay:Webhooks:RetryWindow must be 1 second to 30 days")]
    [InlineData("Reelay:Webhooks:Timeout", "00:00:00", "Reelay:Webhooks:Timeout must be positive")]
    [InlineData("Reelay:Webhooks:MaxConcurrentDeliveries", "0", "Reelay:Webhooks:MaxConcurrentDeliveries must be 1 to 1024")]
    [InlineData("Reelay:Webhooks:Retries", "3", "Reelay:Webhooks:Retries is not a known setting")]
    [InlineData("Reelay:SoraRelay:NotifyHook:MaxAttempts", "3", "Reelay:SoraRelay is not a known setting")]
    public Task Start_InvalidWebhookSetting_FailsNamingTheSetting(string key, string value, string message) =>
        ReelayTestServer.AssertStartRefusedAsync(key, value, message);
}
