//! Feature flags: types and values checked against them, and the one resolution
//! rule that every evaluation uses (the console's "why this value", the OFREP API).

use crate::dto::{Page, Timestamp};
use crate::{AppError, AppResult};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// `pf_feature_flags.flag_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlagType {
    Boolean,
    String,
    Number,
    Json,
}

impl FlagType {
    pub const ALL: [FlagType; 4] = [FlagType::Boolean, FlagType::String, FlagType::Number, FlagType::Json];

    pub fn as_str(self) -> &'static str {
        match self {
            FlagType::Boolean => "boolean",
            FlagType::String => "string",
            FlagType::Number => "number",
            FlagType::Json => "json",
        }
    }

    pub fn parse(s: &str) -> AppResult<FlagType> {
        FlagType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| AppError::invalid(format!("A flag's type is boolean, string, number or json, not '{s}'.")))
    }

    /// The value `text` spells for this type, as stored in `default_value` and
    /// `override_value` (a string as itself; the others as JSON text).
    pub fn value_of(self, text: &str) -> AppResult<Json> {
        let bad = || AppError::invalid(format!("'{}' is not a {} value.", shorten(text), self.as_str()));
        Ok(match self {
            FlagType::String => Json::String(text.to_string()),
            FlagType::Boolean => match text {
                "true" => Json::Bool(true),
                "false" => Json::Bool(false),
                _ => return Err(bad()),
            },
            FlagType::Number => match serde_json::from_str::<Json>(text) {
                Ok(n @ Json::Number(_)) => n,
                _ => return Err(bad()),
            },
            FlagType::Json => serde_json::from_str::<Json>(text).map_err(|_| bad())?,
        })
    }

    /// How a value of this type is stored.
    pub fn text_of(self, value: &Json) -> String {
        match (self, value) {
            (FlagType::String, Json::String(s)) => s.clone(),
            _ => value.to_string(),
        }
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

/// The longest stored value (`VARCHAR2(500)`).
pub const MAX_VALUE_BYTES: usize = 500;
/// A flag's or a group's description, at most.
pub const MAX_DESCRIPTION_BYTES: usize = 2_000;
/// A flag's allowed values: how many, and their JSON's length.
pub const MAX_ALLOWED_VALUES: usize = 100;
pub const MAX_ALLOWED_BYTES: usize = 10_000;

/// A flag's allowed values, when it lists them: a JSON array of values of its type.
pub fn allowed_values(t: FlagType, text: &str) -> AppResult<Option<Vec<Json>>> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let Ok(Json::Array(values)) = serde_json::from_str::<Json>(text) else {
        return Err(AppError::invalid("Allowed values are a JSON array, such as [\"red\", \"green\"] or [1, 2, 3]."));
    };
    if values.is_empty() {
        return Err(AppError::invalid("List at least one allowed value, or leave the field empty to allow any."));
    }
    if values.len() > MAX_ALLOWED_VALUES {
        return Err(AppError::invalid(format!("A flag allows at most {MAX_ALLOWED_VALUES} values.")));
    }
    for v in &values {
        t.value_of(&t.text_of(v))
            .ok()
            .filter(|parsed| parsed == v)
            .ok_or_else(|| AppError::invalid(format!("The allowed value {v} is not a {} value.", t.as_str())))?;
    }
    Ok(Some(values))
}

/// `text` as a value of a flag of type `t` with `allowed` values: the value, or a
/// sentence saying why not.
pub fn checked_value(t: FlagType, allowed: Option<&[Json]>, text: &str) -> AppResult<Json> {
    if text.len() > MAX_VALUE_BYTES {
        return Err(AppError::invalid(format!("A flag value has at most {MAX_VALUE_BYTES} bytes.")));
    }
    let value = t.value_of(text)?;
    match allowed {
        Some(list) if !list.contains(&value) => {
            let shown: Vec<String> = list.iter().map(Json::to_string).collect();
            Err(AppError::invalid(format!("{} is not one of the flag's allowed values ({}).", value, shown.join(", "))))
        }
        _ => Ok(value),
    }
}

