using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;
using Reelay.Jobs;
using Reelay.Providers.Http;

namespace Reelay.Providers.Veo;

/// <summary>
/// Google Veo on the Gemini API (provider-apis-live.md §2): POST {base}/models/{model}:predictLongRunning with
/// instances[{prompt, image{inlineData}}] and parameters {aspectRatio, resolution, durationSeconds, negativePrompt}, whose
/// reply names a long-running operation; GET {base}/{operation name} until done. A done operation carries an error, the
/// generated samples, or neither (the content filter: raiMediaFilteredReasons), which is moderation, never success. The
/// key goes in "x-goog-api-key", also for the result file (files/{id}:download, a redirect to storage). No cancel and no
/// lookup (the API has neither). Extension (OpenAI's POST /videos/extensions of a Veo video): instances[0].video = {uri}
/// of the source's own output (kept on the source job when it finished), 720p, an 8 s continuation, Veo 3.1 preview
/// models only (not lite); the upstream answers with the stitched whole. With callbacks on, the submit carries
/// webhookConfig {uris: [the job's callback URL]}.
/// </summary>
public sealed partial class VeoProvider(string name, ProviderInstanceOptions options, ProviderServices services)
    : HttpVideoProvider(name, options, services)
{
    /// <summary>Upstream models that extend a previous output (provider-apis-live.md §2.3: the Veo 3.1 preview models, not lite).</summary>
    private static readonly HashSet<string> ExtendingModels = new(StringComparer.Ordinal) { "veo-3.1-generate-preview", "veo-3.1-fast-generate-preview" };

    /// <summary>The only continuation length Veo makes: "must be 8 with extension".</summary>
    private const int ExtensionSeconds = 8;

    /// <summary>
    /// Generate, and extend a previous Veo output (see <see cref="CheckSupport"/> for the limits); characters go as
    /// reference images (<see cref="CharacterReferences"/>) on the models that take them.
    /// </summary>
    public override IReadOnlyList<string> Operations { get; } = [JobOperations.Generate, JobOperations.Extend, JobOperations.Characters];

    /// <summary>The model list (one entry): an authenticated read that starts nothing.</summary>
    protected override string ProbePath => "models?pageSize=1";

    /// <inheritdoc />
    public override string? CheckSupport(Job job, string upstreamModel)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(upstreamModel);
        if (CharacterReferences.NotOffered(Catalog, "veo", job, upstreamModel) is { } characters)
        {
            return characters;
        }

        if (job.Operation == JobOperation.Extend)
        {
            return CheckExtension(job, upstreamModel);
        }

        if (job.Operation != JobOperation.Generate)
        {
            return $"Veo does not offer the {job.Operation.ToWire()} operation";
        }

        if (Shape(job) is not { } shape)
        {
            return $"size {job.Width}x{job.Height} is not offered (16:9 or 9:16 at 720p or 1080p)";
        }

        if (job.DurationSeconds is not (4 or 6 or 8))
        {
            return $"duration {job.DurationSeconds} s is not offered (4, 6 or 8)";
        }

        if (shape.Resolution == "1080p" && job.DurationSeconds != 8)
        {
            return $"duration {job.DurationSeconds} s is not offered at 1080p (8 only)";
        }

        if ((job.ReferenceImageKeys.Count > 0 || job.Characters.Count > 0) && job.DurationSeconds != 8)
        {
            return $"duration {job.DurationSeconds} s is not offered with reference images (8 only)";
        }

        return InputsNotOffered("veo", job, upstreamModel) ?? OptionNotOffered(job, (key, _) => key == "negative_prompt", $" by {upstreamModel}");
    }

    // An extension continues the source's own Veo output by 8 s at 720p, only on the models that extend.
    private string? CheckExtension(Job job, string upstreamModel)
    {
        if (!ExtendingModels.Contains(upstreamModel))
        {
            return $"{upstreamModel} does not extend videos (Veo 3.1 preview models only: {string.Join(", ", ExtendingModels.Order(StringComparer.Ordinal))})";
        }

        if (job.ExtensionSeconds != ExtensionSeconds)
        {
            return $"an extension of {job.ExtensionSeconds} s is not offered (Veo continues a video by {ExtensionSeconds} s only)";
        }

        if (Shape(job) is not { Resolution: "720p" })
        {
            return $"an extension of a {job.Width}x{job.Height} video is not offered (720p only: 1280x720 or 720x1280)";
        }

        if (string.IsNullOrEmpty(job.SourceUpstreamResult))
        {
            return "the source video's Veo file is not known to Reelay (it finished before Reelay kept Veo's file uri), so Veo cannot be asked to continue it";
        }

        return OptionNotOffered(job, (key, _) => key == "negative_prompt", $" by {upstreamModel}");
    }

    /// <summary>The extension body: the source's file uri, the prompt, 720p and 8 s in the source's orientation.</summary>
    private static VeoPredict ExtensionBody(Job job) => new()
    {
        Instances = [new VeoInstance { Video = new VeoVideo { Uri = job.SourceUpstreamResult! }, Prompt = job.Prompt }],
        Parameters = new VeoParameters
        {
            AspectRatio = Shape(job)?.Aspect ?? "16:9",
            Resolution = "720p",
            DurationSeconds = ExtensionSeconds,
            NegativePrompt = job.Options.GetValueOrDefault("negative_prompt") is { Length: > 0 } negative ? negative : null,
        },
    };

    /// <inheritdoc />
    public override async Task<SubmitOutcome> SubmitAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var j = job.Job;
        if (j.Operation == JobOperation.Extend)
        {
            return await PredictAsync(job, ExtensionBody(j), cancellationToken).ConfigureAwait(false);
        }

        // provider-apis-live.md 2.4: instance.lastFrame takes the last frame in the image's form; referenceImages are
        // {image, referenceType: "asset"} items (the catalog keeps them apart from a first frame, and at 8 s).
        var images = await ReadImagesAsync(job, cancellationToken).ConfigureAwait(false);
        // Characters (Veo has no character API) are reference images too, after the client's own.
        var characters = await CharacterReferences.TryReadAsync(job, cancellationToken).ConfigureAwait(false);
        if (characters.Refused is { } refused)
        {
            return refused;
        }

        List<VeoReferenceImage>? references = null;
        if (images.References.Count > 0 || characters.Stills.Count > 0)
        {
            references = images.References.Concat(characters.Stills).Select(r => new VeoReferenceImage { Image = Inline(r) }).ToList();
        }

        var shape = Shape(j) ?? ("16:9", "720p");
        var body = new VeoPredict
        {
            Instances = [new VeoInstance { Prompt = j.Prompt, Image = Inline(images.First), LastFrame = Inline(images.Last), ReferenceImages = references }],
            Parameters = new VeoParameters
            {
                AspectRatio = shape.Aspect,
                Resolution = shape.Resolution,
                DurationSeconds = j.DurationSeconds,
                NegativePrompt = j.Options.GetValueOrDefault("negative_prompt") is { Length: > 0 } negative ? negative : null,
            },
        };
        return await PredictAsync(job, body, cancellationToken).ConfigureAwait(false);
    }

    // An image in Veo's inline form (its media type and raw Base64); null for no image.
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(frame))]
    private static VeoImage? Inline(FirstFrame? frame) => frame is null ? null : new VeoImage { InlineData = new VeoInlineData { MimeType = frame.MediaType, Data = frame.Base64 } };

    /// <summary>POST models/{model}:predictLongRunning with <paramref name="body"/>; the operation name, or why not.</summary>
    private async Task<SubmitOutcome> PredictAsync(ProviderJob job, VeoPredict body, CancellationToken cancellationToken)
    {
        var j = job.Job;
        // A per-request webhook when callbacks are on: Google calls it when the operation is done, signed (RS256 JWT,
        // aud = this URL); the gateway verifies it and takes it only as a hint to poll now.
        if (CallbackUrl(job) is { } webhook)
        {
            body.WebhookConfig = new VeoWebhookConfig { Uris = [webhook] };
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, Http.Url("models/" + Uri.EscapeDataString(job.UpstreamModel) + ":predictLongRunning"))
        {
            Content = JsonContent.Create(body, VeoJsonContext.Default.VeoPredict),
        };
        return await SubmitJsonAsync(
            request,
            SubmitError,
            (_, root) => UpstreamJson.Str(root, "name") is { } operation && operation.Contains("/operations/", StringComparison.Ordinal) ? AcceptedIf(operation) : null,
            () => Log.UnreadableSubmit(Logger, Name, j.Id), "operation name", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What a non-2xx submit answer means, from Google's error body.</summary>
    private SubmitOutcome SubmitError(UpstreamReply reply, JsonElement? root)
    {
        var error = GoogleError.Read(root);
        if (error.KeyInvalid)
        {
            return new SubmitOutcome.Rejected(new JobError(ErrorCodes.UpstreamAuth, $"Provider '{Name}' refused the gateway's credential (API_KEY_INVALID). The operator must check its API key."));
        }

        return (int)reply.Status == 429
            ? new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamRateLimited, $"Provider '{Name}' is rate limiting requests ({error.Status}: {UpstreamErrors.Clean(error.Message)})."), reply.RetryAfter ?? error.RetryDelay)
            : UpstreamErrors.Submit(Name, reply, error.Message, error.Status);
    }

    /// <inheritdoc />
    public override Task<PollOutcome> PollAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        // The operation name already is "models/{model}/operations/{id}": GET it verbatim under the base URL.
        return PollJsonAsync(
            job.Job.UpstreamId!, (failed, root) =>
        {
            var error = GoogleError.Read(root);
            if (error.KeyInvalid)
            {
                return new PollOutcome.RetryLater("the provider refused the credential (API_KEY_INVALID)");
            }

            var outcome = UpstreamErrors.Poll(Name, failed, error.Message, error.Status);
            return outcome is PollOutcome.RetryLater { After: null } later && error.RetryDelay is { } delay ? later with { After = delay } : outcome;
        }, r => r.ValueKind == JsonValueKind.Object ? UpstreamJson.Str(r, "name") : null, "the operation reply was not readable JSON with a name",
            (json, status) => ReadStatus(job, json, status),
            cancellationToken);
    }

    /// <summary>What a readable status reply says about the job.</summary>
    private PollOutcome ReadStatus(ProviderJob job, JsonDocument json, string status)
    {
        var root = json.RootElement;
        if (!(UpstreamJson.At(root, "done") is { ValueKind: JsonValueKind.True }))
        {
            return new PollOutcome.Running(null); // Veo reports no queue position and no progress
        }

        if (UpstreamJson.At(root, "error") is { ValueKind: JsonValueKind.Object } failure)
        {
            var code = UpstreamJson.Int(failure, "code");
            var message = UpstreamJson.Str(failure, "message");
            return new PollOutcome.Failed(UpstreamErrors.TaskFailed(Name, $"{message} (code {code?.ToString(CultureInfo.InvariantCulture) ?? "?"})"));
        }

        var response = UpstreamJson.At(root, "response", "generateVideoResponse") ?? UpstreamJson.At(root, "response");
        if (response is { } r)
        {
            var samples = UpstreamJson.At(r, "generatedSamples") ?? UpstreamJson.At(r, "generatedVideos");
            if (samples is { ValueKind: JsonValueKind.Array } list && list.GetArrayLength() > 0 && UpstreamJson.Str(list[0], "video", "uri") is { Length: > 0 } uri)
            {
                // The uri is also what a later extension sends back: kept on the job, never shown to a client.
                return new PollOutcome.Succeeded(new ResultLocation(uri, IsLocalFile: false) { UpstreamReference = uri });
            }

            var reasons = UpstreamJson.At(r, "raiMediaFilteredReasons") is { ValueKind: JsonValueKind.Array } why && why.GetArrayLength() > 0
                ? string.Join(" ", why.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()))
                : null;
            if (reasons is not null || UpstreamJson.Int(r, "raiMediaFilteredCount") is > 0)
            {
                var text = UpstreamErrors.Clean(reasons);
                return new PollOutcome.Failed(new JobError(ErrorCodes.ModerationBlocked, $"Blocked by the provider's content filter (output){(text.Length > 0 ? ": " + text : "")}.", Stage: "output"));
            }
        }

        // done without an error, samples or a filter reason: nothing was made. Never a success.
        return new PollOutcome.Failed(new JobError(ErrorCodes.ModerationBlocked, $"Provider '{Name}' finished the operation without a video and without a reason; Veo does this when its content filter blocks the output.", Stage: "output"));
    }

    /// <summary>A 400 API_KEY_INVALID is how Google refuses a key; anything else as for every provider.</summary>
    public override async Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Http.Url(ProbePath));
        try
        {
            var reply = await SendAsync(request, cancellationToken).ConfigureAwait(false);
            using var json = reply.TryJson();
            return !reply.IsSuccess && GoogleError.Read(json?.RootElement).KeyInvalid
                ? new ProbeResult(false, $"reachable, but the API key was refused (HTTP {(int)reply.Status} API_KEY_INVALID)")
                : DescribeProbe((int)reply.Status);
        }
        catch (UpstreamTransportException ex)
        {
            return new ProbeResult(false, $"{(ex.Kind == UpstreamFailureKind.Unreachable ? "unreachable" : "no usable answer")}: {ex.Message}; the API key was not verified");
        }
    }

    /// <inheritdoc />
    protected override void Authorize(HttpRequestHeaders headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        headers.TryAddWithoutValidation("x-goog-api-key", Options.ApiKey);
    }

    /// <summary>Veo's aspect ratio and resolution for the job's exact size, or null.</summary>
    private static (string Aspect, string Resolution)? Shape(Job job) => (job.Width, job.Height) switch
    {
        (1280, 720) => ("16:9", "720p"),
        (720, 1280) => ("9:16", "720p"),
        (1920, 1080) => ("16:9", "1080p"),
        (1080, 1920) => ("9:16", "1080p"),
        _ => null,
    };

    private static partial class Log
    {
        [LoggerMessage(LogEventIds.Veo + 0, LogLevel.Error, "Provider {Provider} accepted the submit of job {JobId} without a readable operation name")]
        public static partial void UnreadableSubmit(ILogger logger, string provider, string jobId);
    }
}

