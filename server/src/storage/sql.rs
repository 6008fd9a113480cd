//! SQL both backends send as is. Placeholders are `:1`, `:2`, … each used once and
//! in order: Oracle binds them by position (one value per occurrence), and SQLite
//! numbers named parameters by first appearance, so one text and one parameter list
//! serve both. Dialect-specific statements (upserts, row
//! limits, catalog queries) stay in each backend's own files.

use pathfinder::dto::{Page, UserSummary};
use pathfinder::filter::{Cursor, UserFilter, UserSort};
use pathfinder::AppResult;

pub const INSERT_AUDIT: &str = "INSERT INTO pf_audit_log (id, user_id, action, entity_type, entity_id, ip_address,
    user_agent, request_method, request_path, response_status, execution_time_ms, error_message, created_at)
    VALUES (:1, :2, :3, :4, :5, :6, :7, :8, :9, :10, :11, :12, :13)";

pub const AUDITED_ENTITIES: &str =
    "SELECT entity_id FROM pf_audit_log WHERE action = :1 AND request_path = :2 AND entity_id IS NOT NULL";

pub const COUNT_AUDIT_SINCE: &str = "SELECT COUNT(*) FROM pf_audit_log WHERE created_at >= :1";

pub const INSERT_USER: &str = "INSERT INTO pf_users (user_id, username, email, password_hash, first_name, last_name,
    account_status, created_at, updated_at) VALUES (:1, :2, :3, :4, :5, :6, :7, :8, :9)";

pub const INSERT_ROLE: &str =
    "INSERT INTO pf_console_roles (user_id, role, granted_by, granted_at) VALUES (:1, :2, :3, :4)";

pub const ROLES_OF: &str = "SELECT role FROM pf_console_roles WHERE user_id = :1 ORDER BY role";

pub const USER_SUMMARY_COLUMNS: &str =
    "user_id, username, email, first_name, last_name, account_status, created_at, last_login";

pub const USER_PROFILE: &str = "SELECT user_id, username, email, first_name, last_name, account_status, created_at,
    last_login, phone_number, timezone, language, current_title, current_company, email_verified, mfa_enabled,
    total_logins, last_activity_at FROM pf_users WHERE user_id = :1";

pub const USER_ID_BY_USERNAME: &str = "SELECT user_id FROM pf_users WHERE username = :1";

pub const SET_ACCOUNT_STATUS: &str = "UPDATE pf_users SET account_status = :1, updated_at = :2 WHERE user_id = :3";

pub const USERS_BY_STATUS: &str = "SELECT COALESCE(account_status, 'active'), COUNT(*) FROM pf_users
    GROUP BY COALESCE(account_status, 'active') ORDER BY 1";

pub const COUNT_ADMINS: &str = "SELECT COUNT(*) FROM pf_console_roles WHERE role = 'admin'";

pub const LOGIN_RECORD: &str = "SELECT u.user_id, u.username, u.password_hash, COALESCE(u.account_status, 'active'),
    COALESCE(l.failed_attempts, 0), l.locked_until
    FROM pf_users u LEFT JOIN pf_console_login_state l ON l.user_id = u.user_id WHERE u.username = :1";

pub const INSERT_SESSION: &str = "INSERT INTO pf_user_sessions (session_id, user_id, token, expires_at, ip_address,
    user_agent, created_at, last_activity, is_active) VALUES (:1, :2, :3, :4, :5, :6, :7, :8, 'Y')";

pub const COUNT_LOGIN: &str = "UPDATE pf_users SET total_logins = COALESCE(total_logins, 0) + 1, last_login = :1,
    last_activity_at = :2 WHERE user_id = :3";

pub const SESSION_PRINCIPAL: &str = "SELECT u.user_id, u.username FROM pf_user_sessions s
    JOIN pf_users u ON u.user_id = s.user_id
    WHERE s.session_id = :1 AND s.token = :2 AND s.is_active = 'Y' AND s.expires_at > :3
      AND COALESCE(u.account_status, 'active') = 'active'";

pub const REVOKE_SESSION: &str = "UPDATE pf_user_sessions SET is_active = 'N' WHERE session_id = :1";

pub const LIST_SESSIONS: &str = "SELECT session_id, created_at, expires_at, last_activity, ip_address, user_agent,
    is_active FROM pf_user_sessions WHERE user_id = :1 ORDER BY created_at DESC";

pub const COUNT_ACTIVE_SESSIONS: &str =
    "SELECT COUNT(*) FROM pf_user_sessions WHERE is_active = 'Y' AND expires_at > :1";

pub const TABLE_SET_STATUS: &str = "SELECT status FROM pf_user_table_sets WHERE username = :1";

pub const INSERT_TABLE_SET: &str = "INSERT INTO pf_user_table_sets (username, user_id, status, template_version,
    created_at, updated_at) VALUES (:1, :2, 'provisioning', :3, :4, :5)";

pub const SET_TABLE_SET_STATUS: &str = "UPDATE pf_user_table_sets SET status = :1, updated_at = :2 WHERE username = :3";

