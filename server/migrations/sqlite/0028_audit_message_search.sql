-- The Audit page's text search at ten million events (issue 28). A word in few or
-- no messages read every event that has one (608,931 at full size): 120-160 ms a
-- page. This is a contentless FTS5 trigram index of the messages (any SQLite since
-- 3.34 opens it), keyed by chain_seq: VACUUM may renumber rowids, and an event's
-- place in the chain never changes. As with pf_users_search, it only proposes
-- candidates when they are few (storage::audit::search); the search's own LIKE
-- decides, so results are the same either way. Triggers keep it for every writer:
-- an event is indexed once chained (at its insert, or when a migration chains rows
-- written before 0014), and a delete names what it removes (retention).
CREATE VIRTUAL TABLE pf_audit_messages_search USING fts5(
    error_message, content = '', tokenize = 'trigram'
);
INSERT INTO pf_audit_messages_search (rowid, error_message)
    SELECT chain_seq, error_message FROM pf_audit_log
    WHERE error_message IS NOT NULL AND chain_seq IS NOT NULL;

CREATE TRIGGER pf_audit_messages_search_insert AFTER INSERT ON pf_audit_log
WHEN new.error_message IS NOT NULL AND new.chain_seq IS NOT NULL BEGIN
    INSERT INTO pf_audit_messages_search (rowid, error_message) VALUES (new.chain_seq, new.error_message);
END;

CREATE TRIGGER pf_audit_messages_search_chain AFTER UPDATE OF chain_seq ON pf_audit_log
WHEN new.error_message IS NOT NULL AND old.chain_seq IS NULL AND new.chain_seq IS NOT NULL BEGIN
    INSERT INTO pf_audit_messages_search (rowid, error_message) VALUES (new.chain_seq, new.error_message);
END;

CREATE TRIGGER pf_audit_messages_search_delete AFTER DELETE ON pf_audit_log
WHEN old.error_message IS NOT NULL AND old.chain_seq IS NOT NULL BEGIN
    INSERT INTO pf_audit_messages_search (pf_audit_messages_search, rowid, error_message)
        VALUES ('delete', old.chain_seq, old.error_message);
END;
