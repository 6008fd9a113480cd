-- One storage layer for both backends (issue 7): what SQLite needed so that the file
-- reads the same in every SQLite tool, and so that NULL creation times page.

-- 1. JSON checks that SQLite before 3.45 reads the same way (json_valid(NULL) was 0
--    there, so PRAGMA integrity_check in Debian 12's sqlite3 called every NULL a
--    violation). Oracle's IS JSON passes NULL, and so does this. Loosening a CHECK
--    changes no stored row: SQLite's documented way is to edit the schema text.
PRAGMA writable_schema = ON;
UPDATE sqlite_master SET sql = replace(sql, 'CHECK (json_valid(metadata))', 'CHECK (metadata IS NULL OR json_valid(metadata))') WHERE type = 'table';
UPDATE sqlite_master SET sql = replace(sql, 'CHECK (json_valid(profile_data))', 'CHECK (profile_data IS NULL OR json_valid(profile_data))') WHERE type = 'table';
UPDATE sqlite_master SET sql = replace(sql, 'CHECK (json_valid(notification_preferences))', 'CHECK (notification_preferences IS NULL OR json_valid(notification_preferences))') WHERE type = 'table';
UPDATE sqlite_master SET sql = replace(sql, 'CHECK (json_valid(privacy_settings))', 'CHECK (privacy_settings IS NULL OR json_valid(privacy_settings))') WHERE type = 'table';
UPDATE sqlite_master SET sql = replace(sql, 'CHECK (json_valid(ui_preferences))', 'CHECK (ui_preferences IS NULL OR json_valid(ui_preferences))') WHERE type = 'table';
UPDATE sqlite_master SET sql = replace(sql, 'CHECK (json_valid(communication_preferences))', 'CHECK (communication_preferences IS NULL OR json_valid(communication_preferences))') WHERE type = 'table';
UPDATE sqlite_master SET sql = replace(sql, 'CHECK (json_valid(feature_preferences))', 'CHECK (feature_preferences IS NULL OR json_valid(feature_preferences))') WHERE type = 'table';
UPDATE sqlite_master SET sql = replace(sql, 'CHECK (json_valid(allowed_values))', 'CHECK (allowed_values IS NULL OR json_valid(allowed_values))') WHERE type = 'table';
UPDATE sqlite_master SET sql = replace(sql, 'CHECK (json_valid(event_data))', 'CHECK (event_data IS NULL OR json_valid(event_data))') WHERE type = 'table';
UPDATE sqlite_master SET sql = replace(sql, 'CHECK (json_valid(competencies_demonstrated))', 'CHECK (competencies_demonstrated IS NULL OR json_valid(competencies_demonstrated))') WHERE type = 'table';
UPDATE sqlite_master SET sql = replace(sql, 'CHECK (json_valid(deliverables))', 'CHECK (deliverables IS NULL OR json_valid(deliverables))') WHERE type = 'table';
UPDATE sqlite_master SET sql = replace(sql, 'CHECK (json_valid(key_experiences))', 'CHECK (key_experiences IS NULL OR json_valid(key_experiences))') WHERE type = 'table';
UPDATE sqlite_master SET sql = replace(sql, 'CHECK (json_valid(submitted_payload))', 'CHECK (submitted_payload IS NULL OR json_valid(submitted_payload))') WHERE type = 'table';
UPDATE sqlite_master SET sql = replace(sql, 'CHECK (json_valid(attachments))', 'CHECK (attachments IS NULL OR json_valid(attachments))') WHERE type = 'table';
UPDATE sqlite_master SET sql = replace(sql, 'CHECK (json_valid(aliases))', 'CHECK (aliases IS NULL OR json_valid(aliases))') WHERE type = 'table';
UPDATE sqlite_master SET sql = replace(sql, 'CHECK (json_valid(required_skills))', 'CHECK (required_skills IS NULL OR json_valid(required_skills))') WHERE type = 'table';
UPDATE sqlite_master SET sql = replace(sql, 'CHECK (json_valid(steps))', 'CHECK (steps IS NULL OR json_valid(steps))') WHERE type = 'table';
PRAGMA writable_schema = RESET;

-- 2. Case folding that every SQLite tool computes alike. The console no longer
--    replaces lower() (other tools saw its Unicode LOWER(...) index entries as
--    corrupt): the seed's expression indexes are rebuilt with the built-in, and the
--    Unicode fold lives in pathfinder_fold(), kept for the email order in email_fold.
DROP TRIGGER pf_users_search_insert;
DROP TRIGGER pf_users_search_update;
DROP TRIGGER pf_users_search_delete;
DROP TABLE pf_users_search;
REINDEX idx_users_search;
REINDEX idx_users_status_name;
REINDEX uq_ref_skills_name;
DROP INDEX idx_users_email_lower;
DROP INDEX idx_users_status_email;

