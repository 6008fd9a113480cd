-- Analytics for administrators (issue 27): summaries of the product's events
-- (pf_user_analytics), which the console's analytics job keeps, batch by batch,
-- from where it last stopped, so that no view reads the events themselves.

-- Events by day and type.
CREATE TABLE pf_analytics_daily (
    day_start DATE NOT NULL,
    event_type VARCHAR2(100) NOT NULL,
    events NUMBER(19) NOT NULL,
    PRIMARY KEY (day_start, event_type)
);
-- Pages (the URL's path) and referrers (the referring host) by day.
CREATE TABLE pf_analytics_top_daily (
    day_start DATE NOT NULL,
    kind VARCHAR2(10) NOT NULL CHECK (kind IN ('page','referrer')),
    value VARCHAR2(500) NOT NULL,
    events NUMBER(19) NOT NULL,
    PRIMARY KEY (day_start, kind, value)
);
-- A range's top pages or referrers read from this index alone.
CREATE INDEX idx_analytics_top_kind ON pf_analytics_top_daily(kind, day_start, value, events);
-- Sessions by the day of their first event.
CREATE TABLE pf_analytics_sessions_daily (
    day_start DATE PRIMARY KEY,
    sessions NUMBER(19) NOT NULL
);
-- The sessions seen lately (a session's later events are not counted again);
-- the job forgets those whose first day is long past.
CREATE TABLE pf_analytics_sessions_seen (
    session_id VARCHAR2(26) PRIMARY KEY,
    day_start DATE NOT NULL
);
CREATE INDEX idx_analytics_sessions_seen_day ON pf_analytics_sessions_seen(day_start);
-- The days each person was active, lately (the windows below need 30 days back).
CREATE TABLE pf_analytics_user_days (
    user_id VARCHAR2(26) NOT NULL,
    day_start DATE NOT NULL,
    PRIMARY KEY (user_id, day_start)
);
CREATE INDEX idx_analytics_user_days_day ON pf_analytics_user_days(day_start);
-- Active users in windows of 1, 7 and 30 days, as changes: a person's new active
-- day adds them to each window from the day it first covers, and takes them out
-- after the last, so the active users of a day are the sum of the changes up to it.
CREATE TABLE pf_analytics_active_changes (
    window_days NUMBER(2) NOT NULL CHECK (window_days IN (1, 7, 30)),
    day_start DATE NOT NULL,
    delta_users NUMBER(19) NOT NULL,
    PRIMARY KEY (window_days, day_start)
);
-- Where the job stopped: the last event it counted, in (time, id) order.
CREATE TABLE pf_analytics_progress (
    id NUMBER(1) PRIMARY KEY CHECK (id = 1),
    event_timestamp TIMESTAMP,
    analytics_id VARCHAR2(26),
    events_counted NUMBER(19) NOT NULL,
    updated_at TIMESTAMP
);
-- The job's walk: events in time order, ties by id.
CREATE INDEX idx_analytics_time_id ON pf_user_analytics(event_timestamp, analytics_id);

-- Data last: on Oracle a step's DML commits with its version row.
INSERT INTO pf_analytics_progress (id, events_counted) VALUES (1, 0);
