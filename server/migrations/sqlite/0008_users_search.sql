-- The users list at a million rows (our extension to the seed). Every sort order
-- and the status filter walk an index in order, so a page stops after its rows.
-- The seed's idx_users_search serves the username order (LOWER(username) is the
-- username: usernames are lower case) and holds the four searched fields.
CREATE INDEX idx_users_email_lower ON pf_users(LOWER(email));
CREATE INDEX idx_users_created ON pf_users(created_at);
CREATE INDEX idx_users_status_name ON pf_users(COALESCE(account_status, 'active'), LOWER(username));
CREATE INDEX idx_users_status_email ON pf_users(COALESCE(account_status, 'active'), LOWER(email));
CREATE INDEX idx_users_status_created ON pf_users(COALESCE(account_status, 'active'), created_at);

-- A user's sessions (the detail page, and ON DELETE CASCADE from pf_users) and the
-- unexpired ones (the overview's count) without scanning every session.
CREATE INDEX idx_sessions_user ON pf_user_sessions(user_id, created_at);
CREATE INDEX idx_sessions_expires ON pf_user_sessions(expires_at);

-- Substring search: a trigram index of the four searched fields, lower-cased by the
-- same LOWER as the query. It only proposes candidates; the query's own LIKE decides,
-- so a trigram that spans two fields cannot make a wrong match. SQLite only: Oracle's
-- counterpart would be an Oracle Text index (see migrations/README.md).
CREATE VIRTUAL TABLE pf_users_search USING fts5(
    doc, content = '', contentless_delete = 1, tokenize = 'trigram case_sensitive 1'
);

INSERT INTO pf_users_search (rowid, doc)
SELECT rowid, LOWER(username) || char(10) || LOWER(email) || char(10) ||
       COALESCE(LOWER(first_name), '') || char(10) || COALESCE(LOWER(last_name), '')
FROM pf_users;

CREATE TRIGGER pf_users_search_insert AFTER INSERT ON pf_users BEGIN
    INSERT INTO pf_users_search (rowid, doc) VALUES (new.rowid,
        LOWER(new.username) || char(10) || LOWER(new.email) || char(10) ||
        COALESCE(LOWER(new.first_name), '') || char(10) || COALESCE(LOWER(new.last_name), ''));
END;

CREATE TRIGGER pf_users_search_update AFTER UPDATE OF username, email, first_name, last_name ON pf_users BEGIN
    DELETE FROM pf_users_search WHERE rowid = old.rowid;
    INSERT INTO pf_users_search (rowid, doc) VALUES (new.rowid,
        LOWER(new.username) || char(10) || LOWER(new.email) || char(10) ||
        COALESCE(LOWER(new.first_name), '') || char(10) || COALESCE(LOWER(new.last_name), ''));
END;

CREATE TRIGGER pf_users_search_delete AFTER DELETE ON pf_users BEGIN
    DELETE FROM pf_users_search WHERE rowid = old.rowid;
END;
