//! Reference data (`pf_ref_skills_catalog`, `pf_ref_career_paths`): administrators
//! create, edit and retire skills and career paths, each change audited with its
//! before and after; each goes out as CSV and comes back in through a dry run.

use super::{Action, AuditEntry};
use crate::dto::Page;
use crate::reference::{CareerPath, ImportReport, PathEdit, PathQuery, Skill, SkillEdit, SkillQuery};
use crate::AppResult;

pub const SKILL_CREATE: Action = Action::new("reference.skill.create");
pub const SKILL_UPDATE: Action = Action::new("reference.skill.update");
pub const SKILL_RETIRE: Action = Action::new("reference.skill.retire");
pub const SKILL_RESTORE: Action = Action::new("reference.skill.restore");
pub const PATH_CREATE: Action = Action::new("reference.path.create");
pub const PATH_UPDATE: Action = Action::new("reference.path.update");
pub const PATH_RETIRE: Action = Action::new("reference.path.retire");
pub const PATH_RESTORE: Action = Action::new("reference.path.restore");
/// A skills import applied: the counts (each skill's own row holds its change).
pub const SKILLS_IMPORT: Action = Action::new("reference.skills.import");
/// A career paths import applied: the counts (each path's own row holds its change).
pub const PATHS_IMPORT: Action = Action::new("reference.paths.import");

/// The most rows a reference list shows (the catalog is hundreds, not millions).
pub const REFERENCE_LIST_MAX: u32 = 1_000;

/// The skills catalog and the career paths.
pub trait ReferenceStore {
    /// Skills matching the query, by name (at most [`REFERENCE_LIST_MAX`]).
    fn skills(&self, query: &SkillQuery) -> AppResult<Vec<Skill>>;
    /// Creates (`skill_id` None) or edits a skill; `audit` gets its before and after.
    /// A name or alias that another skill has already (as name or alias) is refused.
    fn save_skill(&self, skill_id: Option<&str>, edit: &SkillEdit, audit: &AuditEntry) -> AppResult<Skill>;
    /// Retires (`active` false) or restores a skill; nothing is ever deleted. A skill
    /// an active career path requires is not retired (`Conflict`, naming the paths).
    fn set_skill_active(&self, skill_id: &str, active: bool, audit: &AuditEntry) -> AppResult<Skill>;
    /// Career paths matching the query, by name, their skills named from the catalog:
    /// `limit` of them after the path `after` (keyset pages: a page of every path,
    /// each with its skills and steps, was 270 KB at 360 paths).
    fn career_paths(&self, query: &PathQuery, after: Option<&str>, limit: u32) -> AppResult<Page<CareerPath>>;
    /// Creates or edits a path; every required skill must be an active skill of the
    /// catalog. Audited with before and after.
    fn save_career_path(&self, path_id: Option<&str>, edit: &PathEdit, audit: &AuditEntry) -> AppResult<CareerPath>;
    /// Retires or restores a path (restoring one whose skills were retired is refused).
    fn set_career_path_active(&self, path_id: &str, active: bool, audit: &AuditEntry) -> AppResult<CareerPath>;
    /// The catalog as CSV (`reference::SKILL_CSV_COLUMNS`), every skill by name.
    fn export_skills_csv(&self) -> AppResult<String>;
    /// Each line of a skills CSV checked against the catalog and the rest of the
    /// file: added, changed, unchanged or refused (with the reason). Unless
    /// `dry_run`, and only if no line is refused, all of it is written in one
    /// transaction: each skill's change audited with its before and after (as
    /// `audit`'s actor), and the import's counts in `audit`.
    fn import_skills_csv(&self, csv: &str, dry_run: bool, audit: &AuditEntry) -> AppResult<ImportReport>;
    /// The paths as CSV (`reference::PATH_CSV_COLUMNS`), their skills by name.
    fn export_career_paths_csv(&self) -> AppResult<String>;
    /// A career paths CSV, as [`ReferenceStore::import_skills_csv`] does skills: a
    /// name names one path, and an active path requires active skills only.
    fn import_career_paths_csv(&self, csv: &str, dry_run: bool, audit: &AuditEntry) -> AppResult<ImportReport>;
}
