-- Sign-in guard (issue 9): a lockout that cannot be turned against the account's
-- holder (see server/src/auth/guard.rs).

-- How many times in a row the account was locked (the wait doubles each time, up
-- to a cap; forgotten after a quiet period), and the lease one sign-in attempt holds
-- while it checks the password, so that several console instances decide on one
-- account's attempts one at a time.
ALTER TABLE pf_console_login_state ADD COLUMN lockouts NUMBER(5) DEFAULT 0 NOT NULL;
ALTER TABLE pf_console_login_state ADD COLUMN checking_until TIMESTAMP;

-- Browsers that signed in to an account before ("device cookies", OWASP): the
-- account's lock does not apply to them, so an attacker cannot keep the holder out;
-- their failures count against the device, which loses its trust at the limit.
-- Only the SHA-256 of the cookie's secret is kept.
CREATE TABLE pf_console_devices (
    device_hash VARCHAR2(64) PRIMARY KEY,
    user_id VARCHAR2(26) NOT NULL,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_used_at TIMESTAMP,
    failed_attempts NUMBER(5) DEFAULT 0 NOT NULL,
    FOREIGN KEY (user_id) REFERENCES pf_users(user_id) ON DELETE CASCADE
);
CREATE INDEX idx_console_devices_user ON pf_console_devices(user_id, last_used_at);
