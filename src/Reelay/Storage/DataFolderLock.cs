using System.Globalization;
using System.Text;
using Microsoft.Extensions.Hosting;

namespace Reelay.Storage;

/// <summary>
/// Exclusive ownership of a data folder for as long as a process runs: an OS lock on <c>&lt;data&gt;/reelay.lock</c>
/// (an exclusive <c>flock</c> on Linux and macOS, a sharing lock on Windows), released when disposed or when the process
/// ends, however it ends. The SQLite store, the result files and the scratch folders assume one writer, so a second
/// gateway on the same folder is refused before it opens anything.
/// </summary>
public sealed class DataFolderLock : IDisposable
{
    /// <summary>The lock file's name inside the data folder.</summary>
    public const string FileName = "reelay.lock";

    private readonly FileStream _stream;

    private DataFolderLock(string dataPath, FileStream stream)
    {
        DataPath = dataPath;
        _stream = stream;
    }

    /// <summary>The data folder, as a full path.</summary>
    public string DataPath { get; }

    /// <summary>
    /// Creates <paramref name="dataDirectory"/> if needed and locks it. Throws <see cref="DataFolderException"/> when the
    /// folder is owned by another process, cannot be created or written, or is not a folder.
    /// </summary>
    public static DataFolderLock Acquire(string dataDirectory) => Acquire(dataDirectory, shared: false);

    /// <summary>
    /// Like <see cref="Acquire(string)"/>, but with <paramref name="shared"/> true takes a shared lock: any number of
    /// processes that share their database elsewhere (the PostgreSQL store) may hold it together, while a process that
    /// needs the folder alone (the SQLite store) is refused, and refuses them, as long as either runs.
    /// </summary>
    public static DataFolderLock Acquire(string dataDirectory, bool shared)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        string path;
        try
        {
            path = Path.GetFullPath(dataDirectory);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new DataFolderException(DataFolderProblem.Invalid, dataDirectory, $"the data folder '{dataDirectory}' is not a valid path ({ex.Message})", ex);
        }

        try
        {
            Directory.CreateDirectory(path);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new DataFolderException(DataFolderProblem.NotWritable, path, $"the data folder {path} cannot be created (permission denied)", ex);
        }
        catch (IOException ex)
        {
            var why = File.Exists(path) ? "a file of that name is in the way" : ex.Message.TrimEnd('.');
            throw new DataFolderException(DataFolderProblem.Invalid, path, $"the data folder {path} cannot be created ({why})", ex);
        }

        var file = Path.Combine(path, FileName);
        FileStream stream;
        try
        {
            // FileShare.None: .NET takes flock(LOCK_EX | LOCK_NB) on Unix, which another process (or another open of the
            // file in this one) cannot take until this handle is closed; the kernel drops it when the process dies.
            // A shared open takes flock(LOCK_SH | LOCK_NB) instead; .NET takes it only for a file opened read-only.
            stream = shared
                ? OpenShared(file)
                : new FileStream(file, new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None });
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new DataFolderException(DataFolderProblem.NotWritable, path, $"the data folder {path} is not writable (permission denied on {FileName})", ex);
        }
        catch (IOException ex) when (IsLockConflict(ex))
        {
            throw new DataFolderException(DataFolderProblem.InUse, path, $"the data folder {path} is in use by another Reelay process", ex);
        }
        catch (IOException ex)
        {
            throw new DataFolderException(DataFolderProblem.NotWritable, path, $"the data folder {path} is not writable ({ex.Message.TrimEnd('.')})", ex);
        }

        if (shared)
        {
            return new DataFolderLock(path, stream);
        }

        try
        {
            // For people, not for locking: `cat data/reelay.lock` says who holds it (cat takes no lock).
            stream.SetLength(0);
            stream.Write(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"pid {Environment.ProcessId}\n")));
            stream.Flush();
        }
        catch (IOException)
        {
            // The lock is what matters; a full disk must not stop the start here.
        }

        return new DataFolderLock(path, stream);
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();

    private static FileStream OpenShared(string file)
    {
        if (!File.Exists(file))
        {
            // Created without a lock; the read-only open below is what locks.
            using (new FileStream(file, new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.Write, Share = FileShare.ReadWrite }))
            {
            }
        }

        return new FileStream(file, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite });
    }

    private static bool IsLockConflict(IOException ex)
    {
        // Unix: the errno of a refused flock (EWOULDBLOCK: 11 on Linux, 35 on macOS). Windows: ERROR_SHARING_VIOLATION (32)
        // or ERROR_LOCK_VIOLATION (33) in an HRESULT.
        var code = ex.HResult;
        return OperatingSystem.IsWindows() ? (code & 0xFFFF) is 32 or 33 : code is 11 or 35;
    }
}

/// <summary>What is wrong with a data folder.</summary>
public enum DataFolderProblem
{
    /// <summary>Another process owns it.</summary>
    InUse,

    /// <summary>It cannot be created or written (permissions, a read-only file system, a full disk).</summary>
    NotWritable,

    /// <summary>It is not a usable folder path (a file is in the way, an invalid path).</summary>
    Invalid,
}

/// <summary>The data folder cannot be owned by this process. The message names the folder and the problem, never how to fix it (callers know their own options).</summary>
public sealed class DataFolderException : IOException
{
    /// <summary>Creates the exception.</summary>
    public DataFolderException(DataFolderProblem problem, string path, string message, Exception? inner = null)
        : base(message, inner)
    {
        Problem = problem;
        Path = path;
    }

    /// <summary>Creates the exception.</summary>
    public DataFolderException() : this(DataFolderProblem.Invalid, "", "the data folder cannot be used")
    {
    }

    /// <summary>Creates the exception.</summary>
    public DataFolderException(string message) : this(DataFolderProblem.Invalid, "", message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public DataFolderException(string message, Exception inner) : this(DataFolderProblem.Invalid, "", message, inner)
    {
    }

    /// <summary>What is wrong.</summary>
    public DataFolderProblem Problem { get; }

    /// <summary>The folder (a full path when it could be resolved).</summary>
    public string Path { get; }
}

/// <summary>Holds the data folder's lock for the host's lifetime; constructing it takes the lock.</summary>
internal sealed class DataFolderOwner(DataFolderLock folderLock) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken)
    {
        GC.KeepAlive(folderLock);
        return Task.CompletedTask;
    }
}
