-- The audit searches that no actor, entity or exact action narrows (errors, a path
-- or IP prefix, an action prefix that matches many events, a method, an entity
-- type) walk time order and test each event. With only the seed's
-- idx_audit_created they read every event they pass over, so a search for
-- something rare among the newest events read thousands of rows for its page
-- (9 ms at ten million events, BENCHMARKS.md). This index holds what those
-- searches test, so the walk reads index entries and only the page's rows.
CREATE INDEX idx_audit_time_walk ON pf_audit_log(created_at, id, action, entity_type, response_status,
    request_method, request_path, ip_address);
