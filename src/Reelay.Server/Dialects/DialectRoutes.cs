using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Reelay.Jobs;

namespace Reelay.Server.Dialects;

/// <summary>How a dialect maps its routes: one group under its prefix, every route behind the dialect's <see cref="DialectFilter"/>.</summary>
internal static class DialectRoutes
{
    /// <summary>The dialect's route group at <paramref name="prefix"/>, with its <see cref="DialectFilter"/> (the parameters are the filter's).</summary>
    public static RouteGroupBuilder MapDialectGroup(this IEndpointRouteBuilder app, string prefix, string dialect, Func<HttpContext, JobError, int, IResult> renderError, string unauthorizedMessage, string? challenge = null)
    {
        var group = app.MapGroup(prefix);
        group.AddEndpointFilter(new DialectFilter(dialect, renderError, unauthorizedMessage, challenge));
        return group;
    }
}
