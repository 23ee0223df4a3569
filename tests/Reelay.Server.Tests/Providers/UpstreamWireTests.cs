using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Reelay.Emulators.AimlApi;
using Reelay.Emulators.Kernel;
using Reelay.Emulators.ModelVerse;
using Reelay.Emulators.OpenAICompatible;
using Reelay.Emulators.SoraRelay;
using Reelay.Emulators.Vidu;
using Reelay.Media;
using Reelay.Providers;
using Reelay.Providers.AimlApi;
using Reelay.Providers.Http;
using Reelay.Providers.ModelVerse;
using Reelay.Providers.OpenAICompatible;
using Reelay.Providers.SoraRelay;
using Reelay.Providers.Vidu;
using Reelay.Server.Tests.Support;

namespace Reelay.Server.Tests.Providers;

/// <summary>
/// What every HTTP adapter puts on the wire, read as raw bytes on a loopback socket (no HTTP server parser in between),
/// and what their probes conclude from an upstream that answers errors to everything.
/// </summary>
public sealed partial class UpstreamWireTests
{
    public static TheoryData<string> JsonTypes => ["modelverse", "aimlapi", "sora-relay", "vidu"];

    public static TheoryData<string, string> AllTypesAndFaults
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var type in new[] { "modelverse", "aimlapi", "sora-relay", "openai", "vidu" })
            {
                foreach (var fault in new[] { "server_error", "rate_limit", "hang" })
                {
                    data.Add(type, fault);
                }
            }

            return data;
        }
    }

    private static IProviderFactory Factory(string type) => type switch
    {
        "modelverse" => new ModelVerseProviderFactory(),
        "aimlapi" => new AimlApiProviderFactory(),
        "sora-relay" => new SoraRelayProviderFactory(),
        "openai" => new OpenAICompatibleProviderFactory(),
        "vidu" => new ViduProviderFactory(),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    private static ProviderJob TextJob(string type) => type switch
    {
        "modelverse" => AdapterUnderTest.Job("sora-2", "openai/sora-2/text-to-video", 1280, 720),
        "aimlapi" => AdapterUnderTest.Job("sora-2", "openai/sora-2-t2v", 1280, 720),
        "sora-relay" => AdapterUnderTest.Job("sora-2", "sora-2", 1280, 720),
        "openai" => AdapterUnderTest.Job("sora-2", "sora-2", 1280, 720),
        "vidu" => AdapterUnderTest.Job("viduq2", "viduq2", 1280, 720, resolution: "720p"),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>An adapter of <paramref name="type"/> pointed at <paramref name="baseUrl"/>.</summary>
    private sealed class Adapter : IDisposable
    {
        private readonly UpstreamHttpClient _http;
        private readonly string _temp = Path.Combine(Path.GetTempPath(), "reelay-wire-" + Guid.NewGuid().ToString("N"));

        public Adapter(string type, Uri baseUrl, string apiKey = "capture-key-0123456789", TimeSpan? timeout = null)
        {
            var options = new ProviderInstanceOptions
            {
                Type = type,
                BaseUrl = baseUrl.AbsoluteUri,
                ApiKey = apiKey,
                Timeout = timeout ?? TimeSpan.FromSeconds(10),
                MaxRequestsPerSecond = 0,
            };
            _http = new UpstreamHttpClient("up", baseUrl, options.Timeout, 0, TimeProvider.System);
            var frames = new FirstFrames(new MediaTransforms(new FfmpegRunner()), _temp);
            Provider = Factory(type).Create("up", options, new ProviderServices(_http, frames, TimeProvider.System, NullLoggerFactory.Instance));
        }

        public IVideoProvider Provider { get; }

        public void Dispose()
        {
            _http.Dispose();
            ReelayTestServer.TryDeleteDirectory(_temp);
        }
    }

    [Theory]
    [MemberData(nameof(JsonTypes))]
    public async Task Submit_JsonBody_SentWithAContentLengthNeverChunked(string type)
    {
        await using var upstream = new RawHttpCapture(status: 503);
        using var adapter = new Adapter(type, upstream.BaseUrl);

        await adapter.Provider.SubmitAsync(TextJob(type), CancellationToken.None);

        var sent = Assert.Single(upstream.Requests);
        Assert.StartsWith("POST ", sent.Head, StringComparison.Ordinal);
        Assert.Null(sent.Header("Transfer-Encoding"));
        Assert.Equal(sent.RawBody.Length.ToString(CultureInfo.InvariantCulture), sent.Header("Content-Length"));
        Assert.StartsWith("application/json", sent.Header("Content-Type"), StringComparison.Ordinal);
        using var json = JsonDocument.Parse(sent.RawBody); // the bytes are the JSON itself, no chunk framing
        Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
    }

    [Fact]
    public async Task Submit_OpenAIMultipart_NamesAndFileNameQuotedAsTheSdksSendThem()
    {
        await using var upstream = new RawHttpCapture(status: 503);
        using var adapter = new Adapter("openai", upstream.BaseUrl);
        var image = await TestFiles.ImageAsync(1280, 720);

        await adapter.Provider.SubmitAsync(AdapterUnderTest.Job("sora-2", "sora-2", 1280, 720, 8, image), CancellationToken.None);

        var sent = Assert.Single(upstream.Requests);
        Assert.StartsWith("POST /videos ", sent.Head, StringComparison.Ordinal);
        Assert.Null(sent.Header("Transfer-Encoding"));
        Assert.Equal(sent.RawBody.Length.ToString(CultureInfo.InvariantCulture), sent.Header("Content-Length"));
        var contentType = BoundaryHeader().Match(sent.Header("Content-Type") ?? "");
        Assert.True(contentType.Success, sent.Header("Content-Type")); // boundary=token, unquoted, as the SDKs send it
        var boundary = contentType.Groups[1].Value;

        var body = sent.BodyText;
        Assert.StartsWith($"--{boundary}\r\n", body, StringComparison.Ordinal);
        Assert.EndsWith($"\r\n--{boundary}--\r\n", body, StringComparison.Ordinal);
        foreach (var (name, value) in new[] { ("model", "sora-2"), ("prompt", "a lighthouse at dusk"), ("seconds", "8"), ("size", "1280x720") })
        {
            Assert.Contains($"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n", body, StringComparison.Ordinal);
        }

        var file = body.Split($"--{boundary}\r\n").Single(p => p.Contains("name=\"input_reference\"", StringComparison.Ordinal));
        var headers = file[..file.IndexOf("\r\n\r\n", StringComparison.Ordinal)].Split("\r\n");
        Assert.Equal(["Content-Disposition: form-data; name=\"input_reference\"; filename=\"first-frame.png\"", "Content-Type: image/png"], headers.Order(StringComparer.Ordinal));
        Assert.DoesNotContain("filename*", body, StringComparison.Ordinal);
        Assert.DoesNotMatch(UnquotedName(), body);
    }

    [Theory]
    [MemberData(nameof(AllTypesAndFaults))]
    public async Task Probe_UpstreamFailingEverything_FailsSayingTheKeyWasNotVerified_ThenAcceptedOnceHealthy(string type, string fault)
    {
        await using var emulator = Emulator(type);
        await emulator.StartAsync();
        var baseUrl = type == "openai" ? new Uri(emulator.BaseUrl, "v1/") : emulator.BaseUrl;
        using var adapter = new Adapter(type, baseUrl, emulator.Options.ApiKey, TimeSpan.FromSeconds(1));

        // Through the emulator's own control endpoint, as an operator would.
        using (var control = new HttpClient())
        {
            using var queued = await control.PostAsJsonAsync(new Uri(emulator.BaseUrl, "_emulator/faults"), new { fault, scope = "any", times = 1, status = 500 });
            Assert.True(queued.IsSuccessStatusCode, await queued.Content.ReadAsStringAsync());
        }

        var failed = await adapter.Provider.ProbeAsync(CancellationToken.None);

        Assert.False(failed.Ok, failed.Detail);
        Assert.Contains("the API key was not verified", failed.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("accepted", failed.Detail, StringComparison.Ordinal);
        var healthy = await adapter.Provider.ProbeAsync(CancellationToken.None);
        Assert.True(healthy.Ok, healthy.Detail);
        Assert.Contains("accepted", healthy.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(JsonTypes))]
    public async Task Probe_WrongKey_RefusedEvenThoughTheUpstreamIsHealthy(string type)
    {
        await using var emulator = Emulator(type);
        await emulator.StartAsync();
        using var adapter = new Adapter(type, emulator.BaseUrl, "wrong-key-0123456789abc");

        var probe = await adapter.Provider.ProbeAsync(CancellationToken.None);

        Assert.False(probe.Ok);
        Assert.Contains("the API key was refused (HTTP 401)", probe.Detail, StringComparison.Ordinal);
    }

    private static UpstreamEmulator Emulator(string type)
    {
        var options = new EmulatorOptions { ApiKey = "emulated-key-0123456789" };
        return type switch
        {
            "modelverse" => new ModelVerseEmulator(options),
            "aimlapi" => new AimlApiEmulator(options),
            "sora-relay" => new SoraRelayEmulator(options),
            "openai" => new OpenAICompatibleEmulator(options),
            "vidu" => new ViduEmulator(options),
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        };
    }

    [GeneratedRegex("^multipart/form-data; boundary=([0-9A-Za-z'()+_,./:=?-]+)$")]
    private static partial Regex BoundaryHeader();

    [GeneratedRegex("name=[^\"]")]
    private static partial Regex UnquotedName();
}
