//! Reference data's server functions: the lists, edits, retire and restore, and the
//! skills and career paths imports (dry run or real).

use leptos::prelude::*;
use pathfinder::dto::Page;
use pathfinder::reference::{CareerPath, ImportReport, PathEdit, Skill, SkillEdit};
use pathfinder::AppError;

/// Skills matching a text (name or alias), a category and active or retired.
#[server(prefix = "/api", endpoint = "skills")]
pub async fn get_skills(
    #[server(default)] text: String,
    #[server(default)] category: String,
    #[server(default)] active: String,
) -> Result<Vec<Skill>, AppError> {
    use pathfinder::reference::SkillQuery;
    crate::server::serve::<GetSkills, _>(async |c| {
        let query = SkillQuery { text, category, active };
        c.db.call(move |s| s.skills(&query)).await
    })
    .await
}

/// Creates (no `skill_id`) or edits a skill (admins).
#[server(prefix = "/api", endpoint = "save_skill")]
pub async fn save_skill(#[server(default)] skill_id: String, edit: SkillEdit) -> Result<Skill, AppError> {
    use pathfinder::storage::{SKILL_CREATE, SKILL_UPDATE};
    crate::server::serve::<SaveSkill, _>(async |c| {
        let id = Some(skill_id).filter(|i| !i.is_empty());
        let action = if id.is_some() { SKILL_UPDATE } else { SKILL_CREATE };
        let audit = c.audit(action, ("skill", id.as_deref()));
        c.db.call(move |s| s.save_skill(id.as_deref(), &edit, &audit)).await
    })
    .await
}

/// Retires (`active` false) or restores a skill (admins).
#[server(prefix = "/api", endpoint = "set_skill_active")]
pub async fn set_skill_active(skill_id: String, active: bool) -> Result<Skill, AppError> {
    use pathfinder::storage::{SKILL_RESTORE, SKILL_RETIRE};
    crate::server::serve::<SetSkillActive, _>(async |c| {
        let audit = c.audit(if active { SKILL_RESTORE } else { SKILL_RETIRE }, ("skill", Some(&skill_id)));
        c.db.call(move |s| s.set_skill_active(&skill_id, active, &audit)).await
    })
    .await
}

/// Career paths matching a text (name or role), an industry and active or retired, a
/// page of them by name after the path `after`.
#[server(prefix = "/api", endpoint = "career_paths")]
pub async fn get_career_paths(
    #[server(default)] text: String,
    #[server(default)] industry: String,
    #[server(default)] active: String,
    #[server(default)] after: String,
) -> Result<Page<CareerPath>, AppError> {
    use pathfinder::reference::PathQuery;
    crate::server::serve::<GetCareerPaths, _>(async |c| {
        let query = PathQuery { text, industry, active };
        c.db.call(move |s| s.career_paths(&query, Some(after.as_str()), PATHS_PAGE)).await
    })
    .await
}

/// Career paths a page.
pub const PATHS_PAGE: u32 = 50;

/// Creates (no `path_id`) or edits a career path (admins).
#[server(prefix = "/api", endpoint = "save_career_path")]
pub async fn save_career_path(#[server(default)] path_id: String, edit: PathEdit) -> Result<CareerPath, AppError> {
    use pathfinder::storage::{PATH_CREATE, PATH_UPDATE};
    crate::server::serve::<SaveCareerPath, _>(async |c| {
        let id = Some(path_id).filter(|i| !i.is_empty());
        let action = if id.is_some() { PATH_UPDATE } else { PATH_CREATE };
        let audit = c.audit(action, ("career_path", id.as_deref()));
        c.db.call(move |s| s.save_career_path(id.as_deref(), &edit, &audit)).await
    })
    .await
}

/// Retires or restores a career path (admins).
#[server(prefix = "/api", endpoint = "set_career_path_active")]
pub async fn set_career_path_active(path_id: String, active: bool) -> Result<CareerPath, AppError> {
    use pathfinder::storage::{PATH_RESTORE, PATH_RETIRE};
    crate::server::serve::<SetCareerPathActive, _>(async |c| {
        let audit = c.audit(if active { PATH_RESTORE } else { PATH_RETIRE }, ("career_path", Some(&path_id)));
        c.db.call(move |s| s.set_career_path_active(&path_id, active, &audit)).await
    })
    .await
}

/// Checks a skills CSV line by line and, unless `dry_run` and only if no line is
/// refused, applies it (admins).
#[server(prefix = "/api", endpoint = "import_skills")]
pub async fn import_skills(csv: String, #[server(default)] dry_run: bool) -> Result<ImportReport, AppError> {
    use pathfinder::storage::SKILLS_IMPORT;
    crate::server::serve::<ImportSkills, _>(async |c| {
        let audit = c.audit(SKILLS_IMPORT, ("skill", None));
        c.db.call(move |s| s.import_skills_csv(&csv, dry_run, &audit)).await
    })
    .await
}

/// Checks a career paths CSV line by line and, unless `dry_run` and only if no line
/// is refused, applies it (admins).
#[server(prefix = "/api", endpoint = "import_career_paths")]
pub async fn import_career_paths(csv: String, #[server(default)] dry_run: bool) -> Result<ImportReport, AppError> {
    use pathfinder::storage::PATHS_IMPORT;
    crate::server::serve::<ImportCareerPaths, _>(async |c| {
        let audit = c.audit(PATHS_IMPORT, ("career_path", None));
        c.db.call(move |s| s.import_career_paths_csv(&csv, dry_run, &audit)).await
    })
    .await
}
