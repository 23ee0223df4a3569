using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Reelay.Diagnostics;
using Reelay.Jobs;
using Reelay.Providers.Http;

namespace Reelay.Providers.Kling;

/// <summary>
/// Kling's official API (provider-apis-live.md §4): POST {base}/v1/videos/text2video or /v1/videos/image2video (JSON),
/// GET {base}/v1/videos/{text2video|image2video}/{task_id}, with "Authorization: Bearer &lt;JWT&gt;": an HS256 token whose
/// iss is the access key, signed with the secret key, minted per request (exp now+30 min, nbf now-5 s). Every reply
/// carries {"code","message","request_id","data"}; code 0 is success, and the code decides the class even on a 2xx.
/// Statuses submitted, processing, succeed and failed. Each submit carries the attempt's client reference as
/// external_task_id, and after a crash mid-submit <see cref="RecoverSubmitAsync"/> reads the task by it. No cancel.
/// </summary>
public sealed partial class KlingProvider : HttpVideoProvider
{
    private static readonly string[] Aspects = ["16:9", "9:16", "1:1"];
    private static readonly JsonWebTokenHandler Tokens = new() { SetDefaultTimesOnTokenCreation = false };

    private readonly TimeProvider _time;
    private readonly string? _accessKey;
    private readonly SigningCredentials? _signing;

    /// <summary>Creates the adapter. The instance's ApiKey is "&lt;access key&gt;:&lt;secret key&gt;".</summary>
    public KlingProvider(string name, ProviderInstanceOptions options, ProviderServices services)
        : base(name, options, services)
    {
        _time = services.Time;
        var key = options.ApiKey ?? "";
        var colon = key.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && colon < key.Length - 1)
        {
            _accessKey = key[..colon];
            var secret = Encoding.UTF8.GetBytes(key[(colon + 1)..]);
            // HS256 needs a key of at least 256 bits in Microsoft.IdentityModel; Kling's secret keys are 32 characters.
            if (secret.Length >= 32)
            {
                _signing = new SigningCredentials(new SymmetricSecurityKey(secret), SecurityAlgorithms.HmacSha256);
            }
        }