-- 3. A key for the trigram index that VACUUM cannot renumber (it may renumber the
--    rowids of a table without an INTEGER PRIMARY KEY, such as pf_users).
ALTER TABLE pf_users ADD COLUMN search_key INTEGER;
ALTER TABLE pf_users ADD COLUMN email_fold VARCHAR2(255);
UPDATE pf_users SET search_key = rowid, email_fold = pathfinder_fold(email) WHERE search_key IS NULL;
CREATE UNIQUE INDEX idx_users_search_key ON pf_users(search_key);
CREATE INDEX idx_users_email_lower ON pf_users(email_fold);
CREATE INDEX idx_users_status_email ON pf_users(COALESCE(account_status, 'active'), email_fold);

-- The trigram index reads pf_users itself (external content; any SQLite since 3.34
-- opens it). It folds case on its own; it only proposes candidates, and the search's
-- own LIKE over pathfinder_fold() decides. The triggers keep it: inserts and email
-- changes need pathfinder_fold(), so a tool without it refuses them rather than
-- leaving email_fold wrong; other changes work from any tool.
CREATE VIRTUAL TABLE pf_users_search USING fts5(
    username, email, first_name, last_name,
    content = 'pf_users', content_rowid = 'search_key', tokenize = 'trigram'
);
INSERT INTO pf_users_search (pf_users_search) VALUES ('rebuild');

CREATE TRIGGER pf_users_search_insert AFTER INSERT ON pf_users BEGIN
    UPDATE pf_users SET search_key = (SELECT COALESCE(MAX(search_key), 0) + 1 FROM pf_users),
        email_fold = pathfinder_fold(new.email)
    WHERE rowid = new.rowid;
    INSERT INTO pf_users_search (rowid, username, email, first_name, last_name)
        SELECT search_key, username, email, first_name, last_name FROM pf_users WHERE rowid = new.rowid;
END;

CREATE TRIGGER pf_users_search_update AFTER UPDATE OF username, email, first_name, last_name ON pf_users BEGIN
    INSERT INTO pf_users_search (pf_users_search, rowid, username, email, first_name, last_name)
        VALUES ('delete', old.search_key, old.username, old.email, old.first_name, old.last_name);
    INSERT INTO pf_users_search (rowid, username, email, first_name, last_name)
        VALUES (new.search_key, new.username, new.email, new.first_name, new.last_name);
END;

CREATE TRIGGER pf_users_email_fold AFTER UPDATE OF email ON pf_users BEGIN
    UPDATE pf_users SET email_fold = pathfinder_fold(new.email) WHERE rowid = new.rowid;
END;

CREATE TRIGGER pf_users_search_delete AFTER DELETE ON pf_users BEGIN
    INSERT INTO pf_users_search (pf_users_search, rowid, username, email, first_name, last_name)
        VALUES ('delete', old.search_key, old.username, old.email, old.first_name, old.last_name);
END;

-- 4. Creation time as a sort key that is never NULL (the seed allows NULL): such
--    rows sort as the earliest, on both backends.
DROP INDEX idx_users_created;
DROP INDEX idx_users_status_created;
CREATE INDEX idx_users_created ON pf_users(COALESCE(created_at, '0001-01-01 00:00:00.000000'));
CREATE INDEX idx_users_status_created ON pf_users(
    COALESCE(account_status, 'active'), COALESCE(created_at, '0001-01-01 00:00:00.000000')
);

-- 5. A user's statistics by id (the detail page), and the record of background jobs
--    that every console instance shares (when the statistics were last refreshed,
--    and which instance holds the refresh now).
CREATE INDEX idx_mv_user_stats_user ON pf_mv_user_stats(user_id);

CREATE TABLE pf_console_jobs (
    job_name VARCHAR2(50) PRIMARY KEY,
    last_started_at TIMESTAMP,
    last_finished_at TIMESTAMP,
    last_duration_ms NUMBER(10),
    last_status VARCHAR2(20) CHECK (last_status IN ('ok','failed')),
    last_error VARCHAR2(500),
    lease_owner VARCHAR2(100),
    lease_until TIMESTAMP
);

-- Data last: on Oracle a step's DML commits with its version row.
INSERT INTO pf_console_jobs (job_name) VALUES ('user_stats');
