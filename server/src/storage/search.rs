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
//!
//! Where an index can propose the matching rows (a prefix range, the trigram index,
//! the short-gram index), the search first counts its proposals, stopping at
//! [`CANDIDATES_MAX`]: few, and it sorts them; many, and matches are common enough
//! that walking the sort order's index fills a page quickly. Either way the search's
//! own LIKE decides, so every path returns the same rows.

use super::sql::{limit_clause, Binds, Dialect};
use pathfinder::dto::{Page, UserSummary};
use pathfinder::filter::{Cursor, SearchMode, UserFilter, UserSort, TRIGRAM_MIN_CHARS};
use pathfinder::storage::Value;
use pathfinder::AppResult;

/// The console's case folding (Unicode, as Oracle's `LOWER`), under a name of our
/// own: SQLite's built-in `lower()` folds ASCII only, and replacing it would make
/// every other tool compute the schema's `LOWER(...)` indexes differently (and call
/// them corrupt). A tool without this function refuses the writes that need it.
pub const FOLD_FUNCTION: &str = "pathfinder_fold";

/// Up to this many candidates, sorting them beats walking an index: with more,
/// matches are common enough that a walk fills a page within a few thousand rows.
/// Measured at a million users (BENCHMARKS.md).
pub const CANDIDATES_MAX: i64 = 5_000;

/// Where the users search finds its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsersAccess {
    /// Walk the sort order's index and keep the rows that match: quick when matches
    /// are common (a page fills early), slow when they are rare.
    Walk,
    /// Sort what an index proposes: quick when matches are rare.
    Candidates(Candidates),
}

impl UsersAccess {
    /// The access for a probe that counted `n` candidates of `source`.
    pub fn from_probe(source: Candidates, n: i64) -> UsersAccess {
        if n < CANDIDATES_MAX {
            UsersAccess::Candidates(source)
        } else {
            UsersAccess::Walk
        }
    }
}

/// An index that proposes the rows a search text may match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Candidates {
    /// A prefix: a range on each field's lower-case index (both dialects).
    PrefixRanges,
    /// Three characters or more: SQLite's trigram index (`pf_users_search`).
    Trigrams,
    /// One or two characters: SQLite's `pf_users_search_short` (migration 0013).
    ShortGrams,
}

/// The fields searched, as each dialect's lower-case index holds them (the leading
/// expression of `idx_users_search`, `idx_users_email_lower`, `idx_users_first_lower`
/// and `idx_users_last_lower`).
fn lower_indexed(dialect: Dialect) -> [&'static str; 4] {
    let email = match dialect {
        Dialect::Sqlite => "email_fold",
        Dialect::Oracle => "LOWER(email)",
    };
    ["LOWER(username)", email, "LOWER(first_name)", "LOWER(last_name)"]
}

/// The index that can propose this filter's rows, if any. SQLite's `lower()` folds
/// ASCII only, so its ranges serve ASCII text; other text goes to its n-gram indexes.
pub fn candidates(filter: &UserFilter, dialect: Dialect) -> Option<Candidates> {
    let q = filter.q.as_deref()?;
    let ranges = filter.mode == SearchMode::Prefix && (dialect == Dialect::Oracle || q.is_ascii());
    match dialect {
        _ if ranges => Some(Candidates::PrefixRanges),
        Dialect::Oracle => None,
        Dialect::Sqlite if q.chars().count() >= TRIGRAM_MIN_CHARS => Some(Candidates::Trigrams),
        Dialect::Sqlite => Some(Candidates::ShortGrams),
    }
}

/// What `pf_users_search_short` indexes for a user's four fields (the SQLite
/// function `pathfinder_short_grams`): each distinct character and each distinct
/// pair of neighbours within a field, case folded, as one word each
/// ([`short_term`]).
pub fn short_grams(fields: &[Option<&str>]) -> String {
    let mut grams = std::collections::BTreeSet::new();
    for field in fields.iter().flatten() {
        let chars: Vec<char> = field.to_lowercase().chars().collect();
        grams.extend(chars.iter().map(|&c| short_term_of(c, None)));
        grams.extend(chars.windows(2).map(|w| short_term_of(w[0], Some(w[1]))));
    }
    grams.into_iter().collect::<Vec<_>>().join(" ")
}

/// One or two characters as a word the `ascii` tokenizer keeps whole: their code
/// points in hexadecimal, after `u` (one) or around `z` (two, after `b`).
fn short_term_of(a: char, b: Option<char>) -> String {
    match b {
        None => format!("u{:x}", u32::from(a)),
        Some(b) => format!("b{:x}z{:x}", u32::from(a), u32::from(b)),
    }
}

