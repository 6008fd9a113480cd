//! Feature flags, groups and overrides (issue 11): edits with their before and
//! after in the audit row (the flag's or group's id as the entity, so a flag's
//! history is an audit search), and evaluation by the one rule in
//! [`pathfinder::flags::resolve`], read from the database on every call (no cache:
//! a change takes effect at the next evaluation on every instance).

use super::driver::earliest_time;
use super::driver::{Conn, ReadRow, Row, Value};
use super::rows::{group_named, user_and_group_named, user_named};
use super::store::Store;
use crate::{args, sql};
use pathfinder::audit::AuditFilter;
use pathfinder::dto::{Page, Timestamp, UserSummary};
use pathfinder::flags::{
    resolve, ApiKey, Candidate, Candidates, Evaluation, Flag, FlagEdit, FlagPage, FlagQuery, FlagType, Group,
    GroupEdit, GroupPage, Override, OverrideEdit, OverrideFilter, Target,
};
use pathfinder::storage::{AuditEntry, AuditStore, FlagStore, UserStore};
use pathfinder::{new_id, AppError, AppResult, UserId, Username};

/// How many of a flag's newest changes its page shows.
const FLAG_HISTORY: u32 = 20;
use serde_json::json;
use std::collections::HashMap;

fn flag_row(r: &dyn Row) -> AppResult<Flag> {
    Ok(Flag {
        flag_id: r.text(0)?,
        key: r.text(1)?,
        name: r.text(2)?,
        description: r.opt_text(3)?,
        flag_type: FlagType::parse(r.opt_text(4)?.as_deref().unwrap_or("boolean"))?,
        default_value: r.opt_text(5)?.unwrap_or_default(),
        allowed_values: r.opt_text(6)?,
        system_wide: r.flag(7)?,
        requires_restart: r.flag(8)?,
        created_at: r.opt_time(9)?,
        updated_at: r.opt_time(10)?,
    })
}

fn yes(b: bool) -> &'static str {
    if b {
        "Y"
    } else {
        "N"
    }
}

/// The written fields of a flag, in the order its statements name them: name,
/// description, type, default, allowed values, system-wide, requires restart.
fn edited(edit: &FlagEdit, t: FlagType) -> Vec<Value> {
    let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    args![
        edit.name.trim(),
        text(&edit.description),
        t.as_str(),
        edit.default_value.as_str(),
        text(&edit.allowed_values),
        yes(edit.system_wide),
        yes(edit.requires_restart)
    ]
    .to_vec()
}

fn flag_by_key(c: &mut Conn, key: &str) -> AppResult<Flag> {
    let rows = c.query_map(
        sql!(
            "SELECT flag_id, flag_key, flag_name, description, flag_type, default_value, allowed_values,
             is_system_wide, requires_restart, created_at, updated_at FROM pf_feature_flags WHERE flag_key = :1"
        ),
        &args![key],
        flag_row,
    )?;
    rows.into_iter().next().ok_or_else(|| AppError::NotFound(format!("The flag '{key}'")))
}

fn group_row(r: &dyn Row) -> AppResult<Group> {
    Ok(Group {
        group_id: r.text(0)?,
        name: r.text(1)?,
        description: r.opt_text(2)?,
        is_default: r.flag(3)?,
        priority: r.opt_int(4)?.unwrap_or(0),
    })
}

fn group_by_id(c: &mut Conn, group_id: &str) -> AppResult<Group> {
    let rows = c.query_map(
        sql!("SELECT group_id, group_name, description, is_default, priority FROM pf_user_groups WHERE group_id = :1"),
        &args![group_id],
        group_row,
    )?;
    rows.into_iter().next().ok_or_else(|| AppError::NotFound("That group".into()))
}

fn group_json(g: &Group) -> serde_json::Value {
    GroupEdit {
        name: g.name.clone(),
        description: g.description.clone().unwrap_or_default(),
        is_default: g.is_default,
        priority: g.priority,
    }
    .to_json()
}

const FLAG: &str = "feature_flag";
const GROUP: &str = "user_group";

/// The stored overrides of `flag` that its new type or allowed values refuse.
fn misfits(c: &mut Conn, flag_id: &str, t: FlagType, allowed: Option<&[serde_json::Value]>) -> AppResult<usize> {
    let values = c.query_map(
        sql!("SELECT override_value FROM pf_user_feature_flags WHERE flag_id = :1"),
        &args![flag_id],
        |r| r.opt_text(0),
    )?;
    Ok(values
        .iter()
        .filter(|v| pathfinder::flags::checked_value(t, allowed, v.as_deref().unwrap_or("")).is_err())
        .count())
}

