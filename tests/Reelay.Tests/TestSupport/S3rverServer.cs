using System.Diagnostics;
using System.Text.Json;
using Reelay.Results.S3;

namespace Reelay.Tests.TestSupport;

/// <summary>
/// A real S3-protocol server for tests: s3rver (npm, from tests/js/node_modules) on 127.0.0.1 with a free port and a
/// private temporary folder, started through tests/js/s3rver-server.mjs and stopped (its stdin closed, else killed) at
/// dispose. Use it as an xunit class fixture. Needs node and <c>npm ci</c> in tests/js (test.sh runs it).
/// </summary>
public sealed class S3rverServer : IAsyncDisposable, IDisposable
{
    /// <summary>s3rver's fixed credentials (it checks signatures made with them).</summary>
    public const string AccessKey = "S3RVER";

    private readonly Process _process;
    private readonly string _directory;
    private int _bucketCount;

    public S3rverServer()
    {
        var js = FindTestsJs();
        _directory = Path.Combine(Path.GetTempPath(), "reelay-s3rver-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(_directory);
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = js,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(js, "s3rver-server.mjs"));
        start.ArgumentList.Add(_directory);
        _process = Process.Start(start) ?? throw new InvalidOperationException("node could not be started.");
        var line = _process.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(30)) || line.Result is null)
        {
            var error = _process.HasExited ? _process.StandardError.ReadToEnd() : "no answer within 30 s";
            Dispose();
            throw new InvalidOperationException("s3rver did not start: " + error);
        }

        using var ready = JsonDocument.Parse(line.Result);
        Url = new Uri(ready.RootElement.GetProperty("url").GetString()!);
    }

    /// <summary>The server's address, e.g. http://127.0.0.1:40123.</summary>
    public Uri Url { get; }

    /// <summary>The folder s3rver keeps its buckets in.</summary>
    public string Directory => _directory;

    /// <summary>Options for a store over a new bucket (created on first use) on this server.</summary>
    public S3StorageOptions NewBucketOptions(string? keyPrefix = null) => new()
    {
        ServiceUrl = Url.ToString().TrimEnd('/'),
        Bucket = $"reelay-test-{Interlocked.Increment(ref _bucketCount)}-{Guid.NewGuid():N}"[..40].TrimEnd('-'),
        AccessKeyId = AccessKey,
        SecretAccessKey = AccessKey,
        CreateBucket = true,
        KeyPrefix = keyPrefix,
    };

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.Close();
                if (!_process.WaitForExit(5000))
                {
                    _process.Kill();
                    _process.WaitForExit(5000);
                }
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string FindTestsJs()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var js = Path.Combine(dir.FullName, "tests", "js");
            if (File.Exists(Path.Combine(js, "s3rver-server.mjs")))
            {
                return System.IO.Directory.Exists(Path.Combine(js, "node_modules", "s3rver"))
                    ? js
                    : throw new InvalidOperationException($"s3rver is not installed: run 'npm ci' in {js} (test.sh does).");
            }
        }

        throw new InvalidOperationException("tests/js/s3rver-server.mjs was not found above " + AppContext.BaseDirectory);
    }
}
