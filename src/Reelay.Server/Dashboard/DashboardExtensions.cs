using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Reelay.Server.Dashboard;

/// <summary>Registers and maps the web dashboard at <c>/dashboard</c>.</summary>
public static class DashboardExtensions
{
    /// <summary>The folder under the data folder holding the data-protection keys that protect dashboard cookies.</summary>
    public const string KeyFolderName = "dashboard-keys";

    /// <summary>
    /// Adds what the dashboard needs: Razor components (rendered on the server, no interactivity), the session cookie's
    /// authentication scheme, antiforgery, and data-protection keys kept in the data folder so sessions survive a restart.
    /// </summary>
    public static IServiceCollection AddReelayDashboard(this IServiceCollection services)
    {
        services.AddRazorComponents();
        services.AddSingleton<ProviderRates>();
        services.AddAntiforgery(options =>
        {
            options.Cookie.Name = "reelay_csrf";
            options.Cookie.Path = "/dashboard";
            options.Cookie.SameSite = Microsoft.AspNetCore.Http.SameSiteMode.Strict;
            options.FormFieldName = "__csrf";
            options.HeaderName = null;
        });
        services.AddAuthentication().AddCookie(DashboardSession.Scheme, DashboardSession.Configure);
        services.AddDataProtection().SetApplicationName("Reelay");
        services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(sp => new ConfigureOptions<KeyManagementOptions>(options =>
        {
            var folder = new DirectoryInfo(Path.Combine(sp.GetRequiredService<ReelayOptions>().DataPath, KeyFolderName));
            options.XmlRepository = new FileSystemXmlRepository(folder, sp.GetRequiredService<ILoggerFactory>());
        }));
        return services;
    }

    /// <summary>Maps the dashboard's pages, forms, event stream and assets under <c>/dashboard</c>.</summary>
    public static IEndpointRouteBuilder MapReelayDashboard(this IEndpointRouteBuilder app)
    {
        DashboardEndpoints.Map(app);
        return app;
    }
}
