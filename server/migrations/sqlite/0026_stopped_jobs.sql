-- A console job told to stop midway (a signal, a shutdown) records itself as
-- 'stopped': its work so far is committed, its lease given back, and it is due
-- again at once (see server/src/storage/jobs.rs). SQLite cannot change a CHECK, and
-- Oracle named this one itself: on both the small table is rebuilt.
CREATE TABLE pf_console_jobs_rebuilt (
    job_name VARCHAR2(50) PRIMARY KEY,
    last_started_at TIMESTAMP,
    last_finished_at TIMESTAMP,
    last_duration_ms NUMBER(10),
    last_status VARCHAR2(20) CHECK (last_status IN ('ok','failed','stopped')),
    last_error VARCHAR2(500),
    lease_owner VARCHAR2(100),
    lease_until TIMESTAMP
);
INSERT INTO pf_console_jobs_rebuilt (job_name, last_started_at, last_finished_at, last_duration_ms, last_status, last_error, lease_owner, lease_until)
SELECT job_name, last_started_at, last_finished_at, last_duration_ms, last_status, last_error, lease_owner, lease_until FROM pf_console_jobs;
DROP TABLE pf_console_jobs;
ALTER TABLE pf_console_jobs_rebuilt RENAME TO pf_console_jobs;
