//! The Audit page's search as keyset-paginated SQL built from the filter (values
//! always bound, never spliced), its facets, and the export's walk.
//!
//! Order is `(created_at, id)` both ways, so ties on the timestamp page cleanly.
//! Each narrowing that an index serves is a range or an equality on its leading
//! columns (migration 0014): an actor → `idx_audit_user_time`, an entity →
//! `idx_audit_entity_time`, an action → `idx_audit_action_time`, else time order
//! through `idx_audit_time_walk` (migration 0015), which holds every column the
//! other filters test. Prefixes (action, path, address) are ranges, not LIKE.
//! A user's timeline is two such searches (by them; about them) merged, an event
//! by them about them kept once.

use super::super::driver::{Conn, Dialect, ReadRow, Row, Value};
use super::super::search::{fts_string, prefix_end};
use super::super::sql::{limit_clause, Binds};
use super::append::status_class;
use super::chain;
use crate::{args, sql};
use pathfinder::audit::{
    AuditFacets, AuditFilter, AuditHistogram, AuditPage, AuditRow, Count, PageFrom, StatusMatch, TextMatch,
    ACTOR_SAMPLE, COUNT_CAP,
};
use pathfinder::dto::Timestamp;
use pathfinder::filter::TRIGRAM_MIN_CHARS;
use pathfinder::{AppError, AppResult};
use std::collections::BTreeMap;

/// A row read with the chain's columns and then the actor's username.
pub fn named_row(r: &dyn Row) -> AppResult<AuditRow> {
    let mut row = chain::chained_row(r)?;
    row.username = r.opt_text(15)?;
    Ok(row)
}

/// The user an actor names (a username, or an id as is): an unknown name is an error.
fn actor_id(c: &mut Conn, actor: &str) -> AppResult<String> {
    match super::super::rows::user_named(c, actor)? {
        Some(id) => Ok(id),
        // An id of a user since deleted still names their events.
        None if actor.len() == 26 && actor.bytes().all(|b| b.is_ascii_alphanumeric()) => Ok(actor.to_string()),
        None => Err(AppError::invalid(format!("No user is named '{actor}': check the spelling, or give a user id."))),
    }
}

/// `column` within the prefix `p`: a range an index can walk.
fn prefix(column: &str, p: &str, b: &mut Binds) -> String {
    let from = b.next(p);
    match prefix_end(p) {
        Some(end) => format!("{column} >= {from} AND {column} < {}", b.next(end)),
        None => format!("{column} >= {from}"),
    }
}

/// The action's condition: an equality, or a prefix's range.
fn action_condition(f: &AuditFilter, b: &mut Binds) -> Option<String> {
    match &f.action {
        Some(TextMatch::Exact(a)) => Some(format!("action = {}", b.next(a.as_str()))),
        Some(TextMatch::Prefix(a)) => Some(prefix("action", a, b)),
        None => None,
    }
}

/// ` WHERE a AND b …`, or nothing for no condition.
fn where_clause(w: &[String]) -> String {
    if w.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", w.join(" AND "))
    }
}

/// The conditions every source shares (all but who the events are by or about).
fn conditions(f: &AuditFilter, paged: bool, b: &mut Binds) -> Vec<String> {
    let mut w = Vec::new();
    // A page after a cursor is bounded on that side by the cursor (an event of the
    // range), and the range's own bound is left out: with two bounds on one side,
    // SQLite's planner takes the first for the index walk and filters the second,
    // which made each page of an export read every event before it (quadratic).
    // (Only when the cursor lies inside the range: a cursor is a URL's to make.)
    let cursor = match &f.page {
        PageFrom::After(c) | PageFrom::Before(c) if paged => Some(c.created_at),
        _ => None,
    };
    let down = descending(f);
    let bounded_below = cursor.zip(f.from).is_some_and(|(c, from)| !down && c >= from);
    let bounded_above = cursor.zip(f.to).is_some_and(|(c, to)| down && c < to);
    if let Some(t) = f.from.filter(|_| !bounded_below) {
        w.push(format!("created_at >= {}", b.next(t)));
    }
    if let Some(t) = f.to.filter(|_| !bounded_above) {
        w.push(format!("created_at < {}", b.next(t)));
    }
    w.extend(action_condition(f, b));
    if let Some(t) = &f.entity_type {
        w.push(format!("entity_type = {}", b.next(t.as_str())));
    }
    if let Some(id) = &f.entity_id {
        w.push(format!("entity_id = {}", b.next(id.as_str())));
    }
    if let Some(s) = f.status {
        let (lo, hi) = s.bounds();
        w.push(match s {
            StatusMatch::Exact(_) => format!("response_status = {}", b.next(lo)),
            _ => format!("response_status BETWEEN {} AND {}", b.next(lo), b.next(hi)),
        });
    }
    if let Some(m) = &f.method {
        w.push(format!("request_method = {}", b.next(m.as_str())));
    }
    if let Some(p) = &f.path_prefix {
        w.push(prefix("request_path", p, b));
    }
    match &f.ip {
        Some(TextMatch::Exact(ip)) => w.push(format!("ip_address = {}", b.next(ip.as_str()))),
        Some(TextMatch::Prefix(ip)) => w.push(prefix("ip_address", ip, b)),
        None => {}
    }
    if let Some(p) = f.text_pattern() {
        // `IS NOT NULL` spelled out: SQLite's idx_audit_messages serves only a
        // query that says it.
        w.push(format!("error_message IS NOT NULL AND LOWER(error_message) LIKE {} ESCAPE '\\'", b.next(p)));
    }
    w
}