pub const DELETE_TABLE_SET: &str = "DELETE FROM pf_user_table_sets WHERE username = :1";

pub const TABLE_SET_USERNAMES: &str = "SELECT username FROM pf_user_table_sets ORDER BY username";

/// Our bootstrap table: one row per applied migration (our extension to the seed).
pub const CREATE_SCHEMA_VERSION: &str = "CREATE TABLE pf_schema_version (
    version NUMBER(10) PRIMARY KEY,
    name VARCHAR2(100) NOT NULL,
    applied_at TIMESTAMP NOT NULL
)";

pub const INSERT_SCHEMA_VERSION: &str = "INSERT INTO pf_schema_version (version, name, applied_at) VALUES (:1, :2, :3)";

pub const SCHEMA_VERSION: &str = "SELECT COALESCE(MAX(version), 0) FROM pf_schema_version";

/// Every statement above, for the dialect tests.
pub const ALL: &[&str] = &[
    INSERT_AUDIT,
    AUDITED_ENTITIES,
    COUNT_AUDIT_SINCE,
    INSERT_USER,
    INSERT_ROLE,
    ROLES_OF,
    USER_PROFILE,
    USER_ID_BY_USERNAME,
    SET_ACCOUNT_STATUS,
    USERS_BY_STATUS,
    COUNT_ADMINS,
    LOGIN_RECORD,
    INSERT_SESSION,
    COUNT_LOGIN,
    SESSION_PRINCIPAL,
    REVOKE_SESSION,
    LIST_SESSIONS,
    COUNT_ACTIVE_SESSIONS,
    TABLE_SET_STATUS,
    INSERT_TABLE_SET,
    SET_TABLE_SET_STATUS,
    DELETE_TABLE_SET,
    TABLE_SET_USERNAMES,
    CREATE_SCHEMA_VERSION,
    INSERT_SCHEMA_VERSION,
    SCHEMA_VERSION,
];

/// Statements only the Oracle backend sends (kept here, outside the feature-gated
/// backend, so the dialect test parses them in every build).
pub mod oracle {
    pub const RESET_FAILURES: &str = "MERGE INTO pf_console_login_state l
    USING (SELECT :1 AS user_id FROM dual) s ON (l.user_id = s.user_id)
    WHEN MATCHED THEN UPDATE SET l.failed_attempts = 0, l.locked_until = NULL
    WHEN NOT MATCHED THEN INSERT (user_id, failed_attempts) VALUES (s.user_id, 0)";

    pub const COUNT_FAILURE: &str = "MERGE INTO pf_console_login_state l
    USING (SELECT :1 AS user_id, :2 AS failed_at, :3 AS locked_until FROM dual) s ON (l.user_id = s.user_id)
    WHEN MATCHED THEN UPDATE SET l.failed_attempts = l.failed_attempts + 1,
        l.last_failed_at = s.failed_at, l.locked_until = s.locked_until
    WHEN NOT MATCHED THEN INSERT (user_id, failed_attempts, last_failed_at, locked_until)
        VALUES (s.user_id, 1, s.failed_at, s.locked_until)";

    pub const RECENT_AUDIT: &str = "SELECT id, user_id, action, entity_type, entity_id, ip_address, user_agent,
    request_method, request_path, response_status, execution_time_ms, created_at
    FROM pf_audit_log ORDER BY created_at DESC, id DESC FETCH FIRST :1 ROWS ONLY";

    pub const LIST_SESSIONS: &str = "SELECT session_id, created_at, expires_at, last_activity, ip_address, user_agent,
    is_active FROM pf_user_sessions WHERE user_id = :1 ORDER BY created_at DESC FETCH FIRST 100 ROWS ONLY";

    pub const OBJECT_EXISTS: &str = "SELECT COUNT(*) FROM user_objects WHERE object_name = UPPER(:1)";

    pub const LIVE_OBJECTS: &str = "SELECT LOWER(object_name), LOWER(object_type) FROM user_objects
    WHERE object_name LIKE 'PF\\_%' ESCAPE '\\' AND object_type IN ('TABLE', 'INDEX', 'VIEW', 'MATERIALIZED VIEW')";

    pub const LIVE_COLUMNS: &str = "SELECT LOWER(column_name), data_type, char_length, data_precision, data_scale
    FROM user_tab_columns WHERE table_name = UPPER(:1)";

    pub const REFRESH_USER_STATS: &str = "BEGIN DBMS_MVIEW.REFRESH('PF_MV_USER_STATS', 'C'); END;";

    pub const GATHER_STATS: &str = "BEGIN DBMS_STATS.GATHER_SCHEMA_STATS(USER); END;";

    pub const ALL: &[&str] = &[
        GATHER_STATS,
        RESET_FAILURES,
        COUNT_FAILURE,
        RECENT_AUDIT,
        LIST_SESSIONS,
        OBJECT_EXISTS,
        LIVE_OBJECTS,
        LIVE_COLUMNS,
        REFRESH_USER_STATS,
    ];
}

