-- One storage layer for both backends (issue 7): what Oracle needed so that NULL
-- creation times page, and the record of background jobs.

-- Creation time as a sort key that is never NULL (the seed allows NULL): such rows
-- sort as the earliest, on both backends. A resumed step skips what exists.
DROP INDEX idx_users_created;
DROP INDEX idx_users_status_created;
CREATE INDEX idx_users_created ON pf_users(COALESCE(created_at, TIMESTAMP '0001-01-01 00:00:00'));
CREATE INDEX idx_users_status_created ON pf_users(
    COALESCE(account_status, 'active'), COALESCE(created_at, TIMESTAMP '0001-01-01 00:00:00')
);

-- A user's statistics by id (the detail page), and the record of background jobs
-- that every console instance shares (when the statistics were last refreshed, and
-- which instance holds the refresh now).
CREATE INDEX idx_mv_user_stats_user ON pf_mv_user_stats(user_id);

CREATE TABLE pf_console_jobs (
    job_name VARCHAR2(50) PRIMARY KEY,
    last_started_at TIMESTAMP,
    last_finished_at TIMESTAMP,
    last_duration_ms NUMBER(10),
    last_status VARCHAR2(20) CHECK (last_status IN ('ok','failed')),
    last_error VARCHAR2(500),
    lease_owner VARCHAR2(100),
    lease_until TIMESTAMP
);

-- Data last: a step's DML commits with its version row (DDL commits on its own).
INSERT INTO pf_console_jobs (job_name) VALUES ('user_stats');
