using Npgsql;
using Reelay.Cluster;

namespace Reelay.Storage.Postgres;

/// <summary>
/// The limits that hold for all nodes together on PostgreSQL, besides provider slots: the providers' request-rate buckets
/// (<see cref="ITokenBuckets"/>: one row per bucket, refilled by the database's clock, so the nodes' clocks do not matter)
/// and the per-key submit counts (<see cref="ISubmitRateCounters"/>: one row per key and 5-second segment). Each operation
/// is one round trip.
/// </summary>
public sealed class PostgresClusterLimits : ITokenBuckets, ISubmitRateCounters, IAsyncDisposable
{
    // R: the bucket refilled by the time since its last take, at most its capacity. $2 capacity, $3 refill per second.
    private const string Refilled =
        "least($2, b.tokens + greatest(0, extract(epoch FROM excluded.refilled_at - b.refilled_at))::double precision * $3)";

    // One statement: (when reporting presence) note that this node uses the bucket, then refill and take up to $4 whole
    // permits (the first take creates the bucket full). The count of nodes does not see this statement's own insert: + 1.
    private const string TakeSql =
        "WITH seen AS (INSERT INTO reelay_rate_nodes (bucket, node_id, seen_at) SELECT $1, $5, clock_timestamp() WHERE $6 "
        + "ON CONFLICT (bucket, node_id) DO UPDATE SET seen_at = excluded.seen_at), "
        + "took AS (INSERT INTO reelay_rate_buckets AS b (name, tokens, refilled_at, taken) "
        + "VALUES ($1, $2 - least($4, floor($2)), clock_timestamp(), least($4, floor($2))::integer) "
        + "ON CONFLICT (name) DO UPDATE SET tokens = " + Refilled + " - least($4, floor(" + Refilled + ")), "
        + "taken = least($4, floor(" + Refilled + "))::integer, refilled_at = excluded.refilled_at "
        + "RETURNING b.taken, b.tokens) "
        + "SELECT taken, tokens, CASE WHEN $6 THEN 1 + (SELECT count(*) FROM reelay_rate_nodes WHERE bucket = $1 AND node_id <> $5 "
        + "AND seen_at > clock_timestamp() - interval '15 seconds') ELSE 0 END FROM took";

    // A sliding minute of 12 segments, one key at a time (a transaction-scoped advisory lock per key): drop the segments
    // that left the minute, then count this submit in the current segment when the minute holds fewer than the limit.
    // The three statements go in one round trip and run as one implicit transaction.
    private const string LockKeySql = "SELECT pg_advisory_xact_lock(hashtextextended('reelay.submit-rate.' || $1, 0))";
    private const string ForgetSql = "DELETE FROM reelay_submit_counts WHERE key_id = $1 AND segment <= $2 - 12";
    private const string CountSql =
        "INSERT INTO reelay_submit_counts (key_id, segment, count) SELECT $1, $2, 1 "
        + "WHERE (SELECT coalesce(sum(count), 0) FROM reelay_submit_counts WHERE key_id = $1 AND segment > $2 - 12) < $3 "
        + "ON CONFLICT (key_id, segment) DO UPDATE SET count = reelay_submit_counts.count + 1";

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresTablesOnFirstUse _tables;

    /// <summary>Uses the database of <paramref name="connectionString"/>.</summary>
    public PostgresClusterLimits(string connectionString)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        _dataSource = NpgsqlDataSource.Create(connectionString);
        _tables = new PostgresTablesOnFirstUse(_dataSource, PostgresClusterTables.CreateSql);
    }

    /// <inheritdoc />
    public bool IsShared => true;

    /// <inheritdoc />
    public async Task<BucketTake> TakeAsync(string bucket, LeasedRateShape shape, string nodeId, bool reportPresence, CancellationToken cancellationToken)
    {
        await _tables.EnsureAsync(cancellationToken).ConfigureAwait(false);
        await using var command = _dataSource.CreateCommand(TakeSql);
        command.Parameters.Add(new NpgsqlParameter { Value = bucket });
        command.Parameters.Add(new NpgsqlParameter { Value = shape.Capacity });
        command.Parameters.Add(new NpgsqlParameter { Value = shape.RefillPerSecond });
        command.Parameters.Add(new NpgsqlParameter { Value = shape.Batch });
        command.Parameters.Add(new NpgsqlParameter { Value = nodeId });
        command.Parameters.Add(new NpgsqlParameter { Value = reportPresence });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            throw new InvalidOperationException("The rate bucket take returned no row.");
        }

        return new BucketTake(reader.GetInt32(0), reader.GetDouble(1), (int)reader.GetInt64(2));
    }

    /// <inheritdoc />
    public async Task<bool> TryCountAsync(string keyId, int perMinute, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await _tables.EnsureAsync(cancellationToken).ConfigureAwait(false);
        var segment = ISubmitRateCounters.SegmentOf(now);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(Command(LockKeySql, keyId));
        batch.BatchCommands.Add(Command(ForgetSql, keyId, segment));
        batch.BatchCommands.Add(Command(CountSql, keyId, segment, perMinute));
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return batch.BatchCommands[2].RecordsAffected == 1;
    }

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        _tables.Dispose();
    }
}
