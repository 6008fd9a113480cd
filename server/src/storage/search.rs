//! The users search as one keyset-paginated query, per dialect: SQL and its values.
//!
//! Case folding is Unicode on both: Oracle's `LOWER`, and on SQLite the console's
//! own `pathfinder_fold` (SQLite's `lower()` folds ASCII only), whose email result is
//! kept in `pf_users.email_fold` for the email order's index. A search text of ASCII
//! characters is matched with SQLite's `lower()`, which finds the same rows (but for
//! two characters whose Unicode lower case is ASCII, the Kelvin sign and `İ`) and
//! reads the four folded fields from `idx_users_search` instead of every row: 8× as
//! fast for a short text that walks the index. A NULL `created_at` sorts as the
//! earliest time on both, so keyset paging never meets a NULL key.

use super::driver::sqlite::FOLD_FUNCTION;
use super::driver::{Dialect, Value};
use pathfinder::dto::{Page, UserSummary};
use pathfinder::filter::{Cursor, UserFilter, UserSort};
use pathfinder::AppResult;

/// Up to this many trigram candidates, sorting them beats walking an index: with
/// more, matches are common enough that a walk fills a page within a few thousand
/// rows. Measured at a million users (BENCHMARKS.md).
pub const CANDIDATES_MAX: i64 = 5_000;

/// Where the users search finds its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsersAccess {
    /// Walk the sort order's index and keep the rows that match: quick when matches
    /// are common (a page fills early), slow when they are rare.
    Walk,
    /// Start from SQLite's trigram index (`pf_users_search`) and sort what it
    /// proposes: quick when matches are rare.
    Candidates,
}

pub const SUMMARY_COLUMNS: &str =
    "user_id, username, email, first_name, last_name, account_status, created_at, last_login";

/// The creation time as a sort key (the earliest time when NULL): the expression
/// of `idx_users_created` and `idx_users_status_created` (migration 0009).
fn created_key(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "COALESCE(created_at, '0001-01-01 00:00:00.000000')",
        Dialect::Oracle => "COALESCE(created_at, TIMESTAMP '0001-01-01 00:00:00')",
    }
}

/// `column` case-folded for a LIKE against a pattern (`ascii` when it is all ASCII).
fn fold(column: &str, dialect: Dialect, ascii: bool) -> String {
    match dialect {
        Dialect::Sqlite if !ascii => format!("{FOLD_FUNCTION}({column})"),
        _ => format!("LOWER({column})"),
    }
}

/// Each row carries, after the summary columns, the sort key as the database
/// computed it (so the next page's cursor compares exactly as the database does).
/// It asks for one row more than a page, to know whether a next page exists.
pub fn users_query(filter: &UserFilter, dialect: Dialect, access: UsersAccess) -> AppResult<(String, Vec<Value>)> {
    // Each key is the leading column of an index (migrations 0008 and 0009).
    let key = match (filter.sort, dialect) {
        (UserSort::Username, _) => "LOWER(username)",
        (UserSort::Email, Dialect::Sqlite) => "email_fold",
        (UserSort::Email, Dialect::Oracle) => "LOWER(email)",
        (UserSort::CreatedAt, d) => created_key(d),
    };
    // Oracle keeps TIMESTAMPs: the key travels as text and comes back as a TIMESTAMP.
    let oracle_time = dialect == Dialect::Oracle && filter.sort == UserSort::CreatedAt;
    let key_text = if oracle_time { format!("TO_CHAR({key}, 'YYYY-MM-DD HH24:MI:SS.FF6')") } else { key.to_string() };
    let as_key = |p: String| if oracle_time { format!("TO_TIMESTAMP({p}, 'YYYY-MM-DD HH24:MI:SS.FF6')") } else { p };

    let mut binds = Vec::new();
    let mut next = |v: Value| {
        binds.push(v);
        format!(":{}", binds.len())
    };
    let (cmp, dir) = if filter.descending { ("<", "DESC") } else { (">", "ASC") };
    let mut sql = format!("SELECT {SUMMARY_COLUMNS}, {key_text} AS sort_key FROM ");
    match (access, filter.fts_phrase()) {
        (UsersAccess::Candidates, Some(phrase)) if dialect == Dialect::Sqlite => {
            // CROSS JOIN keeps the trigram index as the outer loop.
            let p = next(Value::Text(phrase));
            sql.push_str(&format!(
                "(SELECT rowid AS hit FROM pf_users_search WHERE pf_users_search MATCH {p}) \
                 CROSS JOIN pf_users ON pf_users.search_key = hit WHERE 1 = 1"
            ));
        }
        _ => sql.push_str("pf_users WHERE 1 = 1"),
    }
    if let Some(p) = filter.like_pattern() {
        let ascii = p.is_ascii();
        let matches: Vec<String> = ["username", "email", "first_name", "last_name"]
            .iter()
            .map(|column| format!("{} LIKE {} ESCAPE '\\'", fold(column, dialect, ascii), next(Value::Text(p.clone()))))
            .collect();
        sql.push_str(&format!(" AND ({})", matches.join(" OR ")));
    }
    if let Some(s) = &filter.status {
        // A NULL status counts as active, as everywhere else (idx_users_status_name).
        sql.push_str(&format!(" AND COALESCE(account_status, 'active') = {}", next(Value::Text(s.clone()))));
    }
    if let Some(c) = filter.cursor()? {
        // `key >= k` first, so the index walk starts at the cursor instead of filtering up to it.
        let k1 = as_key(next(Value::Text(c.key.clone())));
        let k2 = as_key(next(Value::Text(c.key)));
        let id = next(Value::Text(c.id));
        sql.push_str(&format!(" AND {key} {cmp}= {k1} AND ({key} {cmp} {k2} OR user_id {cmp} {id})"));
    }
    let limit = next(Value::Int(i64::from(filter.page_size()) + 1));
    sql.push_str(&format!(" ORDER BY {key} {dir}, user_id {dir} "));
    sql.push_str(&match dialect {
        Dialect::Sqlite => format!("LIMIT {limit}"),
        Dialect::Oracle => format!("FETCH FIRST {limit} ROWS ONLY"),
    });
    Ok((sql, binds))
}

/// Cuts the extra row off and makes the next page's cursor from the last row kept.
pub fn users_page(mut rows: Vec<(UserSummary, String)>, filter: &UserFilter) -> Page<UserSummary> {
    let size = filter.page_size() as usize;
    let next_cursor = if rows.len() > size {
        rows.truncate(size);
        rows.last().map(|(u, key)| {
            Cursor { sort: filter.sort, descending: filter.descending, key: key.clone(), id: u.user_id.0.clone() }
                .encode()
        })
    } else {
        None
    };
    Page { items: rows.into_iter().map(|(u, _)| u).collect(), next_cursor }
}
