using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Reelay.Server.Dashboard;

/// <summary>
/// The dashboard's stylesheet and script, embedded in the server assembly so that they ship inside the packed tool with no
/// static-web-assets manifest or wwwroot to carry along. Two small files do not need a file provider.
/// </summary>
internal static class DashboardAssets
{
    private static readonly Dictionary<string, Asset> Assets = Load();

    public static IResult Serve(string name, HttpContext context)
    {
        if (!Assets.TryGetValue(name, out var asset))
        {
            return TypedResults.NotFound();
        }

        context.Response.Headers.CacheControl = "no-cache";
        if (context.Request.Headers.IfNoneMatch.ToString() == asset.ETag.ToString())
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        return TypedResults.Bytes(asset.Bytes, asset.ContentType, entityTag: asset.ETag);
    }

    private static Dictionary<string, Asset> Load()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var (name, type) in new[] { ("dashboard.css", "text/css; charset=utf-8"), ("dashboard.js", "text/javascript; charset=utf-8") })
        {
            using var stream = assembly.GetManifestResourceStream("Reelay.Server.Dashboard.Assets." + name)
                ?? throw new InvalidOperationException($"The dashboard asset {name} is not embedded in the server assembly.");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            assets[name] = new Asset(bytes, type, new EntityTagHeaderValue("\"" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..16] + "\""));
        }

        return assets;
    }

    private sealed record Asset(byte[] Bytes, string ContentType, EntityTagHeaderValue ETag);
}
