-- Feature flags, user groups and overrides (seed: "Feature flags system").

CREATE TABLE pf_feature_flags (
    flag_id VARCHAR2(26) PRIMARY KEY,
    flag_key VARCHAR2(100) UNIQUE NOT NULL,
    flag_name VARCHAR2(200) NOT NULL,
    description CLOB,
    flag_type VARCHAR2(50) DEFAULT 'boolean',
    default_value VARCHAR2(500),
    allowed_values CLOB CHECK (json_valid(allowed_values)),
    is_system_wide CHAR(1) DEFAULT 'N',
    requires_restart CHAR(1) DEFAULT 'N',
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE pf_user_groups (
    group_id VARCHAR2(26) PRIMARY KEY,
    group_name VARCHAR2(100) UNIQUE NOT NULL,
    description CLOB,
    is_default CHAR(1) DEFAULT 'N',
    priority NUMBER(5) DEFAULT 0,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE pf_user_feature_flags (
    override_id VARCHAR2(26) PRIMARY KEY,
    user_id VARCHAR2(26),
    group_id VARCHAR2(26),
    flag_id VARCHAR2(26) NOT NULL,
    override_value VARCHAR2(500),
    reason VARCHAR2(500),
    expires_at TIMESTAMP,
    created_by VARCHAR2(26),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (user_id) REFERENCES pf_users(user_id) ON DELETE CASCADE,
    FOREIGN KEY (group_id) REFERENCES pf_user_groups(group_id) ON DELETE CASCADE,
    FOREIGN KEY (flag_id) REFERENCES pf_feature_flags(flag_id) ON DELETE CASCADE,
    CHECK ((user_id IS NOT NULL AND group_id IS NULL) OR
           (user_id IS NULL AND group_id IS NOT NULL))
);

-- idx_flag_key is left out: UNIQUE (flag_key) already indexes it (ORA-01408).
CREATE INDEX idx_flag_system ON pf_feature_flags(is_system_wide);
CREATE INDEX idx_uff_user ON pf_user_feature_flags(user_id);
CREATE INDEX idx_uff_group ON pf_user_feature_flags(group_id);
CREATE INDEX idx_uff_flag ON pf_user_feature_flags(flag_id);
