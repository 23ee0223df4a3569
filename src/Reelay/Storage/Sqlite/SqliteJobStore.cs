using System.Text;
using Microsoft.Data.Sqlite;
using Reelay.Jobs;

namespace Reelay.Storage.Sqlite;

/// <summary>
/// The embedded job store: one SQLite database file in WAL mode with a full sync on every commit, so a write that
/// returned survives a crash or power loss. Thread-safe; open one instance per database and share it.
/// </summary>
/// <remarks>
/// Every write is one autocommit statement. Concurrent writers in this process queue for SQLite's single write lock
/// instead of failing with "database is locked"; other processes on the same file wait up to a busy timeout.
/// </remarks>
public sealed partial class SqliteJobStore : IJobStore, IAsyncDisposable
{
    /// <summary>The database file name inside the data directory.</summary>
    public const string DefaultFileName = "reelay.db";

    // Per connection, so run on every open (pooled connections keep them, and re-running costs no I/O).
    private const string ConnectionPragmas = "PRAGMA busy_timeout = 10000; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";

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

    private static readonly string SelectSql = $"SELECT {string.Join(", ", Columns)}, version FROM jobs ";

    private static readonly string InsertSql =
        $"INSERT INTO jobs ({string.Join(", ", Columns)}, version) VALUES ({string.Join(", ", Columns.Select(c => "@" + c))}, 1) ON CONFLICT (id) DO NOTHING";

    private static readonly string UpdateSql =
        $"UPDATE jobs SET {string.Join(", ", Columns.Skip(1).Select(c => $"{c} = @{c}"))}, version = version + 1 WHERE id = @id AND version = @version";

    private readonly string _connectionString;
    private readonly string? _directory;
    private readonly TimeProvider _time;

    // SQLite admits one writer at a time and its driver blocks the calling thread while it waits for the lock, so
    // this process's writers queue here without holding threads; busy_timeout still covers other processes.
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private volatile bool _disposed;

    /// <summary>Creates a store over a database file. Call <see cref="InitializeAsync"/> before anything else.</summary>
    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string naming a file, e.g. <c>Data Source=data/reelay.db</c>. Its folder is created if missing.</param>
    /// <param name="timeProvider">The clock for migration records; the system clock when null.</param>
    public SqliteJobStore(string connectionString, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (builder.Mode == SqliteOpenMode.Memory || builder.DataSource is "" or ":memory:")
        {
            throw new ArgumentException("The SQLite job store needs a database file; in-memory databases are not supported.", nameof(connectionString));
        }

        _connectionString = builder.ToString();
        _directory = builder.DataSource.StartsWith("file:", StringComparison.OrdinalIgnoreCase)
            ? null
            : Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The connection string for the default database file in <paramref name="dataDirectory"/>.</summary>
    public static string DefaultConnectionString(string dataDirectory) =>
        new SqliteConnectionStringBuilder { DataSource = Path.Combine(dataDirectory, DefaultFileName) }.ToString();

    /// <summary>The schema migrations, in order.</summary>
    internal static IReadOnlyList<Migration> Migrations => SqliteMigrations.All;

    /// <summary>The schema version this build migrates a database to.</summary>
    public static int LatestSchemaVersion => SqliteMigrations.All.Count;

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (_directory is not null)
        {
            Directory.CreateDirectory(_directory);
        }

        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using (var command = connection.CreateCommand())
            {
                // The journal mode is stored in the file, and cannot change inside a transaction.
                command.CommandText = "PRAGMA journal_mode = WAL";
                var mode = await command.ExecuteScalarAsync(cancellationToken) as string;
                if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidOperationException($"SQLite could not switch the job database to WAL journal mode (it reports '{mode}'); keep the database on a local file system.");
                }
            }

            await using var transaction = connection.BeginTransaction(deferred: false);
            await SchemaMigrations.ApplyAsync(transaction, Migrations, _time.GetUtcNow(), cancellationToken);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <inheritdoc />
    public async Task<Job> InsertAsync(Job job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Version != 0)
        {
            throw new ArgumentException($"A new job's version must be 0, not {job.Version}; the store assigns versions.", nameof(job));
        }

        if (await WriteAsync(InsertSql, job, cancellationToken) == 0)
        {
            throw new DuplicateJobException(job.Id);
        }

