-- Retention and scheduled backups (issue 13): the signed cuts where retention
-- removed the audit chain's oldest events, the runs with their resumable position,
-- incremental and expired backups, and the two jobs' leases.

-- Verification starts after the newest cut: the last removed event's sequence and
-- hash (the next event links to it), signed with PF_AUDIT_KEY like a checkpoint.
CREATE TABLE pf_audit_chain_cuts (
    chain_seq NUMBER(19) PRIMARY KEY,
    chain_hash VARCHAR2(64) NOT NULL,
    cut_at TIMESTAMP NOT NULL,
    mac VARCHAR2(64) NOT NULL
);

-- Each real run (dry runs change nothing and are not kept). A run that stopped
-- midway (finished_at NULL) is resumed by the next one, with its own clock
-- (started_at) and position (progress: what each table's policy has done, as JSON).
CREATE TABLE pf_retention_runs (
    run_id VARCHAR2(26) PRIMARY KEY,
    started_at TIMESTAMP NOT NULL,
    started_by VARCHAR2(26),
    progress CLOB NOT NULL,
    finished_at TIMESTAMP,
    outcome VARCHAR2(20) CHECK (outcome IN ('ok','failed'))
);
CREATE INDEX idx_retention_runs_started ON pf_retention_runs(started_at);

-- The sequence a verification found the chain whole up to: retention deletes no
-- event past the last one (never the unverified tail).
ALTER TABLE pf_audit_jobs ADD COLUMN verified_seq NUMBER(19);

CREATE UNIQUE INDEX idx_retention_pattern ON pf_data_retention_policies(table_pattern);

-- Scheduled backups: incremental ones (kind), each naming the full backup whose
-- unchanged files it shares (base_id), and backups past their keeping time whose
-- folder went (status 'expired'). SQLite cannot change a CHECK: the table is rebuilt.
CREATE TABLE pf_backups_rebuilt (
    backup_id VARCHAR2(26) PRIMARY KEY,
    kind VARCHAR2(20) NOT NULL CHECK (kind IN ('full','incremental')),
    location VARCHAR2(1000) NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status VARCHAR2(20) NOT NULL CHECK (status IN ('running','ok','failed','expired')),
    total_bytes NUMBER(19),
    file_count NUMBER(10),
    schema_version NUMBER(10),
    chain_seq NUMBER(19),
    error_text VARCHAR2(500),
    verified_at TIMESTAMP,
    verify_status VARCHAR2(20) CHECK (verify_status IN ('ok','failed')),
    verify_note VARCHAR2(1000),
    base_id VARCHAR2(26)
);
INSERT INTO pf_backups_rebuilt (backup_id, kind, location, started_at, finished_at, status, total_bytes, file_count, schema_version, chain_seq, error_text, verified_at, verify_status, verify_note)
SELECT backup_id, kind, location, started_at, finished_at, status, total_bytes, file_count, schema_version, chain_seq, error_text, verified_at, verify_status, verify_note FROM pf_backups;
DROP TABLE pf_backups;
ALTER TABLE pf_backups_rebuilt RENAME TO pf_backups;
CREATE INDEX idx_backups_started ON pf_backups(started_at);

-- Data last: on Oracle a step's DML commits with its version row.
INSERT INTO pf_console_jobs (job_name) VALUES ('retention');
INSERT INTO pf_console_jobs (job_name) VALUES ('backup');
