-- Feature flags in the console (issue 11): one override per flag and user or
-- group, at most one default group, a flag's overrides paged in creation order,
-- expiry found by time, a group's members by name, and the API keys of the OFREP
-- evaluation API (our extension).

-- Two overrides of one flag for one user (or group) would leave evaluation to
-- chance: one each. (SQLite: partial indexes; Oracle: function-based, whose
-- entries are NULL, and so absent, for the other kind.)
CREATE UNIQUE INDEX idx_uff_flag_user ON pf_user_feature_flags(user_id, flag_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX idx_uff_flag_group ON pf_user_feature_flags(group_id, flag_id) WHERE group_id IS NOT NULL;
CREATE INDEX idx_uff_flag_created ON pf_user_feature_flags(flag_id, created_at, override_id);
CREATE INDEX idx_uff_expires ON pf_user_feature_flags(expires_at) WHERE expires_at IS NOT NULL;

-- The default group: exactly one or none.
CREATE UNIQUE INDEX idx_groups_one_default ON pf_user_groups(is_default) WHERE is_default = 'Y';

-- A group's members in name order.
CREATE INDEX idx_users_group_name ON pf_users(feature_group_id, username);

-- Keys for the evaluation API: stored as SHA-256 of the key, shown once.
CREATE TABLE pf_flag_api_keys (
    key_id VARCHAR2(26) PRIMARY KEY,
    key_name VARCHAR2(100) NOT NULL,
    key_hash VARCHAR2(64) NOT NULL UNIQUE,
    key_prefix VARCHAR2(12) NOT NULL,
    created_by VARCHAR2(26),
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP,
    revoked_by VARCHAR2(26)
);
