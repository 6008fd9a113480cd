//! The rows of a slice of synthetic users: profiles and statuses, sign-in state,
//! sessions, SSO links, invitations, preferences, flag overrides, analytics events
//! and CPA PERT reports. User `k` is the same in every run with the same seed.

use super::names::*;
use super::rng::Rng;
use super::world::{date, int, null, opt, real, text, time, World};
use chrono::{DateTime, Duration, Utc};
use pathfinder::pert::{PertAction, PertStatus, ROUTES};
use pathfinder::storage::{TableRows, Value};

/// Who user `k` is: enough to refer to them from other rows.
pub struct Person {
    pub user_id: String,
    pub username: String,
    pub first: &'static str,
    pub last: &'static str,
    pub created_at: DateTime<Utc>,
}

impl World {
    /// Sign-ups grow over three years: user `k`'s creation time rises like sqrt(k).
    pub fn created_at(&self, k: u64) -> DateTime<Utc> {
        let span = Duration::days(3 * 365).num_seconds() as f64;
        let frac = ((k as f64 + 0.5) / self.users.max(1) as f64).sqrt();
        self.end - Duration::days(3 * 365) + Duration::seconds((span * frac) as i64)
    }

    pub fn person(&self, k: u64) -> Person {
        let mut r = Rng::new(self.seed, "person", k);
        let (first, first_slug) = *r.pick(FIRST);
        let (last, last_slug) = *r.pick(LAST);
        let created_at = self.created_at(k);
        Person {
            user_id: r.ulid(created_at),
            // The index in base 36 makes the name unique; 30 bytes at most.
            username: format!("{first_slug}_{last_slug}_{}", base36(k)),
            first,
            last,
            created_at,
        }
    }

