using Microsoft.AspNetCore.Http;
using Reelay.Results;

namespace Reelay.Server.Content;

/// <summary>
/// Serves stored content with range requests: zero-copy from disk when the store is local, else streamed from the store's
/// seekable stream (for S3, ranged GETs), with Last-Modified and the store's ETag as validators.
/// </summary>
internal static class ContentResults
{
    /// <summary>The download name of a job's content: the id, then .mp4 for the video and .jpg for the images.</summary>
    public static string FileName(string id, Reelay.Engine.ContentVariant variant) =>
        variant == Reelay.Engine.ContentVariant.Video ? $"{id}.mp4" : variant == Reelay.Engine.ContentVariant.Spritesheet ? $"{id}.spritesheet.jpg" : $"{id}.jpg";

    public static IResult Serve(StoredContent content, string fileName) => content.PhysicalPath is { } path
        ? TypedResults.PhysicalFile(path, content.ContentType, fileName, content.LastModified, enableRangeProcessing: true)
        : TypedResults.Stream(content.OpenRead(), content.ContentType, fileName, content.LastModified, EntityTag(content.ETag), enableRangeProcessing: true);

    private static Microsoft.Net.Http.Headers.EntityTagHeaderValue? EntityTag(string? etag) =>
        etag is not null && Microsoft.Net.Http.Headers.EntityTagHeaderValue.TryParse(etag, out var parsed) ? parsed : null;
}
