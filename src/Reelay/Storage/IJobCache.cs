namespace Reelay.Storage;

/// <summary>A job store that keeps jobs in this process's memory, and can be told that another process changed one.</summary>
public interface IJobCache
{
    /// <summary>Drops the cached copy of the job when it is older than <paramref name="version"/>, so the next read goes to the database.</summary>
    void Forget(string jobId, long version);

    /// <summary>Drops every cached job (changes may have been missed).</summary>
    void ForgetAll();
}
