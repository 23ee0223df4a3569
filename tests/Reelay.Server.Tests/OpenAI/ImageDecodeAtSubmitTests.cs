using System.Net;
using System.Text;
using System.Text.Json;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.OpenAI;

/// <summary>Issue 17 item 2: a PNG with a valid header and corrupt pixel data is refused at submit, naming the field.</summary>
public sealed class ImageDecodeAtSubmitTests : IAsyncLifetime
{
    private const string CorruptPng = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAUAAAAC0CAIAAABqhmJGAAAACElEQVRub3QgemxpYlVpEfcAAAAASUVORK5CYII=";
    private ReelayTestServer _server = null!;

    public async Task InitializeAsync() => _server = await ReelayTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Create_CorruptPngDataUri_400ImageInvalidNamingInputReference()
    {
        using var response = await _server.Http.PostAsync("/v1/videos", new StringContent(
            $$"""{"model":"sandbox","prompt":"p","seconds":"1","size":"320x180","input_reference":"{{CorruptPng}}"}""", Encoding.UTF8, "application/json"));

        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal("image_invalid", error.GetProperty("code").GetString());
        Assert.Equal("input_reference", error.GetProperty("param").GetString());
        Assert.Contains("does not decode", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        // Nothing was stored or queued: the key's list is empty.
        var list = JsonDocument.Parse(await _server.Http.GetStringAsync("/v1/videos")).RootElement;
        Assert.Equal(0, list.GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task Submit_CorruptPngInModelVerse_400InItsEnvelope()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/tasks/submit")
        {
            Content = new StringContent($$"""{"model":"sandbox","input":{"prompt":"p","first_frame_url":"{{CorruptPng}}"},"parameters":{"duration":1} }""", Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", _server.ApiKey);
        using var anonymous = new HttpClient { BaseAddress = _server.BaseAddress };

        using var response = await anonymous.SendAsync(request);

        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal("param_error", error.GetProperty("code").GetString());
        Assert.Contains("input.first_frame_url", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("does not decode", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Reelay:Media:StallTimeout", "00:00:00", "Reelay:Media:StallTimeout must be 1 second to 1 hour")]
    [InlineData("Reelay:Media:ImageCheckTimeout", "01:00:00", "Reelay:Media:ImageCheckTimeout must be 1 second to 5 minutes")]
    [InlineData("Reelay:Media:StallTimeot", "00:01:00", "Reelay:Media:StallTimeot is not a known setting")]
    public async Task Start_InvalidMediaSetting_FailsNamingIt(string key, string value, string message)
    {
        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => ReelayTestServer.StartAsync(new() { [key] = value }));

        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }
}
