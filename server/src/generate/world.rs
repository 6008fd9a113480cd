//! What every batch of a run is made from: the plan's sizes, the flags and groups
//! every batch refers to, and short constructors of row values.

use super::rng::Rng;
use chrono::{DateTime, NaiveDate, Utc};
use pathfinder::storage::Value;

/// What the rows are made from: the plan plus the ids every batch refers to.
pub struct World {
    pub seed: u64,
    pub users: u64,
    pub audit_events: u64,
    pub provisioned: u64,
    pub end: DateTime<Utc>,
    pub groups: Vec<GenGroup>,
    pub flags: Vec<GenFlag>,
    /// Nobody knows a password for it: generated people cannot sign in.
    pub password_hash: String,
}

impl World {
    /// The user whose tables the `i`-th provisioned set is: spread over all users.
    pub fn provisioned_user(&self, i: u64) -> u64 {
        i * (self.users / self.provisioned.max(1)).max(1)
    }
}

/// A flag's type and the values the generator gives it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Boolean,
    Variant,
    Number,
    Json,
}

const VARIANTS: &[&str] = &["control", "a", "b"];

impl Kind {
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::Boolean => "boolean",
            Kind::Variant => "string",
            Kind::Number => "number",
            Kind::Json => "json",
        }
    }

    /// A stored value of this kind (as `value_of` reads it).
    pub fn value(self, r: &mut Rng) -> String {
        match self {
            Kind::Boolean => (if r.chance(0.7) { "true" } else { "false" }).into(),
            Kind::Variant => r.pick(VARIANTS).to_string(),
            Kind::Number => (10 * (1 + r.below(20))).to_string(),
            Kind::Json => format!(r#"{{"limit":{},"mode":"{}"}}"#, 5 * (1 + r.below(10)), r.pick(VARIANTS)),
        }
    }

    pub fn default_value(self) -> &'static str {
        match self {
            Kind::Boolean => "false",
            Kind::Variant => "control",
            Kind::Number => "50",
            Kind::Json => r#"{"limit":10,"mode":"control"}"#,
        }
    }
}

pub struct GenFlag {
    pub id: String,
    pub key: String,
    pub kind: Kind,
}

pub struct GenGroup {
    pub id: String,
    pub name: String,
    pub priority: i64,
}

/// Base64 without padding of the bytes a hex string spells (PHC strings use it).
pub fn b64(hex: &str) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes: Vec<u8> =
        (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

// Short constructors keep the row lists readable.
pub fn text(s: impl AsRef<str>) -> Value {
    Value::Text(s.as_ref().to_string())
}
pub fn opt(s: Option<String>) -> Value {
    s.map_or(Value::Null, Value::Text)
}
pub fn int(i: i64) -> Value {
    Value::Int(i)
}
pub fn real(r: f64) -> Value {
    Value::Real(r)
}
pub fn time(t: DateTime<Utc>) -> Value {
    Value::Time(t)
}
pub fn date(d: NaiveDate) -> Value {
    Value::Date(d)
}
pub fn null() -> Value {
    Value::Null
}
