//! Reference data: the skills catalog and the career paths. Every change writes its
//! before and after in the audit log (the skill's or path's id as the entity), in
//! its own transaction; nothing is ever deleted, only retired. Both go out and come
//! back in as CSV (`import`).

mod import;
mod rows;

use super::audit::append;
use super::driver::ReadRow;
use super::store::Store;
use crate::{args, sql};
use pathfinder::dto::Page;
use pathfinder::filter::escape_like;
use pathfinder::reference::{
    active_filter, CareerPath, ImportReport, PathEdit, PathQuery, Skill, SkillEdit, SkillQuery,
};
use pathfinder::storage::{
    AuditEntry, ReferenceStore, PATH_CREATE, PATH_RESTORE, PATH_RETIRE, PATH_UPDATE, SKILL_CREATE, SKILL_RESTORE,
    SKILL_RETIRE, SKILL_UPDATE,
};
use pathfinder::{AppError, AppResult};
use rows::*;

impl ReferenceStore for Store {
    fn skills(&self, q: &SkillQuery) -> AppResult<Vec<Skill>> {
        let pattern = format!("%{}%", escape_like(&q.text.trim().to_lowercase()));
        let category = Some(q.category.trim().to_string()).filter(|c| !c.is_empty());
        let active = active_filter(&q.active)?.map(yes);
        self.read(|c| {
            c.query_map(
                sql!(
                    "SELECT skill_id, skill_name, skill_category, description, aliases, market_demand_score, is_active,
                     updated_at FROM pf_ref_skills_catalog
                     WHERE (LOWER(skill_name) LIKE :1 ESCAPE '\\' OR LOWER(aliases) LIKE :2 ESCAPE '\\')
                     AND (:3 IS NULL OR skill_category = :4) AND (:5 IS NULL OR is_active = :6)
                     ORDER BY LOWER(skill_name), skill_id",
                    limit "1000"
                ),
                &args![pattern.as_str(), pattern.as_str(), category.clone(), category, active, active],
                skill_row,
            )
        })
    }

    fn save_skill(&self, skill_id: Option<&str>, edit: &SkillEdit, audit: &AuditEntry) -> AppResult<Skill> {
        let v = edit.validated()?;
        self.write(|c| {
            let catalog = all_skills(c)?;
            let before = match skill_id {
                Some(id) => Some(
                    catalog
                        .iter()
                        .find(|s| s.id == id)
                        .cloned()
                        .ok_or_else(|| AppError::NotFound("That skill".into()))?,
                ),
                None => None,
            };
            if let Some(why) = name_clash(&v, skill_id, &catalog) {
                return Err(AppError::Conflict(format!("{why}: a name or alias names one skill.")));
            }
            let id = skill_id.map_or_else(pathfinder::new_id, str::to_string);
            write_skill(c, &id, &v, before.as_ref().is_none_or(|b| b.active), before.is_none())?;
            let after = skill_by_id(c, &id)?.ok_or_else(|| AppError::internal("the skill just written is gone"))?;
            let entry = AuditEntry {
                action: if before.is_some() { SKILL_UPDATE } else { SKILL_CREATE }.name.into(),
                ..audit.clone()
            };
            append::change(c, &entry, (SKILL, &id), before.as_ref().map(skill_json), Some(skill_json(&after)))?;
            Ok(after)
        })
    }

    fn set_skill_active(&self, skill_id: &str, active: bool, audit: &AuditEntry) -> AppResult<Skill> {
        self.write(|c| {
            let before = skill_by_id(c, skill_id)?.ok_or_else(|| AppError::NotFound("That skill".into()))?;
            if !active {
                let paths = paths_requiring(c, skill_id)?;
                if !paths.is_empty() {
                    return Err(AppError::Conflict(format!(
                        "{} is required by the active career paths {}: edit or retire them first.",
                        before.name,
                        paths.join(", ")
                    )));
                }
            }
            c.execute(
                sql!("UPDATE pf_ref_skills_catalog SET is_active = :1, updated_at = :2 WHERE skill_id = :3"),
                &args![yes(active), chrono::Utc::now(), skill_id],
            )?;
            let after =
                skill_by_id(c, skill_id)?.ok_or_else(|| AppError::internal("the skill just written is gone"))?;
            let entry =
                AuditEntry { action: if active { SKILL_RESTORE } else { SKILL_RETIRE }.name.into(), ..audit.clone() };
            append::change(c, &entry, (SKILL, skill_id), Some(skill_json(&before)), Some(skill_json(&after)))?;
            Ok(after)
        })
    }

