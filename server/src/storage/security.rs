//! The security review: the facts a run gathers (reads of the console's own tables,
//! the audit log's last day of sign-ins, the instances' reports), the checks
//! (`pathfinder::security::review`, written once for both backends) and the
//! findings kept in `pf_security_findings`.
//!
//! N instances: the run is the console job `security_review`, whose lease lets one
//! instance run it at a time; at most one finding of a check and subject is open
//! (a unique index), so a run racing another could not open it twice.

use super::audit::append;
use super::driver::{Conn, ReadRow};
use super::jobs;
use super::store::Store;
use crate::{args, sql};
use chrono::{Duration, Utc};
use pathfinder::dto::Timestamp;
use pathfinder::security::{
    key_rotation_days, review, AccountFacts, ApiKeyFacts, Finding, FindingRow, InstanceFacts, ReviewOutcome,
    SecurityFacts, SecurityPolicy, SecurityView, SignInCount, INSTANCE_LIVE_FOR,
};
use pathfinder::storage::{
    AuditEntry, AuditStore, BackupStore, KeyStore, RefreshWhen, SecurityStore, LOGIN_FAILURE, LOGIN_LOCKED,
    LOGIN_LOCKOUT, LOGIN_SUCCESS, SECURITY_FINDING_CLOSE, SECURITY_FINDING_OPEN,
};
use pathfinder::{AppError, AppResult, Role};
use std::collections::HashMap;

const JOB: &str = "security_review";
/// Longer than any run takes.
const LEASE: Duration = Duration::minutes(30);
/// Instances silent this long are forgotten.
const INSTANCE_FORGOTTEN: Duration = Duration::days(7);

/// The audit actions of sign-ins the review counts.
const LOCKOUT: &str = LOGIN_LOCKOUT.name;
const SUCCESS: &str = LOGIN_SUCCESS.name;
const FAILURES: [&str; 3] = [LOGIN_FAILURE.name, LOGIN_LOCKED.name, LOGIN_LOCKOUT.name];

impl Store {
    /// Everything a run looks at.
    fn security_facts(&self, policy: &SecurityPolicy, now: Timestamp) -> AppResult<SecurityFacts> {
        let instances = self.read(|c| live_instances(c, now))?;
        let keys = self.key_counts(key_rotation_days(&instances).max(1))?;
        let chain = self.last_chain_verify()?.and_then(|j| Some((j.finished_at?, j.outcome.as_deref() == Some("ok"))));
        let newest_backup = self
            .backups(50)?
            .into_iter()
            .filter(|b| b.status == "ok")
            .find_map(|b| Some((b.backup_id, b.finished_at?, b.verify_status)));
        let day_ago = now - Duration::days(1);
        self.read(|c| {
            Ok(SecurityFacts {
                now,
                accounts: console_accounts(c)?,
                api_keys: api_keys(c)?,
                data_keys: u64::try_from(keys.total).unwrap_or_default(),
                data_keys_overdue: u64::try_from(keys.overdue).unwrap_or_default(),
                master_key_since: master_key_since(c)?,
                chain,
                newest_backup,
                jobs: upkeep_jobs(c)?,
                instances,
                lockouts: per_account(c, &[LOCKOUT], day_ago, false, policy.lockouts_per_day)?,
                failing_addresses: per_address(c, day_ago, policy.failures_per_address)?,
                spread_accounts: per_account(c, &[SUCCESS], day_ago, true, policy.addresses_per_account)?,
            })
        })
    }