/// A flag key: lower-case letters, digits, `.`, `_`, `-`, starting with a letter
/// or digit, at most 100 characters. Fixed once the flag exists.
pub fn checked_key(key: &str) -> AppResult<String> {
    let ok = !key.is_empty()
        && key.len() <= 100
        && key.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(key.to_string())
    } else {
        Err(AppError::invalid(
            "A flag key is 1 to 100 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit.",
        ))
    }
}

/// A flag as stored (`pf_feature_flags`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    pub flag_id: String,
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub flag_type: FlagType,
    pub default_value: String,
    /// A JSON array of the values it may take, or none for any of its type.
    pub allowed_values: Option<String>,
    pub system_wide: bool,
    pub requires_restart: bool,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
}

/// What an administrator writes to create or change a flag.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlagEdit {
    pub key: String,
    pub name: String,
    pub description: String,
    pub flag_type: String,
    pub default_value: String,
    pub allowed_values: String,
    pub system_wide: bool,
    pub requires_restart: bool,
}

impl FlagEdit {
    /// The edit checked: key rule, a name, a known type, allowed values of that
    /// type, a default among them.
    pub fn checked(&self) -> AppResult<(String, FlagType, Option<Vec<Json>>)> {
        let key = checked_key(self.key.trim())?;
        let name = crate::validation::shown_text("name", &self.name, 800)?;
        if name.is_empty() || name.chars().count() > 200 {
            return Err(AppError::invalid("A flag's name is 1 to 200 characters."));
        }
        // Each field its own limit: the body's 1 MiB let `/flags` grow to 2 MB.
        crate::validation::shown_text("description", &self.description, MAX_DESCRIPTION_BYTES)?;
        if self.allowed_values.len() > MAX_ALLOWED_BYTES {
            return Err(AppError::invalid(format!("Allowed values take at most {MAX_ALLOWED_BYTES} bytes.")));
        }
        let t = FlagType::parse(self.flag_type.trim())?;
        let allowed = allowed_values(t, &self.allowed_values)?;
        checked_value(t, allowed.as_deref(), &self.default_value)
            .map_err(|e| AppError::invalid(format!("Default value: {e}")))?;
        Ok((key, t, allowed))
    }

    /// The JSON an audit row records for this edit's state.
    pub fn to_json(&self) -> Json {
        serde_json::json!({
            "key": self.key, "name": self.name, "description": self.description, "type": self.flag_type,
            "default": self.default_value, "allowed_values": self.allowed_values,
            "system_wide": self.system_wide, "requires_restart": self.requires_restart,
        })
    }
}

impl Flag {
    /// The flag as an edit (what a form starts from, what history records).
    pub fn as_edit(&self) -> FlagEdit {
        FlagEdit {
            key: self.key.clone(),
            name: self.name.clone(),
            description: self.description.clone().unwrap_or_default(),
            flag_type: self.flag_type.as_str().into(),
            default_value: self.default_value.clone(),
            allowed_values: self.allowed_values.clone().unwrap_or_default(),
            system_wide: self.system_wide,
            requires_restart: self.requires_restart,
        }
    }

    /// The allowed values as a list (already checked when written).
    pub fn allowed(&self) -> Option<Vec<Json>> {
        self.allowed_values.as_deref().and_then(|t| allowed_values(self.flag_type, t).ok().flatten())
    }
}

/// A group as the groups page shows it (`pf_user_groups`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub group_id: String,
    pub name: String,
    pub description: Option<String>,
    pub is_default: bool,
    pub priority: i64,
}

/// What an administrator writes to create or change a group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupEdit {
    pub name: String,
    pub description: String,
    pub is_default: bool,
    pub priority: i64,
}

impl GroupEdit {
    pub fn checked(&self) -> AppResult<String> {
        let name = crate::validation::shown_text("name", &self.name, 400)?;
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::invalid("A group's name is 1 to 100 characters."));
        }
        crate::validation::shown_text("description", &self.description, MAX_DESCRIPTION_BYTES)?;
        if !(-9999..=9999).contains(&self.priority) {
            return Err(AppError::invalid("A group's priority is a whole number from -9999 to 9999."));
        }
        Ok(name)
    }

    pub fn to_json(&self) -> Json {
        serde_json::json!({
            "name": self.name, "description": self.description, "default": self.is_default, "priority": self.priority,
        })
    }
}

