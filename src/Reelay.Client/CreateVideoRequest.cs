namespace Reelay.Client;

/// <summary>
/// A request to <c>POST /v1/videos</c>. Give at most one first frame: <see cref="ImageUrl"/>, <see cref="ImageFile"/>
/// or <see cref="ImageStream"/>. A request with a file or stream is sent as multipart/form-data, otherwise as JSON.
/// </summary>
public sealed class CreateVideoRequest
{
    /// <summary>The public model name (see <see cref="ReelayClient.ListModelsAsync"/>); null lets the server choose its default.</summary>
    public string? Model { get; set; }

    /// <summary>What to generate. Required for text-to-video.</summary>
    public string? Prompt { get; set; }

    /// <summary>
    /// Sent as the Idempotency-Key header: resending the same request with the same key returns the original video
    /// instead of starting (and paying for) another; the same key with a different request is a 409. Use a new
    /// key (e.g. a GUID) per intended video and reuse it on retries.
    /// </summary>
    public string? IdempotencyKey { get; set; }

    /// <summary>Duration in seconds; sent as a string as the OpenAI dialect expects. Null lets the model choose.</summary>
    public int? Seconds { get; set; }

    /// <summary>Output size as <c>WIDTHxHEIGHT</c>, for example <c>1280x720</c>. Null lets the model choose.</summary>
    public string? Size { get; set; }

    /// <summary>A seed for models that take one.</summary>
    public long? Seed { get; set; }

    /// <summary>The first frame as an <c>https://</c> URL or a <c>data:image/...;base64,</c> URI.</summary>
    public string? ImageUrl { get; set; }

    /// <summary>The first frame as a local file path, uploaded as the <c>input_reference</c> part.</summary>
    public string? ImageFile { get; set; }

    /// <summary>The first frame as a readable stream, uploaded from its current position. The client does not dispose it.</summary>
    public Stream? ImageStream { get; set; }

    /// <summary>The upload's file name; defaults to the name of <see cref="ImageFile"/>, or <c>image</c> for a stream.</summary>
    public string? ImageFileName { get; set; }

    /// <summary>The upload's media type; defaults from the file name's extension (png, jpeg, webp), else application/octet-stream.</summary>
    public string? ImageContentType { get; set; }

    /// <summary>Ids of characters (<see cref="ReelayClient.CreateCharacterAsync(string, Stream, string, CancellationToken)"/>) to show; models whose catalog lists the characters operation take them.</summary>
    public IList<string>? Characters { get; set; }

    /// <summary>
    /// Ask the server to hold the answer until the video finishes or this long passes (<c>Prefer: wait=N</c>, capped by
    /// the server's Reelay:MaxPreferWait): the returned video is then completed or failed when it finished in time.
    /// </summary>
    public TimeSpan? Wait { get; set; }

    /// <summary>Whether this request uploads an image (and is therefore sent as multipart/form-data).</summary>
    public bool HasImageUpload => ImageFile is not null || ImageStream is not null;
}
