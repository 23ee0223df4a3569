namespace Reelay.Client;

/// <summary>Settings for <see cref="ReelayClient"/>.</summary>
public sealed class ReelayClientOptions
{
    /// <summary>The default server address, the one <c>reelay serve</c> listens on.</summary>
    public static readonly Uri DefaultBaseAddress = new("http://127.0.0.1:8080/");

    /// <summary>The gateway's base address, for example <c>http://127.0.0.1:8080/</c>. Paths such as <c>v1/videos</c> are resolved below it.</summary>
    public Uri BaseAddress { get; set; } = DefaultBaseAddress;

    /// <summary>The API key sent as <c>Authorization: Bearer</c>; null sends no Authorization header.</summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// How long one API call may take (for a download: until the response headers arrive; the body then streams
    /// under the caller's cancellation token). <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> disables it.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>The clock used for timeouts and poll delays; tests may substitute one.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
