using System.Text;
using Npgsql;
using Reelay.Jobs;

namespace Reelay.Storage.Postgres;

/// <summary>
/// The job store on PostgreSQL, for one or several gateway nodes sharing a database. Thread-safe; open one instance per
/// process (it owns one <see cref="NpgsqlDataSource"/>, hence one connection pool) and share it.
/// </summary>
/// <remarks>
/// Correct across processes, not only threads: every job write is a compare-and-set on its version in one statement,
/// money moves are conditional updates inside transactions (PostgreSQL's row locks, never a process-local lock), and
/// claims take rows with <c>FOR UPDATE SKIP LOCKED</c>. Migrations run under an advisory lock, so nodes starting
/// together apply each one exactly once.
/// </remarks>
public sealed partial class PostgresJobStore : IJobStore, IAsyncDisposable
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

    private static readonly string ColumnList = string.Join(", ", Columns) + ", version";

    private static readonly string SelectSql = $"SELECT {ColumnList} FROM jobs ";

    private static readonly string InsertSql =
        $"INSERT INTO jobs ({string.Join(", ", Columns)}, version) VALUES ({string.Join(", ", Columns.Select(c => "@" + c))}, 1) ON CONFLICT (id) DO NOTHING";

    private static readonly string UpdateSql =
        $"UPDATE jobs SET {string.Join(", ", Columns.Skip(1).Select(c => $"{c} = @{c}"))}, version = version + 1 WHERE id = @id AND version = @version";

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;
    private readonly string _target;
    private volatile bool _disposed;

    /// <summary>Creates a store over a database. Call <see cref="InitializeAsync"/> before anything else.</summary>
    /// <param name="connectionString">An Npgsql connection string (<c>Host=…;Database=…;Username=…;Password=…</c>).</param>
    /// <param name="timeProvider">The clock for migration records; the system clock when null.</param>
    /// <exception cref="ArgumentException">The connection string cannot be parsed (the message never repeats it).</exception>
    public PostgresJobStore(string connectionString, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException)
        {
            // The parser's message may quote the string, password included.
            throw new ArgumentException("The PostgreSQL connection string cannot be parsed.", nameof(connectionString));
        }

        _target = Describe(builder);
        _dataSource = NpgsqlDataSource.Create(builder);
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The schema migrations, in order.</summary>
    internal static IReadOnlyList<Migration> Migrations => PostgresMigrations.All;

    /// <summary>The schema version this build migrates a database to.</summary>
    public static int LatestSchemaVersion => PostgresMigrations.All.Count;

    /// <summary>Where the store connects, without secrets: <c>host:port/database as user</c>.</summary>
    public string Target => _target;

    /// <inheritdoc />
    /// <exception cref="StoreConnectionException">The server cannot be reached or refuses the login (the message names the server, never the password).</exception>
    public async Task InitializeAsync(CancellationToken cancellationToken) => await MigrateAsync(cancellationToken);

    /// <summary>
    /// Applies pending migrations under an advisory transaction lock (several nodes starting together wait for each
    /// other and apply each migration once) and returns the schema version now in force.
    /// </summary>
    /// <exception cref="StoreConnectionException">The server cannot be reached or refuses the login.</exception>
    public async Task<int> MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction))
        {
            command.Parameters.AddWithValue("@key", PostgresMigrations.AdvisoryLockKey);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        return await SchemaMigrations.ApplyAsync(transaction, Migrations, _time.GetUtcNow(), cancellationToken);
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
        await QueryAsync(SelectSql + ActiveJobsSql, static _ => { }, cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<Job>> ListExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        await QueryAsync(
            SelectSql + "WHERE expires_at IS NOT NULL AND content_deleted_at IS NULL AND deleted_at IS NULL AND expires_at <= @now ORDER BY expires_at, seq LIMIT @take",
            p =>
            {
                p.AddWithValue("@now", now.ToUnixTimeMilliseconds());
                p.AddWithValue("@take", Math.Clamp(limit, 1, 1000));
            },
            cancellationToken);

    /// <summary>Closes the connection pool.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            await _dataSource.DisposeAsync();
        }
    }

    private static string ListSql(bool byOwner, bool after, bool ascending)
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

    /// <summary>Opens a pooled connection; failures to reach or log in become a <see cref="StoreConnectionException"/>.</summary>
    internal async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification)
        {
            throw new StoreConnectionException($"PostgreSQL at {_target} refused the login ({e.MessageText}); check the user and password in Reelay:Store:ConnectionString.", e);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.InvalidCatalogName)
        {
            throw new StoreConnectionException($"PostgreSQL at {_target} has no such database ({e.MessageText}); create it (CREATE DATABASE) or fix Database= in Reelay:Store:ConnectionString.", e);
        }
        catch (NpgsqlException e) when (e is not PostgresException)
        {
            throw new StoreConnectionException($"PostgreSQL at {_target} cannot be reached ({e.InnerException?.Message ?? e.Message}); check that it runs and Host/Port in Reelay:Store:ConnectionString.", e);
        }
    }

    /// <summary>Runs <paramref name="work"/> in a transaction on a fresh connection, and commits when it returns.</summary>
    internal async Task<T> InTransactionAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var result = await work(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    internal static async Task<int> ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, Action<NpgsqlParameterCollection> bind, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        bind(command.Parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    internal async Task<int> ExecuteAsync(string sql, Action<NpgsqlParameterCollection> bind, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await ExecuteAsync(connection, null, sql, bind, cancellationToken);
    }

    internal async Task<List<T>> QueryAsync<T>(string sql, Action<NpgsqlParameterCollection> bind, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await QueryAsync(connection, null, sql, bind, read, cancellationToken);
    }

    internal static async Task<List<T>> QueryAsync<T>(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, Action<NpgsqlParameterCollection> bind, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        bind(command.Parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    private async Task<int> WriteAsync(string sql, Job job, CancellationToken cancellationToken) =>
        await ExecuteAsync(sql, p => Bind(p, job), cancellationToken);

    private Task<List<Job>> QueryAsync(string sql, Action<NpgsqlParameterCollection> bind, CancellationToken cancellationToken) =>
        QueryAsync(sql, bind, Read, cancellationToken);

    private static string Describe(NpgsqlConnectionStringBuilder builder) =>
        $"{builder.Host ?? "localhost"}:{builder.Port}/{builder.Database ?? builder.Username ?? "(default)"} as {builder.Username ?? "(default user)"}";

    private static void Bind(NpgsqlParameterCollection p, Job job)
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
    internal static Job Read(NpgsqlDataReader r) => new()
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

    internal static object Db(object? value) => value ?? DBNull.Value;

    internal static string? Text(NpgsqlDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetString(ordinal);

    internal static DateTimeOffset Time(long unixMilliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds);

    internal static DateTimeOffset? OptionalTime(NpgsqlDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : Time(r.GetInt64(ordinal));
}

/// <summary>
/// The store's database cannot be reached or refuses the login. The message names the server, database and user and
/// what to fix, never the password.
/// </summary>
public sealed class StoreConnectionException(string message, Exception? inner = null) : Exception(message, inner);
