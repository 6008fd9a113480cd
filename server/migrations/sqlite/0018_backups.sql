-- Backups (issue 13): each backup the console took (SQLite: the embedded default;
-- on Oracle the platform takes them), where it is, what it holds and how its last
-- verification went. The files and their SHA-256 are in the backup's manifest.
CREATE TABLE pf_backups (
    backup_id VARCHAR2(26) PRIMARY KEY,
    kind VARCHAR2(20) NOT NULL CHECK (kind IN ('full')),
    location VARCHAR2(1000) NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status VARCHAR2(20) NOT NULL CHECK (status IN ('running','ok','failed')),
    total_bytes NUMBER(19),
    file_count NUMBER(10),
    schema_version NUMBER(10),
    chain_seq NUMBER(19),
    error_text VARCHAR2(500),
    verified_at TIMESTAMP,
    verify_status VARCHAR2(20) CHECK (verify_status IN ('ok','failed')),
    verify_note VARCHAR2(1000)
);
CREATE INDEX idx_backups_started ON pf_backups(started_at);
