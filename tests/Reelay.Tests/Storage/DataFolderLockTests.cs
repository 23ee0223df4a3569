using Reelay.Storage;

namespace Reelay.Tests.Storage;

/// <summary>The data folder's lock in one process; tests/Reelay.Server.Tests/Hosting/DataFolderOwnershipTests starts two real processes.</summary>
public sealed class DataFolderLockTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("reelay-lock-");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public void Acquire_MissingFolder_CreatesItWithTheLockFile()
    {
        var data = Path.Combine(_directory.FullName, "a", "data");

        using var held = DataFolderLock.Acquire(data);

        Assert.Equal(data, held.DataPath);
        Assert.True(Directory.Exists(data));
        Assert.True(File.Exists(Path.Combine(data, DataFolderLock.FileName)));
    }

    [Fact]
    public void Acquire_FolderAlreadyHeld_RefusedAsInUseNamingTheFolder_ThenFreeOnceReleased()
    {
        var data = Path.Combine(_directory.FullName, "data");
        var first = DataFolderLock.Acquire(data);

        var refused = Assert.Throws<DataFolderException>(() => DataFolderLock.Acquire(data));
        Assert.Equal(DataFolderProblem.InUse, refused.Problem);
        Assert.Equal($"the data folder {data} is in use by another Reelay process", refused.Message);

        first.Dispose();
        using var second = DataFolderLock.Acquire(data);
        Assert.Equal(data, second.DataPath);
    }

    [Fact]
    public void Acquire_SharedTwice_BothHoldItAndAnExclusiveOneIsRefused()
    {
        var data = Path.Combine(_directory.FullName, "shared");
        using var first = DataFolderLock.Acquire(data, shared: true);
        using (var second = DataFolderLock.Acquire(data, shared: true))
        {
            Assert.Equal(DataFolderProblem.InUse, Assert.Throws<DataFolderException>(() => DataFolderLock.Acquire(data)).Problem);
        }

        Assert.Equal(DataFolderProblem.InUse, Assert.Throws<DataFolderException>(() => DataFolderLock.Acquire(data)).Problem);
    }

    [Fact]
    public void Acquire_SharedWhileHeldExclusively_RefusedAsInUse()
    {
        var data = Path.Combine(_directory.FullName, "exclusive");
        using var held = DataFolderLock.Acquire(data);

        Assert.Equal(DataFolderProblem.InUse, Assert.Throws<DataFolderException>(() => DataFolderLock.Acquire(data, shared: true)).Problem);
    }

    [Fact]
    public void Acquire_AFileWhereTheFolderShouldBe_InvalidSaysSo()
    {
        var file = Path.Combine(_directory.FullName, "not-a-folder");
        File.WriteAllText(file, "x");

        var refused = Assert.Throws<DataFolderException>(() => DataFolderLock.Acquire(file));

        Assert.Equal(DataFolderProblem.Invalid, refused.Problem);
        Assert.Contains("a file of that name is in the way", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Acquire_FolderThatCannotBeCreated_NotWritable()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // sysfs refuses mkdir even to root, so this holds however the tests run.
        var refused = Assert.Throws<DataFolderException>(() => DataFolderLock.Acquire("/sys/reelay-test-" + Guid.NewGuid().ToString("N")));

        Assert.Equal(DataFolderProblem.NotWritable, refused.Problem);
        Assert.Contains("permission denied", refused.Message, StringComparison.Ordinal);
    }
}