        return AsStored(job, 1);
    }

    /// <inheritdoc />
    public async Task<Job?> TryUpdateAsync(Job job, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        return await WriteAsync(UpdateSql, job, cancellationToken) == 1 ? AsStored(job, job.Version + 1) : null;
    }

    /// <inheritdoc />
    public async Task<Job?> GetAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        var jobs = await QueryAsync(SelectSql + "WHERE id = @id", p => p.AddWithValue("@id", id), cancellationToken);
        return jobs.Count == 0 ? null : jobs[0];
    }

    /// <inheritdoc />
    public async Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, 100);
        var jobs = await QueryAsync(
            ListSql(query.Owner is not null, query.After is not null, query.Ascending),
            p =>
            {
                if (query.Owner is not null)
                {
                    p.AddWithValue("@owner", query.Owner);
                }

                if (query.After is not null)
                {
                    p.AddWithValue("@after", query.After);
                }

                p.AddWithValue("@take", limit + 1);
            },
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
        await QueryAsync(ListActiveSql, static _ => { }, cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<Job>> ListExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        await QueryAsync(
            ListExpiredSql,
            p =>
            {
                p.AddWithValue("@now", now.ToUnixTimeMilliseconds());
                p.AddWithValue("@take", Math.Clamp(limit, 1, 1000));
            },
            cancellationToken);

    /// <summary>Releases the pooled connections to the database file.</summary>
    public ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            using var connection = new SqliteConnection(_connectionString);
            SqliteConnection.ClearPool(connection);
        }

        return ValueTask.CompletedTask;
    }

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

    /// <summary>Opens a pooled connection with the store's per-connection settings applied.</summary>
    internal async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = ConnectionPragmas;
            await command.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a fresh connection while holding the database's write gate. Every writer to this
    /// file in the process (jobs, accounts, the webhook outbox) queues here instead of blocking a thread in SQLite's lock.
    /// </summary>
    internal async Task<T> WithWriteConnectionAsync<T>(Func<SqliteConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            return await work(connection);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private Task<int> WriteAsync(string sql, Job job, CancellationToken cancellationToken) =>
        WithWriteConnectionAsync(async connection =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            Bind(command.Parameters, job);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);

    private async Task<List<Job>> QueryAsync(string sql, Action<SqliteParameterCollection> bind, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        bind(command.Parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var jobs = new List<Job>();
        while (await reader.ReadAsync(cancellationToken))
        {
            jobs.Add(Read(reader));
        }

        return jobs;
    }

    private static void Bind(SqliteParameterCollection p, Job job)
    {
        p.AddWithValue("@id", job.Id);
        p.AddWithValue("@owner", job.Owner);
        p.AddWithValue("@model", job.Model);
        p.AddWithValue("@mode", job.Mode.ToWire());
        p.AddWithValue("@prompt", Db(job.Prompt));
        p.AddWithValue("@duration_seconds", job.DurationSeconds);
        p.AddWithValue("@width", job.Width);
        p.AddWithValue("@height", job.Height);
        p.AddWithValue("@resolution", Db(job.Resolution));
        p.AddWithValue("@aspect_ratio", Db(job.AspectRatio));
        p.AddWithValue("@seed", Db(job.Seed));
        p.AddWithValue("@options", JobStoreJson.WriteMap(job.Options));
        p.AddWithValue("@input_image_key", Db(job.InputImageKey));
        p.AddWithValue("@status", job.Status.ToWire());
        p.AddWithValue("@progress", job.Progress);
        p.AddWithValue("@error", Db(JobStoreJson.WriteError(job.Error)));
        p.AddWithValue("@created_at", job.CreatedAt.ToUnixTimeMilliseconds());
        p.AddWithValue("@updated_at", job.UpdatedAt.ToUnixTimeMilliseconds());
        p.AddWithValue("@started_at", Db(job.StartedAt?.ToUnixTimeMilliseconds()));
        p.AddWithValue("@completed_at", Db(job.CompletedAt?.ToUnixTimeMilliseconds()));
        p.AddWithValue("@expires_at", Db(job.ExpiresAt?.ToUnixTimeMilliseconds()));
        p.AddWithValue("@deadline", job.Deadline.ToUnixTimeMilliseconds());
        p.AddWithValue("@provider", Db(job.Provider));
        p.AddWithValue("@upstream_model", Db(job.UpstreamModel));
        p.AddWithValue("@upstream_id", Db(job.UpstreamId));
        p.AddWithValue("@submit_attempts", job.SubmitAttempts);
        p.AddWithValue("@result_key", Db(job.ResultKey));
        p.AddWithValue("@thumbnail_key", Db(job.ThumbnailKey));
        p.AddWithValue("@result_bytes", Db(job.ResultBytes));
        p.AddWithValue("@result_duration_seconds", Db(job.ResultDurationSeconds));
        p.AddWithValue("@note", Db(job.Note));
        p.AddWithValue("@webhook_url", Db(job.WebhookUrl));
        p.AddWithValue("@metadata", JobStoreJson.WriteMap(job.Metadata));
        p.AddWithValue("@idempotency_key", Db(job.IdempotencyKey));
        p.AddWithValue("@dialect", Db(job.Dialect));
        p.AddWithValue("@deleted_at", Db(job.DeletedAt?.ToUnixTimeMilliseconds()));
        p.AddWithValue("@result_sha256", Db(job.ResultSha256));
        p.AddWithValue("@result_width", Db(job.ResultWidth));
        p.AddWithValue("@result_height", Db(job.ResultHeight));
        p.AddWithValue("@spritesheet_key", Db(job.SpritesheetKey));
        p.AddWithValue("@content_deleted_at", Db(job.ContentDeletedAt?.ToUnixTimeMilliseconds()));
        p.AddWithValue("@webhook_events", Db(job.WebhookEvents is null ? null : string.Join(',', job.WebhookEvents)));
        var call = job.SubmitCall;
        p.AddWithValue("@submit_call_attempt", Db(call?.Attempt));
        p.AddWithValue("@submit_call_provider", Db(call?.Provider));
        p.AddWithValue("@submit_call_model", Db(call?.UpstreamModel));
        p.AddWithValue("@submit_call_reference", Db(call?.Reference));
        p.AddWithValue("@submit_call_started_at", Db(call?.StartedAt.ToUnixTimeMilliseconds()));
        p.AddWithValue("@version", job.Version);
    }

    // Ordinals follow Columns, then version.
    private static Job Read(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        Owner = r.GetString(1),
        Model = r.GetString(2),
        Mode = VideoModeExtensions.ParseWire(r.GetString(3)),
        Prompt = Text(r, 4),
        DurationSeconds = r.GetInt32(5),
        Width = r.GetInt32(6),
        Height = r.GetInt32(7),
        Resolution = Text(r, 8),
        AspectRatio = Text(r, 9),
        Seed = r.IsDBNull(10) ? null : r.GetInt64(10),
        Options = JobStoreJson.ReadMap(r.GetString(11)),
        InputImageKey = Text(r, 12),
        Status = JobStatusExtensions.ParseWire(r.GetString(13)),
        Progress = r.GetInt32(14),
        Error = JobStoreJson.ReadError(Text(r, 15)),
        CreatedAt = Time(r.GetInt64(16)),
        UpdatedAt = Time(r.GetInt64(17)),
        StartedAt = OptionalTime(r, 18),
        CompletedAt = OptionalTime(r, 19),
        ExpiresAt = OptionalTime(r, 20),
        Deadline = Time(r.GetInt64(21)),
        Provider = Text(r, 22),
        UpstreamModel = Text(r, 23),
        UpstreamId = Text(r, 24),
        SubmitAttempts = r.GetInt32(25),
        ResultKey = Text(r, 26),
        ThumbnailKey = Text(r, 27),
        ResultBytes = r.IsDBNull(28) ? null : r.GetInt64(28),
        ResultDurationSeconds = r.IsDBNull(29) ? null : r.GetDouble(29),
        Note = Text(r, 30),
        WebhookUrl = Text(r, 31),
        Metadata = JobStoreJson.ReadMap(r.GetString(32)),
        IdempotencyKey = Text(r, 33),
        Dialect = Text(r, 34),
        DeletedAt = OptionalTime(r, 35),
        ResultSha256 = Text(r, 36),
        ResultWidth = r.IsDBNull(37) ? null : r.GetInt32(37),
        ResultHeight = r.IsDBNull(38) ? null : r.GetInt32(38),
        SpritesheetKey = Text(r, 39),
        ContentDeletedAt = OptionalTime(r, 40),
        WebhookEvents = r.IsDBNull(41) ? null : r.GetString(41).Split(',', StringSplitOptions.RemoveEmptyEntries),
        SubmitCall = r.IsDBNull(42) ? null : new SubmitCall(r.GetInt32(42), r.GetString(43), r.GetString(44), r.GetString(45), Time(r.GetInt64(46))),
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

    private static DateTimeOffset Truncate(DateTimeOffset value) => Time(value.ToUnixTimeMilliseconds());

    private static DateTimeOffset? Truncate(DateTimeOffset? value) => value is { } v ? Truncate(v) : null;

    private static object Db(object? value) => value ?? DBNull.Value;

    private static string? Text(SqliteDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetString(ordinal);

    private static DateTimeOffset Time(long unixMilliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds);

    private static DateTimeOffset? OptionalTime(SqliteDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : Time(r.GetInt64(ordinal));
}
