using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Reelay.Server.Tests.Support;
using static Reelay.Server.Tests.Accounts.AccountsKit;

namespace Reelay.Server.Tests.Accounts;

/// <summary>The admin key API: create (secret shown once, stored hashed), list, change, revoke and expire.</summary>
public sealed class KeysApiTests : IAsyncLifetime
{
    private ReelayTestServer _server = null!;

    public async Task InitializeAsync() => _server = await ReelayTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Create_ClientKey_SecretShownOnceStoredOnlyAsHashAndWorks()
    {
        using var key = await CreateKeyAsync(_server, new { name = "ci bot", models = new[] { "sandbox" }, budget_usd = 1.5, rate_limit_per_minute = 100, max_jobs_in_flight = 3 });
        Assert.StartsWith("rk_", key.Secret, StringComparison.Ordinal);

        var listed = await GetJsonAsync(_server.Http, "/admin/keys");
        var entry = listed.GetProperty("data").EnumerateArray().Single(k => k.GetProperty("id").GetString() == key.Id);
        Assert.False(entry.TryGetProperty("key", out _));
        Assert.Equal(("ci bot", "client", 1.5m, 1.5m, 3), (entry.GetProperty("name").GetString(), entry.GetProperty("scope").GetString(), entry.GetProperty("budget_usd").GetDecimal(), entry.GetProperty("available_usd").GetDecimal(), entry.GetProperty("max_jobs_in_flight").GetInt32()));
        Assert.StartsWith(entry.GetProperty("prefix").GetString()!.TrimEnd('…'), key.Secret, StringComparison.Ordinal);
        Assert.Contains(listed.GetProperty("data").EnumerateArray(), k => k.GetProperty("id").GetString() == "admin");

        // The database holds the hash, never the secret.
        var db = await File.ReadAllBytesAsync(Path.Combine(_server.DataDirectory, "reelay.db"));
        var wal = Path.Combine(_server.DataDirectory, "reelay.db-wal");
        var all = System.Text.Encoding.UTF8.GetString(db) + (File.Exists(wal) ? System.Text.Encoding.UTF8.GetString(await File.ReadAllBytesAsync(wal)) : "");
        Assert.DoesNotContain(key.Secret, all, StringComparison.Ordinal);
        Assert.Contains(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key.Secret))), all, StringComparison.Ordinal);

        var (status, video, r) = await SendAsync(key.Http, HttpMethod.Post, "/v1/videos", """{"model":"sandbox","prompt":"mine","seconds":"1","size":"160x90"}""");
        r.Dispose();
        Assert.True(status == 200, video.ToString());
    }

    [Fact]
    public async Task Revoke_Key_NextRequest401AndListShowsRevoked()
    {
        using var key = await CreateKeyAsync(_server, new { name = "to revoke" });
        Assert.Equal(200, (await SendAsync(key.Http, HttpMethod.Get, "/v1/videos")).Status);

        using var revoke = await _server.Http.DeleteAsync($"/admin/keys/{key.Id}");
        Assert.True(revoke.IsSuccessStatusCode);
        var (status, body, _) = await SendAsync(key.Http, HttpMethod.Get, "/v1/videos");
        Assert.Equal(401, status);
        Assert.Equal("invalid_api_key", body.GetProperty("error").GetProperty("code").GetString());
        var shown = await GetJsonAsync(_server.Http, $"/admin/keys/{key.Id}");
        Assert.False(shown.GetProperty("active").GetBoolean());
        Assert.Equal(JsonValueKind.Number, shown.GetProperty("revoked_at").ValueKind);
    }

    [Fact]
    public async Task Expired_Key_Refused401()
    {
        // Whole seconds on the wire: a margin so a busy machine still creates the key before it expires.
        var expires = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 4);
        using var key = await CreateKeyAsync(_server, new { name = "short lived", expires_at = expires.ToUnixTimeSeconds() });
        Assert.Equal(200, (await SendAsync(key.Http, HttpMethod.Get, "/v1/videos")).Status);
        var wait = expires - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(300);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }

        Assert.Equal(401, (await SendAsync(key.Http, HttpMethod.Get, "/v1/videos")).Status);
    }

    [Fact]
    public async Task Admin_ClientKey_403OnEveryAdminRoute()
    {
        using var key = await CreateKeyAsync(_server, new { name = "client" });
        foreach (var path in new[] { "/admin/keys", "/admin/usage", "/admin/charges" })
        {
            var (status, body, _) = await SendAsync(key.Http, HttpMethod.Get, path);
            Assert.Equal(403, status);
            Assert.Equal("forbidden", body.GetProperty("error").GetProperty("code").GetString());
        }

        var (created, _, _) = await SendAsync(key.Http, HttpMethod.Post, "/admin/keys", """{"name":"escalate","scope":"admin"}""");
        Assert.Equal(403, created);
    }

    [Fact]
    public async Task Create_AdminScopedKey_ManagesKeysAndSeesEveryOwner()
    {
        using var admin = await CreateKeyAsync(_server, new { name = "ops", scope = "admin" });
        using var client = await CreateKeyAsync(_server, new { name = "client" });
        var (_, video, r) = await SendAsync(client.Http, HttpMethod.Post, "/v1/videos", """{"model":"sandbox","prompt":"seen by ops","seconds":"1","size":"160x90"}""");
        r.Dispose();
        var id = video.GetProperty("id").GetString()!;
        Assert.Equal(id, (await GetJsonAsync(admin.Http, $"/v1/videos/{id}")).GetProperty("id").GetString());
        Assert.Equal(200, (await SendAsync(admin.Http, HttpMethod.Get, "/admin/keys")).Status);
    }

    [Theory]
    [InlineData("""{"scope":"client"}""", "name", "name is required")]
    [InlineData("""{"name":"x","scope":"root"}""", "scope", "scope must be \"client\"")]
    [InlineData("""{"name":"x","models":["sora-9"]}""", "models", "'sora-9', which is not a model")]
    [InlineData("""{"name":"x","budget_usd":-1}""", "budget_usd", "budget_usd must be a USD amount")]
    [InlineData("""{"name":"x","budget_usd":0.0000001}""", "budget_usd", "at most six decimal places")]
    [InlineData("""{"name":"x","rate_limit_per_minute":0}""", "rate_limit_per_minute", "out of range")]
    [InlineData("""{"name":"x","expires_at":"yesterday"}""", "expires_at", "unix seconds or an ISO 8601")]
    [InlineData("""{"name":"x","colour":"red"}""", "colour", "'colour' is not a known field")]
    public async Task Create_BadField_400NamingIt(string json, string param, string message)
    {
        var (status, body, _) = await SendAsync(_server.Http, HttpMethod.Post, "/admin/keys", json);
        Assert.Equal(400, status);
        Assert.Equal(param, body.GetProperty("error").GetProperty("param").GetString());
        Assert.Contains(message, body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Update_BudgetAndAllowlist_AppliedAndNullClears()
    {
        using var key = await CreateKeyAsync(_server, new { name = "patch me", models = new[] { "sora-2" } });
        var (refused, body, _) = await SendAsync(key.Http, HttpMethod.Post, "/v1/videos", """{"model":"sandbox","prompt":"not allowed","seconds":"1","size":"160x90"}""");
        Assert.Equal(403, refused);
        Assert.Equal("model", body.GetProperty("error").GetProperty("param").GetString());
        Assert.Contains("allowed: sora-2", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        var (patched, view, _) = await SendAsync(_server.Http, HttpMethod.Patch, $"/admin/keys/{key.Id}", """{"models":null,"budget_usd":2.25,"name":"patched"}""");
        Assert.Equal(200, patched);
        Assert.Equal((JsonValueKind.Null, 2.25m, "patched"), (view.GetProperty("models").ValueKind, view.GetProperty("budget_usd").GetDecimal(), view.GetProperty("name").GetString()));
        Assert.Equal(200, (await SendAsync(key.Http, HttpMethod.Post, "/v1/videos", """{"model":"sandbox","prompt":"allowed now","seconds":"1","size":"160x90"}""")).Status);
    }

    [Fact]
    public async Task Revoke_BootstrapAdmin_Conflict()
    {
        var (status, body, _) = await SendAsync(_server.Http, HttpMethod.Delete, "/admin/keys/admin");
        Assert.Equal(409, status);
        Assert.Contains("REELAY_ADMIN_KEY", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
