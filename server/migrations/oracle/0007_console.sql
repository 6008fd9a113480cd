-- The console's own tables (our extension to the seed).

-- Console roles: admin, sre, compliance. A user may hold several.
CREATE TABLE pf_console_roles (
    user_id VARCHAR2(26) NOT NULL,
    role VARCHAR2(20) NOT NULL CHECK (role IN ('admin','sre','compliance')),
    granted_by VARCHAR2(26),
    granted_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (user_id, role),
    FOREIGN KEY (user_id) REFERENCES pf_users(user_id) ON DELETE CASCADE
);

-- Failed sign-ins and temporary lockout.
CREATE TABLE pf_console_login_state (
    user_id VARCHAR2(26) PRIMARY KEY,
    failed_attempts NUMBER(5) DEFAULT 0 NOT NULL,
    last_failed_at TIMESTAMP,
    locked_until TIMESTAMP,
    FOREIGN KEY (user_id) REFERENCES pf_users(user_id) ON DELETE CASCADE
);

-- Registry of provisioned per-user table sets. A row in state 'provisioning' or
-- 'dropping' is work a crash interrupted; the next run of the same operation finishes it.
CREATE TABLE pf_user_table_sets (
    username VARCHAR2(50) PRIMARY KEY,
    user_id VARCHAR2(26),
    status VARCHAR2(20) NOT NULL CHECK (status IN ('provisioning','ready','dropping')),
    template_version NUMBER(5) NOT NULL,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
