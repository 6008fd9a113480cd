//! Access review campaigns in `pf_access_reviews` and their lines in
//! `pf_access_review_lines`.
//!
//! N instances: a decision locks its campaign's row first (Oracle `FOR UPDATE`;
//! SQLite has one writer), so the rules are checked against what other instances
//! committed, the line is set only while undecided (compare-and-set), and the last
//! decision of a campaign is seen as last by exactly one of them. Closing at the
//! deadline and claiming a reminder are compare-and-sets too.

use super::accounts::{keep_an_active_admin, lock_admins};
use super::audit::append;
use super::driver::{Conn, Dialect, ReadRow, Row};
use super::rows::{end_sessions_of, username_of};
use super::store::Store;
use crate::{args, sql};
use chrono::Utc;
use pathfinder::access_reviews::{
    may_decide, Campaign, CampaignView, CloseReason, Decided, Decision, Line, NewCampaign, MAX_LINES, REMIND_BEFORE,
};
use pathfinder::dto::Timestamp;
use pathfinder::storage::{
    decision_action, fresh_sign_in_needed, AccessReviewStore, Action, AuditEntry, ACCESS_REVIEW_CLOSE,
    ACCESS_REVIEW_REMIND,
};
use pathfinder::{AppError, AppResult, Role, UserId};
use std::collections::HashMap;

fn campaign_row(r: &dyn Row) -> AppResult<Campaign> {
    Ok(Campaign {
        review_id: r.text(0)?,
        name: r.text(1)?,
        role: r.opt_text(2)?.map(|s| s.parse()).transpose()?,
        started_by: r.opt_text(3)?,
        started_at: r.time(4)?,
        deadline: r.time(5)?,
        closed_at: r.opt_time(6)?,
        close_reason: r.opt_text(7)?.map(|s| CloseReason::parse(&s)).transpose()?,
        lines: count(r.int(8)?),
        kept: count(r.int(9)?),
        revoked: count(r.int(10)?),
        past_deadline: false,
    })
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

/// The campaigns with their counts, newest first; or the one `review_id` names.
fn campaigns(c: &mut Conn, review_id: Option<&str>, limit: u32) -> AppResult<Vec<Campaign>> {
    c.query_map(
        sql!(
            "SELECT a.review_id, a.name, a.scope_role, s.username, a.started_at, a.deadline, a.closed_at,
             a.close_reason,
             (SELECT COUNT(*) FROM pf_access_review_lines l WHERE l.review_id = a.review_id),
             (SELECT COUNT(*) FROM pf_access_review_lines l WHERE l.review_id = a.review_id AND l.decision = 'keep'),
             (SELECT COUNT(*) FROM pf_access_review_lines l WHERE l.review_id = a.review_id AND l.decision = 'revoke')
             FROM pf_access_reviews a LEFT JOIN pf_users s ON s.user_id = a.started_by
             WHERE (:1 IS NULL OR a.review_id = :2)
             ORDER BY a.started_at DESC, a.review_id DESC",
            limit ":3"
        ),
        &args![review_id, review_id, i64::from(limit)],
        campaign_row,
    )
    .map(|mut all| {
        let now = Utc::now();
        for c in &mut all {
            c.past_deadline = c.closed_at.is_none() && c.deadline <= now;
        }
        all
    })
}

fn one(c: &mut Conn, review_id: &str) -> AppResult<Campaign> {
    campaigns(c, Some(review_id), 1)?.pop().ok_or_else(|| AppError::NotFound("That access review".into()))
}

fn line_row(r: &dyn Row) -> AppResult<Line> {
    Ok(Line {
        line_id: r.text(0)?,
        user_id: r.text(1)?,
        username: r.text(2)?,
        role: r.text(3)?.parse()?,
        granted_at: r.opt_time(4)?,
        granted_by: r.opt_text(5)?,
        last_sign_in: r.opt_time(6)?,
        second_factor: r.text(7)? == "Y",
        findings: r.opt_text(8)?.unwrap_or_default(),
        decision: r.opt_text(9)?.map(|d| Decision::parse(&d)).transpose()?,
        comment: r.opt_text(10)?,
        decided_by: r.opt_text(11)?,
        decided_at: r.opt_time(12)?,
    })
}

/// The open security findings naming each account (by its id), as titles.
fn findings_by_account(c: &mut Conn) -> AppResult<HashMap<String, Vec<String>>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (subject, check) in c.query_map(
        sql!("SELECT subject, check_name FROM pf_security_findings WHERE closed_at IS NULL ORDER BY check_name"),
        &[],
        |r| Ok((r.text(0)?, r.text(1)?)),
    )? {
        let title = pathfinder::security::Check::parse(&check).map_or(check.clone(), |c| c.title().to_string());
        // An account's id, or `<id>:<role>` (a recent grant names the role too).
        let account = subject.split(':').next().unwrap_or_default().to_string();
        out.entry(account).or_default().push(title);
    }
    Ok(out)
}