    /// Opens the findings first seen, refreshes those still seen and closes the
    /// others, each opening and closing with its audit row, in one transaction.
    fn keep_findings(&self, found: &[Finding], now: Timestamp, audit: &AuditEntry) -> AppResult<ReviewOutcome> {
        self.write(|c| {
            let mut open: HashMap<(String, String), String> = c
                .query_map(
                    sql!("SELECT check_name, subject, finding_id FROM pf_security_findings WHERE closed_at IS NULL"),
                    &[],
                    |r| Ok(((r.text(0)?, r.text(1)?), r.text(2)?)),
                )?
                .into_iter()
                .collect();
            let mut outcome = ReviewOutcome::default();
            let row = |action: pathfinder::storage::Action, id: &str, f: (&str, &str, &str)| AuditEntry {
                action: action.name.into(),
                response_status: action.status,
                entity_type: Some("security_finding".into()),
                entity_id: Some(id.into()),
                detail: Some(format!("{}: {} ({})", f.0, f.1, f.2)),
                ..audit.clone()
            };
            for f in found {
                let key = (f.check.key().to_string(), f.subject.clone());
                if let Some(id) = open.remove(&key) {
                    c.execute(
                        sql!(
                            "UPDATE pf_security_findings SET last_seen_at = :1, names = :2, detail = :3
                             WHERE finding_id = :4"
                        ),
                        &args![now, clip(&f.names), clip(&f.detail), &id],
                    )?;
                    continue;
                }
                let id = pathfinder::new_id();
                c.execute(
                    sql!(
                        "INSERT INTO pf_security_findings (finding_id, check_name, severity, subject, names, detail,
                         first_seen_at, last_seen_at) VALUES (:1, :2, :3, :4, :5, :6, :7, :8)"
                    ),
                    &args![
                        &id,
                        f.check.key(),
                        f.check.severity().as_str(),
                        clip(&f.subject),
                        clip(&f.names),
                        clip(&f.detail),
                        now,
                        now
                    ],
                )?;
                append::insert(c, &row(SECURITY_FINDING_OPEN, &id, (f.check.key(), &f.names, &f.detail)))?;
                outcome.opened += 1;
                if f.check.severity() == pathfinder::security::Severity::High {
                    outcome.new_high.push(format!("{}: {} ({})", f.check.title(), f.names, f.detail));
                }
            }
            for ((check, _), id) in open {
                c.execute(
                    sql!("UPDATE pf_security_findings SET closed_at = :1 WHERE finding_id = :2 AND closed_at IS NULL"),
                    &args![now, &id],
                )?;
                append::insert(c, &row(SECURITY_FINDING_CLOSE, &id, (&check, "no longer seen", "fixed")))?;
                outcome.closed += 1;
            }
            outcome.open = open_counts(c)?;
            Ok(outcome)
        })
    }
}

/// A finding's text cut to its column.
fn clip(s: &str) -> String {
    pathfinder::storage::truncate(s, 1000)
}

fn open_counts(c: &mut Conn) -> AppResult<[u64; 3]> {
    let mut counts = [0u64; 3];
    for (severity, n) in c.query_map(
        sql!("SELECT severity, COUNT(*) FROM pf_security_findings WHERE closed_at IS NULL GROUP BY severity"),
        &[],
        |r| Ok((r.text(0)?, r.int(1)?)),
    )? {
        let at = pathfinder::security::Severity::parse(&severity)? as usize;
        counts[at] = u64::try_from(n).unwrap_or_default();
    }
    Ok(counts)
}

fn live_instances(c: &mut Conn, now: Timestamp) -> AppResult<Vec<(String, InstanceFacts)>> {
    c.query_map(
        sql!("SELECT instance_name, facts FROM pf_console_instances WHERE reported_at > :1 ORDER BY instance_name"),
        &args![now - INSTANCE_LIVE_FOR],
        |r| {
            let facts = serde_json::from_str(&r.text(1)?).map_err(AppError::internal)?;
            Ok((r.text(0)?, facts))
        },
    )
}

