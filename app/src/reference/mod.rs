//! Reference data: the skills catalog (`/reference/skills`) and the career paths
//! built on it (`/reference/career-paths`). Administrators create, edit, retire and
//! restore (nothing is deleted) and import either from CSV after a dry run;
//! compliance reviewers and SREs read. Each change's before and after is in the
//! audit log, one click from its row.

pub mod api;
mod import;
mod paths;
mod skills;

pub use paths::CareerPathsPage;
pub use skills::SkillsPage;

use crate::policy::{api, endpoint, page, Access, Capability, Section, ADMIN, ANY_ROLE};
use api::*;

pub const CAPABILITY: Capability = Capability {
    name: "reference",
    rules: &[
        page("/reference/skills", Access::Roles(ANY_ROLE), Section::People, "Skills catalog"),
        page("/reference/career-paths", Access::Roles(ANY_ROLE), Section::People, "Career paths"),
        api::<GetSkills>(Access::Roles(ANY_ROLE)),
        api::<GetCareerPaths>(Access::Roles(ANY_ROLE)),
        api::<SaveSkill>(Access::Roles(ADMIN)),
        api::<SetSkillActive>(Access::Roles(ADMIN)),
        api::<SaveCareerPath>(Access::Roles(ADMIN)),
        api::<SetCareerPathActive>(Access::Roles(ADMIN)),
        api::<ImportSkills>(Access::Roles(ADMIN)),
        api::<ImportCareerPaths>(Access::Roles(ADMIN)),
        endpoint("/export/skills", Access::Roles(ANY_ROLE)),
        endpoint("/export/career-paths", Access::Roles(ANY_ROLE)),
    ],
};

/// Whether the signed-in user may change reference data (the pages show the forms
/// to them only; the server functions check again).
pub fn may_edit(who: &Option<pathfinder::dto::Principal>) -> bool {
    who.as_ref().is_some_and(|p| p.roles.contains(&pathfinder::Role::Admin))
}