/// Whom an override is for: one user or one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    User(String),
    Group(String),
}

impl Target {
    /// The holder an override form names: a user (username or id) or a group, one
    /// of the two.
    pub fn from_form(user: &str, group_id: &str) -> AppResult<Target> {
        match (user.trim(), group_id.trim()) {
            ("", "") => Err(AppError::invalid("Name a user or choose a group for the override.")),
            (u, "") => Ok(Target::User(u.to_string())),
            ("", g) => Ok(Target::Group(g.to_string())),
            _ => Err(AppError::invalid("An override is for one user or one group, not both.")),
        }
    }
}

/// An override as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Override {
    pub override_id: String,
    pub flag_id: String,
    pub flag_key: String,
    pub target: Target,
    /// The user's username or the group's name.
    pub target_name: String,
    pub value: String,
    pub reason: Option<String>,
    pub expires_at: Option<Timestamp>,
    pub created_by: Option<String>,
    pub created_at: Option<Timestamp>,
}

/// Which of a flag's overrides its page lists: by whom they are held, whether
/// they still apply, one holder's; a page at a time after the override `after`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OverrideFilter {
    /// `users`, `groups` or all.
    pub holders: Option<String>,
    /// `active` or `expired` (past their expiry, waiting for the job), or all.
    pub state: Option<String>,
    /// One user's (username or id) or group's (name) override.
    pub holder: Option<String>,
    pub after: Option<String>,
}

impl OverrideFilter {
    /// From a page's query string, refusing what it does not know.
    pub fn from_query(holders: &str, state: &str, holder: &str, after: &str) -> AppResult<OverrideFilter> {
        let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        if !matches!(holders, "" | "users" | "groups") {
            return Err(AppError::invalid("Show the overrides of users, of groups, or all of them."));
        }
        if !matches!(state, "" | "active" | "expired") {
            return Err(AppError::invalid("Show active overrides, expired ones, or all of them."));
        }
        Ok(OverrideFilter { holders: some(holders), state: some(state), holder: some(holder), after: some(after) })
    }

    pub fn users_only(&self) -> bool {
        self.holders.as_deref() == Some("users")
    }

    pub fn groups_only(&self) -> bool {
        self.holders.as_deref() == Some("groups")
    }

    /// Whether `o` passes the holder and state filters at `now`.
    pub fn admits(&self, o: &Override, now: Timestamp) -> bool {
        let expired = o.expires_at.is_some_and(|t| t <= now);
        let holders = match &o.target {
            Target::User(_) => !self.groups_only(),
            Target::Group(_) => !self.users_only(),
        };
        let state = match self.state.as_deref() {
            Some("active") => !expired,
            Some("expired") => expired,
            _ => true,
        };
        holders && state
    }
}

/// What an administrator writes for an override: a value, a reason, an expiry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OverrideEdit {
    pub value: String,
    pub reason: String,
    pub expires_at: Option<Timestamp>,
}

impl OverrideEdit {
    /// The reason (required, at most 500 characters) and the value checked
    /// against the flag; an expiry must lie ahead.
    pub fn checked(&self, flag: &Flag, now: Timestamp) -> AppResult<String> {
        let reason = crate::validation::shown_text("reason", &self.reason, 500)?;
        if reason.is_empty() {
            return Err(AppError::invalid("Say why: an override needs a reason."));
        }
        checked_value(flag.flag_type, flag.allowed().as_deref(), &self.value)?;
        if self.expires_at.is_some_and(|t| t <= now) {
            return Err(AppError::invalid("An expiry must lie in the future."));
        }
        Ok(reason)
    }

    pub fn to_json(&self) -> Json {
        serde_json::json!({
            "value": self.value, "reason": self.reason,
            "expires_at": self.expires_at.map(|t| t.to_rfc3339()),
        })
    }
}

