namespace Reelay.Tests.TestSupport;

/// <summary>Serves bytes, pausing (or failing) after a point until released.</summary>
public sealed class GatedStream(byte[] data, int releaseAfter, bool fail = false) : Stream
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _position;

    public Task Reached => _reached.Task;

    public void Release() => _release.TrySetResult();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position >= releaseAfter)
        {
            _reached.TrySetResult();
            if (fail)
            {
                throw new IOException("The client went away.");
            }

            await _release.Task.WaitAsync(cancellationToken);
        }

        var limit = _position < releaseAfter ? releaseAfter : data.Length;
        var count = Math.Min(buffer.Length, limit - _position);
        data.AsMemory(_position, count).CopyTo(buffer);
        _position += count;
        return count;
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override void Flush() { }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
