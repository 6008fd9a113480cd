//! Who may reach what: every page route, server function and HTTP endpoint of the
//! console, in one table. The server's access layer consults it for every request
//! and refuses any path it does not list (deny by default); server functions consult
//! it again for their own path, since during SSR they run without an HTTP hop.

use pathfinder::{AppError, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// A signed-in user holding one of these roles (and a second factor, where
    /// their role requires one).
    Roles(&'static [Role]),
    /// Any signed-in console user, also one who still has to set up the second
    /// factor their role requires: their own account's page.
    Account,
    /// Another service, holding a key of the evaluation API (OFREP): no session
    /// cookie is read and no Origin is needed (OpenFeature server providers send
    /// none, and no browser page of ours calls it); the handler checks the key.
    ApiKey,
}

pub const ANY_ROLE: &[Role] = &[Role::Admin, Role::Sre, Role::Compliance];
pub const ADMIN: &[Role] = &[Role::Admin];
/// The key inventory is read by administrators and by compliance reviewers (who check
/// that rotation keeps to policy); only administrators change keys or read
/// sensitive fields in the clear.
pub const KEY_READERS: &[Role] = &[Role::Admin, Role::Compliance];

/// The audit log (who did what, from which address) is read by compliance reviewers
/// and administrators; SREs have the metrics and need no one's trail.
pub const AUDIT_READERS: &[Role] = &[Role::Admin, Role::Compliance];

/// Feature flags are edited by administrators and read by SREs too (whether a flag
/// is system-wide or needs a restart matters when they diagnose); compliance
/// reviewers read every change to them in the audit log.
pub const FLAG_READERS: &[Role] = &[Role::Admin, Role::Sre];

/// The operations pages (pool, storage, queries) are for SREs and administrators:
/// numbers about the machine, never about people.
pub const OPERATORS: &[Role] = &[Role::Admin, Role::Sre];

/// What a holder of a role that requires a second factor, without one yet, is told
/// by every path but their account's (the access layer and server functions alike).
pub fn second_factor_first() -> AppError {
    AppError::invalid("Set up two-factor sign-in first (your account page).")
}

/// Path patterns: `:name` matches one segment, a trailing `*` matches the rest.
pub const POLICY: &[(&str, Access)] = &[
    // Pages.
    ("/login", Access::Public),
    ("/", Access::Roles(ANY_ROLE)),
    ("/users", Access::Roles(ADMIN)),
    ("/users/:id", Access::Roles(ADMIN)),
    ("/keys", Access::Roles(KEY_READERS)),
    ("/account", Access::Account),
    ("/accounts", Access::Roles(ADMIN)),
    ("/sessions", Access::Roles(ADMIN)),
    ("/invitations", Access::Roles(ADMIN)),
    ("/audit", Access::Roles(AUDIT_READERS)),
    ("/audit/:id", Access::Roles(AUDIT_READERS)),
    ("/pool", Access::Roles(OPERATORS)),
    ("/queries", Access::Roles(OPERATORS)),
    ("/storage", Access::Roles(OPERATORS)),
    ("/diagnostics", Access::Roles(OPERATORS)),
    ("/backups", Access::Roles(OPERATORS)),
    ("/retention", Access::Roles(ADMIN)),
    ("/flags", Access::Roles(FLAG_READERS)),
    ("/flags/:id", Access::Roles(FLAG_READERS)),
    ("/groups", Access::Roles(FLAG_READERS)),
    ("/groups/:id", Access::Roles(FLAG_READERS)),
    // Streamed by the server (server/src/export/).
    ("/export/users", Access::Roles(ADMIN)),
    ("/export/audit", Access::Roles(AUDIT_READERS)),
    ("/api/pool", Access::Roles(OPERATORS)),
    ("/api/queries", Access::Roles(OPERATORS)),
    ("/api/storage", Access::Roles(OPERATORS)),
    ("/api/storage_sample", Access::Roles(OPERATORS)),
    ("/api/gather_statistics", Access::Roles(OPERATORS)),
    ("/api/diagnostics", Access::Roles(OPERATORS)),
    ("/api/backups", Access::Roles(OPERATORS)),
    ("/api/retention", Access::Roles(ADMIN)),
    ("/api/save_retention", Access::Roles(ADMIN)),
    ("/api/delete_retention", Access::Roles(ADMIN)),
    ("/api/run_retention", Access::Roles(ADMIN)),
    ("/api/schema_check", Access::Roles(OPERATORS)),
    ("/api/flags", Access::Roles(FLAG_READERS)),
    ("/api/flag", Access::Roles(FLAG_READERS)),
    ("/api/save_flag", Access::Roles(ADMIN)),
    ("/api/delete_flag", Access::Roles(ADMIN)),
    ("/api/set_override", Access::Roles(ADMIN)),
    ("/api/delete_override", Access::Roles(ADMIN)),
    ("/api/evaluate_flag", Access::Roles(FLAG_READERS)),
    ("/api/user_flags", Access::Roles(ADMIN)),
    ("/api/flag_groups", Access::Roles(FLAG_READERS)),
    ("/api/flag_group", Access::Roles(FLAG_READERS)),
    ("/api/add_group_member", Access::Roles(ADMIN)),
    ("/api/user_overrides", Access::Roles(ADMIN)),
    ("/api/save_group", Access::Roles(ADMIN)),
    ("/api/delete_group", Access::Roles(ADMIN)),
    ("/api/api_keys", Access::Roles(ADMIN)),
    ("/api/create_api_key", Access::Roles(ADMIN)),
    ("/api/revoke_api_key", Access::Roles(ADMIN)),
    // The flag evaluation API for other services (server/src/ofrep.rs): an API key.
    ("/ofrep/v1/evaluate/flags", Access::ApiKey),
    ("/ofrep/v1/evaluate/flags/:key", Access::ApiKey),
    // An invitation's page: the link's token is the key.
    ("/invite/:token", Access::Public),
    // Server functions (see api.rs).
    ("/api/me", Access::Public),
    ("/api/overview", Access::Roles(ANY_ROLE)),
    ("/api/users", Access::Roles(ADMIN)),
    ("/api/user_detail", Access::Roles(ADMIN)),
    ("/api/set_user_status", Access::Roles(ADMIN)),
    ("/api/create_user", Access::Roles(ADMIN)),
    ("/api/bulk_preview", Access::Roles(ADMIN)),
    ("/api/bulk_apply", Access::Roles(ADMIN)),
    ("/api/groups", Access::Roles(ADMIN)),
    ("/api/set_user_group", Access::Roles(ADMIN)),
    ("/api/update_profile", Access::Roles(ADMIN)),
    ("/api/set_preferences", Access::Roles(ADMIN)),
    ("/api/reveal_sensitive", Access::Roles(ADMIN)),
    ("/api/set_sensitive", Access::Roles(ADMIN)),
    ("/api/rotate_user_key", Access::Roles(ADMIN)),
    ("/api/unlock_sign_in", Access::Roles(ADMIN)),
    ("/api/delete_user", Access::Roles(ADMIN)),
    ("/api/key_inventory", Access::Roles(KEY_READERS)),
    ("/api/start_key_rotation", Access::Roles(ADMIN)),
    ("/api/mfa_state", Access::Account),
    ("/api/start_mfa_setup", Access::Account),
    ("/api/confirm_mfa_setup", Access::Account),
    ("/api/reset_mfa", Access::Roles(ADMIN)),
    ("/api/console_accounts", Access::Roles(ADMIN)),
    ("/api/revoke_session", Access::Roles(ADMIN)),
    ("/api/invitations", Access::Roles(ADMIN)),
    ("/api/create_invitation", Access::Roles(ADMIN)),
    ("/api/resend_invitation", Access::Roles(ADMIN)),
    ("/api/withdraw_invitation", Access::Roles(ADMIN)),
    ("/api/invitation_preview", Access::Public),
    ("/api/set_primary_sso", Access::Roles(ADMIN)),
    ("/api/unlink_sso", Access::Roles(ADMIN)),
    ("/api/provision_user_tables", Access::Roles(ADMIN)),
    ("/api/drop_user_tables", Access::Roles(ADMIN)),
    ("/api/count_sessions", Access::Roles(ADMIN)),
    ("/api/revoke_sessions", Access::Roles(ADMIN)),
    ("/api/set_console_roles", Access::Roles(ADMIN)),
    ("/api/audit_search", Access::Roles(AUDIT_READERS)),
    ("/api/audit_event", Access::Roles(AUDIT_READERS)),
    ("/api/audit_facets", Access::Roles(AUDIT_READERS)),
    ("/api/start_audit_job", Access::Roles(AUDIT_READERS)),
    ("/api/audit_job", Access::Roles(AUDIT_READERS)),
    // Drawn by the server (server/src/charts.rs).
    ("/charts/audit.svg", Access::Roles(AUDIT_READERS)),
    ("/charts/pool.svg", Access::Roles(OPERATORS)),
    ("/charts/storage.svg", Access::Roles(OPERATORS)),
    // Plain HTTP endpoints of the server.
    ("/auth/login", Access::Public),
    ("/auth/logout", Access::Public),
    ("/auth/confirm", Access::Account),
    ("/auth/accept_invitation", Access::Public),
    ("/healthz", Access::Public),
    ("/readyz", Access::Public),
    // Guarded by its own bearer token when one is configured.
    ("/metrics", Access::Public),
    ("/pkg/*", Access::Public),
    ("/favicon.ico", Access::Public),
];

/// The first rule whose pattern matches `path`: the pattern and its access.
pub fn rule_for(path: &str) -> Option<(&'static str, Access)> {
    POLICY.iter().find(|(pattern, _)| matches(pattern, path)).copied()
}

/// The access rule for `path`, or `None` when the console has no such path.
pub fn access_for(path: &str) -> Option<Access> {
    rule_for(path).map(|(_, a)| a)
}

fn matches(pattern: &str, path: &str) -> bool {
    if let Some(prefix) = pattern.strip_suffix('*') {
        return path.starts_with(prefix);
    }
    let mut want = pattern.split('/');
    let mut got = path.split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with(':') && !g.is_empty() => {}
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

/// Whether the nav may show a link to `path` to a holder of `roles`.
pub fn may_see(path: &str, roles: &[Role]) -> bool {
    match access_for(path) {
        Some(Access::Public) => true,
        Some(Access::Roles(allowed)) => roles.iter().any(|r| allowed.contains(r)),
        Some(Access::Account) => !roles.is_empty(),
        Some(Access::ApiKey) | None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_segments() {
        assert_eq!(access_for("/users/01HX"), Some(Access::Roles(ADMIN)));
        assert_eq!(access_for("/users/"), None);
        assert_eq!(access_for("/users/a/b"), None);
        assert_eq!(access_for("/pkg/pathfinder.wasm"), Some(Access::Public));
        assert_eq!(access_for("/api/unknown"), None);
        assert_eq!(access_for("/"), Some(Access::Roles(ANY_ROLE)));
    }
}
