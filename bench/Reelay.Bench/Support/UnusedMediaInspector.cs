using Reelay.Engine;

namespace Reelay.Bench.Support;

/// <summary>The scheduler needs a media inspector only to finalize results, which no benchmark job reaches.</summary>
internal sealed class UnusedMediaInspector : IMediaInspector
{
    public Task<VideoFacts?> ProbeAsync(string path, CancellationToken cancellationToken) =>
        throw new NotSupportedException("No benchmark job finishes.");

    public Task<bool> CreateThumbnailAsync(string videoPath, string outputPath, CancellationToken cancellationToken) =>
        throw new NotSupportedException("No benchmark job finishes.");
}
