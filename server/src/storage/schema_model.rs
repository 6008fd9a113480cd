//! What `schema-check` compares: a schema as tables (columns with type, NOT NULL,
//! default and generation; primary key, unique, CHECK and foreign-key constraints;
//! partitioning), indexes (table, uniqueness, columns or expressions, LOCAL) and
//! views (query; a materialized view's build and refresh). Built from DDL text (the
//! migrations; SQLite's own catalog, which keeps each object's CREATE statement) or
//! from Oracle's catalog views, and compared by one function, so both backends
//! report the same drift in the same words.
//!
//! Expressions are compared by their tokens, with names folded to lower case and
//! quotes, spacing and outer parentheses dropped: Oracle's catalog writes
//! `LOWER("EMAIL")` where the migration says `LOWER(email)`.

use super::driver::{Dialect, ReadRow, Values};
use super::migrations::created_object;
use pathfinder::storage::Drift;
use pathfinder::{AppError, AppResult};
use sqlparser::ast::{ColumnOption, ReferentialAction, Statement, TableConstraint};
use sqlparser::dialect::{GenericDialect, OracleDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    pub objects: BTreeMap<String, Object>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Table(Table),
    Index(Index),
    View(View),
    /// Compared as canonical text: SQLite's virtual tables and triggers, statements
    /// the parser cannot read, objects Oracle's catalog lists but we do not model.
    Other {
        kind: String,
        text: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    pub uniques: BTreeSet<Vec<String>>,
    pub checks: BTreeSet<String>,
    pub foreign_keys: BTreeSet<ForeignKey>,
    pub partitioning: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub data_type: String,
    pub not_null: bool,
    pub default: Option<String>,
    /// A virtual or stored generated column's expression.
    pub generated: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    pub table: String,
    pub referred: Vec<String>,
    pub on_delete: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    pub table: String,
    pub unique: bool,
    pub keys: Vec<String>,
    pub local: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub materialized: bool,
    /// A materialized view's build and refresh (`build immediate refresh complete on demand`).
    pub options: String,
    pub query: String,
}

impl Object {
    pub fn kind(&self) -> &str {
        match self {
            Object::Table(_) => "table",
            Object::Index(_) => "index",
            Object::View(v) if v.materialized => "materialized view",
            Object::View(_) => "view",
            Object::Other { kind, .. } => kind,
        }
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.data_type)?;
        if let Some(g) = &self.generated {
            write!(f, " AS ({g})")?;
        }
        if self.not_null {
            write!(f, " NOT NULL")?;
        }
        if let Some(d) = &self.default {
            write!(f, " DEFAULT {d}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ForeignKey {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "FOREIGN KEY ({}) REFERENCES {}({}) ON DELETE {}",
            self.columns.join(", "),
            self.table,
            self.referred.join(", "),
            self.on_delete
        )
    }
}

impl fmt::Display for Index {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let unique = if self.unique { "UNIQUE " } else { "" };
        let local = if self.local { " LOCAL" } else { "" };
        write!(f, "{unique}ON {}({}){local}", self.table, self.keys.join(", "))
    }
}

/// An expression, condition or type in a form both sources agree on: tokens
/// separated by one space, words (names and keywords alike) in lower case without
/// quotes, no outer parentheses, date and time literals without zero fractions.
pub fn canonical(text: &str) -> String {
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, text.trim()).tokenize() else {
        return text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    };
    let mut out: Vec<String> = Vec::new();
    let mut typed_literal = false;
    for t in tokens {
        match t {
            Token::Whitespace(_) => continue,
            Token::Word(w) => {
                let word = w.value.to_lowercase();
                typed_literal = w.quote_style.is_none() && matches!(word.as_str(), "timestamp" | "date");
                out.push(word);
                continue;
            }
            Token::SingleQuotedString(s) if typed_literal => out.push(format!("'{}'", canonical_time(&s))),
            Token::SingleQuotedString(s) => out.push(format!("'{}'", s.replace('\'', "''"))),
            other => out.push(other.to_string()),
        }
        typed_literal = false;
    }
    while out.first().map(String::as_str) == Some("(") && closes_at_end(&out) {
        out.remove(0);
        out.pop();
    }
    out.join(" ")
}

