namespace Reelay.Storage;

/// <summary>Job store options.</summary>
public sealed class StoreOptions
{
    /// <summary>"sqlite" (default, embedded).</summary>
    public string Provider { get; set; } = "sqlite";

    /// <summary>Connection string; for SQLite the default is a file reelay.db in the data directory.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Jobs kept in memory so status reads skip the database (write-through; 0 turns it off).</summary>
    public int CacheCapacity { get; set; } = 20_000;

    /// <summary>Every problem with these settings, each naming its key; empty when they are valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (Provider is not "sqlite")
        {
            yield return $"Reelay:Store:Provider '{Provider}' is not supported; allowed: sqlite.";
        }

        if (CacheCapacity is < 0 or > 10_000_000)
        {
            yield return $"Reelay:Store:CacheCapacity must be 0 to 10000000 (got {CacheCapacity}).";
        }
    }
}
