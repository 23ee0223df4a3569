namespace Reelay.Server.Dialects.OpenAI;

/// <summary>The OpenAI-compatible /v1/videos dialect.</summary>
public sealed class OpenAIDialectOptions
{
    /// <summary>The model used when a request names none (OpenAI's own default is sora-2).</summary>
    public string DefaultModel { get; set; } = "sora-2";
}