/// Whether the `(` at the start of `tokens` is closed by its last token.
fn closes_at_end(tokens: &[String]) -> bool {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate() {
        match t.as_str() {
            "(" => depth += 1,
            ")" => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i == tokens.len() - 1;
                }
            }
            _ => {}
        }
    }
    false
}

/// `' 0001-01-01 00:00:00.000000000'` (how Oracle's catalog writes the literal) →
/// `0001-01-01 00:00:00`.
fn canonical_time(s: &str) -> String {
    let s = s.trim();
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f") {
        return t.format("%Y-%m-%d %H:%M:%S%.f").to_string();
    }
    s.to_string()
}

/// A declared type as both sources write it: `NUMBER(3,1)`, `VARCHAR2(26)`, `TIMESTAMP`.
fn canonical_type(t: &str) -> String {
    t.split_whitespace().collect::<String>().to_ascii_uppercase()
}

fn ident_list<T: fmt::Display>(items: &[T]) -> Vec<String> {
    items.iter().map(|i| canonical(&i.to_string())).collect()
}

fn on_delete(action: &Option<ReferentialAction>) -> String {
    match action {
        None | Some(ReferentialAction::NoAction) | Some(ReferentialAction::Restrict) => "NO ACTION".into(),
        Some(a) => a.to_string(),
    }
}

/// The words of `stmt`, upper-cased, for recognising its shape.
pub(super) fn words(stmt: &str, n: usize) -> Vec<String> {
    stmt.split(|c: char| c.is_whitespace() || c == '(')
        .filter(|w| !w.is_empty())
        .take(n)
        .map(str::to_ascii_uppercase)
        .collect()
}

/// Splits `stmt` at the first occurrence of the keyword `word` outside parentheses
/// and quotes: (before, after).
fn split_at_keyword<'a>(stmt: &'a str, word: &str) -> Option<(&'a str, &'a str)> {
    let (mut depth, mut quoted) = (0i32, false);
    let bytes = stmt.as_bytes();
    for (i, c) in stmt.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            _ if !quoted && depth == 0 && stmt[i..].len() >= word.len() => {
                let candidate = &stmt[i..i + word.len()];
                let before_ok = i == 0 || !bytes[i - 1].is_ascii_alphanumeric() && bytes[i - 1] != b'_';
                let after = bytes.get(i + word.len()).copied();
                let after_ok = after.is_none_or(|b| !b.is_ascii_alphanumeric() && b != b'_');
                if before_ok && after_ok && candidate.eq_ignore_ascii_case(word) {
                    return Some((&stmt[..i], &stmt[i + word.len()..]));
                }
            }
            _ => {}
        }
    }
    None
}

