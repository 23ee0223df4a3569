using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Reelay.Server.Tests.Client;

/// <summary>Serves a <see cref="FakeReelayApi"/> to an HttpClient.</summary>
internal sealed class FakeApiHandler(FakeReelayApi api) : HttpMessageHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        await Task.Yield();
        var response = await api.HandleAsync(new FakeRequest(
            request.Method.Method,
            request.RequestUri!.AbsolutePath,
            request.RequestUri.Query,
            request.Headers.Authorization?.ToString(),
            request.Content?.Headers.ContentType?.ToString(),
            body));
        return CannedHandler.ToMessage(response);
    }
}

/// <summary>Answers each request with whatever the test's function returns, and records the requests.</summary>
internal sealed class CannedHandler(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> respond) : HttpMessageHandler
{
    private readonly ConcurrentQueue<(HttpRequestMessage Request, string? Body)> _requests = new();

    public CannedHandler(Func<HttpRequestMessage, HttpResponseMessage> respond)
        : this((request, _) => Task.FromResult(respond(request)))
    {
    }

    public IReadOnlyList<(HttpRequestMessage Request, string? Body)> Requests => [.. _requests];

    public static HttpResponseMessage ToMessage(FakeResponse response)
    {
        var message = new HttpResponseMessage((HttpStatusCode)response.Status) { Content = new ByteArrayContent(response.Body) };
        message.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(response.ContentType);
        if (response.RetryAfter is { } retryAfter)
        {
            message.Headers.RetryAfter = new RetryConditionHeaderValue(retryAfter);
        }

        return message;
    }

    public static HttpResponseMessage Text(HttpStatusCode status, string body, string contentType = "text/plain") =>
        new(status) { Content = new StringContent(body, Encoding.UTF8, contentType) };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        _requests.Enqueue((request, body));
        return await respond(request, cancellationToken);
    }
}

/// <summary>Puts a <see cref="FakeReelayApi"/> in front of an ASP.NET app (for the CLI's in-process gateway).</summary>
internal sealed class FakeApiStartupFilter(FakeReelayApi api) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (HttpContext context, RequestDelegate rest) =>
        {
            if (!context.Request.Path.StartsWithSegments("/v1"))
            {
                await rest(context);
                return;
            }

            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            var response = await api.HandleAsync(new FakeRequest(
                context.Request.Method,
                context.Request.Path.Value!,
                context.Request.QueryString.Value ?? "",
                context.Request.Headers.Authorization.ToString() is { Length: > 0 } auth ? auth : null,
                context.Request.ContentType,
                body.ToArray()));
            context.Response.StatusCode = response.Status;
            context.Response.ContentType = response.ContentType;
            await context.Response.Body.WriteAsync(response.Body, context.RequestAborted);
        });
        next(app);
    };
}
