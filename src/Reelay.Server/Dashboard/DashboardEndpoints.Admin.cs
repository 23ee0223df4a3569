using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Accounts;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Routing;
using Reelay.Server.Admin;
using Reelay.Providers;
using Reelay.Server.Dashboard.Pages;
using Reelay.Storage;

namespace Reelay.Server.Dashboard;

internal static partial class DashboardEndpoints
{
    static partial void MapAdminRoutes(RouteGroupBuilder group)
    {
        group.MapGet("/usage", Usage);
        var admin = group.MapGroup("").AddEndpointFilter(RequireAdmin);
        admin.MapGet("/keys", Keys);
        admin.MapPost("/keys", CreateKey).AddEndpointFilter(RequireAntiforgery);
        admin.MapPost("/keys/{id}/revoke", RevokeKey).AddEndpointFilter(RequireAntiforgery);
        admin.MapPost("/keys/{id}/limits", UpdateLimits).AddEndpointFilter(RequireAntiforgery);
        admin.MapPost("/charges/{jobId}/settle", SettleCharge).AddEndpointFilter(RequireAntiforgery);
        admin.MapPost("/charges/{jobId}/release", ReleaseCharge).AddEndpointFilter(RequireAntiforgery);
        admin.MapGet("/providers", Providers);
    }

    /// <summary>Admin pages are invisible to client keys: 404, as the admin API answers them.</summary>
    private static async ValueTask<object?> RequireAdmin(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var caller = CallerOf(invocation.HttpContext);
        return caller.IsAdmin
            ? await next(invocation).ConfigureAwait(false)
            : Error(invocation.HttpContext, caller, StatusCodes.Status404NotFound, "There is no such page for this key.");
    }

    private static async Task<IResult> Keys(HttpContext context, ApiKeyService keys, TimeProvider time) =>
        await RenderKeysAsync(context, keys, time, null, null, StatusCodes.Status200OK).ConfigureAwait(false);

    private static async Task<IResult> RenderKeysAsync(HttpContext context, ApiKeyService keys, TimeProvider time, (ApiKeyRecord, string)? created, string? error, int statusCode)
    {
        var all = await keys.ListAsync(context.RequestAborted).ConfigureAwait(false);
        return Render<KeysPage>(context, CallerOf(context), "Keys", "keys", new()
        {
            ["Keys"] = all.OrderByDescending(k => k.CreatedAt).ToList(),
            ["Now"] = time.GetUtcNow(),
            ["Created"] = created,
            ["Error"] = error,
        }, statusCode);
    }

    private static async Task<IResult> CreateKey(HttpContext context, ApiKeyService keys, TimeProvider time)
    {
        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        try
        {
            var scope = form["scope"].ToString() switch
            {
                "admin" => ApiKeyScope.Admin,
                "client" or "" => ApiKeyScope.Client,
                var other => throw ReelayException.Invalid("scope", $"scope '{other}' is not client or admin."),
            };
            var created = await keys.CreateAsync(new NewApiKey
            {
                Name = form["name"].ToString(),
                Scope = scope,
                BudgetMicros = Usd(form, "budget_usd"),
                SubmitsPerMinute = Whole(form, "submits_per_minute"),
                MaxJobsInFlight = Whole(form, "max_jobs_in_flight"),
            }, context.RequestAborted).ConfigureAwait(false);
            // The secret goes into this one response (no-store) and nowhere else: no redirect, no URL, no log.
            return await RenderKeysAsync(context, keys, time, created, null, StatusCodes.Status201Created).ConfigureAwait(false);
        }
        catch (ReelayException ex)
        {
            return await RenderKeysAsync(context, keys, time, null, "Not created: " + ex.Error.Message, ex.HttpStatus).ConfigureAwait(false);
        }
    }

    private static async Task<IResult> RevokeKey(string id, HttpContext context, ApiKeyService keys, TimeProvider time)
    {
        try
        {
            await keys.RevokeAsync(id, context.RequestAborted).ConfigureAwait(false);
            return TypedResults.Redirect("/dashboard/keys");
        }
        catch (ReelayException ex)
        {
            return await RenderKeysAsync(context, keys, time, null, "Not revoked: " + ex.Error.Message, ex.HttpStatus).ConfigureAwait(false);
        }
    }

    private static async Task<IResult> UpdateLimits(string id, HttpContext context, ApiKeyService keys, TimeProvider time)
    {
        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        try
        {
            // An empty field clears the limit: the form always shows every current value.
            await keys.UpdateAsync(id, new ApiKeyChanges
            {
                BudgetMicros = Usd(form, "budget_usd"),
                SubmitsPerMinute = Whole(form, "submits_per_minute"),
                MaxJobsInFlight = Whole(form, "max_jobs_in_flight"),
            }, context.RequestAborted).ConfigureAwait(false);
            return TypedResults.Redirect("/dashboard/keys");
        }
        catch (ReelayException ex)
        {
            return await RenderKeysAsync(context, keys, time, null, "Not saved: " + ex.Error.Message, ex.HttpStatus).ConfigureAwait(false);
        }
    }

