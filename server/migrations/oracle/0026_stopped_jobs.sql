-- When a console job was told to stop midway (a signal, a shutdown): its work so far
-- is committed, its lease given back, and it is due again at once; a run that
-- finishes clears it (see server/src/storage/jobs.rs). A column of its own, not a
-- new last_status: the last finished run stays as it was.
ALTER TABLE pf_console_jobs ADD stopped_at TIMESTAMP;
