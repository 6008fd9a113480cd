//! Migrations: one numbered list per backend, same numbers and names in both
//! (made from one list, and a test compares the two folders' objects). Each step runs once, recorded in `pf_schema_version`;
//! a database whose version is newer than this build is refused, never downgraded.

use super::driver::Dialect;
use pathfinder::storage::AuditEntry;
use pathfinder::{AppError, AppResult, Username};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Defines both dialects' lists from one list of names, so the numbering cannot
/// drift apart; a missing file in either folder fails the build.
macro_rules! migrations {
    ($($version:literal => $name:literal),+ $(,)?) => {
        pub const SQLITE: &[Migration] = &[$(Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite/", $name, ".sql")),
        }),+];
        pub const ORACLE: &[Migration] = &[$(Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/oracle/", $name, ".sql")),
        }),+];
    };
}

migrations! {
    1 => "0001_users",
    2 => "0002_feature_flags",
    3 => "0003_user_analytics",
    4 => "0004_cpa_pert",
    5 => "0005_security",
    6 => "0006_reference_data",
    7 => "0007_console",
    8 => "0008_users_search",
    9 => "0009_one_storage",
    10 => "0010_field_encryption",
    11 => "0011_sign_in_guard",
    12 => "0012_accounts",
    13 => "0013_users_search_short",
    14 => "0014_audit_chain",
    15 => "0015_audit_time_walk",
    16 => "0016_feature_flags_console",
    17 => "0017_operations",
    18 => "0018_backups",
    19 => "0019_retention",
    20 => "0020_cpa_pert_oversight",
    21 => "0021_cpa_pert_periods",
    22 => "0022_analytics",
    23 => "0023_security_review",
    24 => "0024_dormant_users",
    25 => "0025_access_reviews",
    26 => "0026_stopped_jobs",
    27 => "0027_pages_at_scale",
    28 => "0028_audit_message_search",
    29 => "0029_audit_time_walk_actor",
}

/// The migrations of `dialect`.
pub fn migrations(dialect: Dialect) -> &'static [Migration] {
    match dialect {
        Dialect::Sqlite => SQLITE,
        Dialect::Oracle => ORACLE,
    }
}

/// The version this build brings a database to.
pub fn latest_version() -> i64 {
    SQLITE.last().map_or(0, |m| m.version)
}

/// The per-user table set template of each dialect; `{u}` is `pf_user_<username>`.
pub const SQLITE_USER_TABLES: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite/user_tables.sql"));
pub const ORACLE_USER_TABLES: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/oracle/user_tables.sql"));

/// Version of the per-user table template; stored with each provisioned set.
pub const USER_TABLES_TEMPLATE_VERSION: i64 = 1;

/// The latest version this build knows, or the refusal to touch a newer database.
pub fn check_not_newer(current: i64, migrations: &[Migration]) -> AppResult<i64> {
    let latest = migrations.last().map_or(0, |m| m.version);
    if current > latest {
        return Err(AppError::Conflict(format!(
            "The database is at schema version {current}, newer than this build knows ({latest}); \
             use a newer pathfinder-admin. Nothing was changed."
        )));
    }
    Ok(latest)
}

/// The audit row of one applied migration step: `audit` naming the step.
pub fn step_audit(audit: &AuditEntry, step: &Migration) -> AuditEntry {
    AuditEntry { entity_id: Some(step.name.to_string()), ..audit.clone() }
}

/// Refuses rows for any table that is not one of `username`'s own (by the template).
pub fn check_owned(dialect: Dialect, username: &Username, rows: &[pathfinder::storage::TableRows]) -> AppResult<()> {
    let own: Vec<String> = user_table_statements(dialect, username)
        .iter()
        .filter_map(|s| created_object(s).filter(|(k, _)| *k == "table").map(|(_, n)| n))
        .collect();
    match rows.iter().find(|t| !own.contains(&t.table)) {
        Some(t) => Err(AppError::invalid(format!("'{}' is not a table of {username}'s set.", t.table))),
        None => Ok(()),
    }
}

/// The audit row of a multi-step operation's committed intent (`<action>.begin`),
/// for work that cannot share a transaction with its audit row (Oracle DDL, SQLite
/// per-user files).
pub fn intent_audit(audit: &AuditEntry) -> AuditEntry {
    AuditEntry { action: format!("{}.begin", audit.action), response_status: 202, ..audit.clone() }
}

