-- Retention (issue 13): the signed cuts where retention removed the audit chain's
-- oldest events, the runs with their resumable position, and the runs' lease.

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

CREATE UNIQUE INDEX idx_retention_pattern ON pf_data_retention_policies(table_pattern);

-- Data last: on Oracle a step's DML commits with its version row.
INSERT INTO pf_console_jobs (job_name) VALUES ('retention');