/// The word of `pf_users_search_short` for a search text of one or two characters.
fn short_term(q: &str) -> String {
    let mut chars = q.chars();
    let a = chars.next().unwrap_or(' ');
    short_term_of(a, chars.next())
}

/// The first text after every text that starts with `p` (code point order, as
/// both dialects compare text here), or None when there is none.
pub fn prefix_end(p: &str) -> Option<String> {
    let mut chars: Vec<char> = p.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// An FTS5 query for `text`: one quoted string, quotes doubled.
pub(crate) fn fts_string(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// A subquery of the rows `source` proposes, as column `hit`: `search_key` for the
/// n-gram indexes, `user_id` for ranges. `distinct` drops repeats (a row whose
/// username and email share the prefix); the probe counts them, which only errs
/// towards walking.
fn candidates_sql(source: Candidates, filter: &UserFilter, dialect: Dialect, distinct: bool, b: &mut Binds) -> String {
    let q = filter.q.as_deref().unwrap_or_default().to_lowercase();
    match source {
        Candidates::PrefixRanges => {
            let end = prefix_end(&q);
            let arms: Vec<String> = lower_indexed(dialect)
                .iter()
                .map(|field| {
                    let from = b.next(q.clone());
                    let upto = match &end {
                        Some(e) => format!(" AND {field} < {}", b.next(e.clone())),
                        None => String::new(),
                    };
                    format!("SELECT user_id AS hit FROM pf_users WHERE {field} >= {from}{upto}")
                })
                .collect();
            arms.join(if distinct { " UNION " } else { " UNION ALL " })
        }
        Candidates::Trigrams => {
            let p = b.next(fts_string(&q));
            format!("SELECT rowid AS hit FROM pf_users_search WHERE pf_users_search MATCH {p}")
        }
        Candidates::ShortGrams => {
            let p = b.next(short_term(&q));
            format!("SELECT rowid AS hit FROM pf_users_search_short WHERE pf_users_search_short MATCH {p}")
        }
    }
}

/// How many rows the filter's index proposes, counting no further than
/// [`CANDIDATES_MAX`]; None when no index can propose them.
pub fn candidates_probe(filter: &UserFilter, dialect: Dialect) -> Option<(Candidates, String, Vec<Value>)> {
    let source = candidates(filter, dialect)?;
    let mut b = Binds::default();
    let hits = candidates_sql(source, filter, dialect, false, &mut b);
    let limit = limit_clause(dialect, &b.next(CANDIDATES_MAX));
    let sql = format!("SELECT COUNT(*) FROM (SELECT hit FROM ({hits}) {limit})");
    Some((source, sql, b.0))
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

    let mut b = Binds::default();
    let (cmp, dir) = if filter.descending { ("<", "DESC") } else { (">", "ASC") };
    let mut sql = format!("SELECT {SUMMARY_COLUMNS}, {key_text} AS sort_key FROM ");
    match access {
        UsersAccess::Candidates(source) if filter.q.is_some() => {
            let hits = candidates_sql(source, filter, dialect, true, &mut b);
            // SQLite's CROSS JOIN keeps the candidates as the outer loop.
            let join = if dialect == Dialect::Sqlite { "CROSS JOIN" } else { "JOIN" };
            let key = if source == Candidates::PrefixRanges { "user_id" } else { "search_key" };
            sql.push_str(&format!("({hits}) {join} pf_users ON pf_users.{key} = hit WHERE 1 = 1"));
        }
        _ => sql.push_str("pf_users WHERE 1 = 1"),
    }
    if let Some(p) = filter.like_pattern() {
        let ascii = p.is_ascii();
        let matches: Vec<String> = ["username", "email", "first_name", "last_name"]
            .iter()
            .map(|column| format!("{} LIKE {} ESCAPE '\\'", fold(column, dialect, ascii), b.next(p.clone())))
            .collect();
        sql.push_str(&format!(" AND ({})", matches.join(" OR ")));
    }
    if let Some(s) = &filter.status {
        // A NULL status counts as active, as everywhere else (idx_users_status_name).
        sql.push_str(&format!(" AND COALESCE(account_status, 'active') = {}", b.next(s.clone())));
    }
    if let Some(c) = filter.cursor()? {
        // `key >= k` first, so the index walk starts at the cursor instead of filtering up to it.
        let k1 = as_key(b.next(c.key.clone()));
        let k2 = as_key(b.next(c.key));
        let id = b.next(c.id);
        sql.push_str(&format!(" AND {key} {cmp}= {k1} AND ({key} {cmp} {k2} OR user_id {cmp} {id})"));
    }
    let limit = limit_clause(dialect, &b.next(i64::from(filter.page_size()) + 1));
    sql.push_str(&format!(" ORDER BY {key} {dir}, user_id {dir} {limit}"));
    Ok((sql, b.0))
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
