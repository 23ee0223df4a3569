using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Reelay.Diagnostics;
using Reelay.Jobs;
using Reelay.Providers.Http;

namespace Reelay.Providers.OpenAICompatible;

/// <summary>
/// Any server of OpenAI's Videos API shape (provider-apis.md §4): OpenAI itself, ModelVerse's OpenAI-compatible route,
/// or another Reelay. The base URL is the API root including its version (https://api.openai.com/v1); the adapter
/// calls POST {base}/videos (multipart, the first frame as the file part input_reference, fitted to the exact video
/// size; JSON with a <c>characters</c> array when the job shows characters, each created first with POST
/// {base}/videos/characters and its upstream id kept with the character), GET {base}/videos/{id} and GET {base}/videos/{id}/content with "Authorization: Bearer &lt;key&gt;".
/// The API has no cancel and no lookup by a client reference; after a crash mid-submit, <see cref="RecoverSubmitAsync"/>
/// matches the interrupted call against GET {base}/videos (a heuristic, see there).
/// </summary>
public sealed partial class OpenAICompatibleProvider : HttpVideoProvider
{
    private static readonly int[] SoraExtensionSeconds = [4, 8, 12, 16, 20];

    private readonly TimeProvider _time;
    private readonly ILogger _log;

    /// <summary>Creates the adapter.</summary>
    public OpenAICompatibleProvider(string name, ProviderInstanceOptions options, ProviderServices services)
        : base(name, options, services)
    {
        _time = services.Time;
        _log = services.LoggerFactory.CreateLogger<OpenAICompatibleProvider>();
    }

    /// <inheritdoc />
    protected override string ProbePath => "videos?limit=1";

    /// <inheritdoc />
    /// <remarks>Remix, edit and extend go to the upstream's own endpoints with the upstream id of the source video.
    /// Characters are created upstream (POST {base}/videos/characters with the stored media) once per instance and
    /// character, and a create request names the upstream's ids in <c>characters</c>.</remarks>
    public override IReadOnlyList<string> Operations => DerivedOperations;

    private static readonly string[] DerivedOperations = [JobOperations.Generate, JobOperations.Remix, JobOperations.Edit, JobOperations.Extend, JobOperations.Characters];

    /// <inheritdoc />
    public override string? CheckSupport(Job job, string upstreamModel)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(upstreamModel);
        if (job.Operation != JobOperation.Generate && job.SourceUpstreamId is null)
        {
            return "the source video has no upstream id";
        }

        if (job.Operation != JobOperation.Generate && job.Characters.Count > 0)
        {
            return $"characters are sent with a create request only, not with a {job.Operation.ToWire()}";
        }

        // An extension's length is the stitched total: only the added seconds are the upstream's to allow.
        if (job.Operation == JobOperation.Extend && upstreamModel.StartsWith("sora-2", StringComparison.Ordinal))
        {
            return job.ExtensionSeconds is { } extension && SoraExtensionSeconds.Contains(extension)
                ? null
                : $"an extension of {job.ExtensionSeconds} s is not offered (4, 8, 12, 16 or 20)";
        }

        if (Catalog.FindUpstream("openai", upstreamModel) is { } described && described.Check(job, Catalog.TierOf(job), Catalog.AspectOf(job)) is { } reason)
        {
            // The catalog's facts (sora-2's durations and sizes): a seed, for one, has no field in the Videos API.
            return reason;
        }

