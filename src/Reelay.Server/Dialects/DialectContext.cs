using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Catalog;
using Reelay.Engine;
using Reelay.Jobs;
using Reelay.Net;

namespace Reelay.Server.Dialects;

/// <summary>
/// What a dialect's request reader works from: the request (body, headers, its abort token), the authenticated caller,
/// the catalog, the gateway's options (limits, the OpenAI default model) and the address policy for client-given URLs.
/// Every reader takes this one argument (<see cref="IDialectRequestReader.ReadAsync"/>), so adding what readers need is
/// one change here instead of one per dialect.
/// </summary>
internal sealed class DialectContext
{
    /// <summary>The request being read.</summary>
    public required HttpRequest Request { get; init; }

    /// <summary>The caller, authenticated by <see cref="DialectFilter"/>.</summary>
    public required Caller Caller { get; init; }

    /// <summary>The model catalog.</summary>
    public required ModelCatalog Catalog { get; init; }

    /// <summary>The server's settings (the OpenAI dialect's default model, among others).</summary>
    public required ReelayServerOptions Options { get; init; }

    /// <summary>Request and upload limits.</summary>
    public required LimitsOptions Limits { get; init; }

    /// <summary>Which addresses a client-given URL (first frame, webhook) may point at.</summary>
    public required AddressPolicy Addresses { get; init; }

    /// <summary>The owner of the job the request creates: the caller's key.</summary>
    public string Owner => Caller.KeyId;

    /// <summary>The request's Idempotency-Key header, checked.</summary>
    public string? IdempotencyKey => IdempotencyHeader.Read(Request);

    /// <summary>Fires when the client goes away.</summary>
    public CancellationToken Aborted => Request.HttpContext.RequestAborted;

    /// <summary>The context of a request that passed the <see cref="DialectFilter"/>.</summary>
    public static DialectContext Of(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var services = context.RequestServices;
        return new DialectContext
        {
            Request = context.Request,
            Caller = DialectFilter.CallerOf(context),
            Catalog = services.GetRequiredService<ModelCatalog>(),
            Options = services.GetRequiredService<ReelayServerOptions>(),
            Limits = services.GetRequiredService<ReelayOptions>().Limits,
            Addresses = services.GetRequiredService<AddressPolicy>(),
        };
    }
}

/// <summary>A dialect's request reader: its wire format in, a canonical <see cref="JobRequest"/> out (or a <see cref="ReelayException"/> naming the field).</summary>
internal interface IDialectRequestReader
{
    /// <summary>Reads and checks the request body into a job request owned by the caller.</summary>
    static abstract Task<JobRequest> ReadAsync(DialectContext dialect);
}
