using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Server.Tests.SoraRelay;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Hosting;

/// <summary>One finished sandbox job in a data folder, rendered once by a server without any proxy settings.</summary>
public sealed class FinishedJobFolder : IAsyncLifetime
{
    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "reelay-proxy-" + Guid.NewGuid().ToString("N"));

    public string ApiKey { get; } = "rk_test_proxy_" + Guid.NewGuid().ToString("N");

    public string JobId { get; private set; } = "";

    public async Task InitializeAsync()
    {
        await using var server = await ReelayTestServer.StartAsync(dataDirectory: DataDirectory, apiKey: ApiKey);
        using var created = await server.Http.PostAsync("/v1/videos", new StringContent("""{"model":"sandbox","prompt":"proxy","seconds":"1","size":"64x64"}""", System.Text.Encoding.UTF8, "application/json"));
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(created.IsSuccessStatusCode, body.ToString());
        JobId = body.GetProperty("id").GetString()!;
        for (var i = 0; i < 600; i++)
        {
            var video = await server.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{JobId}");
            var status = video.GetProperty("status").GetString();
            if (status == "completed")
            {
                return;
            }

            Assert.NotEqual("failed", status);
            await Task.Delay(100);
        }

        Assert.Fail("The sandbox job did not finish in 60 s.");
    }

    public Task DisposeAsync()
    {
        ReelayTestServer.TryDeleteDirectory(DataDirectory);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Reelay:PublicBaseUrl and forwarded headers: every absolute URL a dialect hands out (and the notify_hook body) carries
/// the public address, also for a job created before the setting existed (URLs are computed when rendered), and
/// X-Forwarded-* are honoured only from a trusted proxy.
/// </summary>
public sealed class BehindProxyTests(FinishedJobFolder folder) : IClassFixture<FinishedJobFolder>
{
    private const string PublicBase = "https://video.example.test/reelay";

    private Task<ReelayTestServer> RestartAsync(Dictionary<string, string?> settings) =>
        ReelayTestServer.StartAsync(settings, folder.DataDirectory, folder.ApiKey);

    /// <summary>The result URL of the finished job as each dialect renders it.</summary>
    private async Task<Dictionary<string, string>> ResultUrlsAsync(ReelayTestServer server, IReadOnlyDictionary<string, string>? headers = null)
    {
        async Task<JsonElement> Get(string path, bool bareKey = false)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (bareKey)
            {
                // ModelVerse sends the key without the Bearer scheme.
                request.Headers.TryAddWithoutValidation("Authorization", folder.ApiKey);
            }

            foreach (var (name, value) in headers ?? new Dictionary<string, string>())
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await server.Http.SendAsync(request);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(response.IsSuccessStatusCode, $"{path}: {body}");
            return body;
        }

        var id = folder.JobId;
        return new Dictionary<string, string>
        {
            ["modelverse"] = (await Get($"/v1/tasks/status?task_id={id}", bareKey: true)).GetProperty("output").GetProperty("urls")[0].GetString()!,
            ["aimlapi"] = (await Get($"/v2/video/generations?generation_id={id}")).GetProperty("video").GetProperty("url").GetString()!,
            ["sorarelay"] = (await Get($"/v2/videos/generations/{id}")).GetProperty("data").GetProperty("output").GetString()!,
        };
    }

    [Fact]
    public async Task ResultUrls_PublicBaseUrlSetAfterTheJobFinished_EveryDialectCarriesIt()
    {
        await using var server = await RestartAsync(new() { ["Reelay:PublicBaseUrl"] = PublicBase + "/" });
        var urls = await ResultUrlsAsync(server);

        Assert.Equal(3, urls.Count);
        foreach (var (dialect, url) in urls)
        {
            Assert.True(url.StartsWith(PublicBase + "/content/", StringComparison.Ordinal), $"{dialect}: {url}");

            // The proxy strips /reelay: the rest of the URL is a working signed link on the real listener.
            using var video = await new HttpClient().GetAsync(server.BaseAddress + url[(PublicBase.Length + 1)..]);
            Assert.Equal(System.Net.HttpStatusCode.OK, video.StatusCode);
            Assert.Equal("video/mp4", video.Content.Headers.ContentType?.MediaType);
        }
    }

    [Fact]
    public async Task ResultUrls_NoProxySettings_RequestAddressAndForwardedHeadersIgnored()
    {
        await using var server = await RestartAsync([]);
        var urls = await ResultUrlsAsync(server, new Dictionary<string, string> { ["X-Forwarded-Proto"] = "https", ["X-Forwarded-Host"] = "evil.example" });

        var own = server.BaseAddress.ToString().TrimEnd('/');
        Assert.All(urls.Values, url => Assert.StartsWith(own + "/content/", url, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ResultUrls_ForwardedHeadersFromTrustedProxy_CarryTheForwardedAddress()
    {
        await using var server = await RestartAsync(new() { ["Reelay:ForwardedHeaders:KnownProxies:0"] = "127.0.0.1" });
        var urls = await ResultUrlsAsync(server, new Dictionary<string, string> { ["X-Forwarded-Proto"] = "https", ["X-Forwarded-Host"] = "public.example", ["X-Forwarded-For"] = "203.0.113.9" });

        Assert.All(urls.Values, url => Assert.StartsWith("https://public.example/content/", url, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ResultUrls_ForwardedHeadersFromUntrustedPeer_Ignored()
    {
        // The test client connects from 127.0.0.1, which is not in the trusted network.
        await using var server = await RestartAsync(new() { ["Reelay:ForwardedHeaders:KnownNetworks:0"] = "10.0.0.0/8" });
        var urls = await ResultUrlsAsync(server, new Dictionary<string, string> { ["X-Forwarded-Proto"] = "https", ["X-Forwarded-Host"] = "public.example" });

        var own = server.BaseAddress.ToString().TrimEnd('/');
        Assert.All(urls.Values, url => Assert.StartsWith(own + "/content/", url, StringComparison.Ordinal));
    }

    [Fact]
    public async Task NotifyHook_PublicBaseUrlSet_BodyCarriesIt()
    {
        await using var receiver = await HookReceiver.StartAsync();
        await using var server = await RestartAsync(new()
        {
            ["Reelay:PublicBaseUrl"] = PublicBase,
            ["Reelay:Limits:AllowPrivateNetworks:0"] = "127.0.0.1",
        });
        using var submitted = await server.Http.PostAsync("/v2/videos/generations", new StringContent(
            $$"""{"model":"sandbox","prompt":"hook","duration":"1","aspect_ratio":"16:9","notify_hook":"{{receiver.BaseAddress}}hook"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.True(submitted.IsSuccessStatusCode, await submitted.Content.ReadAsStringAsync());

        var hooks = await receiver.WaitForAsync(r => r.Any(h => h.Body.Contains("\"SUCCESS\"", StringComparison.Ordinal) || h.Body.Contains("\"FAILURE\"", StringComparison.Ordinal)));
        using var last = JsonDocument.Parse(hooks[^1].Body);
        Assert.Equal("SUCCESS", last.RootElement.GetProperty("status").GetString());
        Assert.StartsWith(PublicBase + "/content/", last.RootElement.GetProperty("data").GetProperty("output").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Reelay:PublicBaseUrl", "video.example.com", "Reelay:PublicBaseUrl")]
    [InlineData("Reelay:PublicBaseUrl", "ftp://video.example.com", "Reelay:PublicBaseUrl")]
    [InlineData("Reelay:PublicBaseUrl", "https://video.example.com/?x=1", "Reelay:PublicBaseUrl")]
    [InlineData("Reelay:ForwardedHeaders:KnownProxies:0", "proxy.local", "KnownProxies")]
    [InlineData("Reelay:ForwardedHeaders:KnownNetworks:0", "10.0.0.0/33", "KnownNetworks")]
    public async Task Start_InvalidProxySetting_FailsNamingIt(string key, string value, string named)
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => ReelayTestServer.StartAsync(new() { [key] = value }));
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }
}