        if (_signing is null)
        {
            Log.BadCredential(Logger, name);
        }
    }

    /// <summary>An authenticated list of one image2video task: starts nothing.</summary>
    protected override string ProbePath => "v1/videos/image2video?pageNum=1&pageSize=1";

    /// <inheritdoc />
    public override string? CheckSupport(Job job, string upstreamModel)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(upstreamModel);
        if (job.DurationSeconds is not (5 or 10))
        {
            return $"duration {job.DurationSeconds} s is not offered (5 or 10)";
        }

        if (KlingMode(job) is null)
        {
            return $"resolution {Tier(job)} is not offered (720p as std, 1080p as pro)";
        }

        if (InputsNotOffered("kling", job, upstreamModel) is { } inputs)
        {
            return inputs;
        }

        if (job.Mode == VideoMode.TextToVideo)
        {
            if (upstreamModel is "kling-v1-5" or "kling-v2-1")
            {
                return $"{upstreamModel} is image-to-video only";
            }

            if (Aspect(job) is not { } aspect || !Aspects.Contains(aspect))
            {
                return $"size {job.Width}x{job.Height} is not one of Kling's text-to-video shapes ({string.Join(", ", Aspects)} at 720p or 1080p)";
            }
        }

        return OptionNotOffered(job, (key, _) => key switch
        {
            "negative_prompt" => true,
            "audio" => upstreamModel.StartsWith("kling-v2-6", StringComparison.Ordinal) || upstreamModel.StartsWith("kling-v3", StringComparison.Ordinal),
            _ => false,
        }, $" by {upstreamModel}");
    }

    /// <inheritdoc />
    public override async Task<SubmitOutcome> SubmitAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var j = job.Job;
        // Kling takes raw Base64 without the data: prefix, and shapes the video like the image: no fitting.
        // provider-apis-live.md 4.3: the end frame is image_tail, raw Base64 like image.
        var images = await ReadImagesAsync(job, cancellationToken).ConfigureAwait(false);
        var body = new KlingCreate
        {
            ModelName = job.UpstreamModel,
            Prompt = j.Prompt,
            NegativePrompt = j.Options.GetValueOrDefault("negative_prompt") is { Length: > 0 } negative ? negative : null,
            Image = images.First?.Base64,
            ImageTail = images.Last?.Base64,
            Mode = KlingMode(j) ?? "std",
            AspectRatio = j.Mode == VideoMode.TextToVideo ? Aspect(j) : null,
            Duration = j.DurationSeconds.ToString(CultureInfo.InvariantCulture),
            Sound = j.Options.TryGetValue("audio", out var audio) && bool.TryParse(audio, out var on) ? (on ? "on" : "off") : null,
            ExternalTaskId = job.ClientReference,
            CallbackUrl = CallbackUrl(job),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, Http.Url(TaskPath(j.Mode)))
        {
            Content = JsonContent.Create(body, KlingJsonContext.Default.KlingCreate),
        };
        // Kling refuses inside a 2xx too: a non-zero code is an error whatever the HTTP status.
        return await SubmitJsonAsync(
            request,
            (failed, root) => SubmitError(failed, Code(root), root is { } m ? UpstreamJson.Str(m, "message") : null, j.Mode),
            (ok, root) => Code(root) is { } code && code != 0
                ? SubmitError(ok, code, UpstreamJson.Str(root, "message"), j.Mode)
                : AcceptedIf(UpstreamJson.Str(root, "data", "task_id")),
            () => Log.UnreadableSubmit(Logger, Name, j.Id), "task id", cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override Task<PollOutcome> PollAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        return PollJsonAsync(
            TaskPath(job.Job.Mode) + "/" + Uri.EscapeDataString(job.Job.UpstreamId!),
            (failed, root) => Code(root) is 1302 or 1303
                ? new PollOutcome.RetryLater("the provider is rate limiting", failed.RetryAfter)
                : UpstreamErrors.Poll(Name, failed, root is { } m ? UpstreamJson.Str(m, "message") : null, Code(root)?.ToString(CultureInfo.InvariantCulture)),
            r => Code(r) is 0 ? UpstreamJson.Str(r, "data", "task_status") : null,
            "the task reply was not readable JSON with code 0 and data.task_status",
            (json, status) => ReadStatus(job, json.RootElement, status),
            cancellationToken);
    }

    /// <summary>What a readable task reply (code 0) says about the job.</summary>
    private PollOutcome ReadStatus(ProviderJob job, JsonElement body, string status)
    {
        switch (status.Trim().ToLowerInvariant())
        {
            case "submitted":
                return new PollOutcome.Running(0);
            case "processing":
                return new PollOutcome.Running(null); // Kling reports no percentage
            case "succeed" or "succeeded":
                var videos = UpstreamJson.At(body, "data", "task_result", "videos");
                var url = videos is { ValueKind: JsonValueKind.Array } list && list.GetArrayLength() > 0 ? UpstreamJson.Str(list[0], "url") : null;
                return url is { Length: > 0 }
                    ? new PollOutcome.Succeeded(new ResultLocation(url, IsLocalFile: false))
                    : new PollOutcome.Failed(new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{Name}' reported success without a video URL."));
            case "failed":
                return new PollOutcome.Failed(TaskFailure(UpstreamJson.Str(body, "data", "task_status_msg")));
            default:
                Log.UnknownStatus(Logger, Name, job.Job.Id, status);
                return new PollOutcome.Running(null);
        }
    }

    /// <summary>
    /// GET {base}/v1/videos/{type}/{external_task_id}: Kling serves a task by the client's own id. Found when it answers
    /// with the task; anything else is Unknown (the reference does not say which answer means "no such task").
    /// </summary>
    public override async Task<RecoveryOutcome> RecoverSubmitAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.ClientReference is not { Length: > 0 } reference)
        {
            return new RecoveryOutcome.Unknown();
        }

        using var json = await TryGetJsonAsync(TaskPath(job.Job.Mode) + "/" + Uri.EscapeDataString(reference), cancellationToken).ConfigureAwait(false);
        if (json is not null && UpstreamJson.At(json.RootElement, "code") is { ValueKind: JsonValueKind.Number } code && code.TryGetInt32(out var n) && n == 0
            && UpstreamJson.Str(json.RootElement, "data", "task_id") is { Length: > 0 } id
            && UpstreamJson.Str(json.RootElement, "data", "task_info", "external_task_id") == reference
            && !job.ClaimedUpstreamIds.Contains(id))
        {
            return new RecoveryOutcome.Found(id);
        }

        return new RecoveryOutcome.Unknown();
    }

    /// <summary>A key that cannot sign a token is reported without calling Kling; otherwise one signed authenticated read.</summary>
    public override Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken) => _signing is null
        ? Task.FromResult(new ProbeResult(false, "ApiKey is not '<access key>:<secret key>' with a secret key of at least 32 bytes; Kling was not called"))
        : base.ProbeAsync(cancellationToken);

    /// <summary>A fresh HS256 token per request (iss = access key, nbf now-5 s, exp now+30 min), as Bearer.</summary>
    protected override void Authorize(HttpRequestHeaders headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        if (_signing is null || _accessKey is null)
        {
            return; // Kling answers 401 (code 1001): reported as upstream_auth, and the probe says why
        }

        var now = _time.GetUtcNow().UtcDateTime;
        var token = Tokens.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = _accessKey,
            NotBefore = now.AddSeconds(-5),
            Expires = now.AddMinutes(30),
            SigningCredentials = _signing,
        });
        headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    private SubmitOutcome SubmitError(UpstreamReply reply, int? code, string? message, VideoMode mode)
    {
        var text = UpstreamErrors.Clean(message);
        var said = text.Length > 0 ? $" ({code}: {text})" : $" ({code})";
        return code switch
        {
            >= 1000 and <= 1004 => new SubmitOutcome.Rejected(new JobError(ErrorCodes.UpstreamAuth, $"Provider '{Name}' refused the gateway's credential (code {code}). The operator must check its access key and secret key.")),
            1100 or 1101 or 1102 => new SubmitOutcome.Rejected(new JobError(ErrorCodes.UpstreamQuota, $"Provider '{Name}' refused: the account's balance or resource pack is exhausted{said}.")),
            1103 or 1304 => new SubmitOutcome.Rejected(new JobError(ErrorCodes.UpstreamAuth, $"Provider '{Name}' refused access to the model or from this address{said}.")),
            1300 or 1301 => new SubmitOutcome.Rejected(new JobError(ErrorCodes.ModerationBlocked, $"Blocked by the provider's moderation ({(mode == VideoMode.ImageToVideo ? "input_image" : "prompt")}){said}.", Stage: mode == VideoMode.ImageToVideo ? "input_image" : "prompt")),
            1302 or 1303 => new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamRateLimited, $"Provider '{Name}' is rate limiting requests{said}."), reply.RetryAfter),
            >= 5000 and <= 5002 => new SubmitOutcome.RetryLater(new JobError(code == 5002 ? ErrorCodes.UpstreamTimeout : ErrorCodes.UpstreamUnavailable, $"Provider '{Name}' is unavailable{said}."), reply.RetryAfter),
            _ when reply.IsSuccess => new SubmitOutcome.Rejected(UpstreamErrors.Refusal(Name, message, code?.ToString(CultureInfo.InvariantCulture))),
            _ => UpstreamErrors.Submit(Name, reply, message, code?.ToString(CultureInfo.InvariantCulture)),
        };
    }

    /// <summary>A failed task: Kling says why only in free text (task_status_msg); risk-control wording is moderation of the output.</summary>
    private JobError TaskFailure(string? message)
    {
        if (message is not null && message.Contains("risk control", StringComparison.OrdinalIgnoreCase))
        {
            return new JobError(ErrorCodes.ModerationBlocked, $"Blocked by the provider's moderation (output): {UpstreamErrors.Clean(message)}.", Stage: "output");
        }

        return UpstreamErrors.TaskFailed(Name, message);
    }

    private static string TaskPath(VideoMode mode) => mode == VideoMode.ImageToVideo ? "v1/videos/image2video" : "v1/videos/text2video";

    private static string Tier(Job job) => job.Resolution ?? Math.Min(job.Width, job.Height).ToString(CultureInfo.InvariantCulture) + "p";

    private static string? KlingMode(Job job) => Tier(job) switch { "720p" => "std", "1080p" => "pro", _ => null };

    private static string? Aspect(Job job) => job.AspectRatio ?? ((job.Width, job.Height) switch
    {
        (1280, 720) or (1920, 1080) => "16:9",
        (720, 1280) or (1080, 1920) => "9:16",
        (720, 720) or (1080, 1080) => "1:1",
        _ => null,
    });

    /// <summary>Kling's numeric business code (0 is success; 1302/1303 are its rate limits), or null.</summary>
    private static int? Code(JsonElement? root) => root is { } r && UpstreamJson.At(r, "code") is { ValueKind: JsonValueKind.Number } c && c.TryGetInt32(out var n) ? n : null;

    private static partial class Log
    {
        [LoggerMessage(LogEventIds.Kling + 0, LogLevel.Warning, "Provider {Provider}: unknown task status '{Status}' for job {JobId}; treated as still running")]
        public static partial void UnknownStatus(ILogger logger, string provider, string jobId, string status);

        [LoggerMessage(LogEventIds.Kling + 1, LogLevel.Error, "Provider {Provider} accepted the submit of job {JobId} without a readable task id")]
        public static partial void UnreadableSubmit(ILogger logger, string provider, string jobId);

        [LoggerMessage(LogEventIds.Kling + 2, LogLevel.Error, "Provider {Provider}: ApiKey must be '<access key>:<secret key>' with a secret key of at least 32 bytes; requests go out unsigned and Kling will refuse them")]
        public static partial void BadCredential(ILogger logger, string provider);
    }
}
