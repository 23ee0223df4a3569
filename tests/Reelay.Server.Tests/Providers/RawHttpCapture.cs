using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Reelay.Server.Tests.Providers;

/// <summary>
/// A loopback HTTP/1.1 endpoint that keeps each request exactly as it arrived on the socket (head and body bytes, chunked
/// or not) and answers every one with the same canned reply: what an upstream's parser sees, with nothing in between.
/// </summary>
internal sealed class RawHttpCapture : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Request> _requests = [];
    private readonly Task _loop;
    private readonly int _status;
    private readonly string _body;

    public RawHttpCapture(int status = 500, string body = """{"error":{"message":"captured"}}""")
    {
        _status = status;
        _body = body;
        _listener.Start();
        BaseUrl = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _loop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>A request as received: the head's text (request line and headers) and the body's bytes as sent (chunk framing kept).</summary>
    public sealed record Request(string Head, byte[] RawBody)
    {
        /// <summary>A header's value (the first), or null.</summary>
        public string? Header(string name) => Head.Split("\r\n").Skip(1)
            .Select(l => l.Split(':', 2))
            .Where(p => p.Length == 2 && p[0].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            .Select(p => p[1].Trim())
            .FirstOrDefault();

        public string BodyText => Encoding.UTF8.GetString(RawBody);
    }

    public Uri BaseUrl { get; }

    public IReadOnlyList<Request> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            var buffer = new MemoryStream();
            var chunk = new byte[8192];
            int headEnd;
            while ((headEnd = IndexOf(buffer, "\r\n\r\n"u8)) < 0)
            {
                var read = await stream.ReadAsync(chunk, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                buffer.Write(chunk, 0, read);
            }

            var all = buffer.ToArray();
            var head = Encoding.ASCII.GetString(all, 0, headEnd);
            var request = new Request(head, []);
            var body = new MemoryStream();
            body.Write(all, headEnd + 4, all.Length - headEnd - 4);
            if (long.TryParse(request.Header("Content-Length"), out var length))
            {
                while (body.Length < length)
                {
                    var read = await stream.ReadAsync(chunk, _stop.Token);
                    if (read == 0)
                    {
                        break;
                    }

                    body.Write(chunk, 0, read);
                }
            }
            else if (request.Header("Transfer-Encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true)
            {
                while (IndexOf(body, "0\r\n\r\n"u8) < 0)
                {
                    var read = await stream.ReadAsync(chunk, _stop.Token);
                    if (read == 0)
                    {
                        break;
                    }

                    body.Write(chunk, 0, read);
                }
            }

            lock (_requests)
            {
                _requests.Add(request with { RawBody = body.ToArray() });
            }

            var reply = Encoding.UTF8.GetBytes(_body);
            var answer = $"HTTP/1.1 {_status} {(_status == 200 ? "OK" : "Error")}\r\nContent-Type: application/json\r\nContent-Length: {reply.Length}\r\nConnection: close\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(answer), _stop.Token);
            await stream.WriteAsync(reply, _stop.Token);
            await stream.FlushAsync(_stop.Token);
        }
    }

    private static int IndexOf(MemoryStream stream, ReadOnlySpan<byte> needle) =>
        stream.GetBuffer().AsSpan(0, (int)stream.Length).IndexOf(needle);
}
