using Reelay.Jobs;

namespace Reelay.Tests.Storage;

/// <summary>Valid jobs for store tests.</summary>
internal static class TestJobs
{
    /// <summary>A fixed instant with a non-zero millisecond part.</summary>
    public static readonly DateTimeOffset Epoch = DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_123);

    /// <summary>A queued text-to-video job with only the required fields set.</summary>
    public static Job New(string? id = null, string owner = "key_test", JobStatus status = JobStatus.Queued, DateTimeOffset? createdAt = null)
    {
        var created = createdAt ?? Epoch;
        return new Job
        {
            Id = id ?? Job.NewId(),
            Owner = owner,
            Model = "sandbox",
            Mode = VideoMode.TextToVideo,
            DurationSeconds = 5,
            Width = 1280,
            Height = 720,
            Status = status,
            CreatedAt = created,
            UpdatedAt = created,
            Deadline = created.AddMinutes(30),
        };
    }

    /// <summary>A job with every optional field set to a distinct value, dates in a non-UTC offset.</summary>
    public static Job Full(string? id = null, string owner = "key_full")
    {
        var created = new DateTimeOffset(2026, 3, 14, 15, 9, 26, 535, TimeSpan.FromHours(2));
        return new Job
        {
            Id = id ?? Job.NewId(),
            Owner = owner,
            Model = "vidu-q1",
            Mode = VideoMode.ImageToVideo,
            Prompt = "A heron lifts off a misty lake at dawn — «slow motion», 日の出",
            DurationSeconds = 8,
            Width = 1920,
            Height = 1080,
            Resolution = "1080p",
            AspectRatio = "16:9",
            Seed = 9_007_199_254_740_993,
            Options = new Dictionary<string, string> { ["movement_amplitude"] = "large", ["bgm"] = "true", ["negative_prompt"] = "blur, \"text\"" },
            InputImageKey = "inputs/abc.png",
            Status = JobStatus.Failed,
            Progress = 42,
            Error = new JobError(ErrorCodes.ModerationBlocked, "The output was blocked by moderation.", "prompt", "output"),
            CreatedAt = created,
            UpdatedAt = created.AddSeconds(90).AddMilliseconds(7),
            StartedAt = created.AddSeconds(3).AddMilliseconds(1),
            CompletedAt = created.AddSeconds(90).AddMilliseconds(7),
            ExpiresAt = created.AddDays(7),
            Deadline = created.AddMinutes(30),
            Provider = "vidu-main",
            UpstreamModel = "viduq1",
            UpstreamId = "task_8812",
            SubmitAttempts = 2,
            SubmitCall = new SubmitCall(2, "vidu-main", "viduq1", "reelay-video_x-2", created.AddSeconds(2).AddMilliseconds(3)),
            ResultKey = "results/abc.mp4",
            ThumbnailKey = "results/abc.jpg",
            ResultBytes = 5_368_709_120,
            ResultDurationSeconds = 8.041666,
            Note = "Rendered by the sandbox.",
            WebhookUrl = "https://example.com/hooks/video?x=1",
            Metadata = new Dictionary<string, string> { ["order"] = "A-17", ["empty"] = "" },
            IdempotencyKey = "idem-123",
            Dialect = "openai",
            DeletedAt = null,
            ResultSha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            ResultWidth = 1918,
            ResultHeight = 1078,
            SpritesheetKey = "results/abc.sprite.jpg",
            ContentDeletedAt = created.AddDays(7).AddMilliseconds(250),
        };
    }
}