/// One branch of the result: every event, or a user's timeline's two (by them;
/// about them and not by them).
enum Arm<'a> {
    All,
    By(&'a str),
    About(&'a str),
}

fn arms(f: &AuditFilter) -> Vec<Arm<'_>> {
    match &f.involving {
        None => vec![Arm::All],
        Some(user) => vec![Arm::By(user), Arm::About(user)],
    }
}

/// The WHERE clause of one arm. Placeholders appear in the text in the order of
/// their values, each once (SQLite and Oracle both bind by position).
fn arm_where(f: &AuditFilter, actor: Option<&str>, arm: &Arm, walk: Walk, page: bool, b: &mut Binds) -> String {
    let mut w = Vec::new();
    if let Some(a) = actor {
        w.push(format!("user_id = {}", b.next(a)));
    }
    match arm {
        Arm::All => {}
        Arm::By(u) => w.push(format!("user_id = {}", b.next(*u))),
        Arm::About(u) => {
            w.push(format!("entity_id = {}", b.next(*u)));
            // A count must not count an event by them about them twice; a page
            // drops the repeat after its LIMIT instead (`dup`, see `select_sql`):
            // the exclusion here would read every row of a heavy user's about
            // themselves.
            if !page {
                w.push(format!("(user_id IS NULL OR user_id <> {})", b.next(*u)));
            }
        }
    }
    w.extend(conditions(f, page, b));
    if walk == Walk::MessageCandidates {
        // Events not chained yet (another tool's, until the chain takes them) are
        // not in the index: they are read too.
        w.push(format!("(chain_seq IN ({}) OR chain_seq IS NULL)", message_candidates_sql(f, b)));
    }
    if page {
        w.extend(keyset(f, b));
    }
    where_clause(&w)
}

/// Which index a search walks when no actor, entity or exact action narrows it (the
/// planner's choice otherwise). SQLite is told (`INDEXED BY`): its planner cannot
/// tell how rare messages are, nor how common an action prefix is. Oracle's
/// optimizer decides alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    Planner,
    /// The events with a message (`idx_audit_messages`), for a text search that
    /// many messages match (or too short for trigrams).
    Messages,
    /// The events the trigram index of messages proposes (migration 0028), by
    /// `idx_audit_chain`, sorted: a text search that few messages match.
    MessageCandidates,
    /// An action prefix's range of `idx_audit_action_time`, sorted: few matches.
    ActionRange,
    /// Time order (`idx_audit_time_walk`), testing the rest in each index entry
    /// and reading only the matching events: no index narrows the search, or an
    /// action prefix matches many events.
    Time,
}

impl Walk {
    fn hint(self, dialect: Dialect) -> &'static str {
        match (dialect, self) {
            (Dialect::Oracle, _) | (_, Walk::Planner) => "",
            (_, Walk::Messages) => " INDEXED BY idx_audit_messages",
            (_, Walk::MessageCandidates) => " INDEXED BY idx_audit_chain",
            (_, Walk::ActionRange) => " INDEXED BY idx_audit_action_time",
            (_, Walk::Time) => " INDEXED BY idx_audit_time_walk",
        }
    }

    /// The walk of a filter before any probe: `None` when a search text needs
    /// [`message_probe_sql`]'s count, or an action prefix [`walk_probe_sql`]'s, to
    /// decide.
    pub fn of(f: &AuditFilter, actor: Option<&str>) -> Option<Walk> {
        let narrower = narrowed(f, actor);
        Some(match (&f.action, f.text.is_some()) {
            _ if narrower => Walk::Planner,
            (_, true) if has_trigrams(f) => return None,
            (_, true) => Walk::Messages,
            (Some(TextMatch::Prefix(_)), false) => return None,
            // Nothing else has an index: time order. (Left to itself, SQLite 3.50
            // skip-scanned idx_audit_action_time over a time range and sorted it
            // all: 0.3 s a page at ten million events.)
            _ => Walk::Time,
        })
    }

    /// The walk for an action prefix that matches `matching` of `total` events in
    /// the filter's days: sorting the prefix's events costs about one index entry
    /// each; walking time costs about three times as much per row, and finds a page
    /// after `page × total / matching` rows.
    pub fn from_probe(matching: i64, total: i64, page: u32) -> Walk {
        let walk_rows = i64::from(page) * total / matching.max(1);
        if matching < 3 * walk_rows {
            Walk::ActionRange
        } else {
            Walk::Time
        }
    }

    /// The walk for a search text whose trigrams `n` events' messages hold
    /// (counted up to [`MESSAGE_CANDIDATES_MAX`]): few, and sorting them beats
    /// walking the events with a message; many, and a walk fills a page early.
    pub fn from_candidates(n: i64) -> Walk {
        if n < MESSAGE_CANDIDATES_MAX {
            Walk::MessageCandidates
        } else {
            Walk::Messages
        }
    }
}

/// Up to this many events proposed by the trigram index of messages, a page sorts
/// them; past it, it walks the events with a message. Each proposal costs about
/// 3 µs to look up (1.5 µs more to find); a text in a thousand or more events at
/// full size, where searched words are also in the recent searches' own audit rows,
/// filled a page's walk in 2–5 ms where sorting 2,400 proposals took 10 ms
/// (BENCHMARKS.md, "Text searches").
pub const MESSAGE_CANDIDATES_MAX: i64 = 1_000;