    fn career_paths(&self, q: &PathQuery, after: Option<&str>, limit: u32) -> AppResult<Page<CareerPath>> {
        let pattern = format!("%{}%", escape_like(&q.text.trim().to_lowercase()));
        let industry = Some(q.industry.trim().to_string()).filter(|c| !c.is_empty());
        let active = active_filter(&q.active)?.map(yes);
        let after = after.filter(|a| !a.is_empty());
        let limit = limit.clamp(1, 500);
        self.read(|c| {
            let catalog = all_skills(c)?;
            // After the cursor's path in (name, id) order, spelled out: Oracle has no
            // row-value comparison. An unknown cursor matches nothing.
            let mut paths = c.query_map(
                sql!(
                    "SELECT path_id, path_name, industry, from_role, to_role, typical_years, required_skills, steps,
                     description, is_active, updated_at FROM pf_ref_career_paths
                     WHERE (LOWER(path_name) LIKE :1 ESCAPE '\\' OR LOWER(to_role) LIKE :2 ESCAPE '\\')
                     AND (:3 IS NULL OR industry = :4) AND (:5 IS NULL OR is_active = :6)
                     AND (:7 IS NULL
                          OR LOWER(path_name) > (SELECT LOWER(path_name) FROM pf_ref_career_paths WHERE path_id = :8)
                          OR (LOWER(path_name) = (SELECT LOWER(path_name) FROM pf_ref_career_paths WHERE path_id = :9)
                              AND path_id > :10))
                     ORDER BY LOWER(path_name), path_id",
                    limit ":11"
                ),
                &args![
                    pattern.as_str(),
                    pattern.as_str(),
                    industry.clone(),
                    industry,
                    active,
                    active,
                    after,
                    after,
                    after,
                    after,
                    i64::from(limit) + 1
                ],
                |r| path_row(r, &catalog),
            )?;
            let more = paths.len() > limit as usize;
            paths.truncate(limit as usize);
            let next_cursor = if more { paths.last().map(|p| p.id.clone()) } else { None };
            Ok(Page { items: paths, next_cursor })
        })
    }

    fn save_career_path(&self, path_id: Option<&str>, edit: &PathEdit, audit: &AuditEntry) -> AppResult<CareerPath> {
        let v = edit.validated()?;
        self.write(|c| {
            let catalog = all_skills(c)?;
            required_in_catalog(&v.required, &catalog)?;
            let before = match path_id {
                Some(id) => {
                    Some(path_by_id(c, id, &catalog)?.ok_or_else(|| AppError::NotFound("That career path".into()))?)
                }
                None => None,
            };
            let taken = c.query_opt(
                sql!("SELECT path_id FROM pf_ref_career_paths WHERE LOWER(path_name) = LOWER(:1)"),
                &args![&v.name],
            )?;
            if taken.map(|r| r.text(0)).transpose()?.is_some_and(|other| Some(other.as_str()) != path_id) {
                return Err(AppError::Conflict(format!("Another career path is named {:?}.", v.name)));
            }
            let id = path_id.map_or_else(pathfinder::new_id, str::to_string);
            write_path(c, &id, &v, before.as_ref().map_or(true, |b| b.active), before.is_none())?;
            let after =
                path_by_id(c, &id, &catalog)?.ok_or_else(|| AppError::internal("the path just written is gone"))?;
            let entry = AuditEntry {
                action: if before.is_some() { PATH_UPDATE } else { PATH_CREATE }.name.into(),
                ..audit.clone()
            };
            append::change(c, &entry, (PATH, &id), before.as_ref().map(path_json), Some(path_json(&after)))?;
            Ok(after)
        })
    }

    fn set_career_path_active(&self, path_id: &str, active: bool, audit: &AuditEntry) -> AppResult<CareerPath> {
        self.write(|c| {
            let catalog = all_skills(c)?;
            let before =
                path_by_id(c, path_id, &catalog)?.ok_or_else(|| AppError::NotFound("That career path".into()))?;
            if active {
                let required: Vec<(String, i64)> =
                    before.required.iter().map(|s| (s.skill_id.clone(), s.level)).collect();
                required_in_catalog(&required, &catalog).map_err(|e| AppError::Conflict(e.to_string()))?;
            }
            c.execute(
                sql!("UPDATE pf_ref_career_paths SET is_active = :1, updated_at = :2 WHERE path_id = :3"),
                &args![yes(active), chrono::Utc::now(), path_id],
            )?;
            let after =
                path_by_id(c, path_id, &catalog)?.ok_or_else(|| AppError::internal("the path just written is gone"))?;
            let entry =
                AuditEntry { action: if active { PATH_RESTORE } else { PATH_RETIRE }.name.into(), ..audit.clone() };
            append::change(c, &entry, (PATH, path_id), Some(path_json(&before)), Some(path_json(&after)))?;
            Ok(after)
        })
    }

    fn export_skills_csv(&self) -> AppResult<String> {
        import::export_skills(self)
    }

    fn import_skills_csv(&self, text: &str, dry_run: bool, audit: &AuditEntry) -> AppResult<ImportReport> {
        import::import_skills(self, text, dry_run, audit)
    }

    fn export_career_paths_csv(&self) -> AppResult<String> {
        import::export_paths(self)
    }

    fn import_career_paths_csv(&self, text: &str, dry_run: bool, audit: &AuditEntry) -> AppResult<ImportReport> {
        import::import_paths(self, text, dry_run, audit)
    }
}
