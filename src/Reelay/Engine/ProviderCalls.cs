using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Results;
using Reelay.Routing;

namespace Reelay.Engine;

/// <summary>
/// What every provider call of the scheduler needs: the <see cref="ProviderJob"/> view of a job (its deployment's
/// upstream model, its stored first frame, the stand-in flag) and a token bounded by the upstream call timeout that
/// also ends when the scheduler stops.
/// </summary>
internal sealed class ProviderCalls(IResultStore results, TimeProvider time, TimeSpan timeout, CancellationToken stopping, IMediaInspector? media = null, string? tempDirectory = null)
{
    private readonly Characters.CharacterStore _characters = new(results, time);

    /// <summary>The provider's view of <paramref name="job"/>; a submit caught in flight keeps the upstream model it recorded.</summary>
    public ProviderJob For(Job job, string? clientReference = null, IReadOnlySet<string>? claimed = null)
    {
        Func<CancellationToken, Task<Stream>> Opener(string key, string what) => async ct =>
        {
            var content = await results.OpenAsync(key, ct).ConfigureAwait(false)
                ?? throw new FileNotFoundException($"The stored {what} of job {job.Id} is missing.");
            return content.OpenRead();
        };

        var open = job.InputImageKey is { } key ? Opener(key, "first frame") : null;

        Func<CancellationToken, Task<Stream>>? source = null;
        if (job.SourceResultKey is { } sourceKey)
        {
            source = async ct =>
            {
                var content = await results.OpenAsync(sourceKey, ct).ConfigureAwait(false)
                    ?? throw new FileNotFoundException($"The stored video of job {job.SourceJobId}, which job {job.Id} derives from, is missing.");
                return content.OpenRead();
            };
        }

        var upstreamModel = job is { Status: JobStatus.Submitting, HasCallInFlight: true } ? job.SubmitCall!.UpstreamModel : job.UpstreamModel ?? job.Model;
        return new ProviderJob
        {
            Job = job,
            UpstreamModel = upstreamModel,
            OpenFirstFrame = open,
            OpenLastFrame = job.LastFrameKey is { } last ? Opener(last, "last frame") : null,
            OpenReferenceImages = job.ReferenceImageKeys.Select((k, i) => Opener(k, $"reference image {i}")).ToList(),
            OpenSource = source,
            StandIn = upstreamModel == DeploymentRouter.SandboxModel && job.Model != DeploymentRouter.SandboxModel,
            ClientReference = clientReference,
            ClaimedUpstreamIds = claimed ?? ProviderJob.NoClaims,
            Characters = job.Characters.Count == 0 ? [] : job.Characters.Select(c => Character(job, c)).ToList(),
        };
    }

    // A job's characters are its owner's (checked at submit); each call reads the stored character afresh.
    private ProviderCharacter Character(Job job, CharacterReference reference)
    {
        async Task<Characters.Character> FindAsync(CancellationToken ct) =>
            await _characters.FindAsync(job.Owner, reference.Id, ct).ConfigureAwait(false)
            ?? throw new FileNotFoundException($"Character {reference.Id}, which job {job.Id} shows, is missing from the storage.");

        return new ProviderCharacter
        {
            Id = reference.Id,
            Name = reference.Name,
            OpenMedia = async ct =>
            {
                var character = await FindAsync(ct).ConfigureAwait(false);
                return (await _characters.OpenMediaAsync(character, ct).ConfigureAwait(false), character.MediaType);
            },
            OpenStill = async ct => await _characters.OpenStillAsync(
                await FindAsync(ct).ConfigureAwait(false),
                media ?? throw new InvalidOperationException("No media inspector: a video character's frame cannot be taken."),
                tempDirectory ?? Path.GetTempPath(),
                ct).ConfigureAwait(false),
            FindUpstreamId = async (upstream, ct) => await _characters.FindUpstreamIdAsync(await FindAsync(ct).ConfigureAwait(false), upstream, ct).ConfigureAwait(false),
            RememberUpstreamId = async (upstream, id, ct) => await _characters.RememberUpstreamIdAsync(await FindAsync(ct).ConfigureAwait(false), upstream, id, ct).ConfigureAwait(false),
        };
    }

    /// <summary>A token that ends after the upstream call timeout, or when the scheduler stops.</summary>
    public CallScope Start() => new(new CancellationTokenSource(timeout, time), stopping);

    /// <summary>The token of one upstream call; dispose it when the call returns.</summary>
    public readonly struct CallScope : IDisposable
    {
        private readonly CancellationTokenSource _timeout;
        private readonly CancellationTokenSource _linked;

        public CallScope(CancellationTokenSource timeout, CancellationToken stopping)
        {
            _timeout = timeout;
            _linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, stopping);
        }

        public CancellationToken Token => _linked.Token;

        public void Dispose()
        {
            _linked.Dispose();
            _timeout.Dispose();
        }
    }
}
