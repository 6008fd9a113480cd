//! Retention: the policies of `pf_data_retention_policies` and the runs that apply
//! them (see `pathfinder::retention` for what a policy may name).
//!
//! A run holds the `retention` lease of `pf_console_jobs`, so two never overlap,
//! whichever instance starts them. It keeps its clock and position in
//! `pf_retention_runs`, written in the same transaction as each batch it changes
//! (a per-user set's file is attached to the main database for it), so a run that
//! stops midway is resumed by the next from where it got to, with the same
//! cutoffs. A dry run walks the same steps, counting instead of changing.
//!
//! - Shared tables lose their due rows in batches of [`BATCH`].
//! - `pf_user_analytics` keeps whole UTC days; on Oracle it drops the daily
//!   partitions entirely before the cutoff (found in `USER_TAB_PARTITIONS` by their
//!   `HIGH_VALUE`) and deletes only what the first, range partition holds.
//! - `pf_audit_log` loses its oldest events in chain order, while they are older
//!   than the cutoff, with their hourly and daily counts; each batch goes in one
//!   transaction with a signed cut after it, where verification then starts. Only
//!   events up to where the last verification found the chain whole may go, and
//!   only with the audit key.
//! - Per-user tables are visited set by set in username order, each set's archive
//!   and delete in one transaction.

use super::audit::{self, chain};
use super::driver::sqlite::FileAccess;
use super::driver::{Conn, Dialect, ReadRow, Row, Work};
use super::jobs;
use super::store::Store;
use crate::{args, sql};
use chrono::{DurationRound, TimeDelta, Utc};
use pathfinder::dto::Timestamp;
use pathfinder::retention::{
    PolicyEdit, RetentionPage, RetentionPolicy, RetentionRun, RetentionSummary, TableOutcome, MAX_DAYS, SHARED_TABLES,
    USER_TABLES,
};
use pathfinder::storage::{AuditEntry, RetentionRequest, RetentionStore};
use pathfinder::{new_id, AppError, AppResult, Username};
use std::collections::HashMap;
use wildmatch::WildMatch;

const JOB: &str = "retention";
/// Renewed with every step, so only a run whose instance died loses it.
const LEASE: TimeDelta = TimeDelta::minutes(10);
/// Rows per transaction in a shared table.
const BATCH: i64 = 1_000;
/// How many newer events in a row the audit log's walk looks past for older ones
/// (written out of time order) before it ends.
const YOUNG_RUN: u64 = 10_000;
/// A run's position is saved at least this often while it passes sets with nothing due.
const SAVE_EVERY: u64 = 500;
/// Usernames read per query of the registry.
const SETS_PAGE: i64 = 500;

/// What a policy's pattern reaches: a shared table, or one table of every set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Shared { table: &'static str, column: &'static str },
    Sets { table: &'static str, column: &'static str, archive: bool },
}

impl Target {
    fn label(self) -> String {
        match self {
            Target::Shared { table, .. } => table.to_string(),
            Target::Sets { table, .. } => format!("pf_user_*_{table}"),
        }
    }

    fn of_label(label: &str) -> Option<Target> {
        targets_of(label, &WildMatch::new(label)).into_iter().find(|t| t.label() == label)
    }
}

/// The tables `pattern` reaches. `pf_audit_log` only by its own name: no wildcard
/// deletes the audit log by accident.
fn targets(pattern: &str) -> Vec<Target> {
    targets_of(pattern, &WildMatch::new(pattern))
}

fn targets_of(pattern: &str, glob: &WildMatch) -> Vec<Target> {
    let shared = SHARED_TABLES
        .iter()
        .filter(|(t, _)| if *t == "pf_audit_log" { pattern == *t } else { glob.matches(t) })
        .map(|&(table, column)| Target::Shared { table, column });
    let sets = USER_TABLES
        .iter()
        .filter(|(t, _, _)| {
            glob.matches(&format!("pf_user_*_{t}"))
                || (pattern.starts_with("pf_user_") && pattern.ends_with(&format!("_{t}")))
        })
        .map(|&(table, column, archive)| Target::Sets { table, column, archive });
    shared.chain(sets).collect()
}

/// A set's table name, as a pattern is matched against it.
fn set_table(username: &str, table: &str) -> String {
    format!("{}{username}_{table}", pathfinder::username::USER_OBJECT_PREFIX)
}

/// The statements a run sends to one set's table (`column` holds a row's age, `:1`
/// the cutoff): count the due rows, count those not yet archived, archive them,
/// delete them. The same text for both dialects.
pub fn retention_set_statements(username: &Username, table: &str, column: &str) -> [String; 4] {
    let t = set_table(username.as_str(), table);
    let not_archived = format!("NOT EXISTS (SELECT 1 FROM {t}_archive a WHERE a.id = s.id)");
    [
        format!("SELECT COUNT(*) FROM {t} WHERE {column} < :1"),
        format!("SELECT COUNT(*) FROM {t} s WHERE s.{column} < :1 AND {not_archived}"),
        format!("INSERT INTO {t}_archive SELECT * FROM {t} s WHERE s.{column} < :1 AND {not_archived}"),
        format!("DELETE FROM {t} WHERE {column} < :1"),
    ]
}

