using System.Data;
using System.Data.Common;

namespace Reelay.Storage.Sql;

/// <summary>
/// Plain ADO.NET helpers the SQL stores share: parameters, commands on a connection (and transaction), and the column
/// conversions both schemas use (dates as unix milliseconds, nullable columns as <see cref="DBNull"/>).
/// </summary>
internal static class SqlCommands
{
    /// <summary>Adds a named parameter; a null value is sent as <see cref="DBNull"/>, typed when <paramref name="type"/> is given (PostgreSQL cannot infer the type of a bare NULL in some expressions).</summary>
    public static DbCommand Bind(this DbCommand command, string name, object? value, DbType? type = null)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        if (type is { } t)
        {
            parameter.DbType = t;
        }

        command.Parameters.Add(parameter);
        return command;
    }

    /// <summary>Runs one statement (or several, separated by semicolons) and returns the rows it changed.</summary>
    public static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, Action<DbCommand> bind, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        bind(command);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs a query and maps every row with <paramref name="read"/>.</summary>
    public static async Task<List<T>> QueryAsync<T>(DbConnection connection, DbTransaction? transaction, string sql, Action<DbCommand> bind, Func<DbDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        bind(command);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>A bind that adds nothing.</summary>
    public static void None(DbCommand command)
    {
    }

    public static string? Text(this DbDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetString(ordinal);

    public static int? OptionalInt32(this DbDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetInt32(ordinal);

    public static long? OptionalInt64(this DbDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetInt64(ordinal);

    public static DateTimeOffset Time(this DbDataReader r, int ordinal) => Time(r.GetInt64(ordinal));

    public static DateTimeOffset? OptionalTime(this DbDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : Time(r.GetInt64(ordinal));

    public static DateTimeOffset Time(long unixMilliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds);

    /// <summary>A date as stored: unix milliseconds (UTC).</summary>
    public static long Millis(this DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    public static long? Millis(this DateTimeOffset? value) => value?.ToUnixTimeMilliseconds();
}
