using System.Net;
using Reelay.Client;

namespace Reelay.Server.Tests.Client;

public sealed class ReelayClientErrorTests
{
    [Fact]
    public async Task GetVideoAsync_ErrorEnvelope_ThrowsWithAllEnvelopeFields()
    {
        var handler = new CannedHandler(_ => CannedHandler.ToMessage(FakeReelayApi.Error(400, "invalid_request_error", "invalid_request", "'size' 13x7 is not offered.", "size")));
        var client = ClientFactory.Create(handler);

        var ex = await Assert.ThrowsAsync<ReelayApiException>(() => client.GetVideoAsync("video_1"));

        Assert.Equal(400, ex.StatusCode);
        Assert.Equal("invalid_request_error", ex.ErrorType);
        Assert.Equal("invalid_request", ex.Code);
        Assert.Equal("size", ex.Param);
        Assert.Equal("'size' 13x7 is not offered.", ex.Message);
        Assert.False(ex.IsTransient);
    }

    [Fact]
    public async Task GetVideoAsync_UnknownId_ThrowsNotFoundFromFakeServer()
    {
        var (client, _) = ClientFactory.CreateWithFakeApi();

        var ex = await Assert.ThrowsAsync<ReelayApiException>(() => client.GetVideoAsync("video_missing"));

        Assert.Equal(404, ex.StatusCode);
        Assert.Equal("not_found", ex.Code);
        Assert.Null(ex.Param);
    }

    [Fact]
    public async Task GetVideoAsync_HtmlErrorBody_ThrowsWithStatusAndSnippet()
    {
        var handler = new CannedHandler(_ => CannedHandler.Text(HttpStatusCode.BadGateway, "<html>\n  <body>upstream   exploded</body>\n</html>", "text/html"));
        var client = ClientFactory.Create(handler);

        var ex = await Assert.ThrowsAsync<ReelayApiException>(() => client.GetVideoAsync("video_1"));

        Assert.Equal(502, ex.StatusCode);
        Assert.Null(ex.ErrorType);
        Assert.Null(ex.Code);
        Assert.Contains("502", ex.Message);
        Assert.Contains("<html> <body>upstream exploded</body> </html>", ex.Message);
        Assert.True(ex.IsTransient);
    }

    [Fact]
    public async Task GetVideoAsync_EmptyErrorBody_ThrowsWithStatusOnly()
    {
        var client = ClientFactory.Create(new CannedHandler(_ => new HttpResponseMessage(HttpStatusCode.ServiceUnavailable)));

        var ex = await Assert.ThrowsAsync<ReelayApiException>(() => client.GetVideoAsync("video_1"));

        Assert.Equal(503, ex.StatusCode);
        Assert.Contains("HTTP 503", ex.Message);
    }

    [Fact]
    public async Task GetVideoAsync_ErrorAsPlainString_UsesItAsMessage()
    {
        var client = ClientFactory.Create(new CannedHandler(_ => CannedHandler.Text(HttpStatusCode.Unauthorized, """{"error":"bad key"}""", "application/json")));

        var ex = await Assert.ThrowsAsync<ReelayApiException>(() => client.GetVideoAsync("video_1"));

        Assert.Equal(401, ex.StatusCode);
        Assert.Equal("bad key", ex.Message);
    }

    [Fact]
    public async Task GetVideoAsync_ServerEchoesApiKey_MessageRedactsKey()
    {
        var handler = new CannedHandler(request => CannedHandler.ToMessage(FakeReelayApi.Error(401, "authentication_error", "unauthorized", $"Key '{request.Headers.Authorization!.Parameter}' is revoked.", null)));
        var client = ClientFactory.Create(handler);

        var ex = await Assert.ThrowsAsync<ReelayApiException>(() => client.GetVideoAsync("video_1"));

        Assert.DoesNotContain(ClientFactory.Key, ex.Message);
        Assert.DoesNotContain(ClientFactory.Key, ex.ToString());
        Assert.Contains("[redacted]", ex.Message);
    }

    [Fact]
    public async Task GetVideoAsync_RateLimitedWithRetryAfter_ExposesRetryAfter()
    {
        var handler = new CannedHandler(_ => CannedHandler.ToMessage(FakeReelayApi.Error(429, "rate_limit_error", "rate_limited", "Slow down.", null) with { RetryAfter = TimeSpan.FromSeconds(7) }));
        var client = ClientFactory.Create(handler);

        var ex = await Assert.ThrowsAsync<ReelayApiException>(() => client.GetVideoAsync("video_1"));

        Assert.Equal(TimeSpan.FromSeconds(7), ex.RetryAfter);
        Assert.True(ex.IsTransient);
    }

    [Fact]
    public async Task GetVideoAsync_SuccessWithInvalidJson_ThrowsInvalidResponse()
    {
        var client = ClientFactory.Create(new CannedHandler(_ => CannedHandler.Text(HttpStatusCode.OK, "<html>proxy login</html>", "text/html")));

        var ex = await Assert.ThrowsAsync<ReelayApiException>(() => client.GetVideoAsync("video_1"));

        Assert.Equal(200, ex.StatusCode);
        Assert.Equal("invalid_response", ex.ErrorType);
    }

    [Fact]
    public async Task GetVideoAsync_ServerSlowerThanTimeout_ThrowsTimeoutException()
    {
        var handler = new CannedHandler(async (_, ct) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            return new HttpResponseMessage(HttpStatusCode.OK);
        });
        var client = ClientFactory.Create(handler, timeout: TimeSpan.FromMilliseconds(100));

        var ex = await Assert.ThrowsAsync<TimeoutException>(() => client.GetVideoAsync("video_1"));

        Assert.DoesNotContain(ClientFactory.Key, ex.Message);
    }

    [Fact]
    public async Task GetVideoAsync_CallerCancels_ThrowsOperationCanceledNotTimeout()
    {
        var handler = new CannedHandler(async (_, ct) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            return new HttpResponseMessage(HttpStatusCode.OK);
        });
        var client = ClientFactory.Create(handler, timeout: TimeSpan.FromSeconds(30));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        var ex = await Record.ExceptionAsync(() => client.GetVideoAsync("video_1", cts.Token));

        Assert.IsAssignableFrom<OperationCanceledException>(ex);
    }

    [Fact]
    public void Constructor_RelativeBaseAddress_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => new ReelayClient(new HttpClient(), new ReelayClientOptions { BaseAddress = new Uri("v1", UriKind.Relative) }));
        Assert.Throws<ArgumentException>(() => new ReelayClient(new HttpClient(), new ReelayClientOptions { BaseAddress = new Uri("ftp://host/") }));
    }
}