/// Every account holding a console role, with its roles' grants.
fn console_accounts(c: &mut Conn) -> AppResult<Vec<AccountFacts>> {
    let rows = c.query_map(
        sql!(
            "SELECT u.user_id, u.username, u.account_status, u.mfa_enabled, u.last_login, r.role, r.granted_at,
             g.username
             FROM pf_console_roles r JOIN pf_users u ON u.user_id = r.user_id
             LEFT JOIN pf_users g ON g.user_id = r.granted_by
             ORDER BY u.username, r.role"
        ),
        &[],
        |r| {
            let role: Role = r.text(5)?.parse()?;
            let account = AccountFacts {
                user_id: r.text(0)?,
                username: r.text(1)?,
                active: r.opt_text(2)?.as_deref() == Some("active"),
                second_factor: r.opt_text(3)?.as_deref() == Some("Y"),
                last_sign_in: r.opt_time(4)?,
                roles: vec![],
            };
            Ok((account, (role, r.opt_time(6)?, r.opt_text(7)?)))
        },
    )?;
    let mut out: Vec<AccountFacts> = Vec::new();
    for (account, grant) in rows {
        match out.last_mut() {
            Some(last) if last.user_id == account.user_id => last.roles.push(grant),
            _ => out.push(AccountFacts { roles: vec![grant], ..account }),
        }
    }
    Ok(out)
}

fn api_keys(c: &mut Conn) -> AppResult<Vec<ApiKeyFacts>> {
    c.query_map(
        sql!(
            "SELECT key_id, key_name, key_prefix, created_at, last_used_at FROM pf_flag_api_keys
             WHERE revoked_at IS NULL ORDER BY key_id"
        ),
        &[],
        |r| {
            Ok(ApiKeyFacts {
                key_id: r.text(0)?,
                name: r.text(1)?,
                prefix: r.text(2)?,
                created_at: r.time(3)?,
                last_used_at: r.opt_time(4)?,
            })
        },
    )
}

/// The last re-wrap of the data keys under a new master key; before any, the
/// oldest data key (wrapped under the master key since).
fn master_key_since(c: &mut Conn) -> AppResult<Option<Timestamp>> {
    let rewrap = c.query_opt(
        sql!(
            "SELECT created_at FROM pf_audit_log WHERE action = :1 AND response_status < 400
             ORDER BY created_at DESC, id DESC",
            limit "1"
        ),
        &args![pathfinder::storage::MASTER_KEY_REWRAP.name],
    )?;
    if let Some(r) = rewrap {
        return r.opt_time(0);
    }
    let oldest = c.query_opt(sql!("SELECT MIN(created_at) FROM pf_encryption_keys"), &[])?;
    Ok(oldest.map(|r| r.opt_time(0)).transpose()?.flatten())
}

fn upkeep_jobs(c: &mut Conn) -> AppResult<Vec<(String, Option<Timestamp>)>> {
    c.query_map(sql!("SELECT job_name, last_finished_at FROM pf_console_jobs ORDER BY job_name"), &[], |r| {
        Ok((r.text(0)?, r.opt_time(1)?))
    })
}

/// Accounts with more than `over` audit rows of `actions` since `since` (or, with
/// `addresses`, rows from more than `over` distinct addresses).
fn per_account(
    c: &mut Conn,
    actions: &[&str],
    since: Timestamp,
    addresses: bool,
    over: u32,
) -> AppResult<Vec<SignInCount>> {
    let mut counts: HashMap<String, (u64, std::collections::HashSet<String>)> = HashMap::new();
    for action in actions {
        for (user, ip) in c.query_map(
            sql!(
                "SELECT user_id, ip_address FROM pf_audit_log
                 WHERE action = :1 AND created_at >= :2 AND user_id IS NOT NULL"
            ),
            &args![*action, since],
            |r| Ok((r.text(0)?, r.opt_text(1)?)),
        )? {
            let e = counts.entry(user).or_default();
            e.0 += 1;
            e.1.insert(ip.unwrap_or_default());
        }
    }
    let over = u64::from(over);
    let mut out = Vec::new();
    for (user, (n, ips)) in counts {
        let count = if addresses { ips.len() as u64 } else { n };
        if count > over {
            let name = super::rows::username_of(c, &user)?.unwrap_or_else(|| user.clone());
            out.push(SignInCount { subject: user, name, count });
        }
    }
    out.sort_by(|a, b| a.subject.cmp(&b.subject));
    Ok(out)
}

