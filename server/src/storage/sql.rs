//! Statements, written where they are used with [`sql!`](crate::sql): one text both
//! dialects send, or each dialect's own. Every `sql!` registers its statement in
//! [`STATEMENTS`], so the tests parse and lint every statement the Oracle backend can
//! send, though no Oracle server runs here.
//!
//! Placeholders are `:1`, `:2`, … each used once and in order: Oracle binds by
//! position (one value per occurrence) and SQLite numbers named parameters by first
//! appearance, so one text and one parameter list serve both.

use pathfinder::storage::Value;
use pathfinder::{AppError, AppResult};

/// The two SQL dialects, where their statements differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Oracle,
}

/// The values of a statement built from parts (the searches), each given its
/// placeholder as it is written into the text, so that they stay in order.
#[derive(Default)]
pub struct Binds(pub Vec<Value>);

impl Binds {
    /// The placeholder of `v`, the next in order.
    pub fn next(&mut self, v: impl Into<Value>) -> String {
        self.0.push(v.into());
        format!(":{}", self.0.len())
    }
}

/// A row limit in the dialect's words, for a built statement (`limit` a placeholder).
pub fn limit_clause(dialect: Dialect, limit: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("LIMIT {limit}"),
        Dialect::Oracle => format!("FETCH FIRST {limit} ROWS ONLY"),
    }
}

/// A statement in each dialect; `None` where that dialect has nothing to send.
#[derive(Debug)]
pub struct Stmt {
    pub sqlite: Option<&'static str>,
    pub oracle: Option<&'static str>,
    /// `file:line` of the `sql!`, for the lint's messages.
    pub at: &'static str,
}

/// Every statement written with `sql!`, whichever module it is in.
#[linkme::distributed_slice]
pub static STATEMENTS: [Stmt];

/// `sql!("…")`: the same text for both dialects. `sql!("… ORDER BY x", limit ":3")`:
/// the same text with a row limit at its end, in each dialect's words (`LIMIT :3`,
/// `FETCH FIRST :3 ROWS ONLY`), and a tail after it when the limit closes a
/// subquery (`sql!("… (SELECT …", limit "1", ")")`). `sql!(sqlite: "…", oracle:
/// "…")`: each its own; either may be left out when that dialect has no such
/// statement.
#[macro_export]
macro_rules! sql {
    ($both:literal) => {
        $crate::sql!(@stmt Some($both), Some($both))
    };
    ($both:literal, limit $n:literal $(, $tail:literal)? $(,)?) => {
        $crate::sql!(
            @stmt
            Some(concat!($both, " LIMIT ", $n $(, $tail)?)),
            Some(concat!($both, " FETCH FIRST ", $n, " ROWS ONLY" $(, $tail)?))
        )
    };
    (sqlite: $s:literal, oracle: $o:literal $(,)?) => {
        $crate::sql!(@stmt Some($s), Some($o))
    };
    (sqlite: $s:literal $(,)?) => {
        $crate::sql!(@stmt Some($s), None)
    };
    (oracle: $o:literal $(,)?) => {
        $crate::sql!(@stmt None, Some($o))
    };
    (@stmt $s:expr, $o:expr) => {{
        #[linkme::distributed_slice($crate::storage::sql::STATEMENTS)]
        static STMT: $crate::storage::sql::Stmt =
            $crate::storage::sql::Stmt { sqlite: $s, oracle: $o, at: concat!(file!(), ":", line!()) };
        &STMT
    }};
}

/// What a connection can run: a registered statement, or text a generator made for
/// the connection's dialect.
pub trait SqlText {
    fn text(&self, dialect: Dialect) -> AppResult<&str>;
}

impl SqlText for &'static Stmt {
    fn text(&self, dialect: Dialect) -> AppResult<&str> {
        let text = match dialect {
            Dialect::Sqlite => self.sqlite,
            Dialect::Oracle => self.oracle,
        };
        text.ok_or_else(|| AppError::internal(format!("the statement at {} has no {dialect:?} text", self.at)))
    }
}

impl SqlText for &str {
    fn text(&self, _: Dialect) -> AppResult<&str> {
        Ok(self)
    }
}

impl SqlText for &String {
    fn text(&self, _: Dialect) -> AppResult<&str> {
        Ok(self)
    }
}
