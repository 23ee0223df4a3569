using Reelay.Catalog;
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
    private readonly JobObservers _observers;

    /// <summary>Creates the engine.</summary>
    public JobEngine(IJobStore store, IResultStore results, ModelCatalog catalog, IJobRouter router, InputImageLoader images, JobScheduler scheduler, TimeProvider time, ReelayOptions options, JobObservers? observers = null)
    {
        _observers = observers ?? JobObservers.None;
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
        var image = request.FirstFrame is { } frame ? await _images.LoadAsync(frame, cancellationToken).ConfigureAwait(false) : null;
        var spec = Catalog.Validate(request, image?.Info);
        var now = _time.GetUtcNow();
        var id = Job.NewId();
        string? imageKey = null;
        if (image is not null)
        {
            imageKey = $"inputs/{id}.{image.Info.Extension}";
            using var bytes = new MemoryStream(image.Bytes.ToArray(), writable: false);
            await _results.PutAsync(imageKey, bytes, image.Info.MediaType, cancellationToken).ConfigureAwait(false);
        }

        var job = new Job
        {
            Id = id,
            Owner = request.Owner,
            Model = spec.Model.Name,
            Mode = spec.Mode,
            Prompt = spec.Prompt,
            DurationSeconds = spec.DurationSeconds,
            Width = spec.Width,
            Height = spec.Height,
            Resolution = spec.Resolution,
            AspectRatio = spec.AspectRatio,
            Seed = spec.Seed,
            Options = spec.Options,
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
        var route = _router.Plan(job)[0];
        job = job with { Provider = route.Provider.Name, UpstreamModel = route.UpstreamModel, Note = route.Note };
        try
        {
            job = await _store.InsertAsync(job, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            if (imageKey is not null)
            {
                await _results.DeleteAsync(imageKey, CancellationToken.None).ConfigureAwait(false);
            }

            throw;
        }

        _observers.Changed(null, job);
        _scheduler.Admit(job);
        return job;
    }

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

        for (var attempt = 0; ; attempt++)
        {
            var current = await _store.GetAsync(id, cancellationToken).ConfigureAwait(false) ?? throw ReelayException.JobNotFound(id);
            if (current.DeletedAt is not null)
            {
                throw ReelayException.JobNotFound(id);
            }

            var deleted = await _store.TryUpdateAsync(current with { DeletedAt = _time.GetUtcNow(), UpdatedAt = _time.GetUtcNow() }, cancellationToken).ConfigureAwait(false);
            if (deleted is not null)
            {
                _observers.Changed(current, deleted);
                foreach (var key in new[] { deleted.ResultKey, deleted.ThumbnailKey, deleted.InputImageKey })
                {
                    if (key is not null)
                    {
                        await _results.DeleteAsync(key, cancellationToken).ConfigureAwait(false);
                    }
                }

                return deleted;
            }

            if (attempt > 20)
            {
                throw new ReelayException(ErrorCodes.Conflict, $"Video '{id}' is changing too fast to delete; try again.", "id");
            }
        }
    }

    /// <summary>Opens a finished job's video or thumbnail.</summary>
    public async Task<StoredContent> OpenContentAsync(string id, Caller caller, ContentVariant variant, CancellationToken cancellationToken)
    {
        var job = await GetAsync(id, caller, cancellationToken).ConfigureAwait(false);
        if (job.Status != JobStatus.Succeeded)
        {
            throw new ReelayException(ErrorCodes.Conflict, $"Video '{id}' has no content yet: its status is {job.Status.ToWire()}.", "id");
        }

        if (job.ExpiresAt is { } expires && expires <= _time.GetUtcNow())
        {
            throw new ReelayException(ErrorCodes.Gone, $"The content of video '{id}' expired at {expires:u} and was deleted.", "id");
        }

        var key = variant == ContentVariant.Thumbnail ? job.ThumbnailKey : job.ResultKey;
        var content = key is null ? null : await _results.OpenAsync(key, cancellationToken).ConfigureAwait(false);
        return content ?? throw new ReelayException(ErrorCodes.NotFound, $"Video '{id}' has no {(variant == ContentVariant.Thumbnail ? "thumbnail" : "video")} content.", "variant");
    }

    /// <summary>1-based position in its provider queue while queued; otherwise null.</summary>
    public int? QueuePosition(Job job) => _scheduler.QueuePosition(job);
}

/// <summary>Which stored content of a job.</summary>
public enum ContentVariant
{
    /// <summary>The MP4.</summary>
    Video,
    /// <summary>A JPEG frame.</summary>
    Thumbnail,
}
