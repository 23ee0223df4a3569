namespace Reelay.Storage;

/// <summary>Job store options (<c>Reelay:Store</c>).</summary>
public sealed class StoreOptions
{
    /// <summary>The embedded default: one SQLite file in the data folder, one process.</summary>
    public const string SqliteProvider = "sqlite";

    /// <summary>PostgreSQL: one database shared by any number of gateway nodes.</summary>
    public const string PostgresProvider = "postgres";

    /// <summary>"sqlite" (default, embedded) or "postgres".</summary>
    public string Provider { get; set; } = SqliteProvider;

    /// <summary>
    /// Connection string. SQLite: optional, the default is a file reelay.db in the data directory. PostgreSQL: required,
    /// an Npgsql connection string (<c>Host=db;Port=5432;Database=reelay;Username=reelay;Password=…</c>).
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>Jobs kept in memory so status reads skip the database (write-through; 0 turns it off).</summary>
    public int CacheCapacity { get; set; } = 20_000;

    /// <summary>True when <see cref="Provider"/> selects PostgreSQL.</summary>
    public bool IsPostgres => string.Equals(Provider, PostgresProvider, StringComparison.Ordinal);

    /// <summary>Every problem with these settings, each naming its key; empty when they are valid. Never repeats the connection string.</summary>
    public IEnumerable<string> Validate()
    {
        if (Provider is not (SqliteProvider or PostgresProvider))
        {
            yield return $"Reelay:Store:Provider '{Provider}' is not supported; allowed: {SqliteProvider}, {PostgresProvider}.";
        }
        else if (IsPostgres)
        {
            if (string.IsNullOrWhiteSpace(ConnectionString))
            {
                yield return "Reelay:Store:ConnectionString is required when Reelay:Store:Provider is postgres (for example Host=db;Database=reelay;Username=reelay;Password=...).";
            }
            else if (Postgres.PostgresConnectionString.Problem(ConnectionString) is { } problem)
            {
                yield return $"Reelay:Store:ConnectionString is not a valid PostgreSQL connection string: {problem}.";
            }
        }

        if (CacheCapacity is < 0 or > 10_000_000)
        {
            yield return $"Reelay:Store:CacheCapacity must be 0 to 10000000 (got {CacheCapacity}).";
        }
    }
}
