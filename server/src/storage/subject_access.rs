//! Subject access: everything about one person, streamed into a [`PersonSink`] file
//! by file (see `pathfinder::storage::subject_access`).
//!
//! Each file is one table's rows of that person, every column but the credentials
//! (`never_exported`); the columns come from the database's catalog, so a column a
//! migration adds is exported without a change here. The statements name their
//! table and columns, so they are made here ([`select_statement`]); the schema test
//! sends every one through the Oracle lint.

use super::driver::sqlite::FileAccess;
use super::driver::{Conn, Field, ReadRow, Row, Value, Work};
use super::store::Store;
use super::user_tables::{registry_status, template_objects};
use crate::{args, sql};
use pathfinder::storage::{never_exported, AuditEntry, AuditStore, ExportCounts, PersonSink, SubjectAccessStore};
use pathfinder::{AppError, AppResult, UserId, Username};
use serde_json::{Map, Value as Json};

/// Which rows of a shared table are the person's: `:1` is their id, `:2` (where
/// used) their id again or their email.
pub struct Part {
    pub file: &'static str,
    pub about: &'static str,
    pub table: &'static str,
    pub filter: &'static str,
    pub second: Second,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Second {
    None,
    UserId,
    Email,
}

const fn part(file: &'static str, about: &'static str, table: &'static str, filter: &'static str) -> Part {
    Part { file, about, table, filter, second: Second::None }
}

/// The shared tables' rows of a person, file by file.
pub const SHARED: &[Part] = &[
    part("profile.json", "Your account: names, email, settings, and your sensitive fields decrypted.", "pf_users", "user_id = :1"),
    part("preferences.json", "Your preferences (notifications, privacy, interface, communication, features).", "pf_user_preferences", "user_id = :1"),
    part("sessions.json", "Your sign-in sessions: when, from which address and browser (no tokens).", "pf_user_sessions", "user_id = :1"),
    part("sso_links.json", "Accounts of other providers linked to yours (no tokens).", "pf_sso_accounts", "user_id = :1"),
    Part {
        file: "invitations.json",
        about: "Invitations you sent, and those sent to your email (no link tokens).",
        table: "pf_user_invitations",
        filter: "invited_by = :1 OR LOWER(email) = LOWER(:2)",
        second: Second::Email,
    },
    part("feature_group.json", "The feature group you belong to.", "pf_user_groups", "group_id = (SELECT feature_group_id FROM pf_users WHERE user_id = :1)"),
    part("feature_overrides.json", "Feature flag values set for you alone.", "pf_user_feature_flags", "user_id = :1"),
    part("analytics_events.json", "What the product recorded of your use: pages, events, referrers.", "pf_user_analytics", "user_id = :1"),
    part("cpa_pert/reports.json", "Your CPA PERT reports.", "pf_cpa_pert_reports", "user_id = :1"),
    part("cpa_pert/experiences.json", "The experiences of your CPA PERT reports.", "pf_cpa_pert_experiences", "report_id IN (SELECT id FROM pf_cpa_pert_reports WHERE user_id = :1)"),
    part("cpa_pert/experience_breakdown.json", "The activities of those experiences.", "pf_cpa_experience_breakdown", "experience_id IN (SELECT e.id FROM pf_cpa_pert_experiences e JOIN pf_cpa_pert_reports r ON r.id = e.report_id WHERE r.user_id = :1)"),
    part("cpa_pert/time_tracking.json", "The hours you tracked on those experiences.", "pf_cpa_experience_time_tracking", "user_id = :1"),
    part("cpa_pert/milestones.json", "Your progress per competency.", "pf_cpa_progress_milestones", "user_id = :1"),
    part("cpa_pert/submissions.json", "Your CPA PERT submissions.", "pf_cpa_pert_submissions", "user_id = :1"),
    part("cpa_pert/submission_history.json", "What happened to each submission.", "pf_cpa_submission_history", "user_id = :1"),
    Part {
        file: "audit_log.json",
        about: "The audit log's events done by you or about you (this export's own among them).",
        table: "pf_audit_log",
        filter: "user_id = :1 OR (entity_type = 'user' AND entity_id = :2)",
        second: Second::UserId,
    },
];

/// The statement that reads `columns` of `table`'s rows matching `filter`.
pub fn select_statement(table: &str, columns: &[String], filter: &str) -> String {
    format!("SELECT {} FROM {table} WHERE {filter}", columns.join(", "))
}

/// A table's columns in their order, as the catalog of the connection's database
/// says (a SQLite set's file for a per-user table), but those never exported.
fn exported_columns(c: &mut Conn, table: &str) -> AppResult<Vec<String>> {
    let all = c.query_map(
        sql!(
            sqlite: "SELECT name FROM pragma_table_info(:1) ORDER BY cid",
            oracle: "SELECT LOWER(column_name) FROM user_tab_columns WHERE table_name = UPPER(:1) ORDER BY column_id"
        ),
        &args![table],
        |r| r.text(0),
    )?;
    Ok(all.into_iter().filter(|c| !never_exported(c)).collect())
}

/// A row as a JSON object: times in RFC 3339 (UTC), dates `YYYY-MM-DD`.
fn json_row(r: &dyn Row, columns: &[String]) -> AppResult<Map<String, Json>> {
    let mut out = Map::new();
    for (i, name) in columns.iter().enumerate() {
        let v = match r.field(i)? {
            Field::Null => Json::Null,
            Field::Int(n) => Json::from(n),
            Field::Real(x) => serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number),
            Field::Text(t) => Json::String(t.into_owned()),
            Field::Time(t) => Json::String(t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
            Field::Date(d) => Json::String(d.to_string()),
        };
        out.insert(name.clone(), v);
    }
    Ok(out)
}

/// Streams `table`'s rows of `filter` into the sink's current file; how many.
fn stream(
    c: &mut Conn,
    table: &str,
    filter: &str,
    params: &[Value],
    sink: &mut dyn PersonSink,
    adjust: &mut dyn FnMut(&mut Map<String, Json>) -> AppResult<()>,
) -> AppResult<u64> {
    let columns = exported_columns(c, table)?;
    if columns.is_empty() {
        // A table this database does not have (an older schema): an empty file.
        return Ok(0);
    }
    let mut n = 0;
    c.query_each(&select_statement(table, &columns, filter), params, |r| {
        let mut row = json_row(r, &columns)?;
        adjust(&mut row)?;
        sink.row(&row)?;
        n += 1;
        Ok(())
    })?;
    Ok(n)
}

impl SubjectAccessStore for Store {
    fn export_person(
        &self,
        user_id: &UserId,
        sink: &mut dyn PersonSink,
        audit: &AuditEntry,
    ) -> AppResult<ExportCounts> {
        let (username, email) = self
            .read(|c| c.query_opt(sql!("SELECT username, email FROM pf_users WHERE user_id = :1"), &args![user_id]))?
            .map(|r| Ok::<_, AppError>((r.text(0)?, r.text(1)?)))
            .transpose()?
            .ok_or_else(|| AppError::NotFound("That person".into()))?;
        // The intent first: if it cannot be written, nothing leaves.
        let begin = AuditEntry { action: format!("{}.begin", audit.action), ..audit.clone() };
        self.append_audit(&begin)?;
        let out = self.export_rows(user_id, &username, &email, sink);
        let outcome = match &out {
            Ok(counts) => AuditEntry { detail: Some(counts.describe()), ..audit.clone() },
            Err(e) => AuditEntry { response_status: 500, detail: Some(format!("failed: {e}")), ..audit.clone() },
        };
        self.append_audit(&outcome)?;
        out
    }
}

impl Store {
    fn export_rows(
        &self,
        user_id: &UserId,
        username: &str,
        email: &str,
        sink: &mut dyn PersonSink,
    ) -> AppResult<ExportCounts> {
        let mut counts = ExportCounts { person: username.to_string(), files: Vec::new() };
        let mut c = self.conn(Work::Maintenance, false)?;
        for p in SHARED {
            sink.file(p.file, p.about)?;
            let second = match p.second {
                Second::None => None,
                Second::UserId => Some(Value::Text(user_id.0.clone())),
                Second::Email => Some(Value::Text(email.to_string())),
            };
            let mut params = vec![Value::Text(user_id.0.clone())];
            params.extend(second);
            // The profile's sensitive fields go out decrypted (their ciphertext never).
            let clear = if p.table == "pf_users" { self.sensitive_in_clear(user_id)? } else { Vec::new() };
            let mut decrypt = |row: &mut Map<String, Json>| -> AppResult<()> {
                for (name, value) in &clear {
                    row.insert(name.to_string(), value.clone().map_or(Json::Null, Json::String));
                }
                Ok(())
            };
            let n = stream(&mut c, p.table, p.filter, &params, sink, &mut decrypt)?;
            counts.files.push((p.file.to_string(), n));
        }
        drop(c);
        // Every per-user table, when the person has a ready set.
        if let Ok(owner) = Username::parse(username) {
            if self.read(|c| registry_status(c, &owner))?.as_deref() == Some("ready") {
                let mut c = match self.sqlite() {
                    Some(_) => {
                        self.set_conn(&owner, FileAccess::ReadOnly)?.ok_or_else(|| AppError::internal("no set file"))?
                    }
                    None => self.conn(Work::Maintenance, false)?,
                };
                let prefix = format!("{}{owner}_", pathfinder::username::USER_OBJECT_PREFIX);
                let tables: Vec<String> = template_objects(&c, &owner)?
                    .into_iter()
                    .filter(|(kind, _)| *kind == "table")
                    .map(|(_, t)| t)
                    .collect();
                for table in tables {
                    let file = format!("tables/{}.json", table.strip_prefix(&prefix).unwrap_or(&table));
                    sink.file(&file, "One of your own tables in the product (your career data), every row.")?;
                    let n = stream(&mut c, &table, "1 = 1", &[], sink, &mut |_| Ok(()))?;
                    counts.files.push((file, n));
                }
            }
        }
        Ok(counts)
    }
}