        // Model ids the catalog does not describe (a compatible server's own models) have limits this adapter cannot know:
        // the size and length go through as asked, and a refusal comes back as invalid_request. Options never do: the
        // Videos API has no field for them, so only an option left off (false, empty, auto) can be served exactly.
        return OptionNotOffered(job, (_, _) => false, " by the OpenAI Videos API");
    }

    /// <inheritdoc />
    public override async Task<SubmitOutcome> SubmitAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var j = job.Job;
        FirstFrame? frame = null;
        if (j.Mode == VideoMode.ImageToVideo)
        {
            // Sora refuses an input_reference that differs from the video size; fitting it to the job's exact size is
            // also what any other server of this shape expects of a reference frame.
            frame = await Frames.ReadAsync(job, j.Width, j.Height, Options.FirstFrameFit, cancellationToken).ConfigureAwait(false);
            if (frame.Fitted)
            {
                Log.FirstFrameFitted(_log, Name, j.Id, j.Size);
            }
        }

        // Characters first: each one's id at this upstream (created there on first use), named in the create request.
        List<string>? characterIds = null;
        if (j.Operation == JobOperation.Generate && job.Characters.Count > 0)
        {
            characterIds = new List<string>(job.Characters.Count);
            foreach (var character in job.Characters)
            {
                var (failed, upstreamId) = await UpstreamCharacterAsync(j, character, cancellationToken).ConfigureAwait(false);
                if (failed is not null)
                {
                    return failed;
                }

                characterIds.Add(upstreamId!);
            }
        }

        var seed = Catalog.FindUpstream("openai", job.UpstreamModel) is { Seed: false } ? null : j.Seed;
        using var request = j.Operation != JobOperation.Generate
            ? DerivedRequest(j)
            : new HttpRequestMessage(HttpMethod.Post, Http.Url("videos"))
            {
                // The SDKs' multipart body, or, with characters, the document's JSON body (an array has no multipart form there).
                Content = characterIds is null
                    ? OpenAICompatibleWire.CreateBody(job.UpstreamModel, j.Prompt, j.DurationSeconds, j.Size, frame, seed)
                    : OpenAICompatibleWire.CreateJsonBody(job.UpstreamModel, j.Prompt, j.DurationSeconds, j.Size, frame, seed, characterIds),
            };
        return await SubmitJsonAsync(
            request,
            Refused,
            (_, root) => AcceptedIf(UpstreamJson.Str(root, "id")),
            () => Log.UnreadableSubmit(_log, Name, j.Id),
            "video id",
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>How a non-2xx answer to a submit (or a character upload) classifies.</summary>
    private SubmitOutcome Refused(UpstreamReply reply, JsonElement? root)
    {
        if ((int)reply.Status == 429 && OpenAICompatibleWire.IsInsufficientQuota(root))
        {
            // OpenAI answers an exhausted account with 429 insufficient_quota: waiting will not help.
            var text = UpstreamErrors.Clean(OpenAICompatibleWire.ErrorMessage(root));
            return new SubmitOutcome.Rejected(new JobError(ErrorCodes.UpstreamQuota, $"Provider '{Name}' refused: quota or credit exhausted{(text.Length > 0 ? ": " + text : ".")}"));
        }

        return UpstreamErrors.Submit(Name, reply, OpenAICompatibleWire.ErrorMessage(root), OpenAICompatibleWire.ErrorCode(root));
    }

    /// <summary>The upstream account a character id belongs to: this instance at its base URL (another key of the same account keeps it).</summary>
    private string CharacterAccount => Name + " " + Http.BaseUrl.AbsoluteUri;

    /// <summary>
    /// The upstream's id of <paramref name="character"/>: the remembered one while the upstream still knows it (GET
    /// {base}/videos/characters/{id}), else a new upload (POST {base}/videos/characters, multipart name and video, as
    /// OpenAI's document shapes it), which is then remembered. A failure classifies like a submit's: a refusal of the
    /// character fails the job with its code (param characters), a 429 or 5xx waits or fails over.
    /// </summary>
    private async Task<(SubmitOutcome? Failed, string? Id)> UpstreamCharacterAsync(Job job, ProviderCharacter character, CancellationToken cancellationToken)
    {
        UpstreamReply reply;
        if (await character.FindUpstreamId(CharacterAccount, cancellationToken).ConfigureAwait(false) is { } known)
        {
            using var check = new HttpRequestMessage(HttpMethod.Get, Http.Url("videos/characters/" + Uri.EscapeDataString(known)));
            try
            {
                reply = await SendAsync(check, cancellationToken).ConfigureAwait(false);
            }
            catch (UpstreamTransportException ex)
            {
                return (UpstreamErrors.SubmitTransport(Name, ex), null);
            }

            if (reply.IsSuccess)
            {
                return (null, known);
            }

            if ((int)reply.Status is not (404 or 410))
            {
                using var error = reply.TryJson();
                return (CharacterRefused(character, Refused(reply, error?.RootElement)), null);
            }

            Log.CharacterForgotten(_log, Name, character.Id, job.Id);
        }

        var (media, mediaType) = await character.OpenMedia(cancellationToken).ConfigureAwait(false);
        byte[] bytes;
        await using (media.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            await media.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            bytes = buffer.ToArray();
        }

        using var upload = new HttpRequestMessage(HttpMethod.Post, Http.Url("videos/characters")) { Content = OpenAICompatibleWire.CharacterBody(character.Name, bytes, mediaType) };
        try
        {
            reply = await SendAsync(upload, cancellationToken).ConfigureAwait(false);
        }
        catch (UpstreamTransportException ex)
        {
            return (UpstreamErrors.SubmitTransport(Name, ex), null);
        }

        using var json = reply.TryJson();
        if (!reply.IsSuccess)
        {
            return (CharacterRefused(character, Refused(reply, json?.RootElement)), null);
        }

        if (json is null || UpstreamJson.Str(json.RootElement, "id") is not { Length: > 0 } id)
        {
            // Nothing was generated or billed for a video yet: a later attempt (or another deployment) may do better.
            return (new SubmitOutcome.RetryLater(new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{Name}' answered the upload of character '{character.Name}' without a readable character id.")), null);
        }

        await character.RememberUpstreamId(CharacterAccount, id, cancellationToken).ConfigureAwait(false);
        Log.CharacterUploaded(_log, Name, character.Id, job.Id);
        return (null, id);
    }

    // A definite refusal of a character names it (and the request field characters); waits and failovers stay as they are.
    private static SubmitOutcome CharacterRefused(ProviderCharacter character, SubmitOutcome outcome) => outcome is SubmitOutcome.Rejected rejected && !rejected.DeploymentSpecific
        ? rejected with { Error = rejected.Error with { Message = $"Character '{character.Name}' ({character.Id}): {rejected.Error.Message}", Param = rejected.Error.Param ?? "characters" } }
        : outcome;

    private HttpRequestMessage DerivedRequest(Job job)
    {
        var (path, body) = OpenAICompatibleWire.DerivedBody(job.Operation, job.SourceUpstreamId!, job.Prompt, job.ExtensionSeconds);
        return new HttpRequestMessage(HttpMethod.Post, Http.Url(path)) { Content = body };
    }

    /// <inheritdoc />
    public override Task<PollOutcome> PollAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var id = job.Job.UpstreamId!;
        return PollJsonAsync(
            "videos/" + Uri.EscapeDataString(id), (failed, root) =>
            UpstreamErrors.Poll(Name, failed, OpenAICompatibleWire.ErrorMessage(root), OpenAICompatibleWire.ErrorCode(root)),
            r => UpstreamJson.Str(r, "status"),
            "the video reply was not readable JSON with a status",
            (json, status) => ReadStatus(job, json, status),
            cancellationToken);
    }

    /// <summary>What a readable status reply says about the job.</summary>
    private PollOutcome ReadStatus(ProviderJob job, JsonDocument json, string status)
    {
        var id = job.Job.UpstreamId!;
        var video = json.RootElement;
        var progress = UpstreamJson.Int(video, "progress");
        switch (OpenAICompatibleWire.PhaseOf(status))
        {
            case OpenAICompatibleWire.Phase.Waiting:
                return new PollOutcome.Running(progress ?? 0);
            case OpenAICompatibleWire.Phase.Running:
                return new PollOutcome.Running(progress);
            case OpenAICompatibleWire.Phase.Completed:
                if (OpenAICompatibleWire.ExpiresAt(video) is { } expires && expires <= _time.GetUtcNow())
                {
                    // Polling again cannot bring the assets back: fail now instead of re-polling until the deadline.
                    Log.ResultExpired(_log, Name, job.Job.Id);
                    return new PollOutcome.Failed(new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{Name}' finished the video, but its content expired upstream before Reelay could fetch it."));
                }

                // The content endpoint is on the instance's own origin, so the download carries the key (and only there).
                return new PollOutcome.Succeeded(new ResultLocation(ContentUrl(id).AbsoluteUri, IsLocalFile: false));
            case OpenAICompatibleWire.Phase.Failed:
                return new PollOutcome.Failed(Failure(UpstreamJson.Str(video, "error", "message"), UpstreamJson.Str(video, "error", "code"), progress));
            case OpenAICompatibleWire.Phase.Cancelled:
                return new PollOutcome.Failed(new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{Name}' reports the video was cancelled upstream."));
            case OpenAICompatibleWire.Phase.Expired:
                return new PollOutcome.Failed(new JobError(ErrorCodes.UpstreamUnavailable, $"Provider '{Name}' expired the video before it finished."));
            default:
                Log.UnknownStatus(_log, Name, job.Job.Id, status);
                return new PollOutcome.Running(null);
        }
    }

    /// <summary>
    /// A HEURISTIC, because the Videos API takes no client reference: lists the account's videos newest first
    /// (GET {base}/videos?order=desc&amp;limit=100, then after=&lt;last id&gt;) back to the interrupted call's start less
    /// <see cref="ListClockSkew"/>, and looks for videos with the job's model, size, seconds and prompt that no other job
    /// owns (<see cref="ProviderJob.ClaimedUpstreamIds"/>). Exactly one: Found. None, in a listing that covered the whole
    /// window and showed every video's prompt: NotFound. Several, or a matching video without a prompt (a server that does
    /// not return it), or a listing that failed or did not reach back far enough: Unknown. Two jobs with the same model,
    /// size, seconds and prompt in flight at once therefore end as Unknown rather than risk swapping their videos.
    /// </summary>
    public override async Task<RecoveryOutcome> RecoverSubmitAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Job.SubmitCall is not { } call)
        {
            return new RecoveryOutcome.Unknown();
        }

        var j = job.Job;
        var since = (call.StartedAt - ListClockSkew).ToUnixTimeSeconds();
        var seconds = j.DurationSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string? found = null;
        string? after = null;
        for (var page = 0; page < MaxListPages; page++)
        {
            using var json = await TryGetJsonAsync($"videos?order=desc&limit={ListPageSize}" + (after is null ? "" : "&after=" + Uri.EscapeDataString(after)), cancellationToken).ConfigureAwait(false);
            if (json is null || UpstreamJson.At(json.RootElement, "data") is not { ValueKind: System.Text.Json.JsonValueKind.Array } data)
            {
                return new RecoveryOutcome.Unknown();
            }

            var reachedStart = false;
            foreach (var video in data.EnumerateArray())
            {
                var id = video.ValueKind == System.Text.Json.JsonValueKind.Object ? UpstreamJson.Str(video, "id") : null;
                if (id is null || UpstreamJson.At(video, "created_at") is not { ValueKind: System.Text.Json.JsonValueKind.Number } created || !created.TryGetInt64(out var createdAt))
                {
                    return new RecoveryOutcome.Unknown(); // an unreadable entry could be the one
                }

                if (createdAt < since)
                {
                    reachedStart = true; // newest first: everything after this is older than the call
                    break;
                }

                if (job.ClaimedUpstreamIds.Contains(id) || UpstreamJson.Str(video, "model") != job.UpstreamModel
                    || UpstreamJson.Str(video, "size") != j.Size || UpstreamJson.Str(video, "seconds") != seconds)
                {
                    continue;
                }

                var prompt = UpstreamJson.Str(video, "prompt");
                if (prompt is null)
                {
                    return new RecoveryOutcome.Unknown(); // nothing to tell it by: it could be the one
                }

                if (prompt != j.Prompt)
                {
                    continue;
                }

                if (found is not null)
                {
                    return new RecoveryOutcome.Unknown(); // a second candidate: ambiguous
                }

                found = id;
            }

            var hasMore = UpstreamJson.At(json.RootElement, "has_more") is { ValueKind: System.Text.Json.JsonValueKind.True };
            if (reachedStart || !hasMore)
            {
                return found is null ? new RecoveryOutcome.NotFound() : new RecoveryOutcome.Found(found);
            }

            after = UpstreamJson.Str(json.RootElement, "last_id") ?? (data.GetArrayLength() > 0 ? UpstreamJson.Str(data[data.GetArrayLength() - 1], "id") : null);
            if (after is null)
            {
                return new RecoveryOutcome.Unknown();
            }
        }

        return new RecoveryOutcome.Unknown();
    }

    /// <summary>How far before the recorded start of a call its video's created_at may be (clock difference, whole seconds).</summary>
    internal static TimeSpan ListClockSkew { get; } = TimeSpan.FromMinutes(2);

    /// <summary>Videos per page of the list.</summary>
    internal const int ListPageSize = 100;

    /// <summary>Pages read at most before a lookup gives up (Unknown).</summary>
    internal const int MaxListPages = 20;

    /// <inheritdoc />
    protected override ProbeResult DescribeProbe(int status) => status switch
    {
        // Listing one video checks reachability and the key without starting (or paying for) anything.
        >= 200 and < 300 => new ProbeResult(true, $"reachable and the API key was accepted (HTTP {status} listing videos)"),
        404 => new ProbeResult(false, "reachable, but it has no /videos endpoint (HTTP 404); the base URL must include the version, e.g. https://api.openai.com/v1"),
        _ => NotVerified(status),
    };

    private JobError Failure(string? message, string? code, int? progress)
    {
        var error = UpstreamErrors.TaskFailed(Name, message, code);
        if (error.Code == ErrorCodes.ModerationBlocked && error.Stage == "prompt" && progress > 0
            && !(message ?? "").Contains("prompt", StringComparison.OrdinalIgnoreCase))
        {
            // The words name no stage, but the video had made progress: the prompt and image were already accepted, so it
            // was the generated output that was blocked (Sora reviews its output near the end).
            return error with { Stage = "output", Message = error.Message.Replace("moderation (prompt)", "moderation (output)", StringComparison.Ordinal) };
        }

        return error;
    }

    private Uri ContentUrl(string id) => Http.Url("videos/" + Uri.EscapeDataString(id) + "/content");

    /// <inheritdoc />
    protected override void Authorize(HttpRequestHeaders headers) => headers.TryAddWithoutValidation("Authorization", "Bearer " + Options.ApiKey);

    /// <inheritdoc />
    protected override void AuthorizeDownload(HttpRequestHeaders headers)
    {
        Authorize(headers);
        headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/binary")); // as the OpenAI SDKs send it
    }

    private static partial class Log
    {
        [LoggerMessage(LogEventIds.OpenAICompatible + 0, LogLevel.Warning, "Provider {Provider}: unknown video status '{Status}' for job {JobId}; treated as still running")]
        public static partial void UnknownStatus(ILogger logger, string provider, string jobId, string status);

        [LoggerMessage(LogEventIds.OpenAICompatible + 1, LogLevel.Error, "Provider {Provider} accepted the submit of job {JobId} without a readable video id")]
        public static partial void UnreadableSubmit(ILogger logger, string provider, string jobId);

        [LoggerMessage(LogEventIds.OpenAICompatible + 2, LogLevel.Debug, "Provider {Provider}: the first frame of job {JobId} was fitted to {Size} for input_reference")]
        public static partial void FirstFrameFitted(ILogger logger, string provider, string jobId, string size);

        [LoggerMessage(LogEventIds.OpenAICompatible + 3, LogLevel.Warning, "Provider {Provider}: the video of job {JobId} completed, but its content had already expired upstream")]
        public static partial void ResultExpired(ILogger logger, string provider, string jobId);

        [LoggerMessage(LogEventIds.OpenAICompatible + 4, LogLevel.Information, "Provider {Provider}: character {CharacterId} was created upstream for job {JobId}; its upstream id is kept for later jobs")]
        public static partial void CharacterUploaded(ILogger logger, string provider, string characterId, string jobId);

        [LoggerMessage(LogEventIds.OpenAICompatible + 5, LogLevel.Warning, "Provider {Provider} no longer knows character {CharacterId} (job {JobId}); it is uploaded again")]
        public static partial void CharacterForgotten(ILogger logger, string provider, string characterId, string jobId);
    }
}
