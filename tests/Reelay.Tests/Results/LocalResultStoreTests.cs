using System.Security.Cryptography;
using Reelay.Results;
using Reelay.Tests.Media;
using Reelay.Tests.TestSupport;

namespace Reelay.Tests.Results;

public sealed class LocalResultStoreTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly LocalResultStore _store;

    public LocalResultStoreTests() => _store = new LocalResultStore(_temp.File("results"));

    public void Dispose() => _temp.Dispose();

    private static byte[] Bytes(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public async Task PutAsync_ThenOpen_RoundTripsBytesAndFacts()
    {
        var bytes = Bytes(300_000);

        var stored = await _store.PutAsync("videos/video_1.mp4", new MemoryStream(bytes), "video/mp4", CancellationToken.None);
        await using var content = await _store.OpenAsync("videos/video_1.mp4", CancellationToken.None);

        Assert.Equal(new StoredObject("videos/video_1.mp4", bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes))), stored);
        Assert.NotNull(content);
        Assert.Equal(bytes.Length, content.Length);
        Assert.Equal("video/mp4", content.ContentType);
        Assert.NotNull(content.LastModified);
        Assert.Equal(Path.Combine(_store.RootPath, "videos", "video_1.mp4"), content.PhysicalPath);
        await using var read = content.OpenRead();
        var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        Assert.Equal(bytes, copy.ToArray());
    }

    [Fact]
    public async Task OpenAsync_PutAndPutFile_ETagIsTheQuotedSha256AndSurvivesReopeningTheStore()
    {
        var bytes = Bytes(5000);
        var source = _temp.File("source.bin");
        await File.WriteAllBytesAsync(source, bytes);

        await _store.PutAsync("videos/a.mp4", new MemoryStream(bytes), "video/mp4", CancellationToken.None);
        await _store.PutFileAsync("videos/b.mp4", source, "video/mp4", move: true, CancellationToken.None);
        var reopened = new LocalResultStore(_store.RootPath);

        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        Assert.Equal($"\"{sha}\"", (await _store.OpenAsync("videos/a.mp4", CancellationToken.None))!.ETag);
        Assert.Equal($"\"{sha}\"", (await reopened.OpenAsync("videos/b.mp4", CancellationToken.None))!.ETag);
    }

    [Fact]
    public async Task OpenAsync_FileWithoutMatchingRecord_WeakETag()
    {
        // A file stored by an older version (no record), and one changed behind the store's back (record out of date).
        Directory.CreateDirectory(Path.Combine(_store.RootPath, "thumbnails"));
        await File.WriteAllBytesAsync(Path.Combine(_store.RootPath, "thumbnails", "old.jpg"), Bytes(100));
        await _store.PutAsync("thumbnails/changed.jpg", new MemoryStream(Bytes(100)), "image/jpeg", CancellationToken.None);
        await File.WriteAllBytesAsync(Path.Combine(_store.RootPath, "thumbnails", "changed.jpg"), Bytes(101));

        var old = await _store.OpenAsync("thumbnails/old.jpg", CancellationToken.None);
        var changed = await _store.OpenAsync("thumbnails/changed.jpg", CancellationToken.None);

        Assert.StartsWith("W/\"", old!.ETag, StringComparison.Ordinal);
        Assert.Equal("image/jpeg", old.ContentType);
        Assert.StartsWith("W/\"", changed!.ETag, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeleteAsync_RemovesTheChecksumRecordToo()
    {
        await _store.PutAsync("videos/gone.mp4", new MemoryStream(Bytes(10)), "video/mp4", CancellationToken.None);

        await _store.DeleteAsync("videos/gone.mp4", CancellationToken.None);

        Assert.DoesNotContain(Directory.EnumerateFiles(_store.RootPath, "*", SearchOption.AllDirectories), f => !f.Contains(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PutAsync_ExistingKey_ReplacesObject()
    {
        await _store.PutAsync("a.png", new MemoryStream(Bytes(10)), "image/png", CancellationToken.None);
        var second = Bytes(20);

        await _store.PutAsync("a.png", new MemoryStream(second), "image/png", CancellationToken.None);

        Assert.Equal(second, await File.ReadAllBytesAsync(Path.Combine(_store.RootPath, "a.png")));
    }

    [Fact]
    public async Task PutAsync_WhileWriting_KeyIsNotVisibleUntilComplete()
    {
        var gate = new GatedStream(Bytes(200_000), releaseAfter: 100_000);

        var put = _store.PutAsync("videos/slow.mp4", gate, "video/mp4", CancellationToken.None);
        await gate.Reached.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Null(await _store.OpenAsync("videos/slow.mp4", CancellationToken.None));
        Assert.False(File.Exists(Path.Combine(_store.RootPath, "videos", "slow.mp4")));
        gate.Release();
        var stored = await put;
        Assert.Equal(200_000, stored.Length);
        Assert.Equal(200_000, new FileInfo(Path.Combine(_store.RootPath, "videos", "slow.mp4")).Length);
    }

    [Fact]
    public async Task PutAsync_StreamFails_LeavesNothingUnderKeyOrInTemp()
    {
        var failing = new GatedStream(Bytes(200_000), releaseAfter: 100_000, fail: true);

        await Assert.ThrowsAsync<IOException>(() => _store.PutAsync("videos/broken.mp4", failing, "video/mp4", CancellationToken.None));

        Assert.Null(await _store.OpenAsync("videos/broken.mp4", CancellationToken.None));
        Assert.Empty(Directory.EnumerateFiles(_store.RootPath, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task PutFileAsync_Copy_KeepsSourceAndReturnsHash()
    {
        var bytes = Bytes(5000);
        var source = _temp.File("source.bin");
        await File.WriteAllBytesAsync(source, bytes);

        var stored = await _store.PutFileAsync("thumbs/t.jpg", source, "image/jpeg", move: false, CancellationToken.None);

        Assert.True(File.Exists(source));
        Assert.Equal(new StoredObject("thumbs/t.jpg", 5000, Convert.ToHexStringLower(SHA256.HashData(bytes))), stored);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(_store.RootPath, "thumbs", "t.jpg")));
    }

    [Fact]
    public async Task PutFileAsync_Move_RemovesSourceAndReturnsHash()
    {
        var bytes = Bytes(7000);
        var source = _temp.File("move.bin");
        await File.WriteAllBytesAsync(source, bytes);

        var stored = await _store.PutFileAsync("videos/m.mp4", source, "video/mp4", move: true, CancellationToken.None);

        Assert.False(File.Exists(source));
        Assert.Equal(new StoredObject("videos/m.mp4", 7000, Convert.ToHexStringLower(SHA256.HashData(bytes))), stored);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(_store.RootPath, "videos", "m.mp4")));
    }

    [Fact]
    public async Task DeleteAsync_ExistingThenMissing_RemovesWithoutError()
    {
        await _store.PutAsync("images/x.webp", new MemoryStream(Bytes(10)), "image/webp", CancellationToken.None);

        await _store.DeleteAsync("images/x.webp", CancellationToken.None);
        await _store.DeleteAsync("images/x.webp", CancellationToken.None);
        await _store.DeleteAsync("nowhere/y.webp", CancellationToken.None);

        Assert.Null(await _store.OpenAsync("images/x.webp", CancellationToken.None));
    }

    [Fact]
    public async Task OpenAsync_MissingKey_ReturnsNull()
    {
        Assert.Null(await _store.OpenAsync("videos/none.mp4", CancellationToken.None));
    }

    [Theory]
    [InlineData("../escape.mp4")]
    [InlineData("videos/../../escape.mp4")]
    [InlineData("videos/..")]
    [InlineData("/etc/passwd")]
    [InlineData("videos//a.mp4")]
    [InlineData("videos/./a.mp4")]
    [InlineData("videos/")]
    [InlineData(".tmp/x.part")]
    [InlineData("Videos/A.mp4")]
    [InlineData("videos\\a.mp4")]
    [InlineData("a.mp4\n")]
    [InlineData("")]
    public async Task AnyOperation_InvalidKey_ThrowsArgumentException(string key)
    {
        await Assert.ThrowsAnyAsync<ArgumentException>(() => _store.PutAsync(key, new MemoryStream([1]), "video/mp4", CancellationToken.None));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => _store.OpenAsync(key, CancellationToken.None));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => _store.DeleteAsync(key, CancellationToken.None));
        Assert.False(File.Exists(Path.Combine(_temp.Path, "escape.mp4")));
    }

    [Theory]
    [InlineData("v/a.mp4", "video/mp4")]
    [InlineData("t/a.jpg", "image/jpeg")]
    [InlineData("i/a.png", "image/png")]
    [InlineData("i/a.webp", "image/webp")]
    [InlineData("x/a.bin", "application/octet-stream")]
    [InlineData("x/noext", "application/octet-stream")]
    public void ContentTypeFor_Extension_ReturnsMediaType(string key, string expected)
    {
        Assert.Equal(expected, LocalResultStore.ContentTypeFor(key));
    }
}
