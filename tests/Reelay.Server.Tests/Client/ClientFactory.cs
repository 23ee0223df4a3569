using Reelay.Client;

namespace Reelay.Server.Tests.Client;

internal static class ClientFactory
{
    public const string Key = "sk-test-0123456789abcdef";
    public static readonly Uri BaseAddress = new("http://reelay.test:8080/");

    public static ReelayClient Create(HttpMessageHandler handler, string? key = Key, TimeSpan? timeout = null, Uri? baseAddress = null) =>
        new(new HttpClient(handler), new ReelayClientOptions
        {
            BaseAddress = baseAddress ?? BaseAddress,
            ApiKey = key,
            Timeout = timeout ?? TimeSpan.FromSeconds(30),
        });

    public static (ReelayClient Client, FakeReelayApi Api) CreateWithFakeApi(string? key = Key)
    {
        var api = new FakeReelayApi();
        return (Create(new FakeApiHandler(api), key), api);
    }
}