/// Addresses with more than `over` failed sign-ins since `since`.
fn per_address(c: &mut Conn, since: Timestamp, over: u32) -> AppResult<Vec<SignInCount>> {
    let mut counts: HashMap<String, u64> = HashMap::new();
    for action in FAILURES {
        for ip in c.query_map(
            sql!(
                "SELECT ip_address FROM pf_audit_log
                 WHERE action = :1 AND created_at >= :2 AND ip_address IS NOT NULL"
            ),
            &args![action, since],
            |r| r.text(0),
        )? {
            *counts.entry(ip).or_default() += 1;
        }
    }
    let mut out: Vec<SignInCount> = counts
        .into_iter()
        .filter(|(_, n)| *n > u64::from(over))
        .map(|(ip, count)| SignInCount { subject: ip.clone(), name: ip, count })
        .collect();
    out.sort_by(|a, b| a.subject.cmp(&b.subject));
    Ok(out)
}

fn finding_row(r: &dyn super::driver::Row) -> AppResult<FindingRow> {
    Ok(FindingRow {
        finding_id: r.text(0)?,
        check: r.text(1)?,
        severity: pathfinder::security::Severity::parse(&r.text(2)?)?,
        subject: r.text(3)?,
        names: r.opt_text(4)?.unwrap_or_default(),
        detail: r.opt_text(5)?.unwrap_or_default(),
        first_seen_at: r.time(6)?,
        last_seen_at: r.time(7)?,
        closed_at: r.opt_time(8)?,
    })
}

impl SecurityStore for Store {
    fn report_instance(&self, instance: &str, facts: &InstanceFacts) -> AppResult<()> {
        let now = Utc::now();
        let text = serde_json::to_string(facts).map_err(AppError::internal)?;
        self.write(|c| {
            let updated = c.execute(
                sql!("UPDATE pf_console_instances SET reported_at = :1, facts = :2 WHERE instance_name = :3"),
                &args![now, &text, instance],
            )?;
            if updated == 0 {
                c.execute(
                    sql!("INSERT INTO pf_console_instances (instance_name, reported_at, facts) VALUES (:1, :2, :3)"),
                    &args![instance, now, &text],
                )?;
            }
            c.execute(
                sql!("DELETE FROM pf_console_instances WHERE reported_at < :1"),
                &args![now - INSTANCE_FORGOTTEN],
            )?;
            Ok(())
        })
    }

    fn security_review(
        &self,
        when: RefreshWhen,
        policy: &SecurityPolicy,
        audit: &AuditEntry,
    ) -> AppResult<Option<ReviewOutcome>> {
        let busy = "Another console instance is running the security review; its findings show when it is done.";
        let mut outcome = None;
        let ran = self.run_console_job(JOB, LEASE, when, busy, audit, || {
            let now = Utc::now();
            let facts = self.security_facts(policy, now)?;
            let kept = self.keep_findings(&review(&facts, policy), now, audit)?;
            let note = kept.note();
            outcome = Some(kept);
            Ok(Some(note))
        })?;
        Ok(ran.and(outcome))
    }

    fn security_view(&self, limit: u32) -> AppResult<SecurityView> {
        let limit = i64::from(limit);
        self.read(|c| {
            let open = c.query_map(
                sql!(
                    "SELECT finding_id, check_name, severity, subject, names, detail, first_seen_at, last_seen_at,
                     closed_at FROM pf_security_findings WHERE closed_at IS NULL
                     ORDER BY CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END, first_seen_at,
                     finding_id",
                    limit ":1"
                ),
                &args![limit],
                finding_row,
            )?;
            let closed = c.query_map(
                sql!(
                    "SELECT finding_id, check_name, severity, subject, names, detail, first_seen_at, last_seen_at,
                     closed_at FROM pf_security_findings WHERE closed_at IS NOT NULL
                     ORDER BY closed_at DESC, finding_id DESC",
                    limit ":1"
                ),
                &args![limit],
                finding_row,
            )?;
            Ok(SecurityView {
                last_run: jobs::last_run(c, JOB)?,
                running_since: jobs::running_since(c, JOB)?,
                open_counts: open_counts(c)?,
                open,
                closed,
            })
        })
    }

    fn open_findings(&self) -> AppResult<[u64; 3]> {
        self.read(open_counts)
    }
}
