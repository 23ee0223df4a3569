using System.Net;
using System.Net.Sockets;
using System.Text;
using Reelay.Jobs;
using Reelay.Net;

namespace Reelay.Tests.Net;

/// <summary>The one client that fetches URLs given by clients: refusals are checked on the address actually connected to.</summary>
public sealed class GuardedHttpClientTests
{
    private static Task<byte[]> FetchAsync(GuardedHttpClient client, string url) =>
        client.GetBytesAsync(new Uri(url), 1024 * 1024, TimeSpan.FromSeconds(5), "first_frame_url", ErrorCodes.ImageInvalid, CancellationToken.None);

    [Theory]
    [InlineData("http://127.0.0.1/a.png")]
    [InlineData("http://[::1]/a.png")]
    [InlineData("http://localhost/a.png")]
    [InlineData("http://10.0.0.1/a.png")]
    [InlineData("http://10.255.1.2:8080/a.png")]
    [InlineData("http://172.16.0.1/a.png")]
    [InlineData("http://172.31.255.254/a.png")]
    [InlineData("http://192.168.1.1/a.png")]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://[fd00::1]/a.png")]
    [InlineData("http://[fe80::1]/a.png")]
    [InlineData("http://224.0.0.1/a.png")]
    [InlineData("http://0.0.0.0/a.png")]
    [InlineData("http://[::ffff:127.0.0.1]/a.png")]
    public async Task GetBytes_BlockedAddress_RefusedWithAClearErrorNamingTheField(string url)
    {
        using var client = new GuardedHttpClient(new AddressPolicy(), TimeProvider.System);

        var error = await Assert.ThrowsAsync<ReelayException>(() => FetchAsync(client, url));

        Assert.Equal("first_frame_url", error.Error.Param);
        Assert.Contains("loopback, private, link-local, metadata or multicast", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ftp://example.com/a.png", "ftp")]
    [InlineData("file:///etc/passwd", "file")]
    [InlineData("gopher://example.com/", "gopher")]
    public async Task GetBytes_NonHttpScheme_RefusedNamingTheScheme(string url, string scheme)
    {
        using var client = new GuardedHttpClient(new AddressPolicy(), TimeProvider.System);

        var error = await Assert.ThrowsAsync<ReelayException>(() => FetchAsync(client, url));

        Assert.Equal(ErrorCodes.InvalidRequest, error.Error.Code);
        Assert.Contains($"the scheme '{scheme}'; only http and https", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://10.0.0.7/internal.png")]
    [InlineData("http://169.254.169.254/latest/meta-data/iam/")]
    [InlineData("http://192.168.0.1/router.png")]
    public async Task GetBytes_RedirectToAPrivateAddress_RefusedAtTheRedirect(string target)
    {
        // The first hop is an allowlisted loopback server; its redirect to a private address must still be refused.
        using var server = await RedirectServer.StartAsync(target);
        using var client = new GuardedHttpClient(new AddressPolicy(["127.0.0.1"]), TimeProvider.System);

        var error = await Assert.ThrowsAsync<ReelayException>(() => FetchAsync(client, server.Url));

        Assert.Contains("loopback, private, link-local, metadata or multicast", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.Requests);
    }

    [Fact]
    public async Task GetBytes_AllowlistedLoopback_Fetches()
    {
        using var server = await RedirectServer.StartAsync(target: null);
        using var client = new GuardedHttpClient(new AddressPolicy(["127.0.0.1/32"]), TimeProvider.System);

        var bytes = await FetchAsync(client, server.Url);

        Assert.Equal("hello"u8.ToArray(), bytes);
    }

    [Fact]
    public async Task GetBytes_InsideATracedOperation_SendsNoTraceHeadersToTheClientsHost()
    {
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        using var source = new System.Diagnostics.ActivitySource("Reelay.Tests.Tracing");
        using var activity = source.StartActivity("request");
        Assert.NotNull(activity);
        using var server = await RedirectServer.StartAsync(target: null);
        using var client = new GuardedHttpClient(new AddressPolicy(["127.0.0.1"]), TimeProvider.System);

        await FetchAsync(client, server.Url);

        Assert.StartsWith("GET /image.png", server.LastRequest, StringComparison.Ordinal);
        Assert.DoesNotContain("traceparent", server.LastRequest, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(activity.TraceId.ToString(), server.LastRequest, StringComparison.Ordinal);
    }

    /// <summary>A one-route HTTP/1.1 server on 127.0.0.1: a 302 to <c>target</c>, or 200 "hello" when target is null.</summary>
    private sealed class RedirectServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private int _requests;

        public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/image.png";

        public int Requests => Volatile.Read(ref _requests);

        public string LastRequest { get; private set; } = "";

        public static Task<RedirectServer> StartAsync(string? target)
        {
            var server = new RedirectServer();
            server._listener.Start();
            _ = server.ServeAsync(target);
            return Task.FromResult(server);
        }

        private async Task ServeAsync(string? target)
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient tcp;
                try
                {
                    tcp = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
                {
                    return;
                }

                using (tcp)
                {
                    var stream = tcp.GetStream();
                    var buffer = new byte[4096];
                    var read = 0;
                    while (!Encoding.ASCII.GetString(buffer, 0, read).Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        var n = await stream.ReadAsync(buffer.AsMemory(read));
                        if (n == 0)
                        {
                            break;
                        }

                        read += n;
                    }

                    LastRequest = Encoding.ASCII.GetString(buffer, 0, read);
                    Interlocked.Increment(ref _requests);
                    var response = target is null
                        ? "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
                        : $"HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(response));
                }
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }
    }
}
