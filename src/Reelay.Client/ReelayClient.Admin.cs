using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Reelay.Client.Admin;
using Reelay.Client.Serialization;

namespace Reelay.Client;

/// <summary>Reelay's management API: API keys, usage and charges (<c>/admin/*</c>, admin keys only) and <c>/v1/usage</c>.</summary>
public partial class ReelayClient
{
    /// <summary>
    /// Creates an API key (<c>POST /admin/keys</c>). The answer's <see cref="ApiKey.Key"/> is the secret; the server
    /// keeps only its hash and never shows it again.
    /// </summary>
    /// <param name="request">The key's name, scope and limits.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The new key, with its secret.</returns>
    /// <exception cref="ReelayApiException">For example 400 invalid_request (a bad field) or 403 forbidden (a client key).</exception>
    public virtual Task<ApiKey> CreateApiKeyAsync(CreateApiKeyRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Name, nameof(request));
        var body = JsonBody(writer =>
        {
            writer.WriteString("name", request.Name);
            if (request.Scope is not null)
            {
                writer.WriteString("scope", request.Scope);
            }

            if (request.Models is not null)
            {
                WriteModels(writer, request.Models);
            }

            if (request.RateLimitPerMinute is { } rate)
            {
                writer.WriteNumber("rate_limit_per_minute", rate);
            }

            if (request.MaxJobsInFlight is { } inFlight)
            {
                writer.WriteNumber("max_jobs_in_flight", inFlight);
            }

            if (request.BudgetUsd is { } budget)
            {
                writer.WriteNumber("budget_usd", budget);
            }

            if (request.ExpiresAt is { } expires)
            {
                writer.WriteNumber("expires_at", expires.ToUnixTimeSeconds());
            }
        });
        return SendJsonAsync(HttpMethod.Post, "admin/keys", body, AdminJsonContext.Default.ApiKey, cancellationToken);
    }

    /// <summary>Lists every API key, including revoked and expired ones and the bootstrap admin key (<c>GET /admin/keys</c>). Never includes secrets.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The keys.</returns>
    public virtual async Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(CancellationToken cancellationToken = default)
    {
        var list = await SendJsonAsync(HttpMethod.Get, "admin/keys", null, AdminJsonContext.Default.AdminListApiKey, cancellationToken).ConfigureAwait(false);
        return list.Data;
    }

    /// <summary>Reads one API key (<c>GET /admin/keys/{id}</c>), with its balance.</summary>
    /// <param name="id">The key's id (not its secret).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The key.</returns>
    /// <exception cref="ReelayApiException">For example 404 not_found.</exception>
    public virtual Task<ApiKey> GetApiKeyAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return SendJsonAsync(HttpMethod.Get, KeyPath(id), null, AdminJsonContext.Default.ApiKey, cancellationToken);
    }

    /// <summary>
    /// Changes an API key (<c>PATCH /admin/keys/{id}</c>): fields left as <see cref="FieldUpdateKind.Leave"/> are not
    /// sent and stay as they are; cleared fields are sent as null.
    /// </summary>
    /// <param name="id">The key's id.</param>
    /// <param name="request">The changes.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The key as it now is.</returns>
    public virtual Task<ApiKey> UpdateApiKeyAsync(string id, UpdateApiKeyRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentNullException.ThrowIfNull(request);
        var body = JsonBody(writer =>
        {
            if (request.Name is not null)
            {
                writer.WriteString("name", request.Name);
            }

            WriteUpdate(writer, "models", request.Models, (w, models) => WriteModels(w, models));
            WriteUpdate(writer, "rate_limit_per_minute", request.RateLimitPerMinute, (w, v) => w.WriteNumber("rate_limit_per_minute", v));
            WriteUpdate(writer, "max_jobs_in_flight", request.MaxJobsInFlight, (w, v) => w.WriteNumber("max_jobs_in_flight", v));
            WriteUpdate(writer, "budget_usd", request.BudgetUsd, (w, v) => w.WriteNumber("budget_usd", v));
            WriteUpdate(writer, "expires_at", request.ExpiresAt, (w, v) => w.WriteNumber("expires_at", v.ToUnixTimeSeconds()));
        });
        return SendJsonAsync(HttpMethod.Patch, KeyPath(id), body, AdminJsonContext.Default.ApiKey, cancellationToken);
    }

    /// <summary>Revokes an API key (<c>DELETE /admin/keys/{id}</c>): its next request gets 401. The bootstrap admin key cannot be revoked.</summary>
    /// <param name="id">The key's id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The key, now revoked.</returns>
    /// <exception cref="ReelayApiException">For example 404 not_found, or 409 conflict for the bootstrap admin key.</exception>
    public virtual Task<ApiKey> RevokeApiKeyAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return SendJsonAsync(HttpMethod.Delete, KeyPath(id), null, AdminJsonContext.Default.ApiKey, cancellationToken);
    }

    /// <summary>Reads usage per key and model over a period (<c>GET /admin/usage</c>).</summary>
    /// <param name="keyId">Only this key; null for every key.</param>
    /// <param name="since">The start of the period; null for the beginning.</param>
    /// <param name="until">The end of the period; null for now.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The report.</returns>
    public virtual Task<UsageReport> GetUsageAsync(string? keyId = null, DateTimeOffset? since = null, DateTimeOffset? until = null, CancellationToken cancellationToken = default)
    {
        var query = new QueryBuilder("admin/usage");
        query.Add("key_id", keyId);
        query.Add("since", since);
        query.Add("until", until);
        return SendJsonAsync(HttpMethod.Get, query.ToString(), null, AdminJsonContext.Default.UsageReport, cancellationToken);
    }

    /// <summary>Reads the caller's own usage, budget and balance (<c>GET /v1/usage</c>); works with any key.</summary>
    /// <param name="since">The start of the period; null for the beginning.</param>
    /// <param name="until">The end of the period; null for now.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The report, with <see cref="UsageReport.Key"/> set to the caller's key.</returns>
    public virtual Task<UsageReport> GetOwnUsageAsync(DateTimeOffset? since = null, DateTimeOffset? until = null, CancellationToken cancellationToken = default)
    {
        var query = new QueryBuilder("v1/usage");
        query.Add("since", since);
        query.Add("until", until);
        return SendJsonAsync(HttpMethod.Get, query.ToString(), null, AdminJsonContext.Default.UsageReport, cancellationToken);
    }

    /// <summary>Lists charges, newest first (<c>GET /admin/charges</c>).</summary>
    /// <param name="keyId">Only this key's; null for every key's.</param>
    /// <param name="state">Only charges in this <see cref="ChargeState"/>; null for all.</param>
    /// <param name="limit">At most this many (1 to 1000); null for the server's default (100).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The charges.</returns>
    public virtual async Task<IReadOnlyList<Charge>> ListChargesAsync(string? keyId = null, string? state = null, int? limit = null, CancellationToken cancellationToken = default)
    {
        if (limit is { } n)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n, nameof(limit));
        }

        var query = new QueryBuilder("admin/charges");
        query.Add("key_id", keyId);
        query.Add("state", state);
        query.Add("limit", limit?.ToString(CultureInfo.InvariantCulture));
        var list = await SendJsonAsync(HttpMethod.Get, query.ToString(), null, AdminJsonContext.Default.AdminListCharge, cancellationToken).ConfigureAwait(false);
        return list.Data;
    }

    /// <summary>
    /// Lists the provider instances with their circuit state (<c>GET /admin/providers</c>). Circuits are kept per gateway
    /// node, so the answer is the state on the node that served the call.
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The instances.</returns>
    public virtual async Task<IReadOnlyList<ProviderStatus>> ListProvidersAsync(CancellationToken cancellationToken = default)
    {
        var list = await SendJsonAsync(HttpMethod.Get, "admin/providers", null, AdminJsonContext.Default.AdminListProviderStatus, cancellationToken).ConfigureAwait(false);
        return list.Data;
    }

    /// <summary>Reads one job's charge (<c>GET /admin/charges/{job_id}</c>).</summary>
    /// <param name="jobId">The job (video) id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The charge.</returns>
    /// <exception cref="ReelayApiException">For example 404 not_found.</exception>
    public virtual Task<Charge> GetChargeAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobId);
        return SendJsonAsync(HttpMethod.Get, ChargePath(jobId), null, AdminJsonContext.Default.Charge, cancellationToken);
    }

    /// <summary>
    /// Settles an unresolved charge (<c>POST /admin/charges/{job_id}/settle</c>): the key is charged
    /// <paramref name="amountUsd"/>, or the whole hold when null. Held charges close by themselves when their job ends.
    /// </summary>
    /// <param name="jobId">The job (video) id.</param>
    /// <param name="amountUsd">What to charge, at most the hold; null for the whole hold.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The charge, now settled.</returns>
    /// <exception cref="ReelayApiException">409 conflict when the charge is not unresolved; 400 when the amount exceeds the hold.</exception>
    public virtual Task<Charge> SettleChargeAsync(string jobId, decimal? amountUsd = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobId);
        var body = amountUsd is { } amount ? JsonBody(writer => writer.WriteNumber("amount_usd", amount)) : null;
        return SendJsonAsync(HttpMethod.Post, ChargePath(jobId) + "/settle", body, AdminJsonContext.Default.Charge, cancellationToken);
    }

    /// <summary>Releases an unresolved charge (<c>POST /admin/charges/{job_id}/release</c>): nothing is charged and the hold returns to the key.</summary>
    /// <param name="jobId">The job (video) id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The charge, now released.</returns>
    /// <exception cref="ReelayApiException">409 conflict when the charge is not unresolved.</exception>
    public virtual Task<Charge> ReleaseChargeAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobId);
        return SendJsonAsync(HttpMethod.Post, ChargePath(jobId) + "/release", null, AdminJsonContext.Default.Charge, cancellationToken);
    }

    private static string KeyPath(string id) => "admin/keys/" + Uri.EscapeDataString(id);

    private static string ChargePath(string jobId) => "admin/charges/" + Uri.EscapeDataString(jobId);

    private static ByteArrayContent JsonBody(Action<Utf8JsonWriter> writeFields)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writeFields(writer);
            writer.WriteEndObject();
        }

        var content = new ByteArrayContent(buffer.WrittenSpan.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }

    private static void WriteModels(Utf8JsonWriter writer, IReadOnlyList<string> models)
    {
        writer.WriteStartArray("models");
        foreach (var model in models)
        {
            writer.WriteStringValue(model);
        }

        writer.WriteEndArray();
    }

    private static void WriteUpdate<T>(Utf8JsonWriter writer, string name, FieldUpdate<T> update, Action<Utf8JsonWriter, T> write)
    {
        switch (update.Kind)
        {
            case FieldUpdateKind.Set:
                write(writer, update.Value!);
                break;
            case FieldUpdateKind.Clear:
                writer.WriteNull(name);
                break;
        }
    }

    /// <summary>A relative path with escaped query parameters; null values are left out.</summary>
    private sealed class QueryBuilder(string path)
    {
        private readonly StringBuilder _text = new(path);
        private char _separator = '?';

        public void Add(string name, string? value)
        {
            if (value is null)
            {
                return;
            }

            _text.Append(_separator).Append(name).Append('=').Append(Uri.EscapeDataString(value));
            _separator = '&';
        }

        public void Add(string name, DateTimeOffset? value) =>
            Add(name, value?.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));

        public override string ToString() => _text.ToString();
    }
}