/// Whether an index of its own narrows `f`: an actor, a user's timeline, an entity
/// or an exact action.
fn narrowed(f: &AuditFilter, actor: Option<&str>) -> bool {
    actor.is_some() || f.involving.is_some() || f.entity_id.is_some() || matches!(f.action, Some(TextMatch::Exact(_)))
}

/// The events whose messages hold the search text's trigrams (a superset of its
/// matches, and the LIKE decides).
fn message_candidates_sql(f: &AuditFilter, b: &mut Binds) -> String {
    format!("SELECT rowid FROM pf_audit_messages_search WHERE pf_audit_messages_search MATCH {}", b.next(fts_query(f)))
}

/// The index's query for `f`'s text, lower-cased as the LIKE's pattern is: the
/// index folds case by an older Unicode table than Rust's (Georgian capitals, `İ`),
/// so it must be given what the LIKE looks for.
fn fts_query(f: &AuditFilter) -> String {
    fts_string(&f.text.as_deref().unwrap_or_default().to_lowercase())
}

/// Whether `f` has a search text long enough for the trigram index to look up.
fn has_trigrams(f: &AuditFilter) -> bool {
    f.text.as_deref().is_some_and(|t| t.chars().count() >= TRIGRAM_MIN_CHARS)
}

/// How many events the trigram index proposes for the search text, counted up to
/// [`MESSAGE_CANDIDATES_MAX`]; None without a text the index can look up (SQLite
/// only).
pub fn message_probe_sql(f: &AuditFilter) -> Option<(String, Vec<Value>)> {
    if !has_trigrams(f) {
        return None;
    }
    let mut b = Binds::default();
    let hits = message_candidates_sql(f, &mut b);
    let limit = limit_clause(Dialect::Sqlite, &b.next(MESSAGE_CANDIDATES_MAX));
    Some((format!("SELECT COUNT(*) FROM ({hits} {limit})"), b.0))
}

/// How many events the filter's action prefix matches, and how many events there
/// are, in the whole days of its range, from the kept daily counts (no event read):
/// the prefix's rows through `idx_audit_counts_daily_action`, the total from the
/// days' rows, or from the chain's head when the range is all time. SQLite only:
/// Oracle's optimizer chooses its own walk.
pub fn walk_probe_sql(f: &AuditFilter) -> Option<(String, Vec<Value>)> {
    let Some(TextMatch::Prefix(p)) = &f.action else { return None };
    // Placeholders in the order they appear in the text (bound by position).
    let mut b = Binds::default();
    let days = |b: &mut Binds| {
        let mut w = Vec::new();
        if let Some(from) = f.from {
            w.push(format!(" AND day_start >= {}", b.next(floor(from, chrono::TimeDelta::days(1)))));
        }
        if let Some(to) = f.to {
            w.push(format!(" AND day_start < {}", b.next(to)));
        }
        w.concat()
    };
    let matching = prefix("action", p, &mut b);
    let matching_days = days(&mut b);
    let total = if f.from.is_none() && f.to.is_none() {
        "SELECT last_seq FROM pf_audit_chain_head".to_string()
    } else {
        format!("SELECT COALESCE(SUM(events), 0) FROM pf_audit_counts_daily WHERE 1 = 1{}", days(&mut b))
    };
    Some((
        format!(
            "SELECT (SELECT COALESCE(SUM(events), 0) FROM pf_audit_counts_daily WHERE {matching}{matching_days}),
             ({total})"
        ),
        b.0,
    ))
}

/// The walk for `f`, probing the kept counts when it has an action prefix.
fn walk(c: &mut Conn, f: &AuditFilter, actor: Option<&str>, rows: i64) -> AppResult<Walk> {
    if let Some(w) = Walk::of(f, actor) {
        return Ok(w);
    }
    if c.dialect() == Dialect::Oracle {
        return Ok(Walk::Planner);
    }
    if let Some((sql, binds)) = message_probe_sql(f) {
        return Ok(Walk::from_candidates(c.query_int(sql.as_str(), &binds)?));
    }
    let Some((sql, binds)) = walk_probe_sql(f) else { return Ok(Walk::Planner) };
    let counts = c.query_opt(sql.as_str(), &binds)?;
    let (matching, total) = match counts {
        Some(r) => (r.int(0)?, r.int(1)?),
        None => (0, 0),
    };
    Ok(Walk::from_probe(matching, total, u32::try_from(rows).unwrap_or(u32::MAX)))
}

/// Whether the page reads newest first.
fn descending(f: &AuditFilter) -> bool {
    match &f.page {
        PageFrom::Before(_) => f.oldest_first,
        _ => !f.oldest_first,
    }
}

/// The keyset condition of the page's cursor.
fn keyset(f: &AuditFilter, b: &mut Binds) -> Option<String> {
    let cursor = match &f.page {
        PageFrom::First => return None,
        PageFrom::After(c) | PageFrom::Before(c) => c,
    };
    let cmp = if descending(f) { "<" } else { ">" };
    let t1 = b.next(cursor.created_at);
    let t2 = b.next(cursor.created_at);
    let id = b.next(cursor.id.as_str());
    // `created_at <=` first, so the index walk starts at the cursor.
    Some(format!("created_at {cmp}= {t1} AND (created_at {cmp} {t2} OR id {cmp} {id})"))
}

/// The actor's user id, when the filter names one.
fn resolved_actor(c: &mut Conn, f: &AuditFilter) -> AppResult<Option<String>> {
    f.actor.as_deref().map(|a| actor_id(c, a)).transpose()
}

