using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Reelay.Accounts;
using Reelay.Engine;

namespace Reelay.Server.Dashboard;

/// <summary>
/// The dashboard's sign-in session: ASP.NET Core's cookie authentication (a data-protection-protected ticket in an
/// HttpOnly, SameSite=Strict cookie scoped to /dashboard) holding only the key's id, never its secret. Every request
/// re-reads the key, so revoking or expiring a key ends its dashboard sessions at once.
/// </summary>
internal static class DashboardSession
{
    /// <summary>The authentication scheme; the API's own endpoints never use it (they read the key from headers).</summary>
    public const string Scheme = "Reelay.Dashboard";

    /// <summary>The session cookie's name.</summary>
    public const string CookieName = "reelay_dashboard";

    private const string CallerItem = "reelay.dashboard.caller";
    private const string KeyIdClaim = "reelay:key_id";

    /// <summary>The signed-in caller, or null (no cookie, a tampered or expired one, or a key revoked since).</summary>
    public static async ValueTask<Caller?> CallerAsync(HttpContext context)
    {
        if (context.Items.TryGetValue(CallerItem, out var cached))
        {
            return cached as Caller;
        }

        Caller? caller = null;
        var result = await context.AuthenticateAsync(Scheme).ConfigureAwait(false);
        if (result.Succeeded && result.Principal.FindFirst(KeyIdClaim)?.Value is { Length: > 0 } keyId)
        {
            if (keyId == Caller.AdminKeyId)
            {
                caller = Caller.Admin;
            }
            else
            {
                var keys = context.RequestServices.GetService(typeof(ApiKeyService)) as ApiKeyService;
                var time = (TimeProvider)context.RequestServices.GetService(typeof(TimeProvider))!;
                if (keys is not null && await keys.GetAsync(keyId, context.RequestAborted).ConfigureAwait(false) is { } key && key.IsActive(time.GetUtcNow()))
                {
                    caller = new Caller(key.Id, key.Scope == ApiKeyScope.Admin);
                }
            }
        }

        context.Items[CallerItem] = caller;
        return caller;
    }

    /// <summary>Starts a session for <paramref name="caller"/>: the cookie holds its key id only.</summary>
    public static Task SignInAsync(HttpContext context, Caller caller)
    {
        var identity = new ClaimsIdentity([new Claim(KeyIdClaim, caller.KeyId)], Scheme);
        context.Items[CallerItem] = caller;
        return context.SignInAsync(Scheme, new ClaimsPrincipal(identity), new AuthenticationProperties { IsPersistent = false });
    }

    /// <summary>Ends the session (deletes the cookie).</summary>
    public static Task SignOutAsync(HttpContext context)
    {
        context.Items[CallerItem] = null;
        return context.SignOutAsync(Scheme);
    }

    /// <summary>The cookie settings: HttpOnly, SameSite=Strict, path /dashboard, Secure when the request is https.</summary>
    public static void Configure(CookieAuthenticationOptions options)
    {
        options.Cookie.Name = CookieName;
        options.Cookie.HttpOnly = true;
        options.Cookie.SameSite = SameSiteMode.Strict;
        options.Cookie.Path = "/dashboard";
        options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        options.ExpireTimeSpan = TimeSpan.FromHours(8);
        options.SlidingExpiration = true;

        // The dashboard's handlers decide what an anonymous request gets; the handler never redirects by itself.
        options.Events.OnRedirectToLogin = context =>
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Task.CompletedTask;
        };
        options.Events.OnRedirectToAccessDenied = context =>
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return Task.CompletedTask;
        };
    }
}
