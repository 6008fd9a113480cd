-- Operations for SREs (issue 12): the storage sampler's history and each per-user
-- set's latest size, and the records of the two jobs that every console instance
-- shares (storage samples, optimizer statistics, the scheduled audit chain
-- verification).

-- One row per sample per object: kind 'database' (names 'used', 'limit', 'wal'),
-- 'table' (a shared table with its indexes and LOBs), 'user_sets' (name 'total')
-- and 'user_set' (the largest sets, by username). Kept for a bounded time.
CREATE TABLE pf_storage_samples (
    sampled_at TIMESTAMP NOT NULL,
    object_kind VARCHAR2(20) NOT NULL CHECK (object_kind IN ('database','table','user_sets','user_set')),
    object_name VARCHAR2(128) NOT NULL,
    bytes NUMBER(19) NOT NULL,
    index_bytes NUMBER(19) DEFAULT 0 NOT NULL,
    CONSTRAINT pk_storage_samples PRIMARY KEY (sampled_at, object_kind, object_name)
);
-- An object's history (the growth chart and the projection).
CREATE INDEX idx_storage_samples_object ON pf_storage_samples(object_kind, object_name, sampled_at);

-- Each set's size at the latest sample, for its owner's page.
ALTER TABLE pf_user_table_sets ADD size_bytes NUMBER(19);
ALTER TABLE pf_user_table_sets ADD size_sampled_at TIMESTAMP;

-- Data last: on Oracle a step's DML commits with its version row.
INSERT INTO pf_console_jobs (job_name) VALUES ('storage_sample');
INSERT INTO pf_console_jobs (job_name) VALUES ('db_statistics');
INSERT INTO pf_console_jobs (job_name) VALUES ('audit_verify');
