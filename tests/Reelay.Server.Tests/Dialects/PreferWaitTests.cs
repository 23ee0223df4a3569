using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Reelay.Server.Events;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Dialects;

/// <summary>Issue 15 item 6: <c>Prefer: wait=N</c> (RFC 7240) on every dialect's submit: the finished job when it finishes in time, the running one otherwise.</summary>
public sealed class PreferWaitTests : IAsyncLifetime
{
    private ReelayTestServer _server = null!;

    public async Task InitializeAsync() => _server = await ReelayTestServer.StartAsync(new() { ["Reelay:MaxPreferWait"] = "00:00:30" });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    // Per dialect: submit path, a short sandbox job, a long one, and how to read the status from the answer.
    public static readonly TheoryData<string> Dialects = new() { "openai", "modelverse", "aimlapi", "sorarelay" };

    private static (string Path, string Short, string Long, Func<JsonElement, string> Status, Func<JsonElement, string> Id) Dialect(string name) => name switch
    {
        "openai" => ("/v1/videos", """{"model":"sandbox","prompt":"quick","seconds":"1","size":"160x120"}""", """{"model":"sandbox","prompt":"slow","seconds":"20","size":"1920x1080"}""",
            b => b.GetProperty("status").GetString()!, b => b.GetProperty("id").GetString()!),
        "modelverse" => ("/v1/tasks/submit", """{"model":"sandbox","input":{"prompt":"quick"},"parameters":{"size":"160x120","duration":1}}""", """{"model":"sandbox","input":{"prompt":"slow"},"parameters":{"size":"1920x1080","duration":20}}""",
            b => b.GetProperty("output").GetProperty("task_status").GetString()!, b => b.GetProperty("output").GetProperty("task_id").GetString()!),
        "aimlapi" => ("/v2/video/generations", """{"model":"sandbox","prompt":"quick","duration":1,"resolution":"360p"}""", """{"model":"sandbox","prompt":"slow","duration":20,"resolution":"1080p"}""",
            b => b.GetProperty("status").GetString()!, b => b.GetProperty("id").GetString()!),
        _ => ("/v2/videos/generations", """{"model":"sandbox","prompt":"quick","duration":"1","aspect_ratio":"16:9"}""", """{"model":"sandbox","prompt":"slow","duration":"20","hd":true}""",
            b => b.GetProperty("status").GetString()!, b => b.GetProperty("task_id").GetString()!),
    };

    private async Task<(HttpResponseMessage Response, JsonElement Body)> SubmitAsync(string path, string json, string? prefer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (prefer is not null)
        {
            request.Headers.TryAddWithoutValidation("Prefer", prefer);
        }

        var response = await _server.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return (response, JsonDocument.Parse(text).RootElement.Clone());
    }

    [Theory]
    [MemberData(nameof(Dialects))]
    public async Task Submit_PreferWaitAndJobFinishesInTime_AnswersTheFinishedJob(string dialect)
    {
        var d = Dialect(dialect);
        var (response, body) = await SubmitAsync(d.Path, d.Short, "wait=25");
        using (response)
        {
            Assert.Contains(d.Status(body), new[] { "completed", "Success", "SUCCESS" });
            Assert.Equal("wait=25", string.Join(",", response.Headers.GetValues("Preference-Applied")));
        }
    }

    [Theory]
    [MemberData(nameof(Dialects))]
    public async Task Submit_PreferWaitShorterThanTheJob_AnswersTheRunningJobAfterTheWait(string dialect)
    {
        var d = Dialect(dialect);
        var started = DateTime.UtcNow;
        var (response, body) = await SubmitAsync(d.Path, d.Long, "respond-async, wait=1");
        var elapsed = DateTime.UtcNow - started;
        try
        {
            Assert.DoesNotContain(d.Status(body), new[] { "completed", "Success", "SUCCESS", "failed", "Failure", "FAILURE", "error" });
            Assert.True(elapsed >= TimeSpan.FromSeconds(0.9), $"answered after {elapsed}");
            Assert.Equal("wait=1", string.Join(",", response.Headers.GetValues("Preference-Applied")));
        }
        finally
        {
            response.Dispose();
            using var _ = await _server.Http.PostAsync($"/v1/videos/{d.Id(body)}/cancel", null);
        }
    }

    [Fact]
    public async Task Submit_WithoutPrefer_AnswersAtOnceWithoutPreferenceApplied()
    {
        var (response, body) = await SubmitAsync("/v1/videos", """{"model":"sandbox","prompt":"slow","seconds":"20","size":"1920x1080"}""", null);
        using (response)
        {
            Assert.Equal("queued", body.GetProperty("status").GetString());
            Assert.False(response.Headers.Contains("Preference-Applied"));
        }

        using var _ = await _server.Http.PostAsync($"/v1/videos/{body.GetProperty("id").GetString()}/cancel", null);
    }

    [Theory]
    [InlineData("wait=5", 5L)]
    [InlineData("respond-async, WAIT = 7", 7L)]
    [InlineData("wait=\"3\"", 3L)]
    [InlineData("handling=lenient; x=1, wait=2", 2L)]
    [InlineData("wait=-1", null)]
    [InlineData("wait=abc", null)]
    [InlineData("wait=99999999999999999999", null)]
    [InlineData("respond-async", null)]
    [InlineData("", null)]
    public void Parse_PreferHeader_ReadsTheWaitPreference(string header, long? expected) =>
        Assert.Equal(expected, PreferWait.Parse([header]));
}