/// The SQL of `f`'s first `rows` events read as `shape` says, its walk chosen.
fn events_sql(
    c: &mut Conn,
    f: &AuditFilter,
    actor: Option<&str>,
    rows: i64,
    shape: Shape,
) -> AppResult<(String, Vec<Value>)> {
    let walk = walk(c, f, actor, rows)?;
    Ok(select_sql(f, actor, walk, c.dialect(), rows, shape))
}

/// The SQL of one page (a row more than the page, to know whether more follow).
fn page_query(c: &mut Conn, f: &AuditFilter) -> AppResult<(String, Vec<Value>)> {
    let actor = resolved_actor(c, f)?;
    events_sql(c, f, actor.as_deref(), i64::from(f.page_size) + 1, Shape::Page)
}

/// [`page_query`]'s SQL for an actor already resolved to a user id.
pub fn page_sql(f: &AuditFilter, actor: Option<&str>, walk: Walk, dialect: Dialect) -> (String, Vec<Value>) {
    select_sql(f, actor, walk, dialect, i64::from(f.page_size) + 1, Shape::Page)
}

/// What a query of events reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Every column and the actor's username (a page).
    Page,
    /// Every column, the username NULL: an export is the log as it is kept (what
    /// its chain hashes), and a join per row cost it 8× at ten million events.
    Export,
    /// `user_id, action, response_status, created_at` (facets and the chart).
    Lean,
}

/// The first `rows` events of `f` in its order, read as `shape` says.
fn select_sql(
    f: &AuditFilter,
    actor: Option<&str>,
    walk: Walk,
    dialect: Dialect,
    rows: i64,
    shape: Shape,
) -> (String, Vec<Value>) {
    let dir = if descending(f) { "DESC" } else { "ASC" };
    let lean = shape == Shape::Lean;
    if lean && f.involving.is_none() && walk != Walk::MessageCandidates {
        // One arm, sampled (the facets' and the chart's newest events): read in
        // the walk's own order, without the outer query a timeline's two arms need,
        // whose sort of the 2,000 rows again cost as much as reading them.
        let mut b = Binds::default();
        let filter = arm_where(f, actor, &Arm::All, walk, true, &mut b);
        let limit = limit_clause(dialect, &b.next(rows));
        let sql = format!(
            "SELECT user_id, action, response_status, created_at FROM pf_audit_log{}{filter}
             ORDER BY created_at {dir}, id {dir} {limit}",
            walk.hint(dialect)
        );
        return (sql, b.0);
    }
    let inner = if lean { "id, user_id, action, response_status, created_at" } else { chain::CHAIN_COLUMNS };
    let mut b = Binds::default();
    let arms: Vec<String> = arms(f)
        .iter()
        .map(|arm| {
            // A timeline's "about them" arm marks the events that are by them too
            // (`dup`): the "by them" arm has each of those that can make the page.
            // (Not UNION: Oracle compares no CLOB, and the page has one.)
            let dup = match arm {
                Arm::About(u) => format!("CASE WHEN user_id = {} THEN 1 ELSE 0 END", b.next(*u)),
                _ => "0".to_string(),
            };
            let filter = arm_where(f, actor, arm, walk, true, &mut b);
            let limit = limit_clause(dialect, &b.next(rows));
            let order = format!("ORDER BY created_at {dir}, id {dir}");
            if walk == Walk::MessageCandidates {
                // The candidates sorted by their keys alone, then the page's rows
                // read: sorting whole rows cost twice as much (4 → 9 ms for 2,360).
                return format!(
                    "SELECT * FROM (SELECT {inner}, {dup} AS dup FROM pf_audit_log WHERE id IN
                     (SELECT id FROM pf_audit_log{}{filter} {order} {limit}) {order})",
                    walk.hint(dialect)
                );
            }
            format!(
                "SELECT * FROM (SELECT {inner}, {dup} AS dup FROM pf_audit_log{}{filter} {order} {limit})",
                walk.hint(dialect)
            )
        })
        .collect();
    let union = arms.join(" UNION ALL ");
    let limit = limit_clause(dialect, &b.next(rows));
    let sql = if lean {
        format!(
            "SELECT a.user_id, a.action, a.response_status, a.created_at FROM ({union}) a WHERE a.dup = 0
             ORDER BY a.created_at {dir}, a.id {dir} {limit}"
        )
    } else {
        let (username, join) = match shape {
            Shape::Page => ("u.username", " LEFT JOIN pf_users u ON u.user_id = a.user_id"),
            _ => ("NULL AS username", ""),
        };
        format!(
            "SELECT a.id, a.user_id, a.action, a.entity_type, a.entity_id, a.ip_address, a.user_agent, a.request_method,
             a.request_path, a.response_status, a.execution_time_ms, a.error_message, a.created_at, a.chain_seq,
             a.chain_hash, {username} FROM ({union}) a{join} WHERE a.dup = 0
             ORDER BY a.created_at {dir}, a.id {dir} {limit}"
        )
    };
    (sql, b.0)
}

/// The newest [`ACTOR_SAMPLE`] events of `f` (one more, to tell whether there are
/// more), lean: (actor, action, status, time).
type Sampled = (Option<String>, String, Option<i64>, Timestamp);

/// The columns a [`Sampled`] row is read from, in its order.
const SAMPLED_COLUMNS: &str = "user_id, action, response_status, created_at";

