using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Reelay.Server.Admin;
using Reelay.Server.ApiDocuments;
using Reelay.Server.Auth;
using Reelay.Server.Callbacks;
using Reelay.Server.Content;
using Reelay.Server.Dashboard;
using Reelay.Server.Dialects;
using Reelay.Server.Dialects.AimlApi;
using Reelay.Server.Dialects.ModelVerse;
using Reelay.Server.Dialects.OpenAI;
using Reelay.Server.Dialects.SoraRelay;
using Reelay.Server.Events;
using Reelay.Server.Health;
using Reelay.Server.Hosting;
using Reelay.Server.Telemetry;
using Reelay.Server.Webhooks;
using Reelay.Webhooks;

namespace Reelay.Server;

/// <summary>Builds the Reelay gateway as an ASP.NET Core application. This file is the table of contents.</summary>
public static class ReelayServer
{
    /// <summary>Where the gateway listens when nothing else is configured.</summary>
    public const string DefaultUrl = "http://127.0.0.1:8080";

    /// <summary>
    /// Creates the gateway app from command-line style <paramref name="args"/> (e.g. --urls) and configuration
    /// (appsettings.json in the working directory, Reelay__ environment variables, REELAY_ADMIN_KEY).
    /// <paramref name="configure"/> may add configuration or services before the app is built (tests and the CLI use it).
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args });
        LoggingSetup.AddDefaults(builder.Configuration);
        if (Environment.GetEnvironmentVariable("REELAY_ADMIN_KEY") is { Length: > 0 } envKey && string.IsNullOrEmpty(builder.Configuration["Reelay:AdminKey"]))
        {
            builder.Configuration["Reelay:AdminKey"] = envKey;
        }

        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        configure?.Invoke(builder);
        LoggingSetup.Apply(builder);
        TelemetrySetup.AddMetricsListener(builder, builder.Configuration[WebHostDefaults.ServerUrlsKey] ?? DefaultUrl);

        builder.AddReelayRequestLimits();

        builder.Services.AddReelay(builder.Configuration);
        builder.Services.AddReelayServerOptions(builder.Configuration);
        builder.Services.AddReelayAuth();
        builder.Services.AddReelayContent();
        builder.Services.AddOpenAIDialect();
        builder.Services.AddSoraRelayDialect();
        builder.Services.AddJobEvents();
        builder.Services.AddReelayWebhooks();
        builder.Services.AddReelayCallbacks();
        builder.Services.AddReelayHealth();
        builder.Services.AddReelayProxySupport();
        builder.Services.AddReelayApiDocuments();
        builder.Services.AddReelayDashboard();
        builder.AddReelayTelemetry();
        builder.Services.AddReelayGracefulStop();

        var app = builder.Build();

        // First, so that everything after it (the request log too) sees the client's scheme, host and address.
        app.UseReelayForwardedHeaders();
        if (LoggingSetup.RequestsOn(app.Configuration))
        {
            app.UseReelayRequestLogging();
        }

        app.UseDialectErrorsForUnmatchedRequests();
        app.UseAuthenticationForDashboardOnly();
        TelemetrySetup.UseMetricsListenerGuard(app);
        app.MapOpenAIDialect();
        app.MapModelVerseDialect();
        app.MapAimlApiDialect();
        app.MapSoraRelayDialect();
        app.MapReelayAdmin();
        app.MapReelayWebhooks();
        app.MapReelayCallbacks();
        app.MapSignedContent();
        app.MapReelayHealth();
        app.MapReelayDashboard();
        app.MapReelayMetrics();
        app.MapReelayApiDocuments();
        return app;
    }

    /// <summary>
    /// Does, before the host starts, what makes most starts fail, so that a failure is one exception and nothing is logged
    /// or half-started: validates the settings (<see cref="OptionsValidationException"/>), takes the data folder's lock
    /// (<see cref="Reelay.Storage.DataFolderException"/> when another process owns it, or it cannot be written) and
    /// resolves the admin key (<see cref="AdminKeyException"/>). Starting the app does all of this too; calling this first
    /// only moves the failures earlier. What is left for the start is binding the addresses.
    /// </summary>
    public static void Preflight(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        _ = app.Services.GetRequiredService<IOptions<ReelayOptions>>().Value;
        _ = app.Services.GetRequiredService<IOptions<ReelayServerOptions>>().Value;
        _ = app.Services.GetRequiredService<Reelay.Storage.DataFolderLock>();
        _ = app.Services.GetRequiredService<AdminKey>();
    }

    /// <summary>
    /// Prints, once the app listens, the ready line ("Reelay is ready on URL"), an example request and, when the admin key
    /// was generated by this start, the key itself (once, to the console only). `reelay serve` calls this; an embedded
    /// gateway (tests, in-process CLI commands) stays quiet.
    /// </summary>
    /// <param name="app">The app, built and not yet run.</param>
    /// <param name="before">Work that must be done before the ready line appears (`reelay serve` writes the data folder's address file).</param>
    public static void AnnounceWhenReady(WebApplication app, Action? before = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        // One callback, in this order: ApplicationStarted runs its callbacks last-registered first, so a separate
        // registration for `before` would run after the line that whoever waits for it reads.
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            before?.Invoke();
            AnnounceReady(app);
        });
    }

    /// <summary>
    /// Makes a stop (SIGTERM, Ctrl+C) drain: readiness turns unready and submits are refused at once, then the stop waits up
    /// to Reelay:Shutdown:DrainTimeout for local renders and webhook attempts in flight. `reelay serve` calls this.
    /// </summary>
    public static void DrainOnStop(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Services.GetRequiredService<ServerDrain>().WaitOnStop = true;
    }

    /// <summary>
    /// The http address a started app listens on, with the real port when it was asked for port 0, and a connectable
    /// host (127.0.0.1) in place of a wildcard; null when there is none.
    /// </summary>
    public static Uri? BoundAddress(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? (ICollection<string>)app.Urls;
        foreach (var address in addresses)
        {
            if (Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttp && uri.Port > 0)
            {
                var host = uri.Host is "0.0.0.0" or "[::]" or "::" or "+" or "*" ? "127.0.0.1" : uri.Host;
                return new UriBuilder(uri) { Host = host, Path = "/" }.Uri;
            }
        }

        return null;
    }

    private static void AnnounceReady(WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ReelayOptions>>().Value;
        var adminKey = app.Services.GetRequiredService<AdminKey>();
        var first = BoundAddress(app)?.ToString().TrimEnd('/') ?? DefaultUrl;
        ServerLog.Listening(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Reelay"), first, options.DataPath);

        // In JSON log mode stdout carries only log entries (one JSON object per line): the banner goes to stderr.
        var console = LoggingSetup.IsJson(app.Configuration) ? Console.Error : Console.Out;
        if (adminKey.GeneratedKey is { } generated)
        {
            // Printed once, to the console only (never to the log): only its hash is stored.
            console.WriteLine($"Generated the admin API key (shown only this once; its hash is in {Path.Combine(options.DataPath, AdminKey.HashFileName)}):");
            console.WriteLine($"  {generated}");
        }

        console.WriteLine($"Reelay is ready on {first}");
        console.WriteLine("Try:");
        console.WriteLine($"  curl -s {first}/v1/videos -H \"Authorization: Bearer $REELAY_ADMIN_KEY\" -H 'Content-Type: application/json' -d '{{\"model\":\"sandbox\",\"prompt\":\"A lighthouse at dawn\",\"seconds\":\"4\",\"size\":\"1280x720\"}}'");
    }
}
