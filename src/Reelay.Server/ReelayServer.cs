using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Reelay.Server.Auth;
using Reelay.Server.Dialects.OpenAI;
using Reelay.Server.Hosting;

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
        if (Environment.GetEnvironmentVariable("REELAY_ADMIN_KEY") is { Length: > 0 } envKey && string.IsNullOrEmpty(builder.Configuration["Reelay:AdminKey"]))
        {
            builder.Configuration["Reelay:AdminKey"] = envKey;
        }

        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        configure?.Invoke(builder);

        var maxBody = builder.Configuration.GetValue<long?>("Reelay:Limits:MaxRequestBodyBytes") ?? new LimitsOptions().MaxRequestBodyBytes;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = maxBody;
        });
        builder.Services.Configure<FormOptions>(form =>
        {
            form.MultipartBodyLengthLimit = maxBody;
            form.ValueCountLimit = 256;
        });

        builder.Services.AddReelay(builder.Configuration);
        builder.Services.AddSingleton(sp => AdminKey.Resolve(sp.GetRequiredService<ReelayOptions>().AdminKey, sp.GetRequiredService<ReelayOptions>().DataPath));
        builder.Services.AddSingleton<ApiKeyAuthenticator>();

        var app = builder.Build();
        app.MapOpenAIDialect();
        app.MapGet("/healthz", () => TypedResults.Text("{\"status\":\"ok\"}", "application/json"));
        app.Lifetime.ApplicationStarted.Register(() => AnnounceReady(app));
        return app;
    }

    private static void AnnounceReady(WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ReelayOptions>>().Value;
        var adminKey = app.Services.GetRequiredService<AdminKey>();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var first = addresses.FirstOrDefault() ?? DefaultUrl;
        ServerLog.Listening(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Reelay"), string.Join(", ", addresses), options.DataPath);
        if (adminKey.GeneratedKey is { } generated)
        {
            // Printed once, to the console only (never to the log): only its hash is stored.
            Console.WriteLine($"Generated the admin API key (shown only this once; its hash is in {Path.Combine(options.DataPath, AdminKey.HashFileName)}):");
            Console.WriteLine($"  {generated}");
        }

        Console.WriteLine($"Reelay is ready on {first}");
        Console.WriteLine("Try:");
        Console.WriteLine($"  curl -s {first}/v1/videos -H \"Authorization: Bearer $REELAY_ADMIN_KEY\" -H 'Content-Type: application/json' -d '{{\"model\":\"sandbox\",\"prompt\":\"A lighthouse at dawn\",\"seconds\":\"4\",\"size\":\"1280x720\"}}'");
    }
}
