//! Flags, groups and overrides at the sizes of issue 11: 300 flags of every type,
//! 50 groups (everyone is in one), group overrides, and one user in five with an
//! override of their own — half of those of one flag in a wide rollout, so that
//! flag has the 100,000 overrides its page is measured with; some have expired.

use super::rng::Rng;
use super::world::{int, null, text, time, GenFlag, GenGroup, Kind, World};
use chrono::{DateTime, Duration, Utc};
use pathfinder::storage::TableRows;

pub const FLAG_COUNT: usize = 300;

/// The flags: the named ones (booleans), then `area.feature` keys of every type.
pub fn flags(r: &mut Rng, created: DateTime<Utc>) -> Vec<GenFlag> {
    let named = NAMED_FLAGS.iter().map(|k| (k.to_string(), Kind::Boolean));
    let made = AREAS.iter().flat_map(|a| FEATURES.iter().map(move |f| format!("{a}.{f}"))).enumerate().map(|(i, k)| {
        let kind = match i % 10 {
            6 | 7 => Kind::Variant,
            8 => Kind::Number,
            9 => Kind::Json,
            _ => Kind::Boolean,
        };
        (k, kind)
    });
    named.chain(made).take(FLAG_COUNT).map(|(key, kind)| GenFlag { id: r.ulid(created), key, kind }).collect()
}

/// The groups: the named ones, then monthly cohorts; `everyone` is the default.
pub fn groups(r: &mut Rng, created: DateTime<Utc>) -> Vec<GenGroup> {
    let named = NAMED_GROUPS.iter().map(|(n, p)| (n.to_string(), *p));
    let cohorts = (0..40).map(|m| (format!("cohort_{}_{:02}", 2023 + m / 12, 1 + m % 12), 1 + (m % 4) as i64));
    named.chain(cohorts).map(|(name, priority)| GenGroup { id: r.ulid(created), name, priority }).collect()
}

/// The group a user is in: every user is in one, the first groups the largest.
pub fn group_of(w: &World, r: &mut Rng) -> String {
    w.groups[r.skewed(w.groups.len())].id.clone()
}

/// The reference rows: groups, flags and each group's overrides.
pub fn reference_rows(w: &World, r: &mut Rng, at: DateTime<Utc>) -> Vec<TableRows> {
    let mut groups = TableRows::new(
        "pf_user_groups",
        &["group_id", "group_name", "description", "is_default", "priority", "created_at", "updated_at"],
    );
    for g in &w.groups {
        groups.push(vec![
            text(&g.id),
            text(&g.name),
            text(format!("Members of {}", g.name)),
            text(if g.name == "everyone" { "Y" } else { "N" }),
            int(g.priority),
            time(at),
            time(at),
        ]);
    }
    let mut flags = TableRows::new(
        "pf_feature_flags",
        &[
            "flag_id",
            "flag_key",
            "flag_name",
            "flag_type",
            "default_value",
            "allowed_values",
            "is_system_wide",
            "created_at",
            "updated_at",
        ],
    );
    for f in &w.flags {
        let allowed = (f.kind == Kind::Variant).then(|| r#"["control", "a", "b"]"#.to_string());
        flags.push(vec![
            text(&f.id),
            text(&f.key),
            text(f.key.replace(['_', '.'], " ")),
            text(f.kind.type_name()),
            text(if f.kind == Kind::Boolean && r.chance(0.3) { "true" } else { f.kind.default_value() }),
            allowed.map(text).unwrap_or_else(null),
            text(if r.chance(0.2) { "Y" } else { "N" }),
            time(at),
            time(at),
        ]);
    }
    let mut group_overrides = TableRows::new(
        "pf_user_feature_flags",
        &["override_id", "group_id", "flag_id", "override_value", "reason", "created_at"],
    );
    for g in &w.groups {
        // Three to eight different flags (one override per flag and group).
        let first = r.below(w.flags.len() as u64) as usize;
        for k in 0..3 + r.below(6) as usize {
            let f = &w.flags[(first + k) % w.flags.len()];
            group_overrides.push(vec![
                text(r.ulid(at)),
                text(&g.id),
                text(&f.id),
                text(f.kind.value(r)),
                text("rollout"),
                time(at),
            ]);
        }
    }
    vec![groups, flags, group_overrides]
}

pub const OVERRIDE_COLUMNS: &[&str] =
    &["override_id", "user_id", "flag_id", "override_value", "reason", "expires_at", "created_at"];

/// A user's own override, for one user in five.
pub fn user_override(
    w: &World,
    r: &mut Rng,
    user_id: &str,
    now: DateTime<Utc>,
) -> Option<Vec<pathfinder::storage::Value>> {
    if !r.chance(0.2) {
        return None;
    }
    // Half of them are of the first flag (a wide rollout by hand).
    let f = if r.chance(0.5) { &w.flags[0] } else { &w.flags[1 + r.below(w.flags.len() as u64 - 1) as usize] };
    let at = now - Duration::days(r.below(200) as i64) - Duration::seconds(r.below(86_400) as i64);
    Some(vec![
        text(r.ulid(at)),
        text(user_id),
        text(&f.id),
        text(f.kind.value(r)),
        text(*r.pick(REASONS)),
        // Some expire 90 days after they were made: those older have expired.
        if r.chance(0.3) { time(at + Duration::days(90)) } else { null() },
        time(at),
    ])
}

const REASONS: &[&str] = &["beta tester", "support ticket", "customer request", "QA", "pilot"];

const NAMED_GROUPS: &[(&str, i64)] = &[
    ("everyone", 0),
    ("beta_testers", 10),
    ("cpa_candidates", 20),
    ("students", 5),
    ("enterprise_deloitte", 30),
    ("enterprise_kpmg", 30),
    ("internal_staff", 50),
    ("early_access", 15),
    ("accessibility_preview", 12),
    ("france", 8),
];

const NAMED_FLAGS: &[&str] = &[
    "new_dashboard",
    "ai_chat",
    "ai_chat_gpt5",
    "pert_autosave",
    "pert_export_pdf",
    "resume_parser_v2",
    "skills_graph",
    "job_recommendations",
    "dark_mode",
    "sso_linkedin",
    "sso_apple",
    "mfa_required",
    "encrypted_notes",
    "analytics_v3",
    "career_paths",
    "mentor_matching",
    "salary_insights",
    "bulk_import",
    "weekly_digest",
    "push_notifications",
    "accessibility_mode",
    "offline_mode",
    "new_onboarding",
    "pert_reviewer_view",
    "cpa_ontario_rules",
    "cpa_quebec_rules",
    "legacy_editor",
    "beta_banner",
    "rate_limit_v2",
    "search_v2",
];

const AREAS: &[&str] = &[
    "profile",
    "pert",
    "search",
    "chat",
    "billing",
    "jobs",
    "skills",
    "mentors",
    "notifications",
    "onboarding",
    "reports",
    "admin",
];

const FEATURES: &[&str] = &[
    "v2",
    "inline_edit",
    "bulk_actions",
    "new_layout",
    "fast_path",
    "ai_assist",
    "copy_variant",
    "ranking",
    "page_size",
    "limits",
    "export",
    "import",
    "sharing",
    "autosave",
    "previews",
    "tips",
    "theme",
    "cards",
    "digest",
    "results",
    "sort_order",
    "quota",
    "settings",
];
