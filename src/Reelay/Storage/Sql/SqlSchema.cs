namespace Reelay.Storage.Sql;

/// <summary>
/// The words for the column types that differ between the two databases; the rest of the schema reads the same on both.
/// </summary>
/// <param name="Int64">A 64-bit integer (dates are unix milliseconds in one).</param>
/// <param name="Float64">A double.</param>
/// <param name="Bytes">A byte string.</param>
/// <param name="Sequence">The insertion-order primary key column's type and constraints.</param>
/// <param name="EndTable">What closes a CREATE TABLE (SQLite's tables are STRICT).</param>
internal sealed record SqlTypes(string Int64, string Float64, string Bytes, string Sequence, string EndTable);

/// <summary>
/// The tables both stores create with the same columns, written once and rendered with each database's type words, so
/// the two schemas cannot drift apart. The migrations that use them are still append-only: a change to a table here
/// would change a shipped migration, so a schema change is a new migration in each database's list instead.
/// </summary>
internal static class SqlSchema
{
    public static readonly SqlTypes Sqlite = new("INTEGER", "REAL", "BLOB", "INTEGER PRIMARY KEY AUTOINCREMENT", ") STRICT;");

    public static readonly SqlTypes Postgres = new("BIGINT", "DOUBLE PRECISION", "BYTEA", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", ");");

    /// <summary>The jobs table as SQLite's first migration made it, with <paramref name="laterColumns"/> (each line ending in a comma) before <c>version</c>.</summary>
    public static string Jobs(SqlTypes t, string laterColumns = "") => $$"""
        CREATE TABLE jobs (
            seq {{t.Sequence}},
            id TEXT NOT NULL UNIQUE,
            owner TEXT NOT NULL,
            model TEXT NOT NULL,
            mode TEXT NOT NULL,
            prompt TEXT,
            duration_seconds INTEGER NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            resolution TEXT,
            aspect_ratio TEXT,
            seed {{t.Int64}},
            options TEXT NOT NULL DEFAULT '{}',
            input_image_key TEXT,
            status TEXT NOT NULL,
            progress INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            created_at {{t.Int64}} NOT NULL,
            updated_at {{t.Int64}} NOT NULL,
            started_at {{t.Int64}},
            completed_at {{t.Int64}},
            expires_at {{t.Int64}},
            deadline {{t.Int64}} NOT NULL,
            provider TEXT,
            upstream_model TEXT,
            upstream_id TEXT,
            submit_attempts INTEGER NOT NULL DEFAULT 0,
            result_key TEXT,
            thumbnail_key TEXT,
            result_bytes {{t.Int64}},
            result_duration_seconds {{t.Float64}},
            note TEXT,
            webhook_url TEXT,
            metadata TEXT NOT NULL DEFAULT '{}',
            idempotency_key TEXT,
            dialect TEXT,
            deleted_at {{t.Int64}},
        {{laterColumns}}    version {{t.Int64}} NOT NULL
        {{t.EndTable}}
        CREATE INDEX ix_jobs_owner_seq ON jobs (owner, seq);
        CREATE INDEX ix_jobs_active ON jobs (seq) WHERE status IN ('queued', 'submitting', 'running');

        """;

    /// <summary>API keys (with the bootstrap admin key's row), charges and idempotency records.</summary>
    public static string Accounts(SqlTypes t) => $$"""
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            scope TEXT NOT NULL,
            key_hash TEXT UNIQUE,
            key_prefix TEXT,
            created_at {{t.Int64}} NOT NULL,
            expires_at {{t.Int64}},
            revoked_at {{t.Int64}},
            allowed_models TEXT,
            submits_per_minute INTEGER,
            max_in_flight INTEGER,
            budget_micros {{t.Int64}},
            held_micros {{t.Int64}} NOT NULL DEFAULT 0,
            spent_micros {{t.Int64}} NOT NULL DEFAULT 0,
            in_flight INTEGER NOT NULL DEFAULT 0
        {{t.EndTable}}
        INSERT INTO api_keys (id, name, scope, created_at) VALUES ('admin', 'bootstrap admin key', 'admin', 0);
        CREATE TABLE charges (
            job_id TEXT PRIMARY KEY,
            key_id TEXT NOT NULL,
            model TEXT NOT NULL,
            tier TEXT NOT NULL,
            price_per_second_micros {{t.Int64}} NOT NULL,
            requested_seconds INTEGER NOT NULL,
            hold_micros {{t.Int64}} NOT NULL,
            state TEXT NOT NULL,
            charged_micros {{t.Int64}} NOT NULL DEFAULT 0,
            produced_seconds {{t.Float64}} NOT NULL DEFAULT 0,
            reason TEXT,
            created_at {{t.Int64}} NOT NULL,
            closed_at {{t.Int64}}
        {{t.EndTable}}
        CREATE INDEX ix_charges_key ON charges (key_id, created_at);
        CREATE INDEX ix_charges_open ON charges (state) WHERE state IN ('held', 'unresolved');
        CREATE TABLE idempotency_keys (
            owner TEXT NOT NULL,
            key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            job_id TEXT NOT NULL,
            created_at {{t.Int64}} NOT NULL,
            PRIMARY KEY (owner, key)
        {{t.EndTable}}
        CREATE INDEX ix_idempotency_created ON idempotency_keys (created_at);

        """;

    /// <summary>The webhook outbox: deliveries, their attempts, and each owner's signing secrets.</summary>
    public static string Webhooks(SqlTypes t) => $$"""
        CREATE TABLE webhook_deliveries (
            seq {{t.Sequence}},
            id TEXT NOT NULL UNIQUE,
            job_id TEXT NOT NULL,
            owner TEXT NOT NULL,
            event_type TEXT NOT NULL,
            event_rank INTEGER NOT NULL,
            sequence INTEGER NOT NULL,
            url TEXT NOT NULL,
            payload {{t.Bytes}} NOT NULL,
            headers TEXT NOT NULL DEFAULT '{}',
            created_at {{t.Int64}} NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at {{t.Int64}} NOT NULL,
            last_attempt_at {{t.Int64}},
            last_status_code INTEGER,
            last_error TEXT,
            finished_at {{t.Int64}},
            UNIQUE (job_id, event_type, sequence)
        {{t.EndTable}}
        CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
        CREATE INDEX ix_webhook_deliveries_job ON webhook_deliveries (job_id, seq);
        CREATE TABLE webhook_attempts (
            delivery_id TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            at {{t.Int64}} NOT NULL,
            duration_ms {{t.Int64}} NOT NULL,
            status_code INTEGER,
            error TEXT,
            PRIMARY KEY (delivery_id, attempt)
        {{t.EndTable}}
        CREATE TABLE webhook_secrets (
            owner TEXT PRIMARY KEY,
            secret TEXT NOT NULL,
            created_at {{t.Int64}} NOT NULL,
            previous_secret TEXT,
            previous_expires_at {{t.Int64}}
        {{t.EndTable}}

        """;
}
