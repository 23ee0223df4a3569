using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Accounts;
using Reelay.Engine;
using Reelay.Providers;
using Reelay.Server.Auth;
using Reelay.Server.Dashboard.Pages;
using Reelay.Storage;

namespace Reelay.Server.Dashboard;

/// <summary>
/// The dashboard's routes. Handlers are thin: they check the session, call the library's public services (the engine,
/// the stores, the key service) and render a page component. A signed-out browser is sent to the sign-in page; a form
/// without a valid antiforgery token gets a 400 page; another key's job is a 404, exactly as through the API.
/// </summary>
internal static partial class DashboardEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var open = app.MapGroup("/dashboard").AddEndpointFilter(SecurityHeaders).ExcludeFromDescription();
        open.MapGet("", (HttpContext context) => TypedResults.Redirect("/dashboard/jobs"));
        open.MapGet("/signin", SignInForm);
        open.MapPost("/signin", SignIn).AddEndpointFilter(RequireAntiforgery);
        open.MapGet("/assets/{name}", DashboardAssets.Serve);

        var signedIn = app.MapGroup("/dashboard").AddEndpointFilter(SecurityHeaders).AddEndpointFilter(RequireSession).ExcludeFromDescription();
        signedIn.MapPost("/signout", (Delegate)SignOut).AddEndpointFilter(RequireAntiforgery);
        signedIn.MapGet("/jobs", Jobs);
        MapJobRoutes(signedIn);
        MapTryRoutes(signedIn);
        MapAdminRoutes(signedIn);
    }

    static partial void MapJobRoutes(RouteGroupBuilder group);

    static partial void MapTryRoutes(RouteGroupBuilder group);

    static partial void MapAdminRoutes(RouteGroupBuilder group);

    private static async Task<IResult> SignInForm(HttpContext context, string? @return)
    {
        if (await DashboardSession.CallerAsync(context).ConfigureAwait(false) is not null)
        {
            return TypedResults.Redirect(SafeReturn(@return));
        }

        return Render<SignInPage>(context, null, "Sign in", "signin", new() { ["ReturnUrl"] = SafeReturn(@return) });
    }

    private static async Task<IResult> SignIn(HttpContext context, AdminKey adminKey, ApiKeyService keys, TimeProvider time)
    {
        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var presented = form["key"].ToString().Trim();
        var returnUrl = SafeReturn(form["return"].ToString());
        Caller? caller = null;
        if (presented.Length is > 0 and <= 256)
        {
            if (adminKey.Matches(presented))
            {
                caller = Caller.Admin;
            }
            else if (await keys.AuthenticateAsync(presented, context.RequestAborted).ConfigureAwait(false) is { } key && key.IsActive(time.GetUtcNow()))
            {
                caller = new Caller(key.Id, key.Scope == ApiKeyScope.Admin);
            }
        }

        if (caller is null)
        {
            return Render<SignInPage>(context, null, "Sign in", "signin", new()
            {
                ["ReturnUrl"] = returnUrl,
                ["Error"] = "That key was not accepted: it is unknown, revoked or expired.",
            }, StatusCodes.Status401Unauthorized);
        }

        await DashboardSession.SignInAsync(context, caller).ConfigureAwait(false);
        return TypedResults.Redirect(returnUrl);
    }

    private static async Task<IResult> SignOut(HttpContext context)
    {
        await DashboardSession.SignOutAsync(context).ConfigureAwait(false);
        return TypedResults.Redirect("/dashboard/signin");
    }

    private static async Task<IResult> Jobs(HttpContext context, IJobStore store, IAccountStore accounts, ApiKeyService keys, ProviderRegistry registry, JobEngine engine, TimeProvider time)
    {
        var caller = CallerOf(context);
        var filter = JobFilter.Parse(context.Request.Query);
        var page = await filter.ListAsync(store, caller, context.RequestAborted).ConfigureAwait(false);
        var charges = new Dictionary<string, ChargeRecord>(StringComparer.Ordinal);
        foreach (var job in page.Items)
        {
            if (await accounts.GetChargeAsync(job.Id, context.RequestAborted).ConfigureAwait(false) is { } charge)
            {
                charges[job.Id] = charge;
            }
        }

        return Render<JobsPage>(context, caller, "Jobs", "jobs", new()
        {
            ["Filter"] = filter,
            ["Page"] = page,
            ["Charges"] = charges,
            ["Models"] = engine.Catalog.Models.Where(m => !m.Disabled).Select(m => m.Name).Order(StringComparer.Ordinal).ToList(),
            ["Providers"] = registry.Providers.Select(p => p.Name).Order(StringComparer.Ordinal).ToList(),
            ["Keys"] = caller.IsAdmin ? await keys.ListAsync(context.RequestAborted).ConfigureAwait(false) : (IReadOnlyList<ApiKeyRecord>)[],
            ["Now"] = time.GetUtcNow(),
        });
    }

    /// <summary>The signed-in caller (the session filter has run).</summary>
    internal static Caller CallerOf(HttpContext context) =>
        context.Items.TryGetValue(CallerItem, out var caller) && caller is Caller known ? known : throw new InvalidOperationException("The dashboard session filter did not run.");

    private const string CallerItem = "reelay.dashboard.signed-in";

    /// <summary>Renders a page component inside the layout, with the session's antiforgery token.</summary>
    internal static IResult Render<TPage>(HttpContext context, Caller? caller, string title, string section, Dictionary<string, object?> parameters, int statusCode = StatusCodes.Status200OK)
        where TPage : Microsoft.AspNetCore.Components.IComponent
    {
        var tokens = context.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(context);
        parameters["Ctx"] = new PageContext(caller, tokens.FormFieldName, tokens.RequestToken ?? "", title, section);
        return new RazorComponentResult<TPage>(parameters) { StatusCode = statusCode };
    }

    /// <summary>An error page in the dashboard's own envelope (HTML, the layout, the status code).</summary>
    internal static IResult Error(HttpContext context, Caller? caller, int statusCode, string message) =>
        Render<ErrorPage>(context, caller, statusCode switch
        {
            404 => "Not found",
            400 => "Bad request",
            401 => "Signed out",
            403 => "Not allowed",
            _ => "Something went wrong",
        }, "", new() { ["Message"] = message, ["StatusCode"] = statusCode }, statusCode);

    /// <summary>A local dashboard path to return to after signing in; anything else becomes the jobs list.</summary>
    internal static string SafeReturn(string? candidate) =>
        candidate is { Length: > 10 and < 2000 } path && path.StartsWith("/dashboard/", StringComparison.Ordinal) && !path.Contains('\\', StringComparison.Ordinal)
            && !path.StartsWith("/dashboard/signin", StringComparison.Ordinal) && !path.Contains("//", StringComparison.Ordinal)
            ? path
            : "/dashboard/jobs";

    private static async ValueTask<object?> RequireSession(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        if (await DashboardSession.CallerAsync(context).ConfigureAwait(false) is not { } caller)
        {
            if (HttpMethods.IsGet(context.Request.Method) && !context.Request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.Ordinal))
            {
                var back = context.Request.Path + context.Request.QueryString;
                return TypedResults.Redirect("/dashboard/signin" + QueryString.Create("return", SafeReturn(back)));
            }

            return Error(context, null, StatusCodes.Status401Unauthorized, "Your session has ended. Sign in again.");
        }

        context.Items[CallerItem] = caller;
        return await next(invocation).ConfigureAwait(false);
    }

    private static async ValueTask<object?> RequireAntiforgery(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var caller = context.Items.TryGetValue(CallerItem, out var known) ? known as Caller : null;
        if (!context.Request.HasFormContentType)
        {
            return Error(context, caller, StatusCodes.Status400BadRequest, "This address takes a form from the dashboard.");
        }

        try
        {
            await context.RequestServices.GetRequiredService<IAntiforgery>().ValidateRequestAsync(context).ConfigureAwait(false);
        }
        catch (AntiforgeryValidationException)
        {
            return Error(context, caller, StatusCodes.Status400BadRequest, "The form's security token is missing or stale (forms are accepted only from this dashboard). Reload the page and try again.");
        }
        catch (Exception ex) when (ex is InvalidDataException or BadHttpRequestException or IOException)
        {
            return Error(context, caller, StatusCodes.Status400BadRequest, "The form could not be read: " + ex.Message);
        }

        return await next(invocation).ConfigureAwait(false);
    }

    private static ValueTask<object?> SecurityHeaders(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var headers = invocation.HttpContext.Response.Headers;
        headers.CacheControl = "no-store";
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "same-origin";
        headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
        return next(invocation);
    }
}
