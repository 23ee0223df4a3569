using Reelay.Storage.Sql;

namespace Reelay.Storage.Postgres;

/// <summary>
/// The PostgreSQL schema, as an append-only list of migrations: never edit a shipped entry; add the next version.
/// Columns mirror the SQLite store's (dates are BIGINT unix milliseconds, UTC; enums their wire strings; maps and the
/// error JSON text), so both stores read and write the same values and the engine's clock, not the database's, decides
/// what is due. Version 1 is the SQLite schema's versions 1-6 in one step; the tables both create alike are written once
/// in <see cref="SqlSchema"/>.
/// </summary>
internal static class PostgresMigrations
{
    /// <summary>The key of the advisory lock that serializes migrations between processes starting together.</summary>
    public const long AdvisoryLockKey = 0x5265656c6179; // "Reelay"

    public static readonly IReadOnlyList<Migration> All =
    [
        new(1, "jobs, keys, charges, idempotency, webhooks, job claims", SqlSchema.Jobs(SqlSchema.Postgres, """
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

            """) + """
            CREATE INDEX ix_jobs_expiring ON jobs (expires_at) WHERE expires_at IS NOT NULL AND content_deleted_at IS NULL AND deleted_at IS NULL;
            CREATE INDEX ix_jobs_webhook ON jobs (updated_at) WHERE webhook_url IS NOT NULL;

            """ + SqlSchema.Accounts(SqlSchema.Postgres) + "\n" + SqlSchema.Webhooks(SqlSchema.Postgres) + """

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
