using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Hosting;
using Reelay.Client;
using Reelay.Server.Tests.Client;

namespace Reelay.Server.Tests.Cli;

public sealed class CliCommandTests : IDisposable
{
    private const string Key = "sk-cli-secret-42";
    private readonly string _directory = Directory.CreateTempSubdirectory("reelay-cli-").FullName;
    private readonly FakeReelayApi _api = new() { RequiredKey = () => Key };

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Generate_RemoteGateway_SubmitsPollsDownloadsAndPrintsPath()
    {
        var image = Path.Combine(_directory, "frame.png");
        await File.WriteAllBytesAsync(image, [0x89, 0x50, 0x4E, 0x47]);
        var output = Path.Combine(_directory, "out", "fox.mp4");

        var result = await CliRunner.RunAsync(
            ["generate", "--prompt", "a fox", "--seconds", "5", "--size", "640x360", "--image", image, "--seed", "9", "--output", output, "--url", "http://gw.test", "--key", Key],
            handler: new FakeApiHandler(_api));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal($"video: {output}{Environment.NewLine}", result.Output);
        Assert.Equal(_api.VideoBytes, await File.ReadAllBytesAsync(output));
        var create = Assert.Single(_api.Creates);
        Assert.StartsWith("multipart/form-data", create.ContentType);
        Assert.Equal("5", create.Fields["seconds"]);
        Assert.Equal("sandbox", create.Fields["model"]);
        Assert.Equal("9", create.Fields["seed"]);
        Assert.Contains("in progress", result.Error);
        Assert.DoesNotContain(Key, result.Output + result.Error);
    }

    [Fact]
    public async Task Generate_JobFails_ExitsOneWithTheJobsError()
    {
        _api.FinalStatus = VideoStatus.Failed;

        var result = await CliRunner.RunAsync(
            ["generate", "--prompt", "a fox", "--output", Path.Combine(_directory, "x.mp4")],
            new Dictionary<string, string> { ["REELAY_URL"] = "http://gw.test/", ["REELAY_API_KEY"] = Key },
            new FakeApiHandler(_api));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("failed: The prompt was blocked. (moderation_blocked)", result.Error);
        Assert.Equal("", result.Output);
        Assert.False(File.Exists(Path.Combine(_directory, "x.mp4")));
    }

    [Fact]
    public async Task Status_ExistingVideo_PrintsStatusAndProgress()
    {
        var video = _api.AddVideo(VideoStatus.Completed, 100);

        var result = await CliRunner.RunAsync(["status", video.Id, "--url", "http://gw.test", "--key", Key], handler: new FakeApiHandler(_api));

        Assert.Equal(0, result.ExitCode);
        Assert.Contains(video.Id, result.Output);
        Assert.Contains("completed", result.Output);
        Assert.Contains("100%", result.Output);
    }

