-- The Audit page's facets name the top actors among the newest 2,000 events of a
-- search. Those that walk time order (the default page among them) read each
-- event's actor from its row: 2,000 lookups, about 3 ms of the page's 8 at ten
-- million events (BENCHMARKS.md, issue 28). With the actor in idx_audit_time_walk
-- the sample reads index entries alone (0.1-0.3 ms in sqlite3 on the same file).
DROP INDEX idx_audit_time_walk;
CREATE INDEX idx_audit_time_walk ON pf_audit_log(created_at, id, action, entity_type, response_status,
    request_method, request_path, ip_address, user_id);
