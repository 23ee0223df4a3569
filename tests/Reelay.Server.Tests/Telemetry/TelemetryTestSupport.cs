using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace Reelay.Server.Tests.Telemetry;

internal static class TelemetryTestSupport
{
    /// <summary>A loopback port free right now (the OS picks it).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Creates a 1 s 64x64 sandbox video through POST /v1/videos and waits until it is completed; returns its id.</summary>
    public static async Task<string> RenderSandboxVideoAsync(HttpClient http, string prompt = "A lighthouse at dawn")
    {
        using var response = await http.PostAsJsonAsync("/v1/videos", new { model = "sandbox", prompt, seconds = "1", size = "64x64" });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        var id = JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
        var until = Stopwatch.StartNew();
        while (until.Elapsed < TimeSpan.FromSeconds(60))
        {
            var status = JsonDocument.Parse(await http.GetStringAsync($"/v1/videos/{id}")).RootElement.GetProperty("status").GetString();
            if (status == "completed")
            {
                return id;
            }

            Assert.NotEqual("failed", status);
            await Task.Delay(100);
        }

        throw new TimeoutException($"video {id} did not complete");
    }

    /// <summary>Runs a program to its end with <paramref name="stdin"/>; returns its exit code and output.</summary>
    public static async Task<(int Code, string Output)> RunAsync(string program, IEnumerable<string> args, string? stdin = null)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }

    /// <summary>The full path of <paramref name="name"/> on PATH, or null.</summary>
    public static string? Find(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
