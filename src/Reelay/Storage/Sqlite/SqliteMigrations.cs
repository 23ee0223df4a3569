using Reelay.Storage.Sql;

namespace Reelay.Storage.Sqlite;

/// <summary>
/// The SQLite schema, as an append-only list of migrations: never edit a shipped entry; add the next version.
/// Dates are INTEGER unix milliseconds (UTC); enums are their wire strings; maps and the error are JSON text. The tables
/// PostgreSQL creates alike are written once in <see cref="SqlSchema"/>.
/// </summary>
internal static class SqliteMigrations
{
    public static readonly IReadOnlyList<Migration> All =
    [
        new(1, "jobs", SqlSchema.Jobs(SqlSchema.Sqlite)),
        new(2, "api keys, charges, idempotency", SqlSchema.Accounts(SqlSchema.Sqlite)),
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
            """ + "\n" + SqlSchema.Webhooks(SqlSchema.Sqlite)),
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
