-- Analytics events and the user statistics table. SQLite has no partitions: a plain
-- table with the same indexes. pf_mv_user_stats is a table that the same refresh
-- operation rebuilds (Oracle: a materialized view).

CREATE TABLE pf_user_analytics (
    analytics_id VARCHAR2(26) PRIMARY KEY,
    user_id VARCHAR2(26) NOT NULL,
    event_type VARCHAR2(100) NOT NULL,
    event_data CLOB CHECK (json_valid(event_data)),
    session_id VARCHAR2(26),
    ip_address VARCHAR2(45),
    user_agent VARCHAR2(500),
    referrer VARCHAR2(500),
    page_url VARCHAR2(500),
    event_timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (user_id) REFERENCES pf_users(user_id) ON DELETE CASCADE
);

CREATE INDEX idx_analytics_user ON pf_user_analytics(user_id);
CREATE INDEX idx_analytics_event ON pf_user_analytics(event_type);
CREATE INDEX idx_analytics_timestamp ON pf_user_analytics(event_timestamp);
CREATE INDEX idx_analytics_user_date ON pf_user_analytics(
    user_id, event_timestamp
);

CREATE TABLE pf_mv_user_stats (
    user_id VARCHAR2(26) NOT NULL,
    username VARCHAR2(50) NOT NULL,
    total_sessions NUMBER,
    total_events NUMBER,
    last_activity TIMESTAMP,
    first_activity TIMESTAMP
);

CREATE INDEX idx_mv_user_stats_activity ON pf_mv_user_stats(last_activity);
