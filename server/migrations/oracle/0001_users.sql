-- Users, sessions, invitations, SSO links and preferences (seed: "User Management").
-- Ids are ULIDs made by the application: the seed's DEFAULT SYS_GUID() yields 32
-- characters and does not fit VARCHAR2(26) (ORA-12899 on every insert).

CREATE TABLE pf_users (
    user_id VARCHAR2(26) PRIMARY KEY,
    username VARCHAR2(50) UNIQUE NOT NULL,
    email VARCHAR2(255) UNIQUE NOT NULL,
    password_hash VARCHAR2(255) NOT NULL,
    first_name VARCHAR2(100),
    last_name VARCHAR2(100),
    account_status VARCHAR2(20) DEFAULT 'active',
    mfa_enabled CHAR(1) DEFAULT 'N',
    mfa_secret VARCHAR2(255),
    email_verified CHAR(1) DEFAULT 'N',
    phone_number VARCHAR2(20),
    phone_verified CHAR(1) DEFAULT 'N',
    avatar_url VARCHAR2(500),
    bio CLOB,
    timezone VARCHAR2(50) DEFAULT 'UTC',
    language VARCHAR2(10) DEFAULT 'en',
    date_of_birth DATE,
    gender VARCHAR2(20),
    nationality VARCHAR2(100),
    current_title VARCHAR2(200),
    current_company VARCHAR2(200),
    years_experience NUMBER(3,1),
    invited_by VARCHAR2(26),
    invitation_accepted_at TIMESTAMP,
    feature_group_id VARCHAR2(26),
    last_activity_at TIMESTAMP,
    total_logins NUMBER(10) DEFAULT 0,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_login TIMESTAMP
);

CREATE TABLE pf_user_sessions (
    session_id VARCHAR2(26) PRIMARY KEY,
    user_id VARCHAR2(26) NOT NULL,
    token VARCHAR2(500) UNIQUE NOT NULL,
    refresh_token VARCHAR2(500) UNIQUE,
    expires_at TIMESTAMP NOT NULL,
    refresh_expires_at TIMESTAMP,
    ip_address VARCHAR2(45),
    user_agent VARCHAR2(500),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_activity TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    is_active CHAR(1) DEFAULT 'Y',
    FOREIGN KEY (user_id) REFERENCES pf_users(user_id) ON DELETE CASCADE
);

CREATE TABLE pf_user_invitations (
    invitation_id VARCHAR2(26) PRIMARY KEY,
    email VARCHAR2(255) NOT NULL,
    invitation_token VARCHAR2(255) UNIQUE NOT NULL,
    invited_by VARCHAR2(26) NOT NULL,
    role VARCHAR2(50) DEFAULT 'user',
    feature_group_id VARCHAR2(26),
    expires_at TIMESTAMP NOT NULL,
    accepted_at TIMESTAMP,
    declined_at TIMESTAMP,
    reminder_sent_at TIMESTAMP,
    metadata CLOB CHECK (metadata IS JSON),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (invited_by) REFERENCES pf_users(user_id) ON DELETE CASCADE
);

CREATE TABLE pf_sso_accounts (
    sso_account_id VARCHAR2(26) PRIMARY KEY,
    user_id VARCHAR2(26) NOT NULL,
    provider VARCHAR2(50) NOT NULL,
    provider_user_id VARCHAR2(255) NOT NULL,
    email VARCHAR2(255),
    display_name VARCHAR2(255),
    avatar_url VARCHAR2(500),
    access_token VARCHAR2(2000),
    refresh_token VARCHAR2(2000),
    token_expires_at TIMESTAMP,
    profile_data CLOB CHECK (profile_data IS JSON),
    linked_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    last_sync_at TIMESTAMP,
    is_primary CHAR(1) DEFAULT 'N',
    FOREIGN KEY (user_id) REFERENCES pf_users(user_id) ON DELETE CASCADE,
    UNIQUE (provider, provider_user_id)
);

CREATE TABLE pf_user_preferences (
    preference_id VARCHAR2(26) PRIMARY KEY,
    user_id VARCHAR2(26) UNIQUE NOT NULL,
    notification_preferences CLOB CHECK (notification_preferences IS JSON),
    privacy_settings CLOB CHECK (privacy_settings IS JSON),
    ui_preferences CLOB CHECK (ui_preferences IS JSON),
    communication_preferences CLOB CHECK (communication_preferences IS JSON),
    feature_preferences CLOB CHECK (feature_preferences IS JSON),
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (user_id) REFERENCES pf_users(user_id) ON DELETE CASCADE
);

-- idx_users_username and idx_users_email are left out: the UNIQUE constraints
-- already index those columns and Oracle refuses a second index (ORA-01408).
CREATE INDEX idx_users_email_verified ON pf_users(email_verified);
CREATE INDEX idx_users_invited_by ON pf_users(invited_by);
CREATE INDEX idx_users_last_activity ON pf_users(last_activity_at);
CREATE INDEX idx_users_feature_group ON pf_users(feature_group_id);
CREATE INDEX idx_users_search ON pf_users(
    LOWER(username), LOWER(email), LOWER(first_name), LOWER(last_name)
);
CREATE INDEX idx_users_active_recent ON pf_users(
    CASE WHEN account_status = 'active' THEN account_status END,
    last_activity_at
);

CREATE INDEX idx_invitation_email ON pf_user_invitations(email);
-- idx_invitation_token is left out: UNIQUE (invitation_token) already indexes it.
CREATE INDEX idx_invitation_expires ON pf_user_invitations(expires_at);

CREATE INDEX idx_sso_user ON pf_sso_accounts(user_id);
CREATE INDEX idx_sso_provider ON pf_sso_accounts(provider);
