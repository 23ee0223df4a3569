using System.Net;
using Reelay.Server.Tests.Support;
using static Reelay.Server.Tests.Accounts.AccountsKit;

namespace Reelay.Server.Tests.Accounts;

/// <summary>Per-key submit rate and jobs in flight: 429 with Retry-After in the dialect's envelope; reads never count.</summary>
public sealed class LimitsTests : IAsyncLifetime
{
    private ReelayTestServer _server = null!;

    public async Task InitializeAsync() => _server = await ReelayTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Submit_OverRatePerMinute_429WithRetryAfterAndReadsDoNotCount()
    {
        using var key = await CreateKeyAsync(_server, new { name = "rated", rate_limit_per_minute = 3 });
        string? last = null;
        for (var i = 0; i < 3; i++)
        {
            var (status, body, _) = await SendAsync(key.Http, HttpMethod.Post, "/v1/videos", $$"""{"model":"sandbox","prompt":"rated {{i}}","seconds":"1","size":"160x90"}""");
            Assert.True(status == 200, body.ToString());
            last = body.GetProperty("id").GetString();

            // Reads between submits do not use the submit allowance.
            for (var r = 0; r < 10; r++)
            {
                Assert.Equal(200, (await SendAsync(key.Http, HttpMethod.Get, $"/v1/videos/{last}")).Status);
            }
        }

        var (refused, error, response) = await SendAsync(key.Http, HttpMethod.Post, "/v1/videos", """{"model":"sandbox","prompt":"one too many","seconds":"1","size":"160x90"}""");
        Assert.Equal(429, refused);
        Assert.Equal(("rate_limit_exceeded", "rate_limit_error"), (error.GetProperty("error").GetProperty("code").GetString(), error.GetProperty("error").GetProperty("type").GetString()));
        Assert.InRange(response.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 60);

        // The same limit, in another dialect's envelope.
        var (relay, relayError, relayResponse) = await SendAsync(key.Http, HttpMethod.Post, "/v2/videos/generations", """{"model":"sandbox","prompt":"relay too","duration":"1"}""");
        Assert.Equal(429, relay);
        Assert.Equal("rate_limited", relayError.GetProperty("error").GetProperty("code").GetString());
        Assert.NotNull(relayResponse.Headers.RetryAfter);

        // Another key is not affected.
        using var other = await CreateKeyAsync(_server, new { name = "unrated" });
        Assert.Equal(200, (await SendAsync(other.Http, HttpMethod.Post, "/v1/videos", """{"model":"sandbox","prompt":"free","seconds":"1","size":"160x90"}""")).Status);
    }

    [Fact]
    public async Task Submit_OverJobsInFlight_429UntilOneFinishes()
    {
        using var key = await CreateKeyAsync(_server, new { name = "two at a time", max_jobs_in_flight = 2 });
        var ids = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            var (status, body, _) = await SendAsync(key.Http, HttpMethod.Post, "/v1/videos", $$"""{"model":"sandbox","prompt":"slot {{i}}","seconds":"1","size":"160x90"}""");
            Assert.True(status == 200, body.ToString());
            ids.Add(body.GetProperty("id").GetString()!);
        }

        var (refused, error, response) = await SendAsync(key.Http, HttpMethod.Post, "/v2/video/generations", """{"model":"sandbox","prompt":"third","duration":1,"resolution":"720p"}""");
        Assert.Equal(429, refused);
        Assert.Equal(429, error.GetProperty("statusCode").GetInt32());
        Assert.Contains("2 unfinished jobs", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.NotNull(response.Headers.RetryAfter);

        await WaitFinishedAsync(key.Http, ids[0]);
        var until = DateTime.UtcNow.AddSeconds(30);
        int status3;
        do
        {
            // The slot frees when the job's charge closes, just after it finishes.
            (status3, _, _) = await SendAsync(key.Http, HttpMethod.Post, "/v1/videos", """{"model":"sandbox","prompt":"third, later","seconds":"1","size":"160x90"}""");
            if (status3 != 200)
            {
                await Task.Delay(50);
            }
        }
        while (status3 == 429 && DateTime.UtcNow < until);
        Assert.Equal(200, status3);
    }
}
