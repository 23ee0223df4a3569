using System.Data.Common;
using System.Text;
using Reelay.Jobs;

namespace Reelay.Storage.Sql;

/// <summary>
/// The job store logic that SQLite and PostgreSQL share, over plain ADO.NET: the SQL that reads the same on both, the
/// row mapping, the money moves and their guards (<c>SqlJobStore.Accounts.cs</c>) and the claim bookkeeping
/// (<c>SqlJobStore.Claims.cs</c>). Each database's store supplies only what differs: how it opens connections, how it
/// serializes writers and begins a write transaction, and the few statements whose SQL differs.
/// </summary>
/// <remarks>Both schemas store dates as unix milliseconds (UTC), enums as their wire strings and maps as JSON text.</remarks>
public abstract partial class SqlJobStore : IJobStore, IAsyncDisposable
{
    private const string ActiveJobsSql =
        "WHERE status IN ('queued', 'submitting', 'running') AND deleted_at IS NULL ORDER BY seq";

    private static readonly string[] Columns =
    [
        "id", "owner", "model", "mode", "prompt", "duration_seconds", "width", "height", "resolution", "aspect_ratio",
        "seed", "options", "input_image_key", "status", "progress", "error", "created_at", "updated_at", "started_at",
        "completed_at", "expires_at", "deadline", "provider", "upstream_model", "upstream_id", "submit_attempts",
        "result_key", "thumbnail_key", "result_bytes", "result_duration_seconds", "note", "webhook_url", "metadata",
        "idempotency_key", "dialect", "deleted_at", "result_sha256", "result_width", "result_height", "spritesheet_key",
        "content_deleted_at", "webhook_events", "submit_call_attempt", "submit_call_provider", "submit_call_model",
        "submit_call_reference", "submit_call_started_at",
    ];

    /// <summary>Every job column in the order <see cref="ReadJob"/> reads them, then <c>version</c>.</summary>
    internal static readonly string ColumnList = string.Join(", ", Columns) + ", version";

    private static readonly string SelectSql = $"SELECT {ColumnList} FROM jobs ";

    private static readonly string InsertSql =
        $"INSERT INTO jobs ({ColumnList}) VALUES ({string.Join(", ", Columns.Select(c => "@" + c))}, 1) ON CONFLICT (id) DO NOTHING";

    private static readonly string UpdateSql =
        $"UPDATE jobs SET {string.Join(", ", Columns.Skip(1).Select(c => $"{c} = @{c}"))}, version = version + 1 WHERE id = @id AND version = @version";

    private protected SqlJobStore()
    {
    }

    /// <inheritdoc />
    public abstract Task InitializeAsync(CancellationToken cancellationToken);

    /// <inheritdoc />
    public abstract ValueTask DisposeAsync();

    /// <inheritdoc />
    public async Task<Job> InsertAsync(Job job, CancellationToken cancellationToken)
    {
        CheckNew(job);
        if (await WriteJobAsync(InsertSql, job, cancellationToken) == 0)
        {
            throw new DuplicateJobException(job.Id);
        }

        return AsStored(job, 1);
    }

    /// <inheritdoc />
    public async Task<Job?> TryUpdateAsync(Job job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        return await WriteJobAsync(UpdateSql, job, cancellationToken) == 1 ? AsStored(job, job.Version + 1) : null;
    }