/// Oracle: count a partition's rows, drop it (the primary key's global index kept usable).
pub fn partition_statements(name: &str) -> [String; 2] {
    [
        format!("SELECT COUNT(*) FROM pf_user_analytics PARTITION ({name})"),
        format!("ALTER TABLE pf_user_analytics DROP PARTITION {name} UPDATE GLOBAL INDEXES"),
    ]
}

fn policy(r: &dyn Row) -> AppResult<RetentionPolicy> {
    Ok(RetentionPolicy {
        id: r.text(0)?,
        table_pattern: r.text(1)?,
        retention_days: r.int(2)?,
        archive_enabled: r.opt_int(3)?.unwrap_or(0) == 1,
        delete_enabled: r.opt_int(4)?.unwrap_or(1) == 1,
        last_run: r.opt_time(5)?,
        created_at: r.opt_time(6)?,
    })
}

fn policies(c: &mut Conn) -> AppResult<Vec<RetentionPolicy>> {
    c.query_map(
        sql!(
            "SELECT id, table_pattern, retention_days, archive_enabled, delete_enabled, last_run, created_at
             FROM pf_data_retention_policies ORDER BY table_pattern"
        ),
        &[],
        policy,
    )
}

fn policy_by_id(c: &mut Conn, id: &str) -> AppResult<RetentionPolicy> {
    policies(c)?.into_iter().find(|p| p.id == id).ok_or_else(|| AppError::NotFound("The retention policy".into()))
}

