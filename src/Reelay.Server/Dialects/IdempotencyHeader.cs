using Microsoft.AspNetCore.Http;
using Reelay.Jobs;

namespace Reelay.Server.Dialects;

/// <summary>The Idempotency-Key header every dialect's submit accepts.</summary>
internal static class IdempotencyHeader
{
    public const string Name = "Idempotency-Key";

    /// <summary>The header's value, null when absent; an empty, over-long or non-printable value is invalid_request.</summary>
    public static string? Read(HttpRequest request)
    {
        var values = request.Headers[Name];
        if (values.Count == 0)
        {
            return null;
        }

        var value = values.Count == 1 ? values[0] : null;
        if (value is null || value.Length is 0 or > 255 || value.Any(c => c is < ' ' or > '~'))
        {
            throw ReelayException.Invalid(Name, $"{Name} must be one value of 1 to 255 printable ASCII characters (for example a UUID).");
        }

        return value;
    }
}
