using Reelay.Jobs;

namespace Reelay.Providers;

/// <summary>
/// Characters for upstreams without a character API of their own but with reference images (the catalog's mode
/// <c>reference</c>: Seedance, Veo): each character's still (the image, or one frame of a video character) becomes one
/// more reference image of the request, after the client's own, within the upstream model's <c>maxReferenceImages</c>.
/// </summary>
public static class CharacterReferences
{
    /// <summary>
    /// Why <paramref name="upstreamModel"/> (provider type <paramref name="type"/>) cannot take the job's characters as
    /// reference images; null when it can, or when the job shows none.
    /// </summary>
    public static string? NotOffered(Catalog.ModelCatalog catalog, string type, Job job, string upstreamModel)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(job);
        if (job.Characters.Count == 0)
        {
            return null;
        }

        if (job.Operation != JobOperation.Generate)
        {
            return $"characters are sent as reference images of a new video, not with a {job.Operation.ToWire()}";
        }

        if (catalog.FindUpstream(type, upstreamModel) is not { } upstream || !upstream.Modes.Contains(VideoModes.Reference))
        {
            return $"{upstreamModel} takes no reference images, which is how this upstream is sent characters";
        }

        if (job.Mode == VideoMode.ImageToVideo || job.LastFrameKey is not null)
        {
            return "characters are sent as reference images, which this upstream does not combine with a first or last frame";
        }

        var total = job.ReferenceImageKeys.Count + job.Characters.Count;
        return total > upstream.MaxReferenceImages
            ? $"{upstreamModel} takes at most {upstream.MaxReferenceImages} reference images ({job.ReferenceImageKeys.Count} given and {job.Characters.Count} characters)"
            : null;
    }

    /// <summary>
    /// <see cref="ReadAsync"/>, with a still that cannot be made (a video character without a readable frame) as the
    /// submit's definite refusal instead of an exception (which the engine would retry).
    /// </summary>
    public static async Task<(IReadOnlyList<FirstFrame> Stills, SubmitOutcome? Refused)> TryReadAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        try
        {
            return (await ReadAsync(job, cancellationToken).ConfigureAwait(false), null);
        }
        catch (ReelayException ex)
        {
            return ([], new SubmitOutcome.Rejected(ex.Error));
        }
    }

    /// <summary>The still of each of the job's characters, in the client's order, as reference images to send.</summary>
    public static async Task<IReadOnlyList<FirstFrame>> ReadAsync(ProviderJob job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var stills = new List<FirstFrame>(job.Characters.Count);
        foreach (var character in job.Characters)
        {
            byte[] bytes;
            var stream = await character.OpenStill(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                using var buffer = new MemoryStream();
                await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
                bytes = buffer.ToArray();
            }

            var info = Media.ImageInfo.Sniff(bytes) ?? throw new InvalidOperationException($"The still of character {character.Id} is not a PNG, JPEG or WebP image.");
            stills.Add(new FirstFrame(bytes, info.MediaType, info.Width, info.Height, Fitted: false));
        }

        return stills;
    }
}