/// Usernames of ready sets after `after` (empty: from the first), in order, a page
/// at a time. (Empty text is bound as NULL, hence the second test.)
fn set_names(c: &mut Conn, after: &str) -> AppResult<Vec<String>> {
    c.query_map(
        sql!("SELECT username FROM pf_user_table_sets WHERE status = 'ready' AND (username > :1 OR :2 IS NULL)
                ORDER BY username", limit ":3"),
        &args![after, after, SETS_PAGE],
        |r| r.text(0),
    )
}

/// The first ready set after `after` (in username order) whose username `wanted`
/// accepts, reading the registry a page at a time.
fn next_set(c: &mut Conn, after: &str, wanted: impl Fn(&str) -> bool) -> AppResult<Option<String>> {
    let mut after = after.to_string();
    loop {
        let page = set_names(c, &after)?;
        if let Some(u) = page.iter().find(|u| wanted(u)) {
            return Ok(Some(u.clone()));
        }
        match page.last() {
            Some(last) if page.len() as i64 == SETS_PAGE => after = last.clone(),
            _ => return Ok(None),
        }
    }
}

/// How far the last verification that found the chain whole got (its sequence),
/// and when it started: no event after that sequence is deleted.
fn verified_through(c: &mut Conn) -> AppResult<Option<(i64, Timestamp)>> {
    let row = c.query_opt(
        sql!("SELECT verified_seq, started_at FROM pf_audit_jobs WHERE kind = 'verify' AND outcome = 'ok'
                AND verified_seq IS NOT NULL ORDER BY started_at DESC", limit "1"),
        &[],
    )?;
    row.map(|r| Ok((r.int(0)?, r.time(1)?))).transpose()
}

/// A policy's cutoff: `as_of` minus its days; whole UTC days for analytics (its
/// partitions are days).
fn cutoff(target: Target, as_of: Timestamp, days: i64) -> Timestamp {
    let at = as_of - TimeDelta::days(days);
    match target {
        Target::Shared { table: "pf_user_analytics", .. } => at.duration_trunc(TimeDelta::days(1)).unwrap_or(at),
        _ => at,
    }
}

/// A policy's pattern as stored (lower case), and the tables it reaches, or why it
/// is refused. Pure: the fuzz target `retention_pattern` reads it too.
pub fn pattern_reaches(raw: &str) -> AppResult<(String, Vec<String>)> {
    let pattern = stored_pattern(raw)?;
    let found = reached(&pattern)?;
    Ok((pattern, found.into_iter().map(Target::label).collect()))
}

fn stored_pattern(raw: &str) -> AppResult<String> {
    let pattern = raw.trim().to_ascii_lowercase();
    if pattern.is_empty()
        || pattern.len() > 255
        || !pattern.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_' || ch == '*')
    {
        return Err(AppError::invalid(
            "A table pattern is a table name (letters, digits and _, at most 255), with * for any run of characters.",
        ));
    }
    Ok(pattern)
}

/// The tables `pattern` reaches, refused when none.
fn reached(pattern: &str) -> AppResult<Vec<Target>> {
    let found = targets(pattern);
    if found.is_empty() {
        let names: Vec<String> = SHARED_TABLES
            .iter()
            .map(|(t, _)| t.to_string())
            .chain(USER_TABLES.iter().map(|(t, _, _)| format!("pf_user_*_{t}")))
            .collect();
        return Err(AppError::invalid(format!(
            "The pattern {pattern} matches no table that retention handles ({}).",
            names.join(", ")
        )));
    }
    Ok(found)
}

/// Checks an edit against the rules; the pattern as stored (lower case).
fn validate(c: &mut Conn, edit: &PolicyEdit, id: Option<&str>, now: Timestamp) -> AppResult<String> {
    let pattern = stored_pattern(&edit.table_pattern)?;
    if !(1..=MAX_DAYS).contains(&edit.retention_days) {
        return Err(AppError::invalid(format!("Keep rows for 1 to {MAX_DAYS} days.")));
    }
    if !edit.archive_enabled && !edit.delete_enabled {
        return Err(AppError::invalid("A policy archives, deletes or both: turn one of them on."));
    }
    let found = reached(&pattern)?;
    let glob = WildMatch::new(&pattern);
    let one_user =
        found.iter().all(|t| matches!(t, Target::Sets { table, .. } if !glob.matches(&format!("pf_user_*_{table}"))));
    if one_user {
        let matched = |u: &str| {
            found.iter().any(|t| matches!(t, Target::Sets { table, .. } if glob.matches(&set_table(u, table))))
        };
        if next_set(c, "", matched)?.is_none() {
            return Err(AppError::invalid(format!(
                "The pattern {pattern} matches no user's tables: no such set is provisioned."
            )));
        }
    }
    if edit.archive_enabled {
        if let Some(t) = found.iter().find(|t| !matches!(t, Target::Sets { archive: true, .. })) {
            return Err(AppError::invalid(format!(
                "{} has no archive table (pf_user_*_experiences has one): turn archiving off, or narrow the pattern.",
                t.label()
            )));
        }
    }
    if found.iter().any(|t| matches!(t, Target::Shared { table: "pf_audit_log", .. })) {
        let cut = now - TimeDelta::days(edit.retention_days);
        let verified = verified_through(c)?;
        // The tail after the verified sequence is short; SQLite is kept off the time index.
        let unverified_due = c.query_int(
            sql!(
                sqlite: "SELECT COUNT(*) FROM (SELECT 1 FROM pf_audit_log WHERE chain_seq > :1 AND +created_at < :2 LIMIT 1)",
                oracle: "SELECT COUNT(*) FROM (SELECT 1 FROM pf_audit_log WHERE chain_seq > :1 AND created_at < :2
                    FETCH FIRST 1 ROWS ONLY)"
            ),
            &args![verified.map_or(0, |(seq, _)| seq), cut],
        )?;
        if unverified_due > 0 {
            let when = verified.map_or("never".to_string(), |(_, t)| format!("at {}", t.format("%Y-%m-%d %H:%M UTC")));
            return Err(AppError::invalid(format!(
                "Audit events older than {} days include ones written after the chain was last verified whole \
                 ({when}): verify the chain on the Audit page first, or keep more days.",
                edit.retention_days
            )));
        }
    }
    let taken = c.query_int(
        sql!("SELECT COUNT(*) FROM pf_data_retention_policies WHERE table_pattern = :1 AND id <> :2"),
        &args![pattern.as_str(), id.unwrap_or("")],
    )?;
    if taken > 0 {
        return Err(AppError::Conflict(format!("A policy for {pattern} exists already: change that one.")));
    }
    Ok(pattern)
}

fn describe(p: &RetentionPolicy) -> String {
    let what = match (p.archive_enabled, p.delete_enabled) {
        (true, true) => "archive and delete",
        (true, false) => "archive",
        _ => "delete",
    };
    format!("{}: {what} after {} days", p.table_pattern, p.retention_days)
}

/// The outcome of one step of a table.
struct Step {
    archived: u64,
    deleted: u64,
    units: u64,
    done: bool,
    after: Option<String>,
    note: Option<String>,
}

impl Step {
    fn done(deleted: u64) -> Step {
        Step { archived: 0, deleted, units: 0, done: true, after: None, note: None }
    }
}

/// What a run needs besides its summary.
struct Run<'a> {
    dry: bool,
    key: Option<&'a [u8]>,
    policies: HashMap<String, RetentionPolicy>,
    run_id: String,
}

impl<'a> Run<'a> {
    fn new(dry: bool, key: Option<&'a [u8]>, all: &[RetentionPolicy], run_id: String) -> Run<'a> {
        Run { dry, key, policies: all.iter().map(|p| (p.id.clone(), p.clone())).collect(), run_id }
    }
}

/// The tables each policy reaches, with their cutoffs: a new run's summary.
fn plan(all: &[RetentionPolicy], as_of: Timestamp, dry: bool) -> RetentionSummary {
    // To the millisecond, as the kept position has it: a resumed run's cutoffs are the same.
    let as_of = as_of.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(as_of);
    let tables = all
        .iter()
        .flat_map(|p| {
            targets(&p.table_pattern).into_iter().map(|t| TableOutcome {
                policy_id: p.id.clone(),
                table: t.label(),
                cutoff: Some(cutoff(t, as_of, p.retention_days)),
                ..TableOutcome::default()
            })
        })
        .collect();
    RetentionSummary { dry_run: dry, as_of: Some(as_of), tables, ..RetentionSummary::default() }
}

impl Store {
    /// Writes the run's position, and renews its lease (a real run only).
    fn save_progress(&self, c: &mut Conn, run: &Run, summary: &RetentionSummary) -> AppResult<()> {
        if run.dry {
            return Ok(());
        }
        let text = serde_json::to_string(summary).map_err(AppError::internal)?;
        c.execute(
            sql!("UPDATE pf_retention_runs SET progress = :1 WHERE run_id = :2"),
            &args![text, run.run_id.as_str()],
        )?;
        if !jobs::renew(c, JOB, &self.instance, Utc::now() + LEASE)? {
            return Err(AppError::Conflict("This retention run lost its lease to another instance.".into()));
        }
        Ok(())
    }

