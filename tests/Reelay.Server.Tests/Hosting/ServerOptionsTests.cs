using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Hosting;

/// <summary>The server's own settings: bound from the Reelay section with the same keys, checked at start.</summary>
public sealed class ServerOptionsTests
{
    [Theory]
    [InlineData("Reelay:ContentUrlLifetime", "00:00:10", "Reelay:ContentUrlLifetime must be 1 minute to 30 days")]
    [InlineData("Reelay:AdminKey", "short", "Reelay:AdminKey (or REELAY_ADMIN_KEY) must be at least 16 characters")]
    [InlineData("Reelay:Events:BufferSizes", "8", "Reelay:Events:BufferSizes is not a known setting")]
    [InlineData("Reelay:OpenAI:DefaultModels", "sandbox", "Reelay:OpenAI:DefaultModels is not a known setting")]
    public Task Start_InvalidServerSetting_FailsNamingTheSetting(string key, string value, string message) =>
        ReelayTestServer.AssertStartRefusedAsync(key, value, message);
}
