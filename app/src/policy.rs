//! Who may reach what: every page route, server function and HTTP endpoint of the
//! console. Each capability declares its own rows in its `mod.rs` (one
//! [`Capability`]); [`rules`] assembles them with the paths no capability owns, in
//! the order of `crate::CAPABILITIES`. The server's access layer consults the table
//! for every request and refuses any path it does not list (deny by default); server
//! functions consult it again for their own path, since during SSR they run without
//! an HTTP hop.
//!
//! A page row also says where the navigation lists it, or why it does not: a test
//! (`server/tests/http/shell.rs`) ties every route to a row and a navigation decision.

use leptos::server_fn::ServerFn;
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

/// The navigation's sections, in the order the top bar shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// Links of their own beside the product's name (the overview).
    Top,
    People,
    Flags,
    Compliance,
    Operations,
}

impl Section {
    pub const ALL: [Section; 5] =
        [Section::Top, Section::People, Section::Flags, Section::Compliance, Section::Operations];

    pub fn label(self) -> &'static str {
        match self {
            Section::Top => "",
            Section::People => "People",
            Section::Flags => "Flags",
            Section::Compliance => "Compliance",
            Section::Operations => "Operations",
        }
    }

    /// The menu's `data-test-id` (written out: lower-casing would bring Unicode's
    /// case tables into the first page's code).
    pub fn test_id(self) -> &'static str {
        match self {
            Section::Top => "menu-top",
            Section::People => "menu-people",
            Section::Flags => "menu-flags",
            Section::Compliance => "menu-compliance",
            Section::Operations => "menu-operations",
        }
    }
}

/// What a path is, as far as the navigation goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A page the navigation lists in `section` as `label`.
    Listed { section: Section, label: &'static str },
    /// A page the navigation leaves out, and why.
    Unlisted(&'static str),
    /// A server function or another HTTP endpoint: not a page.
    Endpoint,
}

/// One path of the console and who may reach it. Patterns: `:name` matches one
/// segment, a trailing `*` matches the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub path: &'static str,
    pub access: Access,
    pub kind: Kind,
    /// A server function that answers with data about people: each call writes its
    /// read row before answering ([`crate::server::Caller::read`]); `serve` refuses
    /// to answer one that did not, and the policy walk checks every such row.
    pub reads_people: bool,
}

/// A page listed in the navigation.
pub const fn page(path: &'static str, access: Access, section: Section, label: &'static str) -> Rule {
    Rule { path, access, kind: Kind::Listed { section, label }, reads_people: false }
}

/// A page the navigation leaves out, with the reason (one user's page is reached
/// from the list, for one).
pub const fn unlisted(path: &'static str, access: Access, why: &'static str) -> Rule {
    Rule { path, access, kind: Kind::Unlisted(why), reads_people: false }
}

/// A server function's row, its path taken from its own type: a misspelt one does
/// not compile. It answers with no data about people (the policy walk holds it to
/// that); one that does is a [`reads`] row.
pub const fn api<F: ServerFn>(access: Access) -> Rule {
    Rule { path: F::PATH, access, kind: Kind::Endpoint, reads_people: false }
}

/// A server function's row that answers with data about people: every call is
/// audited as a read.
pub const fn reads<F: ServerFn>(access: Access) -> Rule {
    Rule { path: F::PATH, access, kind: Kind::Endpoint, reads_people: true }
}

/// An endpoint of the server's own (export, chart, sign-in form, OFREP).
pub const fn endpoint(path: &'static str, access: Access) -> Rule {
    Rule { path, access, kind: Kind::Endpoint, reads_people: false }
}

/// The path of a server function, for a plain form's `action` (it works before
/// the page's code has loaded).
pub const fn path_of<F: ServerFn>() -> &'static str {
    F::PATH
}

/// A capability's part of the table.
pub struct Capability {
    pub name: &'static str,
    pub rules: &'static [Rule],
}

/// The paths no capability owns: the static bundle, health and metrics.
const SHARED: Capability = Capability {
    name: "shared",
    rules: &[
        endpoint("/healthz", Access::Public),
        endpoint("/readyz", Access::Public),
        // Guarded by its own bearer token when one is configured.
        endpoint("/metrics", Access::Public),
        endpoint("/pkg/*", Access::Public),
        endpoint("/favicon.ico", Access::Public),
    ],
};

/// Every row: the capabilities' in their order, then the shared paths.
pub fn rules() -> impl Iterator<Item = &'static Rule> {
    crate::CAPABILITIES.iter().copied().chain([&SHARED]).flat_map(|c| c.rules.iter())
}

/// The first rule whose pattern matches `path`: the pattern and its access.
pub fn rule_for(path: &str) -> Option<(&'static str, Access)> {
    rules().find(|r| matches(r.path, path)).map(|r| (r.path, r.access))
}

/// Whether the server function at `path` answers with data about people.
pub fn reads_people(path: &str) -> bool {
    rules().any(|r| r.reads_people && matches(r.path, path))
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

/// Whether a holder of `roles` may reach `path`: what a page offers them (the
/// server asks the policy again).
pub fn may_see(path: &str, roles: &[Role]) -> bool {
    access_for(path).is_some_and(|access| admits(access, roles))
}

/// Whether `access` admits a holder of `roles` (in a browser: never by API key).
fn admits(access: Access, roles: &[Role]) -> bool {
    match access {
        Access::Public => true,
        Access::Roles(allowed) => roles.iter().any(|r| allowed.contains(r)),
        Access::Account => !roles.is_empty(),
        Access::ApiKey => false,
    }
}

/// The navigation's entries of `section` a holder of `roles` may open: (path, label).
/// Each page's own row decides (no lookup by path: every page renders this).
pub fn nav(section: Section, roles: &[Role]) -> Vec<(&'static str, &'static str)> {
    rules()
        .filter_map(|r| match r.kind {
            Kind::Listed { section: s, label } if s == section && admits(r.access, roles) => Some((r.path, label)),
            _ => None,
        })
        .collect()
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

    #[test]
    fn every_path_has_one_row_and_every_unlisted_page_a_reason() {
        let mut seen = std::collections::BTreeSet::new();
        for r in rules() {
            assert!(seen.insert(r.path), "{} has two rows", r.path);
            if let Kind::Unlisted(why) = r.kind {
                assert!(why.len() > 10, "{}: say why the navigation leaves it out", r.path);
            }
        }
    }

    #[test]
    fn each_role_sees_the_sections_its_work_needs() {
        let labels = |roles: &[Role]| -> Vec<&str> {
            Section::ALL.iter().flat_map(|s| nav(*s, roles)).map(|(_, l)| l).collect()
        };
        let sre = labels(&[Role::Sre]);
        assert!(sre.contains(&"Pool") && sre.contains(&"Flags") && !sre.contains(&"Audit log"), "{sre:?}");
        let compliance = labels(&[Role::Compliance]);
        assert!(compliance.contains(&"Audit log") && !compliance.contains(&"Users"), "{compliance:?}");
        assert!(labels(&[Role::Admin]).len() >= 15);
    }
}
