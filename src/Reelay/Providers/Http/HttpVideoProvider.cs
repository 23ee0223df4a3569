using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Reelay.Jobs;

namespace Reelay.Providers.Http;

/// <summary>
/// What every HTTP adapter shares: its instance options, HTTP client, first-frame reader and poll schedule; the
/// credential header (<see cref="Authorize"/>); result downloads that send the credential only to the instance's own
/// origin; a probe that makes one authenticated read which starts nothing; the submit and poll plumbing
/// (<see cref="SubmitJsonAsync"/>, <see cref="PollJsonAsync"/>); and, unless overridden, no cancel and no lookup by client
/// reference (so a crash mid-submit ends in submit_outcome_unknown). The wire (paths, bodies, envelopes, status names)
/// stays in each adapter.
/// </summary>
public abstract class HttpVideoProvider : IVideoProvider
{
    /// <summary>Creates the adapter.</summary>
    protected HttpVideoProvider(string name, ProviderInstanceOptions options, ProviderServices services)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(services);
        Name = name;
        Options = options;
        Http = services.Http;
        Frames = services.FirstFrames;
        Catalog = services.Catalog ?? Reelay.Catalog.ModelCatalog.Shipped;
        // The adapter's own category (e.g. Reelay.Providers.Vidu.ViduProvider), as CreateLogger<T> would name it.
        Logger = services.LoggerFactory.CreateLogger(GetType());
        _callbacks = (options.Callbacks?.Enabled ?? true) ? services.Callbacks : null;
        PollSchedule = new PollSchedule(options.PollInterval, options.MaxPollInterval);
    }

    private readonly Callbacks.CallbackUrls? _callbacks;

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>
    /// The job's callback URL for an upstream that can call back, or null: callbacks off for this instance, or no
    /// Reelay:PublicBaseUrl. A callback is a hint (Reelay then polls the job at once), never the job's truth.
    /// </summary>
    protected string? CallbackUrl(ProviderJob job) => job is null ? null : _callbacks?.UrlFor(Name, job.Job.Id)?.AbsoluteUri;

    /// <inheritdoc />
    public PollSchedule PollSchedule { get; }

    /// <inheritdoc />
    public int MaxConcurrentJobs => Options.MaxConcurrentJobs;

    /// <summary>The instance's settings (its key included: never log or return them).</summary>
    protected ProviderInstanceOptions Options { get; }

    /// <summary>The instance's HTTP client.</summary>
    protected UpstreamHttpClient Http { get; }

    /// <summary>The adapter's logger (its category is the adapter's type); its events keep the adapter's own ids.</summary>
    protected ILogger Logger { get; }

    /// <summary>Reads and fits first frames.</summary>
    protected FirstFrames Frames { get; }

    /// <summary>The model catalog: the facts of each upstream model (durations, sizes, options, request body).</summary>
    protected Reelay.Catalog.ModelCatalog Catalog { get; }

    /// <summary>
    /// Why the catalog's facts for <paramref name="upstreamModel"/> at provider type <paramref name="type"/> rule the job
    /// out; null when they allow it. An id the catalog does not describe is ruled out, with the way to describe it.
    /// </summary>
    protected string? CheckCatalogSupport(string type, Job job, string upstreamModel) => Catalog.CheckUpstream(type, job, upstreamModel);

    /// <summary>
    /// For adapters that check sizes and durations in code: why upstream model <paramref name="upstreamModel"/> cannot take
    /// the job's last frame or reference images, from the catalog's <c>upstreams.&lt;type&gt;</c> entry (its modes first_last
    /// and reference, and maxReferenceImages); null when it can, or when the job has neither.
    /// </summary>
    protected string? InputsNotOffered(string type, Job job, string upstreamModel)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.LastFrameKey is null && job.ReferenceImageKeys.Count == 0)
        {
            return null;
        }

        return Catalog.FindUpstream(type, upstreamModel) is { } upstream
            ? upstream.CheckInputs(job)
            : $"upstream model '{upstreamModel}' is not described in the catalog (upstreams.{type}), which says whether it takes a last frame or reference images";
    }

    /// <summary>
    /// The request body of a catalog-described upstream model for a job, with the first frame, the last frame and the
    /// reference images as data URIs when it has them.
    /// </summary>
    protected System.Text.Json.Nodes.JsonObject RenderCatalogBody(Reelay.Catalog.UpstreamModelDefinition upstream, Job job, string? firstFrameDataUri, string? lastFrameDataUri = null, IReadOnlyList<string>? referenceImageDataUris = null)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        ArgumentNullException.ThrowIfNull(job);
        return upstream.RenderBody(new Reelay.Catalog.UpstreamRequestValues(job, Catalog.TierOf(job), Catalog.AspectOf(job), firstFrameDataUri, Catalog.OptionTypes(job.Model))
        {
            LastFrameDataUri = lastFrameDataUri,
            ReferenceImageDataUris = referenceImageDataUris,
        });
    }

    /// <summary>
    /// The job's last frame and reference images as data URIs (null and empty when it has none), for catalog-rendered
    /// bodies: read as they are, like the first frame of a catalog body.
    /// </summary>
    protected async Task<(string? LastFrame, IReadOnlyList<string> References)> ReadExtraFramesAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        var (last, references) = await ReadLastAndReferencesAsync(job, cancellationToken).ConfigureAwait(false);
        return (last?.DataUri, references.Select(r => r.DataUri).ToList());
    }

    /// <summary>
    /// The job's images as they are (never fitted), for upstreams that shape the video by them: the first frame of an
    /// image-to-video job (else null), the last frame (else null) and the reference images in the client's order (else
    /// empty). Each adapter puts them in its own wire form (data URI, raw Base64, inline data).
    /// </summary>
    protected async Task<(FirstFrame? First, FirstFrame? Last, IReadOnlyList<FirstFrame> References)> ReadImagesAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var first = job.Job.Mode == VideoMode.ImageToVideo ? await Frames.ReadAsync(job, null, null, Options.FirstFrameFit, cancellationToken).ConfigureAwait(false) : null;
        var (last, references) = await ReadLastAndReferencesAsync(job, cancellationToken).ConfigureAwait(false);
        return (first, last, references);
    }

    private async Task<(FirstFrame? Last, IReadOnlyList<FirstFrame> References)> ReadLastAndReferencesAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var last = job.OpenLastFrame is null ? null : await Frames.ReadLastFrameAsync(job, null, null, Options.FirstFrameFit, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<FirstFrame> references = job.OpenReferenceImages.Count == 0 ? [] : await Frames.ReadReferenceImagesAsync(job, cancellationToken).ConfigureAwait(false);
        return (last, references);
    }

    /// <summary>The path (relative to the base URL) of an authenticated read that starts nothing, for <see cref="ProbeAsync"/>.</summary>
    protected abstract string ProbePath { get; }

    /// <summary>
    /// The provider type whose catalog entries (<c>upstreams.&lt;type&gt;</c>) hold this adapter's model facts, for adapters
    /// that serve only catalog-described models; null for adapters that check support themselves.
    /// </summary>
    protected virtual string? CatalogType => null;

    /// <inheritdoc />
    /// <remarks>By default, the catalog's facts for <see cref="CatalogType"/>; adapters without one override this.</remarks>
    public virtual string? CheckSupport(Job job, string upstreamModel)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(upstreamModel);
        return CatalogType is { } type
            ? CheckCatalogSupport(type, job, upstreamModel)
            : throw new NotSupportedException($"{GetType().Name} has no catalog type; it must override CheckSupport.");
    }

    /// <inheritdoc />
    public abstract Task<SubmitOutcome> SubmitAsync(ProviderJob job, CancellationToken cancellationToken);

    /// <inheritdoc />
    public abstract Task<PollOutcome> PollAsync(ProviderJob job, CancellationToken cancellationToken);

    /// <inheritdoc />
    public virtual Task<RecoveryOutcome> RecoverSubmitAsync(ProviderJob job, CancellationToken cancellationToken) =>
        Task.FromResult<RecoveryOutcome>(new RecoveryOutcome.Unknown());

    /// <inheritdoc />
    public virtual Task CancelAsync(ProviderJob job, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public virtual IReadOnlyList<string> Operations => JobOperations.GenerateOnly;

    /// <inheritdoc />
    public virtual async Task DownloadAsync(ProviderJob job, ResultLocation result, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        await Http.DownloadAsync(new Uri(result.Video), AuthorizeDownload, destination, ProviderLimits.MaxResultBytes, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public virtual async Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Http.Url(ProbePath));
        try
        {
            var reply = await SendAsync(request, cancellationToken).ConfigureAwait(false);
            return DescribeProbe((int)reply.Status);
        }
        catch (UpstreamTransportException ex)
        {
            return new ProbeResult(false, $"{(ex.Kind == UpstreamFailureKind.Unreachable ? "unreachable" : "no usable answer")}: {ex.Message}; the API key was not verified");
        }
    }

    /// <summary>Adds the credential in the form the upstream expects.</summary>
    protected abstract void Authorize(HttpRequestHeaders headers);

    /// <summary>Headers for a result download on the instance's own origin (the credential, by default).</summary>
    protected virtual void AuthorizeDownload(HttpRequestHeaders headers) => Authorize(headers);

    /// <summary>
    /// What a probe's HTTP status means. Only an answer that needs the key proves it: a 2xx, or the 404 these APIs give an
    /// authenticated read of an unknown task id. 401/403 refuse the key. Anything else (a 5xx, a 429, a 400 from a proxy)
    /// proves nothing about the key: an upstream answering 500 to everything would answer it to a bad key too.
    /// </summary>
    protected virtual ProbeResult DescribeProbe(int status) => status switch
    {
        >= 200 and < 300 => new ProbeResult(true, $"reachable and the API key was accepted (HTTP {status})"),
        404 => new ProbeResult(true, $"reachable and the API key was accepted (HTTP 404 for an unknown task id)"),
        _ => NotVerified(status),
    };

    /// <summary>The probe result for a status that says nothing about the key (or refuses it: 401, 403).</summary>
    protected static ProbeResult NotVerified(int status) => status switch
    {
        401 or 403 => new ProbeResult(false, $"reachable, but the API key was refused (HTTP {status})"),
        429 => new ProbeResult(false, "reachable, but rate-limited (HTTP 429); the API key was not verified, try again later"),
        >= 500 => new ProbeResult(false, $"unhealthy: the upstream answered HTTP {status}; the API key was not verified"),
        _ => new ProbeResult(false, $"reachable, but it answered HTTP {status} to an authenticated read; the API key was not verified"),
    };

    /// <summary>
    /// Why the job cannot be served exactly because of an option: the first one that is set (not false, empty or auto)
    /// and that the upstream does not carry (<paramref name="carried"/> of key and value); null when there is none.
    /// </summary>
    protected static string? OptionNotOffered(Job job, Func<string, string, bool> carried, string suffix = "")
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(carried);
        foreach (var (key, value) in job.ModelOptions())
        {
            if (!carried(key, value) && value is not ("false" or "" or "auto"))
            {
                return $"option {key}={value} is not offered{suffix}";
            }
        }

        return null;
    }

    /// <summary>
    /// The one submit plumbing every adapter shares, the twin of <see cref="GetForPollAsync"/>: sends
    /// <paramref name="request"/> with the credential; a transport failure (timeout, reset, refused) becomes a retry; a
    /// non-2xx answer goes to <paramref name="onError"/> with its JSON root (null when unreadable); a 2xx goes to
    /// <paramref name="read"/> with its JSON root. A 2xx that is not JSON, or that <paramref name="read"/> finds no task in
    /// (it returns null), may have started (and will bill) a job Reelay cannot track: <paramref name="unreadable"/> runs (the
    /// adapter logs it under its own event id) and the submit ends in submit_outcome_unknown, never a resubmit.
    /// </summary>
    /// <param name="request">The submit request.</param>
    /// <param name="onError">The outcome of a non-2xx answer.</param>
    /// <param name="read">The outcome of a readable 2xx (usually <see cref="AcceptedIf"/> of its task id), or null when it names no task.</param>
    /// <param name="unreadable">Logs a 2xx that names no task.</param>
    /// <param name="idName">What the upstream calls its task id ("task id", "request id", "operation name"), for the error message.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    protected async Task<SubmitOutcome> SubmitJsonAsync(
        HttpRequestMessage request,
        Func<UpstreamReply, System.Text.Json.JsonElement?, SubmitOutcome> onError,
        Func<UpstreamReply, System.Text.Json.JsonElement, SubmitOutcome?> read,
        Action unreadable,
        string idName,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onError);
        ArgumentNullException.ThrowIfNull(read);
        ArgumentNullException.ThrowIfNull(unreadable);
        UpstreamReply reply;
        try
        {
            reply = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (UpstreamTransportException ex)
        {
            return UpstreamErrors.SubmitTransport(Name, ex);
        }

        using var json = reply.TryJson();
        if (!reply.IsSuccess)
        {
            return onError(reply, json?.RootElement);
        }

        if (json is not null && read(reply, json.RootElement) is { } outcome)
        {
            return outcome;
        }

        unreadable();
        return UpstreamErrors.SubmitWithoutTaskId(Name, idName);
    }

    /// <summary>Accepted with <paramref name="id"/> when it is a non-empty id, otherwise null (the answer names no task).</summary>
    protected static SubmitOutcome? AcceptedIf(string? id) => id is { Length: > 0 } ? new SubmitOutcome.Accepted(id) : null;

    /// <summary>
    /// Why an upstream model whose id names its mode cannot serve the job's: "text-to-video only" when an image job meets an
    /// id containing one of <paramref name="textOnly"/>, "image-to-video only" when a text job meets one containing one of
    /// <paramref name="imageOnly"/>; null otherwise.
    /// </summary>
    protected internal static string? ModeNotOffered(string upstreamModel, bool image, string[] textOnly, string[] imageOnly)
    {
        ArgumentNullException.ThrowIfNull(upstreamModel);
        ArgumentNullException.ThrowIfNull(textOnly);
        ArgumentNullException.ThrowIfNull(imageOnly);
        var marks = image ? textOnly : imageOnly;
        return marks.Any(mark => upstreamModel.Contains(mark, StringComparison.Ordinal))
            ? $"{upstreamModel} is {(image ? "text" : "image")}-to-video only"
            : null;
    }

    /// <summary>
    /// The one poll plumbing every adapter shares: GETs <paramref name="relativeUrl"/> with the credential; a transport
    /// failure (timeout, reset, refused) becomes a retry on the job's schedule; a non-2xx answer goes to
    /// <paramref name="onError"/> with its JSON root (null when unreadable); a 2xx without readable JSON, or whose
    /// <paramref name="status"/> reads null, is retried with <paramref name="unreadable"/> as the reason. Otherwise the
    /// reply carries the JSON and the status for the adapter's own reading. Dispose the reply.
    /// </summary>
    protected async Task<PollReply> GetForPollAsync(
        string relativeUrl,
        Func<UpstreamReply, System.Text.Json.JsonElement?, PollOutcome> onError,
        Func<System.Text.Json.JsonElement, string?> status,
        string unreadable,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onError);
        ArgumentNullException.ThrowIfNull(status);
        using var request = new HttpRequestMessage(HttpMethod.Get, Http.Url(relativeUrl));
        UpstreamReply reply;
        try
        {
            reply = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (UpstreamTransportException ex)
        {
            return new PollReply(UpstreamErrors.PollTransport(ex), null, null, null);
        }

        var json = reply.TryJson();
        if (!reply.IsSuccess)
        {
            using (json)
            {
                return new PollReply(onError(reply, json?.RootElement), reply, null, null);
            }
        }

        if (json is null || status(json.RootElement) is not { } read)
        {
            json?.Dispose();
            return new PollReply(new PollOutcome.RetryLater(unreadable), reply, null, null);
        }

        return new PollReply(null, reply, json, read);
    }

    /// <summary>
    /// A whole poll for adapters whose status reply is read at once: <see cref="GetForPollAsync"/>, then
    /// <paramref name="read"/> with the readable reply and its status.
    /// </summary>
    protected async Task<PollOutcome> PollJsonAsync(
        string relativeUrl,
        Func<UpstreamReply, System.Text.Json.JsonElement?, PollOutcome> onError,
        Func<System.Text.Json.JsonElement, string?> status,
        string unreadable,
        Func<System.Text.Json.JsonDocument, string, PollOutcome> read,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(read);
        using var polled = await GetForPollAsync(relativeUrl, onError, status, unreadable, cancellationToken).ConfigureAwait(false);
        return polled.Outcome ?? read(polled.Json!, polled.Status!);
    }

    /// <summary>The standard outcome of a non-2xx poll answer: <see cref="UpstreamErrors.Poll"/> with the upstream's message and code.</summary>
    protected Func<UpstreamReply, System.Text.Json.JsonElement?, PollOutcome> PollError(Func<System.Text.Json.JsonElement, string?> message, Func<System.Text.Json.JsonElement, string?> code) =>
        (reply, root) => UpstreamErrors.Poll(Name, reply, root is { } m ? message(m) : null, root is { } c ? code(c) : null);

    /// <summary>
    /// GETs <paramref name="relativeUrl"/> for a lookup (recovery's task lists): its JSON body when the upstream answered
    /// 2xx with JSON, otherwise null (a transport failure, another status, or an unreadable body: a lookup that cannot tell).
    /// </summary>
    protected async Task<System.Text.Json.JsonDocument?> TryGetJsonAsync(string relativeUrl, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Http.Url(relativeUrl));
        UpstreamReply reply;
        try
        {
            reply = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (UpstreamTransportException)
        {
            return null;
        }

        return reply.IsSuccess ? reply.TryJson() : null;
    }

    /// <summary>Sends a request with the credential; transport failures surface as <see cref="UpstreamTransportException"/>.</summary>
    protected Task<UpstreamReply> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        Authorize(request.Headers);
        return Http.SendAsync(request, cancellationToken);
    }
}

/// <summary>What a poll's GET came to: an <see cref="Outcome"/> already (a transport failure, a non-2xx or an unreadable answer), or a readable 2xx.</summary>
/// <param name="Outcome">The poll's outcome when the answer was not a readable 2xx; null otherwise.</param>
/// <param name="Reply">The answer (null after a transport failure).</param>
/// <param name="Json">The readable 2xx body.</param>
/// <param name="Status">The status read from it.</param>
public sealed record PollReply(PollOutcome? Outcome, UpstreamReply? Reply, System.Text.Json.JsonDocument? Json, string? Status) : IDisposable
{
    /// <inheritdoc />
    public void Dispose() => Json?.Dispose();
}
