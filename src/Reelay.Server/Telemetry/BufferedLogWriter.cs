using System.Buffers;
using ZLogger;

namespace Reelay.Server.Telemetry;

/// <summary>
/// The text log's writer: each entry is formatted (by ZLogger's formatter) into a memory buffer on the thread that logs
/// it, and the buffer goes to the output in one write when it holds <see cref="BufferBytes"/>, when
/// <see cref="FlushInterval"/> has passed since its first entry, or when the log closes. nginx's access log offers the
/// same trade (<c>buffer=</c>, <c>flush=</c>): lines reach stdout up to the interval late, and a process killed with
/// SIGKILL loses at most the last interval's lines; a normal stop writes them.
/// </summary>
/// <remarks>
/// Hand-written because of what one line per request costs otherwise. ZLogger's own writer (like .NET's console logger)
/// hands every entry to a background loop through a channel and flushes after each batch; under load a batch is one or
/// two lines, so each request line paid a thread-pool wake-up, a write system call and a wake-up of whatever reads
/// stdout (a terminal, journald, a container runtime), on the cores that serve the requests: 16-18 µs of CPU per status
/// read, a quarter of it (see docs/benchmarks.md). Neither ZLogger nor the BCL offers a time-bounded buffer; this is
/// ZLogger's documented extension point (<see cref="IAsyncLogProcessor"/>), and the formatting stays ZLogger's.
/// </remarks>
internal sealed class BufferedLogWriter : IAsyncLogProcessor
{
    private const int MaxKeptCapacity = 1024 * 1024;

    private readonly Stream _output;
    private readonly IZLoggerFormatter _formatter;
    private readonly Lock _gate = new();
    private readonly Lock _writeGate = new();
    private readonly ITimer _timer;
    private ArrayBufferWriter<byte> _pending;
    private ArrayBufferWriter<byte> _spare;
    private bool _timerArmed;
    private bool _closed;

    /// <summary>Writes to <paramref name="output"/> (which this writer owns and closes) in the format of <paramref name="formatter"/>.</summary>
    public BufferedLogWriter(Stream output, IZLoggerFormatter formatter, TimeSpan flushInterval, int bufferBytes = 64 * 1024, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(formatter);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(flushInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferBytes, 1024);
        _output = output;
        _formatter = formatter;
        FlushInterval = flushInterval;
        BufferBytes = bufferBytes;
        _pending = new ArrayBufferWriter<byte>(bufferBytes + 1024);
        _spare = new ArrayBufferWriter<byte>(bufferBytes + 1024);
        _timer = (timeProvider ?? TimeProvider.System).CreateTimer(_ => Flush(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The longest an entry waits before it is written.</summary>
    public TimeSpan FlushInterval { get; }

    /// <summary>How many bytes of entries are written at once without waiting for the interval.</summary>
    public int BufferBytes { get; }

    /// <inheritdoc />
    public void Post(IZLoggerEntry log)
    {
        ArgumentNullException.ThrowIfNull(log);
        bool full;
        lock (_gate)
        {
            if (_closed)
            {
                log.Return();
                return;
            }

            try
            {
                log.FormatUtf8(_pending, _formatter);
            }
            finally
            {
                log.Return();
            }

            if (_formatter.WithLineBreak)
            {
                _pending.GetSpan(1)[0] = (byte)'\n';
                _pending.Advance(1);
            }

            full = _pending.WrittenCount >= BufferBytes;
            if (!full && !_timerArmed)
            {
                _timerArmed = true;
                _timer.Change(FlushInterval, Timeout.InfiniteTimeSpan);
            }
        }

        if (full)
        {
            Flush();
        }
    }

    /// <summary>Writes what is waiting now (the timer, a full buffer, the process's exit and the close call it).</summary>
    public void Flush()
    {
        lock (_writeGate)
        {
            ArrayBufferWriter<byte> batch;
            lock (_gate)
            {
                _timerArmed = false;
                if (_pending.WrittenCount == 0)
                {
                    return;
                }

                // Entries logged while this batch is written go to the other buffer.
                batch = _pending;
                _pending = _spare;
                _spare = batch;
            }

            try
            {
                _output.Write(batch.WrittenSpan);
                _output.Flush();
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                // stdout is closed (its reader went away): the lines are lost, as they would be unbuffered; the service goes on.
            }
            finally
            {
                batch.ResetWrittenCount();
                if (batch.Capacity > MaxKeptCapacity)
                {
                    lock (_gate)
                    {
                        _spare = new ArrayBufferWriter<byte>(BufferBytes + 1024);
                    }
                }
            }
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_closed)
            {
                return ValueTask.CompletedTask;
            }

            _closed = true;
        }

        _timer.Dispose();
        Flush();
        _output.Dispose();
        return ValueTask.CompletedTask;
    }
}