/// <summary>Google's error envelope {"error":{code,message,status,details[]}}: the reason API_KEY_INVALID and RetryInfo.retryDelay.</summary>
internal readonly record struct GoogleError(string? Message, string? Status, bool KeyInvalid, TimeSpan? RetryDelay)
{
    public static GoogleError Read(JsonElement? root)
    {
        if (root is not { ValueKind: JsonValueKind.Object } r || UpstreamJson.At(r, "error") is not { ValueKind: JsonValueKind.Object } error)
        {
            return default;
        }

        var keyInvalid = false;
        TimeSpan? delay = null;
        if (UpstreamJson.At(error, "details") is { ValueKind: JsonValueKind.Array } details)
        {
            foreach (var detail in details.EnumerateArray())
            {
                keyInvalid |= UpstreamJson.Str(detail, "reason") == "API_KEY_INVALID";
                if (UpstreamJson.Str(detail, "retryDelay") is { } text && text.EndsWith('s')
                    && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 0 and < 86_400)
                {
                    delay = TimeSpan.FromSeconds(seconds);
                }
            }
        }

        var message = UpstreamJson.Str(error, "message");
        keyInvalid |= message?.Contains("API key not valid", StringComparison.OrdinalIgnoreCase) ?? false;
        return new GoogleError(message, UpstreamJson.Str(error, "status"), keyInvalid, delay);
    }
}