fn sample(c: &mut Conn, f: &AuditFilter, actor: Option<&str>) -> AppResult<(Vec<Sampled>, bool)> {
    let mut rows = newest(c, f, actor, ACTOR_SAMPLE as usize + 1)?;
    let more = rows.len() > ACTOR_SAMPLE as usize;
    rows.truncate(ACTOR_SAMPLE as usize);
    Ok((rows, more))
}

fn sampled_row(r: &dyn Row) -> AppResult<Sampled> {
    Ok((r.opt_text(0)?, r.text(1)?, r.opt_int(2)?, r.time(3)?))
}

/// The newest `limit` events of `f`, lean. A text that the trigram index of messages
/// can look up, and nothing else narrowing the search: the last events written
/// (chain order, which is time order but for imports and instants apart), found
/// through the index in batches, so the cost follows what is taken, however many
/// events hold the text or have a message (every audited read has one).
fn newest(c: &mut Conn, f: &AuditFilter, actor: Option<&str>, limit: usize) -> AppResult<Vec<Sampled>> {
    if !sampled_by_index(c, f, actor) {
        let newest = AuditFilter { page: PageFrom::First, oldest_first: false, ..f.clone() };
        let (sql, binds) = events_sql(c, &newest, actor, limit as i64, Shape::Lean)?;
        return c.query_map(sql.as_str(), &binds, sampled_row);
    }
    let query = fts_query(f);
    // First the events not chained yet (another tool's, until the chain takes
    // them): the newest written, and not in the index.
    let mut b = Binds::default();
    let mut w = vec!["chain_seq IS NULL".to_string()];
    w.extend(conditions(f, false, &mut b));
    let unchained = format!(
        "SELECT {SAMPLED_COLUMNS} FROM pf_audit_log INDEXED BY idx_audit_chain{}
         ORDER BY created_at DESC {}",
        where_clause(&w),
        limit_clause(Dialect::Sqlite, &b.next(limit as i64))
    );
    let mut out = c.query_map(unchained.as_str(), &b.0, sampled_row)?;
    let mut before = i64::MAX;
    while out.len() < limit {
        // Most proposals match: a batch a little larger than what is still wanted.
        let wanted = limit - out.len();
        let batch = (wanted + wanted / 4 + 50).min(8_000) as i64;
        let seqs = c.query_map(
            sql!(sqlite: "SELECT rowid FROM pf_audit_messages_search WHERE pf_audit_messages_search MATCH :1
                 AND rowid < :2 ORDER BY rowid DESC LIMIT :3"),
            &args![query.as_str(), before, batch],
            |r| r.int(0),
        )?;
        let (Some(&hi), Some(&lo)) = (seqs.first(), seqs.last()) else { break };
        let mut b = Binds::default();
        // The batch's events looked up one by one (a range on chain_seq here
        // would walk every event between the batch's first and last).
        let mut w = vec![format!(
            "chain_seq IN (SELECT rowid FROM pf_audit_messages_search WHERE pf_audit_messages_search MATCH {}
             AND rowid BETWEEN {} AND {})",
            b.next(query.as_str()),
            b.next(lo),
            b.next(hi)
        )];
        w.extend(conditions(f, false, &mut b));
        let sql = format!(
            "SELECT {SAMPLED_COLUMNS} FROM pf_audit_log INDEXED BY idx_audit_chain{}
             ORDER BY chain_seq DESC",
            where_clause(&w)
        );
        out.extend(c.query_map(sql.as_str(), &b.0, sampled_row)?);
        before = lo;
    }
    out.truncate(limit);
    Ok(out)
}

/// Whether `f`'s newest events are found through the trigram index of messages: a
/// text it can look up, nothing else narrowing the search, over all time, on
/// SQLite. (A time range keeps the walk of the events with a message in that range:
/// in chain order, the index would read every proposal outside it before it could
/// tell that fewer than the sample lie within.)
fn sampled_by_index(c: &Conn, f: &AuditFilter, actor: Option<&str>) -> bool {
    c.dialect() == Dialect::Sqlite && f.from.is_none() && f.to.is_none() && !narrowed(f, actor) && has_trigrams(f)
}

/// The usernames of these user ids (a user since deleted keeps their id).
fn usernames(c: &mut Conn, ids: &[String]) -> AppResult<BTreeMap<String, String>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut b = Binds::default();
    let list: Vec<String> = ids.iter().map(|id| b.next(id.as_str())).collect();
    let sql = format!("SELECT user_id, username FROM pf_users WHERE user_id IN ({})", list.join(", "));
    Ok(c.query_map(sql.as_str(), &b.0, |r| Ok((r.text(0)?, r.text(1)?)))?.into_iter().collect())
}

pub fn page(c: &mut Conn, f: &AuditFilter) -> AppResult<AuditPage> {
    let (sql, binds) = page_query(c, f)?;
    let mut events = c.query_map(sql.as_str(), &binds, named_row)?;
    let more = events.len() > f.page_size as usize;
    events.truncate(f.page_size as usize);
    let backwards = matches!(f.page, PageFrom::Before(_));
    if backwards {
        events.reverse();
    }
    let first = events.first().map(|e| e.cursor().encode());
    let last = events.last().map(|e| e.cursor().encode());
    let (previous, next) = match &f.page {
        PageFrom::First => (None, last.filter(|_| more)),
        PageFrom::After(_) => (first, last.filter(|_| more)),
        PageFrom::Before(_) => (first.filter(|_| more), last),
    };
    Ok(AuditPage { events, next, previous })
}

