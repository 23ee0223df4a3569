namespace Reelay.Storage.Sqlite;

/// <summary>
/// The SQLite schema, as an append-only list of migrations: never edit a shipped entry; add the next version.
/// Dates are INTEGER unix milliseconds (UTC); enums are their wire strings; maps and the error are JSON text.
/// </summary>
internal static class SqliteMigrations
{
    public static readonly IReadOnlyList<Migration> All =
    [
        new(1, "jobs", """
            CREATE TABLE jobs (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
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
                seed INTEGER,
                options TEXT NOT NULL DEFAULT '{}',
                input_image_key TEXT,
                status TEXT NOT NULL,
                progress INTEGER NOT NULL DEFAULT 0,
                error TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                started_at INTEGER,
                completed_at INTEGER,
                expires_at INTEGER,
                deadline INTEGER NOT NULL,
                provider TEXT,
                upstream_model TEXT,
                upstream_id TEXT,
                submit_attempts INTEGER NOT NULL DEFAULT 0,
                result_key TEXT,
                thumbnail_key TEXT,
                result_bytes INTEGER,
                result_duration_seconds REAL,
                note TEXT,
                webhook_url TEXT,
                metadata TEXT NOT NULL DEFAULT '{}',
                idempotency_key TEXT,
                dialect TEXT,
                deleted_at INTEGER,
                version INTEGER NOT NULL
            ) STRICT;
            CREATE INDEX ix_jobs_owner_seq ON jobs (owner, seq);
            CREATE INDEX ix_jobs_active ON jobs (seq) WHERE status IN ('queued', 'submitting', 'running');
            """),
        new(2, "api keys, charges, idempotency", """
            CREATE TABLE api_keys (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                scope TEXT NOT NULL,
                key_hash TEXT UNIQUE,
                key_prefix TEXT,
                created_at INTEGER NOT NULL,
                expires_at INTEGER,
                revoked_at INTEGER,
                allowed_models TEXT,
                submits_per_minute INTEGER,
                max_in_flight INTEGER,
                budget_micros INTEGER,
                held_micros INTEGER NOT NULL DEFAULT 0,
                spent_micros INTEGER NOT NULL DEFAULT 0,
                in_flight INTEGER NOT NULL DEFAULT 0
            ) STRICT;
            INSERT INTO api_keys (id, name, scope, created_at) VALUES ('admin', 'bootstrap admin key', 'admin', 0);
            CREATE TABLE charges (
                job_id TEXT PRIMARY KEY,
                key_id TEXT NOT NULL,
                model TEXT NOT NULL,
                tier TEXT NOT NULL,
                price_per_second_micros INTEGER NOT NULL,
                requested_seconds INTEGER NOT NULL,
                hold_micros INTEGER NOT NULL,
                state TEXT NOT NULL,
                charged_micros INTEGER NOT NULL DEFAULT 0,
                produced_seconds REAL NOT NULL DEFAULT 0,
                reason TEXT,
                created_at INTEGER NOT NULL,
                closed_at INTEGER
            ) STRICT;
            CREATE INDEX ix_charges_key ON charges (key_id, created_at);
            CREATE INDEX ix_charges_open ON charges (state) WHERE state IN ('held', 'unresolved');
            CREATE TABLE idempotency_keys (
                owner TEXT NOT NULL,
                key TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                job_id TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (owner, key)
            ) STRICT;
            CREATE INDEX ix_idempotency_created ON idempotency_keys (created_at);
            """),
        new(3, "result storage: checksum, measured size, spritesheet, retention sweep", """
            ALTER TABLE jobs ADD COLUMN result_sha256 TEXT;
            ALTER TABLE jobs ADD COLUMN result_width INTEGER;
            ALTER TABLE jobs ADD COLUMN result_height INTEGER;
            ALTER TABLE jobs ADD COLUMN spritesheet_key TEXT;
            ALTER TABLE jobs ADD COLUMN content_deleted_at INTEGER;
            CREATE INDEX ix_jobs_expiring ON jobs (expires_at) WHERE expires_at IS NOT NULL AND content_deleted_at IS NULL AND deleted_at IS NULL;
            """),
        new(4, "webhooks", """
            ALTER TABLE jobs ADD COLUMN webhook_events TEXT;
            CREATE INDEX ix_jobs_webhook ON jobs (updated_at) WHERE webhook_url IS NOT NULL;
            CREATE TABLE webhook_deliveries (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL UNIQUE,
                job_id TEXT NOT NULL,
                owner TEXT NOT NULL,
                event_type TEXT NOT NULL,
                event_rank INTEGER NOT NULL,
                sequence INTEGER NOT NULL,
                url TEXT NOT NULL,
                payload BLOB NOT NULL,
                headers TEXT NOT NULL DEFAULT '{}',
                created_at INTEGER NOT NULL,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at INTEGER NOT NULL,
                last_attempt_at INTEGER,
                last_status_code INTEGER,
                last_error TEXT,
                finished_at INTEGER,
                UNIQUE (job_id, event_type, sequence)
            ) STRICT;
            CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
            CREATE INDEX ix_webhook_deliveries_job ON webhook_deliveries (job_id, seq);
            CREATE TABLE webhook_attempts (
                delivery_id TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                at INTEGER NOT NULL,
                duration_ms INTEGER NOT NULL,
                status_code INTEGER,
                error TEXT,
                PRIMARY KEY (delivery_id, attempt)
            ) STRICT;
            CREATE TABLE webhook_secrets (
                owner TEXT PRIMARY KEY,
                secret TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                previous_secret TEXT,
                previous_expires_at INTEGER
            ) STRICT;
            """),
        new(5, "submit call record: written before each upstream submit request, read by crash recovery", """
            ALTER TABLE jobs ADD COLUMN submit_call_attempt INTEGER;
            ALTER TABLE jobs ADD COLUMN submit_call_provider TEXT;
            ALTER TABLE jobs ADD COLUMN submit_call_model TEXT;
            ALTER TABLE jobs ADD COLUMN submit_call_reference TEXT;
            ALTER TABLE jobs ADD COLUMN submit_call_started_at INTEGER;
            UPDATE jobs SET submit_call_attempt = submit_attempts, submit_call_provider = provider,
                submit_call_model = COALESCE(upstream_model, model), submit_call_reference = id, submit_call_started_at = updated_at
                WHERE status = 'submitting' AND provider IS NOT NULL;
            """),
        new(6, "job claims: a lease per unfinished job being worked on, and when it is next due", """
            CREATE TABLE job_claims (
                job_id TEXT PRIMARY KEY,
                holder TEXT,
                lease_until INTEGER,
                due_at INTEGER NOT NULL
            ) STRICT;
            CREATE INDEX ix_job_claims_due ON job_claims (due_at);
            CREATE INDEX ix_job_claims_holder ON job_claims (holder) WHERE holder IS NOT NULL;
            CREATE TRIGGER tr_jobs_claim_end AFTER UPDATE OF status ON jobs
                WHEN NEW.status IN ('succeeded', 'failed', 'cancelled')
                BEGIN DELETE FROM job_claims WHERE job_id = NEW.id; END;
            """),
    ];
}
