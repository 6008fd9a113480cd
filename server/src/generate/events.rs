//! Synthetic audit events: a few dozen actions with a long tail, a few heavy users,
//! some anonymous requests, a few percent of 4xx/5xx with error messages, and
//! timestamps over 400 days that grow denser towards the end (like a growing product).

use super::rng::Rng;
use super::users::ip;
use super::world::{int, null, opt, text, time, World};
use chrono::Duration;
use pathfinder::storage::TableRows;

/// (action, entity type, method, path): most common first.
const ACTIONS: &[(&str, &str, &str, &str)] = &[
    ("auth.login", "session", "POST", "/auth/login"),
    ("profile.view", "user", "GET", "/api/profile"),
    ("experience.update", "experience", "PUT", "/api/experiences"),
    ("chat.message", "conversation", "POST", "/api/chat"),
    ("auth.logout", "session", "POST", "/auth/logout"),
    ("skill.add", "skill", "POST", "/api/skills"),
    ("resume.export", "resume", "POST", "/api/resume/export"),
    ("auth.login_failed", "session", "POST", "/auth/login"),
    ("profile.update", "user", "PUT", "/api/profile"),
    ("experience.create", "experience", "POST", "/api/experiences"),
    ("pert.draft_save", "pert_report", "PUT", "/api/pert/reports"),
    ("search.jobs", "search", "GET", "/api/jobs"),
    ("session.refresh", "session", "POST", "/auth/refresh"),
    ("preferences.update", "preferences", "PUT", "/api/preferences"),
    ("sso.link", "sso_account", "POST", "/auth/sso/link"),
    ("experience.delete", "experience", "DELETE", "/api/experiences"),
    ("pert.submit", "pert_submission", "POST", "/api/pert/submissions"),
    ("mfa.enable", "user", "POST", "/api/mfa"),
    ("password.change", "user", "POST", "/api/password"),
    ("invitation.send", "invitation", "POST", "/api/invitations"),
    ("invitation.accept", "invitation", "POST", "/api/invitations/accept"),
    ("feature_flag.evaluate", "feature_flag", "GET", "/api/flags"),
    ("export.data", "user", "POST", "/api/export"),
    ("user.create", "user", "POST", "/admin/users"),
    ("user.status", "user", "POST", "/admin/users/status"),
    ("feature_flag.update", "feature_flag", "PUT", "/admin/flags"),
    ("group.update", "user_group", "PUT", "/admin/groups"),
    ("user_tables.provision", "user_tables", "POST", "/admin/user-tables"),
    ("sso.unlink", "sso_account", "DELETE", "/auth/sso/link"),
    ("mfa.disable", "user", "DELETE", "/api/mfa"),
    ("encryption.rotate", "encryption_key", "POST", "/admin/keys/rotate"),
    ("retention.run", "retention_policy", "POST", "/admin/retention"),
    ("user_tables.drop", "user_tables", "POST", "/admin/user-tables/drop"),
    ("backup.run", "backup", "POST", "/admin/backup"),
    ("account.delete", "user", "DELETE", "/api/account"),
    ("schema.migrate", "schema", "CLI", "migrate"),
];

const CLIENT_ERRORS: &[(u16, &str)] = &[
    (400, "The request body is not valid JSON."),
    (401, "The session has expired."),
    (403, "The account may not do this."),
    (404, "No such record."),
    (409, "A record with the same key already exists."),
    (422, "A required field is missing: title."),
    (429, "Too many requests; retry after 30 seconds."),
];
const SERVER_ERRORS: &[(u16, &str)] = &[
    (500, "Internal error (correlation id in the server log)."),
    (502, "The AI service did not answer."),
    (503, "The database is busy; try again."),
];

/// The events are the seed's columns of `pf_audit_log` (the storage chains and counts them).
pub const AUDIT_COLUMNS: &[&str] = &crate::storage::audit::append::SEED_COLUMNS;

/// Audit events `range` of `w.audit_events`, in time order (ids are time-ordered too,
/// so the log's indexes on id and created_at are appended to, not split).
pub fn audit_batch(w: &World, range: std::ops::Range<u64>, batch: u64) -> TableRows {
    let mut rows = TableRows::new("pf_audit_log", AUDIT_COLUMNS);
    let mut r = Rng::new(w.seed, "audit", batch);
    let total = w.audit_events.max(1) as f64;
    let span = Duration::days(400).num_milliseconds() as f64;
    let start = w.end - Duration::days(400);
    // Each heavy user has up to 10^5 events (fewer in a small run).
    let heavy = w.heavy_users();
    let heavy_share = if w.users == 0 { 0.0 } else { (heavy * 100_000) as f64 / total };
    let heavy_share = heavy_share.min(0.05 * heavy as f64);
    for j in range {
        let at = start + Duration::milliseconds((span * ((j as f64 + 0.5) / total).sqrt()) as i64);
        let u = r.unit();
        let actor = if w.users == 0 || u < 0.12 {
            None
        } else if u < 0.12 + heavy_share {
            Some(w.person(r.below(heavy)).user_id)
        } else {
            Some(w.person(heavy + r.skewed((w.users - heavy).max(1) as usize) as u64).user_id)
        };
        let (action, entity, method, path) = ACTIONS[r.skewed(ACTIONS.len())];
        let failed_login = action == "auth.login_failed";
        let (status, error) = match r.unit() {
            _ if failed_login => (401, Some("Wrong username or password.")),
            e if e < 0.025 => {
                let (s, m) = *r.pick(CLIENT_ERRORS);
                (s, Some(m))
            }
            e if e < 0.032 => {
                let (s, m) = *r.pick(SERVER_ERRORS);
                (s, Some(m))
            }
            _ if method == "POST" && action.ends_with("create") => (201, None),
            _ => (200, None),
        };
        let slow = if status >= 500 { 2_000 } else { 0 };
        rows.push(vec![
            text(r.ulid(at)),
            opt(actor.clone()),
            text(action),
            text(entity),
            opt(actor.filter(|_| entity == "user")),
            text(ip(&mut r)),
            text(r.pick(super::names::USER_AGENTS)),
            text(method),
            text(path),
            int(i64::from(status)),
            int(slow + (r.unit().powi(4) * 1_500.0) as i64 + 2),
            match error {
                Some(m) => text(m),
                None => null(),
            },
            time(at),
        ]);
    }
    rows
}
