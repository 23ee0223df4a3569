using System.Security.Cryptography;
using Reelay.Results;
using Reelay.Results.S3;
using Reelay.Tests.TestSupport;

namespace Reelay.Tests.Results;

/// <summary>
/// The content behaviour every <see cref="IResultStore"/> must have. Each implementation's test class derives from this
/// one and runs it unchanged: the local disk and S3 (against s3rver).
/// </summary>
public abstract class ResultStoreContractTests : IDisposable
{
    private readonly string _temp = Path.Combine(Path.GetTempPath(), "reelay-store-contract-" + Guid.NewGuid().ToString("N"));

    protected ResultStoreContractTests() => Directory.CreateDirectory(_temp);

    protected static CancellationToken Ct => CancellationToken.None;

    /// <summary>The store under test (a fresh, empty one per test).</summary>
    protected abstract IResultStore Store { get; }

    protected string TempFile(string name) => Path.Combine(_temp, name);

    public virtual void Dispose()
    {
        try
        {
            Directory.Delete(_temp, recursive: true);
        }
        catch (IOException)
        {
        }

        GC.SuppressFinalize(this);
    }

    protected static byte[] Bytes(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }

    protected static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    protected static async Task<byte[]> ReadAllAsync(StoredContent content)
    {
        await using var read = content.OpenRead();
        var copy = new MemoryStream();
        await read.CopyToAsync(copy, Ct);
        return copy.ToArray();
    }

    [Fact]
    public async Task CheckAsync_WorkingStore_CompletesAndLeavesNoObject()
    {
        await Store.CheckAsync(Ct);
        await Store.PutAsync("videos/video_1.mp4", new MemoryStream(Bytes(10)), "video/mp4", Ct);
        await Store.CheckAsync(Ct);

        Assert.Null(await Store.OpenAsync("health/probe", Ct));
        Assert.NotNull(await Store.OpenAsync("videos/video_1.mp4", Ct));
    }

    [Fact]
    public async Task PutAsync_ThenOpen_RoundTripsBytesHashAndFacts()
    {
        var bytes = Bytes(300_000);

        var stored = await Store.PutAsync("videos/video_1.mp4", new MemoryStream(bytes), "video/mp4", Ct);
        var content = await Store.OpenAsync("videos/video_1.mp4", Ct);

        Assert.Equal(new StoredObject("videos/video_1.mp4", bytes.Length, Sha(bytes)), stored);
        Assert.NotNull(content);
        Assert.Equal(bytes.Length, content.Length);
        Assert.Equal("video/mp4", content.ContentType);
        Assert.NotNull(content.LastModified);
        Assert.Equal(bytes, await ReadAllAsync(content));
    }

    [Fact]
    public async Task OpenAsync_StoredObject_HasStrongETagThatChangesWithTheBytes()
    {
        await Store.PutAsync("thumbnails/etag.webp", new MemoryStream(Bytes(1000)), "image/webp", Ct);
        var first = (await Store.OpenAsync("thumbnails/etag.webp", Ct))!.ETag;
        var again = (await Store.OpenAsync("thumbnails/etag.webp", Ct))!.ETag;
        await Store.PutAsync("thumbnails/etag.webp", new MemoryStream(Bytes(1001)), "image/webp", Ct);
        var replaced = (await Store.OpenAsync("thumbnails/etag.webp", Ct))!.ETag;

        Assert.NotNull(first);
        Assert.Matches("^\"[^\"]+\"$", first);
        Assert.Equal(first, again);
        Assert.NotEqual(first, replaced);
    }

    [Fact]
    public async Task PutAsync_EmptyStream_StoresEmptyObject()
    {
        var stored = await Store.PutAsync("inputs/empty.png", new MemoryStream(), "image/png", Ct);
        var content = await Store.OpenAsync("inputs/empty.png", Ct);

        Assert.Equal(new StoredObject("inputs/empty.png", 0, Sha([])), stored);
        Assert.NotNull(content);
        Assert.Equal(0, content.Length);
        Assert.Empty(await ReadAllAsync(content));
    }

    [Fact]
    public async Task PutAsync_LargerThanOneS3PartAndReadWindow_RoundTrips()
    {
        // Over 8 MiB: a multipart upload and two ranged GET windows on S3.
        var bytes = Bytes((12 * 1024 * 1024) + 12_345);

        var stored = await Store.PutAsync("videos/large.mp4", new MemoryStream(bytes), "video/mp4", Ct);
        var content = await Store.OpenAsync("videos/large.mp4", Ct);

        Assert.Equal(bytes.Length, stored.Length);
        Assert.Equal(Sha(bytes), stored.Sha256);
        Assert.NotNull(content);
        Assert.Equal(bytes.Length, content.Length);
        Assert.Equal(Sha(bytes), Sha(await ReadAllAsync(content)));
    }

    [Fact]
    public async Task PutAsync_ExistingKey_ReplacesObject()
    {
        await Store.PutAsync("a.png", new MemoryStream(Bytes(10)), "image/png", Ct);
        var second = Bytes(20);

        await Store.PutAsync("a.png", new MemoryStream(second), "image/png", Ct);

        var content = await Store.OpenAsync("a.png", Ct);
        Assert.NotNull(content);
        Assert.Equal(second, await ReadAllAsync(content));
    }

