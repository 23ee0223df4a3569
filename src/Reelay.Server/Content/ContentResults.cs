using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Reelay.Engine;
using Reelay.Results;

namespace Reelay.Server.Content;

/// <summary>
/// Serves stored content with range requests: zero-copy from disk when the store is local, else streamed from the store's
/// seekable stream (for S3, ranged GETs), with Last-Modified and the store's ETag as validators (If-None-Match,
/// If-Modified-Since, If-Range). HEAD answers the same headers without the body.
/// </summary>
internal static class ContentResults
{
    /// <summary>The methods every content route answers.</summary>
    public static readonly string[] Methods = [HttpMethods.Get, HttpMethods.Head];

    /// <summary>
    /// The download name of a job's content: the id, then .mp4 for the video, and for the stills the extension of their
    /// stored type (.webp; .jpg for jobs finished before thumbnails became WebP), the spritesheet as .spritesheet.*.
    /// </summary>
    public static string FileName(string id, ContentVariant variant, string contentType)
    {
        if (variant == ContentVariant.Video)
        {
            return $"{id}.mp4";
        }

        var extension = contentType switch
        {
            "image/jpeg" => ".jpg",
            "image/png" => ".png",
            _ => ".webp",
        };
        return variant == ContentVariant.Spritesheet ? $"{id}.spritesheet{extension}" : $"{id}{extension}";
    }

    public static IResult Serve(StoredContent content, string id, ContentVariant variant)
    {
        var fileName = FileName(id, variant, content.ContentType);
        return content.PhysicalPath is { } path
            ? TypedResults.PhysicalFile(path, content.ContentType, fileName, content.LastModified, EntityTag(content.ETag), enableRangeProcessing: true)
            : TypedResults.Stream(content.OpenRead(), content.ContentType, fileName, content.LastModified, EntityTag(content.ETag), enableRangeProcessing: true);
    }

    private static EntityTagHeaderValue? EntityTag(string? etag) =>
        etag is not null && EntityTagHeaderValue.TryParse(etag, out var parsed) ? parsed : null;
}
