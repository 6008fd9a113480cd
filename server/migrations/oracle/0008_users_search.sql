-- The users list at a million rows (our extension to the seed). Every sort order
-- and the status filter walk an index in order, so a page stops after its rows.
-- The seed's idx_users_search serves the username order (LOWER(username) is the
-- username: usernames are lower case) and holds the four searched fields.
CREATE INDEX idx_users_email_lower ON pf_users(LOWER(email));
CREATE INDEX idx_users_created ON pf_users(created_at);
CREATE INDEX idx_users_status_name ON pf_users(COALESCE(account_status, 'active'), LOWER(username));

-- SQLite adds a trigram index for substring search here. Oracle's counterpart is an
-- Oracle Text index (CTXSYS.CONTEXT with a SUBSTRING_INDEX wordlist), left out
-- until it can be tried on a live Autonomous Database: without it a rare substring
-- walks idx_users_search (see migrations/README.md).
