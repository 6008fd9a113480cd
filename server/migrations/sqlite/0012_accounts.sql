-- Accounts and access (issue 9): two-factor sign-in (TOTP, RFC 6238, with the
-- secret in the seed's pf_users.mfa_secret, encrypted: mfa_secret_enc, and
-- pf_users.mfa_enabled), fresh sign-ins, and the history of ended sessions.

-- The last TOTP time step accepted for the account: a code is accepted once, and
-- never one of an earlier step.
ALTER TABLE pf_console_login_state ADD COLUMN totp_last_step NUMBER(19);

-- When the session's holder last gave their password (and code): sign-in, or a
-- confirmation before a dangerous action, which needs one within five minutes.
ALTER TABLE pf_user_sessions ADD COLUMN confirmed_at TIMESTAMP;

-- How a session ended before its time: when, who ended it (an admin, or its holder
-- signing out) and why ('signed out', 'revoked', 'roles removed').
ALTER TABLE pf_user_sessions ADD COLUMN ended_at TIMESTAMP;
ALTER TABLE pf_user_sessions ADD COLUMN ended_by VARCHAR2(26);
ALTER TABLE pf_user_sessions ADD COLUMN end_reason VARCHAR2(50);

-- Recovery codes: shown once, kept as SHA-256 (they are random, 60 bits each); a
-- used code keeps its row with used_at.
CREATE TABLE pf_console_recovery_codes (
    code_hash VARCHAR2(64) PRIMARY KEY,
    user_id VARCHAR2(26) NOT NULL,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    used_at TIMESTAMP,
    FOREIGN KEY (user_id) REFERENCES pf_users(user_id) ON DELETE CASCADE
);
CREATE INDEX idx_recovery_codes_user ON pf_console_recovery_codes(user_id);
