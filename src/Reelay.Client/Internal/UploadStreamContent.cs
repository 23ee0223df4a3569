using System.Net;

namespace Reelay.Client.Internal;

/// <summary>Streams an upload from a caller's stream without buffering it and without disposing it.</summary>
internal sealed class UploadStreamContent : HttpContent
{
    private readonly Stream _source;
    private readonly long _start;

    public UploadStreamContent(Stream source)
    {
        _source = source;
        _start = source.CanSeek ? source.Position : 0;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (_source.CanSeek)
        {
            // A resend (redirect, auth challenge) must upload the same bytes again.
            _source.Position = _start;
        }

        await _source.CopyToAsync(stream, cancellationToken).ConfigureAwait(false);
    }

    protected override bool TryComputeLength(out long length)
    {
        if (_source.CanSeek)
        {
            length = Math.Max(0, _source.Length - _start);
            return true;
        }

        length = 0;
        return false;
    }
}
