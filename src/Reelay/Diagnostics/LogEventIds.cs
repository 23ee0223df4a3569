namespace Reelay.Diagnostics;

/// <summary>
/// The one registry of the event ids of Reelay's log messages (<c>[LoggerMessage]</c>). Each module owns a contiguous
/// block of <see cref="BlockSize"/> ids starting at its base, and every log method of the module uses
/// <c>LogEventIds.&lt;Module&gt; + n</c>. The ids are stable within a release but are not a public contract yet.
/// </summary>
/// <remarks>
/// A new module adds a base here and a row to <see cref="Blocks"/>; a test fails on a duplicate id and on an id
/// outside the block of the namespace that declares it.
/// </remarks>
public static class LogEventIds
{
    /// <summary>How many ids each module's block holds.</summary>
    public const int BlockSize = 100;

    /// <summary>1000-1099: the job engine (<c>Reelay.Engine</c>).</summary>
    public const int Engine = 1000;

    /// <summary>1500-1599: the nodes of a cluster (<c>Reelay.Cluster</c>): signals, provider slots.</summary>
    public const int Cluster = 1500;

    /// <summary>2000-2099: the ASP.NET host (<c>Reelay.Server.Hosting</c>).</summary>
    public const int Server = 2000;

    /// <summary>2100-2199: live job event streams (<c>Reelay.Server.Events</c>).</summary>
    public const int Events = 2100;

    /// <summary>2900-2999: request logging and telemetry (<c>Reelay.Server.Telemetry</c>).</summary>
    public const int Telemetry = 2900;

    /// <summary>2300-2399: webhook delivery (<c>Reelay.Webhooks</c>).</summary>
    public const int Webhooks = 2300;

    /// <summary>3000-3099: charges and billing (<c>Reelay.Accounts</c>).</summary>
    public const int Billing = 3000;

    /// <summary>3100-3199: the ModelVerse provider (<c>Reelay.Providers.ModelVerse</c>).</summary>
    public const int ModelVerse = 3100;

    /// <summary>3200-3299: the AI/ML API provider (<c>Reelay.Providers.AimlApi</c>).</summary>
    public const int AimlApi = 3200;

    /// <summary>3300-3399: the Sora relay provider (<c>Reelay.Providers.SoraRelay</c>).</summary>
    public const int SoraRelay = 3300;

    /// <summary>3400-3499: the OpenAI-compatible provider (<c>Reelay.Providers.OpenAICompatible</c>).</summary>
    public const int OpenAICompatible = 3400;

    /// <summary>3500-3599: the Vidu provider (<c>Reelay.Providers.Vidu</c>).</summary>
    public const int Vidu = 3500;

    /// <summary>3600-3699: the local sandbox renderer (<c>Reelay.Providers.Sandbox</c>).</summary>
    public const int Sandbox = 3600;

    /// <summary>3800-3899: the Seedance provider (<c>Reelay.Providers.Seedance</c>).</summary>
    public const int Seedance = 3800;

    /// <summary>3900-3999: the Kling provider (<c>Reelay.Providers.Kling</c>).</summary>
    public const int Kling = 3900;

    /// <summary>4000-4099: the Veo provider (<c>Reelay.Providers.Veo</c>).</summary>
    public const int Veo = 4000;

    /// <summary>4100-4199: the fal.ai queue provider (<c>Reelay.Providers.Fal</c>).</summary>
    public const int Fal = 4100;

    /// <summary>4200-4299: the Alibaba DashScope (Wan) provider (<c>Reelay.Providers.DashScope</c>).</summary>
    public const int DashScope = 4200;

    /// <summary>4500-4599: ffmpeg and media tools (<c>Reelay.Media</c>).</summary>
    public const int Media = 4500;

    /// <summary>4600-4699: result storage and retention (<c>Reelay.Results</c>).</summary>
    public const int Results = 4600;

    /// <summary>2400-2499: provider callbacks (<c>Reelay.Server.Callbacks</c>).</summary>
    public const int Callbacks = 2400;

    /// <summary>4700-4799: routing and provider circuits (<c>Reelay.Routing</c>).</summary>
    public const int Routing = 4700;

    /// <summary>Every block, with the namespace whose log methods use it (sub-namespaces included).</summary>
    public static IReadOnlyList<LogEventIdBlock> Blocks { get; } =
    [
        new("Engine", "Reelay.Engine", Engine),
        new("Cluster", "Reelay.Cluster", Cluster),
        new("Server", "Reelay.Server.Hosting", Server),
        new("Events", "Reelay.Server.Events", Events),
        new("Telemetry", "Reelay.Server.Telemetry", Telemetry),
        new("Webhooks", "Reelay.Webhooks", Webhooks),
        new("Billing", "Reelay.Accounts", Billing),
        new("ModelVerse", "Reelay.Providers.ModelVerse", ModelVerse),
        new("AimlApi", "Reelay.Providers.AimlApi", AimlApi),
        new("SoraRelay", "Reelay.Providers.SoraRelay", SoraRelay),
        new("OpenAICompatible", "Reelay.Providers.OpenAICompatible", OpenAICompatible),
        new("Vidu", "Reelay.Providers.Vidu", Vidu),
        new("Sandbox", "Reelay.Providers.Sandbox", Sandbox),
        new("Seedance", "Reelay.Providers.Seedance", Seedance),
        new("Kling", "Reelay.Providers.Kling", Kling),
        new("Veo", "Reelay.Providers.Veo", Veo),
        new("Fal", "Reelay.Providers.Fal", Fal),
        new("DashScope", "Reelay.Providers.DashScope", DashScope),
        new("Media", "Reelay.Media", Media),
        new("Results", "Reelay.Results", Results),
        new("Routing", "Reelay.Routing", Routing),
        new("Callbacks", "Reelay.Server.Callbacks", Callbacks),
    ];
}

/// <summary>One module's block of log event ids: <see cref="First"/> to <see cref="Last"/> inclusive.</summary>
/// <param name="Name">The module, as named in <see cref="LogEventIds"/>.</param>
/// <param name="Namespace">The namespace whose log methods use the block; its sub-namespaces use it too.</param>
/// <param name="First">The first id of the block (the module's base).</param>
public sealed record LogEventIdBlock(string Name, string Namespace, int First)
{
    /// <summary>The last id of the block.</summary>
    public int Last => First + LogEventIds.BlockSize - 1;

    /// <summary>Whether <paramref name="eventId"/> falls inside the block.</summary>
    public bool Contains(int eventId) => eventId >= First && eventId <= Last;

    /// <summary>Whether log methods declared in <paramref name="ns"/> use this block.</summary>
    public bool Covers(string? ns) =>
        ns is not null && (ns == Namespace || ns.StartsWith(Namespace + ".", StringComparison.Ordinal));
}
