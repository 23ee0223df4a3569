using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;

namespace Reelay.Bench.Support;

/// <summary>
/// `reelay serve` as its own process (dotnet Reelay.Cli.dll serve) on 127.0.0.1 with a run-time port, so it can be killed
/// without warning (SIGKILL) and started again on the same data folder.
/// </summary>
internal sealed partial class ServeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output;
    private volatile bool _stopping;

    private ServeProcess(Process process, StringBuilder output, Uri baseAddress, string key)
    {
        _process = process;
        _output = output;
        BaseAddress = baseAddress;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
    }

    public Uri BaseAddress { get; }

    /// <summary>A client authenticated with the admin key.</summary>
    public HttpClient Http { get; }

    /// <summary>The default: the Reelay.Cli.dll built next to the benchmark.</summary>
    public static string DefaultDll => Path.Combine(AppContext.BaseDirectory, "Reelay.Cli.dll");

    /// <summary>
    /// Starts `reelay serve`. By default its log is turned down to Warning and kept; with <paramref name="defaultLogging"/>
    /// it logs as a user's `./run.sh` does (one line per request), and the output after the ready line is drained as bytes,
    /// as a log collector reading a pipe would, so that a long load test does not fill this process's memory.
    /// </summary>
    public static async Task<ServeProcess> StartAsync(string dll, string data, string key, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken, bool defaultLogging = false)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { dll, "serve", "--urls", "http://127.0.0.1:0", "--data", data })
        {
            psi.ArgumentList.Add(arg);
        }

        psi.Environment["REELAY_ADMIN_KEY"] = key;
        if (!defaultLogging)
        {
            psi.Environment["Logging__LogLevel__Default"] = "Warning";
        }

        foreach (var (name, value) in environment)
        {
            psi.Environment[name] = value;
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("dotnet did not start");
        var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new StringBuilder();
        _ = Task.Run(async () =>
        {
            var stdout = process.StandardOutput;
            while (await stdout.ReadLineAsync() is { } line)
            {
                lock (output)
                {
                    output.AppendLine(line);
                }

                if (ReadyLine().Match(line) is { Success: true } m)
                {
                    ready.TrySetResult(new Uri(m.Groups[1].Value));
                    if (defaultLogging)
                    {
                        // From here the log is drained as bytes, as a log collector reading a pipe does (journald, a
                        // container runtime): splitting it into .NET strings here would bill this process's cost to Reelay.
                        await stdout.BaseStream.CopyToAsync(Stream.Null);
                        return;
                    }
                }
            }
        });
        process.ErrorDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        try
        {
            var address = await ready.Task.WaitAsync(TimeSpan.FromSeconds(90), cancellationToken);
            return new ServeProcess(process, output, address, key);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException("reelay serve did not get ready: " + output);
        }
    }

    /// <summary>Its output so far (stdout and stderr: the log, at Warning unless started with the default logging).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>True when the process ended without <see cref="Kill"/> or <see cref="DisposeAsync"/> ending it: a crash.</summary>
    public bool ExitedUnexpectedly => !_stopping && _process.HasExited;

    /// <summary>The exit code once it has exited, else null.</summary>
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>Counts lines of its output (logs) containing <paramref name="text"/>.</summary>
    public int OutputLines(string text)
    {
        lock (_output)
        {
            return _output.ToString().Split('\n').Count(l => l.Contains(text, StringComparison.Ordinal));
        }
    }

    /// <summary>SIGKILL, as a crash would: no shutdown, nothing flushed beyond what was committed.</summary>
    public void Kill()
    {
        _stopping = true;
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"Reelay is ready on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ReadyLine();
}
