//! A lint for the SQL the Oracle backend sends. No Oracle server runs here, and
//! sqlparser's `OracleDialect` parses things Oracle refuses (`LIMIT`, `AS` before a
//! table alias, …), so the tests run every Oracle statement through these rules too:
//! each names a construct Oracle (before 23ai, as Autonomous Database 19c runs)
//! rejects or treats differently, and each has a test that it fires.

use sqlparser::dialect::GenericDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// One thing Oracle would refuse: the rule's name and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    pub message: String,
}

/// Oracle's longest identifier, in bytes (12.2 and later).
const IDENTIFIER_MAX_BYTES: usize = 128;

/// Functions SQLite has and Oracle does not.
const SQLITE_FUNCTIONS: &[&str] = &[
    "json_valid",
    "julianday",
    "strftime",
    "datetime",
    "ifnull",
    "group_concat",
    "printf",
    "last_insert_rowid",
    "pathfinder_fold",
];

/// Clause words that end a FROM clause at the same depth.
const AFTER_FROM: &[&str] = &[
    "WHERE",
    "GROUP",
    "ORDER",
    "HAVING",
    "UNION",
    "INTERSECT",
    "MINUS",
    "EXCEPT",
    "FETCH",
    "OFFSET",
    "ON",
    "USING",
    "SET",
    "VALUES",
    "CONNECT",
    "START",
    "SELECT",
    "WHEN",
    "THEN",
];

struct Tok {
    token: Token,
    depth: usize,
}

impl Tok {
    /// The upper-cased word, if this is an unquoted word.
    fn word(&self) -> Option<String> {
        match &self.token {
            Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
            _ => None,
        }
    }

    fn is_word(&self, w: &str) -> bool {
        self.word().as_deref() == Some(w)
    }
}