impl Schema {
    /// Applies one DDL statement of `dialect`: creates, drops and column additions
    /// change the model; anything else (data, pragmas) leaves it as it is. `name`
    /// overrides the name read from the statement (SQLite's catalog knows it).
    pub fn apply(&mut self, stmt: &str, name: Option<&str>, dialect: Dialect) -> AppResult<()> {
        let w = words(stmt, 4);
        let w: Vec<&str> = w.iter().map(String::as_str).collect();
        let named = |kind: &str| {
            name.map(str::to_lowercase)
                .or_else(|| created_object(stmt).map(|(_, n)| n))
                .ok_or_else(|| AppError::internal(format!("cannot name the {kind} this statement creates: {stmt}")))
        };
        match w.as_slice() {
            ["DROP", _, object, ..] => {
                self.objects.remove(&object.to_lowercase());
            }
            ["CREATE", "VIRTUAL", ..] | ["CREATE", "TRIGGER", ..] => {
                let kind = created_object(stmt).map_or("other", |(k, _)| k);
                self.objects.insert(named(kind)?, Object::Other { kind: kind.into(), text: canonical(stmt) });
            }
            ["CREATE", "VIEW", ..] | ["CREATE", "MATERIALIZED", "VIEW", ..] => {
                let materialized = w[1] == "MATERIALIZED";
                let (head, query) = split_at_keyword(stmt, "AS")
                    .ok_or_else(|| AppError::internal(format!("a view without AS: {stmt}")))?;
                // What follows the name: the build and refresh clauses.
                let skip = if materialized { 4 } else { 3 };
                let options = head.split_whitespace().skip(skip).collect::<Vec<_>>().join(" ");
                let view = View { materialized, options: canonical(&options), query: canonical(query) };
                self.objects.insert(named("view")?, Object::View(view));
            }
            ["CREATE", "TABLE", ..] => {
                let table_name = named("table")?;
                if let Some((_, query)) = split_at_keyword(stmt, "AS").filter(|(head, _)| !head.contains('(')) {
                    // CREATE TABLE … AS SELECT * FROM t WHERE 1=0 (the archive): t's
                    // columns and NOT NULLs, nothing else, as Oracle copies them.
                    let source = query
                        .split_whitespace()
                        .skip_while(|w| !w.eq_ignore_ascii_case("FROM"))
                        .nth(1)
                        .map(str::to_lowercase)
                        .unwrap_or_default();
                    let Some(Object::Table(from)) = self.objects.get(&source) else {
                        return Err(AppError::internal(format!("{table_name} copies {source}, which is not a table")));
                    };
                    let columns =
                        from.columns.iter().map(|c| Column { default: None, generated: None, ..c.clone() }).collect();
                    self.objects.insert(table_name, Object::Table(Table { columns, ..Table::default() }));
                    return Ok(());
                }
                // Oracle's partitioning clause, which the parser does not read.
                let (head, partitioning) = match split_at_keyword(stmt, "PARTITION") {
                    Some((head, tail)) => (head, Some(partitioning_clause(tail))),
                    None => (stmt, None),
                };
                let table = match parse(head, dialect) {
                    Ok(Statement::CreateTable(t)) => Some(table(&t)),
                    _ => None,
                };
                let object = match table {
                    Some(t) => Object::Table(Table { partitioning, ..t }),
                    None if dialect == Dialect::Sqlite => Object::Other { kind: "table".into(), text: canonical(stmt) },
                    None => return Err(AppError::internal(format!("cannot read the table definition: {stmt}"))),
                };
                self.objects.insert(table_name, object);
            }
            ["CREATE", "INDEX", ..] | ["CREATE", "UNIQUE", "INDEX", ..] => {
                let trimmed = stmt.trim_end();
                let (text, local) = match trimmed.len().checked_sub(5).and_then(|i| trimmed.get(i..)) {
                    Some(tail) if tail.eq_ignore_ascii_case("LOCAL") => (&trimmed[..trimmed.len() - 5], true),
                    _ => (trimmed, false),
                };
                let Ok(Statement::CreateIndex(ix)) = parse(text, dialect) else {
                    return Err(AppError::internal(format!("cannot read the index definition: {stmt}")));
                };
                let index = Index {
                    table: canonical(&ix.table_name.to_string()),
                    unique: ix.unique,
                    keys: ix.columns.iter().map(|c| canonical(&c.column.expr.to_string())).collect(),
                    local,
                };
                self.objects.insert(named("index")?, Object::Index(index));
            }
            ["ALTER", "TABLE", table_name, ..] => {
                let Ok(Statement::AlterTable(alter)) = parse(stmt, dialect) else {
                    return Err(AppError::internal(format!("cannot read the change: {stmt}")));
                };
                let Some(Object::Table(t)) = self.objects.get_mut(&table_name.to_lowercase()) else {
                    return Err(AppError::internal(format!("{stmt} changes a table that does not exist")));
                };
                for op in &alter.operations {
                    if let sqlparser::ast::AlterTableOperation::AddColumn { column_def, .. } = op {
                        add_column(t, column_def);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The schema `statements` of `dialect` build, in order.
    pub fn from_statements<S: AsRef<str>>(statements: &[S], dialect: Dialect) -> AppResult<Schema> {
        let mut schema = Schema::default();
        for s in statements {
            schema.apply(s.as_ref(), None, dialect)?;
        }
        Ok(schema)
    }

    /// A SQLite database's schema from its catalog rows: (name, CREATE statement).
    pub fn from_sqlite_catalog(rows: &[(String, String)]) -> AppResult<Schema> {
        let mut schema = Schema::default();
        // Tables first: an index or view may come before its table in the catalog's order.
        let (tables, rest): (Vec<_>, Vec<_>) =
            rows.iter().partition(|(_, sql)| words(sql, 2).get(1).is_some_and(|w| w == "TABLE"));
        for (name, sql) in tables.into_iter().chain(rest) {
            schema.apply(sql, Some(name), Dialect::Sqlite)?;
        }
        Ok(schema)
    }
}

fn parse(text: &str, dialect: Dialect) -> Result<Statement, ()> {
    let statements = match dialect {
        Dialect::Sqlite => Parser::parse_sql(&SQLiteDialect {}, text),
        Dialect::Oracle => Parser::parse_sql(&OracleDialect {}, text),
    };
    statements.ok().and_then(|mut s| (s.len() == 1).then(|| s.remove(0))).ok_or(())
}

/// `PARTITION BY RANGE (c) INTERVAL (x) (PARTITION …)` → `RANGE ( c ) INTERVAL ( x )`, canonical.
fn partitioning_clause(tail: &str) -> String {
    let rest = tail.trim_start();
    let rest = rest.strip_prefix("BY").or_else(|| rest.strip_prefix("by")).unwrap_or(rest);
    // The initial partition list is the last parenthesised group: it is not compared.
    let upto = split_at_keyword(rest, "INTERVAL")
        .map(|(range, interval)| {
            let interval_group = interval.trim_start();
            let end = matching_paren(interval_group).map_or(interval_group.len(), |i| i + 1);
            format!("{range} INTERVAL {}", &interval_group[..end])
        })
        .unwrap_or_else(|| rest.to_string());
    canonical(&upto)
}

/// The byte index of the `)` that closes the `(` at the start of `s`.
fn matching_paren(s: &str) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn add_column(t: &mut Table, def: &sqlparser::ast::ColumnDef) {
    let name = canonical(&def.name.to_string());
    let mut column = Column {
        name: name.clone(),
        data_type: canonical_type(&def.data_type.to_string()),
        not_null: false,
        default: None,
        generated: None,
    };
    for option in &def.options {
        match &option.option {
            ColumnOption::NotNull => column.not_null = true,
            ColumnOption::Default(e) => column.default = Some(canonical(&e.to_string())),
            ColumnOption::PrimaryKey(_) => {
                column.not_null = true;
                t.primary_key = vec![name.clone()];
            }
            ColumnOption::Unique(_) => {
                t.uniques.insert(vec![name.clone()]);
            }
            ColumnOption::Check(c) => {
                t.checks.insert(canonical(&c.expr.to_string()));
            }
            ColumnOption::ForeignKey(fk) => {
                t.foreign_keys.insert(ForeignKey {
                    columns: vec![name.clone()],
                    table: canonical(&fk.foreign_table.to_string()),
                    referred: ident_list(&fk.referred_columns),
                    on_delete: on_delete(&fk.on_delete),
                });
            }
            ColumnOption::Generated { generation_expr: Some(e), .. } => {
                column.generated = Some(canonical(&e.to_string()))
            }
            _ => {}
        }
    }
    t.columns.push(column);
}

fn table(t: &sqlparser::ast::CreateTable) -> Table {
    let mut table = Table::default();
    for def in &t.columns {
        add_column(&mut table, def);
    }
    for c in &t.constraints {
        match c {
            TableConstraint::PrimaryKey(pk) => {
                table.primary_key = pk.columns.iter().map(|c| canonical(&c.column.expr.to_string())).collect();
            }
            TableConstraint::Unique(u) => {
                table.uniques.insert(u.columns.iter().map(|c| canonical(&c.column.expr.to_string())).collect());
            }
            TableConstraint::ForeignKey(fk) => {
                table.foreign_keys.insert(ForeignKey {
                    columns: ident_list(&fk.columns),
                    table: canonical(&fk.foreign_table.to_string()),
                    referred: ident_list(&fk.referred_columns),
                    on_delete: on_delete(&fk.on_delete),
                });
            }
            TableConstraint::Check(check) => {
                table.checks.insert(canonical(&check.expr.to_string()));
            }
            _ => {}
        }
    }
    let key = table.primary_key.clone();
    for col in table.columns.iter_mut().filter(|c| key.contains(&c.name)) {
        col.not_null = true;
    }
    table
}

/// Every difference of `live` from `expected`; `place` follows each (a file name).
pub fn compare(expected: &Schema, live: &Schema, place: &str) -> Vec<Drift> {
    let mut drift = Vec::new();
    let mut say = |s: String| drift.push(Drift(format!("{s}{place}")));
    for (name, want) in &expected.objects {
        let Some(have) = live.objects.get(name) else {
            say(format!("missing {} {name}", want.kind()));
            continue;
        };
        if have.kind() != want.kind() {
            say(format!("{name} is a {}, expected a {}", have.kind(), want.kind()));
            continue;
        }
        match (want, have) {
            (Object::Table(w), Object::Table(h)) => compare_tables(name, w, h, &mut say),
            (Object::Index(w), Object::Index(h)) if w != h => say(format!("index {name} is {h}, expected {w}")),
            (Object::View(w), Object::View(h)) => {
                if w.options != h.options {
                    say(format!("{} {name} is {}, expected {}", want.kind(), h.options, w.options));
                }
                if w.query != h.query {
                    say(format!("{} {name} differs from its definition", want.kind()));
                }
            }
            (Object::Other { text: w, .. }, Object::Other { text: h, .. }) if w != h => {
                say(format!("{} {name} differs from its definition", want.kind()))
            }
            _ => {}
        }
    }
    for (name, have) in live.objects.iter().filter(|(n, _)| !expected.objects.contains_key(*n)) {
        say(format!("unexpected {} {name}", have.kind()));
    }
    drift
}

fn compare_tables(name: &str, want: &Table, have: &Table, say: &mut impl FnMut(String)) {
    for w in &want.columns {
        match have.columns.iter().find(|h| h.name == w.name) {
            None => say(format!("table {name}: missing column {}", w.name)),
            Some(h) if h != w => say(format!("table {name}: column {} is {h}, expected {w}", w.name)),
            Some(_) => {}
        }
    }
    for h in have.columns.iter().filter(|h| !want.columns.iter().any(|w| w.name == h.name)) {
        say(format!("table {name}: unexpected column {}", h.name));
    }
    if want.primary_key != have.primary_key {
        say(format!(
            "table {name}: primary key is ({}), expected ({})",
            have.primary_key.join(", "),
            want.primary_key.join(", ")
        ));
    }
    let list = |cols: &Vec<String>| cols.join(", ");
    for u in want.uniques.difference(&have.uniques) {
        say(format!("table {name}: missing UNIQUE ({})", list(u)));
    }
    for u in have.uniques.difference(&want.uniques) {
        say(format!("table {name}: unexpected UNIQUE ({})", list(u)));
    }
    for c in want.checks.difference(&have.checks) {
        say(format!("table {name}: missing CHECK ({c})"));
    }
    for c in have.checks.difference(&want.checks) {
        say(format!("table {name}: unexpected CHECK ({c})"));
    }
    for fk in want.foreign_keys.difference(&have.foreign_keys) {
        say(format!("table {name}: missing {fk}"));
    }
    for fk in have.foreign_keys.difference(&want.foreign_keys) {
        say(format!("table {name}: unexpected {fk}"));
    }
    if want.partitioning != have.partitioning {
        let show = |p: &Option<String>| p.clone().unwrap_or_else(|| "not partitioned".into());
        say(format!(
            "table {name}: partitioning is {}, expected {}",
            show(&have.partitioning),
            show(&want.partitioning)
        ));
    }
}

/// What Oracle's catalog says about the schema's `PF_` objects: the rows of the
/// queries in `schema.rs`, column by column as their comments say.
#[derive(Debug, Default)]
pub struct OracleCatalog {
    /// table
    pub tables: Vec<Values>,
    /// table, column, data_type, char_length, data_precision, data_scale, nullable (Y/N), data_default, virtual_column (YES/NO)
    pub columns: Vec<Values>,
    /// table, constraint_name, constraint_type (P/U/R/C), search_condition, delete_rule, referenced constraint_name
    pub constraints: Vec<Values>,
    /// constraint_name, column (in position order)
    pub constraint_columns: Vec<Values>,
    /// index, table, uniqueness (UNIQUE/NONUNIQUE), locality (LOCAL/GLOBAL/NULL)
    pub indexes: Vec<Values>,
    /// index, column_position, column, expression (NULL for a plain column)
    pub index_keys: Vec<Values>,
    /// materialized view, build_mode, refresh_method, refresh_mode, query
    pub mviews: Vec<Values>,
    /// view, text
    pub views: Vec<Values>,
    /// table, partitioning_type, interval, key column (in position order)
    pub partitioning: Vec<Values>,
    /// object, object_type: other objects with the prefix (triggers, sequences, code)
    pub others: Vec<Values>,
}

impl Schema {
    /// The schema as Oracle's catalog describes it.
    pub fn from_oracle_catalog(cat: &OracleCatalog) -> AppResult<Schema> {
        let mut tables: BTreeMap<String, Table> = BTreeMap::new();
        for r in &cat.tables {
            tables.insert(r.text(0)?, Table::default());
        }
        for r in &cat.columns {
            let Some(t) = tables.get_mut(&r.text(0)?) else { continue };
            let virtual_column = r.opt_text(8)?.as_deref() == Some("YES");
            let expression = r.opt_text(7)?.map(|d| canonical(&d)).filter(|d| !d.is_empty() && d != "NULL");
            t.columns.push(Column {
                name: r.text(1)?,
                data_type: super::migrations::oracle_catalog_type(
                    &r.text(2)?,
                    r.opt_int(3)?,
                    r.opt_int(4)?,
                    r.opt_int(5)?,
                ),
                not_null: r.opt_text(6)?.as_deref() == Some("N"),
                default: if virtual_column { None } else { expression.clone() },
                generated: if virtual_column { expression } else { None },
            });
        }
        let mut constraint_columns: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &cat.constraint_columns {
            constraint_columns.entry(r.text(0)?).or_default().push(r.text(1)?);
        }
        let mut referenced: BTreeMap<String, String> = BTreeMap::new();
        for r in &cat.constraints {
            referenced.insert(r.text(1)?, r.text(0)?);
        }
        for r in &cat.constraints {
            let Some(t) = tables.get_mut(&r.text(0)?) else { continue };
            let columns = constraint_columns.get(&r.text(1)?).cloned().unwrap_or_default();
            match r.text(2)?.as_str() {
                "P" => t.primary_key = columns,
                "U" => {
                    t.uniques.insert(columns);
                }
                "C" => {
                    let condition = canonical(&r.opt_text(3)?.unwrap_or_default());
                    // NOT NULL columns show up as `"X" IS NOT NULL` checks too.
                    let not_null = condition.split(' ').collect::<Vec<_>>();
                    if !(not_null.len() == 4 && not_null[1..] == ["is", "not", "null"]) {
                        t.checks.insert(condition);
                    }
                }
                "R" => {
                    let target = r.opt_text(5)?.unwrap_or_default();
                    t.foreign_keys.insert(ForeignKey {
                        columns,
                        table: referenced.get(&target).cloned().unwrap_or_default(),
                        referred: constraint_columns.get(&target).cloned().unwrap_or_default(),
                        on_delete: r.opt_text(4)?.unwrap_or_else(|| "NO ACTION".into()),
                    });
                }
                _ => {}
            }
        }
        let mut partitioning: BTreeMap<String, (String, Option<String>, Vec<String>)> = BTreeMap::new();
        for r in &cat.partitioning {
            let entry = partitioning.entry(r.text(0)?).or_insert_with(Default::default);
            entry.0 = r.text(1)?;
            entry.1 = r.opt_text(2)?;
            entry.2.push(r.text(3)?);
        }
        for (table, (kind, interval, keys)) in partitioning {
            if let Some(t) = tables.get_mut(&table) {
                let interval = interval.map(|i| format!(" INTERVAL ({i})")).unwrap_or_default();
                t.partitioning = Some(canonical(&format!("{kind} ({}){interval}", keys.join(", "))));
            }
        }
        let mut schema = Schema::default();
        schema.objects.extend(tables.into_iter().map(|(n, t)| (n, Object::Table(t))));
        let mut keys: BTreeMap<String, BTreeMap<i64, String>> = BTreeMap::new();
        for r in &cat.index_keys {
            let key = match r.opt_text(3)? {
                Some(expression) => canonical(&expression),
                None => r.text(2)?,
            };
            keys.entry(r.text(0)?).or_default().insert(r.int(1)?, key);
        }
        for r in &cat.indexes {
            let name = r.text(0)?;
            let index = Index {
                table: r.text(1)?,
                unique: r.text(2)? == "UNIQUE",
                keys: keys.get(&name).map(|k| k.values().cloned().collect()).unwrap_or_default(),
                local: r.opt_text(3)?.as_deref() == Some("LOCAL"),
            };
            schema.objects.insert(name, Object::Index(index));
        }
        for r in &cat.mviews {
            let options = format!("BUILD {} REFRESH {} ON {}", r.text(1)?, r.text(2)?, r.text(3)?);
            let view = View { materialized: true, options: canonical(&options), query: canonical(&r.text(4)?) };
            schema.objects.insert(r.text(0)?, Object::View(view));
        }
        for r in &cat.views {
            let view = View { materialized: false, options: String::new(), query: canonical(&r.text(1)?) };
            schema.objects.insert(r.text(0)?, Object::View(view));
        }
        for r in &cat.others {
            schema.objects.entry(r.text(0)?).or_insert(Object::Other { kind: r.text(1)?, text: String::new() });
        }
        Ok(schema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_compare_as_tokens() {
        assert_eq!(canonical("LOWER(\"EMAIL\")"), canonical("lower(email)"));
        assert_eq!(canonical("role IN ('admin','sre')"), canonical("(role IN ('admin', 'sre'))"));
        assert_eq!(
            canonical("CASE  WHEN \"ACCOUNT_STATUS\"='active' THEN \"ACCOUNT_STATUS\" END"),
            canonical("CASE WHEN account_status = 'active' THEN account_status END")
        );
        assert_eq!(
            canonical("COALESCE(\"CREATED_AT\",TIMESTAMP' 0001-01-01 00:00:00.000000000')"),
            canonical("COALESCE(created_at, TIMESTAMP '0001-01-01 00:00:00')")
        );
        assert_ne!(canonical("'Active'"), canonical("'active'"), "literals keep their case");
        assert_ne!(canonical("(a) + (b)"), canonical("a) + (b"), "only a pair that encloses everything is dropped");
        assert_eq!(canonical("CURRENT_TIMESTAMP\n"), "current_timestamp");
        assert_eq!(canonical("\"ROLE\""), canonical("role"), "a quoted keyword is still the column");
    }
}
