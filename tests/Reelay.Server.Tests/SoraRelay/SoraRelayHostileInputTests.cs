using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Server.Tests.Fuzz;
using static Reelay.Server.Tests.Fuzz.HostileInput;

namespace Reelay.Server.Tests.SoraRelay;

/// <summary>POST /v2/videos/generations with hostile bytes: 400 in the relay's envelope with the field as error.param.</summary>
public sealed class SoraRelayHostileInputTests(HostileServerFixture fixture) : IClassFixture<HostileServerFixture>
{
    [Theory]
    [InlineData("""{"model":"sandbox","prompt":"\ud800","duration":"1"}""", "prompt")]
    [InlineData("""{"model":"sandbox","prompt":"x","notify_hook":"https://example.com/¤"}""", "notify_hook")]
    [InlineData("""{"model":"sandbox","prompt":"x","images":["\udc00"]}""", "images[0]")]
    [InlineData("""{"model":"sandbox","prompt":"x","hd":false,"hd":true}""", "hd")]
    public async Task Submit_HostileBody_400NamingTheField(string json, string field)
    {
        var (status, body) = await SendAsync(fixture.Server.Http, HttpMethod.Post, "/v2/videos/generations", Bytes(json));
        Assert.True(status == 400, body.ToString());
        Assert.Equal(field, body.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal("invalid_request_error", body.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains(field, body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, (await fixture.Server.Http.GetFromJsonAsync<JsonElement>("/v1/videos")).GetProperty("data").GetArrayLength());
    }
}