/// Every event of the filter in its order, `batch` at a time (keyset), to `each`
/// until it says stop; how many it took.
pub fn export(c: &mut Conn, f: &AuditFilter, each: &mut dyn FnMut(&AuditRow) -> bool) -> AppResult<u64> {
    let actor = resolved_actor(c, f)?;
    let mut f = AuditFilter { page: PageFrom::First, page_size: EXPORT_BATCH, ..f.clone() };
    let mut n = 0u64;
    loop {
        let (sql, binds) = events_sql(c, &f, actor.as_deref(), i64::from(EXPORT_BATCH) + 1, Shape::Export)?;
        let mut batch = c.query_map(sql.as_str(), &binds, named_row)?;
        let more = batch.len() > EXPORT_BATCH as usize;
        batch.truncate(EXPORT_BATCH as usize);
        for row in &batch {
            if !each(row) {
                return Ok(n);
            }
            n += 1;
        }
        match batch.last() {
            Some(last) if more => f.page = PageFrom::After(last.cursor()),
            _ => return Ok(n),
        }
    }
}

/// Rows per query of an export: large enough that the queries cost little, small
/// enough that a cancelled download stops within a moment.
const EXPORT_BATCH: u32 = 5_000;

/// Where the counts of a time range come from: whole UTC days and hours from the
/// kept counts, the partial hours at its ends from the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    Events(Option<Timestamp>, Option<Timestamp>),
    Hours(Timestamp, Timestamp),
    Days(Option<Timestamp>, Option<Timestamp>),
}

fn floor(t: Timestamp, unit: chrono::TimeDelta) -> Timestamp {
    chrono::DurationRound::duration_trunc(t, unit).unwrap_or(t)
}

fn ceil(t: Timestamp, unit: chrono::TimeDelta) -> Timestamp {
    let f = floor(t, unit);
    if f == t {
        t
    } else {
        f + unit
    }
}

/// Splits `[from, to)` into spans (open ends stay open: the kept counts hold every
/// event up to now).
fn spans(from: Option<Timestamp>, to: Option<Timestamp>) -> Vec<Span> {
    let (hour, day) = (chrono::TimeDelta::hours(1), chrono::TimeDelta::days(1));
    let mut out = Vec::new();
    // The leading edge: events to the next hour, hours to the next day.
    let days_from = match from {
        None => None,
        Some(f) => {
            let h = ceil(f, hour).min(to.unwrap_or(Timestamp::MAX_UTC));
            if f < h {
                out.push(Span::Events(Some(f), Some(h)));
            }
            let d = ceil(h, day).min(to.map(|t| floor(t, hour)).unwrap_or(Timestamp::MAX_UTC)).max(h);
            if h < d {
                out.push(Span::Hours(h, d));
            }
            Some(d)
        }
    };
    match to {
        None => out.push(Span::Days(days_from, None)),
        Some(t) => {
            let (th, td) = (floor(t, hour), floor(t, day));
            let days_to = td.max(days_from.unwrap_or(td));
            if days_from.is_none_or(|d| d < days_to) {
                out.push(Span::Days(days_from, Some(days_to)));
            }
            if days_to < th {
                out.push(Span::Hours(days_to, th));
            }
            let events_from = th.max(days_to).max(from.unwrap_or(th));
            if events_from < t {
                out.push(Span::Events(Some(events_from), Some(t)));
            }
        }
    }
    out
}

type Tally = BTreeMap<(String, i64), i64>;

/// Events by (action, status class) over one span, narrowed by action and outcome.
fn tally(c: &mut Conn, f: &AuditFilter, span: Span, into: &mut Tally) -> AppResult<()> {
    let (sql, binds) = tally_sql(f, span);
    let events = matches!(span, Span::Events(..));
    c.query_each(sql.as_str(), &binds, |r| {
        let class = if events { status_class(r.opt_int(1)?) } else { r.int(1)? };
        *into.entry((r.text(0)?, class)).or_default() += r.int(2)?;
        Ok(())
    })
}

/// The statements that count a filter's events by action and outcome, for every
/// span of its range (the same text on both dialects).
pub fn tally_sqls(f: &AuditFilter) -> Vec<String> {
    spans(f.from, f.to).into_iter().map(|span| tally_sql(f, span).0).collect()
}

fn tally_sql(f: &AuditFilter, span: Span) -> (String, Vec<Value>) {
    let mut b = Binds::default();
    let mut w = Vec::new();
    let (table, time, (lo, hi)) = match span {
        Span::Events(lo, hi) => ("pf_audit_log", "created_at", (lo, hi)),
        Span::Hours(lo, hi) => ("pf_audit_counts", "hour_start", (Some(lo), Some(hi))),
        // All time (the Audit page's default) from the totals: every day's rows were
        // 23 ms at a year of ten million events, and grow with the days kept.
        Span::Days(None, None) => ("pf_audit_counts_total", "", (None, None)),
        Span::Days(lo, hi) => ("pf_audit_counts_daily", "day_start", (lo, hi)),
    };
    if let Some(t) = lo {
        w.push(format!("{time} >= {}", b.next(t)));
    }
    if let Some(t) = hi {
        w.push(format!("{time} < {}", b.next(t)));
    }
    let events = matches!(span, Span::Events(..));
    if events {
        w.extend(action_condition(f, &mut b));
        if let Some(s) = f.status {
            let (lo, hi) = s.bounds();
            w.push(format!("response_status BETWEEN {} AND {}", b.next(lo), b.next(hi)));
        }
    } else {
        narrow_counts(f, &mut w, &mut b);
    }
    let filter = where_clause(&w);
    let sql = if events {
        format!("SELECT action, response_status, COUNT(*) FROM {table}{filter} GROUP BY action, response_status")
    } else {
        format!("SELECT action, status_class, SUM(events) FROM {table}{filter} GROUP BY action, status_class")
    };
    (sql, b.0)
}

