using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

using Reelay.Server;

namespace Reelay.Bench.Support;

/// <summary>
/// The baseline: a minimal ASP.NET Core app on Kestrel, built like the gateway's host (WebApplication, 127.0.0.1 with a
/// run-time port, no Server header, Warning-level logging) with one MapGet that returns a fixed JSON string. No auth,
/// no store, no serialization: what any endpoint on this machine costs.
/// </summary>
internal sealed class BareKestrel : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TempDirectory _root;

    private BareKestrel(WebApplication app, TempDirectory root)
    {
        _app = app;
        _root = root;
        BaseAddress = ReelayServer.BoundAddress(app)!;
    }

    public Uri BaseAddress { get; }

    /// <param name="route">The route template to answer, e.g. /v1/videos/{id}.</param>
    /// <param name="json">The body of every response.</param>
    /// <param name="contentType">The Content-Type of every response.</param>
    public static async Task<BareKestrel> StartAsync(string route, string json, string contentType, CancellationToken cancellationToken)
    {
        var root = TempDirectory.Create("reelay-bench-kestrel-");
        try
        {
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = ["--urls", "http://127.0.0.1:0"], ContentRootPath = root.Path });
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
            var app = builder.Build();
            app.MapGet(route, () => TypedResults.Text(json, contentType));
            await app.StartAsync(cancellationToken);
            return new BareKestrel(app, root);
        }
        catch
        {
            root.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }
        finally
        {
            _root.Dispose();
        }
    }
}
