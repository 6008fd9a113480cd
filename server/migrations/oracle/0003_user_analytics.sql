-- Analytics events, one interval partition a day, and the user statistics view.

CREATE TABLE pf_user_analytics (
    analytics_id VARCHAR2(26) PRIMARY KEY,
    user_id VARCHAR2(26) NOT NULL,
    event_type VARCHAR2(100) NOT NULL,
    event_data CLOB CHECK (event_data IS JSON),
    session_id VARCHAR2(26),
    ip_address VARCHAR2(45),
    user_agent VARCHAR2(500),
    referrer VARCHAR2(500),
    page_url VARCHAR2(500),
    event_timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (user_id) REFERENCES pf_users(user_id) ON DELETE CASCADE
) PARTITION BY RANGE (event_timestamp)
  INTERVAL (NUMTODSINTERVAL(1, 'DAY'))
  (PARTITION p_initial VALUES LESS THAN (DATE '2025-01-01'));

CREATE INDEX idx_analytics_user ON pf_user_analytics(user_id) LOCAL;
CREATE INDEX idx_analytics_event ON pf_user_analytics(event_type) LOCAL;
CREATE INDEX idx_analytics_timestamp ON pf_user_analytics(event_timestamp) LOCAL;
CREATE INDEX idx_analytics_user_date ON pf_user_analytics(
    user_id, event_timestamp
) LOCAL;

CREATE MATERIALIZED VIEW pf_mv_user_stats
BUILD IMMEDIATE
REFRESH COMPLETE ON DEMAND AS
SELECT
    u.user_id,
    u.username,
    COUNT(DISTINCT a.session_id) AS total_sessions,
    COUNT(a.analytics_id) AS total_events,
    MAX(a.event_timestamp) AS last_activity,
    MIN(a.event_timestamp) AS first_activity
FROM pf_users u
LEFT JOIN pf_user_analytics a ON u.user_id = a.user_id
GROUP BY u.user_id, u.username;

CREATE INDEX idx_mv_user_stats_activity ON pf_mv_user_stats(last_activity);
