using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Server.Tests.Fuzz;
using static Reelay.Server.Tests.Fuzz.HostileInput;

namespace Reelay.Server.Tests.Accounts;

/// <summary>POST and PATCH /admin/keys with hostile bytes: 400 in the OpenAI envelope naming the field, and no key changes.</summary>
public sealed class AdminHostileInputTests(HostileServerFixture fixture) : IClassFixture<HostileServerFixture>
{
    [Theory]
    [InlineData("""{"name":"\ud800"}""", "application/json", "name")]
    [InlineData("""{"name":"x¤"}""", "application/json", "name")]
    [InlineData("""{"name":"x","models":["sandbox","\udfff"]}""", "application/json", "models[1]")]
    [InlineData("""{"name":"x","name":"y"}""", "application/json", "name")]
    [InlineData("""{"name":"x","budget_usd":1,"budget_usd":1000}""", "application/json", "budget_usd")]
    [InlineData("""{"name":"x"}""", "text/plain", "Content-Type")]
    [InlineData("", "application/json", "body")]
    public async Task CreateKey_HostileBody_400NamingTheFieldAndNoKeyMade(string json, string contentType, string param)
    {
        var before = (await fixture.Server.Http.GetFromJsonAsync<JsonElement>("/admin/keys")).GetProperty("data").GetArrayLength();
        var (status, body) = await SendAsync(fixture.Server.Http, HttpMethod.Post, "/admin/keys", Bytes(json), contentType);
        Assert.True(status == 400, body.ToString());
        Assert.Equal(param, body.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal(before, (await fixture.Server.Http.GetFromJsonAsync<JsonElement>("/admin/keys")).GetProperty("data").GetArrayLength());
    }

    [Theory]
    [InlineData("""{"name":"\udbff\udbff"}""", "name")]
    [InlineData("""{"budget_usd":5,"budget_usd":null}""", "budget_usd")]
    [InlineData("""{"models":[¤]}""", "models")]
    public async Task UpdateKey_HostileBody_400NamingTheFieldAndKeyUnchanged(string json, string param)
    {
        using var key = await AccountsKit.CreateKeyAsync(fixture.Server, new { name = "steady", budget_usd = 3 });
        var (status, body) = await SendAsync(fixture.Server.Http, HttpMethod.Patch, $"/admin/keys/{key.Id}", Bytes(json));
        Assert.True(status == 400, body.ToString());
        Assert.Equal(param, body.GetProperty("error").GetProperty("param").GetString());
        var shown = await fixture.Server.Http.GetFromJsonAsync<JsonElement>($"/admin/keys/{key.Id}");
        Assert.Equal(("steady", 3m), (shown.GetProperty("name").GetString(), shown.GetProperty("budget_usd").GetDecimal()));
    }
}
