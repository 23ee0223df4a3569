using Reelay.Server.Tests.Support;
using static Reelay.Server.Tests.Accounts.AccountsKit;

namespace Reelay.Server.Tests.Accounts;

/// <summary>Idempotency-Key on every dialect's submit: the same request returns the original job; a different one is 409.</summary>
public sealed class IdempotencyTests : IAsyncLifetime
{
    private ReelayTestServer _server = null!;
    private Key _key = null!;

    public async Task InitializeAsync()
    {
        _server = await ReelayTestServer.StartAsync(new() { ["Reelay:Pricing:sandbox:*"] = "0.01" });
        _key = await CreateKeyAsync(_server, new { name = "retrying client", budget_usd = 10 });
    }

    public async Task DisposeAsync()
    {
        _key.Dispose();
        await _server.DisposeAsync();
    }

    public static TheoryData<string> DialectNames() => new(AllDialects.Select(d => d.Name));

    [Theory]
    [MemberData(nameof(DialectNames))]
    public async Task Submit_SameKeySameBody_OriginalJobAndOneHold(string dialect)
    {
        var d = AllDialects.Single(x => x.Name == dialect);
        var idem = "retry-" + Guid.NewGuid().ToString("N");
        var (first, a, _) = await SendAsync(_key.Http, HttpMethod.Post, d.SubmitPath, d.Body, idem);
        var (second, b, _) = await SendAsync(_key.Http, HttpMethod.Post, d.SubmitPath, d.Body, idem);
        Assert.True(first == 200, a.ToString());
        Assert.True(second == 200, b.ToString());
        Assert.Equal(d.IdOf(a), d.IdOf(b));

        var (conflict, error, _) = await SendAsync(_key.Http, HttpMethod.Post, d.SubmitPath, d.Body.Replace("dialect", "another", StringComparison.Ordinal), idem);
        Assert.Equal(409, conflict);
        Assert.Contains("Idempotency-Key", error.ToString(), StringComparison.Ordinal);

        var charges = await GetJsonAsync(_server.Http, $"/admin/charges?key_id={_key.Id}&limit=1000");
        Assert.Single(charges.GetProperty("data").EnumerateArray(), c => c.GetProperty("job_id").GetString() == d.IdOf(a));
    }

    [Fact]
    public async Task Submit_TwentyConcurrentWithOneKey_OneJobOneHold()
    {
        var idem = Guid.NewGuid().ToString();
        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => SendAsync(_key.Http, HttpMethod.Post, "/v1/videos", """{"model":"sandbox","prompt":"once","seconds":"2","size":"160x90"}""", idem)));
        Assert.All(answers, a => Assert.Equal(200, a.Status));
        var id = Assert.Single(answers.Select(a => a.Body.GetProperty("id").GetString()).Distinct());
        var charges = await GetJsonAsync(_server.Http, $"/admin/charges?key_id={_key.Id}&limit=1000");
        Assert.Single(charges.GetProperty("data").EnumerateArray());
        Assert.Equal(0.02m, charges.GetProperty("data")[0].GetProperty("held_usd").GetDecimal());
        Assert.Equal(id, charges.GetProperty("data")[0].GetProperty("job_id").GetString());
    }

    [Fact]
    public async Task Submit_SameIdempotencyKeyFromAnotherApiKey_IsItsOwnJob()
    {
        using var other = await CreateKeyAsync(_server, new { name = "other" });
        const string body = """{"model":"sandbox","prompt":"shared key name","seconds":"1","size":"160x90"}""";
        var (_, mine, _) = await SendAsync(_key.Http, HttpMethod.Post, "/v1/videos", body, "same-name");
        var (_, theirs, _) = await SendAsync(other.Http, HttpMethod.Post, "/v1/videos", body, "same-name");
        Assert.NotEqual(mine.GetProperty("id").GetString(), theirs.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Submit_MultipartResentWithNewBoundary_SameJob()
    {
        async Task<string> SendAsync()
        {
            using var form = new MultipartFormDataContent("boundary-" + Guid.NewGuid().ToString("N"));
            form.Add(new StringContent("sandbox"), "model");
            form.Add(new StringContent("multipart retry"), "prompt");
            form.Add(new StringContent("1"), "seconds");
            form.Add(new StringContent("160x90"), "size");
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/videos") { Content = form };
            request.Headers.Add("Idempotency-Key", "multipart-1");
            using var response = await _key.Http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, text);
            return System.Text.Json.JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
        }

        Assert.Equal(await SendAsync(), await SendAsync());
    }

    [Fact]
    public async Task Sdk_CreateVideoRetriedWithIdempotencyKey_SameVideo()
    {
        var client = new Reelay.Client.ReelayClient(_server.BaseAddress, _key.Secret);
        var request = new Reelay.Client.CreateVideoRequest { Model = "sandbox", Prompt = "sdk retry", Seconds = 1, Size = "160x90", IdempotencyKey = Guid.NewGuid().ToString() };
        var first = await client.CreateVideoAsync(request);
        var again = await client.CreateVideoAsync(request);
        Assert.Equal(first.Id, again.Id);
        request.Prompt = "changed";
        var conflict = await Assert.ThrowsAsync<Reelay.Client.ReelayApiException>(() => client.CreateVideoAsync(request));
        Assert.Equal(409, conflict.StatusCode);
    }

    [Fact]
    public async Task Submit_BadIdempotencyKeyHeader_400NamingIt()
    {
        var (status, body, _) = await AccountsKit.SendAsync(_key.Http, HttpMethod.Post, "/v1/videos", """{"model":"sandbox","prompt":"x","seconds":"1","size":"160x90"}""", new string('k', 300));
        Assert.Equal(400, status);
        Assert.Equal("Idempotency-Key", body.GetProperty("error").GetProperty("param").GetString());
    }
}
