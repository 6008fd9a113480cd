-- The security review (issue 27): its findings, open while a run still sees them
-- and kept once closed (their history), and what each serving instance reports of
-- its configuration, so that a run anywhere checks every live instance.

CREATE TABLE pf_security_findings (
    finding_id VARCHAR2(26) PRIMARY KEY,
    check_name VARCHAR2(50) NOT NULL,
    severity VARCHAR2(10) NOT NULL CHECK (severity IN ('high','medium','low')),
    -- What it names: the key that keeps it open across runs (an account's id, a
    -- key's id, `instance:<name>`, `address:<ip>`...).
    subject VARCHAR2(1000) NOT NULL,
    names VARCHAR2(1000),
    detail VARCHAR2(1000),
    first_seen_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP
);
-- One open finding per check and subject (SQLite: partial; Oracle: function-based).
CREATE UNIQUE INDEX idx_security_findings_open ON pf_security_findings(
    CASE WHEN closed_at IS NULL THEN check_name END, CASE WHEN closed_at IS NULL THEN subject END);
-- The history, latest closed first.
CREATE INDEX idx_security_findings_closed ON pf_security_findings(closed_at);

CREATE TABLE pf_console_instances (
    instance_name VARCHAR2(100) PRIMARY KEY,
    reported_at TIMESTAMP NOT NULL,
    -- JSON: pathfinder::security::InstanceFacts.
    facts VARCHAR2(4000) NOT NULL
);

-- Data last: on Oracle a step's DML commits with its version row.
INSERT INTO pf_console_jobs (job_name) VALUES ('security_review');
