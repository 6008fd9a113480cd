//! A person's career data: pages of their per-user tables, and one row's
//! self-written text revealed with its audit row in the same transaction.
//!
//! The statements name the person's tables, so they are made here, not written in
//! `sql!` (which takes literals): [`page_statement`] and [`reveal_statement`] are
//! the only texts, and the schema test sends every section's through the Oracle
//! lint. A hidden column is read as its length, never as its text.

use super::audit::append;
use super::driver::sqlite::FileAccess;
use super::driver::{Conn, Dialect, ReadRow, Row, Value, Work};
use super::store::Store;
use super::user_tables::registry_status;
use crate::args;
use pathfinder::career::{
    CareerCell, CareerCursor, CareerPage, CareerQuery, CareerRow, CareerSection, ColumnKind, Revealed, CAREER_PAGE,
};
use pathfinder::storage::{AuditEntry, CareerStore};
use pathfinder::{AppError, AppResult, UserId, Username};

/// The table of `section` in `username`'s set.
fn table(username: &Username, section: CareerSection) -> String {
    format!("{}{username}_{}", pathfinder::username::USER_OBJECT_PREFIX, section.table())
}

/// The statement of a page of `section`: `id`, the order column, then each column
/// (a hidden one as its length); `:1` the conversation (messages only), then the
/// cursor's key (twice) and id when `after`, then the row limit.
pub fn page_statement(dialect: Dialect, username: &Username, section: CareerSection, after: bool) -> String {
    let (order, _, descending) = section.order();
    let columns: Vec<String> = section
        .columns()
        .iter()
        .map(|c| match c.kind {
            ColumnKind::SelfWritten => format!("LENGTH({})", c.name),
            _ => c.name.to_string(),
        })
        .collect();
    let mut binds = 0;
    let mut next = || {
        binds += 1;
        format!(":{binds}")
    };
    let mut conditions = Vec::new();
    if section == CareerSection::Messages {
        conditions.push(format!("conversation_id = {}", next()));
    }
    if after {
        // Oracle takes each positional placeholder once: the key is bound twice.
        let (key, same_key, id) = (next(), next(), next());
        let cmp = if descending { "<" } else { ">" };
        conditions.push(format!("({order} {cmp} {key} OR ({order} = {same_key} AND id {cmp} {id}))"));
    }
    let dir = if descending { "DESC" } else { "ASC" };
    let limit = next();
    let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
    let limit = match dialect {
        Dialect::Sqlite => format!("LIMIT {limit}"),
        Dialect::Oracle => format!("FETCH FIRST {limit} ROWS ONLY"),
    };
    format!(
        "SELECT id, {order}, {} FROM {}{filter} ORDER BY {order} {dir}, id {dir} {limit}",
        columns.join(", "),
        table(username, section)
    )
}

/// The statement of one row's hidden columns in the clear (`:1` its id).
pub fn reveal_statement(username: &Username, section: CareerSection) -> String {
    let hidden: Vec<&str> =
        section.columns().iter().filter(|c| c.kind == ColumnKind::SelfWritten).map(|c| c.name).collect();
    format!("SELECT {} FROM {} WHERE id = :1", hidden.join(", "), table(username, section))
}

/// How many rows a section has (of a conversation, for messages; `:1` it).
pub fn count_statement(username: &Username, section: CareerSection) -> String {
    let filter = if section == CareerSection::Messages { " WHERE conversation_id = :1" } else { "" };
    format!("SELECT COUNT(*) FROM {}{filter}", table(username, section))
}

/// A cell as the page shows it.
fn cell(r: &dyn Row, i: usize, kind: ColumnKind) -> AppResult<CareerCell> {
    let shown = |v: Option<String>| v.map_or(CareerCell::Empty, CareerCell::Shown);
    Ok(match kind {
        ColumnKind::Text => shown(r.opt_text(i)?),
        ColumnKind::Number => {
            shown(r.opt_real(i)?.map(|n| if n.fract() == 0.0 { format!("{n:.0}") } else { n.to_string() }))
        }
        ColumnKind::Date => shown(r.opt_date(i)?.map(|d| d.to_string())),
        ColumnKind::Time => shown(r.opt_time(i)?.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())),
        ColumnKind::SelfWritten => match r.opt_int(i)? {
            None => CareerCell::Empty,
            Some(n) => CareerCell::Hidden { chars: n.max(0) as usize },
        },
    })
}

