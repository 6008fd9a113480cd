-- Field-encryption keys, the audit log and retention policies (seed: "Security
-- Features", "Data Retention").

CREATE TABLE pf_encryption_keys (
    id VARCHAR2(36) PRIMARY KEY,
    user_id VARCHAR2(26) UNIQUE NOT NULL,
    key_encrypted VARCHAR2(500) NOT NULL,
    key_salt VARCHAR2(100) NOT NULL,
    algorithm VARCHAR2(20) DEFAULT 'AES-256-GCM',
    rotation_count NUMBER(5) DEFAULT 0,
    last_rotated TIMESTAMP,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    -- The seed references pf_users(id), which does not exist (ORA-00904).
    FOREIGN KEY (user_id) REFERENCES pf_users(user_id) ON DELETE CASCADE
);

-- The seed declares these indexes inline (MySQL syntax, ORA-00907): they are
-- created by CREATE INDEX below.
CREATE TABLE pf_audit_log (
    id VARCHAR2(36) PRIMARY KEY,
    user_id VARCHAR2(36),
    action VARCHAR2(50) NOT NULL,
    entity_type VARCHAR2(50),
    entity_id VARCHAR2(36),
    ip_address VARCHAR2(45),
    user_agent VARCHAR2(500),
    request_method VARCHAR2(10),
    request_path VARCHAR2(500),
    response_status NUMBER(3),
    execution_time_ms NUMBER(10),
    error_message CLOB,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX idx_audit_user ON pf_audit_log(user_id);
CREATE INDEX idx_audit_action ON pf_audit_log(action);
CREATE INDEX idx_audit_created ON pf_audit_log(created_at);

CREATE TABLE pf_data_retention_policies (
    id VARCHAR2(36) PRIMARY KEY,
    table_pattern VARCHAR2(255) NOT NULL,
    retention_days NUMBER(10) NOT NULL,
    archive_enabled NUMBER(1) DEFAULT 0,
    delete_enabled NUMBER(1) DEFAULT 1,
    last_run TIMESTAMP,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
