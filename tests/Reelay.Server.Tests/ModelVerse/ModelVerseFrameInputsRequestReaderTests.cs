using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Server.Tests.Fuzz;
using static Reelay.Server.Tests.Fuzz.HostileInput;

namespace Reelay.Server.Tests.ModelVerse;

/// <summary>
/// The ModelVerse reader's input.last_frame_url and input.images (ModelVerse's own names on its Vidu and Wan pages):
/// bad values and refused combinations are a 400 param_error naming the field, and store nothing.
/// </summary>
public sealed class ModelVerseFrameInputsRequestReaderTests(HostileServerFixture fixture) : IClassFixture<HostileServerFixture>
{
    private const string Png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

    [Theory]
    [InlineData("""{"model":"sandbox","input":{"prompt":"x","last_frame_url":"data:image/png;base64,@P"}}""", "input.last_frame_url")]
    [InlineData("""{"model":"sandbox","input":{"prompt":"x","first_frame_url":"@P","last_frame_url":"file:///etc/passwd"}}""", "input.last_frame_url")]
    [InlineData("""{"model":"sandbox","input":{"prompt":"x","first_frame_url":"@P","last_frame_url":12}}""", "input.last_frame_url")]
    [InlineData("""{"model":"sandbox","input":{"prompt":"x","images":{"a":1}}}""", "input.images")]
    [InlineData("""{"model":"sandbox","input":{"prompt":"x","images":["@P",null]}}""", "input.images[1]")]
    [InlineData("""{"model":"sandbox","input":{"prompt":"x","images":["@P","@P","@P","@P","@P"]}}""", "input.images[4]")]
    [InlineData("""{"model":"sandbox","input":{"prompt":"x","first_frame_url":"@P","images":["@P"]}}""", "input.images")]
    public async Task Submit_BadFrameInput_400ParamErrorNamingTheField(string json, string field)
    {
        var (status, body) = await SendAsync(fixture.Server.Http, HttpMethod.Post, "/v1/tasks/submit", Bytes(json.Replace("@P", Png, StringComparison.Ordinal)));
        Assert.True(status == 400, body.ToString());
        Assert.StartsWith($"Invalid param {field}: ", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, (await fixture.Server.Http.GetFromJsonAsync<JsonElement>("/v1/videos")).GetProperty("data").GetArrayLength());
    }
}
