namespace Reelay.Jobs;

/// <summary>An error in the canonical taxonomy.</summary>
/// <param name="Code">One of <see cref="ErrorCodes"/>.</param>
/// <param name="Message">A clear, client-safe sentence: names the field, the value and what is allowed. Never a secret or a raw upstream body.</param>
/// <param name="Param">The request field at fault, in canonical spelling (dialects may rename it), or null.</param>
/// <param name="Stage">For moderation: prompt, input_image or output.</param>
public sealed record JobError(string Code, string Message, string? Param = null, string? Stage = null);

/// <summary>Thrown for any request-level failure; dialects render <see cref="Error"/> in their own envelope.</summary>
public class ReelayException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ReelayException(JobError error, TimeSpan? retryAfter = null) : base(error.Message)
    {
        Error = error;
        RetryAfter = retryAfter;
    }

    /// <summary>Creates the exception.</summary>
    public ReelayException(string code, string message, string? param = null) : this(new JobError(code, message, param)) { }

    /// <summary>The canonical error.</summary>
    public JobError Error { get; }

    /// <summary>For rate limits: when to try again.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>The HTTP status for the error's code.</summary>
    public int HttpStatus => ErrorCodes.HttpStatus(Error.Code);

    /// <summary>An invalid_request naming the field.</summary>
    public static ReelayException Invalid(string param, string message) => new(ErrorCodes.InvalidRequest, message, param);

    /// <summary>A not_found for a job id.</summary>
    public static ReelayException JobNotFound(string id) => new(ErrorCodes.NotFound, $"No video job with id '{id}' was found.", "id");
}