    private static long? Usd(IFormCollection form, string field)
    {
        var text = form[field].ToString().Trim().TrimStart('$');
        if (text.Length == 0)
        {
            return null;
        }

        return decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var usd) && Money.IsWholeMicros(usd) && usd < 1_000_000_000m
            ? Money.ToMicros(usd)
            : throw ReelayException.Invalid(field, $"{field} '{Truncate(text)}' is not an amount in USD such as 25 or 12.50.");
    }

    private static int? Whole(IFormCollection form, string field)
    {
        var text = form[field].ToString().Trim();
        if (text.Length == 0)
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw ReelayException.Invalid(field, $"{field} '{Truncate(text)}' is not a whole number.");
    }

    private static string Truncate(string text) => text.Length > 40 ? text[..40] + "…" : text;

    private static async Task<IResult> Usage(HttpContext context, IAccountStore accounts, TimeProvider time)
    {
        var caller = CallerOf(context);
        var days = int.TryParse(context.Request.Query["days"], NumberStyles.None, CultureInfo.InvariantCulture, out var d) && d is 7 or 14 or 30 ? d : 14;
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var first = today.AddDays(1 - days);
        var since = new DateTimeOffset(first.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var until = new DateTimeOffset(today.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var keyId = caller.IsAdmin ? null : caller.KeyId;
        var totals = await accounts.UsageAsync(new UsageQuery { KeyId = keyId, Since = since, Until = until }, context.RequestAborted).ConfigureAwait(false);
        var perDay = new List<UsageDay>(days);
        for (var day = first; day <= today; day = day.AddDays(1))
        {
            var from = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            perDay.Add(new UsageDay(day, await accounts.UsageAsync(new UsageQuery { KeyId = keyId, Since = from, Until = from.AddDays(1) }, context.RequestAborted).ConfigureAwait(false)));
        }

        var unresolved = caller.IsAdmin
            ? await accounts.ListChargesAsync(new ChargeQuery { State = ChargeState.Unresolved, Limit = 100 }, context.RequestAborted).ConfigureAwait(false)
            : [];
        return Render<UsagePage>(context, caller, "Usage and money", "usage", new() { ["View"] = new UsageView(since, until, totals, perDay, unresolved) });
    }

    private static Task<IResult> SettleCharge(string jobId, HttpContext context, IAccountStore accounts, TimeProvider time) =>
        ResolveChargeAsync(context, accounts, time, jobId, charge => new ChargeClosure(ChargeState.Settled, charge.HoldMicros, charge.RequestedSeconds, $"settled by an admin in the dashboard: {Money.Format(charge.HoldMicros)}"));

    private static Task<IResult> ReleaseCharge(string jobId, HttpContext context, IAccountStore accounts, TimeProvider time) =>
        ResolveChargeAsync(context, accounts, time, jobId, _ => new ChargeClosure(ChargeState.Released, 0, 0, "released by an admin in the dashboard"));

    private static async Task<IResult> ResolveChargeAsync(HttpContext context, IAccountStore accounts, TimeProvider time, string jobId, Func<ChargeRecord, ChargeClosure> closure)
    {
        var caller = CallerOf(context);
        if (await accounts.GetChargeAsync(jobId, context.RequestAborted).ConfigureAwait(false) is not { } charge)
        {
            return Error(context, caller, StatusCodes.Status404NotFound, $"No charge is recorded for job '{jobId}'.");
        }

        if (!await accounts.ResolveChargeAsync(jobId, closure(charge), time.GetUtcNow(), context.RequestAborted).ConfigureAwait(false))
        {
            return Error(context, caller, StatusCodes.Status409Conflict, $"The charge of job '{jobId}' is {charge.State.ToWire()}, not unresolved: only unresolved charges are settled or released here.");
        }

        return TypedResults.Redirect("/dashboard/usage");
    }

    private static async Task<IResult> Providers(HttpContext context, ProviderRegistry registry, IJobStore store, JobScheduler scheduler, ProviderCircuits circuits)
    {
        var rates = context.RequestServices.GetRequiredService<ProviderRates>();
        var active = await store.ListActiveAsync(context.RequestAborted).ConfigureAwait(false);
        var recent = await store.ListAsync(new JobQuery { Limit = 100, Ascending = false }, context.RequestAborted).ConfigureAwait(false);
        var rows = registry.Providers.Select(provider =>
        {
            var client = registry.Clients.FirstOrDefault(c => c.Instance == provider.Name);
            var circuit = circuits.Get(provider.Name);
            var failing = circuit is null && client is { ConsecutiveFailures: >= Health.ProviderHealthCheck.FailureThreshold };
            return new ProviderRow(
                provider.Name,
                client?.BaseUrl.GetLeftPart(UriPartial.Authority),
                client is null ? "built in" : circuit?.State == CircuitState.Open ? "circuit open" : circuit?.State == CircuitState.HalfOpen ? "circuit half-open" : failing ? "failing" : "healthy",
                client?.RequestCount,
                client?.ConsecutiveFailures,
                client is null ? null : rates.Rate(provider.Name, client.RequestCount),
                active.Count(j => j.Provider == provider.Name && j.Status == JobStatus.Queued),
                active.Count(j => j.Provider == provider.Name && j.Status is JobStatus.Submitting or JobStatus.Running),
                recent.Items.Where(j => j.Provider == provider.Name && j.Status == JobStatus.Failed).Take(5).ToList(),
                circuit is null ? null : ProviderStatusWire.Describe(circuit));
        }).ToList();
        return Render<ProvidersPage>(context, CallerOf(context), "Providers", "providers", new() { ["View"] = new ProvidersView(rows, registry.Routes, scheduler.Counts()) });
    }
}
