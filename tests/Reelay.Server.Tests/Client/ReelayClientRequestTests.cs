using System.Text;
using System.Text.Json;
using Reelay.Client;

namespace Reelay.Server.Tests.Client;

public sealed class ReelayClientRequestTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("reelay-client-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task CreateVideoAsync_TextOnly_SendsJsonWithSecondsAsString()
    {
        var (client, api) = ClientFactory.CreateWithFakeApi();

        var video = await client.CreateVideoAsync(new CreateVideoRequest { Model = "sandbox", Prompt = "a red fox", Seconds = 4, Size = "1280x720", Seed = 123 });

        var request = Assert.Single(api.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/v1/videos", request.Path);
        Assert.StartsWith("application/json", request.ContentType);
        using var body = JsonDocument.Parse(request.Body);
        var root = body.RootElement;
        Assert.Equal(JsonValueKind.String, root.GetProperty("seconds").ValueKind);
        Assert.Equal("4", root.GetProperty("seconds").GetString());
        Assert.Equal("sandbox", root.GetProperty("model").GetString());
        Assert.Equal("a red fox", root.GetProperty("prompt").GetString());
        Assert.Equal("1280x720", root.GetProperty("size").GetString());
        Assert.Equal(123, root.GetProperty("seed").GetInt64());
        Assert.False(root.TryGetProperty("input_reference", out _));
        Assert.StartsWith("video_", video.Id);
        Assert.Equal(VideoStatus.Queued, video.Status);
        Assert.Equal("4", video.Seconds);
        Assert.Equal(1, video.QueuePosition);
    }

    [Fact]
    public async Task CreateVideoAsync_ImageUrl_SendsInputReferenceObjectAsJson()
    {
        var (client, api) = ClientFactory.CreateWithFakeApi();

        await client.CreateVideoAsync(new CreateVideoRequest { Prompt = "pan", ImageUrl = "https://example.com/frame.png" });

        var request = Assert.Single(api.Requests);
        Assert.StartsWith("application/json", request.ContentType);
        using var body = JsonDocument.Parse(request.Body);
        Assert.Equal("https://example.com/frame.png", body.RootElement.GetProperty("input_reference").GetProperty("image_url").GetString());
        Assert.False(body.RootElement.TryGetProperty("seconds", out _));
        Assert.False(body.RootElement.TryGetProperty("model", out _));
    }

    [Fact]
    public async Task CreateVideoAsync_ImageFile_SendsMultipartWithFilePart()
    {
        var path = Path.Combine(_directory, "frame.png");
        var png = new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3 };
        await File.WriteAllBytesAsync(path, png);
        var (client, api) = ClientFactory.CreateWithFakeApi();

        var video = await client.CreateVideoAsync(new CreateVideoRequest { Model = "sandbox", Prompt = "zoom in", Seconds = 6, Size = "640x360", Seed = 7, ImageFile = path });

        var call = Assert.Single(api.Creates);
        Assert.StartsWith("multipart/form-data", call.ContentType);
        Assert.Equal("sandbox", call.Fields["model"]);
        Assert.Equal("zoom in", call.Fields["prompt"]);
        Assert.Equal("6", call.Fields["seconds"]);
        Assert.Equal("640x360", call.Fields["size"]);
        Assert.Equal("7", call.Fields["seed"]);
        Assert.NotNull(call.File);
        Assert.Equal("input_reference", call.File.FieldName.Trim('"'));
        Assert.Equal("frame.png", call.File.FileName.Trim('"'));
        Assert.Equal("image/png", call.File.ContentType);
        Assert.Equal(png, call.File.Bytes);
        Assert.Equal("6", video.Seconds);

        // The client closed the file: it can be deleted right away.
        File.Delete(path);
    }

    [Fact]
    public async Task CreateVideoAsync_ImageStream_SendsMultipartAndLeavesStreamOpen()
    {
        var image = new MemoryStream(Encoding.ASCII.GetBytes("xxJPEGDATA"));
        image.Position = 2;
        var (client, api) = ClientFactory.CreateWithFakeApi();

        await client.CreateVideoAsync(new CreateVideoRequest { Prompt = "p", ImageStream = image, ImageFileName = "f.jpg" });

        var call = Assert.Single(api.Creates);
        Assert.Equal("image/jpeg", call.File!.ContentType);
        Assert.Equal("JPEGDATA", Encoding.ASCII.GetString(call.File.Bytes));
        Assert.True(image.CanRead, "the caller's stream must not be disposed");
    }

    [Fact]
    public async Task CreateVideoAsync_UrlAndFileBoth_ThrowsArgumentExceptionWithoutSending()
    {
        var (client, api) = ClientFactory.CreateWithFakeApi();

        await Assert.ThrowsAsync<ArgumentException>(() => client.CreateVideoAsync(new CreateVideoRequest { ImageUrl = "https://x/y.png", ImageFile = "y.png" }));

        Assert.Empty(api.Requests);
    }

    [Fact]
    public async Task AnyCall_WithApiKey_SendsBearerAuthorization()
    {
        var (client, api) = ClientFactory.CreateWithFakeApi();

        await client.ListModelsAsync();

        Assert.Equal("Bearer " + ClientFactory.Key, Assert.Single(api.Requests).Authorization);
    }

    [Fact]
    public async Task AnyCall_WithoutApiKey_SendsNoAuthorization()
    {
        var (client, api) = ClientFactory.CreateWithFakeApi(key: null);

        await client.ListModelsAsync();

        Assert.Null(Assert.Single(api.Requests).Authorization);
    }

    [Fact]
    public async Task GetVideoAsync_BaseAddressWithPath_KeepsPathAndEscapesId()
    {
        var handler = new CannedHandler(_ => CannedHandler.ToMessage(FakeReelayApi.Error(404, "not_found_error", "not_found", "nope", null)));
        var client = ClientFactory.Create(handler, baseAddress: new Uri("http://gw.test/reelay"));

        await Assert.ThrowsAsync<ReelayApiException>(() => client.GetVideoAsync("a/b?c"));

        Assert.Equal("http://gw.test/reelay/v1/videos/a%2Fb%3Fc", Assert.Single(handler.Requests).Request.RequestUri!.AbsoluteUri);
    }

    [Fact]
    public async Task ListVideosAsync_Options_SendsAfterLimitAndOrder()
    {
        var (client, api) = ClientFactory.CreateWithFakeApi();
        var first = api.AddVideo();
        api.AddVideo();

        await client.ListVideosAsync(new ListVideosOptions { After = first.Id, Limit = 5, Order = ListOrder.Ascending });

        var request = Assert.Single(api.Requests);
        Assert.Equal(first.Id, request.QueryValue("after"));
        Assert.Equal("5", request.QueryValue("limit"));
        Assert.Equal("asc", request.QueryValue("order"));
    }

    [Fact]
    public async Task DeleteVideoAsync_ExistingVideo_SendsDeleteAndParsesConfirmation()
    {
        var (client, api) = ClientFactory.CreateWithFakeApi();
        var video = api.AddVideo();

        var deleted = await client.DeleteVideoAsync(video.Id);

        Assert.True(deleted.Deleted);
        Assert.Equal(video.Id, deleted.Id);
        Assert.Equal("video.deleted", deleted.Object);
        Assert.Equal("DELETE", Assert.Single(api.Requests).Method);
        Assert.Null(api.Find(video.Id));
    }

    [Fact]
    public async Task CancelVideoAsync_QueuedVideo_PostsToCancelAndReturnsCancelled()
    {
        var (client, api) = ClientFactory.CreateWithFakeApi();
        var video = api.AddVideo();

        var cancelled = await client.CancelVideoAsync(video.Id);

        Assert.Equal(VideoStatus.Cancelled, cancelled.Status);
        Assert.True(cancelled.IsTerminal);
        var request = Assert.Single(api.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal($"/v1/videos/{video.Id}/cancel", request.Path);
    }

    [Fact]
    public async Task ListModelsAsync_ModelList_ParsesSnakeCaseFields()
    {
        var (client, _) = ClientFactory.CreateWithFakeApi();

        var model = Assert.Single(await client.ListModelsAsync());

        Assert.Equal("sandbox", model.Id);
        Assert.Equal("reelay", model.OwnedBy);
        Assert.Equal(["t2v", "i2v"], model.Modes);
        Assert.Equal("1 to 20", model.Durations);
    }

    [Fact]
    public async Task GetVideoAsync_NumbersWhereStringsExpected_ReadsThemTolerantly()
    {
        const string json = """{"id":"video_1","object":"video","status":"in_progress","progress":"40","created_at":1,"seconds":8,"size":"1280x720","unknown_field":{"x":1}}""";
        var client = ClientFactory.Create(new CannedHandler(_ => CannedHandler.Text(System.Net.HttpStatusCode.OK, json, "application/json")));

        var video = await client.GetVideoAsync("video_1");

        Assert.Equal("8", video.Seconds);
        Assert.Equal(40, video.Progress);
        Assert.Null(video.QueuePosition);
    }
}
