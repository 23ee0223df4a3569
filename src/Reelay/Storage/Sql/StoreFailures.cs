using System.Data.Common;
using Npgsql;
using Reelay.Storage.Postgres;

namespace Reelay.Storage.Sql;

/// <summary>
/// Tells a failure of the job store's database that says nothing about the request (the database cannot be reached, the
/// node's connection pool is exhausted, a command timed out, the server is shutting down or restarting, a serialization
/// conflict or deadlock) from every other exception. A request that met one is answered 503 with Retry-After, not 500.
/// </summary>
/// <remarks>
/// A write that met such a failure either did not commit (its transaction is rolled back with the lost connection) or
/// committed while its answer was lost; a retry with the same idempotency key returns that job in either case.
/// </remarks>
public static class StoreFailures
{
    /// <summary>
    /// True when <paramref name="exception"/> (or an exception it wraps) is a database failure that may pass: retrying
    /// later is the right answer. False for everything else, such as a constraint the SQL broke (a bug) or a cancelled request.
    /// </summary>
    public static bool IsUnavailable(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case StoreConnectionException:
                    return true;
                case NpgsqlException npgsql:
                    return PostgresFailures.IsUnavailable(npgsql);
                case DbException { IsTransient: true }:
                    return true;
            }
        }

        return false;
    }
}
