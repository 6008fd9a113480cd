//! Row-level steps several capabilities share: a user's summary row, lookups by
//! name, a user's console roles, the end of their sessions. Written once here,
//! below the capabilities' files, so that no capability imports another's.

use super::driver::{Conn, ReadRow, Row};
use crate::{args, sql};
use pathfinder::dto::{Timestamp, UserSummary};
use pathfinder::storage::AuditEntry;
use pathfinder::{AppError, AppResult, Role, UserId, Username};

/// A row that starts with [`super::search::SUMMARY_COLUMNS`].
pub(super) fn summary(r: &dyn Row) -> AppResult<UserSummary> {
    Ok(UserSummary {
        user_id: UserId(r.text(0)?),
        username: r.text(1)?,
        email: r.text(2)?,
        first_name: r.opt_text(3)?,
        last_name: r.opt_text(4)?,
        account_status: r.opt_text(5)?.unwrap_or_else(|| "active".into()),
        created_at: r.opt_time(6)?,
        last_login: r.opt_time(7)?,
    })
}

/// The username of `user_id`, when there is such a user.
pub(super) fn username_of(c: &mut Conn, user_id: &str) -> AppResult<Option<String>> {
    c.query_opt(sql!("SELECT username FROM pf_users WHERE user_id = :1"), &args![user_id])?
        .map(|r| r.text(0))
        .transpose()
}

pub(super) fn user_id_of(c: &mut Conn, username: &Username) -> AppResult<Option<String>> {
    c.query_opt(sql!("SELECT user_id FROM pf_users WHERE username = :1"), &args![username])?
        .map(|r| r.text(0))
        .transpose()
}

/// The id of the user `who` names: a username (any case) or a user id.
pub(super) fn user_named(c: &mut Conn, who: &str) -> AppResult<Option<String>> {
    Ok(user_and_group_named(c, who)?.map(|(user, _)| user))
}

/// [`user_named`], with the user's feature group if they are in one.
pub(super) fn user_and_group_named(c: &mut Conn, who: &str) -> AppResult<Option<(String, Option<String>)>> {
    c.query_opt(
        sql!("SELECT user_id, feature_group_id FROM pf_users WHERE username = :1 OR user_id = :2"),
        &args![who.to_lowercase().as_str(), who],
    )?
    .map(|r| Ok((r.text(0)?, r.opt_text(1)?)))
    .transpose()
}

pub(super) fn group_name(c: &mut Conn, group_id: &str) -> AppResult<Option<String>> {
    c.query_opt(sql!("SELECT group_name FROM pf_user_groups WHERE group_id = :1"), &args![group_id])?
        .map(|r| r.text(0))
        .transpose()
}

/// The group's name, refused with a sentence when there is no such group. None for
/// no group.
pub(super) fn group_named(c: &mut Conn, group_id: Option<&str>) -> AppResult<Option<String>> {
    let Some(id) = group_id else { return Ok(None) };
    group_name(c, id)?
        .ok_or_else(|| AppError::invalid("That group does not exist (it may have been deleted): choose another."))
        .map(Some)
}

pub(super) fn roles_of(c: &mut Conn, user_id: &str) -> AppResult<Vec<Role>> {
    let names = c.query_map(
        sql!("SELECT role FROM pf_console_roles WHERE user_id = :1 ORDER BY role"),
        &args![user_id],
        |r| r.text(0),
    )?;
    // A role this build does not know is ignored rather than trusted.
    Ok(names.iter().filter_map(|n| n.parse().ok()).collect())
}

/// Ends the user's active sessions now, in the caller's transaction: by the audit
/// row's actor, for `reason` (their history shows both).
pub(super) fn end_sessions_of(
    c: &mut Conn,
    user_id: &UserId,
    audit: &AuditEntry,
    reason: &str,
    now: Timestamp,
) -> AppResult<u64> {
    c.execute(
        sql!(
            "UPDATE pf_user_sessions SET is_active = 'N', ended_at = :1, ended_by = :2, end_reason = :3
             WHERE user_id = :4 AND is_active = 'Y'"
        ),
        &args![now, audit.actor.as_ref().map(|a| a.0.clone()), reason, user_id],
    )
}
