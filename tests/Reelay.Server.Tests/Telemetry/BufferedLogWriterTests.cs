using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Reelay.Server.Telemetry;
using ZLogger;

// The entries below are always enabled: they are what the test writes.
#pragma warning disable CA1873

namespace Reelay.Server.Tests.Telemetry;

/// <summary>The text log's writer: entries wait at most the flush interval; a full buffer or the close writes them at once.</summary>
public sealed class BufferedLogWriterTests
{
    [Fact]
    public async Task Post_BeforeInterval_NothingWritten()
    {
        var time = new FakeTimeProvider();
        var output = new RecordingStream();
        await using var log = Log.Create(output, time, TimeSpan.FromMilliseconds(100));

        log.Logger.LogInformation("line 1");
        log.Logger.LogInformation("line 2");
        time.Advance(TimeSpan.FromMilliseconds(99));

        Assert.Equal(0, output.Writes);
    }

    [Fact]
    public async Task Post_IntervalPasses_AllWaitingLinesInOneWriteInOrder()
    {
        var time = new FakeTimeProvider();
        var output = new RecordingStream();
        await using var log = Log.Create(output, time, TimeSpan.FromMilliseconds(100));

        log.Logger.LogInformation("line 1");
        log.Logger.LogWarning("line 2");
        time.Advance(TimeSpan.FromMilliseconds(100));

        Assert.Equal(1, output.Writes);
        Assert.Equal("line 1\nline 2\n", output.Text);

        // The next entry starts a new interval.
        log.Logger.LogInformation("line 3");
        time.Advance(TimeSpan.FromMilliseconds(60));
        Assert.Equal(1, output.Writes);
        time.Advance(TimeSpan.FromMilliseconds(40));
        Assert.Equal(2, output.Writes);
        Assert.Equal("line 1\nline 2\nline 3\n", output.Text);
    }

    [Fact]
    public async Task Post_BufferFills_WrittenAtOnceWithoutWaiting()
    {
        var time = new FakeTimeProvider();
        var output = new RecordingStream();
        await using var log = Log.Create(output, time, TimeSpan.FromSeconds(5), bufferBytes: 1024);

        var line = new string('a', 400);
        log.Logger.LogInformation("{Line}", line);
        log.Logger.LogInformation("{Line}", line);
        Assert.Equal(0, output.Writes);
        log.Logger.LogInformation("{Line}", line);

        Assert.Equal(1, output.Writes);
        Assert.Equal(3 * 401, output.Text.Length);
    }

    [Fact]
    public async Task Dispose_LinesWaiting_WrittenAndOutputClosed()
    {
        var time = new FakeTimeProvider();
        var output = new RecordingStream();
        var log = Log.Create(output, time, TimeSpan.FromSeconds(5));

        log.Logger.LogError("last words");
        await log.DisposeAsync();

        Assert.Equal("last words\n", output.Text);
        Assert.True(output.Closed);
        log.Writer.Flush(); // the exit hook after the close does nothing
        Assert.Equal(1, output.Writes);
    }

    [Fact]
    public async Task Flush_OutputBroken_LinesDroppedAndLogGoesOn()
    {
        var time = new FakeTimeProvider();
        var output = new RecordingStream { Broken = true };
        await using var log = Log.Create(output, time, TimeSpan.FromMilliseconds(10));

        log.Logger.LogInformation("lost");
        time.Advance(TimeSpan.FromMilliseconds(10));
        output.Broken = false;
        log.Logger.LogInformation("kept");
        time.Advance(TimeSpan.FromMilliseconds(10));

        Assert.Equal("kept\n", output.Text);
    }

    [Fact]
    public async Task Post_ManyThreads_EveryLineWrittenWhole()
    {
        var output = new RecordingStream();
        await using var log = Log.Create(output, TimeProvider.System, TimeSpan.FromMilliseconds(5), bufferBytes: 4096);

        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 500; i++)
            {
                log.Logger.LogInformation("thread {Thread} line {Line} end", t, i);
            }
        })));
        await log.DisposeAsync();

        var lines = output.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(8 * 500, lines.Length);
        Assert.All(lines, l => Assert.Matches("^thread [0-7] line [0-9]+ end$", l));
        Assert.Equal(8 * 500, lines.Distinct(StringComparer.Ordinal).Count());
    }

    private sealed class Log : IAsyncDisposable
    {
        private readonly ILoggerFactory _factory;

        private Log(ILoggerFactory factory, BufferedLogWriter writer)
        {
            _factory = factory;
            Writer = writer;
            Logger = factory.CreateLogger("Test");
        }

        public ILogger Logger { get; }

        public BufferedLogWriter Writer { get; }

        public static Log Create(Stream output, TimeProvider time, TimeSpan interval, int bufferBytes = 64 * 1024)
        {
            BufferedLogWriter? writer = null;
            var factory = LoggerFactory.Create(builder => builder.AddZLoggerLogProcessor(options =>
            {
                options.UsePlainTextFormatter();
                return writer = new BufferedLogWriter(output, options.CreateFormatter(), interval, bufferBytes, time);
            }));
            var log = new Log(factory, writer!);
            return log;
        }

        public async ValueTask DisposeAsync()
        {
            _factory.Dispose();
            await Writer.DisposeAsync();
        }
    }

    private sealed class RecordingStream : Stream
    {
        private readonly MemoryStream _bytes = new();
        private readonly Lock _gate = new();

        public int Writes { get; private set; }

        public bool Broken { get; set; }

        public bool Closed { get; private set; }

        public string Text
        {
            get
            {
                lock (_gate)
                {
                    return Encoding.UTF8.GetString(_bytes.ToArray());
                }
            }
        }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _bytes.Length;

        public override long Position { get => _bytes.Position; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Broken)
            {
                throw new IOException("Broken pipe");
            }

            lock (_gate)
            {
                Writes++;
                _bytes.Write(buffer);
            }
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            Closed = true;
            base.Dispose(disposing);
        }
    }
}
