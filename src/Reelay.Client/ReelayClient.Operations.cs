using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Reelay.Client.Internal;
using Reelay.Client.Serialization;

namespace Reelay.Client;

/// <summary>Options of a remix, edit or extension.</summary>
public sealed class VideoOperationOptions
{
    /// <summary>Sent as the Idempotency-Key header (see <see cref="CreateVideoRequest.IdempotencyKey"/>).</summary>
    public string? IdempotencyKey { get; set; }

    /// <summary>Hold the answer until the video finishes or this long passes (<c>Prefer: wait=N</c>).</summary>
    public TimeSpan? Wait { get; set; }

    /// <summary>For a remix: another length than the source's, in seconds.</summary>
    public int? Seconds { get; set; }

    /// <summary>For a remix: another size than the source's (<c>WIDTHxHEIGHT</c>).</summary>
    public string? Size { get; set; }
}

/// <summary>A character: a named reference that create requests show by id (<see cref="CreateVideoRequest.Characters"/>).</summary>
public sealed class Character
{
    /// <summary>char_ followed by 32 hex digits.</summary>
    public string Id { get; init; } = "";

    /// <summary>Unix seconds when it was created.</summary>
    public long CreatedAt { get; init; }

    /// <summary>Its display name.</summary>
    public string? Name { get; init; }
}

public partial class ReelayClient
{
    /// <summary>Remixes a completed video with a new prompt (<c>POST /v1/videos/{id}/remix</c>): same model, size and length unless <paramref name="options"/> say otherwise.</summary>
    /// <param name="sourceId">A completed video of this key.</param>
    /// <param name="prompt">The new prompt.</param>
    /// <param name="options">Length, size, idempotency key and wait; null for none.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new video; its <see cref="Video.RemixedFromVideoId"/> is <paramref name="sourceId"/>.</returns>
    /// <exception cref="ReelayApiException">For example 404 not_found, or 400 when the source is not completed.</exception>
    public virtual Task<Video> RemixVideoAsync(string sourceId, string prompt, VideoOperationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sourceId);
        ArgumentException.ThrowIfNullOrWhiteSpace(prompt);
        var body = new DerivedVideoBody { Prompt = prompt, Seconds = options?.Seconds?.ToString(CultureInfo.InvariantCulture), Size = options?.Size };
        return SendDerivedAsync(VideoPath(sourceId) + "/remix", body, options, cancellationToken);
    }

    /// <summary>Edits a completed video (<c>POST /v1/videos/edits</c>): a new video from it and a prompt that says what to change.</summary>
    /// <param name="sourceId">A completed video of this key.</param>
    /// <param name="prompt">What to change.</param>
    /// <param name="options">Idempotency key and wait; null for none.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new video.</returns>
    /// <exception cref="ReelayApiException">The server refused the request.</exception>
    public virtual Task<Video> EditVideoAsync(string sourceId, string prompt, VideoOperationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sourceId);
        ArgumentException.ThrowIfNullOrWhiteSpace(prompt);
        return SendDerivedAsync("v1/videos/edits", new DerivedVideoBody { Prompt = prompt, Video = new VideoReference { Id = sourceId } }, options, cancellationToken);
    }

    /// <summary>Extends a completed video by <paramref name="seconds"/> (<c>POST /v1/videos/extensions</c>): the result is the stitched whole.</summary>
    /// <param name="sourceId">A completed video of this key.</param>
    /// <param name="prompt">What happens next.</param>
    /// <param name="seconds">The new segment's length.</param>
    /// <param name="options">Idempotency key and wait; null for none.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new video; its <see cref="Video.Seconds"/> is the total length.</returns>
    /// <exception cref="ReelayApiException">The server refused the request.</exception>
    public virtual Task<Video> ExtendVideoAsync(string sourceId, string prompt, int seconds, VideoOperationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sourceId);
        ArgumentException.ThrowIfNullOrWhiteSpace(prompt);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seconds);
        var body = new DerivedVideoBody { Prompt = prompt, Seconds = seconds.ToString(CultureInfo.InvariantCulture), Video = new VideoReference { Id = sourceId } };
        return SendDerivedAsync("v1/videos/extensions", body, options, cancellationToken);
    }

    /// <summary>Creates a character from a reference (<c>POST /v1/videos/characters</c>): a short MP4/WebM or a PNG, JPEG or WebP image.</summary>
    /// <param name="name">Its display name.</param>
    /// <param name="media">The reference, uploaded from its current position; the client does not dispose it.</param>
    /// <param name="fileName">The upload's file name.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The character, visible only to this key.</returns>
    /// <exception cref="ReelayApiException">For example 400 when the bytes are neither an image nor a video.</exception>
    public virtual Task<Character> CreateCharacterAsync(string name, Stream media, string fileName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(media);
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        var form = new MultipartFormDataContent();
        AddField(form, "name", name);
        var part = new UploadStreamContent(media);
        part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(part, "video", fileName);
        return SendJsonAsync(HttpMethod.Post, "v1/videos/characters", form, ReelayJsonContext.Default.Character, cancellationToken);
    }

    /// <summary>Creates a character from a local file (see <see cref="CreateCharacterAsync(string, Stream, string, CancellationToken)"/>).</summary>
    /// <param name="name">Its display name.</param>
    /// <param name="path">The reference file.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The character.</returns>
    public virtual async Task<Character> CreateCharacterFromFileAsync(string name, string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (file.ConfigureAwait(false))
        {
            return await CreateCharacterAsync(name, file, Path.GetFileName(path), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Reads a character of this key (<c>GET /v1/videos/characters/{id}</c>).</summary>
    /// <param name="id">The character id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The character.</returns>
    /// <exception cref="ReelayApiException">404 not_found for an unknown id or another key's character.</exception>
    public virtual Task<Character> GetCharacterAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return SendJsonAsync(HttpMethod.Get, "v1/videos/characters/" + Uri.EscapeDataString(id), null, ReelayJsonContext.Default.Character, cancellationToken);
    }

    private Task<Video> SendDerivedAsync(string path, DerivedVideoBody body, VideoOperationOptions? options, CancellationToken cancellationToken)
    {
        var json = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, ReelayJsonContext.Default.DerivedVideoBody));
        json.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return SendJsonAsync(HttpMethod.Post, path, json, ReelayJsonContext.Default.Video, cancellationToken, options?.IdempotencyKey, options?.Wait);
    }
}
