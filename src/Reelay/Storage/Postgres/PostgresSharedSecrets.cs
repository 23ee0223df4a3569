using Npgsql;
using Reelay.Cluster;

namespace Reelay.Storage.Postgres;

/// <summary>
/// <see cref="ISharedSecrets"/> in PostgreSQL (table <c>reelay_secrets</c>): the first node to ask for a secret stores its
/// candidate, every node reads the stored value. Values go only between the node and the database: never into a log, an
/// exception message or a response.
/// </summary>
public sealed class PostgresSharedSecrets : ISharedSecrets, IDisposable
{
    private const string InsertSql = "INSERT INTO reelay_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
    private const string SelectSql = "SELECT value FROM reelay_secrets WHERE name = $1";

    private readonly NpgsqlDataSource _dataSource;
    private readonly Lock _gate = new();
    private bool _ready;

    /// <summary>Uses the database of <paramref name="connectionString"/>.</summary>
    public PostgresSharedSecrets(string connectionString)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        _dataSource = NpgsqlDataSource.Create(connectionString);
    }

    /// <inheritdoc />
    public bool IsShared => true;

    /// <inheritdoc />
    public byte[] GetOrAdd(string name, byte[] candidate)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(candidate);
        lock (_gate)
        {
            if (!_ready)
            {
                PostgresClusterTables.Ensure(_dataSource);
                _ready = true;
            }
        }

        using var connection = _dataSource.OpenConnection();
        using var batch = new NpgsqlBatch(connection);
        var insert = new NpgsqlBatchCommand(InsertSql);
        insert.Parameters.Add(new NpgsqlParameter { Value = name });
        insert.Parameters.Add(new NpgsqlParameter { Value = candidate });
        var select = new NpgsqlBatchCommand(SelectSql);
        select.Parameters.Add(new NpgsqlParameter { Value = name });
        batch.BatchCommands.Add(insert);
        batch.BatchCommands.Add(select);
        using var reader = batch.ExecuteReader();
        return reader.Read() ? (byte[])reader.GetValue(0) : throw new InvalidOperationException($"The shared secret '{name}' could not be stored.");
    }

    /// <inheritdoc />
    public void Dispose() => _dataSource.Dispose();
}