fn class_name(class: i64) -> String {
    if class == 0 {
        "none".into()
    } else {
        format!("{class}xx")
    }
}

/// The `n` largest counts, the larger first (ties in key order).
fn top<K: Ord>(m: BTreeMap<K, i64>, n: usize) -> Vec<(K, i64)> {
    let mut v: Vec<(K, i64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

/// The facets of `f`: from the kept counts when only time, action and outcome
/// narrow it; else from its newest events (the count exact up to [`COUNT_CAP`]).
pub fn facets(c: &mut Conn, f: &AuditFilter) -> AppResult<AuditFacets> {
    let mut out = AuditFacets::default();
    if f.counted_by_hour() {
        let mut t = Tally::new();
        for span in spans(f.from, f.to) {
            tally(c, f, span, &mut t)?;
        }
        let (mut actions, mut outcomes) = (BTreeMap::new(), BTreeMap::new());
        for ((action, class), n) in t {
            *actions.entry(action).or_default() += n;
            *outcomes.entry(class_name(class)).or_default() += n;
        }
        out.total = Some(Count::Exact(actions.values().sum()));
        out.actions = top(actions, 10);
        out.outcomes = top(outcomes, 10);
        out.from_kept_counts = true;
    }
    // The newest events of the filter, at most ACTOR_SAMPLE of them.
    let actor = resolved_actor(c, f)?;
    let (events, sampled) = sample(c, f, actor.as_deref())?;
    let (mut actions, mut outcomes, mut actors) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    for (actor, action, status, _) in &events {
        *actors.entry(actor.clone()).or_insert(0i64) += 1;
        *actions.entry(action.clone()).or_insert(0i64) += 1;
        *outcomes.entry(class_name(status_class(*status))).or_insert(0i64) += 1;
    }
    let top_actors = top(actors, 10);
    let ids: Vec<String> = top_actors.iter().filter_map(|(id, _)| id.clone()).collect();
    let names = usernames(c, &ids)?;
    out.actors = top_actors
        .into_iter()
        .map(|(id, n)| match id {
            Some(id) => (names.get(&id).cloned().unwrap_or(id), n),
            None => ("anonymous".to_string(), n),
        })
        .collect();
    out.actors_among_newest = sampled.then_some(ACTOR_SAMPLE);
    if !out.from_kept_counts {
        out.actions = top(actions, 10);
        out.outcomes = top(outcomes, 10);
        out.total = Some(match (sampled, sampled_by_index(c, f, actor.as_deref())) {
            (false, _) => Count::Exact(events.len() as i64),
            // Counting on through the index costs a lookup an event (10,000: about
            // 100 ms): the sample's size is said, the exact count is a job away.
            (true, true) => Count::MoreThan(ACTOR_SAMPLE as i64),
            (true, false) => count_capped(c, f, actor.as_deref())?,
        });
    }
    Ok(out)
}

/// Where a bucket of the histogram puts a status class.
fn outcome_slot(class: i64) -> usize {
    match class {
        4 => 1,
        5 => 2,
        _ => 0,
    }
}

/// Events of `f` over time by outcome: from the kept counts (by hour up to three
/// days, else by day) when only time, action and outcome narrow it; else from its
/// newest [`ACTOR_SAMPLE`] events.
pub fn histogram(c: &mut Conn, f: &AuditFilter, now: Timestamp) -> AppResult<AuditHistogram> {
    let mut buckets: BTreeMap<Timestamp, [i64; 3]> = BTreeMap::new();
    if f.counted_by_hour() {
        let to = f.to.unwrap_or(now);
        let hourly = f.from.is_some_and(|from| to - from <= chrono::TimeDelta::days(3));
        let (table, time, unit) = if hourly {
            ("pf_audit_counts", "hour_start", chrono::TimeDelta::hours(1))
        } else {
            ("pf_audit_counts_daily", "day_start", chrono::TimeDelta::days(1))
        };
        let mut b = Binds::default();
        let mut w = Vec::new();
        if let Some(from) = f.from {
            w.push(format!("{time} >= {}", b.next(floor(from, unit))));
        }
        if let Some(to) = f.to {
            w.push(format!("{time} < {}", b.next(to)));
        }
        narrow_counts(f, &mut w, &mut b);
        let filter = where_clause(&w);
        let sql =
            format!("SELECT {time}, status_class, SUM(events) FROM {table}{filter} GROUP BY {time}, status_class");
        c.query_each(sql.as_str(), &b.0, |r| {
            buckets.entry(r.time(0)?).or_default()[outcome_slot(r.int(1)?)] += r.int(2)?;
            Ok(())
        })?;
        return Ok(AuditHistogram {
            buckets: buckets.into_iter().collect(),
            bucket: if hourly { "hour" } else { "day" }.into(),
            among_newest: None,
        });
    }
    let actor = resolved_actor(c, f)?;
    let (sampled_events, sampled) = sample(c, f, actor.as_deref())?;
    let events: Vec<(Timestamp, i64)> =
        sampled_events.into_iter().map(|(_, _, status, at)| (at, status_class(status))).collect();
    // A sample in chain order is not quite in time order.
    let span = match (events.iter().map(|e| e.0).max(), events.iter().map(|e| e.0).min()) {
        (Some(newest), Some(oldest)) => newest - oldest,
        _ => chrono::TimeDelta::zero(),
    };
    let hourly = span <= chrono::TimeDelta::days(3);
    let unit = if hourly { chrono::TimeDelta::hours(1) } else { chrono::TimeDelta::days(1) };
    for (at, class) in events {
        buckets.entry(floor(at, unit)).or_default()[outcome_slot(class)] += 1;
    }
    Ok(AuditHistogram {
        buckets: buckets.into_iter().collect(),
        bucket: if hourly { "hour" } else { "day" }.into(),
        among_newest: sampled.then_some(ACTOR_SAMPLE),
    })
}

/// The action and outcome conditions on a table of kept counts.
fn narrow_counts(f: &AuditFilter, w: &mut Vec<String>, b: &mut Binds) {
    w.extend(action_condition(f, b));
    if let Some(s) = f.status {
        let (lo, hi) = s.bounds();
        w.push(format!("status_class BETWEEN {} AND {}", b.next(lo / 100), b.next(hi / 100)));
    }
}

/// The exact count up to [`COUNT_CAP`], else "more than".
fn count_capped(c: &mut Conn, f: &AuditFilter, actor: Option<&str>) -> AppResult<Count> {
    let capped = AuditFilter { page: PageFrom::First, page_size: COUNT_CAP as u32, ..f.clone() };
    let (sql, binds) = events_sql(c, &capped, actor, COUNT_CAP + 1, Shape::Lean)?;
    let n = c.query_int(format!("SELECT COUNT(*) FROM ({sql}) n").as_str(), &binds)?;
    Ok(if n > COUNT_CAP { Count::MoreThan(COUNT_CAP) } else { Count::Exact(n) })
}

/// The exact number of events of `f`, however many (a background job's work).
pub fn count_exact(c: &mut Conn, f: &AuditFilter) -> AppResult<i64> {
    let actor = resolved_actor(c, f)?;
    let mut total = 0;
    for arm in arms(f) {
        let mut b = Binds::default();
        let filter = arm_where(f, actor.as_deref(), &arm, Walk::Planner, false, &mut b);
        total += c.query_int(format!("SELECT COUNT(*) FROM pf_audit_log{filter}").as_str(), &b.0)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: &str) -> Timestamp {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap().and_utc()
    }

    #[test]
    fn a_range_splits_into_edges_hours_and_days() {
        let s = spans(Some(at("2026-01-01 10:30")), Some(at("2026-01-04 05:15")));
        assert_eq!(
            s,
            vec![
                Span::Events(Some(at("2026-01-01 10:30")), Some(at("2026-01-01 11:00"))),
                Span::Hours(at("2026-01-01 11:00"), at("2026-01-02 00:00")),
                Span::Days(Some(at("2026-01-02 00:00")), Some(at("2026-01-04 00:00"))),
                Span::Hours(at("2026-01-04 00:00"), at("2026-01-04 05:00")),
                Span::Events(Some(at("2026-01-04 05:00")), Some(at("2026-01-04 05:15"))),
            ]
        );
        // Within one hour: events only.
        let s = spans(Some(at("2026-01-01 10:10")), Some(at("2026-01-01 10:50")));
        assert_eq!(s, vec![Span::Events(Some(at("2026-01-01 10:10")), Some(at("2026-01-01 10:50")))]);
        // Open ends.
        assert_eq!(spans(None, None), vec![Span::Days(None, None)]);
        let s = spans(Some(at("2026-01-01 10:30")), None);
        assert_eq!(s[2], Span::Days(Some(at("2026-01-02 00:00")), None));
        let s = spans(None, Some(at("2026-01-01 10:30")));
        assert_eq!(s[0], Span::Days(None, Some(at("2026-01-01 00:00"))));
        let _ = chrono::Utc.timestamp_opt(0, 0);
    }

    #[test]
    fn spans_cover_the_range_once() {
        // Every minute of a range falls in exactly one span.
        let ranges = [
            ("2026-01-01 10:30", "2026-01-04 05:15"),
            ("2026-01-01 00:00", "2026-01-02 00:00"),
            ("2026-01-01 10:00", "2026-01-01 11:00"),
            ("2026-01-01 23:59", "2026-01-02 00:01"),
            ("2026-01-01 00:30", "2026-01-01 23:30"),
        ];
        for (a, z) in ranges {
            let (from, to) = (at(a), at(z));
            let s = spans(Some(from), Some(to));
            let mut t = from - chrono::TimeDelta::minutes(90);
            while t < to + chrono::TimeDelta::minutes(90) {
                let inside = |lo: Option<Timestamp>, hi: Option<Timestamp>| {
                    lo.is_none_or(|lo| t >= lo) && hi.is_none_or(|hi| t < hi)
                };
                let n = s
                    .iter()
                    .filter(|sp| match **sp {
                        Span::Events(lo, hi) | Span::Days(lo, hi) => inside(lo, hi),
                        Span::Hours(lo, hi) => inside(Some(lo), Some(hi)),
                    })
                    .count();
                assert_eq!(n, usize::from(t >= from && t < to), "{a}..{z} at {t}: {s:?}");
                t += chrono::TimeDelta::minutes(1);
            }
        }
    }
}