    /// Runs `step` on `conn` in one transaction with the run's new position (a dry
    /// run: no transaction is needed, nothing is written), and applies it to `summary`.
    fn take_step(
        &self,
        c: &mut Conn,
        run: &Run,
        summary: &mut RetentionSummary,
        i: usize,
        step: impl FnOnce(&mut Conn) -> AppResult<Step>,
    ) -> AppResult<()> {
        let next = c.transaction(|c| {
            let s = step(c)?;
            let mut next = summary.clone();
            let t = &mut next.tables[i];
            t.archived += s.archived;
            t.deleted += s.deleted;
            t.units += s.units;
            t.done = s.done;
            if s.after.is_some() {
                t.after = s.after;
            }
            if s.note.is_some() {
                t.note = s.note;
            }
            self.save_progress(c, run, &next)?;
            Ok(next)
        })?;
        *summary = next;
        Ok(())
    }

    /// Takes one step of table `i`: a batch, a partition or a set.
    fn step_table(&self, run: &Run, summary: &mut RetentionSummary, i: usize) -> AppResult<()> {
        let t = summary.tables[i].clone();
        let Some(policy) = run.policies.get(&t.policy_id) else {
            let mut c = self.conn(Work::Maintenance, !run.dry)?;
            return self.take_step(&mut c, run, summary, i, |_| {
                Ok(Step { note: Some("its policy was removed".into()), ..Step::done(0) })
            });
        };
        let target = Target::of_label(&t.table).ok_or_else(|| AppError::internal(format!("no target {}", t.table)))?;
        let cut = t.cutoff.unwrap_or_else(Utc::now);
        let delete = policy.delete_enabled;
        match target {
            Target::Sets { table, column, archive } => {
                self.step_set(run, summary, i, policy, (table, column, archive && policy.archive_enabled))
            }
            Target::Shared { table: "pf_audit_log", .. } => self.step_audit(run, summary, i),
            Target::Shared { table: "pf_user_analytics", .. }
                if self.dialect() == Dialect::Oracle && t.after.is_none() =>
            {
                self.step_partitions(run, summary, i, cut)
            }
            Target::Shared { table, .. } => {
                let mut c = self.conn(Work::Maintenance, !run.dry)?;
                self.take_step(&mut c, run, summary, i, |c| {
                    if !delete {
                        return Ok(Step::done(0));
                    }
                    if run.dry {
                        return Ok(Step::done(count_due(c, table, cut)? as u64));
                    }
                    let n = delete_due(c, table, cut)?;
                    Ok(Step { deleted: n, done: (n as i64) < BATCH, ..Step::done(0) })
                })
            }
        }
    }

    /// The next set whose table the policy matches: its archive and delete.
    fn step_set(
        &self,
        run: &Run,
        summary: &mut RetentionSummary,
        i: usize,
        policy: &RetentionPolicy,
        (table, column, archive): (&'static str, &'static str, bool),
    ) -> AppResult<()> {
        let t = summary.tables[i].clone();
        let cut = t.cutoff.unwrap_or_else(Utc::now);
        let glob = WildMatch::new(&policy.table_pattern);
        let after = t.after.clone().unwrap_or_default();
        let next = self.read(|c| next_set(c, &after, |u| glob.matches(&set_table(u, table))))?;
        let Some(name) = next else {
            let mut c = self.conn(Work::Maintenance, !run.dry)?;
            return self.take_step(&mut c, run, summary, i, |_| Ok(Step::done(0)));
        };
        let username = Username::parse(&name).map_err(|e| AppError::internal(format!("set {name}: {e}")))?;
        let [count_due, count_unarchived, archive_rows, delete_rows] =
            retention_set_statements(&username, table, column);
        let bound = |v: Timestamp| -> super::driver::Value {
            if column == "end_date" {
                v.date_naive().into()
            } else {
                v.into()
            }
        };
        // Counted first on a read-only connection: a set with nothing due is passed
        // without a write (its position is saved with the next set that changes, or
        // every SAVE_EVERY sets; a resumed run counts those again, which is cheap).
        let counted = match self.set_conn(&username, FileAccess::ReadOnly)? {
            None => None, // dropped since the registry was read
            Some(mut c) => {
                let archived = if archive { c.query_int(&count_unarchived, &[bound(cut)])? as u64 } else { 0 };
                let deleted = if policy.delete_enabled { c.query_int(&count_due, &[bound(cut)])? as u64 } else { 0 };
                Some((archived, deleted))
            }
        };
        let passed = |t: &mut TableOutcome| {
            t.after = Some(name.clone());
            t.units += u64::from(counted.is_some());
        };
        match counted {
            Some((archived, deleted)) if run.dry => {
                let t = &mut summary.tables[i];
                (t.archived, t.deleted) = (t.archived + archived, t.deleted + deleted);
                passed(t);
                return Ok(());
            }
            Some((0, 0)) | None => {
                passed(&mut summary.tables[i]);
                if run.dry || !summary.tables[i].units.is_multiple_of(SAVE_EVERY) {
                    return Ok(());
                }
                let mut c = self.conn(Work::Maintenance, true)?;
                return self.take_step(&mut c, run, summary, i, |_| Ok(Step { done: false, ..Step::done(0) }));
            }
            Some(_) => {}
        }
        let Some(mut c) = self.set_conn(&username, FileAccess::WithMain)? else {
            passed(&mut summary.tables[i]);
            return Ok(());
        };
        self.take_step(&mut c, run, summary, i, |c| {
            let archived = if archive { c.execute(&archive_rows, &[bound(cut)])? } else { 0 };
            let deleted = if policy.delete_enabled { c.execute(&delete_rows, &[bound(cut)])? } else { 0 };
            Ok(Step { archived, deleted, units: 1, done: false, after: Some(name.clone()), note: None })
        })
    }

