using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Reelay.Server.Hosting;

/// <summary>
/// ASP.NET Core's authentication middleware for the dashboard's paths only. The dashboard's session cookie is the only
/// authentication scheme, and its cookie is sent only under <c>/dashboard</c>; the API authenticates by key in its own
/// filters. Left to itself, WebApplication adds the middleware in front of every request, and with one scheme it runs
/// that scheme's handler for each (a handler created from the request's services, the cookie header parsed, and in
/// .NET 10 a metric recorded) only to find no cookie: on a status read that is work for nothing.
/// </summary>
internal static class DashboardOnlyAuthentication
{
    // The property WebApplication (and UseAuthentication) set when the middleware is in the pipeline: set here, it keeps
    // WebApplication from adding a second one for every request.
    private const string AuthenticationMiddlewareSetKey = "__AuthenticationMiddlewareSet";

    /// <summary>Runs the authentication middleware for requests under <c>/dashboard</c>, and for no others.</summary>
    public static WebApplication UseAuthenticationForDashboardOnly(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseWhen(static context => context.Request.Path.StartsWithSegments("/dashboard", StringComparison.OrdinalIgnoreCase), static dashboard => dashboard.UseAuthentication());
        ((IApplicationBuilder)app).Properties[AuthenticationMiddlewareSetKey] = true;
        return app;
    }
}