/// A campaign's audit row: about one account (`user`) or the campaign itself
/// (`access_review`).
fn row(audit: &AuditEntry, action: Action, (entity, id): (&str, &str), detail: String) -> AuditEntry {
    AuditEntry {
        action: action.name.into(),
        response_status: action.status,
        entity_type: Some(entity.into()),
        entity_id: Some(id.into()),
        detail: Some(detail),
        ..audit.clone()
    }
}

/// Closes an open campaign (compare-and-set) with its audit row; false when it was
/// closed already.
fn close(
    c: &mut Conn,
    campaign: &Campaign,
    reason: CloseReason,
    now: Timestamp,
    audit: &AuditEntry,
) -> AppResult<bool> {
    let closed = c.execute(
        sql!(
            "UPDATE pf_access_reviews SET closed_at = :1, close_reason = :2
             WHERE review_id = :3 AND closed_at IS NULL"
        ),
        &args![now, reason.as_str(), &campaign.review_id],
    )?;
    if closed == 0 {
        return Ok(false);
    }
    let left: Vec<String> = c.query_map(
        sql!(
            "SELECT username, role FROM pf_access_review_lines WHERE review_id = :1 AND decision IS NULL
             ORDER BY username, role"
        ),
        &args![&campaign.review_id],
        |r| Ok(format!("{} ({})", r.text(0)?, r.text(1)?)),
    )?;
    let detail = match (reason, left.is_empty()) {
        (CloseReason::Decided, _) | (CloseReason::Deadline, true) => format!("{}: every line decided", campaign.name),
        (CloseReason::Deadline, false) => pathfinder::storage::truncate(
            &format!("{}: deadline passed, {} lines left open: {}", campaign.name, left.len(), left.join(", ")),
            1000,
        ),
    };
    append::insert(c, &row(audit, ACCESS_REVIEW_CLOSE, ("access_review", &campaign.review_id), detail))?;
    Ok(true)
}