    /// Oracle's analytics: the next daily partition wholly before the cutoff,
    /// dropped (its rows counted first); when none is left, the rows the range
    /// partition holds go by batches.
    fn step_partitions(&self, run: &Run, summary: &mut RetentionSummary, i: usize, cut: Timestamp) -> AppResult<()> {
        let mut c = self.conn(Work::Maintenance, !run.dry)?;
        let partitions = c.query_map(
            sql!(
                oracle: "SELECT partition_name, high_value, partition_position FROM user_tab_partitions
                    WHERE table_name = 'PF_USER_ANALYTICS' ORDER BY partition_position"
            ),
            &[],
            |r| Ok((r.text(0)?, r.text(1)?, r.int(2)?)),
        )?;
        let due: Vec<String> = partitions
            .into_iter()
            .filter(|(_, high, position)| *position > 1 && high_bound(high).is_some_and(|d| d <= cut.date_naive()))
            .map(|(name, _, _)| name)
            .filter(|name| name.chars().all(|ch| ch.is_ascii_alphanumeric() || "_$#".contains(ch)))
            .collect();
        if run.dry {
            let rows = count_due(&mut c, "pf_user_analytics", cut)? as u64;
            return self
                .take_step(&mut c, run, summary, i, |_| Ok(Step { units: due.len() as u64, ..Step::done(rows) }));
        }
        let Some(name) = due.first() else {
            // The rest goes by rows (`after` marks that the partitions are done).
            return self.take_step(&mut c, run, summary, i, |_| {
                Ok(Step { done: false, after: Some("partitions dropped".into()), ..Step::done(0) })
            });
        };
        let [count, drop] = partition_statements(name);
        let rows = c.query_int(&count, &[])? as u64;
        c.execute(&drop, &[])?; // DDL: commits by itself
        self.take_step(&mut c, run, summary, i, |_| Ok(Step { deleted: rows, units: 1, done: false, ..Step::done(0) }))
    }

