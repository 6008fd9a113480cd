-- The audit log for compliance (issue 10): a hash chain over every row, signed
-- checkpoints, counts kept per hour, and indexes for the Audit page's searches.

-- Every row joins a hash chain (our extension beside the seed's columns):
-- chain_hash = SHA-256(previous row's hash || chain_seq || the row's canonical
-- encoding), see server/src/storage/audit/chain.rs. NULL for a row not yet chained
-- (written by another tool; `migrate` chains them).
ALTER TABLE pf_audit_log ADD chain_seq NUMBER(19);
ALTER TABLE pf_audit_log ADD chain_hash VARCHAR2(64);
CREATE UNIQUE INDEX idx_audit_chain ON pf_audit_log(chain_seq);

-- The chain's head: one row, locked by each writer of an audit row until it
-- commits (Oracle: SELECT ... FOR UPDATE; SQLite has one writer at a time).
CREATE TABLE pf_audit_chain_head (
    id NUMBER(1) PRIMARY KEY CHECK (id = 1),
    last_seq NUMBER(19) NOT NULL,
    last_hash VARCHAR2(64) NOT NULL
);
-- (Written to be run again: Oracle commits each DDL statement, so a step that
-- failed midway is resumed statement by statement.)
INSERT INTO pf_audit_chain_head (id, last_seq, last_hash)
SELECT 1, 0, '0000000000000000000000000000000000000000000000000000000000000000' FROM dual
WHERE NOT EXISTS (SELECT 1 FROM pf_audit_chain_head);

-- Signed checkpoints: HMAC-SHA256(seq, hash, signed_at) under PF_AUDIT_KEY, a key
-- kept outside the database, so that removing the newest rows is detected too.
CREATE TABLE pf_audit_checkpoints (
    chain_seq NUMBER(19) PRIMARY KEY,
    chain_hash VARCHAR2(64) NOT NULL,
    signed_at TIMESTAMP NOT NULL,
    mac VARCHAR2(64) NOT NULL
);

-- Events per hour and per day (UTC), action and status class (0 for none, 2 for
-- 2xx, ...), kept in the transaction that writes the rows: counts, facets and the
-- chart over days, months and quarters come from here, not from the events (a
-- quarter is ~2,000 hours but 90 days).
CREATE TABLE pf_audit_counts (
    hour_start TIMESTAMP NOT NULL,
    action VARCHAR2(50) NOT NULL,
    status_class NUMBER(1) NOT NULL,
    events NUMBER(19) NOT NULL,
    PRIMARY KEY (hour_start, action, status_class)
);
CREATE TABLE pf_audit_counts_daily (
    day_start TIMESTAMP NOT NULL,
    action VARCHAR2(50) NOT NULL,
    status_class NUMBER(1) NOT NULL,
    events NUMBER(19) NOT NULL,
    PRIMARY KEY (day_start, action, status_class)
);
-- An action prefix's events by day, without reading other actions' (SQLite: the
-- search asks how common a prefix is before it picks its walk).
CREATE INDEX idx_audit_counts_daily_action ON pf_audit_counts_daily(action, day_start, events);

-- Searches: one actor's events and one entity's in time order, an action in time
-- order. The id breaks ties on the timestamp, so keyset pages need no sort. The
-- actor's index also holds the action, status and path, so that narrowing a heavy
-- actor's events by them reads the index, not each row (measured at 10^5 events
-- for one actor: BENCHMARKS.md).
CREATE INDEX idx_audit_user_time ON pf_audit_log(user_id, created_at, id, action, response_status, request_path);
CREATE INDEX idx_audit_entity_time ON pf_audit_log(entity_id, created_at, id);
CREATE INDEX idx_audit_action_time ON pf_audit_log(action, created_at, id);

-- Background work a reviewer starts on the Audit page (a chain verification, an
-- exact count): progress and result, read by whichever console instance the page
-- asks; a job whose instance went away shows as stopped once its lease runs out.
CREATE TABLE pf_audit_jobs (
    id VARCHAR2(26) PRIMARY KEY,
    kind VARCHAR2(20) NOT NULL CHECK (kind IN ('verify', 'count')),
    requested_by VARCHAR2(26),
    filter_text VARCHAR2(4000),
    started_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    done_units NUMBER(19) DEFAULT 0 NOT NULL,
    total_units NUMBER(19),
    finished_at TIMESTAMP,
    outcome VARCHAR2(20) CHECK (outcome IN ('ok', 'broken', 'failed')),
    result VARCHAR2(4000)
);
CREATE INDEX idx_audit_jobs_started ON pf_audit_jobs(started_at);