    [Fact]
    public async Task Status_UnknownVideo_PrintsApiMessageToStderrAndExitsOne()
    {
        var result = await CliRunner.RunAsync(["status", "video_nope", "--url", "http://gw.test", "--key", Key], handler: new FakeApiHandler(_api));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error: Video 'video_nope' was not found. (not_found)", result.Error);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public async Task Status_WrongKey_ExitsOneWithHintAndNeverPrintsKey()
    {
        const string wrong = "sk-wrong-key-777";

        var result = await CliRunner.RunAsync(["status", "video_1", "--url", "http://gw.test", "--key", wrong], handler: new FakeApiHandler(_api));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("unauthorized", result.Error);
        Assert.Contains("REELAY_API_KEY", result.Error);
        Assert.DoesNotContain(wrong, result.Output + result.Error);
    }

    [Theory]
    [InlineData("api", "admin", "api")]
    [InlineData(null, "admin", "admin")]
    [InlineData(null, null, null)]
    public async Task Models_KeyFromEnvironment_PrefersApiKeyThenAdminKey(string? apiKey, string? adminKey, string? expected)
    {
        var environment = new Dictionary<string, string> { ["REELAY_URL"] = "http://env.test:9000" };
        if (apiKey is not null)
        {
            environment["REELAY_API_KEY"] = apiKey;
        }

        if (adminKey is not null)
        {
            environment["REELAY_ADMIN_KEY"] = adminKey;
        }

        var options = new List<ReelayClientOptions>();
        var result = await CliRunner.RunAsync(["models"], environment, new FakeApiHandler(new FakeReelayApi()), clientOptions: options);

        Assert.Equal(0, result.ExitCode);
        var used = Assert.Single(options);
        Assert.Equal(expected, used.ApiKey);
        Assert.Equal(new Uri("http://env.test:9000"), used.BaseAddress);
        Assert.Contains("sandbox", result.Output);
    }

    [Fact]
    public async Task Models_NoUrl_ListsLocalCatalogWithoutCallingAnyGateway()
    {
        var options = new List<ReelayClientOptions>();

        var result = await CliRunner.RunAsync(["models"], clientOptions: options);

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Empty(options);
        Assert.Contains("sandbox", result.Output);
        Assert.Contains("sora-2", result.Output);
        Assert.Contains("local catalog", result.Error);
    }

    [Fact]
    public async Task List_All_FollowsEveryPageIntoOneTable()
    {
        var ids = Enumerable.Range(0, 5).Select(_ => _api.AddVideo(VideoStatus.Completed, 100).Id).ToList();

        var result = await CliRunner.RunAsync(["list", "--all", "--limit", "2", "--url", "http://gw.test", "--key", Key], handler: new FakeApiHandler(_api));

        Assert.Equal(0, result.ExitCode);
        Assert.All(ids, id => Assert.Contains(id, result.Output));
        Assert.Equal(3, _api.Requests.Count);
    }

    [Fact]
    public async Task List_OnePageWithMore_PrintsCursorHint()
    {
        var ids = Enumerable.Range(0, 3).Select(_ => _api.AddVideo().Id).ToList();

        var result = await CliRunner.RunAsync(["list", "--limit", "2", "--order", "asc", "--url", "http://gw.test", "--key", Key], handler: new FakeApiHandler(_api));

        Assert.Equal(0, result.ExitCode);
        Assert.Contains(ids[0], result.Output);
        Assert.DoesNotContain(ids[2], result.Output);
        Assert.Contains($"--after {ids[1]}", result.Error);
    }

    [Fact]
    public async Task Cancel_QueuedVideo_PrintsCancelled()
    {
        var video = _api.AddVideo();

        var result = await CliRunner.RunAsync(["cancel", video.Id, "--url", "http://gw.test", "--key", Key], handler: new FakeApiHandler(_api));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal($"{video.Id}: cancelled{Environment.NewLine}", result.Output);
    }

    [Fact]
    public async Task Download_Thumbnail_SavesJpegAndPrintsPath()
    {
        var video = _api.AddVideo(VideoStatus.Completed, 100);
        var output = Path.Combine(_directory, "t.jpg");

        var result = await CliRunner.RunAsync(["download", video.Id, "--variant", "thumbnail", "-o", output, "--url", "http://gw.test", "--key", Key], handler: new FakeApiHandler(_api));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal($"thumbnail: {output}{Environment.NewLine}", result.Output);
        Assert.Equal(_api.ThumbnailBytes, await File.ReadAllBytesAsync(output));
    }

    [Fact]
    public async Task Generate_NoUrl_RunsInProcessGatewayOnBoundPortWithItsAdminKey()
    {
        // The fake API sits in front of the embedded gateway and accepts only the admin key the CLI configured.
        var api = new FakeReelayApi();
        var output = Path.Combine(_directory, "local.mp4");
        var options = new List<ReelayClientOptions>();

        var result = await CliRunner.RunAsync(
            ["generate", "--prompt", "a lighthouse", "--output", output, "--data", Path.Combine(_directory, "data")],
            clientOptions: options,
            configureEmbeddedGateway: builder =>
            {
                var configuration = builder.Configuration;
                api.RequiredKey = () => configuration["Reelay:AdminKey"];
                builder.Services.AddSingleton<IStartupFilter>(new FakeApiStartupFilter(api));
            });

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal($"video: {output}{Environment.NewLine}", result.Output);
        var used = Assert.Single(options);
        Assert.Equal("127.0.0.1", used.BaseAddress.Host);
        Assert.NotEqual(0, used.BaseAddress.Port);
        Assert.False(string.IsNullOrEmpty(used.ApiKey));
        Assert.All(api.Requests, r => Assert.Equal("Bearer " + used.ApiKey, r.Authorization));
        Assert.Equal(api.VideoBytes, await File.ReadAllBytesAsync(output));
    }

    [Fact]
    public async Task Demo_FakeGateway_MakesSampleWithFfmpegUploadsItAndPrintsAbsolutePath()
    {
        var api = new FakeReelayApi();
        var data = Path.Combine(_directory, "demo");

        var result = await CliRunner.RunAsync(
            ["demo", "--data", data],
            configureEmbeddedGateway: builder => builder.Services.AddSingleton<IStartupFilter>(new FakeApiStartupFilter(api)));

        Assert.True(result.ExitCode == 0, result.Error);
        var line = Assert.Single(result.Output.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("video: ", line);
        var path = line["video: ".Length..];
        Assert.True(Path.IsPathFullyQualified(path));
        Assert.True(File.Exists(path));
        var create = Assert.Single(api.Creates);
        Assert.Equal("sandbox", create.Fields["model"]);
        Assert.Equal("4", create.Fields["seconds"]);
        Assert.Equal("1280x720", create.Fields["size"]);
        Assert.Equal("image/png", create.File!.ContentType);
        Assert.Equal([0x89, 0x50, 0x4E, 0x47], create.File.Bytes.Take(4));
        Assert.True(File.Exists(Path.Combine(data, "sample.png")));
    }
}
