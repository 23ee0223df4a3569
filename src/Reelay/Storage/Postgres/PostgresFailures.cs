using Npgsql;

namespace Reelay.Storage.Postgres;

/// <summary>Which PostgreSQL failures mean "the database is unavailable right now" rather than "this statement is wrong".</summary>
internal static class PostgresFailures
{
    // Npgsql's own PostgresException.IsTransient leaves out the shutdown states a client sees when the server stops or
    // restarts (57P01 admin_shutdown when a backend is terminated, 57P02 crash_shutdown) and a statement timeout
    // (57014), which mean the same to a request: try again shortly. These are added to it.
    private static readonly HashSet<string> UnavailableStates = new(StringComparer.Ordinal)
    {
        PostgresErrorCodes.AdminShutdown,
        PostgresErrorCodes.CrashShutdown,
        PostgresErrorCodes.CannotConnectNow,
        PostgresErrorCodes.QueryCanceled,
        PostgresErrorCodes.SerializationFailure,
        PostgresErrorCodes.DeadlockDetected,
        PostgresErrorCodes.LockNotAvailable,
        PostgresErrorCodes.TooManyConnections,
        PostgresErrorCodes.InsufficientResources,
        PostgresErrorCodes.OutOfMemory,
        PostgresErrorCodes.DiskFull,
        PostgresErrorCodes.ConfigurationLimitExceeded,
        PostgresErrorCodes.IdleSessionTimeout,
    };

    /// <summary>
    /// True for every failure on the client's side of the wire (a PostgreSQL error that is not a
    /// <see cref="PostgresException"/>: connection refused or broken, pool exhausted, command timeout), and for the
    /// server's errors that say it cannot serve now (connection class 08, resources, shutdown, serialization, deadlock).
    /// </summary>
    public static bool IsUnavailable(NpgsqlException exception) => exception switch
    {
        PostgresException server => server.IsTransient
            || UnavailableStates.Contains(server.SqlState)
            || server.SqlState.StartsWith("08", StringComparison.Ordinal),
        _ => true,
    };
}
