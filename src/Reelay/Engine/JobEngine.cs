using Reelay.Catalog;
using Reelay.Diagnostics;
using Reelay.Jobs;
using Reelay.Results;
using Reelay.Routing;
using Reelay.Storage;

namespace Reelay.Engine;

/// <summary>
/// What dialects and the CLI call: submit, read, list, cancel, delete and open content. A submit is validation plus
/// one durable insert; everything upstream happens in the <see cref="JobScheduler"/>, off the request path.
/// </summary>
public sealed class JobEngine
{
    private readonly IJobStore _store;
    private readonly IResultStore _results;
    private readonly IJobRouter _router;
    private readonly InputImageLoader _images;
    private readonly JobScheduler _scheduler;
    private readonly TimeProvider _time;
    private readonly ReelayOptions _options;
    private readonly JobTransitions _transitions;
    private readonly Accounts.Admissions? _admissions;

    /// <summary>Creates the engine.</summary>
    public JobEngine(IJobStore store, IResultStore results, ModelCatalog catalog, IJobRouter router, InputImageLoader images, JobScheduler scheduler, TimeProvider time, ReelayOptions options, Accounts.Admissions? admissions = null)
    {
        _admissions = admissions;
        ArgumentNullException.ThrowIfNull(scheduler);
        _transitions = scheduler.Transitions;
        _store = store;
        _results = results;
        Catalog = catalog;
        _router = router;
        _images = images;
        _scheduler = scheduler;
        _time = time;
        _options = options;
    }

    /// <summary>The model catalog.</summary>
    public ModelCatalog Catalog { get; }

