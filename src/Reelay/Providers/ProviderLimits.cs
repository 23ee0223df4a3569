namespace Reelay.Providers;

/// <summary>Limits shared by every adapter.</summary>
public static class ProviderLimits
{
    /// <summary>Largest result video Reelay downloads from an upstream (4 GiB).</summary>
    public const long MaxResultBytes = 4L * 1024 * 1024 * 1024;
}
