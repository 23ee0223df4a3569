using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Reelay.Emulators.Kernel;
using Reelay.Jobs;
using Reelay.Media;
using Reelay.Providers;
using Reelay.Providers.Http;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers;

/// <summary>An adapter wired to a started emulator, for adapter-level tests (no engine).</summary>
public sealed class AdapterUnderTest : IAsyncDisposable
{
    private readonly UpstreamHttpClient _http;
    private readonly string _temp;

    private AdapterUnderTest(IVideoProvider provider, UpstreamHttpClient http, string temp)
    {
        Provider = provider;
        _http = http;
        _temp = temp;
    }

    public IVideoProvider Provider { get; }

    public long RequestCount => _http.RequestCount;

    /// <summary>Creates the adapter against <paramref name="emulator"/> (started), with the emulator's key unless <paramref name="configure"/> changes it.</summary>
    public static AdapterUnderTest Create(IProviderFactory factory, UpstreamEmulator emulator, Action<ProviderInstanceOptions>? configure = null, string name = "upstream")
    {
        var options = new ProviderInstanceOptions
        {
            Type = factory.Type,
            BaseUrl = emulator.ApiBaseUrl.AbsoluteUri,
            ApiKey = emulator.Options.ApiKey,
            Timeout = TimeSpan.FromSeconds(10),
            MaxRequestsPerSecond = 0,
            PollInterval = TimeSpan.FromMilliseconds(100),
            MaxPollInterval = TimeSpan.FromMilliseconds(500),
        };
        configure?.Invoke(options);
        var temp = Path.Combine(Path.GetTempPath(), "reelay-adapter-" + Guid.NewGuid().ToString("N"));
        var http = new UpstreamHttpClient(name, new Uri(options.BaseUrl!), options.Timeout, options.MaxRequestsPerSecond, TimeProvider.System);
        var frames = new FirstFrames(new MediaTransforms(new FfmpegRunner()), temp);
        var provider = factory.Create(name, options, new ProviderServices(http, frames, TimeProvider.System, NullLoggerFactory.Instance));
        return new AdapterUnderTest(provider, http, temp);
    }

    /// <summary>A provider job for <paramref name="upstreamModel"/>; <paramref name="image"/> makes it image-to-video.</summary>
    public static ProviderJob Job(string model, string upstreamModel, int width, int height, int seconds = 4, byte[]? image = null, string prompt = "a lighthouse at dusk", IReadOnlyDictionary<string, string>? options = null, string? resolution = null, string? upstreamId = null)
    {
        var now = DateTimeOffset.UtcNow;
        var job = new Job
        {
            Id = Reelay.Jobs.Job.NewId(),
            Owner = "test",
            Model = model,
            Mode = image is null ? VideoMode.TextToVideo : VideoMode.ImageToVideo,
            Prompt = prompt,
            DurationSeconds = seconds,
            Width = width,
            Height = height,
            Resolution = resolution,
            Options = options ?? new Dictionary<string, string>(),
            InputImageKey = image is null ? null : "inputs/x.png",
            Status = JobStatus.Submitting,
            CreatedAt = now,
            UpdatedAt = now,
            Deadline = now.AddMinutes(10),
            UpstreamModel = upstreamModel,
            UpstreamId = upstreamId,
        };
        return new ProviderJob
        {
            Job = job,
            UpstreamModel = upstreamModel,
            OpenFirstFrame = image is null ? null : _ => Task.FromResult<Stream>(new MemoryStream(image)),
        };
    }

    /// <summary>Polls until the outcome is terminal (or 30 s pass), returning it.</summary>
    public async Task<PollOutcome> PollUntilDoneAsync(ProviderJob job, string upstreamId)
    {
        var running = new ProviderJob { Job = job.Job with { UpstreamId = upstreamId }, UpstreamModel = job.UpstreamModel, OpenFirstFrame = job.OpenFirstFrame };
        var until = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var outcome = await Provider.PollAsync(running, CancellationToken.None);
            if (outcome is PollOutcome.Succeeded or PollOutcome.Failed || DateTime.UtcNow > until)
            {
                return outcome;
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        try
        {
            Directory.Delete(_temp, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }

        await Task.CompletedTask;
    }
}

/// <summary>A real Reelay gateway routed to emulators.</summary>
public static class GatewayWithEmulators
{
    /// <summary>Settings that configure <paramref name="emulator"/> as provider instance <paramref name="name"/>.</summary>
    public static Dictionary<string, string?> Instance(string name, string type, UpstreamEmulator emulator, string? apiKey = null) => new()
    {
        [$"Reelay:Providers:{name}:Type"] = type,
        [$"Reelay:Providers:{name}:BaseUrl"] = emulator.ApiBaseUrl.AbsoluteUri,
        [$"Reelay:Providers:{name}:ApiKey"] = apiKey ?? emulator.Options.ApiKey,
        [$"Reelay:Providers:{name}:PollInterval"] = "00:00:00.200",
        [$"Reelay:Providers:{name}:MaxPollInterval"] = "00:00:00.500",
        [$"Reelay:Providers:{name}:Timeout"] = "00:00:05",
        [$"Reelay:Providers:{name}:MaxRequestsPerSecond"] = "0",
    };

    /// <summary>Merges setting dictionaries.</summary>
    public static Dictionary<string, string?> Merge(params Dictionary<string, string?>[] parts)
    {
        var all = new Dictionary<string, string?>();
        foreach (var part in parts)
        {
            foreach (var (k, v) in part)
            {
                all[k] = v;
            }
        }

        return all;
    }

    /// <summary>Creates a video through the OpenAI dialect (JSON) and returns its id.</summary>
    public static async Task<string> CreateAsync(ReelayTestServer server, object body)
    {
        using var response = await server.Http.PostAsJsonAsync("/v1/videos", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"create failed: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>Polls GET /v1/videos/{id} until completed or failed (60 s at most) and returns the video object.</summary>
    public static async Task<JsonElement> WaitAsync(ReelayTestServer server, string id, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var video = JsonDocument.Parse(await server.Http.GetStringAsync($"/v1/videos/{id}")).RootElement;
            var status = video.GetProperty("status").GetString();
            if (status is "completed" or "failed")
            {
                return video;
            }

            Assert.True(DateTime.UtcNow < until, $"video {id} still {status} after the timeout");
            await Task.Delay(150);
        }
    }

    /// <summary>Downloads the content and returns ffprobe's "width,height,duration" of it.</summary>
    public static async Task<string> ProbeContentAsync(ReelayTestServer server, string id)
    {
        var file = Path.Combine(Path.GetTempPath(), $"reelay-content-{Guid.NewGuid():N}.mp4");
        try
        {
            await File.WriteAllBytesAsync(file, await server.Http.GetByteArrayAsync($"/v1/videos/{id}/content"));
            return await TestFiles.FfprobeAsync(file, "stream=width,height:format=duration");
        }
        finally
        {
            File.Delete(file);
        }
    }
}
