using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Server.Tests.Fuzz;
using static Reelay.Server.Tests.Fuzz.HostileInput;

namespace Reelay.Server.Tests.AimlApi;

/// <summary>
/// The AI/ML API reader's last_image_url and image_urls (its own names on its Seedance 2.0 page): bad values, too many
/// images and combinations the model refuses are a 400 in AI/ML API's envelope naming the field, and store nothing.
/// The sandbox model takes a first and last frame, or up to 4 reference images without a first frame.
/// </summary>
public sealed class AimlApiFrameInputsRequestReaderTests(HostileServerFixture fixture) : IClassFixture<HostileServerFixture>
{
    private const string Png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

    [Theory]
    [InlineData("""{"model":"sandbox","prompt":"x","last_image_url":"data:image/png;base64,@P"}""", "last_image_url")]
    [InlineData("""{"model":"sandbox","prompt":"x","image_url":"data:image/png;base64,@P","last_image_url":"ftp://example.com/a.png"}""", "last_image_url")]
    [InlineData("""{"model":"sandbox","prompt":"x","image_url":"data:image/png;base64,@P","last_image_url":"not base64!"}""", "last_image_url")]
    [InlineData("""{"model":"sandbox","prompt":"x","image_url":"data:image/png;base64,@P","last_image_url":"aGVsbG8gd29ybGQ="}""", "last_image_url")]
    [InlineData("""{"model":"sandbox","prompt":"x","image_urls":"data:image/png;base64,@P"}""", "image_urls")]
    [InlineData("""{"model":"sandbox","prompt":"x","image_urls":[]}""", "image_urls")]
    [InlineData("""{"model":"sandbox","prompt":"x","image_urls":[7]}""", "image_urls[0]")]
    [InlineData("""{"model":"sandbox","prompt":"x","image_urls":["data:image/png;base64,@P","javascript:alert(1)://"]}""", "image_urls[1]")]
    [InlineData("""{"model":"sandbox","prompt":"x","image_urls":["data:image/png;base64,@P","aGVsbG8gd29ybGQ="]}""", "image_urls[1]")]
    [InlineData("""{"model":"sandbox","prompt":"x","image_urls":["@P","@P","@P","@P","@P"]}""", "image_urls[4]")]
    [InlineData("""{"model":"sandbox","prompt":"x","image_url":"@P","image_urls":["@P"]}""", "image_urls")]
    [InlineData("""{"model":"sora-2","prompt":"x","image_url":"@P","last_image_url":"@P"}""", "last_image_url")]
    [InlineData("""{"model":"sora-2","prompt":"x","image_urls":["@P"]}""", "image_urls")]
    public async Task Submit_BadFrameInput_400NamingTheField(string json, string field)
    {
        var (status, body) = await SendAsync(fixture.Server.Http, HttpMethod.Post, "/v2/video/generations", Bytes(json.Replace("@P", Png, StringComparison.Ordinal)));
        Assert.True(status == 400, body.ToString());
        Assert.StartsWith($"Body validation error! {field}: ", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, (await fixture.Server.Http.GetFromJsonAsync<JsonElement>("/v1/videos")).GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task Submit_TooManyImageUrlsForTheReader_400BeforeAnyImageIsRead()
    {
        var items = string.Join(',', Enumerable.Repeat("\"https://example.com/a.png\"", 17));
        var (status, body) = await SendAsync(fixture.Server.Http, HttpMethod.Post, "/v2/video/generations", Bytes($$"""{"model":"sandbox","prompt":"x","image_urls":[{{items}}]}"""));
        Assert.Equal(400, status);
        Assert.StartsWith("Body validation error! image_urls: ", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("at most 16", body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