fn override_row(r: &dyn Row) -> AppResult<Override> {
    let target = match (r.opt_text(1)?, r.opt_text(2)?) {
        (Some(u), _) => Target::User(u),
        (None, Some(g)) => Target::Group(g),
        (None, None) => return Err(AppError::internal("an override with neither a user nor a group")),
    };
    Ok(Override {
        override_id: r.text(0)?,
        target,
        flag_id: r.text(10)?,
        flag_key: r.text(3)?,
        value: r.opt_text(4)?.unwrap_or_default(),
        reason: r.opt_text(5)?,
        expires_at: r.opt_time(6)?,
        created_by: r.opt_text(7)?,
        created_at: r.opt_time(8)?,
        target_name: r.opt_text(9)?.unwrap_or_default(),
    })
}

fn override_by_id(c: &mut Conn, override_id: &str) -> AppResult<Override> {
    let rows = c.query_map(
        sql!(
            "SELECT o.override_id, o.user_id, o.group_id, f.flag_key, o.override_value, o.reason, o.expires_at,
             o.created_by, o.created_at, COALESCE(u.username, g.group_name), o.flag_id
             FROM pf_user_feature_flags o JOIN pf_feature_flags f ON f.flag_id = o.flag_id
             LEFT JOIN pf_users u ON u.user_id = o.user_id LEFT JOIN pf_user_groups g ON g.group_id = o.group_id
             WHERE o.override_id = :1"
        ),
        &args![override_id],
        override_row,
    )?;
    rows.into_iter().next().ok_or_else(|| AppError::NotFound("That override".into()))
}

fn override_json(o: &Override) -> serde_json::Value {
    let (kind, id) = match &o.target {
        Target::User(u) => ("user", u),
        Target::Group(g) => ("group", g),
    };
    json!({
        "override_id": o.override_id, "flag": o.flag_key, kind: id, "name": o.target_name,
        "value": o.value, "reason": o.reason, "expires_at": o.expires_at.map(|t| t.to_rfc3339()),
    })
}

/// Every flag (or one) evaluated for a user (a username or id; nobody when none or
/// unknown): the flags in key order, each decided by the overrides [`candidates_of`]
/// finds for it.
fn evaluations(c: &mut Conn, user: Option<&str>, key: Option<&str>, now: Timestamp) -> AppResult<Vec<Evaluation>> {
    // One flag, or every key (keys start with a digit or a lower-case letter and
    // hold nothing above `z`): the key's unique index either way.
    let (from, to) = key.map_or(("0", "~"), |k| (k, k));
    let flags = c.query_map(
        sql!(
            "SELECT flag_id, flag_key, flag_type, default_value FROM pf_feature_flags
             WHERE flag_key BETWEEN :1 AND :2 ORDER BY flag_key"
        ),
        &args![from, to],
        |r| {
            Ok((
                r.text(0)?,
                r.text(1)?,
                FlagType::parse(r.opt_text(2)?.as_deref().unwrap_or("boolean"))?,
                r.opt_text(3)?,
            ))
        },
    )?;
    let mut held = candidates_of(c, user)?;
    Ok(flags
        .into_iter()
        .map(|(flag_id, key, t, default)| {
            let candidates = held.remove(&flag_id).unwrap_or_default();
            let (text, source) = resolve(&default.unwrap_or_default(), &candidates, now);
            let (value, error) = match t.value_of(&text) {
                Ok(v) => (v, None),
                Err(e) => (serde_json::Value::Null, Some(format!("The stored value is refused: {e}"))),
            };
            Evaluation { key, flag_type: t, value, source, error }
        })
        .collect())
}

/// The overrides that can decide a flag for `who` (a username or id; nobody's when
/// none or unknown), by flag id: their own, their group's and the default group's.
/// A holder has one a flag at most, so these are a few rows read through the
/// holders' indexes, where probing each flag for each holder took six lookups a flag.
fn candidates_of(c: &mut Conn, who: Option<&str>) -> AppResult<HashMap<String, Candidates>> {
    let (user, group) = match who.map(|who| user_and_group_named(c, who)).transpose()?.flatten() {
        Some((user, group)) => (Some(user), group),
        None => (None, None),
    };
    let rows = c.query_map(
        sql!(
            "SELECT o.flag_id, o.user_id, o.group_id, o.override_value, o.reason, o.expires_at, g.group_name,
             g.priority, g.is_default
             FROM pf_user_feature_flags o LEFT JOIN pf_user_groups g ON g.group_id = o.group_id
             WHERE o.user_id = :1 OR o.group_id = :2
                OR o.group_id = (SELECT group_id FROM pf_user_groups WHERE is_default = 'Y')"
        ),
        &args![user.as_deref(), group.as_deref()],
        |r| {
            let one = Candidate {
                value_text: r.opt_text(3)?.unwrap_or_default(),
                reason: r.opt_text(4)?,
                expires_at: r.opt_time(5)?,
                group: None,
            };
            let grouped = Candidate {
                group: Some((r.opt_text(6)?.unwrap_or_default(), r.opt_int(7)?.unwrap_or(0))),
                ..one.clone()
            };
            let own = r.opt_text(1)?.is_some();
            // The user's group may be the default group: then its override is both.
            let of_group = group.is_some() && r.opt_text(2)? == group;
            let of_default = r.opt_text(8)?.as_deref() == Some("Y");
            Ok((r.text(0)?, own.then_some(one), of_group.then(|| grouped.clone()), of_default.then_some(grouped)))
        },
    )?;
    let mut held: HashMap<String, Candidates> = HashMap::new();
    for (flag_id, own, of_group, of_default) in rows {
        let slot = held.entry(flag_id).or_default();
        slot.user = own.or(slot.user.take());
        slot.group = of_group.or(slot.group.take());
        slot.default_group = of_default.or(slot.default_group.take());
    }
    Ok(held)
}