/// Everything in `sql` that Oracle would refuse.
pub fn lint(sql: &str) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut say = |rule: &'static str, message: String| found.push(Finding { rule, message });
    let raw = match Tokenizer::new(&GenericDialect {}, sql).tokenize() {
        Ok(t) => t,
        Err(e) => {
            say("tokens", format!("cannot read the statement: {e}"));
            return found;
        }
    };
    // Significant tokens with their parenthesis depth; placeholders need adjacency,
    // so they are found on the raw stream.
    let mut placeholders = Vec::new();
    // A trigger's body names the row it fires for as :NEW and :OLD.
    let trigger = sql.split_whitespace().take(2).map(str::to_ascii_uppercase).eq(["CREATE", "TRIGGER"]);
    for (i, t) in raw.iter().enumerate() {
        if *t == Token::Colon {
            match raw.get(i + 1) {
                Some(Token::Number(n, _)) => placeholders.push(n.clone()),
                Some(Token::Word(w)) if trigger && ["NEW", "OLD"].contains(&w.value.to_ascii_uppercase().as_str()) => {}
                Some(Token::Word(w)) if w.quote_style.is_none() => {
                    say("named-placeholder", format!(":{} — number the placeholders :1, :2, …", w.value))
                }
                _ => {}
            }
        }
    }
    let mut toks = Vec::new();
    let mut depth = 0usize;
    for t in raw.into_iter().filter(|t| !matches!(t, Token::Whitespace(_))) {
        if t == Token::RParen {
            depth = depth.saturating_sub(1);
        }
        let d = depth;
        if t == Token::LParen {
            depth += 1;
        }
        toks.push(Tok { token: t, depth: d });
    }
    let plsql = trigger || toks.first().is_some_and(|t| t.is_word("BEGIN") || t.is_word("DECLARE"));
    let next_word = |i: usize| toks.get(i + 1).and_then(Tok::word);

    // Statement shape.
    if plsql {
        let ends =
            toks.len() >= 2 && toks[toks.len() - 2].is_word("END") && toks[toks.len() - 1].token == Token::SemiColon;
        if !ends {
            say("plsql-end", "a PL/SQL block ends with END;".into());
        }
    } else if toks.iter().any(|t| t.token == Token::SemiColon) {
        say("semicolon", "a SQL statement sent through OCI holds no ';' (ORA-00911), and only one statement".into());
    }

    // Placeholders: :1, :2, … each once and in order (Oracle binds by position).
    let numbered: Vec<String> = (1..=placeholders.len()).map(|i| i.to_string()).collect();
    if placeholders != numbered {
        say("placeholders", format!("placeholders {placeholders:?}: use :1, :2, … once each, in order"));
    }

    let mut clause_at: Vec<Option<&'static str>> = vec![None; 1];
    for (i, t) in toks.iter().enumerate() {
        while clause_at.len() <= t.depth + 1 {
            clause_at.push(None);
        }
        if t.token == Token::LParen {
            clause_at[t.depth + 1] = None;
        }
        match &t.token {
            Token::Placeholder(p) => say("question-mark", format!("{p} — Oracle binds :1, :2, …")),
            Token::SingleQuotedString(s) if s.is_empty() => {
                say("empty-string", "'' is NULL in Oracle: compare with IS NULL".into())
            }
            Token::DoubleEq => say("double-equals", "== is SQLite's; Oracle compares with =".into()),
            Token::Word(w) if w.quote_style == Some('"') && w.value.chars().any(|c| c.is_lowercase()) => say(
                "quoted-lowercase",
                format!("\"{}\": Oracle stores unquoted names in upper case, so this name matches nothing", w.value),
            ),
            Token::Word(w) if w.quote_style == Some('`') => {
                say("backtick", format!("`{}`: Oracle quotes names with \"", w.value))
            }
            Token::Word(w) if w.value.len() > IDENTIFIER_MAX_BYTES => say(
                "identifier-length",
                // The first 20 characters (not bytes: a name may be any Unicode; found by the fuzz target).
                format!(
                    "{}…: over {IDENTIFIER_MAX_BYTES} bytes (ORA-00972)",
                    w.value.chars().take(20).collect::<String>()
                ),
            ),
            _ => {}
        }
        let Some(word) = t.word() else { continue };
        let w = word.as_str();
        match w {
            "LIMIT" => say("limit", "LIMIT is not Oracle SQL: FETCH FIRST n ROWS ONLY".into()),
            "OFFSET" => {
                let rows = toks.get(i + 2).and_then(Tok::word);
                let count = toks.get(i + 1).map(|t| matches!(t.token, Token::Number(..) | Token::Colon));
                let rows = if toks.get(i + 1).is_some_and(|t| t.token == Token::Colon) {
                    toks.get(i + 3).and_then(Tok::word)
                } else {
                    rows
                };
                if count != Some(true) || !matches!(rows.as_deref(), Some("ROW" | "ROWS")) {
                    say("offset", "Oracle skips rows with OFFSET n ROWS (and FETCH NEXT m ROWS ONLY)".into());
                }
            }
            "ILIKE" => say("ilike", "ILIKE is not Oracle SQL: LOWER(x) LIKE LOWER(:p)".into()),
            "TRUE" | "FALSE" if !plsql => {
                say("boolean-literal", format!("{w}: no boolean literals in SQL before 23ai"))
            }
            // (A trigger fires `AFTER INSERT OR UPDATE`.)
            "INSERT" if !trigger && next_word(i).is_some_and(|n| n == "OR" || n == "IGNORE") => {
                say("insert-or", "INSERT OR … / INSERT IGNORE: use MERGE".into())
            }
            "REPLACE" if next_word(i).as_deref() == Some("INTO") => say("insert-or", "REPLACE INTO: use MERGE".into()),
            "ON" if next_word(i).as_deref() == Some("CONFLICT") => say("on-conflict", "ON CONFLICT: use MERGE".into()),
            "RETURNING" if !toks[i..].iter().any(|t| t.is_word("INTO")) => {
                say("returning", "RETURNING needs INTO :out binds in Oracle".into())
            }
            "IF" if !plsql && next_word(i).is_some_and(|n| n == "EXISTS" || n == "NOT") => {
                say("if-exists", "IF [NOT] EXISTS arrived in 23ai: check the catalog first".into())
            }
            "AUTOINCREMENT" | "PRAGMA" | "NOCASE" => say("sqlite-only", format!("{w} is SQLite's")),
            "WITHOUT" if next_word(i).as_deref() == Some("ROWID") => {
                say("sqlite-only", "WITHOUT ROWID is SQLite's".into())
            }
            "SELECT" => {
                let has_from = toks[i + 1..]
                    .iter()
                    .take_while(|n| n.depth >= t.depth)
                    .filter(|n| n.depth == t.depth)
                    .take_while(|n| !(n.is_word("UNION") || n.is_word("INTERSECT") || n.is_word("MINUS")))
                    .any(|n| n.is_word("FROM"));
                if !has_from {
                    say("select-from", "a SELECT needs FROM before 23ai: FROM dual".into());
                }
            }
            "AS" if clause_at[t.depth] == Some("FROM") => {
                say("table-alias-as", "AS before a table alias is refused (ORA-00933): write `t alias`".into())
            }
            _ => {}
        }
        let lower = w.to_ascii_lowercase();
        if SQLITE_FUNCTIONS.contains(&lower.as_str()) && toks.get(i + 1).is_some_and(|n| n.token == Token::LParen) {
            say("sqlite-only", format!("{lower}() is SQLite's"));
        }
        if w == "FROM" || w == "JOIN" {
            clause_at[t.depth] = Some("FROM");
        } else if AFTER_FROM.contains(&w) {
            clause_at[t.depth] = Some("OTHER");
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(sql: &str) -> Vec<&'static str> {
        lint(sql).into_iter().map(|f| f.rule).collect()
    }

    /// Each rule, a statement it must flag and a near neighbour it must let pass.
    const CASES: &[(&str, &str, &str)] = &[
        ("limit", "SELECT id FROM t ORDER BY id LIMIT :1", "SELECT id FROM t ORDER BY id FETCH FIRST :1 ROWS ONLY"),
        ("offset", "SELECT id FROM t ORDER BY id OFFSET 10", "SELECT id FROM t ORDER BY id OFFSET 10 ROWS"),
        ("table-alias-as", "SELECT a.id FROM t AS a", "SELECT a.id AS x FROM t a"),
        ("table-alias-as", "SELECT 1 FROM t a JOIN u AS b ON a.id = b.id", "SELECT 1 FROM t a JOIN u b ON a.id = b.id"),
        ("question-mark", "SELECT id FROM t WHERE id = ?", "SELECT id FROM t WHERE id = :1"),
        ("question-mark", "SELECT id FROM t WHERE id = $1", "SELECT id FROM t WHERE id = :1"),
        ("ilike", "SELECT id FROM t WHERE name ILIKE :1", "SELECT id FROM t WHERE LOWER(name) LIKE :1"),
        ("quoted-lowercase", "SELECT \"id\" FROM t", "SELECT \"ID\" FROM t"),
        ("backtick", "SELECT `id` FROM t", "SELECT id FROM t"),
        ("boolean-literal", "SELECT id FROM t WHERE active = TRUE", "SELECT id FROM t WHERE active = 'Y'"),
        ("insert-or", "INSERT OR REPLACE INTO t (id) VALUES (:1)", "INSERT INTO t (id) VALUES (:1)"),
        ("insert-or", "REPLACE INTO t (id) VALUES (:1)", "INSERT INTO t (id) VALUES (:1)"),
        (
            "on-conflict",
            "INSERT INTO t (id) VALUES (:1) ON CONFLICT (id) DO NOTHING",
            "MERGE INTO t x USING (SELECT :1 AS id FROM dual) s ON (x.id = s.id) WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id)",
        ),
        ("returning", "DELETE FROM t WHERE id = :1 RETURNING id", "DELETE FROM t WHERE id = :1 RETURNING id INTO :2"),
        ("if-exists", "DROP TABLE IF EXISTS t", "DROP TABLE t"),
        ("if-exists", "CREATE TABLE IF NOT EXISTS t (id NUMBER)", "CREATE TABLE t (id NUMBER)"),
        ("select-from", "SELECT 1", "SELECT 1 FROM dual"),
        ("select-from", "SELECT (SELECT COUNT(*) FROM a), (SELECT COUNT(*) FROM b)", "SELECT (SELECT COUNT(*) FROM a) FROM dual"),
        ("empty-string", "SELECT id FROM t WHERE name = ''", "SELECT id FROM t WHERE name IS NULL"),
        ("semicolon", "SELECT id FROM t;", "SELECT id FROM t"),
        ("plsql-end", "BEGIN DBMS_STATS.GATHER_SCHEMA_STATS(USER); END", "BEGIN DBMS_STATS.GATHER_SCHEMA_STATS(USER); END;"),
        ("placeholders", "UPDATE t SET a = :1 WHERE id = :1", "UPDATE t SET a = :1 WHERE id = :2"),
        ("placeholders", "UPDATE t SET a = :2 WHERE id = :1", "UPDATE t SET a = :1 WHERE id = :2"),
        ("named-placeholder", "SELECT id FROM t WHERE id = :id", "SELECT id FROM t WHERE id = :1"),
        ("double-equals", "SELECT id FROM t WHERE a == :1", "SELECT id FROM t WHERE a = :1"),
        ("sqlite-only", "SELECT id FROM t WHERE json_valid(doc) = 1", "SELECT id FROM t WHERE doc IS JSON"),
        ("sqlite-only", "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT)", "CREATE TABLE t (id NUMBER PRIMARY KEY)"),
        ("sqlite-only", "PRAGMA foreign_keys = ON", "ALTER SESSION SET NLS_SORT = BINARY"),
        ("sqlite-only", "SELECT pathfinder_fold(email) FROM pf_users", "SELECT LOWER(email) FROM pf_users"),
    ];

    #[test]
    fn every_rule_fires_on_what_oracle_refuses_and_only_there() {
        for (rule, bad, good) in CASES {
            assert!(rules(bad).contains(rule), "{rule} should flag: {bad} (got {:?})", rules(bad));
            assert_eq!(rules(good), Vec::<&str>::new(), "{rule}: should pass: {good}");
        }
        let long = format!("SELECT {} FROM t", "x".repeat(129));
        assert_eq!(rules(&long), ["identifier-length"]);
        assert_eq!(rules(&format!("SELECT {} FROM t", "x".repeat(128))), Vec::<&str>::new());
        // A long name of two-byte characters, cut at a character (the fuzz target's find).
        assert_eq!(rules(&format!("SELECT x{} FROM t", "é".repeat(70))), ["identifier-length"]);
    }

    #[test]
    fn oracle_idioms_pass() {
        for sql in [
            "SELECT u.user_id FROM pf_users u LEFT JOIN pf_console_login_state l ON l.user_id = u.user_id WHERE u.username = :1",
            "SELECT COUNT(*) FROM (SELECT 1 FROM t WHERE a = :1) x",
            "CREATE TABLE t2 AS SELECT * FROM t WHERE 1=0",
            "CREATE MATERIALIZED VIEW mv BUILD IMMEDIATE REFRESH COMPLETE ON DEMAND AS SELECT a AS b FROM t GROUP BY a",
            "DECLARE r INTEGER; BEGIN r := DBMS_LOCK.REQUEST(id => 1, release_on_commit => FALSE); END;",
            "SELECT TO_CHAR(created_at, 'YYYY-MM-DD HH24:MI:SS.FF6') FROM t WHERE k LIKE :1 ESCAPE '\\'",
            "SELECT CAST(x AS VARCHAR2(10)) FROM t",
        ] {
            assert_eq!(rules(sql), Vec::<&str>::new(), "{sql}");
        }
    }
}