    /// <inheritdoc />
    public async Task<Job?> GetAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        var jobs = await QueryAsync(SelectSql + "WHERE id = @id", c => c.Bind("@id", id), ReadJob, cancellationToken);
        return jobs.Count == 0 ? null : jobs[0];
    }

    /// <inheritdoc />
    public async Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, 100);
        var jobs = await QueryAsync(
            ListSql(query.Owner is not null, query.After is not null, query.Ascending),
            c =>
            {
                if (query.Owner is not null)
                {
                    c.Bind("@owner", query.Owner);
                }

                if (query.After is not null)
                {
                    c.Bind("@after", query.After);
                }

                c.Bind("@take", limit + 1);
            },
            ReadJob,
            cancellationToken);

        var hasMore = jobs.Count > limit;
        if (hasMore)
        {
            jobs.RemoveAt(limit);
        }

        return new JobPage(jobs, hasMore);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Job>> ListActiveAsync(CancellationToken cancellationToken) =>
        await QueryAsync(ListActiveSql, SqlCommands.None, ReadJob, cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<Job>> ListExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        await QueryAsync(
            ListExpiredSql,
            c => c.Bind("@now", now.Millis()).Bind("@take", Math.Clamp(limit, 1, 1000)),
            ReadJob,
            cancellationToken);

    internal static string ListActiveSql { get; } = SelectSql + ActiveJobsSql;

    // Matches the partial index ix_jobs_expiring.
    internal static string ListExpiredSql { get; } = SelectSql
        + "WHERE expires_at IS NOT NULL AND content_deleted_at IS NULL AND deleted_at IS NULL AND expires_at <= @now ORDER BY expires_at, seq LIMIT @take";

    internal static string ListSql(bool byOwner, bool after, bool ascending)
    {
        var sql = new StringBuilder(SelectSql).Append("WHERE deleted_at IS NULL");
        if (byOwner)
        {
            sql.Append(" AND owner = @owner");
        }

        if (after)
        {
            // A NULL from an unknown cursor compares false, so the page is empty.
            sql.Append(ascending ? " AND seq > " : " AND seq < ")
                .Append("(SELECT seq FROM jobs WHERE id = @after").Append(byOwner ? " AND owner = @owner)" : ")");
        }

        return sql.Append(ascending ? " ORDER BY seq ASC" : " ORDER BY seq DESC").Append(" LIMIT @take").ToString();
    }

    /// <summary>Opens a pooled connection with the database's per-connection settings applied, for reads.</summary>
    internal abstract Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> on a fresh connection as a writer. The default opens a connection; SQLite, which admits
    /// one writer at a time, queues its writers here instead of blocking threads in the database's lock.
    /// </summary>
    internal virtual async Task<T> WithWriteConnectionAsync<T>(Func<DbConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await work(connection).ConfigureAwait(false);
    }

    /// <summary>Begins a transaction that will write (SQLite: <c>BEGIN IMMEDIATE</c>, so it holds the write lock from the start).</summary>
    internal abstract ValueTask<DbTransaction> BeginWriteTransactionAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Runs <paramref name="work"/> in a write transaction on a fresh connection, and commits when it returns.</summary>
    internal Task<T> InWriteTransactionAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken) =>
        WithWriteConnectionAsync(async connection =>
        {
            await using var transaction = await BeginWriteTransactionAsync(connection, cancellationToken).ConfigureAwait(false);
            var result = await work(connection, transaction).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return result;
        }, cancellationToken);

    /// <summary>Runs one write statement (autocommit) as a writer.</summary>
    internal Task<int> ExecuteWriteAsync(string sql, Action<DbCommand> bind, CancellationToken cancellationToken) =>
        WithWriteConnectionAsync(connection => SqlCommands.ExecuteAsync(connection, null, sql, bind, cancellationToken), cancellationToken);

    /// <summary>Runs a query on a fresh read connection.</summary>
    internal async Task<List<T>> QueryAsync<T>(string sql, Action<DbCommand> bind, Func<DbDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await SqlCommands.QueryAsync(connection, null, sql, bind, read, cancellationToken).ConfigureAwait(false);
    }

    private static void CheckNew(Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Version != 0)
        {
            throw new ArgumentException($"A new job's version must be 0, not {job.Version}; the store assigns versions.", nameof(job));
        }
    }

    private Task<int> WriteJobAsync(string sql, Job job, CancellationToken cancellationToken) =>
        ExecuteWriteAsync(sql, c => BindJob(c, job), cancellationToken);

    private static Task<int> InsertJobAsync(DbConnection connection, DbTransaction transaction, Job job, CancellationToken cancellationToken) =>
        SqlCommands.ExecuteAsync(connection, transaction, InsertSql, c => BindJob(c, job), cancellationToken);

    // Grouped by what the values are; the names are the columns with '@'.
    private static void BindJob(DbCommand c, Job job)
    {
        c.Bind("@id", job.Id).Bind("@owner", job.Owner).Bind("@model", job.Model).Bind("@mode", job.Mode.ToWire()).Bind("@dialect", job.Dialect);
        c.Bind("@prompt", job.Prompt).Bind("@input_image_key", job.InputImageKey).Bind("@seed", job.Seed);
        c.Bind("@duration_seconds", job.DurationSeconds).Bind("@width", job.Width).Bind("@height", job.Height)
            .Bind("@resolution", job.Resolution).Bind("@aspect_ratio", job.AspectRatio);
        c.Bind("@options", JobStoreJson.WriteMap(job.Options)).Bind("@metadata", JobStoreJson.WriteMap(job.Metadata));
        c.Bind("@status", job.Status.ToWire()).Bind("@progress", job.Progress).Bind("@error", JobStoreJson.WriteError(job.Error)).Bind("@note", job.Note);
        c.Bind("@created_at", job.CreatedAt.Millis()).Bind("@updated_at", job.UpdatedAt.Millis()).Bind("@started_at", job.StartedAt.Millis())
            .Bind("@completed_at", job.CompletedAt.Millis()).Bind("@expires_at", job.ExpiresAt.Millis()).Bind("@deadline", job.Deadline.Millis())
            .Bind("@deleted_at", job.DeletedAt.Millis()).Bind("@content_deleted_at", job.ContentDeletedAt.Millis());
        c.Bind("@provider", job.Provider).Bind("@upstream_model", job.UpstreamModel).Bind("@upstream_id", job.UpstreamId).Bind("@submit_attempts", job.SubmitAttempts);
        c.Bind("@result_key", job.ResultKey).Bind("@thumbnail_key", job.ThumbnailKey).Bind("@spritesheet_key", job.SpritesheetKey).Bind("@result_sha256", job.ResultSha256);
        c.Bind("@result_bytes", job.ResultBytes).Bind("@result_duration_seconds", job.ResultDurationSeconds)
            .Bind("@result_width", job.ResultWidth).Bind("@result_height", job.ResultHeight);
        c.Bind("@webhook_url", job.WebhookUrl).Bind("@webhook_events", job.WebhookEvents is null ? null : string.Join(',', job.WebhookEvents));
        c.Bind("@idempotency_key", job.IdempotencyKey).Bind("@version", job.Version);
        var call = job.SubmitCall;
        c.Bind("@submit_call_attempt", call?.Attempt).Bind("@submit_call_provider", call?.Provider).Bind("@submit_call_model", call?.UpstreamModel)
            .Bind("@submit_call_reference", call?.Reference).Bind("@submit_call_started_at", call?.StartedAt.Millis());
    }

    /// <summary>Maps a row selected with <see cref="ColumnList"/>: ordinals follow the columns, then version.</summary>
    internal static Job ReadJob(DbDataReader r) => new()
    {
        Id = r.GetString(0),
        Owner = r.GetString(1),
        Model = r.GetString(2),
        Mode = VideoModeExtensions.ParseWire(r.GetString(3)),
        Prompt = r.Text(4),
        DurationSeconds = r.GetInt32(5),
        Width = r.GetInt32(6),
        Height = r.GetInt32(7),
        Resolution = r.Text(8),
        AspectRatio = r.Text(9),
        Seed = r.OptionalInt64(10),
        Options = JobStoreJson.ReadMap(r.GetString(11)),
        InputImageKey = r.Text(12),
        Status = JobStatusExtensions.ParseWire(r.GetString(13)),
        Progress = r.GetInt32(14),
        Error = JobStoreJson.ReadError(r.Text(15)),
        CreatedAt = r.Time(16),
        UpdatedAt = r.Time(17),
        StartedAt = r.OptionalTime(18),
        CompletedAt = r.OptionalTime(19),
        ExpiresAt = r.OptionalTime(20),
        Deadline = r.Time(21),
        Provider = r.Text(22),
        UpstreamModel = r.Text(23),
        UpstreamId = r.Text(24),
        SubmitAttempts = r.GetInt32(25),
        ResultKey = r.Text(26),
        ThumbnailKey = r.Text(27),
        ResultBytes = r.OptionalInt64(28),
        ResultDurationSeconds = r.IsDBNull(29) ? null : r.GetDouble(29),
        Note = r.Text(30),
        WebhookUrl = r.Text(31),
        Metadata = JobStoreJson.ReadMap(r.GetString(32)),
        IdempotencyKey = r.Text(33),
        Dialect = r.Text(34),
        DeletedAt = r.OptionalTime(35),
        ResultSha256 = r.Text(36),
        ResultWidth = r.OptionalInt32(37),
        ResultHeight = r.OptionalInt32(38),
        SpritesheetKey = r.Text(39),
        ContentDeletedAt = r.OptionalTime(40),
        WebhookEvents = r.IsDBNull(41) ? null : r.GetString(41).Split(',', StringSplitOptions.RemoveEmptyEntries),
        SubmitCall = r.IsDBNull(42) ? null : new SubmitCall(r.GetInt32(42), r.GetString(43), r.GetString(44), r.GetString(45), r.Time(46)),
        Version = r.GetInt64(47),
    };

    // What a read would return: dates in UTC to the millisecond.
    private static Job AsStored(Job job, long version) => job with
    {
        CreatedAt = Truncate(job.CreatedAt),
        UpdatedAt = Truncate(job.UpdatedAt),
        StartedAt = Truncate(job.StartedAt),
        CompletedAt = Truncate(job.CompletedAt),
        ExpiresAt = Truncate(job.ExpiresAt),
        Deadline = Truncate(job.Deadline),
        DeletedAt = Truncate(job.DeletedAt),
        ContentDeletedAt = Truncate(job.ContentDeletedAt),
        SubmitCall = job.SubmitCall is { } call ? call with { StartedAt = Truncate(call.StartedAt) } : null,
        Version = version,
    };

    private static DateTimeOffset Truncate(DateTimeOffset value) => SqlCommands.Time(value.Millis());

    private static DateTimeOffset? Truncate(DateTimeOffset? value) => value is { } v ? Truncate(v) : null;
}
