using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Reelay.Accounts;
using Reelay.Catalog;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Server.Dialects;
using Reelay.Server.Dialects.OpenAI;

namespace Reelay.Server.Admin;

/// <summary>
/// Reelay's own management API: API keys, usage and charges under /admin (admin keys only), and /v1/usage for any key's
/// own usage and balance. Errors use the OpenAI envelope.
/// </summary>
public static class AdminEndpoints
{
    private static readonly string[] KeyFields = ["name", "scope", "models", "rate_limit_per_minute", "max_jobs_in_flight", "budget_usd", "expires_at"];

    /// <summary>Maps the routes.</summary>
    public static IEndpointRouteBuilder MapReelayAdmin(this IEndpointRouteBuilder app)
    {
        var filter = new DialectFilter("Admin", OpenAIEndpoints.WriteError, "Incorrect or missing API key. Send 'Authorization: Bearer <key>'.", "Bearer");
        var admin = app.MapGroup("/admin");
        admin.AddEndpointFilter(filter);
        admin.AddEndpointFilter(RequireAdmin);
        admin.MapPost("/keys", CreateKey);
        admin.MapGet("/keys", ListKeys);
        admin.MapGet("/keys/{id}", GetKey);
        admin.MapPatch("/keys/{id}", UpdateKey);
        admin.MapDelete("/keys/{id}", RevokeKey);
        admin.MapGet("/usage", Usage);
        admin.MapGet("/charges", ListCharges);
        admin.MapGet("/charges/{jobId}", GetCharge);
        admin.MapPost("/charges/{jobId}/settle", SettleCharge);
        admin.MapPost("/charges/{jobId}/release", ReleaseCharge);
        admin.MapGet("/providers", ListProviders);
        app.MapGet("/v1/usage", OwnUsage).AddEndpointFilter(filter);
        return app;
    }

    private static async ValueTask<object?> RequireAdmin(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var caller = DialectFilter.CallerOf(invocation.HttpContext);
        return caller.IsAdmin
            ? await next(invocation).ConfigureAwait(false)
            : throw new ReelayException(ErrorCodes.Forbidden, "This route needs an admin API key; this key is a client key.");
    }

