namespace Reelay.Storage.Postgres;

/// <summary>
/// The PostgreSQL schema, as an append-only list of migrations: never edit a shipped entry; add the next version.
/// Columns mirror the SQLite store's (dates are BIGINT unix milliseconds, UTC; enums their wire strings; maps and the
/// error JSON text), so both stores read and write the same values and the engine's clock, not the database's, decides
/// what is due. Version 1 is the SQLite schema's versions 1-6 in one step.
/// </summary>
internal static class PostgresMigrations
{
    /// <summary>The key of the advisory lock that serializes migrations between processes starting together.</summary>
    public const long AdvisoryLockKey = 0x5265656c6179; // "Reelay"

    public static readonly IReadOnlyList<Migration> All =
    [
        new(1, "jobs, keys, charges, idempotency, webhooks, job claims", """
            CREATE TABLE jobs (
                seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
                seed BIGINT,
                options TEXT NOT NULL DEFAULT '{}',
                input_image_key TEXT,
                status TEXT NOT NULL,
                progress INTEGER NOT NULL DEFAULT 0,
                error TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                started_at BIGINT,
                completed_at BIGINT,
                expires_at BIGINT,
                deadline BIGINT NOT NULL,
                provider TEXT,
                upstream_model TEXT,
                upstream_id TEXT,
                submit_attempts INTEGER NOT NULL DEFAULT 0,
                result_key TEXT,
                thumbnail_key TEXT,
                result_bytes BIGINT,
                result_duration_seconds DOUBLE PRECISION,
                note TEXT,
                webhook_url TEXT,
                metadata TEXT NOT NULL DEFAULT '{}',
                idempotency_key TEXT,
                dialect TEXT,
                deleted_at BIGINT,
                result_sha256 TEXT,
                result_width INTEGER,
                result_height INTEGER,
                spritesheet_key TEXT,
                content_deleted_at BIGINT,
                webhook_events TEXT,
                submit_call_attempt INTEGER,
                submit_call_provider TEXT,
                submit_call_model TEXT,
                submit_call_reference TEXT,
                submit_call_started_at BIGINT,
                version BIGINT NOT NULL
            );
            CREATE INDEX ix_jobs_owner_seq ON jobs (owner, seq);
            CREATE INDEX ix_jobs_active ON jobs (seq) WHERE status IN ('queued', 'submitting', 'running');
            CREATE INDEX ix_jobs_expiring ON jobs (expires_at) WHERE expires_at IS NOT NULL AND content_deleted_at IS NULL AND deleted_at IS NULL;
            CREATE INDEX ix_jobs_webhook ON jobs (updated_at) WHERE webhook_url IS NOT NULL;

            CREATE TABLE api_keys (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                scope TEXT NOT NULL,
                key_hash TEXT UNIQUE,
                key_prefix TEXT,
                created_at BIGINT NOT NULL,
                expires_at BIGINT,
                revoked_at BIGINT,
                allowed_models TEXT,
                submits_per_minute INTEGER,
                max_in_flight INTEGER,
                budget_micros BIGINT,
                held_micros BIGINT NOT NULL DEFAULT 0,
                spent_micros BIGINT NOT NULL DEFAULT 0,
                in_flight INTEGER NOT NULL DEFAULT 0
            );
            INSERT INTO api_keys (id, name, scope, created_at) VALUES ('admin', 'bootstrap admin key', 'admin', 0);
            CREATE TABLE charges (
                job_id TEXT PRIMARY KEY,
                key_id TEXT NOT NULL,
                model TEXT NOT NULL,
                tier TEXT NOT NULL,
                price_per_second_micros BIGINT NOT NULL,
                requested_seconds INTEGER NOT NULL,
                hold_micros BIGINT NOT NULL,
                state TEXT NOT NULL,
                charged_micros BIGINT NOT NULL DEFAULT 0,
                produced_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
                reason TEXT,
                created_at BIGINT NOT NULL,
                closed_at BIGINT
            );
            CREATE INDEX ix_charges_key ON charges (key_id, created_at);
            CREATE INDEX ix_charges_open ON charges (state) WHERE state IN ('held', 'unresolved');
            CREATE TABLE idempotency_keys (
                owner TEXT NOT NULL,
                key TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                job_id TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (owner, key)
            );
            CREATE INDEX ix_idempotency_created ON idempotency_keys (created_at);

            CREATE TABLE webhook_deliveries (
                seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                job_id TEXT NOT NULL,
                owner TEXT NOT NULL,
                event_type TEXT NOT NULL,
                event_rank INTEGER NOT NULL,
                sequence INTEGER NOT NULL,
                url TEXT NOT NULL,
                payload BYTEA NOT NULL,
                headers TEXT NOT NULL DEFAULT '{}',
                created_at BIGINT NOT NULL,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at BIGINT NOT NULL,
                last_attempt_at BIGINT,
                last_status_code INTEGER,
                last_error TEXT,
                finished_at BIGINT,
                UNIQUE (job_id, event_type, sequence)
            );
            CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
            CREATE INDEX ix_webhook_deliveries_job ON webhook_deliveries (job_id, seq);
            CREATE TABLE webhook_attempts (
                delivery_id TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                at BIGINT NOT NULL,
                duration_ms BIGINT NOT NULL,
                status_code INTEGER,
                error TEXT,
                PRIMARY KEY (delivery_id, attempt)
            );
            CREATE TABLE webhook_secrets (
                owner TEXT PRIMARY KEY,
                secret TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                previous_secret TEXT,
                previous_expires_at BIGINT
            );

            -- Every unfinished job has a claim row from its insert on (free, due at once), so claiming is one UPDATE of
            -- existing rows with FOR UPDATE SKIP LOCKED; a job's row goes when it becomes terminal.
            CREATE TABLE job_claims (
                job_id TEXT PRIMARY KEY,
                job_seq BIGINT NOT NULL,
                holder TEXT,
                lease_until BIGINT,
                due_at BIGINT NOT NULL
            );
            CREATE INDEX ix_job_claims_due ON job_claims (due_at, job_seq);
            CREATE INDEX ix_job_claims_holder ON job_claims (holder) WHERE holder IS NOT NULL;
            CREATE FUNCTION reelay_job_claim_start() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO job_claims (job_id, job_seq, holder, lease_until, due_at) VALUES (NEW.id, NEW.seq, NULL, NULL, 0)
                ON CONFLICT (job_id) DO NOTHING;
                RETURN NULL;
            END $$;
            CREATE FUNCTION reelay_job_claim_end() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                DELETE FROM job_claims WHERE job_id = NEW.id;
                RETURN NULL;
            END $$;
            CREATE TRIGGER tr_jobs_claim_start AFTER INSERT ON jobs FOR EACH ROW
                WHEN (NEW.status IN ('queued', 'submitting', 'running')) EXECUTE FUNCTION reelay_job_claim_start();
            CREATE TRIGGER tr_jobs_claim_end AFTER UPDATE OF status ON jobs FOR EACH ROW
                WHEN (NEW.status IN ('succeeded', 'failed', 'cancelled')) EXECUTE FUNCTION reelay_job_claim_end();
            """),
        new(2, "shared secrets, provider rate buckets, per-key submit counts", PostgresClusterTables.CreateSql),
    ];
}
