using System.Text.Json;
using Reelay.Server.Tests.Support;
using static Reelay.Server.Tests.Accounts.AccountsKit;

namespace Reelay.Server.Tests.Accounts;

/// <summary>A key sees and acts on its own jobs only, through every dialect: another key's job answers as an unknown id does.</summary>
public sealed class IsolationTests : IAsyncLifetime
{
    private ReelayTestServer _server = null!;
    private Key _alice = null!;
    private Key _bob = null!;

    public async Task InitializeAsync()
    {
        _server = await ReelayTestServer.StartAsync();
        _alice = await CreateKeyAsync(_server, new { name = "alice" });
        _bob = await CreateKeyAsync(_server, new { name = "bob" });
    }

    public async Task DisposeAsync()
    {
        _alice.Dispose();
        _bob.Dispose();
        await _server.DisposeAsync();
    }

    public static TheoryData<string> DialectNames() => new(AllDialects.Select(d => d.Name));

    [Theory]
    [MemberData(nameof(DialectNames))]
    public async Task Read_AnotherKeysJob_AnswersExactlyAsUnknownIdInTheDialectsEnvelope(string dialect)
    {
        var d = AllDialects.Single(x => x.Name == dialect);
        var (status, submitted, _) = await SendAsync(_alice.Http, HttpMethod.Post, d.SubmitPath, d.Body);
        Assert.True(status == 200, submitted.ToString());
        var id = d.IdOf(submitted);

        var (ownStatus, own, _) = await SendAsync(_alice.Http, HttpMethod.Get, d.ReadPath(id));
        Assert.True(ownStatus == 200, own.ToString());

        var unknownId = "video_" + Guid.NewGuid().ToString("N");
        var (unknownStatus, unknown, _) = await SendAsync(_bob.Http, HttpMethod.Get, d.ReadPath(unknownId));
        var (otherStatus, other, _) = await SendAsync(_bob.Http, HttpMethod.Get, d.ReadPath(id));
        Assert.Equal(404, unknownStatus);
        Assert.Equal(unknownStatus, otherStatus);
        Assert.Equal(Normalize(unknown, unknownId), Normalize(other, id));

        // The admin still sees it, through the same dialect.
        Assert.Equal(200, (await SendAsync(_server.Http, HttpMethod.Get, d.ReadPath(id))).Status);
    }

    [Fact]
    public async Task Act_OnAnotherKeysJob_404ForCancelDeleteContentAndListExcludesIt()
    {
        var (_, video, _) = await SendAsync(_alice.Http, HttpMethod.Post, "/v1/videos", """{"model":"sandbox","prompt":"alice's","seconds":"1","size":"160x90"}""");
        var id = video.GetProperty("id").GetString()!;
        await WaitFinishedAsync(_alice.Http, id);

        Assert.Equal(404, (await SendAsync(_bob.Http, HttpMethod.Post, $"/v1/videos/{id}/cancel")).Status);
        Assert.Equal(404, (await SendAsync(_bob.Http, HttpMethod.Get, $"/v1/videos/{id}/content")).Status);
        Assert.Equal(404, (await SendAsync(_bob.Http, HttpMethod.Delete, $"/v1/videos/{id}")).Status);
        Assert.Equal(404, (await SendAsync(_bob.Http, HttpMethod.Get, $"/v1/videos/{id}/webhooks")).Status);
        Assert.Equal(200, (await SendAsync(_alice.Http, HttpMethod.Get, $"/v1/videos/{id}/webhooks")).Status);
        using (var events = await _bob.Http.GetAsync($"/v1/videos/{id}/events", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(System.Net.HttpStatusCode.NotFound, events.StatusCode);
        }

        var bobs = await GetJsonAsync(_bob.Http, "/v1/videos?limit=100");
        Assert.DoesNotContain(bobs.GetProperty("data").EnumerateArray(), v => v.GetProperty("id").GetString() == id);
        var (badCursor, _, _) = await SendAsync(_bob.Http, HttpMethod.Get, $"/v1/videos?after={id}");
        Assert.Equal(400, badCursor);

        // Still alice's, intact.
        Assert.Equal("completed", (await GetJsonAsync(_alice.Http, $"/v1/videos/{id}")).GetProperty("status").GetString());
        var alices = await GetJsonAsync(_alice.Http, "/v1/videos?limit=100");
        Assert.Contains(alices.GetProperty("data").EnumerateArray(), v => v.GetProperty("id").GetString() == id);
        var all = await GetJsonAsync(_server.Http, "/v1/videos?limit=100");
        Assert.Contains(all.GetProperty("data").EnumerateArray(), v => v.GetProperty("id").GetString() == id);
    }

    [Fact]
    public async Task Usage_ClientKey_SeesOnlyItsOwn()
    {
        await SendAsync(_alice.Http, HttpMethod.Post, "/v1/videos", """{"model":"sandbox","prompt":"counted","seconds":"1","size":"160x90"}""");
        var bobs = await GetJsonAsync(_bob.Http, "/v1/usage");
        Assert.Equal(0, bobs.GetProperty("jobs").GetInt64());
        Assert.Equal(_bob.Id, bobs.GetProperty("key").GetProperty("id").GetString());
        var alices = await GetJsonAsync(_alice.Http, "/v1/usage");
        Assert.Equal(1, alices.GetProperty("jobs").GetInt64());
        Assert.All(alices.GetProperty("data").EnumerateArray(), row => Assert.Equal(_alice.Id, row.GetProperty("key_id").GetString()));
    }

    // Ids and request ids differ between the two answers; everything else must be identical.
    private static string Normalize(JsonElement body, string id)
    {
        var text = body.ToString().Replace(id, "<id>", StringComparison.Ordinal);
        text = System.Text.RegularExpressions.Regex.Replace(text, "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>");
        return System.Text.RegularExpressions.Regex.Replace(text, "\"(request_id|requestId|timestamp)\"\\s*:\\s*(\"[^\"]*\"|\\d+)", "\"$1\":\"<varies>\"");
    }
}
