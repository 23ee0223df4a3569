using Microsoft.AspNetCore.Builder;

namespace Reelay.Server;

/// <summary>Builds the Reelay gateway as an ASP.NET Core application.</summary>
public static class ReelayServer
{
    /// <summary>
    /// Creates the gateway app from command-line style <paramref name="args"/> (e.g. --urls) and configuration
    /// (appsettings.json, Reelay__ environment variables). <paramref name="configure"/> may add configuration or
    /// services before the app is built (tests use it).
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        var app = builder.Build();
        return app;
    }
}