/// The override of `flag` held by the user (username or id) or group (name)
/// `who`, if any.
fn holder_override(c: &mut Conn, flag: &Flag, who: &str) -> AppResult<Option<Override>> {
    let user = user_named(c, who)?;
    let group = match user {
        Some(_) => None,
        None => c
            .query_opt(sql!("SELECT group_id FROM pf_user_groups WHERE group_name = :1"), &args![who])?
            .map(|r| r.text(0))
            .transpose()?,
    };
    if user.is_none() && group.is_none() {
        return Err(AppError::invalid(format!("No user or group is named '{who}'.")));
    }
    override_held(c, &flag.flag_id, user.as_deref(), group.as_deref())
}

/// The override of a flag that a user or a group (by id) holds, if any.
fn override_held(c: &mut Conn, flag_id: &str, user: Option<&str>, group: Option<&str>) -> AppResult<Option<Override>> {
    let found = c.query_opt(
        sql!("SELECT override_id FROM pf_user_feature_flags WHERE flag_id = :1 AND (user_id = :2 OR group_id = :3)"),
        &args![flag_id, user, group],
    )?;
    found.map(|r| override_by_id(c, &r.text(0)?)).transpose()
}

/// A page (and one more row, to tell whether another follows) of `flag`'s
/// overrides after the cursor, in creation order. Groups' and expired overrides
/// are few among a flag's: those filters read them by their own index instead of
/// walking every user's.
fn override_walk(
    c: &mut Conn,
    flag: &Flag,
    filter: &OverrideFilter,
    now: Timestamp,
    limit: u32,
) -> AppResult<Vec<Override>> {
    // Keyset on (created_at, override_id): the cursor is an override id.
    let (start, after) = match &filter.after {
        Some(id) => (override_by_id(c, id)?.created_at.unwrap_or_else(earliest_time), id.clone()),
        None => (earliest_time(), String::new()),
    };
    let rows = i64::from(limit) + 1;
    let key = flag.key.as_str();
    let id = flag.flag_id.as_str();
    if filter.groups_only() {
        return c.query_map(
            sql!("SELECT o.override_id, o.user_id, o.group_id, :1, o.override_value, o.reason, o.expires_at,
                    o.created_by, o.created_at, g.group_name, o.flag_id
                    FROM pf_user_feature_flags o JOIN pf_user_groups g ON g.group_id = o.group_id
                    WHERE o.flag_id = :2 AND o.group_id IS NOT NULL AND o.created_at >= :3
                    AND (o.created_at > :4 OR o.override_id > :5)
                    ORDER BY o.created_at, o.override_id", limit ":6"),
            &args![key, id, start, start, after.as_str(), rows],
            override_row,
        );
    }
    if filter.state.as_deref() == Some("expired") {
        // Past their expiry: only those the job has not removed yet (idx_uff_expires).
        return c.query_map(
            sql!("SELECT o.override_id, o.user_id, o.group_id, :1, o.override_value, o.reason, o.expires_at,
                    o.created_by, o.created_at, COALESCE(u.username, g.group_name), o.flag_id
                    FROM pf_user_feature_flags o
                    LEFT JOIN pf_users u ON u.user_id = o.user_id LEFT JOIN pf_user_groups g ON g.group_id = o.group_id
                    WHERE o.expires_at <= :2 AND o.flag_id = :3 AND o.created_at >= :4
                    AND (o.created_at > :5 OR o.override_id > :6)
                    ORDER BY o.created_at, o.override_id", limit ":7"),
            &args![key, now, id, start, start, after.as_str(), rows],
            override_row,
        );
    }
    // Users' only and active only keep nearly every row: the walk of
    // idx_uff_flag_created stops after a page.
    let users_only = yes(filter.users_only());
    let active_only = yes(filter.state.as_deref() == Some("active"));
    c.query_map(
        sql!("SELECT o.override_id, o.user_id, o.group_id, :1, o.override_value, o.reason, o.expires_at,
                o.created_by, o.created_at, COALESCE(u.username, g.group_name), o.flag_id
                FROM pf_user_feature_flags o
                LEFT JOIN pf_users u ON u.user_id = o.user_id LEFT JOIN pf_user_groups g ON g.group_id = o.group_id
                WHERE o.flag_id = :2 AND o.created_at >= :3 AND (o.created_at > :4 OR o.override_id > :5)
                AND (:6 = 'N' OR o.user_id IS NOT NULL) AND (:7 = 'N' OR o.expires_at IS NULL OR o.expires_at > :8)
                ORDER BY o.created_at, o.override_id", limit ":9"),
        &args![key, id, start, start, after.as_str(), users_only, active_only, now, rows],
        override_row,
    )
}

fn api_key_row(r: &dyn Row) -> AppResult<ApiKey> {
    Ok(ApiKey {
        key_id: r.text(0)?,
        name: r.text(1)?,
        prefix: r.text(2)?,
        created_by: r.opt_text(3)?,
        created_at: r.time(4)?,
        last_used_at: r.opt_time(5)?,
        revoked_at: r.opt_time(6)?,
    })
}

impl FlagStore for Store {
    fn flags(&self, query: &FlagQuery) -> AppResult<Vec<Flag>> {
        let pattern = format!("%{}%", pathfinder::filter::escape_like(&query.text.trim().to_lowercase()));
        let flag_type = query.flag_type.map(|t| t.as_str());
        let system_wide = query.system_wide.map(yes);
        // Sorted here (an unknown order is refused when the query is parsed): by key,
        // or by name, type or last change, then by key.
        let by = match query.sort.as_str() {
            "name" | "type" | "updated" => query.sort.as_str(),
            _ => "key",
        };
        self.read(|c| {
            c.query_map(
                sql!(
                    "SELECT flag_id, flag_key, flag_name, description, flag_type, default_value, allowed_values,
                     is_system_wide, requires_restart, created_at, updated_at FROM pf_feature_flags
                     WHERE (flag_key LIKE :1 ESCAPE '\\' OR LOWER(flag_name) LIKE :2 ESCAPE '\\')
                     AND (:3 IS NULL OR COALESCE(flag_type, 'boolean') = :4)
                     AND (:5 IS NULL OR COALESCE(is_system_wide, 'N') = :6)
                     ORDER BY CASE :7 WHEN 'name' THEN LOWER(flag_name) WHEN 'type' THEN COALESCE(flag_type, 'boolean') END,
                     CASE :8 WHEN 'updated' THEN updated_at END DESC NULLS LAST, flag_key"
                ),
                &args![pattern.as_str(), pattern.as_str(), flag_type, flag_type, system_wide, system_wide, by, by],
                flag_row,
            )
        })
    }

    fn flag_page(&self, key: &str, filter: &OverrideFilter, now: Timestamp, limit: u32) -> AppResult<FlagPage> {
        let flag = self.flag(key)?;
        let overrides = self.overrides_of_flag(key, filter, now, limit)?;
        let override_count = self.override_count(key)?;
        let history = AuditFilter::newest_about(&flag.flag_id, FLAG_HISTORY, now)?;
        let history = self.search_audit(&history)?.events;
        Ok(FlagPage { flag, overrides, override_count, history })
    }

    fn flag(&self, key: &str) -> AppResult<Flag> {
        self.read(|c| flag_by_key(c, key))
    }

    fn create_flag(&self, edit: &FlagEdit, audit: &AuditEntry) -> AppResult<Flag> {
        let (key, t, _) = edit.checked()?;
        let id = new_id();
        self.write(|c| {
            if c.query_opt(sql!("SELECT 1 FROM pf_feature_flags WHERE flag_key = :1"), &args![key.as_str()])?.is_some()
            {
                return Err(AppError::Conflict(format!("A flag with the key '{key}' already exists.")));
            }
            let now = chrono::Utc::now();
            c.execute(
                sql!(
                    "INSERT INTO pf_feature_flags (flag_id, flag_key, flag_name, description, flag_type, default_value,
                     allowed_values, is_system_wide, requires_restart, created_at, updated_at)
                     VALUES (:1, :2, :3, :4, :5, :6, :7, :8, :9, :10, :11)"
                ),
                &[args![id.as_str(), key.as_str()].to_vec(), edited(edit, t), args![now, now].to_vec()].concat(),
            )?;
            let flag = flag_by_key(c, &key)?;
            super::audit::append::change(c, audit, (FLAG, &id), None, Some(flag.as_edit().to_json()))?;
            Ok(flag)
        })
    }

    fn update_flag(&self, key: &str, edit: &FlagEdit, audit: &AuditEntry) -> AppResult<Flag> {
        let (new_key, t, allowed) = edit.checked()?;
        if new_key != key {
            return Err(AppError::invalid("A flag's key cannot change once the flag exists."));
        }
        self.write(|c| {
            let before = flag_by_key(c, key)?;
            let refused = misfits(c, &before.flag_id, t, allowed.as_deref())?;
            if refused > 0 {
                return Err(AppError::invalid(format!(
                    "{refused} override(s) of this flag hold values the new type or allowed values refuse: change or \
                     delete them first."
                )));
            }
            c.execute(
                sql!(
                    "UPDATE pf_feature_flags SET flag_name = :1, description = :2, flag_type = :3, default_value = :4,
                     allowed_values = :5, is_system_wide = :6, requires_restart = :7, updated_at = :8
                     WHERE flag_id = :9"
                ),
                &[edited(edit, t), args![chrono::Utc::now(), before.flag_id.as_str()].to_vec()].concat(),
            )?;
            let after = flag_by_key(c, key)?;
            let (was, is) = (before.as_edit().to_json(), after.as_edit().to_json());
            super::audit::append::change(c, audit, (FLAG, &after.flag_id), Some(was), Some(is))?;
            Ok(after)
        })
    }

    fn delete_flag(&self, key: &str, audit: &AuditEntry) -> AppResult<u64> {
        self.write(|c| {
            let before = flag_by_key(c, key)?;
            let overrides = c.execute(
                sql!("DELETE FROM pf_user_feature_flags WHERE flag_id = :1"),
                &args![before.flag_id.as_str()],
            )?;
            c.execute(sql!("DELETE FROM pf_feature_flags WHERE flag_id = :1"), &args![before.flag_id.as_str()])?;
            let mut was = before.as_edit().to_json();
            was["overrides_deleted"] = json!(overrides);
            super::audit::append::change(c, audit, (FLAG, &before.flag_id), Some(was), None)?;
            Ok(overrides)
        })
    }

    fn override_count(&self, key: &str) -> AppResult<i64> {
        self.read(|c| {
            let flag = flag_by_key(c, key)?;
            c.query_int(
                sql!("SELECT COUNT(*) FROM pf_user_feature_flags WHERE flag_id = :1"),
                &args![flag.flag_id.as_str()],
            )
        })
    }

    fn set_user_group(&self, user_id: &UserId, group_id: Option<&str>, audit: &AuditEntry) -> AppResult<()> {
        self.write_audited_with(audit, |c| {
            Store::lock_owner(c, user_id.as_str())?;
            let before = c
                .query_opt(
                    sql!(
                        "SELECT g.group_name, u.feature_group_id FROM pf_users u
                         LEFT JOIN pf_user_groups g ON g.group_id = u.feature_group_id WHERE u.user_id = :1"
                    ),
                    &args![user_id],
                )?
                .ok_or_else(|| AppError::NotFound("That user".into()))?;
            // A group deleted meanwhile leaves its id behind: say so rather than "none".
            let before = before.opt_text(0)?.or(before.opt_text(1)?.map(|id| format!("(deleted group {id})")));
            let after = group_named(c, group_id)?;
            c.execute(
                sql!("UPDATE pf_users SET feature_group_id = :1, updated_at = :2 WHERE user_id = :3"),
                &args![group_id.map(str::to_string), chrono::Utc::now(), user_id],
            )?;
            let name = |g: Option<String>| g.unwrap_or_else(|| "none".into());
            Ok(((), format!("group: {} -> {}", name(before), name(after))))
        })
    }

    fn groups(&self) -> AppResult<Vec<Group>> {
        self.read(|c| {
            c.query_map(
                sql!(
                    "SELECT group_id, group_name, description, is_default, priority FROM pf_user_groups
                     ORDER BY priority DESC, group_name"
                ),
                &[],
                group_row,
            )
        })
    }

    fn group(&self, group_id: &str) -> AppResult<Group> {
        self.read(|c| group_by_id(c, group_id))
    }

    fn save_group(&self, group_id: Option<&str>, edit: &GroupEdit, audit: &AuditEntry) -> AppResult<Group> {
        let name = edit.checked()?;
        self.write(|c| {
            let before = group_id.map(|id| group_by_id(c, id)).transpose()?;
            let id = before.as_ref().map(|g| g.group_id.clone()).unwrap_or_else(new_id);
            let taken = c.query_opt(
                sql!("SELECT group_id FROM pf_user_groups WHERE group_name = :1 AND group_id <> :2"),
                &args![name.as_str(), id.as_str()],
            )?;
            if taken.is_some() {
                return Err(AppError::Conflict(format!("A group named '{name}' already exists.")));
            }
            // The default group is one or none: the others give it up first.
            if edit.is_default {
                let others = c.query_map(
                    sql!("SELECT group_id FROM pf_user_groups WHERE is_default = 'Y' AND group_id <> :1"),
                    &args![id.as_str()],
                    |r| r.text(0),
                )?;
                for other in others {
                    let was = group_by_id(c, &other)?;
                    c.execute(
                        sql!("UPDATE pf_user_groups SET is_default = 'N' WHERE group_id = :1"),
                        &args![other.as_str()],
                    )?;
                    let is = group_by_id(c, &other)?;
                    super::audit::append::change(
                        c,
                        audit,
                        (GROUP, &other),
                        Some(group_json(&was)),
                        Some(group_json(&is)),
                    )?;
                }
            }
            let now = chrono::Utc::now();
            let description = Some(edit.description.trim()).filter(|d| !d.is_empty());
            if before.is_some() {
                c.execute(
                    sql!(
                        "UPDATE pf_user_groups SET group_name = :1, description = :2, is_default = :3, priority = :4,
                         updated_at = :5 WHERE group_id = :6"
                    ),
                    &args![name.as_str(), description, yes(edit.is_default), edit.priority, now, id.as_str()],
                )?;
            } else {
                c.execute(
                    sql!(
                        "INSERT INTO pf_user_groups (group_id, group_name, description, is_default, priority,
                         created_at, updated_at) VALUES (:1, :2, :3, :4, :5, :6, :7)"
                    ),
                    &args![id.as_str(), name.as_str(), description, yes(edit.is_default), edit.priority, now, now],
                )?;
            }
            let after = group_by_id(c, &id)?;
            super::audit::append::change(
                c,
                audit,
                (GROUP, &id),
                before.as_ref().map(group_json),
                Some(group_json(&after)),
            )?;
            Ok(after)
        })
    }

    fn delete_group(&self, group_id: &str, audit: &AuditEntry) -> AppResult<(u64, u64)> {
        self.write(|c| {
            let before = group_by_id(c, group_id)?;
            let members = c.execute(
                sql!("UPDATE pf_users SET feature_group_id = NULL WHERE feature_group_id = :1"),
                &args![group_id],
            )?;
            let overrides =
                c.execute(sql!("DELETE FROM pf_user_feature_flags WHERE group_id = :1"), &args![group_id])?;
            c.execute(sql!("DELETE FROM pf_user_groups WHERE group_id = :1"), &args![group_id])?;
            let was = json!({
                "name": before.name, "default": before.is_default, "priority": before.priority,
                "members_left": members, "overrides_deleted": overrides,
            });
            super::audit::append::change(c, audit, (GROUP, group_id), Some(was), None)?;
            Ok((members, overrides))
        })
    }

    fn group_page(&self, group_id: &str, after: Option<&str>, limit: u32) -> AppResult<GroupPage> {
        Ok(GroupPage {
            group: self.group(group_id)?,
            size: self.group_size(group_id)?,
            members: self.group_members(group_id, after, limit)?,
            overrides: self.overrides_held(&Target::Group(group_id.to_string()))?,
        })
    }

    fn add_group_member(&self, group_id: &str, username: &str, audit: &AuditEntry) -> AppResult<()> {
        let name = username.trim();
        let id = Username::parse(name)
            .ok()
            .map(|u| self.user_id_by_username(&u))
            .transpose()?
            .flatten()
            .ok_or_else(|| AppError::invalid(format!("No user is named '{name}'.")))?;
        let audit = AuditEntry { entity_id: Some(id.0.clone()), ..audit.clone() };
        self.set_user_group(&id, Some(group_id), &audit)
    }

    fn group_size(&self, group_id: &str) -> AppResult<i64> {
        self.read(|c| c.query_int(sql!("SELECT COUNT(*) FROM pf_users WHERE feature_group_id = :1"), &args![group_id]))
    }

    fn set_override(&self, key: &str, target: &Target, edit: &OverrideEdit, audit: &AuditEntry) -> AppResult<Override> {
        let now = chrono::Utc::now();
        self.write(|c| {
            let flag = flag_by_key(c, key)?;
            let reason = edit.checked(&flag, now)?;
            let (user, group) = match target {
                Target::User(who) => {
                    let id =
                        user_named(c, who)?.ok_or_else(|| AppError::invalid(format!("No user is named '{who}'.")))?;
                    (Some(id), None)
                }
                Target::Group(id) => {
                    group_named(c, Some(id))?;
                    (None, Some(id.clone()))
                }
            };
            let before = override_held(c, &flag.flag_id, user.as_deref(), group.as_deref())?;
            let id = match &before {
                Some(o) => {
                    c.execute(
                        sql!(
                            "UPDATE pf_user_feature_flags SET override_value = :1, reason = :2, expires_at = :3,
                             created_by = :4, created_at = :5 WHERE override_id = :6"
                        ),
                        &args![
                            edit.value.as_str(),
                            reason.as_str(),
                            edit.expires_at,
                            audit.actor.as_ref(),
                            now,
                            o.override_id.as_str()
                        ],
                    )?;
                    o.override_id.clone()
                }
                None => {
                    let id = new_id();
                    c.execute(
                        sql!(
                            "INSERT INTO pf_user_feature_flags (override_id, user_id, group_id, flag_id, override_value,
                             reason, expires_at, created_by, created_at) VALUES (:1, :2, :3, :4, :5, :6, :7, :8, :9)"
                        ),
                        &args![
                            id.as_str(),
                            user.as_deref(),
                            group.as_deref(),
                            flag.flag_id.as_str(),
                            edit.value.as_str(),
                            reason.as_str(),
                            edit.expires_at,
                            audit.actor.as_ref(),
                            now
                        ],
                    )?;
                    id
                }
            };
            let after = override_by_id(c, &id)?;
            super::audit::append::change(
                c,
                audit,
                (FLAG, &flag.flag_id),
                before.as_ref().map(override_json),
                Some(override_json(&after)),
            )?;
            Ok(after)
        })
    }

    fn delete_override(&self, override_id: &str, audit: &AuditEntry) -> AppResult<()> {
        self.write(|c| {
            let before = override_by_id(c, override_id)?;
            c.execute(sql!("DELETE FROM pf_user_feature_flags WHERE override_id = :1"), &args![override_id])?;
            super::audit::append::change(c, audit, (FLAG, &before.flag_id), Some(override_json(&before)), None)
        })
    }

    fn overrides_of_flag(
        &self,
        key: &str,
        filter: &OverrideFilter,
        now: Timestamp,
        limit: u32,
    ) -> AppResult<Page<Override>> {
        self.read(|c| {
            let flag = flag_by_key(c, key)?;
            let mut items = match &filter.holder {
                // One holder has one override of a flag at most.
                Some(who) => holder_override(c, &flag, who)?.into_iter().collect(),
                None => override_walk(c, &flag, filter, now, limit)?,
            };
            items.retain(|o| filter.admits(o, now));
            let next = (items.len() > limit as usize).then(|| {
                items.truncate(limit as usize);
                items.last().map(|o| o.override_id.clone())
            });
            Ok(Page { items, next_cursor: next.flatten() })
        })
    }

    fn overrides_held(&self, holder: &Target) -> AppResult<Vec<Override>> {
        let (user, group) = match holder {
            Target::User(id) => (Some(id.as_str()), None),
            Target::Group(id) => (None, Some(id.as_str())),
        };
        self.read(|c| {
            c.query_map(
                sql!(
                    "SELECT o.override_id, o.user_id, o.group_id, f.flag_key, o.override_value, o.reason, o.expires_at,
                     o.created_by, o.created_at, COALESCE(u.username, g.group_name), o.flag_id
                     FROM pf_user_feature_flags o JOIN pf_feature_flags f ON f.flag_id = o.flag_id
                     LEFT JOIN pf_users u ON u.user_id = o.user_id LEFT JOIN pf_user_groups g ON g.group_id = o.group_id
                     WHERE o.user_id = :1 OR o.group_id = :2 ORDER BY f.flag_key"
                ),
                &args![user, group],
                override_row,
            )
        })
    }

    fn group_members(&self, group_id: &str, after: Option<&str>, limit: u32) -> AppResult<Page<UserSummary>> {
        let mut members = self.read(|c| {
            group_by_id(c, group_id)?;
            // idx_users_group_name (feature_group_id, username): a page is one index
            // range. The first starts above a space, below any username (an empty
            // string would be NULL on Oracle).
            c.query_map(
                sql!("SELECT user_id, username, email, first_name, last_name, account_status, created_at,
                        last_login FROM pf_users WHERE feature_group_id = :1 AND username > :2
                        ORDER BY username", limit ":3"),
                &args![group_id, after.unwrap_or(" "), i64::from(limit) + 1],
                super::rows::summary,
            )
        })?;
        let next_cursor = (members.len() > limit as usize).then(|| {
            members.truncate(limit as usize);
            members.last().map(|m| m.username.clone())
        });
        Ok(Page { items: members, next_cursor: next_cursor.flatten() })
    }

    fn evaluate(&self, key: &str, user: Option<&str>, now: Timestamp) -> AppResult<Evaluation> {
        self.read(|c| {
            let e = evaluations(c, user, Some(key), now)?
                .into_iter()
                .next()
                .ok_or_else(|| AppError::NotFound(format!("The flag '{key}'")))?;
            match &e.error {
                Some(why) => Err(AppError::Conflict(format!("The flag '{key}' cannot be evaluated. {why}"))),
                None => Ok(e),
            }
        })
    }

    fn evaluate_for(&self, key: &str, username: &str, now: Timestamp) -> AppResult<Evaluation> {
        let name = username.trim().to_lowercase();
        let known = Username::parse(&name).ok().map(|u| self.user_id_by_username(&u)).transpose()?.flatten();
        if known.is_none() {
            return Err(AppError::invalid(format!("No user is named '{name}'.")));
        }
        self.evaluate(key, Some(&name), now)
    }

    fn evaluate_all(&self, user: Option<&str>, now: Timestamp) -> AppResult<Vec<Evaluation>> {
        self.read(|c| evaluations(c, user, None, now))
    }

    fn expire_overrides(&self, now: Timestamp, limit: u32, audit: &AuditEntry) -> AppResult<u64> {
        self.write(|c| {
            let due = c.query_map(
                sql!("SELECT override_id FROM pf_user_feature_flags WHERE expires_at <= :1
                        ORDER BY expires_at", limit ":2"),
                &args![now, i64::from(limit)],
                |r| r.text(0),
            )?;
            let mut removed = 0;
            for id in due {
                let before = override_by_id(c, &id)?;
                // Another instance may have taken it meanwhile: the row is removed once.
                let gone = c.execute(
                    sql!("DELETE FROM pf_user_feature_flags WHERE override_id = :1 AND expires_at <= :2"),
                    &args![id.as_str(), now],
                )?;
                if gone == 1 {
                    super::audit::append::change(
                        c,
                        audit,
                        (FLAG, &before.flag_id),
                        Some(override_json(&before)),
                        None,
                    )?;
                    removed += 1;
                }
            }
            Ok(removed)
        })
    }

    fn api_keys(&self) -> AppResult<Vec<ApiKey>> {
        self.read(|c| {
            c.query_map(
                sql!(
                    "SELECT key_id, key_name, key_prefix, created_by, created_at, last_used_at, revoked_at
                     FROM pf_flag_api_keys ORDER BY created_at DESC"
                ),
                &[],
                api_key_row,
            )
        })
    }

    fn create_api_key(&self, name: &str, secret_hash: &str, prefix: &str, audit: &AuditEntry) -> AppResult<ApiKey> {
        let name = pathfinder::validation::shown_text("key's name", name, 400)?;
        let name = name.as_str();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::invalid("Name the key (1 to 100 characters): which service uses it."));
        }
        let id = new_id();
        let mut audit = audit.clone();
        audit.entity_id = Some(id.clone());
        self.write_audited(&audit, |c| {
            c.execute(
                sql!(
                    "INSERT INTO pf_flag_api_keys (key_id, key_name, key_hash, key_prefix, created_by, created_at)
                     VALUES (:1, :2, :3, :4, :5, :6)"
                ),
                &args![id.as_str(), name, secret_hash, prefix, audit.actor.as_ref(), chrono::Utc::now()],
            )?;
            let rows = c.query_map(
                sql!(
                    "SELECT key_id, key_name, key_prefix, created_by, created_at, last_used_at, revoked_at
                     FROM pf_flag_api_keys WHERE key_id = :1"
                ),
                &args![id.as_str()],
                api_key_row,
            )?;
            rows.into_iter().next().ok_or_else(|| AppError::internal("the new key is not there"))
        })
    }

    fn revoke_api_key(&self, key_id: &str, audit: &AuditEntry) -> AppResult<()> {
        self.write_audited(audit, |c| {
            let n = c.execute(
                sql!("UPDATE pf_flag_api_keys SET revoked_at = :1, revoked_by = :2 WHERE key_id = :3 AND revoked_at IS NULL"),
                &args![chrono::Utc::now(), audit.actor.as_ref(), key_id],
            )?;
            if n == 0 {
                return Err(AppError::NotFound("That key (or it is already revoked)".into()));
            }
            Ok(())
        })
    }

    fn api_key_by_hash(&self, secret_hash: &str, now: Timestamp) -> AppResult<Option<ApiKey>> {
        let key = self.read(|c| {
            let rows = c.query_map(
                sql!(
                    "SELECT key_id, key_name, key_prefix, created_by, created_at, last_used_at, revoked_at
                     FROM pf_flag_api_keys WHERE key_hash = :1"
                ),
                &args![secret_hash],
                api_key_row,
            )?;
            Ok(rows.into_iter().next())
        })?;
        // The last use is kept to the minute: one write a minute per key, not one
        // per evaluation (a conditional UPDATE, so instances do not repeat it).
        if let Some(k) = key.as_ref().filter(|k| k.revoked_at.is_none()) {
            if k.last_used_at.is_none_or(|t| now - t >= chrono::TimeDelta::minutes(1)) {
                let minute_ago = now - chrono::TimeDelta::minutes(1);
                self.write(|c| {
                    c.execute(
                        sql!(
                            "UPDATE pf_flag_api_keys SET last_used_at = :1 WHERE key_id = :2
                             AND (last_used_at IS NULL OR last_used_at <= :3)"
                        ),
                        &args![now, k.key_id.as_str(), minute_ago],
                    )
                })?;
            }
        }
        Ok(key)
    }
}
