using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Reelay.Server.Tests.Support;

/// <summary>Runs the real curl, as a seed document's example does.</summary>
public static class Curl
{
    public static async Task<(int Status, JsonElement Body)> RunAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--silent", "--show-error", "--write-out", "\n%{http_code}" }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"curl failed: {error}");
        var split = output.LastIndexOf('\n');
        return (int.Parse(output[(split + 1)..], System.Globalization.CultureInfo.InvariantCulture), JsonDocument.Parse(output[..split]).RootElement.Clone());
    }
}

/// <summary>Serves one image on loopback, standing in for a seed document's image host.</summary>
public sealed class ImageHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ImageHost(WebApplication app) => _app = app;

    public Uri BaseAddress => ReelayServer.BoundAddress(_app)!;

    public static async Task<ImageHost> StartAsync(string path, byte[] bytes, string contentType)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.MapGet(path, () => TypedResults.Bytes(bytes, contentType));
        await app.StartAsync();
        return new ImageHost(app);
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