    /// The audit log: its events older than the cutoff, a batch at a time in chain
    /// order, each batch deleted in one transaction with the signed cut after its
    /// last (so the chain verifies at every moment), never past the sequence the
    /// last verification that found the chain whole reached.
    fn step_audit(&self, run: &Run, summary: &mut RetentionSummary, i: usize) -> AppResult<()> {
        let mut c = self.conn(Work::Maintenance, !run.dry)?;
        let Some(key) = run.key else {
            return self.take_step(&mut c, run, summary, i, |_| {
                Ok(Step {
                    note: Some("skipped: the cut needs the audit key (PF_AUDIT_KEY) to be signed".into()),
                    ..Step::done(0)
                })
            });
        };
        let first = summary.tables[i].after.is_none();
        if first {
            summary.tables[i].after = Some(chain::starts_after(&mut c)?.to_string());
        }
        // Never past the last whole verification (a newer one may have come since the run began).
        let Some((limit, verified_at)) = verified_through(&mut c)? else {
            return self.take_step(&mut c, run, summary, i, |_| {
                Ok(Step { note: Some("kept all: the chain was never verified whole".into()), ..Step::done(0) })
            });
        };
        let t = summary.tables[i].clone();
        let cut = t.cutoff.unwrap_or_else(super::driver::earliest_time);
        let after: i64 = t.after.as_deref().unwrap_or("0").parse().map_err(AppError::internal)?;
        self.take_step(&mut c, run, summary, i, |c| {
            // The next batch with events due, looking past up to YOUNG_RUN newer ones.
            let (mut from, mut skipped) = (after, 0u64);
            let batch = loop {
                let batch = c.query_map(
                    sql!("SELECT chain_seq, created_at, action, response_status FROM pf_audit_log
                            WHERE chain_seq > :1 AND chain_seq <= :2 ORDER BY chain_seq", limit ":3"),
                    &args![from, limit, BATCH],
                    |r| Ok((r.int(0)?, r.time(1)?, r.text(2)?, r.opt_int(3)?)),
                )?;
                let full = batch.len() as i64 == BATCH;
                match batch.last() {
                    Some(last) if full && skipped < YOUNG_RUN && batch.iter().all(|(_, at, _, _)| *at >= cut) => {
                        (from, skipped) = (last.0, skipped + batch.len() as u64);
                    }
                    _ => break batch,
                }
            };
            // Events leave in chain order; one written out of time order (newer, but
            // chained before older ones, as an import's are) stays where it is, below
            // the cut. The walk ends where nothing more is due.
            let due: Vec<_> = batch.iter().filter(|(_, at, _, _)| *at < cut).collect();
            let done = due.is_empty() || (batch.len() as i64) < BATCH;
            let mut step = Step { done, after: t.after.clone(), note: t.note.clone(), ..Step::done(0) };
            if first {
                // Events an earlier run kept below its cut, due by now.
                step.deleted = if run.dry {
                    c.query_int(
                        sql!("SELECT COUNT(*) FROM pf_audit_log WHERE chain_seq <= :1 AND created_at < :2"),
                        &args![after, cut],
                    )? as u64
                } else {
                    let below = c.query_map(
                        sql!(
                            "SELECT created_at, action, response_status FROM pf_audit_log
                             WHERE chain_seq <= :1 AND created_at < :2"
                        ),
                        &args![after, cut],
                        |r| Ok((r.time(0)?, r.text(1)?, r.opt_int(2)?)),
                    )?;
                    audit::append::add_counts(c, below.iter().map(|(at, action, status)| (*at, action.as_str(), *status)), -1)?;
                    c.execute(
                        sql!("DELETE FROM pf_audit_log WHERE chain_seq <= :1 AND created_at < :2"),
                        &args![after, cut],
                    )?
                };
            }
            if let Some(last) = due.last() {
                let kept = skipped + batch.iter().filter(|(seq, at, _, _)| *seq < last.0 && *at >= cut).count() as u64;
                step.units = kept;
                step.deleted += due.len() as u64;
                step.after = Some(last.0.to_string());
                if !run.dry {
                    chain::cut(c, key, last.0, Utc::now())?;
                    step.deleted -= due.len() as u64;
                    step.deleted += c.execute(
                        sql!("DELETE FROM pf_audit_log WHERE chain_seq > :1 AND chain_seq <= :2 AND created_at < :3"),
                        &args![after, last.0, cut],
                    )?;
                    let events = due.iter().map(|(_, at, action, status)| (*at, action.as_str(), *status));
                    audit::append::add_counts(c, events, -1)?;
                }
            }
            if done && batch.last().is_some_and(|(seq, _, _, _)| *seq == limit) && !due.is_empty() {
                step.note = Some(format!(
                    "stopped at sequence {limit}, where the last whole verification ({}) ended: newer events wait for the next",
                    verified_at.format("%Y-%m-%d %H:%M UTC")
                ));
            }
            if done {
                let kept = t.units + step.units;
                if kept > 0 {
                    let said = format!(
                        "{kept} newer events written out of time order sit before the cut: kept, no longer covered by verification"
                    );
                    step.note = Some(match &step.note {
                        Some(n) => format!("{n}; {said}"),
                        None => said,
                    });
                }
                if !run.dry {
                    // Hours and days whose every event went.
                    c.execute(sql!("DELETE FROM pf_audit_counts WHERE hour_start < :1 AND events <= 0"), &args![cut])?;
                    c.execute(sql!("DELETE FROM pf_audit_counts_daily WHERE day_start < :1 AND events <= 0"), &args![cut])?;
                    c.execute(sql!("DELETE FROM pf_audit_counts_total WHERE events <= 0"), &[])?;
                }
            }
            Ok(step)
        })
    }

    /// Runs the steps of every table not done yet; false when `progress` said stop.
    fn run_steps(
        &self,
        run: &Run,
        summary: &mut RetentionSummary,
        progress: &mut dyn FnMut(&RetentionSummary) -> bool,
    ) -> AppResult<bool> {
        for i in 0..summary.tables.len() {
            while !summary.tables[i].done {
                self.step_table(run, summary, i)?;
                crate::crash::point("retention.step_committed");
                if !progress(summary) {
                    // Told to stop after the last step, the run went through.
                    return Ok(summary.tables.iter().all(|t| t.done));
                }
            }
        }
        Ok(true)
    }

    /// A real run under the lease: resumes the unfinished run or starts one, steps
    /// to its end (or until told to stop) and records it.
    fn run_leased(
        &self,
        req: &RetentionRequest,
        audit: &AuditEntry,
        progress: &mut dyn FnMut(&RetentionSummary) -> bool,
    ) -> AppResult<RetentionSummary> {
        let unfinished = self.read(|c| {
            let row = c.query_opt(
                sql!("SELECT run_id, progress FROM pf_retention_runs WHERE finished_at IS NULL
                        ORDER BY started_at DESC", limit "1"),
                &[],
            )?;
            row.map(|r| Ok::<_, AppError>((r.text(0)?, r.text(1)?))).transpose()
        })?;
        let all = self.read(policies)?;
        let (run_id, mut summary) = match unfinished {
            Some((id, text)) => {
                let mut s: RetentionSummary = serde_json::from_str(&text).map_err(AppError::internal)?;
                s.resumed = true;
                (id, s)
            }
            None => {
                let s = plan(&all, req.now, false);
                let id = new_id();
                let text = serde_json::to_string(&s).map_err(AppError::internal)?;
                self.write(|c| {
                    c.execute(
                        sql!(
                            "INSERT INTO pf_retention_runs (run_id, started_at, started_by, progress) VALUES (:1, :2, :3, :4)"
                        ),
                        &args![id.as_str(), req.now, audit.actor.as_ref().map(|a| a.as_str()), text],
                    )
                })?;
                (id, s)
            }
        };
        let run = Run::new(false, req.audit_key, &all, run_id);
        if !self.run_steps(&run, &mut summary, progress)? {
            return Ok(summary);
        }
        summary.finished = true;
        let text = serde_json::to_string(&summary).map_err(AppError::internal)?;
        let now = Utc::now();
        self.write(|c| {
            c.execute(
                sql!("UPDATE pf_retention_runs SET finished_at = :1, outcome = 'ok', progress = :2 WHERE run_id = :3"),
                &args![now, text, run.run_id.as_str()],
            )?;
            for id in run.policies.keys() {
                c.execute(
                    sql!("UPDATE pf_data_retention_policies SET last_run = :1 WHERE id = :2"),
                    &args![now, id.as_str()],
                )?;
            }
            Ok(())
        })?;
        Ok(summary)
    }
}

/// The date a partition's `HIGH_VALUE` names (`TIMESTAMP' 2025-01-02 00:00:00'`):
/// its rows are all before it.
fn high_bound(text: &str) -> Option<chrono::NaiveDate> {
    let start = text.find(|ch: char| ch.is_ascii_digit())?;
    chrono::NaiveDate::parse_from_str(text.get(start..start + 10)?, "%Y-%m-%d").ok()
}

fn count_due(c: &mut Conn, table: &str, cut: Timestamp) -> AppResult<i64> {
    let stmt = match table {
        "pf_user_analytics" => sql!("SELECT COUNT(*) FROM pf_user_analytics WHERE event_timestamp < :1"),
        "pf_user_sessions" => sql!("SELECT COUNT(*) FROM pf_user_sessions WHERE expires_at < :1"),
        _ => return Err(AppError::internal(format!("no retention count for {table}"))),
    };
    c.query_int(stmt, &args![cut])
}

/// Deletes up to [`BATCH`] due rows; how many went.
fn delete_due(c: &mut Conn, table: &str, cut: Timestamp) -> AppResult<u64> {
    let stmt = match table {
        "pf_user_analytics" => sql!(
            sqlite: "DELETE FROM pf_user_analytics WHERE analytics_id IN
                (SELECT analytics_id FROM pf_user_analytics WHERE event_timestamp < :1 LIMIT :2)",
            oracle: "DELETE FROM pf_user_analytics WHERE event_timestamp < :1 AND ROWNUM <= :2"
        ),
        "pf_user_sessions" => sql!(
            sqlite: "DELETE FROM pf_user_sessions WHERE session_id IN
                (SELECT session_id FROM pf_user_sessions WHERE expires_at < :1 LIMIT :2)",
            oracle: "DELETE FROM pf_user_sessions WHERE expires_at < :1 AND ROWNUM <= :2"
        ),
        _ => return Err(AppError::internal(format!("no retention delete for {table}"))),
    };
    c.execute(stmt, &args![cut, BATCH])
}

impl RetentionStore for Store {
    fn retention_page(&self) -> AppResult<RetentionPage> {
        self.read(|c| {
            let policies = policies(c)?;
            let last = c.query_opt(
                sql!("SELECT run_id, started_at, finished_at, outcome, progress FROM pf_retention_runs
                        ORDER BY started_at DESC", limit "1"),
                &[],
            )?;
            let last_run = last
                .map(|r| {
                    Ok::<_, AppError>(RetentionRun {
                        run_id: r.text(0)?,
                        started_at: r.time(1)?,
                        finished_at: r.opt_time(2)?,
                        outcome: r.opt_text(3)?,
                        summary: serde_json::from_str(&r.text(4)?).map_err(AppError::internal)?,
                    })
                })
                .transpose()?;
            Ok(RetentionPage { policies, last_run })
        })
    }

    fn save_retention_policy(
        &self,
        id: Option<&str>,
        edit: &PolicyEdit,
        audit: &AuditEntry,
    ) -> AppResult<RetentionPolicy> {
        let id = id.map(str::to_string);
        self.write_audited_with(audit, |c| {
            let pattern = validate(c, edit, id.as_deref(), Utc::now())?;
            let before = id.as_deref().map(|id| policy_by_id(c, id)).transpose()?;
            let saved_id = id.clone().unwrap_or_else(new_id);
            let (archive, delete) = (i64::from(edit.archive_enabled), i64::from(edit.delete_enabled));
            if before.is_some() {
                c.execute(
                    sql!(
                        "UPDATE pf_data_retention_policies SET table_pattern = :1, retention_days = :2,
                         archive_enabled = :3, delete_enabled = :4 WHERE id = :5"
                    ),
                    &args![pattern.as_str(), edit.retention_days, archive, delete, saved_id.as_str()],
                )?;
            } else {
                c.execute(
                    sql!(
                        "INSERT INTO pf_data_retention_policies (id, table_pattern, retention_days, archive_enabled,
                         delete_enabled, created_at) VALUES (:1, :2, :3, :4, :5, :6)"
                    ),
                    &args![saved_id.as_str(), pattern.as_str(), edit.retention_days, archive, delete, Utc::now()],
                )?;
            }
            let saved = policy_by_id(c, &saved_id)?;
            let said = match &before {
                Some(b) => format!("{} -> {}", describe(b), describe(&saved)),
                None => describe(&saved),
            };
            Ok((saved, said))
        })
    }

    fn delete_retention_policy(&self, id: &str, audit: &AuditEntry) -> AppResult<()> {
        self.write_audited_with(audit, |c| {
            let p = policy_by_id(c, id)?;
            c.execute(sql!("DELETE FROM pf_data_retention_policies WHERE id = :1"), &args![id])?;
            Ok(((), format!("removed {}", describe(&p))))
        })
    }

    fn run_retention(
        &self,
        req: &RetentionRequest,
        audit: &AuditEntry,
        progress: &mut dyn FnMut(&RetentionSummary) -> bool,
    ) -> AppResult<Option<RetentionSummary>> {
        if req.dry_run {
            let all = self.read(policies)?;
            let mut summary = plan(&all, req.now, true);
            let run = Run::new(true, req.audit_key, &all, String::new());
            summary.finished = self.run_steps(&run, &mut summary, progress)?;
            return Ok(Some(summary));
        }
        let busy = "A retention run is under way on another console instance.";
        if !self.begin_job_when(JOB, LEASE, req.when, busy, audit)? {
            return Ok(None);
        }
        let started = std::time::Instant::now();
        let done = self.run_leased(req, audit, progress);
        if let Some(summary) = done.as_ref().ok().filter(|s| !s.finished) {
            // Told to stop: its run stays unfinished for the next to resume, and the
            // lease goes back now, so that next run need not wait for it to run out.
            let note = format!(
                "Stopped midway: {} rows archived and {} deleted so far; the next run goes on from there.",
                summary.archived(),
                summary.deleted()
            );
            self.stop_job(JOB, audit, started.elapsed().as_millis() as i64, note)?;
            return done.map(Some);
        }
        if done.is_err() {
            let failed = self.write(|c| {
                c.execute(
                    sql!("UPDATE pf_retention_runs SET finished_at = :1, outcome = 'failed' WHERE finished_at IS NULL"),
                    &args![Utc::now()],
                )
            });
            if let Err(e) = failed {
                tracing::error!(error = %e, "could not record a failed retention run");
            }
        }
        let millis = started.elapsed().as_millis() as i64;
        let recorded = self.end_job(JOB, audit, millis, done.as_ref().map(|s| Some(s.text())));
        let summary = done?;
        recorded?;
        Ok(Some(summary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_reach_the_tables_retention_handles() {
        let labels = |p: &str| targets(p).into_iter().map(Target::label).collect::<Vec<_>>();
        assert_eq!(labels("pf_user_analytics"), ["pf_user_analytics"]);
        assert_eq!(labels("pf_user_*_experiences"), ["pf_user_*_experiences"]);
        assert_eq!(labels("pf_user_alice_chat_messages"), ["pf_user_*_chat_messages"]);
        assert_eq!(
            labels("pf_user_*"),
            ["pf_user_analytics", "pf_user_sessions", "pf_user_*_experiences", "pf_user_*_chat_messages"]
        );
        // The audit log only by its own name.
        assert_eq!(labels("pf_audit_log"), ["pf_audit_log"]);
        assert!(!labels("*").contains(&"pf_audit_log".to_string()));
        assert!(labels("pf_user_*_skills").is_empty());
        assert!(labels("pf_user_*_experiences_archive").is_empty());
        for t in targets("*") {
            assert_eq!(Target::of_label(&t.label()), Some(t));
        }
    }

    #[test]
    fn a_partition_bound_is_read_from_its_high_value() {
        assert_eq!(high_bound("TIMESTAMP' 2025-01-02 00:00:00'"), chrono::NaiveDate::from_ymd_opt(2025, 1, 2));
        assert_eq!(high_bound("MAXVALUE"), None);
    }

    #[test]
    fn generated_statements_pass_the_oracle_lint() {
        let u = Username::parse("alice").unwrap();
        let mut all: Vec<String> = retention_set_statements(&u, "experiences", "end_date").to_vec();
        all.extend(partition_statements("SYS_P1234"));
        for s in all {
            assert_eq!(super::super::oracle_lint::lint(&s), vec![], "{s}");
        }
    }
}
