using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Server.Tests.Accounts;
using Reelay.Server.Tests.Fuzz;
using static Reelay.Server.Tests.Fuzz.HostileInput;

namespace Reelay.Server.Tests.ModelVerse;

/// <summary>POST /v1/tasks/submit with hostile bytes, and a key's allowlist refusal, in ModelVerse's envelope.</summary>
public sealed class ModelVerseHostileInputTests(HostileServerFixture fixture) : IClassFixture<HostileServerFixture>
{
    [Theory]
    [InlineData("""{"model":"sandbox","input":{"prompt":"\ud800"}}""", "input.prompt")]
    [InlineData("""{"model":"sandbox","input":{"prompt":"x¤"}}""", "input.prompt")]
    [InlineData("""{"model":"sandbox","input":{"\udfff":"x"}}""", "input")]
    [InlineData("""{"model":"sandbox","input":{"prompt":"x"},"parameters":{"duration":1,"duration":2}}""", "parameters.duration")]
    [InlineData("""{"model":"sandbox","model":"viduq2-pro","input":{"prompt":"x"}}""", "model")]
    [InlineData("""{"model":"sandbox","input":{"prompt":"x"},"parameters":{"size":"1280X720"}}""", "parameters.size")]
    [InlineData("", "body")]
    public async Task Submit_HostileBody_400ParamErrorNamingTheField(string json, string field)
    {
        var (status, body) = await SendAsync(fixture.Server.Http, HttpMethod.Post, "/v1/tasks/submit", Bytes(json));
        Assert.True(status == 400, body.ToString());
        var error = body.GetProperty("error");
        Assert.Equal(("invalid_request_error", "param_error"), (error.GetProperty("type").GetString(), error.GetProperty("code").GetString()));
        Assert.StartsWith($"Invalid param {field}: ", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, (await fixture.Server.Http.GetFromJsonAsync<JsonElement>("/v1/videos")).GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task Submit_ModelOutsideTheKeysAllowlist_403PermissionErrorForbidden()
    {
        using var key = await AccountsKit.CreateKeyAsync(fixture.Server, new { name = "vidu only", models = new[] { "viduq2-pro" } });
        key.Http.DefaultRequestHeaders.Authorization = null;
        key.Http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", key.Secret);
        var (status, body) = await SendAsync(key.Http, HttpMethod.Post, "/v1/tasks/submit", Bytes("""{"model":"sandbox","input":{"prompt":"x"}}"""));
        Assert.Equal(403, status);
        var error = body.GetProperty("error");
        Assert.Equal(("permission_error", "forbidden"), (error.GetProperty("type").GetString(), error.GetProperty("code").GetString()));
        Assert.Contains("may not use model 'sandbox'", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
