using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Reelay.Jobs;
using Reelay.Server.Dashboard;

namespace Reelay.Server.Tests.Dashboard;

public sealed class JobFilterTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Parse_DatetimeLocal_ReadsAsUtc()
    {
        var filter = JobFilter.Parse(Query(("since", "2026-11-30T11:30"), ("status", "running"), ("q", "  boat ")));
        Assert.Equal(new DateTimeOffset(2026, 11, 30, 11, 30, 0, TimeSpan.Zero), filter.Since);
        Assert.Equal(JobStatus.Running, filter.Status);
        Assert.Equal("boat", filter.Text);
        Assert.Empty(filter.Problems);
    }

    [Fact]
    public void Matches_EachFilter_NarrowsTheList()
    {
        var job = Job("a lighthouse at dawn", JobStatus.Succeeded, "sandbox", At);
        Assert.True(new JobFilter { Text = "LIGHTHOUSE", Status = JobStatus.Succeeded, Model = "sandbox", Provider = "sandbox" }.Matches(job));
        Assert.False(new JobFilter { Text = "boat" }.Matches(job));
        Assert.False(new JobFilter { Status = JobStatus.Failed }.Matches(job));
        Assert.False(new JobFilter { Model = "sora-2" }.Matches(job));
        Assert.False(new JobFilter { Until = At }.Matches(job));
        Assert.True(new JobFilter { Since = At, Until = At.AddSeconds(1) }.Matches(job));
    }

    private static Job Job(string prompt, JobStatus status, string model, DateTimeOffset created) => new()
    {
        Id = "video_1",
        Owner = "admin",
        Model = model,
        Mode = VideoMode.TextToVideo,
        Prompt = prompt,
        DurationSeconds = 2,
        Width = 64,
        Height = 64,
        Status = status,
        CreatedAt = created,
        UpdatedAt = created,
        Deadline = created.AddHours(1),
        Provider = "sandbox",
    };

    private static IQueryCollection Query(params (string Name, string Value)[] values) =>
        new QueryCollection(values.ToDictionary(v => v.Name, v => new StringValues(v.Value)));
}