/// The order column's value as the cursor keeps it, and back as the value bound.
fn cursor_key(r: &dyn Row, i: usize, kind: ColumnKind) -> AppResult<String> {
    Ok(match kind {
        ColumnKind::Date => r.opt_date(i)?.map(|d| d.to_string()),
        ColumnKind::Time => r.opt_time(i)?.map(|t| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()),
        _ => r.opt_text(i)?,
    }
    .unwrap_or_default())
}

fn key_value(key: &str, kind: ColumnKind) -> AppResult<Value> {
    let bad = || AppError::invalid("The page cursor is not valid; start again from the first page.");
    Ok(match kind {
        ColumnKind::Date => Value::Date(chrono::NaiveDate::parse_from_str(key, "%Y-%m-%d").map_err(|_| bad())?),
        ColumnKind::Time => Value::Time(
            chrono::NaiveDateTime::parse_from_str(key, "%Y-%m-%d %H:%M:%S%.f").map_err(|_| bad())?.and_utc(),
        ),
        _ => Value::Text(key.to_string()),
    })
}

impl Store {
    /// The owner of `user_id`'s table set and a connection that sees it, when the
    /// set is ready; `None` when there is none.
    fn career_set(&self, user_id: &UserId, access: FileAccess) -> AppResult<Option<(Username, Conn<'_>)>> {
        let Ok(owner) = Username::parse(&self.username_of(user_id)?) else { return Ok(None) };
        if self.read(|c| registry_status(c, &owner))?.as_deref() != Some("ready") {
            return Ok(None);
        }
        let c = match self.sqlite() {
            Some(_) => self.set_conn(&owner, access)?,
            // Oracle: the schema's own connection, on the request path.
            None => Some(self.conn(Work::Request, access != FileAccess::ReadOnly)?),
        };
        Ok(c.map(|c| (owner, c)))
    }
}

impl CareerStore for Store {
    fn career_page(&self, user_id: &UserId, q: &CareerQuery) -> AppResult<Option<CareerPage>> {
        let Some((owner, mut c)) = self.career_set(user_id, FileAccess::ReadOnly)? else { return Ok(None) };
        {
            let section = q.section;
            let (_, order_kind, _) = section.order();
            let mut values: Vec<Value> = Vec::new();
            if let Some(conversation) = &q.conversation {
                values.push(Value::Text(conversation.clone()));
            }
            let total = c.query_int(&count_statement(&owner, section), &values)?;
            if let Some(CareerCursor { key, id }) = &q.after {
                let key = key_value(key, order_kind)?;
                values.extend([key.clone(), key, Value::Text(id.clone())]);
            }
            values.push(Value::Int(i64::from(CAREER_PAGE) + 1));
            let statement = page_statement(c.dialect(), &owner, section, q.after.is_some());
            let columns = section.columns();
            let mut rows = c.query_map(&statement, &values, |r| {
                let cells =
                    columns.iter().enumerate().map(|(i, col)| cell(r, i + 2, col.kind)).collect::<AppResult<_>>()?;
                Ok((CareerRow { id: r.text(0)?, cells }, cursor_key(r, 1, order_kind)?))
            })?;
            let next = (rows.len() > CAREER_PAGE as usize).then(|| {
                rows.truncate(CAREER_PAGE as usize);
                rows.last().map(|(row, key)| CareerCursor { key: key.clone(), id: row.id.clone() }.encode())
            });
            Ok(Some(CareerPage {
                section,
                total,
                rows: rows.into_iter().map(|(r, _)| r).collect(),
                next: next.flatten(),
            }))
        }
    }

    fn reveal_career_text(
        &self,
        user_id: &UserId,
        section: CareerSection,
        row_id: &str,
        audit: &AuditEntry,
    ) -> AppResult<Revealed> {
        if !section.has_self_written() {
            return Err(AppError::invalid(format!("{} holds nothing hidden.", section.label())));
        }
        let none = || AppError::NotFound("That person's table set".into());
        // On SQLite the set's file with the main one attached: the read and its
        // audit row commit together.
        let (owner, mut c) = self.career_set(user_id, FileAccess::WithMain)?.ok_or_else(none)?;
        let hidden: Vec<&str> =
            section.columns().iter().filter(|col| col.kind == ColumnKind::SelfWritten).map(|col| col.label).collect();
        c.transaction(|c| {
            let row = c
                .query_opt(&reveal_statement(&owner, section), &args![row_id])?
                .ok_or_else(|| AppError::NotFound("That row".into()))?;
            let fields = hidden
                .iter()
                .enumerate()
                .map(|(i, label)| Ok((label.to_string(), row.opt_text(i)?)))
                .collect::<AppResult<_>>()?;
            append::insert(c, audit)?;
            Ok(Revealed { row_id: row_id.to_string(), fields })
        })
    }
}