    /// <summary>Validates, stores and queues a job. Throws <see cref="ReelayException"/> naming the field at fault; nothing is stored then.</summary>
    public async Task<Job> SubmitAsync(JobRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var fingerprint = request.IdempotencyKey is null ? null : Accounts.RequestFingerprint.Of(request);
        Job? source = null;
        if (request.Operation != JobOperation.Generate)
        {
            (request, source) = await ResolveSourceAsync(request, cancellationToken).ConfigureAwait(false);
        }

        if (_admissions is not null)
        {
            if (fingerprint is not null && await _admissions.FindReplayAsync(request, fingerprint, cancellationToken).ConfigureAwait(false) is { } original)
            {
                return await ReplayAsync(original, cancellationToken).ConfigureAwait(false);
            }

            await _admissions.CheckSubmitAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var image = request.FirstFrame is { } frame ? await _images.LoadAsync(frame, cancellationToken).ConfigureAwait(false) : null;
        var spec = Catalog.Validate(request, image?.Info);
        var characters = await ResolveCharactersAsync(request, cancellationToken).ConfigureAwait(false);
        // The last frame and reference images go through the same loader as the first frame (guarded fetch, checked by
        // their bytes), after the catalog said the model takes them, so a refused request fetches nothing more.
        var lastFrame = request.LastFrame is { } last ? await _images.LoadAsync(last, cancellationToken).ConfigureAwait(false) : null;
        var references = new List<LoadedImage>();
        foreach (var reference in request.ReferenceImages ?? [])
        {
            references.Add(await _images.LoadAsync(reference, cancellationToken).ConfigureAwait(false));
        }

        var now = _time.GetUtcNow();
        var id = Job.NewId();
        var inputKeys = new List<string>();
        string? imageKey = null;
        string? lastFrameKey = null;
        var referenceKeys = new List<string>();
        try
        {
            if (image is not null)
            {
                imageKey = await PutInputAsync($"inputs/{id}", image, inputKeys, cancellationToken).ConfigureAwait(false);
            }

            if (lastFrame is not null)
            {
                lastFrameKey = await PutInputAsync($"inputs/{id}.last", lastFrame, inputKeys, cancellationToken).ConfigureAwait(false);
            }

            for (var i = 0; i < references.Count; i++)
            {
                referenceKeys.Add(await PutInputAsync($"inputs/{id}.ref{i}", references[i], inputKeys, cancellationToken).ConfigureAwait(false));
            }
        }
        catch
        {
            await DeleteInputsAsync(inputKeys).ConfigureAwait(false);
            throw;
        }

        var job = new Job
        {
            Id = id,
            Owner = request.Owner,
            Model = spec.Model.Name,
            Mode = spec.Mode,
            Prompt = spec.Prompt,
            DurationSeconds = source is not null && request.Operation == JobOperation.Extend ? source.DurationSeconds + spec.DurationSeconds : spec.DurationSeconds,
            Width = spec.Width,
            Height = spec.Height,
            Resolution = spec.Resolution,
            AspectRatio = spec.AspectRatio,
            Seed = spec.Seed,
            Options = WithInputs(WithDerivation(spec.Options, request, source, characters), lastFrameKey, referenceKeys),
            InputImageKey = imageKey,
            Status = JobStatus.Queued,
            CreatedAt = now,
            UpdatedAt = now,
            Deadline = now + _options.JobDeadline,
            WebhookUrl = request.WebhookUrl,
            WebhookEvents = request.WebhookUrl is null ? null : request.WebhookEvents,
            Metadata = request.Metadata ?? new Dictionary<string, string>(),
            IdempotencyKey = request.IdempotencyKey,
            Dialect = request.Dialect,
        };

        // Nothing is stored unless some deployment can serve the job exactly; the plan is recomputed on failover.
        // An instance whose circuit is open on this node is skipped when another deployment is available.
        var route = _router.PreferAvailable(_router.Plan(job));
        job = job with { Provider = route.Provider.Name, UpstreamModel = route.UpstreamModel, Note = route.Note };
        try
        {
            if (_admissions is null)
            {
                job = await _store.InsertAsync(job, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var admission = _admissions.For(job, fingerprint);
                try
                {
                    job = await _store.InsertAsync(job, admission, cancellationToken).ConfigureAwait(false);
                    ReelayTelemetry.MoneyHeldAdded(admission.HoldMicros, job.Model);
                }
                catch (Accounts.AdmissionRefusedException refused)
                {
                    throw _admissions.Refused(refused, admission);
                }
                catch (Accounts.IdempotencyKeyUsedException used)
                {
                    // A concurrent submit with the same key won the race: answer as its replay.
                    await DeleteInputsAsync(inputKeys).ConfigureAwait(false);

                    return await ReplayAsync(Accounts.Admissions.Replay(request.IdempotencyKey!, used.Existing, fingerprint!), cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch
        {
            await DeleteInputsAsync(inputKeys).ConfigureAwait(false);
            throw;
        }

        _transitions.Inserted(job);
        _scheduler.Admit(job);
        return job;
    }

    private async Task<string> PutInputAsync(string stem, LoadedImage image, List<string> stored, CancellationToken cancellationToken)
    {
        var key = $"{stem}.{image.Info.Extension}";
        using var bytes = new MemoryStream(image.Bytes.ToArray(), writable: false);
        await _results.PutAsync(key, bytes, image.Info.MediaType, cancellationToken).ConfigureAwait(false);
        stored.Add(key);
        return key;
    }

    private async Task DeleteInputsAsync(List<string> keys)
    {
        foreach (var key in keys)
        {
            await _results.DeleteAsync(key, CancellationToken.None).ConfigureAwait(false);
        }
    }

    // The last frame's and the reference images' storage keys live in reserved options, so every job store keeps them
    // without a schema change (as the derivation facts do).
    private static IReadOnlyDictionary<string, string> WithInputs(IReadOnlyDictionary<string, string> options, string? lastFrameKey, List<string> referenceKeys)
    {
        if (lastFrameKey is null && referenceKeys.Count == 0)
        {
            return options;
        }

        var all = new Dictionary<string, string>(options, StringComparer.Ordinal);
        if (lastFrameKey is not null)
        {
            all[JobOperations.LastFrameKey] = lastFrameKey;
        }

        if (referenceKeys.Count > 0)
        {
            all[JobOperations.ReferenceImageKeys] = JobOperations.WriteKeys(referenceKeys);
        }

        return all;
    }

    /// <summary>The character store (kept in the result storage).</summary>
    public Characters.CharacterStore Characters => _characters ??= new Characters.CharacterStore(_results, _time);

    private Characters.CharacterStore? _characters;

    // Remix, edit and extend start from a completed job of the same owner: its model, size and length unless the request
    // says otherwise (an extension validates its new segment's length; the job's duration becomes the stitched total).
    private async Task<(JobRequest Request, Job Source)> ResolveSourceAsync(JobRequest request, CancellationToken cancellationToken)
    {
        var operation = request.Operation.ToWire();
        var param = request.SourceParam;
        if (string.IsNullOrWhiteSpace(request.SourceJobId))
        {
            throw ReelayException.Invalid(param, $"The {operation} operation needs the id of a completed video in '{param}'.");
        }

        var source = await _store.GetAsync(request.SourceJobId, cancellationToken).ConfigureAwait(false);
        if (source is null || source.DeletedAt is not null || source.Owner != request.Owner)
        {
            throw new ReelayException(ErrorCodes.NotFound, $"No video job with id '{(request.SourceJobId.Length > 48 ? request.SourceJobId[..48] + "…" : request.SourceJobId)}' was found.", param);
        }

        if (source.Status != JobStatus.Succeeded || source.ResultKey is null || source.ContentDeletedAt is not null)
        {
            var state = source.Status != JobStatus.Succeeded ? $"is {source.Status.ToWire()}" : "has no stored video any more";
            throw ReelayException.Invalid(param, $"Video '{source.Id}' {state}; only a completed video with its content can be used for {operation}.");
        }

        if (request.FirstFrame is not null)
        {
            throw ReelayException.Invalid("first_frame", $"The {operation} operation starts from the source video; it takes no first frame.");
        }

        if (request.LastFrame is { } last)
        {
            throw ReelayException.Invalid(last.Param, $"The {operation} operation starts from the source video; it takes no last frame.");
        }

        if (request.ReferenceImages is { Count: > 0 } references)
        {
            throw ReelayException.Invalid(ModelCatalog.ListParam(references[0].Param), $"The {operation} operation starts from the source video; it takes no reference images.");
        }

        if (!string.IsNullOrEmpty(request.Model) && request.Model != source.Model)
        {
            throw ReelayException.Invalid("model", $"The {operation} of video '{source.Id}' keeps its model '{source.Model}' (got '{request.Model}'); leave 'model' out.");
        }

        var keepsSize = request.Size is null && request.Resolution is null && request.AspectRatio is null;
        int? duration = request.Operation switch
        {
            JobOperation.Extend => request.ExtensionSeconds ?? throw ReelayException.Invalid("duration", "An extension needs the length of the new segment in seconds."),
            JobOperation.Edit when request.DurationSeconds is { } d && d != source.DurationSeconds =>
                throw ReelayException.Invalid("duration", $"An edit keeps the source's length ({source.DurationSeconds} s); leave the length out."),
            _ => request.DurationSeconds ?? source.DurationSeconds,
        };
        if (request.Operation == JobOperation.Edit && !keepsSize && request.Size != source.Size)
        {
            throw ReelayException.Invalid("size", $"An edit keeps the source's size ({source.Size}); leave the size out.");
        }

        return (request with
        {
            Model = source.Model,
            Mode = VideoMode.TextToVideo,
            DurationSeconds = duration,
            Size = keepsSize ? source.Size : request.Size,
        }, source);
    }

    private async Task<IReadOnlyList<CharacterReference>> ResolveCharactersAsync(JobRequest request, CancellationToken cancellationToken)
    {
        if (request.CharacterIds is not { Count: > 0 } ids)
        {
            return [];
        }

        if (ids.Count > MaxCharacters)
        {
            throw ReelayException.Invalid("characters", $"At most {MaxCharacters} characters may be referenced (got {ids.Count}).");
        }

        var found = new List<CharacterReference>(ids.Count);
        foreach (var id in ids.Distinct(StringComparer.Ordinal))
        {
            var character = await Characters.GetAsync(request.Owner, id, "characters", cancellationToken).ConfigureAwait(false);
            found.Add(new CharacterReference(character.Id, character.Name));
        }

        return found;
    }

    /// <summary>The most characters one request may reference.</summary>
    public const int MaxCharacters = 4;

    private static IReadOnlyDictionary<string, string> WithDerivation(IReadOnlyDictionary<string, string> options, JobRequest request, Job? source, IReadOnlyList<CharacterReference> characters)
    {
        if (source is null && characters.Count == 0)
        {
            return options;
        }

        var all = new Dictionary<string, string>(options, StringComparer.Ordinal);
        if (source is not null)
        {
            all[JobOperations.OperationKey] = request.Operation.ToWire();
            all[JobOperations.SourceKey] = source.Id;
            all[JobOperations.SourceResultKey] = source.ResultKey!;
            Put(JobOperations.SourceProviderKey, source.Provider);
            Put(JobOperations.SourceUpstreamModelKey, source.UpstreamModel);
            Put(JobOperations.SourceUpstreamIdKey, source.UpstreamId);
            Put(JobOperations.SourceUpstreamResultKey, source.UpstreamResult);
            if (request.Operation == JobOperation.Extend && request.ExtensionSeconds is { } seconds)
            {
                all[JobOperations.ExtensionSecondsKey] = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        if (characters.Count > 0)
        {
            all[JobOperations.CharactersKey] = JobOperations.WriteCharacters(characters);
        }

        return all;

        void Put(string key, string? value)
        {
            if (value is not null)
            {
                all[key] = value;
            }
        }
    }

    private async Task<Job> ReplayAsync(string id, CancellationToken cancellationToken) =>
        await _store.GetAsync(id, cancellationToken).ConfigureAwait(false) ?? throw ReelayException.JobNotFound(id);

    /// <summary>Reads a job the caller may see; another owner's job is not_found, exactly like an unknown id.</summary>
    public async Task<Job> GetAsync(string id, Caller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var job = await _store.GetAsync(id, cancellationToken).ConfigureAwait(false);
        return job is null || job.DeletedAt is not null || !caller.CanSee(job.Owner) ? throw ReelayException.JobNotFound(id) : job;
    }

    /// <summary>Lists the caller's jobs (every owner's for admins), with a cursor.</summary>
    public async Task<JobPage> ListAsync(Caller caller, string? after, int limit, bool ascending, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (limit is < 1 or > 100)
        {
            throw ReelayException.Invalid("limit", $"limit {limit} is out of range; allowed: 1 to 100.");
        }

        if (after is not null)
        {
            var cursor = await _store.GetAsync(after, cancellationToken).ConfigureAwait(false);
            if (cursor is null || !caller.CanSee(cursor.Owner))
            {
                throw ReelayException.Invalid("after", $"after '{after}' is not the id of a video you can list.");
            }
        }

        return await _store.ListAsync(new JobQuery { Owner = caller.IsAdmin ? null : caller.KeyId, After = after, Limit = limit, Ascending = ascending }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Cancels a job that has not finished. A finished job is a conflict; a cancelled one is returned as is.</summary>
    public async Task<Job> CancelAsync(string id, Caller caller, CancellationToken cancellationToken)
    {
        var job = await GetAsync(id, caller, cancellationToken).ConfigureAwait(false);
        if (job.Status is JobStatus.Succeeded or JobStatus.Failed)
        {
            throw new ReelayException(ErrorCodes.Conflict, $"Video '{id}' already finished ({job.Status.ToWire()}); only unfinished videos can be cancelled.", "id");
        }

        var result = await _scheduler.CancelAsync(id, new JobError(ErrorCodes.Cancelled, "The job was cancelled by its owner."), cancellationToken).ConfigureAwait(false);
        if (result.Status is JobStatus.Succeeded or JobStatus.Failed)
        {
            throw new ReelayException(ErrorCodes.Conflict, $"Video '{id}' finished ({result.Status.ToWire()}) before it could be cancelled.", "id");
        }

        return result;
    }

    /// <summary>Deletes a job and its stored content; an unfinished job is cancelled first.</summary>
    public async Task<Job> DeleteAsync(string id, Caller caller, CancellationToken cancellationToken)
    {
        var job = await GetAsync(id, caller, cancellationToken).ConfigureAwait(false);
        if (!job.Status.IsTerminal())
        {
            await _scheduler.CancelAsync(id, new JobError(ErrorCodes.Cancelled, "The job was deleted by its owner."), cancellationToken).ConfigureAwait(false);
        }

        Transition deleted;
        try
        {
            deleted = await _transitions.TryAsync(id, j => j.DeletedAt is null, j => j with { DeletedAt = _time.GetUtcNow() }, cancellationToken).ConfigureAwait(false);
        }
        catch (JobContentionException)
        {
            throw new ReelayException(ErrorCodes.Conflict, $"Video '{id}' is changing too fast to delete; try again.", "id");
        }

        if (deleted.Updated is not { } gone)
        {
            throw ReelayException.JobNotFound(id);
        }

        foreach (var key in ContentKeys(gone))
        {
            await _results.DeleteAsync(key, cancellationToken).ConfigureAwait(false);
        }

        return gone;
    }

    /// <summary>Every storage key a job's content may occupy: video, thumbnail, spritesheet and input images.</summary>
    public static IEnumerable<string> ContentKeys(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return new[] { job.ResultKey, job.ThumbnailKey, job.SpritesheetKey, job.InputImageKey, job.LastFrameKey }.OfType<string>().Concat(job.ReferenceImageKeys);
    }

    /// <summary>Opens a finished job's video, thumbnail or spritesheet; 410 (gone) once its retention has passed.</summary>
    public async Task<StoredContent> OpenContentAsync(string id, Caller caller, ContentVariant variant, CancellationToken cancellationToken)
    {
        var job = await GetAsync(id, caller, cancellationToken).ConfigureAwait(false);
        if (job.Status != JobStatus.Succeeded)
        {
            throw new ReelayException(ErrorCodes.Conflict, $"Video '{id}' has no content yet: its status is {job.Status.ToWire()}.", "id");
        }

        if (job.ExpiresAt is { } expires && expires <= _time.GetUtcNow())
        {
            throw new ReelayException(ErrorCodes.Gone, $"The content of video '{id}' expired at {expires.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z and was deleted (this gateway keeps content for {Retention()}); the job record remains, generate the video again to get new content.", "id");
        }

        if (job.ContentDeletedAt is { } removed)
        {
            throw new ReelayException(ErrorCodes.Gone, $"The content of video '{id}' was deleted at {removed.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z; generate the video again to get new content.", "id");
        }

        var key = variant switch
        {
            ContentVariant.Thumbnail => job.ThumbnailKey,
            ContentVariant.Spritesheet => job.SpritesheetKey,
            _ => job.ResultKey,
        };
        var content = key is null ? null : await _results.OpenAsync(key, cancellationToken).ConfigureAwait(false);
        return content ?? throw new ReelayException(ErrorCodes.NotFound, $"Video '{id}' has no {variant.ToString().ToLowerInvariant()} content.", "variant");
    }

    private string Retention()
    {
        var retention = _options.Storage.Retention;
        return retention <= TimeSpan.Zero ? "its retention period" : retention.TotalDays >= 1 && retention.TotalDays == Math.Floor(retention.TotalDays)
            ? $"{retention.TotalDays:0} day{(retention.TotalDays == 1 ? "" : "s")}"
            : retention.ToString();
    }

    /// <summary>1-based position in its provider queue while queued; otherwise null.</summary>
    public int? QueuePosition(Job job) => _scheduler.QueuePosition(job);
}

/// <summary>Which stored content of a job.</summary>
public enum ContentVariant
{
    /// <summary>The MP4.</summary>
    Video,
    /// <summary>A still frame (WebP; JPEG for jobs finished before WebP).</summary>
    Thumbnail,
    /// <summary>A grid of evenly spaced frames (WebP; JPEG for jobs finished before WebP).</summary>
    Spritesheet,
}
