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

-- SQLite adds a trigram index for substring search here. Oracle's counterpart is an
-- Oracle Text index (CTXSYS.CONTEXT with a SUBSTRING_INDEX wordlist), left out
-- until it can be tried on a live Autonomous Database: without it a rare substring
-- walks idx_users_search (see migrations/README.md).
