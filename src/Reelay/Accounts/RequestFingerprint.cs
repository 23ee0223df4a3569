using System.Security.Cryptography;
using System.Text;
using Reelay.Jobs;

namespace Reelay.Accounts;

/// <summary>
/// What makes two submits "the same request" for idempotency: every field of the canonical request (the first frame by
/// the SHA-256 of its bytes, or its URL), not the raw body, so a multipart body with a new boundary still matches.
/// </summary>
public static class RequestFingerprint
{
    /// <summary>Lower-case hex SHA-256 over a canonical rendering of <paramref name="request"/>.</summary>
    public static string Of(JobRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var text = new StringBuilder();
        void Field(string name, string? value) => text.Append(name).Append('=').Append(value?.Length).Append(':').Append(value).Append('\n');
        Field("dialect", request.Dialect);
        Field("model", request.Model);
        Field("mode", request.Mode?.ToWire());
        Field("prompt", request.Prompt);
        Field("seconds", request.DurationSeconds?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Field("size", request.Size);
        Field("resolution", request.Resolution);
        Field("aspect_ratio", request.AspectRatio);
        Field("seed", request.Seed?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Field("webhook", request.WebhookUrl);
        Field("webhook_events", request.WebhookEvents is null ? null : string.Join(',', request.WebhookEvents));
        foreach (var (key, value) in (request.Options ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            Field("option." + key, value);
        }

        foreach (var (key, value) in (request.Metadata ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            Field("metadata." + key, value);
        }

        // Only when used, so the fingerprints of plain generate requests stay what earlier versions stored.
        if (request.Operation != Jobs.JobOperation.Generate)
        {
            Field("operation", Jobs.JobOperations.ToWire(request.Operation));
            Field("source", request.SourceJobId);
            Field("extension_seconds", request.ExtensionSeconds?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (request.CharacterIds is { Count: > 0 } characters)
        {
            Field("characters", string.Join(',', characters));
        }

        if (request.FirstFrame is { } frame)
        {
            Field("first_frame", Image(frame));
        }

        // Only when used, like the operation fields above.
        if (request.LastFrame is { } last)
        {
            Field("last_frame", Image(last));
        }

        if (request.ReferenceImages is { Count: > 0 } references)
        {
            Field("reference_images", string.Join(',', references.Select(Image)));
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static string? Image(Jobs.InputImage image) =>
        image.Bytes is { } bytes ? "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes.Span)) : image.Url?.AbsoluteUri;
}
