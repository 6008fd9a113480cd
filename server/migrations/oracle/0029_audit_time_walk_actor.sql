-- The Audit page's facets name the top actors among the newest 2,000 events of a
-- search. Those that walk time order (the default page among them) read each
-- event's actor from its row: 2,000 lookups. With the actor in idx_audit_time_walk
-- the sample reads index entries alone: 2.8 -> 1.1-1.3 ms at ten million events in
-- Python's sqlite3, the rows fetched included (BENCHMARKS.md, issue 28).
DROP INDEX idx_audit_time_walk;
CREATE INDEX idx_audit_time_walk ON pf_audit_log(created_at, id, action, entity_type, response_status,
    request_method, request_path, ip_address, user_id);
