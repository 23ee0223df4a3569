using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Server.Tests.Fuzz;
using static Reelay.Server.Tests.Fuzz.HostileInput;

namespace Reelay.Server.Tests.AimlApi;

/// <summary>POST /v2/video/generations with hostile bytes: 400 in AI/ML API's envelope, "Body validation error! field: …".</summary>
public sealed class AimlApiHostileInputTests(HostileServerFixture fixture) : IClassFixture<HostileServerFixture>
{
    [Theory]
    [InlineData("""{"model":"sandbox","prompt":"\ud800"}""", "prompt")]
    [InlineData("""{"model":"sandbox","prompt":"x¤"}""", "prompt")]
    [InlineData("""{"model":"sandbox","prompt":"x","prompt":"y"}""", "prompt")]
    [InlineData("""{"model":"sandbox","prompt":"x","image_url":"\udbff"}""", "image_url")]
    public async Task Submit_HostileBody_400NamingTheField(string json, string field)
    {
        var (status, body) = await SendAsync(fixture.Server.Http, HttpMethod.Post, "/v2/video/generations", Bytes(json));
        Assert.True(status == 400, body.ToString());
        Assert.Equal(400, body.GetProperty("statusCode").GetInt32());
        Assert.StartsWith($"Body validation error! {field}: ", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, (await fixture.Server.Http.GetFromJsonAsync<JsonElement>("/v1/videos")).GetProperty("data").GetArrayLength());
    }
}
