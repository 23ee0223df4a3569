using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Reelay.Server.Tests.Support;

/// <summary>
/// A real nginx (Debian's package, installed by scripts/prereqs.sh test) with a private configuration under a temp prefix,
/// listening on 127.0.0.1 and a free port, in the foreground as this process's child; killed and its prefix deleted on dispose.
/// </summary>
internal sealed class NginxProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _prefix;

    private NginxProcess(Process process, string prefix, int port)
    {
        _process = process;
        _prefix = prefix;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
    }

    public Uri BaseAddress { get; }

    /// <summary>The nginx executable, or null when it is not installed.</summary>
    public static string? Find() =>
        new[] { "/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx" }.FirstOrDefault(File.Exists);

    /// <summary>Starts nginx with <paramref name="server"/> as the body of its one server block (after its listen line).</summary>
    public static async Task<NginxProcess> StartAsync(string server)
    {
        var nginx = Find() ?? throw new InvalidOperationException("nginx is not installed; scripts/prereqs.sh test installs it.");
        var prefix = Path.Combine(Path.GetTempPath(), "reelay-nginx-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(prefix, "tmp"));
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            await File.WriteAllTextAsync(Path.Combine(prefix, "nginx.conf"), Config(prefix, port, server));
            var start = new ProcessStartInfo(nginx) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var arg in new[] { "-p", prefix + "/", "-c", Path.Combine(prefix, "nginx.conf"), "-e", Path.Combine(prefix, "error.log") })
            {
                start.ArgumentList.Add(arg);
            }

            var process = Process.Start(start)!;
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (await ListeningAsync(process, port))
            {
                return new NginxProcess(process, prefix, port);
            }

            Kill(process);
            if (attempt == 3)
            {
                var log = File.Exists(Path.Combine(prefix, "error.log")) ? await File.ReadAllTextAsync(Path.Combine(prefix, "error.log")) : "";
                ReelayTestServer.TryDeleteDirectory(prefix);
                throw new InvalidOperationException($"nginx did not start: {log}");
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill(_process);
        ReelayTestServer.TryDeleteDirectory(_prefix);
        return ValueTask.CompletedTask;
    }

    private static string Config(string prefix, int port, string server)
    {
        // As root, workers would switch to 'nobody', who cannot read the owner-only temp folders.
        var user = Environment.IsPrivilegedProcess ? "user root;" : "";
        return $$"""
            {{user}}
            daemon off;
            master_process on;
            worker_processes 1;
            pid {{prefix}}/nginx.pid;
            error_log {{prefix}}/error.log warn;
            events { worker_connections 256; }
            http {
                access_log off;
                server_tokens off;
                sendfile on;
                client_body_temp_path {{prefix}}/tmp/body;
                proxy_temp_path {{prefix}}/tmp/proxy;
                fastcgi_temp_path {{prefix}}/tmp/fastcgi;
                uwsgi_temp_path {{prefix}}/tmp/uwsgi;
                scgi_temp_path {{prefix}}/tmp/scgi;
                server {
                    listen 127.0.0.1:{{port}};
                    {{server}}
                }
            }
            """;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<bool> ListeningAsync(Process process, int port)
    {
        for (var i = 0; i < 50 && !process.HasExited; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        return false;
    }

    private static void Kill(Process process)
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

        process.Dispose();
    }
}
