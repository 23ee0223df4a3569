using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Reelay.Jobs;
using Reelay.Media;
using Reelay.Results;

namespace Reelay.Characters;

/// <summary>A stored character: a named reference (image or short video) that a create request names by id.</summary>
/// <param name="Id">char_ followed by 32 random hex digits.</param>
/// <param name="Owner">The API key id that created it; other keys get not_found.</param>
/// <param name="Name">Display name.</param>
/// <param name="MediaType">image/png, image/jpeg, image/webp, video/mp4 or video/webm, from the bytes.</param>
/// <param name="MediaKey">Storage key of the reference media.</param>
/// <param name="CreatedAt">When it was created.</param>
public sealed record Character(string Id, string Owner, string Name, string MediaType, string MediaKey, DateTimeOffset CreatedAt);

/// <summary>
/// Characters kept in the result storage (<see cref="IResultStore"/>), not in the job database: the media and a small JSON
/// record under <c>characters/&lt;owner hash&gt;/&lt;id&gt;</c>. The id is unguessable and the owner is part of the key, so a
/// lookup by another key finds nothing; and every node that shares the result storage (local disk or S3) sees them.
/// </summary>
public sealed class CharacterStore(IResultStore results, TimeProvider time)
{
    /// <summary>The longest display name.</summary>
    public const int MaxNameLength = 80;

    /// <summary>Creates a character from uploaded bytes; the bytes decide the type (an image, or an MP4/WebM video).</summary>
    public async Task<Character> CreateAsync(string owner, string? name, ReadOnlyMemory<byte> media, string param, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        var clean = name?.Trim();
        if (string.IsNullOrEmpty(clean))
        {
            throw ReelayException.Invalid("name", "'name' is required: the character's display name.");
        }

        if (clean.Length > MaxNameLength || clean.Any(char.IsControl))
        {
            throw ReelayException.Invalid("name", $"'name' must be at most {MaxNameLength} characters without control characters.");
        }

        var (mediaType, extension) = SniffMedia(media.Span)
            ?? throw new ReelayException(ErrorCodes.ImageInvalid, $"'{param}' is not a PNG, JPEG or WebP image, nor an MP4 or WebM video (judged by its bytes, not its name or type).", param);

        var id = "char_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var folder = Folder(owner);
        var mediaKey = $"{folder}/{id}.{extension}";
        using (var stream = new MemoryStream(media.ToArray(), writable: false))
        {
            await results.PutAsync(mediaKey, stream, mediaType, cancellationToken).ConfigureAwait(false);
        }

        var character = new Character(id, owner, clean, mediaType, mediaKey, time.GetUtcNow());
        using (var record = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(character, CharacterJsonContext.Default.Character), writable: false))
        {
            await results.PutAsync($"{folder}/{id}.json", record, "application/json", cancellationToken).ConfigureAwait(false);
        }