/// The audit row of an operation that failed after its intent was committed.
pub fn failure_audit(audit: &AuditEntry, error: &AppError) -> AuditEntry {
    AuditEntry { response_status: error.status(), detail: Some(error.to_string()), ..audit.clone() }
}

/// Whether `stmt` is a trigger whose body (`BEGIN … END`) is still open: its `;`
/// separate the body's statements, not the script's.
fn inside_trigger_body(stmt: &str) -> bool {
    let last = stmt.rsplit(|c: char| c.is_whitespace() || c == ';').next().unwrap_or("");
    is_trigger(stmt) && !last.eq_ignore_ascii_case("END")
}

fn is_trigger(stmt: &str) -> bool {
    let words: Vec<String> = stmt.split_whitespace().take(2).map(str::to_ascii_uppercase).collect();
    words == ["CREATE", "TRIGGER"]
}

/// Splits a script into statements at `;` outside quotes, comments and trigger
/// bodies; drops comments.
pub fn split_statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = script.chars().peekable();
    let mut in_quote = false;
    while let Some(c) = chars.next() {
        if in_quote {
            cur.push(c);
            if c == '\'' {
                in_quote = false;
            }
            continue;
        }
        match c {
            '\'' => {
                in_quote = true;
                cur.push(c);
            }
            '-' if chars.peek() == Some(&'-') => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        cur.push('\n');
                        break;
                    }
                }
            }
            ';' if inside_trigger_body(cur.trim()) => cur.push(c),
            ';' => {
                let stmt = cur.trim();
                if is_trigger(stmt) {
                    // A trigger's body is PL/SQL on Oracle, which ends with `END;`.
                    out.push(format!("{stmt};"));
                } else if !stmt.is_empty() {
                    out.push(stmt.to_string());
                }
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    let rest = cur.trim();
    if !rest.is_empty() {
        out.push(rest.to_string());
    }
    out
}

/// The per-user template of `dialect` with `{u}` replaced by `pf_user_<username>`.
pub fn user_table_statements(dialect: Dialect, username: &Username) -> Vec<String> {
    let template = match dialect {
        Dialect::Sqlite => SQLITE_USER_TABLES,
        Dialect::Oracle => ORACLE_USER_TABLES,
    };
    let prefix = format!("{}{}", pathfinder::username::USER_OBJECT_PREFIX, username.as_str());
    split_statements(template).into_iter().map(|s| s.replace("{u}", &prefix)).collect()
}

/// The object a DDL statement creates: its kind (`table`, `index`, `view`,
/// `materialized view`) and name, lower-cased.
pub fn created_object(stmt: &str) -> Option<(&'static str, String)> {
    let words: Vec<String> = stmt.split_whitespace().take(6).map(|w| w.to_ascii_lowercase()).collect();
    let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    let (kind, at) = match (w(0), w(1), w(2)) {
        ("create", "table", _) => ("table", 2),
        ("create", "index", _) => ("index", 2),
        ("create", "unique", "index") => ("index", 3),
        ("create", "view", _) => ("view", 2),
        ("create", "materialized", "view") => ("materialized view", 3),
        ("create", "virtual", "table") => ("virtual table", 3),
        ("create", "trigger", _) => ("trigger", 2),
        _ => return None,
    };
    let name = w(at).split('(').next().unwrap_or("").to_string();
    (!name.is_empty()).then_some((kind, name))
}

/// The column names a `CREATE TABLE name (...)` statement defines, lower-cased, in
/// order (constraints skipped). Empty for other statements and for `AS SELECT`.
pub fn table_columns(stmt: &str) -> Vec<String> {
    column_definitions(stmt).into_iter().map(|(name, _)| name).collect()
}

