using Npgsql;

namespace Reelay.Storage.Postgres;

/// <summary>Checks a PostgreSQL connection string without ever repeating it (it holds the password).</summary>
internal static class PostgresConnectionString
{
    /// <summary>What is wrong with <paramref name="connectionString"/>, or null when Npgsql accepts it and it names a host.</summary>
    public static string? Problem(string connectionString)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            // Npgsql's message may quote the offending part, which may be the password: never pass it on.
            return "Npgsql cannot parse it (use Key=Value pairs separated by ';', e.g. Host=db;Database=reelay;Username=reelay;Password=...)";
        }

        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            return "it names no Host";
        }

        return null;
    }
}
