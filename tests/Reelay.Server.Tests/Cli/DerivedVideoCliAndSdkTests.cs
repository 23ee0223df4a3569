using Reelay.Client;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Cli;

/// <summary>Issue 15 item 6: the SDK's RemixVideoAsync/EditVideoAsync/ExtendVideoAsync/characters/Wait and the CLI's remix, edit, extend and characters, against a running gateway (sandbox).</summary>
public sealed class DerivedVideoCliAndSdkTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("reelay-derived-").FullName;
    private ReelayTestServer _server = null!;
    private ReelayClient _client = null!;

    public async Task InitializeAsync()
    {
        _server = await ReelayTestServer.StartAsync();
        _client = new ReelayClient(_server.BaseAddress, _server.ApiKey);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private string[] Connection => ["--url", _server.BaseAddress.AbsoluteUri, "--key", _server.ApiKey];

    [Fact]
    public async Task Sdk_WaitRemixEditExtendAndCharacters_CompleteInOneCallEach()
    {
        var wait = new VideoOperationOptions { Wait = TimeSpan.FromSeconds(25) };
        var keeper = await _client.CreateCharacterAsync("Keeper", new MemoryStream(await TestFiles.ImageAsync(32, 32)), "keeper.png");
        Assert.Equal("Keeper", (await _client.GetCharacterAsync(keeper.Id)).Name);

        var source = await _client.CreateVideoAsync(new CreateVideoRequest { Model = "sandbox", Prompt = "a lighthouse", Seconds = 1, Size = "160x120", Characters = [keeper.Id], Wait = TimeSpan.FromSeconds(25) });
        Assert.Equal(VideoStatus.Completed, source.Status);

        var remix = await _client.RemixVideoAsync(source.Id, "at night", wait);
        var edit = await _client.EditVideoAsync(source.Id, "in red", wait);
        var extension = await _client.ExtendVideoAsync(source.Id, "a ship passes", 1, wait);

        Assert.Equal([VideoStatus.Completed, VideoStatus.Completed, VideoStatus.Completed], new[] { remix.Status, edit.Status, extension.Status });
        Assert.Equal(source.Id, remix.RemixedFromVideoId);
        Assert.Equal(("edit", source.Id), (edit.Operation, edit.SourceVideoId));
        Assert.Equal("2", extension.Seconds);
        var missing = await Assert.ThrowsAsync<ReelayApiException>(() => _client.GetCharacterAsync("char_0123456789abcdef0123456789abcdef"));
        Assert.Equal(404, missing.StatusCode);
    }

    [Fact]
    public async Task Cli_RemixExtendAndCharacters_SavesVideosAndPrintsIds()
    {
        var source = await _client.CreateVideoAsync(new CreateVideoRequest { Model = "sandbox", Prompt = "a lighthouse", Seconds = 1, Size = "160x120", Wait = TimeSpan.FromSeconds(25) });
        var remixed = Path.Combine(_directory, "remix.mp4");
        var extended = Path.Combine(_directory, "extend.mp4");

        var remix = await CliRunner.RunAsync(["remix", source.Id, "--prompt", "at night", "-o", remixed, .. Connection]);
        var extend = await CliRunner.RunAsync(["extend", source.Id, "--prompt", "a ship", "--seconds", "1", "-o", extended, .. Connection]);
        var noSeconds = await CliRunner.RunAsync(["extend", source.Id, "--prompt", "a ship", .. Connection]);

        Assert.True(remix.ExitCode == 0, remix.Error);
        Assert.Equal($"video: {remixed}{Environment.NewLine}", remix.Output);
        Assert.True(extend.ExitCode == 0, extend.Error);
        Assert.Contains("2 s", extend.Error, StringComparison.Ordinal);
        Assert.True(new FileInfo(extended).Length > new FileInfo(remixed).Length / 2);
        Assert.NotEqual(0, noSeconds.ExitCode);
        Assert.Contains("--seconds", noSeconds.Error, StringComparison.Ordinal);

        var file = Path.Combine(_directory, "keeper.png");
        await File.WriteAllBytesAsync(file, await TestFiles.ImageAsync(32, 32));
        var created = await CliRunner.RunAsync(["characters", "create", "Keeper", file, .. Connection]);
        Assert.True(created.ExitCode == 0, created.Error);
        var id = created.Output.Split(':')[0];
        Assert.StartsWith("char_", id, StringComparison.Ordinal);
        var shown = await CliRunner.RunAsync(["characters", "get", id, .. Connection]);
        Assert.StartsWith($"{id}: Keeper (created ", shown.Output, StringComparison.Ordinal);
    }
}