        return character;
    }

    /// <summary>The owner's character; null when the id is malformed, unknown or another key's.</summary>
    public async Task<Character?> FindAsync(string owner, string id, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        if (!IsId(id))
        {
            return null;
        }

        var content = await results.OpenAsync($"{Folder(owner)}/{id}.json", cancellationToken).ConfigureAwait(false);
        if (content is null)
        {
            return null;
        }

        await using (content.ConfigureAwait(false))
        {
            var stream = content.OpenRead();
            await using (stream.ConfigureAwait(false))
            {
                var character = await JsonSerializer.DeserializeAsync(stream, CharacterJsonContext.Default.Character, cancellationToken).ConfigureAwait(false);
                return character is not null && character.Owner == owner && character.Id == id ? character : null;
            }
        }
    }

    /// <summary>The owner's character, or not_found naming <paramref name="param"/>.</summary>
    public async Task<Character> GetAsync(string owner, string id, string param, CancellationToken cancellationToken) =>
        await FindAsync(owner, id, cancellationToken).ConfigureAwait(false)
        ?? throw new ReelayException(ErrorCodes.NotFound, $"No character with id '{Shown(id)}' was found.", param);

    /// <summary>Opens the character's reference media as uploaded (an image, or a short MP4/WebM video).</summary>
    public async Task<Stream> OpenMediaAsync(Character character, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(character);
        var content = await results.OpenAsync(character.MediaKey, cancellationToken).ConfigureAwait(false)
            ?? throw new FileNotFoundException($"The stored media of character {character.Id} is missing.");
        return await ReadAllAsync(content, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Opens a still image of the character, for upstreams that take reference images: the image itself, or for a video
    /// character one frame of it (a JPEG taken with ffmpeg through <paramref name="media"/> the first time it is needed, then
    /// kept next to the character so that later jobs and other nodes reuse it). Throws <see cref="ReelayException"/>
    /// (image_invalid) when no frame can be taken from the video.
    /// </summary>
    public async Task<Stream> OpenStillAsync(Character character, Engine.IMediaInspector media, string tempDirectory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(character);
        ArgumentNullException.ThrowIfNull(media);
        if (character.MediaType.StartsWith("image/", StringComparison.Ordinal))
        {
            return await OpenMediaAsync(character, cancellationToken).ConfigureAwait(false);
        }

        var stillKey = $"{Folder(character.Owner)}/{character.Id}.still.jpg";
        if (await results.OpenAsync(stillKey, cancellationToken).ConfigureAwait(false) is { } kept)
        {
            return await ReadAllAsync(kept, cancellationToken).ConfigureAwait(false);
        }

        Directory.CreateDirectory(tempDirectory);
        var stem = Path.Combine(tempDirectory, $"{character.Id}.{Guid.NewGuid():N}");
        var video = stem + (character.MediaType == "video/webm" ? ".webm" : ".mp4");
        var still = stem + ".still.jpg";
        try
        {
            var source = await OpenMediaAsync(character, cancellationToken).ConfigureAwait(false);
            await using (source.ConfigureAwait(false))
            {
                var file = File.Create(video);
                await using (file.ConfigureAwait(false))
                {
                    await source.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
                }
            }

            if (!await media.CreateThumbnailAsync(video, still, cancellationToken).ConfigureAwait(false) || ImageInfo.Sniff(await File.ReadAllBytesAsync(still, cancellationToken).ConfigureAwait(false)) is null)
            {
                throw new ReelayException(ErrorCodes.ImageInvalid, $"No frame could be taken from the video of character '{character.Name}' ({character.Id}) to send as a reference image.", "characters");
            }

            await results.PutFileAsync(stillKey, still, "image/jpeg", move: false, cancellationToken).ConfigureAwait(false);
            return new MemoryStream(await File.ReadAllBytesAsync(still, cancellationToken).ConfigureAwait(false), writable: false);
        }
        finally
        {
            File.Delete(video);
            File.Delete(still);
        }
    }

    /// <summary>
    /// The id an upstream gave this character earlier (<see cref="RememberUpstreamIdAsync"/>), or null. <paramref name="upstream"/>
    /// names the upstream account the id belongs to (the provider instance and its base URL): ids of one are unknown to another.
    /// </summary>
    public async Task<string?> FindUpstreamIdAsync(Character character, string upstream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(character);
        var content = await results.OpenAsync(UpstreamKey(character, upstream), cancellationToken).ConfigureAwait(false);
        if (content is null)
        {
            return null;
        }

        var stream = await ReadAllAsync(content, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                var record = await JsonSerializer.DeserializeAsync(stream, CharacterJsonContext.Default.UpstreamCharacter, cancellationToken).ConfigureAwait(false);
                return record is { Upstream: var name, UpstreamId: { Length: > 0 } id } && name == upstream ? id : null;
            }
            catch (JsonException)
            {
                return null; // a damaged record: the character is uploaded again
            }
        }
    }

    /// <summary>
    /// Remembers, durably and next to the character, the id <paramref name="upstream"/> gave it, so that later jobs, a restart
    /// and every node sharing the result storage reuse it instead of uploading the character again.
    /// </summary>
    public async Task RememberUpstreamIdAsync(Character character, string upstream, string upstreamId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(character);
        ArgumentException.ThrowIfNullOrEmpty(upstreamId);
        var record = new UpstreamCharacter(upstream, upstreamId, time.GetUtcNow());
        using var stream = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(record, CharacterJsonContext.Default.UpstreamCharacter), writable: false);
        await results.PutAsync(UpstreamKey(character, upstream), stream, "application/json", cancellationToken).ConfigureAwait(false);
    }

    // One record per (character, upstream account): the upstream's name is hashed into the key, as the owner is.
    private static string UpstreamKey(Character character, string upstream)
    {
        ArgumentException.ThrowIfNullOrEmpty(upstream);
        return $"{Folder(character.Owner)}/{character.Id}.upstream.{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(upstream)))[..32]}.json";
    }

    // The result store may hand out a file or a remote stream; either is read whole (characters are small) and closed.
    private static async Task<Stream> ReadAllAsync(StoredContent content, CancellationToken cancellationToken)
    {
        await using (content.ConfigureAwait(false))
        {
            var stream = content.OpenRead();
            await using (stream.ConfigureAwait(false))
            {
                var buffer = new MemoryStream();
                await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
                buffer.Position = 0;
                return buffer;
            }
        }
    }

    private static string Shown(string text) => text.Length > 48 ? text[..48] + "…" : text;

    /// <summary>Whether <paramref name="id"/> has the shape of a character id.</summary>
    public static bool IsId(string? id) =>
        id is { Length: 37 } && id.StartsWith("char_", StringComparison.Ordinal) && !id.AsSpan(5).ContainsAnyExcept(HexDigits);

    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789abcdef");

    // The owner's key id is hashed into the path: key ids are not secret, but not every id is a valid storage key.
    private static string Folder(string owner) =>
        "characters/" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(owner)))[..32];

    private static (string MediaType, string Extension)? SniffMedia(ReadOnlySpan<byte> data)
    {
        if (ImageInfo.Sniff(data) is { } image)
        {
            return (image.MediaType, image.Extension);
        }

        // ISO BMFF (MP4/MOV): a box size, then "ftyp". WebM/Matroska: the EBML magic.
        if (data.Length >= 12 && data.Slice(4, 4).SequenceEqual("ftyp"u8))
        {
            return ("video/mp4", "mp4");
        }

        return data.Length >= 4 && data[..4].SequenceEqual(stackalloc byte[] { 0x1A, 0x45, 0xDF, 0xA3 }) ? ("video/webm", "webm") : null;
    }
}

/// <summary>The id an upstream account gave a character.</summary>
/// <param name="Upstream">The upstream account: provider instance name and base URL.</param>
/// <param name="UpstreamId">The upstream's id of the character.</param>
/// <param name="CreatedAt">When it was uploaded.</param>
internal sealed record UpstreamCharacter(string Upstream, string UpstreamId, DateTimeOffset CreatedAt);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(Character))]
[JsonSerializable(typeof(UpstreamCharacter))]
internal sealed partial class CharacterJsonContext : JsonSerializerContext;