    /// The first users are the busiest: staff, service accounts, power users.
    pub fn heavy_users(&self) -> u64 {
        self.users.min(5)
    }
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

pub const USER_COLUMNS: &[&str] = &[
    "user_id",
    "username",
    "email",
    "password_hash",
    "first_name",
    "last_name",
    "account_status",
    "mfa_enabled",
    "email_verified",
    "phone_number",
    "phone_verified",
    "timezone",
    "language",
    "date_of_birth",
    "current_title",
    "current_company",
    "years_experience",
    "invited_by",
    "invitation_accepted_at",
    "feature_group_id",
    "last_activity_at",
    "total_logins",
    "created_at",
    "updated_at",
    "last_login",
];
const LOGIN_STATE_COLUMNS: &[&str] = &["user_id", "failed_attempts", "last_failed_at", "locked_until"];
const SESSION_COLUMNS: &[&str] = &[
    "session_id",
    "user_id",
    "token",
    "expires_at",
    "ip_address",
    "user_agent",
    "created_at",
    "last_activity",
    "is_active",
];
const SSO_COLUMNS: &[&str] = &[
    "sso_account_id",
    "user_id",
    "provider",
    "provider_user_id",
    "email",
    "display_name",
    "profile_data",
    "linked_at",
    "last_sync_at",
    "is_primary",
];
const INVITATION_COLUMNS: &[&str] = &[
    "invitation_id",
    "email",
    "invitation_token",
    "invited_by",
    "role",
    "feature_group_id",
    "expires_at",
    "accepted_at",
    "metadata",
    "created_at",
];
const PREFERENCE_COLUMNS: &[&str] =
    &["preference_id", "user_id", "notification_preferences", "ui_preferences", "created_at", "updated_at"];
const ANALYTICS_COLUMNS: &[&str] = &[
    "analytics_id",
    "user_id",
    "event_type",
    "event_data",
    "session_id",
    "ip_address",
    "user_agent",
    "referrer",
    "page_url",
    "event_timestamp",
];
const REPORT_COLUMNS: &[&str] = &[
    "id",
    "user_id",
    "report_period_start",
    "report_period_end",
    "submission_deadline",
    "route_type",
    "status",
    "employer_name",
    "position_title",
    "hours_worked",
    "version",
    "created_at",
];
const EXPERIENCE_COLUMNS: &[&str] = &[
    "id",
    "report_id",
    "sub_competency_id",
    "experience_title",
    "experience_start_date",
    "experience_end_date",
    "proficiency_level",
    "challenge",
    "actions",
    "results",
    "lessons_learned",
    "time_spent_hours",
    "complexity_level",
    "word_count",
    "approval_status",
    "version",
    "previous_version_id",
    "created_at",
];
const BREAKDOWN_COLUMNS: &[&str] = &[
    "id",
    "experience_id",
    "activity_type",
    "activity_description",
    "start_date",
    "end_date",
    "hours_spent",
    "created_at",
];
const TIME_COLUMNS: &[&str] =
    &["id", "experience_id", "user_id", "activity_date", "hours_logged", "activity_category", "created_at"];
const MILESTONE_COLUMNS: &[&str] = &[
    "id",
    "user_id",
    "sub_competency_id",
    "milestone_date",
    "previous_level",
    "achieved_level",
    "evidence_count",
    "hours_accumulated",
    "created_at",
];
const SUBMISSION_COLUMNS: &[&str] = &[
    "id",
    "report_id",
    "user_id",
    "submission_type",
    "submission_deadline",
    "submission_status",
    "reviewer_id",
    "reviewer_comments",
    "submitted_payload",
    "experience_count",
    "total_word_count",
    "submission_checksum",
    "submitted_at",
];
const HISTORY_COLUMNS: &[&str] = &[
    "id",
    "submission_id",
    "report_id",
    "user_id",
    "action",
    "action_date",
    "action_by",
    "action_details",
    "previous_status",
    "new_status",
];

/// All rows of users `range`, table by table (parents before children).
pub fn users_batch(w: &World, range: std::ops::Range<u64>) -> Vec<TableRows> {
    let mut users = TableRows::new("pf_users", USER_COLUMNS);
    let mut login = TableRows::new("pf_console_login_state", LOGIN_STATE_COLUMNS);
    let mut sessions = TableRows::new("pf_user_sessions", SESSION_COLUMNS);
    let mut sso = TableRows::new("pf_sso_accounts", SSO_COLUMNS);
    let mut invitations = TableRows::new("pf_user_invitations", INVITATION_COLUMNS);
    let mut prefs = TableRows::new("pf_user_preferences", PREFERENCE_COLUMNS);
    let mut overrides = TableRows::new("pf_user_feature_flags", super::flags::OVERRIDE_COLUMNS);
    let mut analytics = TableRows::new("pf_user_analytics", ANALYTICS_COLUMNS);
    let mut cpa = Cpa::default();
    for k in range {
        let p = w.person(k);
        let mut r = Rng::new(w.seed, "user", k);
        let now = w.end;
        let status = match r.unit() {
            u if u < 0.86 => "active",
            u if u < 0.90 => "pending",
            u if u < 0.94 => "suspended",
            u if u < 0.975 => "deactivated",
            _ => "deleted",
        };
        let active = status == "active";
        let mut email = format!("{}.{}{}@{}", p.first_slug(), p.last_slug(), k, r.pick(DOMAINS));
        if r.chance(0.1) {
            // Some people type their address capitalised; search must not care.
            email = email[..1].to_uppercase() + &email[1..];
        }
        // Recent activity for active people, older for the rest.
        let since_created = (now - p.created_at).num_seconds().max(60);
        let last_activity = if active || r.chance(0.3) {
            let back =
                if active { r.below(since_created.min(90 * 86_400) as u64) } else { r.below(since_created as u64) };
            Some(now - Duration::seconds(back as i64))
        } else {
            None
        };
        let logins = if last_activity.is_some() { 1 + r.skewed(2_000) as i64 } else { 0 };
        let invited = k >= 1_000 && r.chance(0.08);
        let inviter = invited.then(|| w.person(r.below(1_000.min(w.users))).user_id);
        let group = Some(super::flags::group_of(w, &mut r));
        users.push(vec![
            text(&p.user_id),
            text(&p.username),
            text(&email),
            text(&w.password_hash),
            text(p.first),
            text(p.last),
            text(status),
            text(if r.chance(0.15) { "Y" } else { "N" }),
            text(if status != "pending" && r.chance(0.9) { "Y" } else { "N" }),
            opt(r
                .chance(0.6)
                .then(|| format!("+1-{:03}-{:03}-{:04}", 200 + r.below(800), r.below(1000), r.below(10_000)))),
            text(if r.chance(0.4) { "Y" } else { "N" }),
            text(r.pick(TIMEZONES)),
            text(r.pick(LANGUAGES)),
            if r.chance(0.5) {
                date((now - Duration::days(365 * 20 + r.below(365 * 30) as i64)).date_naive())
            } else {
                null()
            },
            opt(r.chance(0.7).then(|| r.pick(TITLES).to_string())),
            opt(r.chance(0.7).then(|| r.pick(COMPANIES).to_string())),
            if r.chance(0.7) { real((r.below(300) as f64) / 10.0) } else { null() },
            opt(inviter.clone()),
            match invited {
                true => time(p.created_at),
                false => null(),
            },
            opt(group.clone()),
            last_activity.map(time).unwrap_or(Value::Null),
            int(logins),
            time(p.created_at),
            time(last_activity.unwrap_or(p.created_at)),
            last_activity.map(time).unwrap_or(Value::Null),
        ]);
        if let Some(inviter) = inviter {
            let sent = p.created_at - Duration::hours(1 + r.below(72) as i64);
            invitations.push(vec![
                text(r.ulid(sent)),
                text(&email),
                text(r.hex(24)),
                text(inviter),
                text("user"),
                opt(group.clone()),
                time(sent + Duration::days(7)),
                time(p.created_at),
                text(r#"{"source":"referral"}"#),
                time(sent),
            ]);
        }
        if k >= 1_000 && r.chance(0.02) {
            // An invitation nobody has answered (yet).
            let sent = now - Duration::days(r.below(30) as i64);
            invitations.push(vec![
                text(r.ulid(sent)),
                text(format!("invitee{k}@{}", r.pick(DOMAINS))),
                text(r.hex(24)),
                text(w.person(r.below(1_000.min(w.users))).user_id),
                text("user"),
                null(),
                time(sent + Duration::days(7)),
                null(),
                text(r#"{"source":"admin"}"#),
                time(sent),
            ]);
        }
        if active && r.chance(0.005) {
            login.push(vec![
                text(&p.user_id),
                int(5),
                time(now - Duration::minutes(5)),
                time(now + Duration::minutes(10)),
            ]);
        } else if r.chance(0.02) {
            login.push(vec![
                text(&p.user_id),
                int(1 + r.below(4) as i64),
                time(now - Duration::days(r.below(60) as i64)),
                null(),
            ]);
        }
        if let Some(seen) = last_activity.filter(|_| active && r.chance(0.35)) {
            for _ in 0..1 + r.below(2) {
                let opened = seen - Duration::minutes(r.below(480) as i64);
                let expires = opened + Duration::hours(8);
                sessions.push(vec![
                    text(r.ulid(opened)),
                    text(&p.user_id),
                    text(r.hex(32)),
                    time(expires),
                    text(ip(&mut r)),
                    text(r.pick(USER_AGENTS)),
                    time(opened),
                    time(seen.min(expires)),
                    text(if expires > now && r.chance(0.9) { "Y" } else { "N" }),
                ]);
            }
        }
        if r.chance(0.25) {
            let provider = r.pick(SSO_PROVIDERS);
            let linked = p.created_at + Duration::minutes(r.below(10_000) as i64);
            sso.push(vec![
                text(r.ulid(linked)),
                text(&p.user_id),
                text(*provider),
                text(format!("{provider}-{}", r.hex(10))),
                text(&email),
                text(format!("{} {}", p.first, p.last)),
                text(r#"{"verified":true}"#),
                time(linked),
                last_activity.map(time).unwrap_or(Value::Null),
                text("Y"),
            ]);
        }
        if r.chance(0.2) {
            prefs.push(vec![
                text(r.ulid(p.created_at)),
                text(&p.user_id),
                text(format!(r#"{{"email":{},"push":{}}}"#, r.chance(0.7), r.chance(0.4))),
                text(format!(
                    r#"{{"theme":"{}","density":"comfortable"}}"#,
                    if r.chance(0.3) { "dark" } else { "light" }
                )),
                time(p.created_at),
                time(last_activity.unwrap_or(p.created_at)),
            ]);
        }
        if let Some(row) = super::flags::user_override(w, &mut r, &p.user_id, now) {
            overrides.push(row);
        }
        if let Some(seen) = last_activity {
            // Sessions of a few events each over the last four months of activity, the
            // latest at `seen`; some arrive from another site. About ten events a person.
            let span = (seen - p.created_at).num_seconds().clamp(1, 120 * 86_400) as u64;
            for session in 0..1 + r.skewed(13) {
                let start = if session == 0 { seen } else { seen - Duration::seconds(r.below(span) as i64) };
                let session_id = r.ulid(start);
                let (address, agent) = (ip(&mut r), r.pick(USER_AGENTS));
                let referrer = r.chance(0.4).then(|| r.pick(REFERRERS).to_string());
                for step in 0..1 + r.below(5) {
                    let at = (start - Duration::seconds(r.below(1_800) as i64 * i64::from(step > 0))).max(p.created_at);
                    let event = r.pick(ANALYTICS_EVENTS);
                    let page = if *event == "page_view" { r.pick(PAGES).to_string() } else { format!("/{event}") };
                    analytics.push(vec![
                        text(r.ulid(at)),
                        text(&p.user_id),
                        text(*event),
                        text(format!(r#"{{"duration_ms":{}}}"#, r.below(60_000))),
                        text(&session_id),
                        text(&address),
                        text(agent),
                        referrer.clone().filter(|_| step == 0).map(text).unwrap_or(Value::Null),
                        text(format!("https://app.pathfinder.example{page}")),
                        time(at),
                    ]);
                }
            }
        }
        if r.chance(0.05) {
            // Reviewers are among the first thousand people (the console's users).
            let reviewer = w.person(r.below(1_000.min(w.users))).user_id;
            cpa.add(&mut r, &p, &reviewer, now);
        }
    }
    let mut out = vec![users, login, sessions, sso, invitations, prefs, overrides, analytics];
    out.extend(cpa.into_tables());
    out
}

impl Person {
    fn first_slug(&self) -> &str {
        self.username.split('_').next().unwrap_or("")
    }
    fn last_slug(&self) -> &str {
        self.username.split('_').nth(1).unwrap_or("")
    }
}

pub fn ip(r: &mut Rng) -> String {
    if r.chance(0.1) {
        format!("2001:db8:{:x}:{:x}::{:x}", r.below(65_536), r.below(65_536), r.below(65_536))
    } else {
        format!("{}.{}.{}.{}", 1 + r.below(223), r.below(256), r.below(256), 1 + r.below(254))
    }
}

/// A CPA candidate's reports, experiences and their paper trail. Each submission
/// goes through the review state machine (`pathfinder::pert`), step by step, with
/// who acted; its payload is canonical JSON and its checksum that payload's SHA-256
/// (`storage::pert::payload_checksum`). A few reports break a needs-attention rule
/// on purpose, as real data does.
#[derive(Default)]
struct Cpa {
    reports: Vec<Vec<Value>>,
    experiences: Vec<Vec<Value>>,
    breakdown: Vec<Vec<Value>>,
    time: Vec<Vec<Value>>,
    milestones: Vec<Vec<Value>>,
    submissions: Vec<Vec<Value>>,
    history: Vec<Vec<Value>>,
}

/// The paths a generated submission takes through the state machine.
const PERT_PATHS: &[(f64, &[PertAction])] = &[
    (0.15, &[PertAction::Created]),
    (0.15, &[PertAction::Created, PertAction::Submitted]),
    (0.08, &[PertAction::Created, PertAction::Submitted, PertAction::Reviewed]),
    (0.30, &[PertAction::Created, PertAction::Submitted, PertAction::Reviewed, PertAction::Accepted]),
    (0.12, &[PertAction::Created, PertAction::Submitted, PertAction::Accepted]),
    (
        0.08,
        &[PertAction::Created, PertAction::Submitted, PertAction::Revised, PertAction::Submitted, PertAction::Accepted],
    ),
    (0.04, &[PertAction::Created, PertAction::Submitted, PertAction::Revised]),
    (0.04, &[PertAction::Created, PertAction::Submitted, PertAction::Reviewed, PertAction::Rejected]),
    (0.04, &[PertAction::Created, PertAction::Submitted, PertAction::Withdrawn]),
];

impl Cpa {
    /// Two to six consecutive reports of half a year each, with one employer.
    fn add(&mut self, r: &mut Rng, p: &Person, reviewer: &str, now: DateTime<Utc>) {
        let employer = *r.pick(COMPANIES);
        let position = *r.pick(TITLES);
        let mut start = (p.created_at + Duration::days(r.below(60) as i64)).date_naive();
        let mut levels: std::collections::HashMap<&'static str, i64> = Default::default();
        for n in 0..2 + r.below(5) {
            // No report for a period that has not begun.
            if start > now.date_naive() {
                break;
            }
            let end = start + Duration::days(180);
            let created = start.and_hms_opt(9, 0, 0).map_or(now, |t| t.and_utc()).min(now);
            self.report(r, p, reviewer, (start, end), created, n, (employer, position), &mut levels, now);
            start = end + Duration::days(1);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn report(
        &mut self,
        r: &mut Rng,
        p: &Person,
        reviewer: &str,
        (start, end): (chrono::NaiveDate, chrono::NaiveDate),
        created: DateTime<Utc>,
        version: u64,
        (employer, position): (&str, &str),
        levels: &mut std::collections::HashMap<&'static str, i64>,
        now: DateTime<Utc>,
    ) {
        let report = r.ulid(created);
        let deadline = end + Duration::days(30);
        // A report whose period has not ended yet is still a draft.
        let path = if end.and_hms_opt(0, 0, 0).map_or(true, |t| t.and_utc() > now) {
            &[PertAction::Created][..]
        } else {
            let mut u = r.unit();
            PERT_PATHS
                .iter()
                .find(|(p, _)| {
                    u -= p;
                    u < 0.0
                })
                .map_or(&[PertAction::Created][..], |(_, path)| path)
        };
        let mut status = None;
        let mut steps = Vec::new();
        for action in path {
            status = action.from(status);
            steps.push((*action, status.map_or("draft", PertStatus::as_str)));
        }
        let status = status.map_or("draft", PertStatus::as_str);
        let hours_worked = if r.chance(0.01) { 10.0 } else { 400.0 + r.below(600) as f64 };
        let route = *r.pick(&ROUTES);
        self.reports.push(vec![
            text(&report),
            text(&p.user_id),
            date(start),
            date(end),
            date(deadline),
            text(route),
            text(status),
            text(employer),
            text(position),
            real(hours_worked),
            int(1 + version as i64),
            time(created),
        ]);
        let mut words = 0;
        let mut payload = Vec::new();
        let count = 3 + r.below(3) as i64;
        for e in 0..count {
            let sub = *r.pick(SUB_COMPETENCIES);
            let s = start + Duration::days(e * 150 / count);
            // Now and then an experience runs past its report's period.
            let finish = if r.chance(0.02) { end + Duration::days(20) } else { (s + Duration::days(40)).min(end) };
            let level = (levels.get(sub).copied().unwrap_or(0) + r.below(2) as i64).min(2);
            let word_count = 150 + r.below(350) as i64;
            words += word_count;
            // One experience in ten was revised: its first version stays, superseded.
            let previous = r.chance(0.1).then(|| {
                let old = r.ulid(created);
                self.experiences.push(Cpa::experience(
                    r,
                    &old,
                    &report,
                    sub,
                    (s, finish),
                    level,
                    word_count - 40,
                    1,
                    None,
                    created,
                ));
                old
            });
            let id = r.ulid(created);
            let v = if previous.is_some() { 2 } else { 1 };
            self.experiences.push(Cpa::experience(
                r,
                &id,
                &report,
                sub,
                (s, finish),
                level,
                word_count,
                v,
                previous,
                created,
            ));
            payload.push(format!(r#"{{"id":"{id}","sub_competency_id":"{sub}","word_count":{word_count}}}"#));
            for _ in 0..1 + r.below(2) {
                let a = s + Duration::days(r.below(20) as i64);
                self.breakdown.push(vec![
                    text(r.ulid(created)),
                    text(&id),
                    text(*r.pick(&[
                        "planning",
                        "execution",
                        "review",
                        "documentation",
                        "analysis",
                        "presentation",
                        "training",
                    ])),
                    text("Prepared the schedules and walked the reviewer through them."),
                    date(a),
                    date(a + Duration::days(10)),
                    real(5.0 + r.below(30) as f64),
                    time(created),
                ]);
            }
            // Hours logged day by day; a few fall outside the report's period.
            let first_day = if r.chance(0.01) { start - Duration::days(10) } else { s };
            for d in 0..3 + r.below(6) as i64 {
                self.time.push(vec![
                    text(r.ulid(created)),
                    text(&id),
                    text(&p.user_id),
                    date(first_day + Duration::days(d)),
                    real(1.0 + r.below(8) as f64),
                    text("client work"),
                    time(created),
                ]);
            }
            if level > levels.get(sub).copied().unwrap_or(0) || !levels.contains_key(sub) {
                self.milestones.push(vec![
                    text(r.ulid(created)),
                    text(&p.user_id),
                    text(sub),
                    date(finish),
                    levels.get(sub).map_or(Value::Null, |l| int(*l)),
                    int(level),
                    int(1),
                    real(20.0 + r.below(80) as f64),
                    time(created),
                ]);
                levels.insert(sub, level);
            }
        }
        let payload = format!(r#"{{"experiences":[{}],"report_id":"{report}","route":"{route}"}}"#, payload.join(","));
        // Rarely, a payload changed after its checksum was taken, or counts that
        // disagree with the experiences.
        let checksum = crate::storage::pert::payload_checksum(&payload);
        let checksum = if r.chance(0.005) { crate::storage::pert::payload_checksum("tampered") } else { checksum };
        let stated = if r.chance(0.01) { count + 1 } else { count };
        let submission = r.ulid(created);
        let submitted = (created + Duration::days(185 + r.below(40) as i64)).min(now);
        let reviewed = steps.iter().any(|(a, _)| PertAction::REVIEWS.contains(a));
        self.submissions.push(vec![
            text(&submission),
            text(&report),
            text(&p.user_id),
            text("final"),
            date(deadline),
            text(status),
            opt(reviewed.then(|| reviewer.to_string())),
            opt(reviewed.then(|| "Clear and well supported.".to_string())),
            text(&payload),
            int(stated),
            int(words),
            text(checksum),
            time(submitted),
        ]);
        let mut previous = None;
        let n = steps.len() as i64;
        for (i, (action, to)) in steps.into_iter().enumerate() {
            // Steps in order, each later than the one before, none after now.
            let i = i as i64;
            let at =
                if i == 0 { created } else { (submitted + Duration::days(3 * i)).min(now - Duration::minutes(n - i)) };
            let by = if PertAction::REVIEWS.contains(&action) { reviewer } else { &p.user_id };
            self.history.push(vec![
                text(r.ulid(at)),
                text(&submission),
                text(&report),
                text(&p.user_id),
                text(action.as_str()),
                time(at),
                text(by),
                opt(PertAction::REVIEWS.contains(&action).then(|| "Reviewed against the PER rubric.".to_string())),
                opt(previous),
                text(to),
            ]);
            previous = Some(to.to_string());
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn experience(
        r: &mut Rng,
        id: &str,
        report: &str,
        sub: &str,
        (s, e): (chrono::NaiveDate, chrono::NaiveDate),
        level: i64,
        word_count: i64,
        version: i64,
        previous: Option<String>,
        created: DateTime<Utc>,
    ) -> Vec<Value> {
        vec![
            text(id),
            text(report),
            text(sub),
            text(format!(
                "{} — {}",
                r.pick(&["Quarter-end close", "Budget cycle", "Audit fieldwork", "Tax filing"]),
                sub
            )),
            date(s),
            date(e),
            int(level),
            text("Reconcile intercompany balances under a tight deadline."),
            text("Built a reconciliation workbook and reviewed variances with the controller."),
            text("Closed two days early with no audit adjustments."),
            text("Start reconciliations before the period ends."),
            real(20.0 + r.below(80) as f64),
            text(*r.pick(&["routine", "moderate", "complex"])),
            int(word_count),
            text(*r.pick(&["pending", "approved", "needs_revision"])),
            int(version),
            opt(previous),
            time(created),
        ]
    }

    fn into_tables(self) -> Vec<TableRows> {
        let table = |name: &str, columns: &'static [&'static str], rows: Vec<Vec<Value>>| TableRows {
            table: name.into(),
            columns,
            rows,
        };
        vec![
            table("pf_cpa_pert_reports", REPORT_COLUMNS, self.reports),
            table("pf_cpa_pert_experiences", EXPERIENCE_COLUMNS, self.experiences),
            table("pf_cpa_experience_breakdown", BREAKDOWN_COLUMNS, self.breakdown),
            table("pf_cpa_experience_time_tracking", TIME_COLUMNS, self.time),
            table("pf_cpa_progress_milestones", MILESTONE_COLUMNS, self.milestones),
            table("pf_cpa_pert_submissions", SUBMISSION_COLUMNS, self.submissions),
            table("pf_cpa_submission_history", HISTORY_COLUMNS, self.history),
        ]
    }
}
