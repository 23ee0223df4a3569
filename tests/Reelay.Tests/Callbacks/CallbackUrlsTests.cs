using Reelay.Callbacks;

namespace Reelay.Tests.Callbacks;

public sealed class CallbackUrlsTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "reelay-callbacks-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    private CallbackUrls Urls(string? publicBase = "https://video.example.test/reelay/") =>
        new(new ReelayOptions { DataDirectory = _data }, publicBase);

    [Fact]
    public void UrlFor_PublicBaseUrlSet_UnderCallbacksWithTheInstanceAndAToken()
    {
        var url = Urls().UrlFor("ark", "video_0123")!;

        Assert.StartsWith("https://video.example.test/reelay/callbacks/ark/video_0123.", url.AbsoluteUri, StringComparison.Ordinal);
        Assert.True(url.AbsoluteUri.Length > "https://video.example.test/reelay/callbacks/ark/video_0123.".Length + 40);
    }

    [Fact]
    public void UrlFor_NoPublicBaseUrl_Null()
    {
        Assert.Null(Urls(publicBase: null).UrlFor("ark", "video_0123"));
        Assert.False(Urls(publicBase: null).Available);
    }

    [Fact]
    public void Open_OwnToken_TheJobAlsoAfterARestart()
    {
        var token = Urls().Token("ark", "video_0123");

        Assert.Equal("video_0123", Urls().Open("ark", token)); // a new instance reads the same key file
        Assert.True(File.Exists(Path.Combine(_data, "callback-key")));
    }

    [Theory]
    [InlineData("other-instance", null)]
    [InlineData(null, "video_0456")]
    public void Open_TokenOfAnotherInstanceOrJob_Null(string? instance, string? otherJob)
    {
        var urls = Urls();
        var token = urls.Token("ark", "video_0123");
        var forged = otherJob is null ? token : otherJob + token[token.IndexOf('.', StringComparison.Ordinal)..];

        Assert.Null(urls.Open(instance ?? "ark", forged));
    }

    [Theory]
    [InlineData("")]
    [InlineData("video_0123")]
    [InlineData("video_0123.")]
    [InlineData("video_0123.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("../admin.x")]
    [InlineData(".abc")]
    public void Open_GuessedOrMalformed_Null(string token)
    {
        Assert.Null(Urls().Open("ark", token));
    }

    [Fact]
    public void Open_AnotherGatewaysKey_Null()
    {
        var token = Urls().Token("ark", "video_0123");
        var elsewhere = Path.Combine(_data, "other");
        var other = new CallbackUrls(new ReelayOptions { DataDirectory = elsewhere }, "https://video.example.test");

        Assert.Null(other.Open("ark", token));
    }
}
