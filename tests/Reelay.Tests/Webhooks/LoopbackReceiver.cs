using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Reelay.Tests.Webhooks;

/// <summary>A minimal HTTP/1.1 receiver on 127.0.0.1 (port 0): records each POST and answers what <see cref="Respond"/> says.</summary>
public sealed class LoopbackReceiver : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<Received> _received = new();
    private readonly Task _loop;

    public LoopbackReceiver()
    {
        _listener.Start();
        _loop = AcceptAsync();
    }

    public sealed record Received(IReadOnlyDictionary<string, string> Headers, string Body)
    {
        public string Header(string name) => Headers.TryGetValue(name, out var v) ? v : "";
    }

    /// <summary>The status (and optional Retry-After seconds) to answer.</summary>
    public Func<Received, (int Status, int? RetryAfter)> Respond { get; set; } = _ => (200, null);

    public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/hooks?token=t0k3n");

    public IReadOnlyList<Received> All => [.. _received];

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(client));
        }
    }

    private async Task HandleAsync(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            var buffer = new List<byte>();
            var one = new byte[1];
            while (!EndsWithBlankLine(buffer) && await stream.ReadAsync(one) == 1)
            {
                buffer.Add(one[0]);
            }

            var lines = Encoding.ASCII.GetString([.. buffer]).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            var headers = lines.Skip(1).Select(l => l.Split(':', 2)).Where(p => p.Length == 2)
                .ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
            var length = headers.TryGetValue("Content-Length", out var l) ? int.Parse(l, System.Globalization.CultureInfo.InvariantCulture) : 0;
            var body = new byte[length];
            await stream.ReadExactlyAsync(body);
            var received = new Received(headers, Encoding.UTF8.GetString(body));
            _received.Enqueue(received);
            var (status, retryAfter) = Respond(received);
            var answer = $"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n{(retryAfter is { } r ? $"Retry-After: {r}\r\n" : "")}\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(answer));
        }
    }

    private static bool EndsWithBlankLine(List<byte> b) =>
        b.Count >= 4 && b[^4] == '\r' && b[^3] == '\n' && b[^2] == '\r' && b[^1] == '\n';

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _loop;
        _stop.Dispose();
    }
}