/// One flag's effective value for one user, and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub key: String,
    pub flag_type: FlagType,
    pub value: Json,
    pub source: Source,
    /// Why no value: the stored one is not of the flag's type (written by another
    /// tool). The value is then null.
    pub error: Option<String>,
}

impl Evaluation {
    /// Whether the value is the flag's default (no override decides it, and it is
    /// readable).
    pub fn is_default(&self) -> bool {
        self.source == Source::Default && self.error.is_none()
    }
}

/// A key of the evaluation API, as the console lists it (never the secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub key_id: String,
    pub name: String,
    /// The secret's first characters, to tell keys apart.
    pub prefix: String,
    pub created_by: Option<String>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// The flags list's filters and order (the list is short: hundreds of flags).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlagQuery {
    /// Text in the key or name.
    pub text: String,
    pub flag_type: Option<FlagType>,
    /// `yes`: only system-wide flags; `no`: only the others.
    pub system_wide: Option<bool>,
    /// `key` (the default), `name`, `type` or `updated` (newest first).
    pub sort: String,
}

impl FlagQuery {
    pub fn from_query(text: &str, flag_type: &str, system_wide: &str, sort: &str) -> AppResult<FlagQuery> {
        let flag_type = match flag_type {
            "" => None,
            t => Some(FlagType::parse(t)?),
        };
        let system_wide = match system_wide {
            "" => None,
            "yes" => Some(true),
            "no" => Some(false),
            _ => return Err(AppError::invalid("Show system-wide flags (yes), the others (no), or all.")),
        };
        if !matches!(sort, "" | "key" | "name" | "type" | "updated") {
            return Err(AppError::invalid("Sort flags by key, name, type or updated."));
        }
        Ok(FlagQuery { text: text.to_string(), flag_type, system_wide, sort: sort.to_string() })
    }
}

/// What a group's page shows: the group, how many members, a page of them (by
/// username), and its overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupPage {
    pub group: Group,
    pub size: i64,
    pub members: Page<crate::dto::UserSummary>,
    pub overrides: Vec<Override>,
}

/// What a flag's page shows: the flag, its first overrides, how many there are,
/// and its newest history (audit rows whose entity is the flag).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagPage {
    pub flag: Flag,
    pub overrides: Page<Override>,
    pub override_count: i64,
    pub history: Vec<crate::audit::AuditRow>,
}

/// An API key just made: the key and its secret, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewApiKey {
    pub key: ApiKey,
    pub secret: String,
}

/// An override's expiry as a form gives it (`YYYY-MM-DDTHH:MM`, UTC), or none.
/// Years are those both databases store (to 9999): a later one was accepted, kept
/// as text and then taken by the expiry job for an expired one.
pub fn expiry_of(text: &str) -> AppResult<Option<Timestamp>> {
    use chrono::Datelike;
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let t = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| AppError::invalid("An expiry is a date and time in UTC, such as 2026-12-31T18:00."))?;
    if !(1..=9999).contains(&t.year()) {
        return Err(AppError::invalid("An expiry's year is from 1 to 9999."));
    }
    Ok(Some(t.and_utc()))
}

/// An override as evaluation sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub value_text: String,
    pub reason: Option<String>,
    pub expires_at: Option<Timestamp>,
    /// The group's name and priority (for a group's override).
    pub group: Option<(String, i64)>,
}

impl Candidate {
    /// Applies until the instant it expires.
    pub fn applies_at(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|t| now < t)
    }
}

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Source {
    /// The user's own override.
    User { reason: Option<String>, expires_at: Option<Timestamp> },
    /// The override of the user's group.
    Group { group: String, reason: Option<String>, expires_at: Option<Timestamp> },
    /// The default group's override.
    DefaultGroup { group: String, reason: Option<String>, expires_at: Option<Timestamp> },
    /// The flag's default value.
    Default,
}