/// Statements only the SQLite backend sends.
pub mod sqlite {
    /// Up to this many trigram candidates, sorting them beats walking an index: with
    /// more, matches are common enough that a walk fills a page within a few thousand
    /// rows. Measured at a million users (BENCHMARKS.md).
    pub const CANDIDATES_MAX: i64 = 5_000;

    /// How many rows the trigram index proposes, counting no further than `:2`.
    pub const COUNT_CANDIDATES: &str =
        "SELECT COUNT(*) FROM (SELECT 1 FROM pf_users_search WHERE pf_users_search MATCH :1 LIMIT :2)";

    pub const RECENT_AUDIT: &str = "SELECT id, user_id, action, entity_type, entity_id, ip_address, user_agent,
    request_method, request_path, response_status, execution_time_ms, created_at
    FROM pf_audit_log ORDER BY created_at DESC, id DESC LIMIT :1";
}

/// The two SQL dialects, where they differ.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Oracle,
}

/// A value bound to the users search.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    Int(i64),
}

/// Where the users search finds its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsersAccess {
    /// Walk the sort order's index and keep the rows that match: quick when matches
    /// are common (a page fills early), slow when they are rare.
    Walk,
    /// Start from SQLite's trigram index (`pf_users_search`) and sort what it
    /// proposes: quick when matches are rare. The caller binds the trigram phrase first.
    Candidates,
}

/// The users search as one keyset-paginated query: SQL and its values in order.
/// Each row carries, after the summary columns, the sort key as the database
/// computed it (so the next page's cursor compares exactly as the database does).
/// It asks for one row more than a page, to know whether a next page exists.
pub fn search_users(filter: &UserFilter, dialect: Dialect, access: UsersAccess) -> AppResult<(String, Vec<Bind>)> {
    // Each key is the leading column of an index (see migration 0008).
    let key = match filter.sort {
        UserSort::Username => "LOWER(username)",
        UserSort::Email => "LOWER(email)",
        UserSort::CreatedAt => "created_at",
    };
    // Oracle keeps TIMESTAMPs: the key travels as text and comes back as a TIMESTAMP.
    let oracle_time = dialect == Dialect::Oracle && filter.sort == UserSort::CreatedAt;
    let key_text = if oracle_time { "TO_CHAR(created_at, 'YYYY-MM-DD HH24:MI:SS.FF6')" } else { key };
    let as_key = |p: String| if oracle_time { format!("TO_TIMESTAMP({p}, 'YYYY-MM-DD HH24:MI:SS.FF6')") } else { p };

    let mut binds = Vec::new();
    let next = |b: Bind, binds: &mut Vec<Bind>| {
        binds.push(b);
        format!(":{}", binds.len())
    };
    let (cmp, dir) = if filter.descending { ("<", "DESC") } else { (">", "ASC") };
    let mut sql = format!("SELECT {USER_SUMMARY_COLUMNS}, {key_text} AS sort_key FROM ");
    match (access, filter.fts_phrase()) {
        (UsersAccess::Candidates, Some(phrase)) if dialect == Dialect::Sqlite => {
            // CROSS JOIN keeps the trigram index as the outer loop.
            let p = next(Bind::Text(phrase), &mut binds);
            sql.push_str(&format!(
                "(SELECT rowid AS hit FROM pf_users_search WHERE pf_users_search MATCH {p}) \
                 CROSS JOIN pf_users ON pf_users.rowid = hit WHERE 1 = 1"
            ));
        }
        _ => sql.push_str("pf_users WHERE 1 = 1"),
    }
    if let Some(p) = filter.like_pattern() {
        let [a, b, c, d] = [(); 4].map(|_| next(Bind::Text(p.clone()), &mut binds));
        sql.push_str(&format!(
            " AND (LOWER(username) LIKE {a} ESCAPE '\\' OR LOWER(email) LIKE {b} ESCAPE '\\' \
             OR LOWER(first_name) LIKE {c} ESCAPE '\\' OR LOWER(last_name) LIKE {d} ESCAPE '\\')"
        ));
    }
    if let Some(s) = &filter.status {
        let p = next(Bind::Text(s.clone()), &mut binds);
        // A NULL status counts as active, as everywhere else (idx_users_status_name).
        sql.push_str(&format!(" AND COALESCE(account_status, 'active') = {p}"));
    }
    if let Some(c) = filter.cursor()? {
        // `key >= k` first, so the index walk starts at the cursor instead of filtering up to it.
        let k1 = as_key(next(Bind::Text(c.key.clone()), &mut binds));
        let k2 = as_key(next(Bind::Text(c.key), &mut binds));
        let id = next(Bind::Text(c.id), &mut binds);
        sql.push_str(&format!(" AND {key} {cmp}= {k1} AND ({key} {cmp} {k2} OR user_id {cmp} {id})"));
    }
    let limit = next(Bind::Int(i64::from(filter.page_size()) + 1), &mut binds);
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