    private static async Task<IResult> CreateKey(HttpContext context, ApiKeyService keys, ModelCatalog catalog, TimeProvider time)
    {
        using var body = await ReadBodyAsync(context).ConfigureAwait(false);
        var root = body.RootElement;
        var name = root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : throw ReelayException.Invalid("name", "name is required: a string that says who or what uses the key.");
        var (key, secret) = await keys.CreateAsync(new NewApiKey
        {
            Name = name,
            Scope = Scope(root),
            ExpiresAt = OptionalTime(root, "expires_at").Value,
            AllowedModels = Models(root, catalog).Value,
            SubmitsPerMinute = OptionalInt(root, "rate_limit_per_minute").Value,
            MaxJobsInFlight = OptionalInt(root, "max_jobs_in_flight").Value,
            BudgetMicros = OptionalUsd(root, "budget_usd").Value,
        }, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Json(ApiKeyView.From(key, time.GetUtcNow(), secret), AdminJsonContext.Default.ApiKeyView, statusCode: 201);
    }

    private static IResult ListProviders(Providers.ProviderRegistry registry, Routing.ProviderCircuits circuits, ReelayOptions options) =>
        TypedResults.Json(
            new ProviderStatusList
            {
                Data = registry.Providers.Select(p => new ProviderStatusView
                {
                    Name = p.Name,
                    Type = options.Providers.GetValueOrDefault(p.Name)?.Type ?? "sandbox",
                    MaxConcurrentJobs = p.MaxConcurrentJobs,
                    Circuit = circuits.Get(p.Name) is { } c ? ProviderStatusWire.View(c) : null,
                }).ToList(),
            },
            AdminJsonContext.Default.ProviderStatusList);

    private static async Task<IResult> ListKeys(HttpContext context, ApiKeyService keys, TimeProvider time)
    {
        var now = time.GetUtcNow();
        var all = await keys.ListAsync(context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Json(new ApiKeyList { Data = all.Select(k => ApiKeyView.From(k, now)).ToList() }, AdminJsonContext.Default.ApiKeyList);
    }

    private static async Task<IResult> GetKey(string id, HttpContext context, ApiKeyService keys, TimeProvider time) =>
        TypedResults.Json(ApiKeyView.From(await keys.ReadAsync(id, context.RequestAborted).ConfigureAwait(false), time.GetUtcNow()), AdminJsonContext.Default.ApiKeyView);

    private static async Task<IResult> UpdateKey(string id, HttpContext context, ApiKeyService keys, ModelCatalog catalog, TimeProvider time)
    {
        using var body = await ReadBodyAsync(context).ConfigureAwait(false);
        var root = body.RootElement;
        if (root.TryGetProperty("scope", out _))
        {
            throw ReelayException.Invalid("scope", "scope cannot be changed; create a new key with the scope you need and revoke this one.");
        }

        string? name = null;
        if (root.TryGetProperty("name", out var n))
        {
            name = n.ValueKind == JsonValueKind.String ? n.GetString() : throw ReelayException.Invalid("name", "name must be a string.");
        }

        var key = await keys.UpdateAsync(id, new ApiKeyChanges
        {
            Name = name,
            ExpiresAt = OptionalTime(root, "expires_at"),
            AllowedModels = Models(root, catalog),
            SubmitsPerMinute = OptionalInt(root, "rate_limit_per_minute"),
            MaxJobsInFlight = OptionalInt(root, "max_jobs_in_flight"),
            BudgetMicros = OptionalUsd(root, "budget_usd"),
        }, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Json(ApiKeyView.From(key, time.GetUtcNow()), AdminJsonContext.Default.ApiKeyView);
    }

    private static async Task<IResult> RevokeKey(string id, HttpContext context, ApiKeyService keys, TimeProvider time) =>
        TypedResults.Json(ApiKeyView.From(await keys.RevokeAsync(id, context.RequestAborted).ConfigureAwait(false), time.GetUtcNow()), AdminJsonContext.Default.ApiKeyView);

    private static async Task<IResult> Usage(HttpContext context, IAccountStore accounts, string? key_id, string? since, string? until) =>
        TypedResults.Json(await UsageReportAsync(accounts, key_id, since, until, null, context.RequestAborted).ConfigureAwait(false), AdminJsonContext.Default.UsageReport);

    private static async Task<IResult> OwnUsage(HttpContext context, IAccountStore accounts, ApiKeyService keys, TimeProvider time, string? since, string? until)
    {
        var caller = DialectFilter.CallerOf(context);
        var key = await keys.ReadAsync(caller.KeyId, context.RequestAborted).ConfigureAwait(false);
        var report = await UsageReportAsync(accounts, caller.KeyId, since, until, ApiKeyView.From(key, time.GetUtcNow()), context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Json(report, AdminJsonContext.Default.UsageReport);
    }

    private static async Task<IResult> ListCharges(HttpContext context, IAccountStore accounts, string? key_id, string? state, string? limit)
    {
        ChargeState? wanted = null;
        if (state is not null)
        {
            wanted = ChargeStateExtensions.ParseWire(state) ?? throw ReelayException.Invalid("state", $"state '{state}' is not one of held, settled, released, unresolved.");
        }

        var take = 100;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out take) || take is < 1 or > 1000))
        {
            throw ReelayException.Invalid("limit", $"limit '{limit}' is out of range; allowed: 1 to 1000.");
        }

        var charges = await accounts.ListChargesAsync(new ChargeQuery { KeyId = key_id, State = wanted, Limit = take }, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Json(new ChargeList { Data = charges.Select(ChargeView.From).ToList() }, AdminJsonContext.Default.ChargeList);
    }

    private static async Task<IResult> GetCharge(string jobId, HttpContext context, IAccountStore accounts) =>
        TypedResults.Json(ChargeView.From(await ReadChargeAsync(accounts, jobId, context.RequestAborted).ConfigureAwait(false)), AdminJsonContext.Default.ChargeView);

    private static async Task<IResult> SettleCharge(string jobId, HttpContext context, IAccountStore accounts, TimeProvider time)
    {
        var charge = await ReadChargeAsync(accounts, jobId, context.RequestAborted).ConfigureAwait(false);
        var amount = charge.HoldMicros;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            using var body = await ReadBodyAsync(context).ConfigureAwait(false);
            if (OptionalUsd(body.RootElement, "amount_usd") is { HasValue: true, Value: { } given })
            {
                amount = given <= charge.HoldMicros
                    ? given
                    : throw ReelayException.Invalid("amount_usd", $"amount_usd {Money.Format(given)} is more than the {Money.Format(charge.HoldMicros)} held; a settlement cannot exceed its hold.");
            }
        }

        var closure = new ChargeClosure(ChargeState.Settled, amount, charge.RequestedSeconds, $"settled by an admin: {Money.Format(amount)}");
        return await ResolveAsync(accounts, charge, closure, time, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task<IResult> ReleaseCharge(string jobId, HttpContext context, IAccountStore accounts, TimeProvider time)
    {
        var charge = await ReadChargeAsync(accounts, jobId, context.RequestAborted).ConfigureAwait(false);
        return await ResolveAsync(accounts, charge, new ChargeClosure(ChargeState.Released, 0, 0, "released by an admin"), time, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task<IResult> ResolveAsync(IAccountStore accounts, ChargeRecord charge, ChargeClosure closure, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!await accounts.ResolveChargeAsync(charge.JobId, closure, time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
        {
            var now = await accounts.GetChargeAsync(charge.JobId, cancellationToken).ConfigureAwait(false);
            throw new ReelayException(ErrorCodes.Conflict,
                $"The charge of '{charge.JobId}' is {now?.State.ToWire() ?? "gone"}; only unresolved charges are settled or released by hand (held ones close when their job ends).",
                "job_id");
        }

        return TypedResults.Json(ChargeView.From((await accounts.GetChargeAsync(charge.JobId, cancellationToken).ConfigureAwait(false))!), AdminJsonContext.Default.ChargeView);
    }

    private static async Task<ChargeRecord> ReadChargeAsync(IAccountStore accounts, string jobId, CancellationToken cancellationToken) =>
        await accounts.GetChargeAsync(jobId, cancellationToken).ConfigureAwait(false)
            ?? throw new ReelayException(ErrorCodes.NotFound, $"No charge for job '{jobId}' was found.", "job_id");

    private static async Task<UsageReport> UsageReportAsync(IAccountStore accounts, string? keyId, string? since, string? until, ApiKeyView? key, CancellationToken cancellationToken)
    {
        var from = ParseTime(since, "since");
        var to = ParseTime(until, "until");
        var rows = await accounts.UsageAsync(new UsageQuery { KeyId = keyId, Since = from, Until = to }, cancellationToken).ConfigureAwait(false);
        return new UsageReport
        {
            Since = from?.ToUnixTimeSeconds(),
            Until = to?.ToUnixTimeSeconds(),
            Data = rows.Select(UsageView.From).ToList(),
            Jobs = rows.Sum(r => r.Jobs),
            Seconds = Math.Round(rows.Sum(r => r.Seconds), 3),
            SpentUsd = Money.ToUsd(rows.Sum(r => r.SpentMicros)),
            HeldUsd = Money.ToUsd(rows.Sum(r => r.HeldMicros)),
            Key = key,
        };
    }

    private static async Task<JsonDocument> ReadBodyAsync(HttpContext context)
    {
        JsonBody.RequireJsonContentType(context.Request);
        var document = await JsonBody.ReadObjectAsync(context.Request, context.RequestAborted).ConfigureAwait(false);

        foreach (var property in document.RootElement.EnumerateObject())
        {
            var name = property.Name;
            if (!KeyFields.Contains(name) && name != "amount_usd")
            {
                document.Dispose();
                throw ReelayException.Invalid(name, $"'{name}' is not a known field; known: {string.Join(", ", KeyFields)} (and amount_usd when settling).");
            }
        }

        return document;
    }

    private static ApiKeyScope Scope(JsonElement root) =>
        !root.TryGetProperty("scope", out var s) || s.ValueKind == JsonValueKind.Null ? ApiKeyScope.Client
        : s.ValueKind == JsonValueKind.String && s.GetString() == "client" ? ApiKeyScope.Client
        : s.ValueKind == JsonValueKind.String && s.GetString() == "admin" ? ApiKeyScope.Admin
        : throw ReelayException.Invalid("scope", "scope must be \"client\" (its own jobs) or \"admin\" (every owner's jobs, keys, usage and charges).");

    private static Optional<IReadOnlyList<string>?> Models(JsonElement root, ModelCatalog catalog)
    {
        if (!root.TryGetProperty("models", out var m))
        {
            return default;
        }

        if (m.ValueKind == JsonValueKind.Null)
        {
            return new Optional<IReadOnlyList<string>?>(true, null);
        }

        var known = catalog.Models.Select(x => x.Name).Order(StringComparer.Ordinal).ToList();
        if (m.ValueKind != JsonValueKind.Array || m.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
        {
            throw ReelayException.Invalid("models", $"models must be a list of model names (or null for every model); known: {string.Join(", ", known)}.");
        }

        var names = m.EnumerateArray().Select(e => e.GetString()!).Distinct(StringComparer.Ordinal).ToList();
        foreach (var name in names.Where(x => catalog.Find(x) is null))
        {
            throw ReelayException.Invalid("models", $"models names '{name}', which is not a model of this gateway; known: {string.Join(", ", known)}.");
        }

        return new Optional<IReadOnlyList<string>?>(true, names);
    }

    private static Optional<int?> OptionalInt(JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out var v))
        {
            return default;
        }

        return v.ValueKind == JsonValueKind.Null ? new Optional<int?>(true, null)
            : v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? new Optional<int?>(true, i)
            : throw ReelayException.Invalid(field, $"{field} must be a whole number, or null for no limit.");
    }

    private static Optional<long?> OptionalUsd(JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out var v))
        {
            return default;
        }

        if (v.ValueKind == JsonValueKind.Null)
        {
            return new Optional<long?>(true, null);
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDecimal(out var usd) || usd < 0 || usd > 1_000_000_000m || !Money.IsWholeMicros(usd))
        {
            throw ReelayException.Invalid(field, $"{field} must be a USD amount from 0 to 1000000000 with at most six decimal places, or null.");
        }

        return new Optional<long?>(true, Money.ToMicros(usd));
    }

    private static Optional<DateTimeOffset?> OptionalTime(JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out var v))
        {
            return default;
        }

        return v.ValueKind switch
        {
            JsonValueKind.Null => new Optional<DateTimeOffset?>(true, null),
            JsonValueKind.Number when v.TryGetInt64(out var seconds) && seconds is > 0 and < 253402300800 => new Optional<DateTimeOffset?>(true, DateTimeOffset.FromUnixTimeSeconds(seconds)),
            JsonValueKind.String when DateTimeOffset.TryParse(v.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) => new Optional<DateTimeOffset?>(true, at.ToUniversalTime()),
            _ => throw ReelayException.Invalid(field, $"{field} must be unix seconds or an ISO 8601 time (e.g. 2027-01-31T00:00:00Z), or null."),
        };
    }

    private static DateTimeOffset? ParseTime(string? text, string field)
    {
        if (text is null)
        {
            return null;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds < 253402300800)
        {
            return DateTimeOffset.FromUnixTimeSeconds(seconds);
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at.ToUniversalTime()
            : throw ReelayException.Invalid(field, $"{field} '{text}' must be unix seconds or an ISO 8601 time.");
    }
}