impl Source {
    /// OFREP's reason: `STATIC` for the default, `TARGETING_MATCH` for an override.
    pub fn ofrep_reason(&self) -> &'static str {
        match self {
            Source::Default => "STATIC",
            _ => "TARGETING_MATCH",
        }
    }

    /// OFREP's variant: which source gave the value.
    pub fn variant(&self) -> String {
        match self {
            Source::User { .. } => "user-override".into(),
            Source::Group { group, .. } => format!("group:{group}"),
            Source::DefaultGroup { group, .. } => format!("default-group:{group}"),
            Source::Default => "default".into(),
        }
    }

    /// One sentence for the console.
    pub fn describe(&self) -> String {
        // By hand: chrono's format strings would bring their parser into the
        // browser's bundle (this runs there too).
        let until = |t: &Option<Timestamp>| match t {
            Some(t) => {
                use chrono::{Datelike, Timelike};
                let (d, h) = (t.date_naive(), t.time());
                format!(", until {:04}-{:02}-{:02} {:02}:{:02} UTC", d.year(), d.month(), d.day(), h.hour(), h.minute())
            }
            None => String::new(),
        };
        let why = |r: &Option<String>| r.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
        match self {
            Source::User { reason, expires_at } => {
                format!("the user's own override{}{}", why(reason), until(expires_at))
            }
            Source::Group { group, reason, expires_at } => {
                format!("the override of their group {group}{}{}", why(reason), until(expires_at))
            }
            Source::DefaultGroup { group, reason, expires_at } => {
                format!("the override of the default group {group}{}{}", why(reason), until(expires_at))
            }
            Source::Default => "the flag's default".into(),
        }
    }
}

/// The overrides that could decide one flag for one user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidates {
    pub user: Option<Candidate>,
    pub group: Option<Candidate>,
    pub default_group: Option<Candidate>,
}

