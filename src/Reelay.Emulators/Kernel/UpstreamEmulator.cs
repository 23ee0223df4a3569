using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Reelay.Emulators.Kernel;

/// <summary>How the emulated API expects its key.</summary>
public enum KeyScheme
{
    /// <summary>"Authorization: &lt;key&gt;" (ModelVerse's task API); "Bearer &lt;key&gt;" is accepted too.</summary>
    RawOrBearer,
    /// <summary>"Authorization: Bearer &lt;key&gt;".</summary>
    Bearer,
    /// <summary>"Authorization: Token &lt;key&gt;" (Vidu).</summary>
    Token,
}

/// <summary>Settings shared by every emulator.</summary>
public sealed class EmulatorOptions
{
    /// <summary>The one API key the emulator accepts.</summary>
    public string ApiKey { get; set; } = "emulator-key";

    /// <summary>How long a task waits before it runs.</summary>
    public TimeSpan QueueTime { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>How long a task runs.</summary>
    public TimeSpan RunTime { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a result URL stays valid.</summary>
    public TimeSpan ResultUrlLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>The ffmpeg executable for result videos.</summary>
    public string FfmpegPath { get; set; } = "ffmpeg";

    /// <summary>
    /// Result videos as a flat colour (a few KiB each) instead of the moving test pattern (about a megabyte): for
    /// benchmarks that store a hundred thousand results, where the pattern's bytes would fill the disk.
    /// </summary>
    public bool FlatVideos { get; set; }
}

/// <summary>One request as the emulator received it. The credential is never recorded, only how it was sent.</summary>
/// <param name="Method">HTTP method.</param>
/// <param name="PathAndQuery">Path and query.</param>
/// <param name="AuthorizationForm">"Bearer", "Token", "raw", or "none", and whether the key matched ("Bearer:ok").</param>
/// <param name="ContentType">The request content type.</param>
/// <param name="Body">The body as text (multipart kept as is), at most 1 MiB.</param>
/// <param name="At">When it arrived, on the emulator's clock.</param>
public sealed record RecordedRequest(string Method, string PathAndQuery, string AuthorizationForm, string? ContentType, string Body, DateTimeOffset At = default)
{
    /// <summary>The body parsed as JSON.</summary>
    public JsonElement Json => JsonDocument.Parse(Body).RootElement.Clone();
}

/// <summary>
/// The base of every upstream EMULATOR: a Kestrel server on 127.0.0.1 (port chosen at run time unless given), a task
/// table whose progress follows the clock, real MP4 results behind expiring URLs, a record of every request, and faults
/// on demand. Derived classes map the emulated API's routes and render its envelopes. This is a simulation of the
/// provider's documented wire format (provider-apis.md), not the provider.
/// </summary>
public abstract class UpstreamEmulator : IAsyncDisposable
{
    private static readonly object SubmitMarker = new();
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly byte[] _urlSecret = RandomNumberGenerator.GetBytes(32);
    private WebApplication? _app;
    private long _sequence;

    /// <summary>Creates the emulator.</summary>
    protected UpstreamEmulator(EmulatorOptions? options)
    {
        Options = options ?? new EmulatorOptions();
        Videos = new EmulatorVideos { FfmpegPath = Options.FfmpegPath, Flat = Options.FlatVideos };
    }

    /// <summary>The provider type this emulates (as in Reelay:Providers:&lt;name&gt;:Type).</summary>
    public abstract string Kind { get; }

    /// <summary>How the emulated API expects its key: "Authorization: Bearer &lt;key&gt;" unless overridden.</summary>
    protected virtual KeyScheme Scheme => KeyScheme.Bearer;

    /// <summary>Settings.</summary>
    public EmulatorOptions Options { get; }

    /// <summary>Misbehaviour on demand.</summary>
    public EmulatorFaults Faults { get; } = new();

    /// <summary>The task table.</summary>
    public EmulatedTasks Tasks { get; } = new();

    /// <summary>Callbacks to the URLs submits carried (emulators of APIs that call back).</summary>
    public EmulatorCallbacks Callbacks { get; } = new();

    /// <summary>Result videos.</summary>
    public EmulatorVideos Videos { get; }

    /// <summary>The base URL once started, e.g. http://127.0.0.1:41234/.</summary>
    public Uri BaseUrl { get; private set; } = new("http://127.0.0.1/");

    /// <summary>The path under <see cref="BaseUrl"/> where the emulated API's base URL ends ("api/v3/" for Ark), or "".</summary>
    public virtual string ApiBasePath => "";

    /// <summary>What Reelay:Providers:&lt;name&gt;:BaseUrl should be for this emulator (<see cref="BaseUrl"/> plus <see cref="ApiBasePath"/>).</summary>
    public Uri ApiBaseUrl => new(BaseUrl, ApiBasePath);

    /// <summary>Every request received, in order.</summary>
    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    /// <summary>Requests received so far (cheaper than <see cref="Requests"/>).</summary>
    public int RequestCount => _requests.Count;

    /// <summary>Requests per second observed in each whole second since start, for rate-limit checks.</summary>
    public ConcurrentDictionary<long, int> RequestsPerSecond { get; } = new();

    /// <summary>Keep a record of request bodies (turn off for load tests).</summary>
    public bool RecordRequests { get; set; } = true;

    /// <summary>Starts listening; <paramref name="url"/> defaults to 127.0.0.1 on a free port.</summary>
    public async Task StartAsync(string url = "http://127.0.0.1:0", CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 64L * 1024 * 1024);
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            RequestsPerSecond.AddOrUpdate(Options.Time.GetUtcNow().ToUnixTimeSeconds(), 1, (_, n) => n + 1);
            if (!context.Request.Path.StartsWithSegments("/_emulator"))
            {
                context.Request.EnableBuffering();
                var body = "";
                if (RecordRequests)
                {
                    using var reader = new StreamReader(context.Request.Body, Encoding.UTF8, leaveOpen: true);
                    body = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
                    context.Request.Body.Position = 0;
                }

                _requests.Enqueue(new RecordedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString, AuthForm(context), context.Request.ContentType, body, Options.Time.GetUtcNow()));
            }

            if (Faults.Latency > TimeSpan.Zero)
            {
                await Task.Delay(Faults.Latency, Options.Time, context.RequestAborted).ConfigureAwait(false);
            }

            if (Faults.SubmitReplyDelay <= TimeSpan.Zero || !HttpMethods.IsPost(context.Request.Method) || context.Request.Path.StartsWithSegments("/_emulator"))
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            // Hold the reply (not the work): the handler creates the task, then the answer waits.
            var reply = context.Response.Body;
            using var held = new MemoryStream();
            context.Response.Body = held;
            try
            {
                await next(context).ConfigureAwait(false);
                if (context.Items.ContainsKey(SubmitMarker))
                {
                    await Task.Delay(Faults.SubmitReplyDelay, Options.Time, context.RequestAborted).ConfigureAwait(false);
                }
            }
            finally
            {
                context.Response.Body = reply;
            }

            held.Position = 0;
            await held.CopyToAsync(reply, context.RequestAborted).ConfigureAwait(false);
        });
        MapControl(app);
        Map(app);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        BaseUrl = new Uri(address.EndsWith('/') ? address : address + "/");
    }

    /// <summary>Maps the emulated API's routes.</summary>
    protected abstract void Map(WebApplication app);

    /// <summary>Writes an error in the emulated API's own envelope.</summary>
    protected abstract Task WriteErrorAsync(HttpContext context, int status, string message, string code);

    /// <summary>A new task id.</summary>
    protected string NextId(string prefix) => $"{prefix}{Interlocked.Increment(ref _sequence):D6}{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

    /// <summary>Now, by the emulator's clock.</summary>
    protected DateTimeOffset Now => Options.Time.GetUtcNow();

    /// <summary>When <paramref name="url"/> (from the submit) is an absolute http(s) URL: POSTs what <paramref name="build"/> makes to it once <paramref name="task"/> finishes.</summary>
    protected void CallBackWhenDone(EmulatedTask task, string? url, Func<EmulatedTask, HttpRequestMessage> build)
    {
        if (Uri.TryCreate(url, UriKind.Absolute, out var target) && target.Scheme is "http" or "https")
        {
            Callbacks.OnFinish(task, target, Options.Time, build);
        }
    }

    /// <summary>A JSON POST (its URL is set by <see cref="EmulatorCallbacks"/>).</summary>
    protected static HttpRequestMessage JsonPost(System.Text.Json.Nodes.JsonNode body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return new HttpRequestMessage(HttpMethod.Post, (Uri?)null) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
    }

    /// <summary>
    /// Checks the key and applies the next fault for <paramref name="scope"/>. Returns false when a response was already
    /// written (or the connection dropped), so the handler must stop.
    /// </summary>
    protected async Task<bool> AdmitAsync(HttpContext context, FaultScope scope)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (scope == FaultScope.Submit)
        {
            context.Items[SubmitMarker] = true;
        }

        var fault = Faults.Take(scope);
        switch (fault)
        {
            case Fault.Slow slow:
                await Task.Delay(slow.Delay, Options.Time, context.RequestAborted).ConfigureAwait(false);
                break;
            case Fault.Hang:
                await Task.Delay(Timeout.InfiniteTimeSpan, context.RequestAborted).ConfigureAwait(false);
                return false;
            case Fault.ConnectionReset:
                context.Features.Get<IHttpResetFeature>()?.Reset(0x2);
                context.Abort();
                return false;
            case Fault.MalformedJson:
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("{\"output\": {\"task_id\": ", context.RequestAborted).ConfigureAwait(false);
                return false;
            case Fault.RateLimited limited:
                context.Response.Headers.RetryAfter = ((int)Math.Ceiling(limited.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                await WriteErrorAsync(context, 429, "Rate limit exceeded, please try again later", "rate_limit").ConfigureAwait(false);
                return false;
            case Fault.ServerError error:
                await WriteErrorAsync(context, error.Status, "Internal Server Error", "internal_error").ConfigureAwait(false);
                return false;
            case Fault.Unauthorized:
                await WriteErrorAsync(context, 401, "Invalid API key", "auth_error").ConfigureAwait(false);
                return false;
            case Fault.QuotaExhausted:
                await WriteErrorAsync(context, 403, "Access forbidden: api key quota exceeded", "forbidden").ConfigureAwait(false);
                return false;
        }

        if (!KeyMatches(context))
        {
            await WriteErrorAsync(context, 401, "Invalid API key", "auth_error").ConfigureAwait(false);
            return false;
        }

        return true;
    }

    /// <summary>How a new task should end, given the switches and the prompt ("[moderation]" or "[fail]" in the prompt force an ending).</summary>
    protected TaskEnding EndingFor(string? prompt) =>
        Faults.ModerateAtNinety || (prompt?.Contains("[moderation]", StringComparison.OrdinalIgnoreCase) ?? false) ? TaskEnding.ModerationAtNinety
        : (prompt?.Contains("[fail]", StringComparison.OrdinalIgnoreCase) ?? false) ? TaskEnding.GenerationError
        : TaskEnding.Success;

    /// <summary>
    /// Adds a task created now, to the task table: it waits <see cref="EmulatorOptions.QueueTime"/>, runs
    /// <see cref="EmulatorOptions.RunTime"/> and ends as the switches and its prompt say (<see cref="EndingFor"/>).
    /// </summary>
    protected EmulatedTask AddTask(string id, string model, string? prompt, int width, int height, int seconds, bool hasImage, IReadOnlyDictionary<string, string>? extra = null) =>
        Tasks.Add(new EmulatedTask
        {
            Id = id,
            Model = model,
            Prompt = prompt,
            Width = width,
            Height = height,
            Seconds = seconds,
            HasImage = hasImage,
            CreatedAt = Now,
            QueueTime = Options.QueueTime,
            RunTime = Options.RunTime,
            Ending = EndingFor(prompt),
            Extra = extra ?? new Dictionary<string, string>(),
        });

    /// <summary>An absolute, expiring URL of the task's MP4 on this emulator (no key needed, like a CDN).</summary>
    protected string ResultUrl(EmulatedTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        var expires = (Faults.ExpiredResultUrls ? Now.AddMinutes(-1) : Now + Options.ResultUrlLifetime).ToUnixTimeSeconds();
        // Escaped: some APIs' ids carry ':' and '/' (AI/ML's "video_…:openai/sora-2-t2v").
        return new Uri(BaseUrl, $"_emulator/videos/{Uri.EscapeDataString(task.Id)}.mp4?expires={expires}&sig={Sign(task.Id, expires)}").AbsoluteUri;
    }

    /// <summary>The request body parsed as JSON, or null when it is not JSON (the handler then answers in its API's own envelope).</summary>
    protected static async Task<JsonElement?> ReadJsonAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            return (await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false)).RootElement;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Writes <paramref name="body"/> as the answer with <paramref name="status"/> and <paramref name="contentType"/> (none
    /// when null: ModelVerse's errors carry none).
    /// </summary>
    protected static Task WriteJsonAsync(HttpContext context, int status, System.Text.Json.Nodes.JsonNode body, string? contentType = "application/json")
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(body);
        context.Response.StatusCode = status;
        if (contentType is not null)
        {
            context.Response.ContentType = contentType;
        }

        return context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }

    /// <summary>Decodes a first frame given as a data URI or raw Base64, or null when it is neither (e.g. a URL).</summary>
    protected static byte[]? DecodeImage(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.StartsWith("http", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var comma = value.StartsWith("data:", StringComparison.OrdinalIgnoreCase) ? value.IndexOf(',', StringComparison.Ordinal) : -1;
        try
        {
            return Convert.FromBase64String(comma >= 0 ? value[(comma + 1)..] : value);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Width and height of a PNG, JPEG or WebP, or null.</summary>
    protected static (int Width, int Height)? ImageSize(byte[] bytes) => ImageHeaders.Size(bytes);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Callbacks.DisposeAsync().ConfigureAwait(false);
        if (_app is not null)
        {
            await _app.StopAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }

        GC.SuppressFinalize(this);
    }

    private void MapControl(WebApplication app)
    {
        app.MapGet("/_emulator/videos/{**file}", async (HttpContext context, string file, long expires, string sig) =>
        {
            file = Uri.UnescapeDataString(file);
            var id = file.EndsWith(".mp4", StringComparison.Ordinal) ? file[..^4] : file;
            if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(sig), Encoding.ASCII.GetBytes(Sign(id, expires))) || Tasks.Find(id) is not { } task)
            {
                return Results.Text("<Error><Code>AccessDenied</Code><Message>Invalid signature</Message></Error>", "application/xml", statusCode: 403);
            }

            if (DateTimeOffset.FromUnixTimeSeconds(expires) <= Now)
            {
                return Results.Text("<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>", "application/xml", statusCode: 403);
            }

            if (!await AdmitDownloadAsync(context).ConfigureAwait(false))
            {
                return Results.Empty;
            }

            var path = await Videos.GetAsync(task.Width, task.Height, task.Seconds).ConfigureAwait(false);
            return Results.File(path, "video/mp4", enableRangeProcessing: true);
        });
        app.MapPost("/_emulator/faults", async (HttpContext context) =>
        {
            var request = await JsonSerializer.DeserializeAsync(context.Request.Body, EmulatorJsonContext.Default.FaultRequest, context.RequestAborted).ConfigureAwait(false);
            if (request is null || !Enum.TryParse<FaultScope>(request.Scope ?? "any", true, out var scope))
            {
                return Results.BadRequest(new ControlError("scope must be any, submit, poll or download"));
            }

            Fault? fault = (request.Fault ?? "").ToUpperInvariant() switch
            {
                "RATE_LIMIT" => new Fault.RateLimited(TimeSpan.FromSeconds(request.RetryAfterSeconds ?? 2)),
                "SERVER_ERROR" => new Fault.ServerError(request.Status ?? 500),
                "MALFORMED_JSON" => new Fault.MalformedJson(),
                "CONNECTION_RESET" => new Fault.ConnectionReset(),
                "HANG" => new Fault.Hang(),
                "SLOW" => new Fault.Slow(TimeSpan.FromMilliseconds(request.DelayMs ?? 1000)),
                "UNAUTHORIZED" => new Fault.Unauthorized(),
                "QUOTA" => new Fault.QuotaExhausted(),
                _ => null,
            };
            if (fault is null)
            {
                return Results.BadRequest(new ControlError("fault must be rate_limit, server_error, malformed_json, connection_reset, hang, slow, unauthorized or quota"));
            }

            Faults.Add(scope, fault, Math.Clamp(request.Times ?? 1, 1, 10_000));
            return Results.Ok(new ControlOk("queued"));
        });
        app.MapPost("/_emulator/settings", async (HttpContext context) =>
        {
            var settings = await JsonSerializer.DeserializeAsync(context.Request.Body, EmulatorJsonContext.Default.SettingsRequest, context.RequestAborted).ConfigureAwait(false);
            if (settings is null)
            {
                return Results.BadRequest(new ControlError("send a JSON object"));
            }

            if (settings.ModerateAtNinety is { } moderate)
            {
                Faults.ModerateAtNinety = moderate;
            }

            if (settings.ExpiredResultUrls is { } expired)
            {
                Faults.ExpiredResultUrls = expired;
            }

            if (settings.RequireExactFirstFrameSize is { } exact)
            {
                Faults.RequireExactFirstFrameSize = exact;
            }

            if (settings.LatencyMs is { } latency)
            {
                Faults.Latency = TimeSpan.FromMilliseconds(Math.Clamp(latency, 0, 600_000));
            }

            if (settings.SubmitReplyDelayMs is { } replyDelay)
            {
                Faults.SubmitReplyDelay = TimeSpan.FromMilliseconds(Math.Clamp(replyDelay, 0, 600_000));
            }

            if (settings.RunSeconds is { } run)
            {
                Options.RunTime = TimeSpan.FromSeconds(Math.Clamp(run, 0, 3600));
            }

            return Results.Ok(new ControlOk("updated"));
        });
        app.MapPost("/_emulator/reset", () =>
        {
            Faults.Reset();
            return Results.Ok(new ControlOk("reset"));
        });
    }

    private async Task<bool> AdmitDownloadAsync(HttpContext context)
    {
        var fault = Faults.Take(FaultScope.Download);
        switch (fault)
        {
            case null:
                return true;
            case Fault.Slow slow:
                await Task.Delay(slow.Delay, Options.Time, context.RequestAborted).ConfigureAwait(false);
                return true;
            case Fault.Hang:
                await Task.Delay(Timeout.InfiniteTimeSpan, context.RequestAborted).ConfigureAwait(false);
                return false;
            case Fault.ConnectionReset:
                context.Abort();
                return false;
            case Fault.RateLimited limited:
                context.Response.Headers.RetryAfter = ((int)Math.Ceiling(limited.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                context.Response.StatusCode = 429;
                return false;
            default:
                context.Response.StatusCode = 500;
                return false;
        }
    }

    private string Sign(string id, long expires) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(_urlSecret, Encoding.UTF8.GetBytes($"{id}\n{expires}")))[..32];

    /// <summary>Whether the request carries the accepted key in the emulated API's form.</summary>
    protected virtual bool KeyMatches(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var header = context.Request.Headers.Authorization.ToString();
        var expected = Options.ApiKey;
        return Scheme switch
        {
            KeyScheme.RawOrBearer => header == expected || header == "Bearer " + expected,
            KeyScheme.Bearer => header == "Bearer " + expected,
            KeyScheme.Token => header == "Token " + expected,
            _ => false,
        };
    }

    /// <summary>How the request sent its credential, for <see cref="RecordedRequest.AuthorizationForm"/> (never the credential).</summary>
    protected virtual string AuthForm(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var header = context.Request.Headers.Authorization.ToString();
        var form = header.Length == 0 ? "none"
            : header.StartsWith("Bearer ", StringComparison.Ordinal) ? "Bearer"
            : header.StartsWith("Token ", StringComparison.Ordinal) ? "Token"
            : "raw";
        return form == "none" ? form : form + (KeyMatches(context) ? ":ok" : ":wrong");
    }
}
