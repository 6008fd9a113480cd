-- Dormant users (issue 27): how many people were last active on each day as the
-- user statistics saw them (recounted after each refresh), so that "no activity
-- since D" is counted from a few thousand rows, not a million; and the jobs that
-- deactivate them in batches, resuming where they stopped.

CREATE TABLE pf_user_stats_activity (
    -- The day (UTC, YYYY-MM-DD) of the last activity, or 'never'.
    bucket VARCHAR2(10) PRIMARY KEY,
    users NUMBER(19) NOT NULL
);

CREATE TABLE pf_dormant_jobs (
    job_id VARCHAR2(26) PRIMARY KEY,
    -- 'never', or the day (YYYY-MM-DD) since which they were not active.
    dormancy VARCHAR2(10) NOT NULL,
    requested_by VARCHAR2(26),
    started_at TIMESTAMP NOT NULL,
    -- The count the preview showed.
    expected NUMBER(19) NOT NULL,
    -- Where the walk is: the last activity (or, for the never active, the user id)
    -- of the last batch.
    position_at TIMESTAMP,
    position_id VARCHAR2(26),
    deactivated NUMBER(19) DEFAULT 0 NOT NULL,
    skipped NUMBER(19) DEFAULT 0 NOT NULL,
    lease_owner VARCHAR2(100),
    lease_until TIMESTAMP,
    stop_requested CHAR(1) DEFAULT 'N' NOT NULL,
    finished_at TIMESTAMP,
    outcome VARCHAR2(20) CHECK (outcome IN ('done','stopped'))
);
CREATE INDEX idx_dormant_jobs_started ON pf_dormant_jobs(started_at);