/// The resolution rule, the only one: the user's own unexpired override; else the
/// unexpired overrides of the user's group and of the default group, the higher
/// priority first (a tie goes to the user's group: it is the more specific); else
/// the flag's default. An override stops applying at the instant it expires.
pub fn resolve(default_text: &str, c: &Candidates, now: Timestamp) -> (String, Source) {
    let live = |o: &Option<Candidate>| o.clone().filter(|o| o.applies_at(now));
    if let Some(o) = live(&c.user) {
        return (o.value_text, Source::User { reason: o.reason, expires_at: o.expires_at });
    }
    let group = live(&c.group);
    let default_group = live(&c.default_group);
    let priority = |o: &Option<Candidate>| o.as_ref().and_then(|o| o.group.as_ref()).map(|g| g.1);
    let default_first = default_group.is_some() && (group.is_none() || priority(&default_group) > priority(&group));
    let name = |o: &Candidate| o.group.as_ref().map(|g| g.0.clone()).unwrap_or_default();
    match (group, default_group) {
        (_, Some(o)) if default_first => {
            (o.value_text.clone(), Source::DefaultGroup { group: name(&o), reason: o.reason, expires_at: o.expires_at })
        }
        (Some(o), _) => {
            (o.value_text.clone(), Source::Group { group: name(&o), reason: o.reason, expires_at: o.expires_at })
        }
        _ => (default_text.to_string(), Source::Default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 11, 25, h, 0, 0).unwrap()
    }

    /// Issue 24's low findings: a year past 9999, fields without their own limit,
    /// and hidden characters in text others read.
    #[test]
    fn expiries_limits_and_hidden_characters_are_refused() {
        assert!(expiry_of("+10000-01-01T00:00").is_err());
        assert!(expiry_of("9999-12-31T23:59").unwrap().is_some());
        let flag = FlagEdit {
            key: "k".into(),
            name: "Name".into(),
            flag_type: "boolean".into(),
            default_value: "false".into(),
            ..FlagEdit::default()
        };
        assert!(flag.checked().is_ok());
        let long = FlagEdit { description: "d".repeat(MAX_DESCRIPTION_BYTES + 1), ..flag.clone() };
        assert!(long.checked().is_err(), "a description has a limit of its own");
        let many: Vec<String> = (0..=MAX_ALLOWED_VALUES).map(|i| format!("\"v{i}\"")).collect();
        let values = FlagEdit {
            flag_type: "string".into(),
            default_value: "v0".into(),
            allowed_values: format!("[{}]", many.join(",")),
            ..flag.clone()
        };
        assert!(values.checked().is_err(), "allowed values have a limit of their own");
        let group = GroupEdit { name: "g".into(), description: "a\u{202E}b".into(), ..GroupEdit::default() };
        assert!(group.checked().is_err());
        let reason = OverrideEdit { value: "true".into(), reason: "why\u{1b}[2J".into(), expires_at: None };
        let f = Flag {
            flag_id: "f".into(),
            key: "k".into(),
            name: "k".into(),
            description: None,
            flag_type: FlagType::Boolean,
            default_value: "false".into(),
            allowed_values: None,
            system_wide: false,
            requires_restart: false,
            created_at: None,
            updated_at: None,
        };
        assert!(reason.checked(&f, at(1)).is_err());
    }

    fn over(v: &str, group: Option<(&str, i64)>, expires: Option<Timestamp>) -> Option<Candidate> {
        Some(Candidate {
            value_text: v.into(),
            reason: Some("why".into()),
            expires_at: expires,
            group: group.map(|(n, p)| (n.into(), p)),
        })
    }

    #[test]
    fn the_user_then_the_groups_by_priority_then_the_default() {
        let all = Candidates {
            user: over("u", None, None),
            group: over("g", Some(("beta", 10)), None),
            default_group: over("d", Some(("everyone", 0)), None),
        };
        assert_eq!(resolve("x", &all, at(1)).0, "u");
        let no_user = Candidates { user: None, ..all.clone() };
        assert_eq!(resolve("x", &no_user, at(1)).1.variant(), "group:beta");
        let strong_default = Candidates { default_group: over("d", Some(("everyone", 20)), None), ..no_user.clone() };
        assert_eq!(resolve("x", &strong_default, at(1)).1.variant(), "default-group:everyone");
        let tie = Candidates { default_group: over("d", Some(("everyone", 10)), None), ..no_user.clone() };
        assert_eq!(resolve("x", &tie, at(1)).1.variant(), "group:beta", "a tie goes to the user's group");
        let only_default = Candidates { group: None, ..no_user.clone() };
        assert_eq!(resolve("x", &only_default, at(1)).0, "d");
        assert_eq!(resolve("x", &Candidates::default(), at(1)), ("x".into(), Source::Default));
    }

    #[test]
    fn an_override_stops_at_the_instant_it_expires() {
        let c = Candidates { user: over("u", None, Some(at(2))), ..Default::default() };
        assert_eq!(resolve("x", &c, at(2) - chrono::TimeDelta::microseconds(1)).0, "u");
        assert_eq!(resolve("x", &c, at(2)).0, "x");
    }

    #[test]
    fn values_are_checked_against_type_and_allowed_values() {
        assert_eq!(FlagType::Boolean.value_of("true").unwrap(), Json::Bool(true));
        assert!(FlagType::Boolean.value_of("yes").is_err());
        assert!(FlagType::Number.value_of("1e3").is_ok());
        assert!(FlagType::Number.value_of("\"1\"").is_err());
        assert!(FlagType::Json.value_of("{\"a\": [1]}").is_ok());
        assert!(FlagType::Json.value_of("{a}").is_err());
        let allowed = allowed_values(FlagType::String, "[\"red\", \"green\"]").unwrap().unwrap();
        assert!(checked_value(FlagType::String, Some(&allowed), "red").is_ok());
        let refused = checked_value(FlagType::String, Some(&allowed), "blue").unwrap_err().to_string();
        assert!(refused.contains("not one of the flag's allowed values"), "{refused}");
        assert!(allowed_values(FlagType::Number, "[1, \"2\"]").is_err());
        assert!(allowed_values(FlagType::Boolean, "[]").is_err());
        assert!(checked_value(FlagType::String, None, &"x".repeat(501)).is_err());
    }

    #[test]
    fn keys_follow_the_rule() {
        for ok in ["new-checkout", "a", "pert.v2_beta", "9lives"] {
            assert!(checked_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", "New", "-x", "a b", "ä", &"k".repeat(101), "x;drop"] {
            assert!(checked_key(bad).is_err(), "{bad}");
        }
    }
}
