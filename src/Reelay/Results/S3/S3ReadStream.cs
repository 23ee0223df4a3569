using Amazon.S3;
using Amazon.S3.Model;

namespace Reelay.Results.S3;

/// <summary>
/// A read-only, seekable view of one S3 object. Reads fetch ranged GETs of up to <see cref="S3ResultStore.ReadWindowBytes"/>
/// from the current position, pinned to the ETag seen when the object was opened (so a replaced object fails the read
/// instead of mixing two versions). A seek drops the current response; the next read starts a new range there. This
/// is what lets ASP.NET Core's range processing serve "Range: bytes=a-b" from S3 without reading the bytes before a.
/// </summary>
internal sealed class S3ReadStream(IAmazonS3 client, string bucket, string objectKey, long length, string? etag) : Stream
{
    private GetObjectResponse? _response;
    private Stream? _body;
    private long _bodyEnd;
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => Seek(value, SeekOrigin.Begin);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position >= length || buffer.Length == 0)
        {
            return 0;
        }

        if (_body is null || _position >= _bodyEnd)
        {
            await OpenWindowAsync(cancellationToken).ConfigureAwait(false);
        }

        var want = (int)Math.Min(buffer.Length, _bodyEnd - _position);
        var read = await _body!.ReadAsync(buffer[..want], cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            throw new IOException($"The s3 object '{objectKey}' ended at byte {_position} of {length}; it may have been replaced or deleted.");
        }

        _position += read;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // The SDK is asynchronous only; a synchronous reader (rare: ASP.NET Core reads asynchronously) blocks here.
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override long Seek(long offset, SeekOrigin origin)
    {
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        ArgumentOutOfRangeException.ThrowIfNegative(target, nameof(offset));
        if (target != _position)
        {
            CloseWindow();
            _position = target;
        }

        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            CloseWindow();
        }

        base.Dispose(disposing);
    }

    private async Task OpenWindowAsync(CancellationToken cancellationToken)
    {
        CloseWindow();
        var end = Math.Min(length, _position + S3ResultStore.ReadWindowBytes);
        var request = new GetObjectRequest { BucketName = bucket, Key = objectKey, ByteRange = new ByteRange(_position, end - 1) };
        if (etag is not null)
        {
            request.EtagToMatch = etag;
        }

        _response = await client.GetObjectAsync(request, cancellationToken).ConfigureAwait(false);
        _body = _response.ResponseStream;
        _bodyEnd = end;
    }

    private void CloseWindow()
    {
        _body = null;
        _response?.Dispose();
        _response = null;
    }
}