/// Like [`table_columns`], with each column's declared type, upper-cased
/// (`VARCHAR2(26)`, `NUMBER(3,1)`, `TIMESTAMP`, …).
pub fn column_definitions(stmt: &str) -> Vec<(String, String)> {
    if created_object(stmt).map(|(k, _)| k) != Some("table") {
        return Vec::new();
    }
    let Some(open) = stmt.find('(') else { return Vec::new() };
    let head = stmt[..open].to_ascii_lowercase();
    if head.contains(" as ") {
        return Vec::new();
    }
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, open + 1);
    for (i, ch) in stmt.char_indices().skip_while(|(i, _)| *i <= open) {
        match ch {
            '(' => depth += 1,
            ')' if depth == 0 => {
                items.push(&stmt[start..i]);
                break;
            }
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&stmt[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    // `index` covers MySQL-style inline indexes (the seed's pf_audit_log has them).
    const CONSTRAINTS: [&str; 6] = ["constraint", "primary", "foreign", "unique", "check", "index"];
    items
        .iter()
        .filter_map(|item| {
            let mut words = item.split_whitespace();
            let name = words.next()?.to_ascii_lowercase();
            let kind = words.next().unwrap_or("").to_ascii_uppercase();
            (!CONSTRAINTS.contains(&name.as_str())).then_some((name, kind))
        })
        .collect()
}

/// A column type as Oracle's catalog (`user_tab_columns`) describes it, written the
/// way the migrations declare it, so the two can be compared.
pub fn oracle_catalog_type(
    data_type: &str,
    char_length: Option<i64>,
    precision: Option<i64>,
    scale: Option<i64>,
) -> String {
    match data_type {
        "VARCHAR2" | "CHAR" => format!("{data_type}({})", char_length.unwrap_or(0)),
        "NUMBER" => match (precision, scale) {
            (None, _) => "NUMBER".to_string(),
            (Some(p), None | Some(0)) => format!("NUMBER({p})"),
            (Some(p), Some(s)) => format!("NUMBER({p},{s})"),
        },
        // TIMESTAMP is TIMESTAMP(6) by default.
        "TIMESTAMP(6)" => "TIMESTAMP".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists_table_columns() {
        let s = "CREATE TABLE t (\n a VARCHAR2(26) PRIMARY KEY,\n b NUMBER(3,1) CHECK (b IN (1,2)),\n FOREIGN KEY (a) REFERENCES x(a),\n UNIQUE (a, b)\n)";
        assert_eq!(table_columns(s), vec!["a", "b"]);
        assert!(table_columns("CREATE TABLE t AS SELECT * FROM u WHERE 1=0").is_empty());
        assert!(table_columns("CREATE INDEX i ON t(a)").is_empty());
        assert_eq!(
            column_definitions(s),
            vec![("a".into(), "VARCHAR2(26)".into()), ("b".into(), "NUMBER(3,1)".into())]
        );
    }

    #[test]
    fn oracle_catalog_types_read_like_the_migrations() {
        assert_eq!(oracle_catalog_type("VARCHAR2", Some(26), None, None), "VARCHAR2(26)");
        assert_eq!(oracle_catalog_type("CHAR", Some(1), None, None), "CHAR(1)");
        assert_eq!(oracle_catalog_type("NUMBER", None, Some(3), Some(1)), "NUMBER(3,1)");
        assert_eq!(oracle_catalog_type("NUMBER", None, Some(10), Some(0)), "NUMBER(10)");
        assert_eq!(oracle_catalog_type("NUMBER", None, None, None), "NUMBER");
        assert_eq!(oracle_catalog_type("TIMESTAMP(6)", None, None, None), "TIMESTAMP");
        assert_eq!(oracle_catalog_type("CLOB", None, None, None), "CLOB");
        // Every type the Oracle migrations declare is one of these shapes.
        for m in super::ORACLE {
            for stmt in split_statements(m.sql) {
                for (col, kind) in column_definitions(&stmt) {
                    let known = ["VARCHAR2(", "CHAR(", "NUMBER", "TIMESTAMP", "DATE", "CLOB"];
                    assert!(known.iter().any(|k| kind.starts_with(k)), "{col} {kind}");
                }
            }
        }
    }

    use super::*;

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let s = "-- a; comment\nCREATE TABLE a (x CHAR(1) DEFAULT ';');\n\nCREATE INDEX i ON a(x); -- tail;\n";
        let got = split_statements(s);
        assert_eq!(got, vec!["CREATE TABLE a (x CHAR(1) DEFAULT ';')", "CREATE INDEX i ON a(x)"]);
        let t =
            "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE a SET x = 1;\n  DELETE FROM b;\nEND;\nDROP TABLE c;";
        assert_eq!(
            split_statements(t),
            vec![
                // A trigger keeps its `END;` (PL/SQL on Oracle; SQLite takes it too).
                "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE a SET x = 1;\n  DELETE FROM b;\nEND;",
                "DROP TABLE c"
            ]
        );
    }

    #[test]
    fn names_created_objects() {
        assert_eq!(created_object("CREATE TABLE pf_x (a INT)"), Some(("table", "pf_x".into())));
        assert_eq!(created_object("CREATE UNIQUE INDEX u ON t(x)"), Some(("index", "u".into())));
        assert_eq!(created_object("create materialized view mv\nbuild"), Some(("materialized view", "mv".into())));
        assert_eq!(created_object("SELECT 1"), None);
    }
}
