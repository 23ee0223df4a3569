namespace Reelay.Server.Hosting;

/// <summary>
/// Forwarded headers (X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host), honoured only from the listed proxies and
/// networks; with both lists empty (the default) they are ignored.
/// </summary>
public sealed class ForwardedHeadersSettings
{
    /// <summary>Addresses of trusted reverse proxies (e.g. "10.0.0.5", "::1").</summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>CIDR ranges of trusted reverse proxies (e.g. "10.0.0.0/8").</summary>
    public List<string> KnownNetworks { get; set; } = [];

    /// <summary>How many proxies in a chain are read from the headers (1: only the last hop's).</summary>
    public int ForwardLimit { get; set; } = 1;

    /// <summary>Whether any proxy is trusted, that is, whether forwarded headers are read at all.</summary>
    public bool Enabled => KnownProxies.Count > 0 || KnownNetworks.Count > 0;
}
