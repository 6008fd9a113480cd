-- The users search at a million users without a slow mode (issue 9).
--
-- 1. A prefix is a range on a lower-case index, for each of the four fields. The
--    username (idx_users_search) and email (idx_users_email_lower) have one already.
CREATE INDEX idx_users_first_lower ON pf_users(LOWER(first_name));
CREATE INDEX idx_users_last_lower ON pf_users(LOWER(last_name));

-- 2. A status with a search text walks the status's rows in username order and
--    tests the four fields on each: with the fields in the index, it reads no row
--    but the page's (2.0 ms instead of 4-6 ms for `suspended` + `garcia` at 1M).
DROP INDEX idx_users_status_name;
CREATE INDEX idx_users_status_name ON pf_users(
    COALESCE(account_status, 'active'), LOWER(username), LOWER(email), LOWER(first_name), LOWER(last_name)
);

-- 3. One or two characters are too short for the trigram index. This second index
--    holds, per user, each distinct character and each distinct pair of neighbours
--    of the four fields (case folded), each as one word of hexadecimal code points
--    ('ab' -> 'u61 u62 b61z62'), so it is a unigram and bigram index. It keeps only
--    which rows hold a word (detail=none); the search's own LIKE decides, as with
--    the trigrams. pathfinder_short_grams() writes the words. Contentless: a delete
--    names the words it removes (SQLite 3.34 and later read it; contentless_delete
--    would need 3.43), so, as for inserts and email changes already, a tool without
--    the console's functions cannot change the four fields or delete a user.
CREATE VIRTUAL TABLE pf_users_search_short USING fts5(
    grams, content = '', detail = 'none', tokenize = 'ascii'
);
INSERT INTO pf_users_search_short (rowid, grams)
    SELECT search_key, pathfinder_short_grams(username, email, first_name, last_name) FROM pf_users;

DROP TRIGGER pf_users_search_insert;
DROP TRIGGER pf_users_search_update;
DROP TRIGGER pf_users_search_delete;

CREATE TRIGGER pf_users_search_insert AFTER INSERT ON pf_users BEGIN
    UPDATE pf_users SET search_key = (SELECT COALESCE(MAX(search_key), 0) + 1 FROM pf_users),
        email_fold = pathfinder_fold(new.email)
    WHERE rowid = new.rowid;
    INSERT INTO pf_users_search (rowid, username, email, first_name, last_name)
        SELECT search_key, username, email, first_name, last_name FROM pf_users WHERE rowid = new.rowid;
    INSERT INTO pf_users_search_short (rowid, grams)
        SELECT search_key, pathfinder_short_grams(username, email, first_name, last_name)
        FROM pf_users WHERE rowid = new.rowid;
END;

CREATE TRIGGER pf_users_search_update AFTER UPDATE OF username, email, first_name, last_name ON pf_users BEGIN
    INSERT INTO pf_users_search (pf_users_search, rowid, username, email, first_name, last_name)
        VALUES ('delete', old.search_key, old.username, old.email, old.first_name, old.last_name);
    INSERT INTO pf_users_search (rowid, username, email, first_name, last_name)
        VALUES (new.search_key, new.username, new.email, new.first_name, new.last_name);
    INSERT INTO pf_users_search_short (pf_users_search_short, rowid, grams)
        VALUES ('delete', old.search_key, pathfinder_short_grams(old.username, old.email, old.first_name, old.last_name));
    INSERT INTO pf_users_search_short (rowid, grams)
        VALUES (new.search_key, pathfinder_short_grams(new.username, new.email, new.first_name, new.last_name));
END;

CREATE TRIGGER pf_users_search_delete AFTER DELETE ON pf_users BEGIN
    INSERT INTO pf_users_search (pf_users_search, rowid, username, email, first_name, last_name)
        VALUES ('delete', old.search_key, old.username, old.email, old.first_name, old.last_name);
    INSERT INTO pf_users_search_short (pf_users_search_short, rowid, grams)
        VALUES ('delete', old.search_key, pathfinder_short_grams(old.username, old.email, old.first_name, old.last_name));
END;
