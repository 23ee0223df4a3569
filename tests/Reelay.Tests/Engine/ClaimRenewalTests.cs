using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Storage;

namespace Reelay.Tests.Engine;

/// <summary>
/// A node's renewal of its claims does not wait for its claim rounds: a round that hangs (a thousand orphans to resume on a
/// loaded machine) must not let the node's own leases lapse, or another node takes over jobs still worked on here.
/// </summary>
public sealed class ClaimRenewalTests
{
    [Fact]
    public async Task Renewal_WhileAClaimRoundHangs_KeepsThisNodesClaimsLive()
    {
        var claims = (BlockingClaims?)null;
        await using var h = await EngineHarness.StartAsync(
            p => p.OnPoll = (_, _) => new PollOutcome.Running(10),
            wrapClaims: inner => claims = new BlockingClaims(inner, passFirst: 2)); // the start's claim and the first round pass
        var lease = h.Options.Engine.ClaimLease;
        var job = await h.SubmitAsync();
        // The first round claims the submitted job; the second one hangs.
        await h.EventuallyAsync(() => claims!.Blocked, "a claim round hanging", lease / 3);

        for (var round = 0; round < 9; round++) // three leases while the claim round hangs
        {
            h.Clock.Advance(lease / 3);
            await Task.Delay(30);
        }

        await h.EventuallyAsync(() => claims!.Renewals >= 6, "renewals went on");
        Assert.False(await h.Claims.TryClaimAsync(job.Id, "other-node", h.Clock.GetUtcNow(), lease, CancellationToken.None), "another node could take over a job this node still works on");
        Assert.Equal(JobStatus.Running, (await h.GetAsync(job.Id)).Status);
        claims!.Release();
    }

    /// <summary>Claims whose claim rounds hang after the first <c>passFirst</c> calls, until released; renewals are counted.</summary>
    private sealed class BlockingClaims(IJobClaims inner, int passFirst) : IJobClaims
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;
        private int _renewals;

        public bool Blocked => Volatile.Read(ref _calls) > passFirst;

        public int Renewals => Volatile.Read(ref _renewals);

        public void Release() => _release.TrySetResult();

        public async Task<IReadOnlyList<Job>> ClaimDueAsync(string owner, DateTimeOffset now, TimeSpan lease, int limit, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _calls) > passFirst)
            {
                await _release.Task.WaitAsync(cancellationToken);
            }

            return await inner.ClaimDueAsync(owner, now, lease, limit, cancellationToken);
        }

        public Task<bool> TryClaimAsync(string jobId, string owner, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken) =>
            inner.TryClaimAsync(jobId, owner, now, lease, cancellationToken);

        public Task<int> RenewClaimsAsync(string owner, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _renewals);
            return inner.RenewClaimsAsync(owner, now, lease, cancellationToken);
        }

        public Task ReleaseClaimAsync(string jobId, string owner, DateTimeOffset dueAt, CancellationToken cancellationToken) =>
            inner.ReleaseClaimAsync(jobId, owner, dueAt, cancellationToken);

        public Task ReleaseClaimsAsync(string owner, CancellationToken cancellationToken) => inner.ReleaseClaimsAsync(owner, cancellationToken);
    }
}
