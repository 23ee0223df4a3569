using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Server.Tests.Fuzz;
using static Reelay.Server.Tests.Fuzz.HostileInput;

namespace Reelay.Server.Tests.OpenAI;

/// <summary>POST /v1/videos with hostile bytes: each is a 400 in OpenAI's envelope naming the field, and nothing is stored.</summary>
public sealed class OpenAIHostileInputTests(HostileServerFixture fixture) : IClassFixture<HostileServerFixture>
{
    private const string Boundary = "b0undary";

    private HttpClient Http => fixture.Server.Http;

    private async Task AssertRefusedAsync(byte[] body, string contentType, string param, string? message = null)
    {
        var (status, json) = await SendAsync(Http, HttpMethod.Post, "/v1/videos", body, contentType);
        var error = json.GetProperty("error");
        Assert.True(status == 400, json.ToString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        if (message is not null)
        {
            Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        var list = await Http.GetFromJsonAsync<JsonElement>("/v1/videos");
        Assert.Equal(0, list.GetProperty("data").GetArrayLength());
    }

    [Theory]
    [InlineData("""{"model":"sandbox","prompt":"\ud800"}""", "prompt", "lone surrogate")]
    [InlineData("""{"model":"sandbox","prompt":"a\udfffb"}""", "prompt", "lone surrogate")]
    [InlineData("""{"model":"sandbox","prompt":"x¤"}""", "prompt", "invalid UTF-8")]
    [InlineData("""{"model":"sand¤box","prompt":"x"}""", "model", "invalid UTF-8")]
    [InlineData("""{"model":"sandbox","prompt":"x","metadata":{"k":"\ud83d"}}""", "metadata.k", "lone surrogate")]
    [InlineData("""{"model":"sandbox","prompt":"x","metadata":{"\ud800":"v"}}""", "metadata", "A key")]
    [InlineData("""{"\udc00":1}""", "body", "A key")]
    [InlineData("""{"model":"sandbox","prompt":"x","input_reference":{"image_url":"\ud800"}}""", "input_reference.image_url", "lone surrogate")]
    public async Task Create_JsonWithInvalidText_400NamingTheField(string json, string param, string message) =>
        await AssertRefusedAsync(Bytes(json), "application/json", param, message);

    [Theory]
    [InlineData("""{"model":"sandbox","prompt":"x","model":"sora-2"}""", "model")]
    [InlineData("""{"model":"sandbox","\u006dodel":"sora-2","prompt":"x"}""", "model")]
    [InlineData("""{"model":"sandbox","prompt":"x","metadata":{"k":"1","k":"2"}}""", "metadata.k")]
    public async Task Create_DuplicateKey_400NamingIt(string json, string param) =>
        await AssertRefusedAsync(Bytes(json), "application/json", param, "given twice");

    [Theory]
    [InlineData("""{"model":null,"prompt":"x"}""", "model")]
    [InlineData("""{"model":"sandbox","prompt":"x","seconds":null}""", "seconds")]
    [InlineData("""{"model":"sandbox","prompt":"x","size":null}""", "size")]
    public async Task Create_NullForAFieldWithADefault_400InsteadOfTheDefault(string json, string param) =>
        await AssertRefusedAsync(Bytes(json), "application/json", param, "is null");

    [Theory]
    [InlineData("1280X720")]
    [InlineData("01280x720")]
    [InlineData("1280x0720")]
    [InlineData(" 1280x720")]
    public async Task Create_SizeNotInCanonicalSpelling_400InsteadOfNormalised(string size) =>
        await AssertRefusedAsync(Bytes($$"""{"model":"sandbox","prompt":"x","size":"{{size}}"}"""), "application/json", "size", "lower-case x");

    [Fact]
    public async Task Create_DeeplyNestedJson_400NamingWhereItGoesTooDeep() =>
        await AssertRefusedAsync(Bytes(Nested("metadata", 5000)), "application/json", "metadata" + string.Concat(Enumerable.Repeat(".a", 15)), "deeper than 16");

    [Theory]
    [InlineData("", "application/json", "body", "empty")]
    [InlineData("   ", "application/json", "body", "empty")]
    [InlineData("""{"model":"sandbox","prompt":"x"}""", "text/plain", "Content-Type", "not supported")]
    [InlineData("""{"model":"sandbox","prompt":"x"}""", "application/json; charset=iso-8859-1", "Content-Type", "UTF-8")]
    [InlineData("""{"model":"sandbox","prompt":"x"}""", "multipart/form-data", "Content-Type", "boundary")]
    public async Task Create_EmptyBodyOrWrongContentType_400(string body, string contentType, string param, string message) =>
        await AssertRefusedAsync(Bytes(body), contentType, param, message);

    private static string Part(string name, string value) => $"--{Boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n";

    [Theory]
    [InlineData("no closing boundary", "body")]
    [InlineData("other boundary", "body")]
    [InlineData("cut inside a part", "body")]
    public async Task Create_MultipartTruncatedOrWithAnotherBoundary_400NamingTheBody(string fault, string param)
    {
        var whole = Part("model", "sandbox") + Part("prompt", "x") + $"--{Boundary}--\r\n";
        var body = fault switch
        {
            "no closing boundary" => Part("model", "sandbox") + Part("prompt", "x"),
            "other boundary" => whole.Replace(Boundary, "another", StringComparison.Ordinal),
            _ => whole[..(whole.Length / 2)],
        };
        await AssertRefusedAsync(Bytes(body), $"multipart/form-data; boundary={Boundary}", param, "boundary");
    }

    [Theory]
    [InlineData("model", "sandbox", "model", "sandbox", "model", "more than once")]
    [InlineData("model", "sandbox", "prompt", "x¤", "prompt", "not valid UTF-8")]
    [InlineData("model", "", "prompt", "x", "model", "empty")]
    [InlineData("model", "sandbox", "size", "1280X720", "size", "lower-case x")]
    [InlineData("model", "sandbox", "metadata[k]", "\u00ff¤", "metadata[k]", "not valid UTF-8")]
    public async Task Create_MultipartFieldDuplicatedOrInvalid_400NamingIt(string name1, string value1, string name2, string value2, string param, string message)
    {
        var body = Part(name1, value1) + Part(name2, value2) + (name2 == "prompt" ? "" : Part("prompt", "x")) + $"--{Boundary}--\r\n";
        await AssertRefusedAsync(Bytes(body), $"multipart/form-data; boundary={Boundary}", param, message);
    }
}