impl AccessReviewStore for Store {
    fn start_access_review(&self, new: &NewCampaign, audit: &AuditEntry) -> AppResult<Campaign> {
        let now = Utc::now();
        let id = pathfinder::new_id();
        self.write(|c| {
            let findings = findings_by_account(c)?;
            let holders = c.query_map(
                sql!(
                    "SELECT u.user_id, u.username, r.role, r.granted_at, g.username, u.last_login, u.mfa_enabled
                     FROM pf_console_roles r JOIN pf_users u ON u.user_id = r.user_id
                     LEFT JOIN pf_users g ON g.user_id = r.granted_by
                     WHERE (:1 IS NULL OR r.role = :2)
                     ORDER BY u.username, r.role",
                    limit ":3"
                ),
                &args![new.role.map(Role::as_str), new.role.map(Role::as_str), i64::from(MAX_LINES) + 1],
                |r| {
                    Ok((
                        r.text(0)?,
                        r.text(1)?,
                        r.text(2)?,
                        r.opt_time(3)?,
                        r.opt_text(4)?,
                        r.opt_time(5)?,
                        r.opt_text(6)?.as_deref() == Some("Y"),
                    ))
                },
            )?;
            if holders.is_empty() {
                return Err(AppError::invalid("No console account is in that scope: there is nothing to review."));
            }
            if holders.len() > MAX_LINES as usize {
                return Err(AppError::invalid(format!(
                    "More than {MAX_LINES} roles are in that scope: review one role at a time."
                )));
            }
            c.execute(
                sql!(
                    "INSERT INTO pf_access_reviews (review_id, name, scope_role, started_by, started_at, deadline,
                     reminded_at) VALUES (:1, :2, :3, :4, :5, :6, :7)"
                ),
                &args![
                    &id,
                    &new.name,
                    new.role.map(Role::as_str),
                    audit.actor.as_ref().map(|a| a.0.clone()),
                    now,
                    new.deadline,
                    // Due within the reminder's window already: the start's mail says it.
                    (new.deadline - now <= REMIND_BEFORE).then_some(now)
                ],
            )?;
            let rows: Vec<Vec<_>> = holders
                .iter()
                .map(|(user, name, role, granted_at, granted_by, last, mfa)| {
                    let named = findings.get(user).map(|f| f.join("; ")).unwrap_or_default();
                    args![
                        pathfinder::new_id(),
                        &id,
                        user,
                        name,
                        role,
                        *granted_at,
                        granted_by.clone(),
                        *last,
                        if *mfa { "Y" } else { "N" },
                        pathfinder::storage::truncate(&named, 1000)
                    ]
                    .to_vec()
                })
                .collect();
            c.insert_many(
                sql!(
                    "INSERT INTO pf_access_review_lines (line_id, review_id, user_id, username, role, granted_at,
                     granted_by, last_sign_in, second_factor, findings) VALUES (:1, :2, :3, :4, :5, :6, :7, :8, :9, :10)"
                ),
                &rows,
            )?;
            let detail = format!(
                "{}: {}, {} lines, deadline {}",
                new.name,
                new.scope(),
                holders.len(),
                new.deadline.format("%Y-%m-%d %H:%M UTC")
            );
            append::insert(c, &row(audit, pathfinder::storage::ACCESS_REVIEW_START, ("access_review", &id), detail))?;
            one(c, &id)
        })
    }

    fn access_reviews(&self, limit: u32) -> AppResult<Vec<Campaign>> {
        self.read(|c| campaigns(c, None, limit))
    }

    fn access_review(&self, review_id: &str) -> AppResult<Option<CampaignView>> {
        self.read(|c| {
            let Some(campaign) = campaigns(c, Some(review_id), 1)?.pop() else { return Ok(None) };
            let lines = c.query_map(
                sql!(
                    "SELECT line_id, user_id, username, role, granted_at, granted_by, last_sign_in, second_factor,
                     findings, decision, comment_text, decided_by_name, decided_at
                     FROM pf_access_review_lines WHERE review_id = :1 ORDER BY username, role"
                ),
                &args![review_id],
                line_row,
            )?;
            Ok(Some(CampaignView { campaign, lines, public_key: None }))
        })
    }

    fn decide_access_line(
        &self,
        line_id: &str,
        decision: Decision,
        comment: &str,
        confirmed_lately: bool,
        audit: &AuditEntry,
    ) -> AppResult<Decided> {
        let comment = pathfinder::access_reviews::comment(comment)?;
        let reviewer = audit.actor.clone().ok_or(AppError::Unauthenticated)?;
        let now = Utc::now();
        self.write(|c| {
            let Some(review_id) = c
                .query_opt(sql!("SELECT review_id FROM pf_access_review_lines WHERE line_id = :1"), &args![line_id])?
                .map(|r| r.text(0))
                .transpose()?
            else {
                return Err(AppError::NotFound("That line of an access review".into()));
            };
            // The campaign's turn: decisions of one campaign queue behind each other,
            // and each reads the line and the campaign as the one before left them.
            if c.dialect() == Dialect::Oracle {
                c.query(
                    sql!(oracle: "SELECT review_id FROM pf_access_reviews WHERE review_id = :1 FOR UPDATE"),
                    &args![&review_id],
                )?;
            }
            let campaign = one(c, &review_id)?;
            let line = c
                .query_opt(
                    sql!(
                        "SELECT user_id, username, role, decision, decided_by_name FROM pf_access_review_lines
                         WHERE line_id = :1"
                    ),
                    &args![line_id],
                )?
                .ok_or_else(|| AppError::NotFound("That line of an access review".into()))?;
            let (user_id, username, role) = (line.text(0)?, line.text(1)?, line.text(2)?.parse::<Role>()?);
            let decided_by = match line.opt_text(3)? {
                Some(_) => Some(line.opt_text(4)?.unwrap_or_else(|| "another reviewer".into())),
                None => None,
            };
            may_decide(&campaign, &user_id, decided_by.as_deref(), reviewer.as_str(), now)?;
            let reviewer_name = username_of(c, reviewer.as_str())?;
            let set = c.execute(
                sql!(
                    "UPDATE pf_access_review_lines SET decision = :1, comment_text = :2, decided_by = :3,
                     decided_by_name = :4, decided_at = :5 WHERE line_id = :6 AND decision IS NULL"
                ),
                &args![decision.as_str(), &comment, &reviewer, reviewer_name, now, line_id],
            )?;
            if set == 0 {
                return Err(AppError::Conflict("That line was decided already, by another reviewer.".into()));
            }
            let mut done = Decided { role_removed: false, sessions_ended: 0, closed: false };
            let user = UserId(user_id.clone());
            let action = decision_action(decision);
            if decision == Decision::Revoke {
                let was_admin = lock_admins(c, &user)?;
                if role == Role::Admin && was_admin && !confirmed_lately {
                    return Err(fresh_sign_in_needed("Taking the admin role away"));
                }
                done.role_removed = c.execute(
                    sql!("DELETE FROM pf_console_roles WHERE user_id = :1 AND role = :2"),
                    &args![&user, role.as_str()],
                )? > 0;
                keep_an_active_admin(c, role == Role::Admin && done.role_removed)?;
                // A role taken away meanwhile ended nothing: its sessions are the
                // other roles' business.
                if done.role_removed {
                    done.sessions_ended = end_sessions_of(c, &user, audit, "role revoked in an access review", now)?;
                }
            }
            let what = match (decision, done.role_removed) {
                (Decision::Keep, _) => format!("kept {} for {username}", role.as_str()),
                (Decision::Revoke, true) => {
                    format!("revoked {} from {username}, {} sessions ended", role.as_str(), done.sessions_ended)
                }
                (Decision::Revoke, false) => format!("revoked {} from {username} (no longer held)", role.as_str()),
            };
            let detail = pathfinder::storage::truncate(&format!("{}: {what}: {comment}", campaign.name), 1000);
            append::insert(c, &row(audit, action, ("user", &user_id), detail))?;
            let left = c.query_int(
                sql!("SELECT COUNT(*) FROM pf_access_review_lines WHERE review_id = :1 AND decision IS NULL"),
                &args![&review_id],
            )?;
            if left == 0 {
                done.closed = close(c, &campaign, CloseReason::Decided, now, audit)?;
            }
            Ok(done)
        })
    }

    fn close_overdue_access_reviews(&self, now: Timestamp, audit: &AuditEntry) -> AppResult<Vec<Campaign>> {
        let due = self.read(|c| {
            c.query_map(
                sql!(
                    "SELECT review_id FROM pf_access_reviews WHERE closed_at IS NULL AND deadline <= :1
                     ORDER BY deadline, review_id"
                ),
                &args![now],
                |r| r.text(0),
            )
        })?;
        // One transaction a campaign: each takes its campaign's row and then the
        // audit chain's head, in the order a decision takes them (no deadlock).
        let mut closed = Vec::new();
        for id in due {
            let done = self.write(|c| {
                let campaign = one(c, &id)?;
                Ok(close(c, &campaign, CloseReason::Deadline, now, audit)?.then(|| one(c, &id)).transpose()?)
            })?;
            closed.extend(done);
        }
        Ok(closed)
    }

    fn access_reviews_to_remind(&self, now: Timestamp, audit: &AuditEntry) -> AppResult<Vec<Campaign>> {
        let due = self.read(|c| {
            c.query_map(
                sql!(
                    "SELECT review_id FROM pf_access_reviews
                     WHERE closed_at IS NULL AND reminded_at IS NULL AND deadline > :1 AND deadline <= :2
                     ORDER BY deadline, review_id"
                ),
                &args![now, now + REMIND_BEFORE],
                |r| r.text(0),
            )
        })?;
        let mut claimed = Vec::new();
        for id in due {
            let won = self.write(|c| {
                let won = c.execute(
                    sql!(
                        "UPDATE pf_access_reviews SET reminded_at = :1
                         WHERE review_id = :2 AND reminded_at IS NULL AND closed_at IS NULL"
                    ),
                    &args![now, &id],
                )?;
                if won == 0 {
                    return Ok(None);
                }
                let campaign = one(c, &id)?;
                let detail = format!("{}: {} lines undecided", campaign.name, campaign.undecided());
                append::insert(c, &row(audit, ACCESS_REVIEW_REMIND, ("access_review", &id), detail))?;
                Ok(Some(campaign))
            })?;
            claimed.extend(won);
        }
        Ok(claimed)
    }
}
