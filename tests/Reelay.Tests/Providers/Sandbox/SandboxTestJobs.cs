using Microsoft.Extensions.Logging.Abstractions;
using Reelay.Jobs;
using Reelay.Providers;
using Reelay.Providers.Sandbox;

namespace Reelay.Tests.Providers.Sandbox;

/// <summary>Jobs and providers for the sandbox tests.</summary>
internal static class SandboxTestJobs
{
    private static readonly DateTimeOffset Epoch = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static SandboxProvider Provider(string dataDirectory, int fps = 24, int renders = 2) =>
        new(new SandboxOptions { Fps = fps, Preset = "ultrafast", MaxConcurrentRenders = renders }, dataDirectory, TimeProvider.System, NullLogger<SandboxProvider>.Instance);

    public static ProviderJob TextJob(string id, int width = 160, int height = 120, int seconds = 1, long? seed = 7, string? prompt = "A red fox runs through fresh snow at dawn", bool standIn = false, string model = "sandbox") => new()
    {
        Job = NewJob(id, VideoMode.TextToVideo, width, height, seconds, seed, prompt, model),
        UpstreamModel = "sandbox",
        StandIn = standIn,
    };

    public static ProviderJob ImageJob(string id, string imagePath, int width = 192, int height = 108, int seconds = 1, long? seed = 7) => new()
    {
        Job = NewJob(id, VideoMode.ImageToVideo, width, height, seconds, seed, "slow push in", "sandbox"),
        UpstreamModel = "sandbox",
        OpenFirstFrame = _ => Task.FromResult<Stream>(File.OpenRead(imagePath)),
    };

    private static Job NewJob(string id, VideoMode mode, int width, int height, int seconds, long? seed, string? prompt, string model) => new()
    {
        Id = id,
        Owner = "key_test",
        Model = model,
        Mode = mode,
        Prompt = prompt,
        DurationSeconds = seconds,
        Width = width,
        Height = height,
        Seed = seed,
        Status = JobStatus.Running,
        CreatedAt = Epoch,
        UpdatedAt = Epoch,
        Deadline = Epoch.AddHours(1),
    };

    /// <summary>Polls until the job leaves Running; returns the outcome and every Running progress seen.</summary>
    public static async Task<(PollOutcome Outcome, List<int?> Progress)> WaitAsync(SandboxProvider provider, ProviderJob job, TimeSpan? timeout = null)
    {
        var progress = new List<int?>();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        while (true)
        {
            var outcome = await provider.PollAsync(job, cts.Token);
            if (outcome is not PollOutcome.Running running)
            {
                return (outcome, progress);
            }

            progress.Add(running.Progress);
            await Task.Delay(50, cts.Token);
        }
    }

    /// <summary>Waits for a render to succeed and returns the file.</summary>
    public static async Task<string> RenderAsync(SandboxProvider provider, ProviderJob job)
    {
        var submitted = await provider.SubmitAsync(job, CancellationToken.None);
        Assert.Equal(new SubmitOutcome.Accepted(job.Job.Id), submitted);
        var (outcome, _) = await WaitAsync(provider, job);
        var succeeded = Assert.IsType<PollOutcome.Succeeded>(outcome);
        Assert.True(succeeded.Result.IsLocalFile);
        Assert.True(File.Exists(succeeded.Result.Video));
        return succeeded.Result.Video;
    }
}
