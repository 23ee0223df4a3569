using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;

namespace Reelay.Server.Hosting;

/// <summary>
/// A small JSON answer (a status read's) written with its Content-Length, in one write. <c>TypedResults.Json</c>
/// serializes into the response as it goes, so the length is unknown when the headers leave: the answer is chunked and
/// ends with a second write (the last chunk), two sends to the socket per request instead of one. The body is the
/// same bytes, from the same source-generated serializer.
/// </summary>
internal sealed class SizedJsonResult<T>(T value, JsonTypeInfo<T> typeInfo, int statusCode = StatusCodes.Status200OK)
    : IResult, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<T>, IContentTypeHttpResult
{
    private const string JsonContentType = "application/json; charset=utf-8";

    /// <inheritdoc />
    public T Value => value;

    object? IValueHttpResult.Value => value;

    /// <inheritdoc />
    public int StatusCode => statusCode;

    int? IStatusCodeHttpResult.StatusCode => statusCode;

    /// <inheritdoc />
    public string ContentType => JsonContentType;

    /// <inheritdoc />
    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var body = JsonSerializer.SerializeToUtf8Bytes(value, typeInfo);
        var response = httpContext.Response;
        response.StatusCode = statusCode;
        response.ContentType = JsonContentType;
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, httpContext.RequestAborted).AsTask();
    }
}
