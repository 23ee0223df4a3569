using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Reelay.Server.Auth;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Hosting;

public sealed class GatewayLifecycleTests
{
    private static async Task<string> CreateAsync(HttpClient http, string json)
    {
        using var response = await http.PostAsync("/v1/videos", new StringContent(json, Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    private static async Task<JsonElement> WaitAsync(HttpClient http, string id, int seconds = 90)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < until)
        {
            var video = await http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}");
            if (video.GetProperty("status").GetString() is "completed" or "failed")
            {
                return video;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"video {id} did not finish");
    }

    [Fact]
    public async Task Restart_JobsInFlightAndQueued_AllCompleteOnTheSameDataFolder()
    {
        var data = Path.Combine(Path.GetTempPath(), "reelay-restart-" + Guid.NewGuid().ToString("N"));
        try
        {
            var settings = new Dictionary<string, string?> { ["Reelay:Sandbox:MaxConcurrentRenders"] = "1" };
            var first = await ReelayTestServer.StartAsync(settings, data);
            var ids = new List<string>();
            for (var i = 0; i < 3; i++)
            {
                ids.Add(await CreateAsync(first.Http, $$"""{"model":"sandbox","prompt":"restart {{i}}","seconds":"3","size":"640x360"}"""));
            }

            var queued = await first.Http.GetFromJsonAsync<JsonElement>($"/v1/videos/{ids[2]}");
            Assert.Equal("queued", queued.GetProperty("status").GetString());
            Assert.Equal(2, queued.GetProperty("queue_position").GetInt32());
            var key = first.ApiKey;
            await first.StopAsync();

            await using var second = await ReelayTestServer.StartAsync(settings, data, key);
            foreach (var id in ids)
            {
                var done = await WaitAsync(second.Http, id);
                Assert.Equal("completed", done.GetProperty("status").GetString());
                var bytes = await second.Http.GetByteArrayAsync($"/v1/videos/{id}/content");
                Assert.Equal("ftyp"u8.ToArray(), bytes[4..8]);
            }
        }
        finally
        {
            ReelayTestServer.TryDeleteDirectory(data);
        }
    }

    [Fact]
    public async Task StandIn_OptedInForSora2_SandboxRendersItAndSaysSo()
    {
        await using var server = await ReelayTestServer.StartAsync(new() { ["Reelay:Sandbox:StandInFor:0"] = "sora-2" });
        var id = await CreateAsync(server.Http, """{"model":"sora-2","prompt":"stand in","seconds":"4","size":"720x1280"}""");
        var done = await WaitAsync(server.Http, id);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal("sora-2", done.GetProperty("model").GetString());
        Assert.Contains("standing in for model 'sora-2'", done.GetProperty("note").GetString(), StringComparison.Ordinal);

        using var pro = await server.Http.PostAsync("/v1/videos", new StringContent("""{"model":"sora-2-pro","prompt":"not opted in"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, pro.StatusCode);
    }

    [Theory]
    [InlineData("Reelay:Sandbox:Fpss", "30", "Reelay:Sandbox:Fpss is not a known setting")]
    [InlineData("Reelay:Sandbox:Fps", "60", "Reelay:Sandbox:Fps must be 24 to 30")]
    [InlineData("Reelay:Limits:AllowPrivateNetworks:0", "not-a-network", "not an IP address or CIDR range")]
    [InlineData("Reelay:AdminKey", "short", "at least 16 characters")]
    public async Task Start_InvalidConfiguration_FailsWithMessageNamingTheSetting(string key, string value, string message)
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => ReelayTestServer.StartAsync(new() { [key] = value }, apiKey: key == "Reelay:AdminKey" ? value : null));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AdminKey_NoneConfigured_GeneratedOnceAndOnlyItsHashStored()
    {
        var data = Path.Combine(Path.GetTempPath(), "reelay-key-" + Guid.NewGuid().ToString("N"));
        try
        {
            var first = AdminKey.Resolve(null, data);
            Assert.NotNull(first.GeneratedKey);
            Assert.True(first.Matches(first.GeneratedKey));
            var file = Path.Combine(data, AdminKey.HashFileName);
            Assert.DoesNotContain(first.GeneratedKey!, File.ReadAllText(file), StringComparison.Ordinal);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            }

            var second = AdminKey.Resolve(null, data);
            Assert.Null(second.GeneratedKey);
            Assert.True(second.Matches(first.GeneratedKey));
            Assert.False(second.Matches("rk_admin_wrong"));
        }
        finally
        {
            ReelayTestServer.TryDeleteDirectory(data);
        }
    }
}
