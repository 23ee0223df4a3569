using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Callbacks;
using Reelay.Engine;
using Reelay.Server.Content;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Cluster;

/// <summary>Reelay:ContentUrlKey and Reelay:CallbackKey: an operator's key wins over a generated one and writes no file; a short one is refused at start.</summary>
public sealed class SharedKeysSettingsTests
{
    [Theory]
    [InlineData("Reelay:ContentUrlKey")]
    [InlineData("Reelay:CallbackKey")]
    public async Task Start_KeyShorterThan32Characters_RefusedNamingTheSetting(string setting) =>
        await ReelayTestServer.AssertStartRefusedAsync(setting, "too-short-key", setting + " must be at least 32 characters");

    [Fact]
    public async Task Start_KeysConfigured_SignWithThemAndWriteNoKeyFile()
    {
        const string contentKey = "operator-content-url-key-0123456789abcdef";
        const string callbackKey = "operator-callback-key-0123456789abcdef";
        await using var server = await ReelayTestServer.StartAsync(new()
        {
            ["Reelay:ContentUrlKey"] = contentKey,
            ["Reelay:CallbackKey"] = callbackKey,
            ["Reelay:PublicBaseUrl"] = "https://video.example.com",
        });

        var signed = server.App.Services.GetRequiredService<ContentUrlSigner>().SignedPath("job_1", ContentVariant.Video);
        var query = System.Web.HttpUtility.ParseQueryString(new Uri(new Uri("http://x"), signed).Query);
        var sameKey = new ContentUrlSigner(Encoding.UTF8.GetBytes(contentKey), TimeProvider.System, TimeSpan.FromHours(1));
        Assert.True(sameKey.Verify("job_1", "video", query["expires"], query["signature"]));

        var token = server.App.Services.GetRequiredService<CallbackUrls>().Token("mv", "job_1");
        var sameCallbackKey = new CallbackUrls(new ReelayOptions { DataDirectory = server.DataDirectory }, null, configuredKey: callbackKey);
        Assert.Equal("job_1", sameCallbackKey.Open("mv", token));

        Assert.False(File.Exists(Path.Combine(server.DataDirectory, ContentUrlSigner.SecretFileName)));
        Assert.False(File.Exists(Path.Combine(server.DataDirectory, "callback-key")));
    }
}