    [Fact]
    public async Task PutAsync_WhileWriting_KeyIsNotVisibleUntilComplete()
    {
        var gate = new GatedStream(Bytes(200_000), releaseAfter: 100_000);

        var put = Store.PutAsync("videos/slow.mp4", gate, "video/mp4", Ct);
        await gate.Reached.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Null(await Store.OpenAsync("videos/slow.mp4", Ct));
        gate.Release();
        var stored = await put;
        Assert.Equal(200_000, stored.Length);
        Assert.Equal(200_000, (await Store.OpenAsync("videos/slow.mp4", Ct))?.Length);
    }

    [Fact]
    public async Task PutAsync_StreamFails_ThrowsAndLeavesNothingUnderKey()
    {
        var failing = new GatedStream(Bytes(200_000), releaseAfter: 100_000, fail: true);

        await Assert.ThrowsAsync<IOException>(() => Store.PutAsync("videos/broken.mp4", failing, "video/mp4", Ct));

        Assert.Null(await Store.OpenAsync("videos/broken.mp4", Ct));
    }

    [Fact]
    public async Task PutFileAsync_Copy_KeepsSourceAndReturnsHash()
    {
        var bytes = Bytes(5000);
        var source = TempFile("source.bin");
        await File.WriteAllBytesAsync(source, bytes, Ct);

        var stored = await Store.PutFileAsync("thumbnails/t.jpg", source, "image/jpeg", move: false, Ct);

        Assert.True(File.Exists(source));
        Assert.Equal(new StoredObject("thumbnails/t.jpg", 5000, Sha(bytes)), stored);
        var content = await Store.OpenAsync("thumbnails/t.jpg", Ct);
        Assert.NotNull(content);
        Assert.Equal("image/jpeg", content.ContentType);
        Assert.Equal(bytes, await ReadAllAsync(content));
    }

    [Fact]
    public async Task PutFileAsync_Move_RemovesSourceAndReturnsHash()
    {
        var bytes = Bytes(7000);
        var source = TempFile("move.bin");
        await File.WriteAllBytesAsync(source, bytes, Ct);

        var stored = await Store.PutFileAsync("videos/m.mp4", source, "video/mp4", move: true, Ct);

        Assert.False(File.Exists(source));
        Assert.Equal(new StoredObject("videos/m.mp4", 7000, Sha(bytes)), stored);
        var content = await Store.OpenAsync("videos/m.mp4", Ct);
        Assert.NotNull(content);
        Assert.Equal(bytes, await ReadAllAsync(content));
    }

    [Fact]
    public async Task OpenRead_SeekThenRead_ReadsFromThatOffset()
    {
        var bytes = Bytes(300_000);
        await Store.PutAsync("videos/seek.mp4", new MemoryStream(bytes), "video/mp4", Ct);
        var content = await Store.OpenAsync("videos/seek.mp4", Ct);
        Assert.NotNull(content);

        await using var stream = content.OpenRead();
        Assert.True(stream.CanSeek);
        Assert.Equal(bytes.Length, stream.Length);
        stream.Seek(150_000, SeekOrigin.Begin);
        var middle = new byte[1000];
        await stream.ReadExactlyAsync(middle, Ct);
        stream.Position = 10;
        var start = new byte[100];
        await stream.ReadExactlyAsync(start, Ct);
        stream.Seek(-50, SeekOrigin.End);
        var tail = new byte[100];
        var tailRead = await stream.ReadAtLeastAsync(tail, 100, throwOnEndOfStream: false, Ct);

        Assert.Equal(bytes.AsSpan(150_000, 1000).ToArray(), middle);
        Assert.Equal(bytes.AsSpan(10, 100).ToArray(), start);
        Assert.Equal(50, tailRead);
        Assert.Equal(bytes.AsSpan(bytes.Length - 50).ToArray(), tail.AsSpan(0, 50).ToArray());
    }

    [Fact]
    public async Task DeleteAsync_ExistingThenMissing_RemovesWithoutError()
    {
        await Store.PutAsync("images/x.webp", new MemoryStream(Bytes(10)), "image/webp", Ct);

        await Store.DeleteAsync("images/x.webp", Ct);
        await Store.DeleteAsync("images/x.webp", Ct);
        await Store.DeleteAsync("nowhere/y.webp", Ct);

        Assert.Null(await Store.OpenAsync("images/x.webp", Ct));
    }

    [Fact]
    public async Task OpenAsync_MissingKey_ReturnsNull()
    {
        Assert.Null(await Store.OpenAsync("videos/none.mp4", Ct));
    }

    [Theory]
    [InlineData("../escape.mp4")]
    [InlineData("videos/../../escape.mp4")]
    [InlineData("/etc/passwd")]
    [InlineData("videos//a.mp4")]
    [InlineData("Videos/A.mp4")]
    [InlineData("")]
    public async Task AnyOperation_InvalidKey_ThrowsArgumentException(string key)
    {
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.PutAsync(key, new MemoryStream([1]), "video/mp4", Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.OpenAsync(key, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.DeleteAsync(key, Ct));
    }
}

public sealed class LocalResultStoreContractTests : ResultStoreContractTests
{
    public LocalResultStoreContractTests() => Store = new LocalResultStore(TempFile("results"));

    protected override IResultStore Store { get; }
}

public sealed class S3ResultStoreContractTests : ResultStoreContractTests, IClassFixture<S3rverServer>
{
    private readonly S3ResultStore _store;

    public S3ResultStoreContractTests(S3rverServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        _store = new S3ResultStore(server.NewBucketOptions(keyPrefix: "reelay"));
    }

    protected override IResultStore Store => _store;

    public override void Dispose()
    {
        _store.Dispose();
        base.Dispose();
    }
}
