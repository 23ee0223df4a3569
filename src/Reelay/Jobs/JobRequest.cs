namespace Reelay.Jobs;

/// <summary>
/// The canonical request every dialect parses into. Nothing here is validated yet: the catalog does that,
/// naming the field, the value and what is allowed.
/// </summary>
public sealed record JobRequest
{
    /// <summary>Public model name, as in the catalog.</summary>
    public required string Model { get; init; }

    /// <summary>Text-to-video or image-to-video. Null: image-to-video when <see cref="FirstFrame"/> is set.</summary>
    public VideoMode? Mode { get; init; }

    /// <summary>The prompt.</summary>
    public string? Prompt { get; init; }

    /// <summary>The first frame, when image-to-video.</summary>
    public InputImage? FirstFrame { get; init; }

    /// <summary>
    /// The last frame, for first+last frame video (the catalog mode <c>first_last</c>); needs <see cref="FirstFrame"/>.
    /// Fetched, checked and stored like the first frame.
    /// </summary>
    public InputImage? LastFrame { get; init; }

    /// <summary>
    /// Reference images (1..N; the catalog mode <c>reference</c> and the model's <c>maxReferenceImages</c>): what the video
    /// should show, not a frame of it. Each one's <see cref="InputImage.Param"/> names it with its index
    /// (<c>image_urls[2]</c>). Fetched, checked and stored like the first frame.
    /// </summary>
    public IReadOnlyList<InputImage>? ReferenceImages { get; init; }

    /// <summary>Length in whole seconds; null takes the model's default.</summary>
    public int? DurationSeconds { get; init; }

    /// <summary>Explicit output size "WxH"; null takes the model's default or derives it from resolution and aspect ratio.</summary>
    public string? Size { get; init; }

    /// <summary>Resolution tier such as "720p".</summary>
    public string? Resolution { get; init; }

    /// <summary>Aspect ratio such as "16:9".</summary>
    public string? AspectRatio { get; init; }

    /// <summary>Seed for deterministic output where the model supports it.</summary>
    public long? Seed { get; init; }

    /// <summary>Model options by catalog name (movement_amplitude, bgm, ...), as strings.</summary>
    public IReadOnlyDictionary<string, string>? Options { get; init; }

    /// <summary>Where to send webhooks.</summary>
    public string? WebhookUrl { get; init; }

    /// <summary>Which webhook events to send (names from <see cref="Webhooks.WebhookEvents.All"/>); null sends every event.</summary>
    public IReadOnlyList<string>? WebhookEvents { get; init; }

    /// <summary>Client metadata, stored and returned as is.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>The client's idempotency key.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>The API key id that owns the job.</summary>
    public required string Owner { get; init; }

    /// <summary>The dialect that received the request (openai, modelverse, ...).</summary>
    public string? Dialect { get; init; }

    /// <summary>Generate (the default), or remix, edit or extend the completed job <see cref="SourceJobId"/>.</summary>
    public JobOperation Operation { get; init; }

    /// <summary>
    /// For remix, edit and extend: the completed job (owned by <see cref="Owner"/>) to derive from. Its model, size and
    /// length are kept unless the request says otherwise (an empty <see cref="Model"/> means the source's).
    /// </summary>
    public string? SourceJobId { get; init; }

    /// <summary>The request field that named the source, for error messages ("video", "video_id").</summary>
    public string SourceParam { get; init; } = "video";

    /// <summary>For extend: the new segment's length in seconds (the job's duration is the stitched total).</summary>
    public int? ExtensionSeconds { get; init; }

    /// <summary>Characters (ids from the character store, owned by <see cref="Owner"/>) to show in the video.</summary>
    public IReadOnlyList<string>? CharacterIds { get; init; }
}

/// <summary>An input image (first frame, last frame or reference image) as the client gave it: bytes (upload or data URI) or a URL to fetch.</summary>
public sealed class InputImage
{
    /// <summary>The image bytes, when uploaded or given as a data URI.</summary>
    public ReadOnlyMemory<byte>? Bytes { get; init; }

    /// <summary>An http(s) URL to fetch through the guarded client.</summary>
    public Uri? Url { get; init; }

    /// <summary>The media type the client claimed; never trusted, the bytes decide.</summary>
    public string? ClaimedMediaType { get; init; }

    /// <summary>The upload's file name, if any.</summary>
    public string? FileName { get; init; }

    /// <summary>The request field it came from, for error messages.</summary>
    public string Param { get; init; } = "first_frame";

    /// <summary>An image from bytes.</summary>
    public static InputImage FromBytes(ReadOnlyMemory<byte> bytes, string param, string? claimedType = null, string? fileName = null) =>
        new() { Bytes = bytes, Param = param, ClaimedMediaType = claimedType, FileName = fileName };

    /// <summary>
    /// Parses a client string: a data URI (data:image/png;base64,...), raw base64, or an http(s) URL.
    /// Throws invalid_request naming <paramref name="param"/> for anything else.
    /// </summary>
    public static InputImage Parse(string value, string param)
    {
        ArgumentNullException.ThrowIfNull(value);
        var text = value.Trim();
        if (text.Length == 0)
        {
            throw ReelayException.Invalid(param, $"'{param}' is empty; give an http(s) URL, a data URI (data:image/png;base64,...) or base64 image bytes.");
        }

        if (text.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var comma = text.IndexOf(',', StringComparison.Ordinal);
            if (comma < 0 || !text.AsSpan(0, comma).EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            {
                throw ReelayException.Invalid(param, $"'{param}' is a data URI that is not base64-encoded; expected data:image/<png|jpeg|webp>;base64,<bytes>.");
            }

            var mediaType = text[5..comma].Split(';')[0];
            return FromBytes(DecodeBase64(text[(comma + 1)..], param), param, mediaType);
        }

        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return new InputImage { Url = uri, Param = param };
        }

        if (text.Contains("://", StringComparison.Ordinal))
        {
            throw ReelayException.Invalid(param, $"'{param}' uses a URL scheme that is not allowed; only http and https URLs are fetched.");
        }

        return FromBytes(DecodeBase64(text, param), param);
    }

    private static byte[] DecodeBase64(string base64, string param)
    {
        try
        {
            return Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            throw ReelayException.Invalid(param, $"'{param}' is neither an http(s) URL nor valid base64 image data.");
        }
    }
}
