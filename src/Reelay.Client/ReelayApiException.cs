namespace Reelay.Client;

/// <summary>
/// The Reelay API answered with an error (HTTP 4xx/5xx and the error envelope <c>{"error":{...}}</c>), or with a
/// response the client could not read. <see cref="Exception.Message"/> is the server's message; it never contains
/// the API key.
/// </summary>
public sealed class ReelayApiException : Exception
{
    /// <summary>Creates an exception describing an API error.</summary>
    /// <param name="statusCode">The HTTP status code.</param>
    /// <param name="message">The message for people.</param>
    /// <param name="errorType">The envelope's <c>type</c>, such as <c>invalid_request_error</c>.</param>
    /// <param name="code">The envelope's canonical <c>code</c>, such as <c>not_found</c>.</param>
    /// <param name="param">The request field the error is about, if any.</param>
    /// <param name="retryAfter">The server's <c>Retry-After</c>, if it sent one.</param>
    /// <param name="innerException">The cause, if any.</param>
    public ReelayApiException(
        int statusCode,
        string message,
        string? errorType = null,
        string? code = null,
        string? param = null,
        TimeSpan? retryAfter = null,
        Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        ErrorType = errorType;
        Code = code;
        Param = param;
        RetryAfter = retryAfter;
    }

    /// <summary>The HTTP status code.</summary>
    public int StatusCode { get; }

    /// <summary>
    /// The envelope's <c>type</c>: <c>invalid_request_error</c>, <c>authentication_error</c>, <c>not_found_error</c>,
    /// <c>rate_limit_error</c> or <c>server_error</c>; <c>invalid_response</c> when the client could not read the
    /// answer; null when the body had no envelope.
    /// </summary>
    public string? ErrorType { get; }

    /// <summary>The canonical error code, such as <c>invalid_request</c>, <c>not_found</c> or <c>unauthorized</c>, or null.</summary>
    public string? Code { get; }

    /// <summary>The request field the error is about, or null.</summary>
    public string? Param { get; }

    /// <summary>How long the server asked the client to wait before retrying, or null.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>Whether the error is worth retrying later: 429 and 502-504.</summary>
    public bool IsTransient => StatusCode is 429 or 502 or 503 or 504;
}
