using System.Diagnostics;
using System.Net.Sockets;

namespace Reelay.Bench.Support;

/// <summary>
/// A second baseline, when nginx is installed: nginx serving the same JSON as a static file, with a private
/// configuration under a temp prefix, on 127.0.0.1 and a free port, in the foreground as this process's child.
/// Stopped (and its prefix deleted) on dispose.
/// </summary>
internal sealed class NginxServer : IAsyncDisposable
{
    private readonly string _nginx;
    private readonly TempDirectory _prefix;
    private readonly Process _process;

    private NginxServer(string nginx, TempDirectory prefix, Process process, int port)
    {
        _nginx = nginx;
        _prefix = prefix;
        _process = process;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
    }

    public Uri BaseAddress { get; }

    public static string? Find() => Executables.Find("nginx");

    /// <param name="nginx">The nginx executable.</param>
    /// <param name="path">The URL path to serve, e.g. /v1/videos/video_1.</param>
    /// <param name="json">The file's content.</param>
    public static async Task<NginxServer> StartAsync(string nginx, string path, string json, CancellationToken cancellationToken)
    {
        var prefix = TempDirectory.Create("reelay-bench-nginx-");
        try
        {
            var www = Path.Combine(prefix.Path, "www");
            var file = Path.Combine(www, path.TrimStart('/').Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            await File.WriteAllTextAsync(file, json, cancellationToken);
            return await StartAsync(nginx, prefix, $"root {www};", cancellationToken);
        }
        catch
        {
            prefix.Dispose();
            throw;
        }
    }

    /// <summary>Starts nginx with <paramref name="server"/> as the body of its one server block (after its listen line) and <paramref name="http"/> before it (e.g. an upstream block).</summary>
    public static async Task<NginxServer> StartWithServerAsync(string nginx, string server, CancellationToken cancellationToken, string http = "")
    {
        var prefix = TempDirectory.Create("reelay-bench-nginx-");
        try
        {
            return await StartAsync(nginx, prefix, server, cancellationToken, http);
        }
        catch
        {
            prefix.Dispose();
            throw;
        }
    }

    private static async Task<NginxServer> StartAsync(string nginx, TempDirectory prefix, string server, CancellationToken cancellationToken, string http = "")
    {
        Directory.CreateDirectory(Path.Combine(prefix.Path, "tmp"));
        for (var attempt = 1; ; attempt++)
        {
            var port = Executables.FreeLoopbackPort();
            var config = Path.Combine(prefix.Path, "nginx.conf");
            await File.WriteAllTextAsync(config, Config(prefix.Path, server, port, http), cancellationToken);
            var start = new ProcessStartInfo(nginx) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var arg in Arguments(prefix.Path))
            {
                start.ArgumentList.Add(arg);
            }

            var process = Process.Start(start) ?? throw new InvalidOperationException("nginx did not start.");
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            bool listening;
            try
            {
                listening = await WaitUntilListeningAsync(process, port, cancellationToken);
            }
            catch
            {
                KillTree(process);
                process.Dispose();
                throw;
            }

            if (listening)
            {
                return new NginxServer(nginx, prefix, process, port);
            }

            var log = File.Exists(Path.Combine(prefix.Path, "error.log")) ? await File.ReadAllTextAsync(Path.Combine(prefix.Path, "error.log"), cancellationToken) : "";
            KillTree(process);
            process.Dispose();
            if (attempt == 3)
            {
                throw new InvalidOperationException($"nginx did not start listening on 127.0.0.1:{port}. {log}".Trim());
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            // Fast shutdown through the pid file (TERM to the master, which stops its workers); kill the tree if that fails.
            var stop = new ProcessStartInfo(_nginx) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var arg in Arguments(_prefix.Path).Append("-s").Append("stop"))
            {
                stop.ArgumentList.Add(arg);
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            using (var stopper = Process.Start(stop))
            {
                if (stopper is not null)
                {
                    await stopper.WaitForExitAsync(wait.Token);
                }
            }

            await _process.WaitForExitAsync(wait.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            KillTree(_process);
        }
        finally
        {
            _process.Dispose();
            _prefix.Dispose();
        }
    }

    private static IEnumerable<string> Arguments(string prefix) =>
        ["-p", prefix + "/", "-c", Path.Combine(prefix, "nginx.conf"), "-e", Path.Combine(prefix, "error.log")];

    private static string Config(string prefix, string server, int port, string http = "")
    {
        // As root, workers would switch to 'nobody', who cannot read the owner-only temp prefix.
        var user = Environment.IsPrivilegedProcess ? "user root;" : "";
        return $$"""
            {{user}}
            daemon off;
            master_process on;
            worker_processes auto;
            pid {{prefix}}/nginx.pid;
            error_log {{prefix}}/error.log warn;
            events { worker_connections 4096; }
            http {
                access_log off;
                server_tokens off;
                sendfile on;
                tcp_nopush on;
                etag off;
                keepalive_requests 1000000;
                default_type application/json;
                charset utf-8;
                charset_types application/json;
                client_body_temp_path {{prefix}}/tmp/body;
                proxy_temp_path {{prefix}}/tmp/proxy;
                fastcgi_temp_path {{prefix}}/tmp/fastcgi;
                uwsgi_temp_path {{prefix}}/tmp/uwsgi;
                scgi_temp_path {{prefix}}/tmp/scgi;
                {{http}}
                server {
                    listen 127.0.0.1:{{port}};
                    {{server}}
                }
            }
            """;
    }

    private static async Task<bool> WaitUntilListeningAsync(Process process, int port, CancellationToken cancellationToken)
    {
        for (var i = 0; i < 50; i++)
        {
            if (process.HasExited)
            {
                return false;
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port, cancellationToken);
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(100, cancellationToken);
            }
        }

        return false;
    }

    private static void KillTree(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }
}
