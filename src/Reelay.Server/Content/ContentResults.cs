using Microsoft.AspNetCore.Http;
using Reelay.Results;

namespace Reelay.Server.Content;

/// <summary>Serves stored content with range requests: zero-copy from disk when the store is local, else streamed.</summary>
internal static class ContentResults
{
    public static IResult Serve(StoredContent content, string fileName) => content.PhysicalPath is { } path
        ? TypedResults.PhysicalFile(path, content.ContentType, fileName, content.LastModified, enableRangeProcessing: true)
        : TypedResults.Stream(content.OpenRead(), content.ContentType, fileName, content.LastModified, enableRangeProcessing: true);
}
