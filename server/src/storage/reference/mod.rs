//! Reference data: the skills catalog and the career paths. Every change writes its
//! before and after in the audit log (the skill's or path's id as the entity), in
//! its own transaction; nothing is ever deleted, only retired. Both go out and come
//! back in as CSV (`import`).

mod import;

use super::audit::append;
use super::driver::{Conn, ReadRow, Row};
use super::store::Store;
use crate::{args, sql};
use pathfinder::filter::escape_like;
use pathfinder::reference::{
    active_filter, CareerPath, ImportReport, PathEdit, PathQuery, RequiredSkill, Skill, SkillEdit, SkillQuery,
    ValidPath, ValidSkill,
};
use pathfinder::storage::{
    AuditEntry, ReferenceStore, PATH_CREATE, PATH_RESTORE, PATH_RETIRE, PATH_UPDATE, SKILL_CREATE, SKILL_RESTORE,
    SKILL_RETIRE, SKILL_UPDATE,
};
use pathfinder::{AppError, AppResult};
use serde_json::json;

const SKILL: &str = "skill";
const PATH: &str = "career_path";

fn yes(b: bool) -> &'static str {
    if b {
        "Y"
    } else {
        "N"
    }
}

/// A skill from `skill_id, skill_name, skill_category, description, aliases,
/// market_demand_score, is_active, updated_at`.
fn skill_row(r: &dyn Row) -> AppResult<Skill> {
    Ok(Skill {
        id: r.text(0)?,
        name: r.text(1)?,
        category: r.opt_text(2)?,
        description: r.opt_text(3)?,
        aliases: r.opt_text(4)?.and_then(|a| serde_json::from_str(&a).ok()).unwrap_or_default(),
        market_demand: r.opt_int(5)?,
        active: r.opt_text(6)?.as_deref() != Some("N"),
        updated_at: r.opt_time(7)?,
    })
}

fn skill_by_id(c: &mut Conn, id: &str) -> AppResult<Option<Skill>> {
    let row = c.query_opt(
        sql!(
            "SELECT skill_id, skill_name, skill_category, description, aliases, market_demand_score, is_active, updated_at
             FROM pf_ref_skills_catalog WHERE skill_id = :1"
        ),
        &args![id],
    )?;
    row.map(|r| skill_row(&r)).transpose()
}

fn all_skills(c: &mut Conn) -> AppResult<Vec<Skill>> {
    c.query_map(
        sql!(
            "SELECT skill_id, skill_name, skill_category, description, aliases, market_demand_score, is_active, updated_at
             FROM pf_ref_skills_catalog ORDER BY LOWER(skill_name), skill_id"
        ),
        &[],
        skill_row,
    )
}

/// What a skill is, for its audit rows (without the time it changed).
fn skill_json(s: &Skill) -> serde_json::Value {
    json!({
        "name": s.name,
        "category": s.category,
        "description": s.description,
        "aliases": s.aliases,
        "market_demand": s.market_demand,
        "active": s.active,
    })
}

/// The name or alias of `others` that `name` (any case) is, and whose.
fn clash<'a>(name: &str, others: impl Iterator<Item = &'a Skill>) -> Option<String> {
    for o in others {
        if o.name.eq_ignore_ascii_case(name) {
            return Some(format!("{name:?} is the name of the skill {:?}", o.name));
        }
        if o.aliases.iter().any(|a| a.eq_ignore_ascii_case(name)) {
            return Some(format!("{name:?} is an alias of the skill {:?}", o.name));
        }
    }
    None
}

/// Why `v` (skill `id`, or a new one) cannot sit beside `catalog`, if it cannot.
fn name_clash(v: &ValidSkill, id: Option<&str>, catalog: &[Skill]) -> Option<String> {
    let others = || catalog.iter().filter(|o| Some(o.id.as_str()) != id);
    std::iter::once(&v.name).chain(&v.aliases).find_map(|n| clash(n, others()))
}

/// The active career paths that require skill `id`, by name.
fn paths_requiring(c: &mut Conn, id: &str) -> AppResult<Vec<String>> {
    let pattern = format!("%\"{}\"%", escape_like(id));
    c.query_map(
        sql!(
            "SELECT path_name FROM pf_ref_career_paths WHERE is_active = 'Y' AND required_skills LIKE :1 ESCAPE '\\'
             ORDER BY path_name"
        ),
        &args![pattern],
        |r| r.text(0),
    )
}

fn write_skill(c: &mut Conn, id: &str, v: &ValidSkill, active: bool, creating: bool) -> AppResult<()> {
    let aliases = (!v.aliases.is_empty()).then(|| json!(v.aliases).to_string());
    let now = chrono::Utc::now();
    if creating {
        c.execute(
            sql!(
                "INSERT INTO pf_ref_skills_catalog (skill_id, skill_name, skill_category, description, aliases,
                 market_demand_score, is_active, created_at, updated_at) VALUES (:1, :2, :3, :4, :5, :6, :7, :8, :9)"
            ),
            &args![
                id,
                &v.name,
                v.category.clone(),
                v.description.clone(),
                aliases,
                v.market_demand,
                yes(active),
                now,
                now
            ],
        )?;
    } else {
        c.execute(
            sql!(
                "UPDATE pf_ref_skills_catalog SET skill_name = :1, skill_category = :2, description = :3, aliases = :4,
                 market_demand_score = :5, is_active = :6, updated_at = :7 WHERE skill_id = :8"
            ),
            &args![&v.name, v.category.clone(), v.description.clone(), aliases, v.market_demand, yes(active), now, id],
        )?;
    }
    Ok(())
}

/// A path from `path_id, path_name, industry, from_role, to_role, typical_years,
/// required_skills, steps, description, is_active, updated_at`, its skills named
/// from `catalog`.
fn path_row(r: &dyn Row, catalog: &[Skill]) -> AppResult<CareerPath> {
    let required: Vec<serde_json::Value> =
        r.opt_text(6)?.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default();
    Ok(CareerPath {
        id: r.text(0)?,
        name: r.text(1)?,
        industry: r.opt_text(2)?,
        from_role: r.opt_text(3)?,
        to_role: r.text(4)?,
        typical_years: r.opt_real(5)?,
        required: required
            .iter()
            .filter_map(|s| {
                let id = s.get("skill_id")?.as_str()?.to_string();
                let name = catalog.iter().find(|k| k.id == id).map(|k| k.name.clone());
                Some(RequiredSkill { skill_id: id, name, level: s.get("level").and_then(|l| l.as_i64()).unwrap_or(1) })
            })
            .collect(),
        steps: r.opt_text(7)?.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default(),
        description: r.opt_text(8)?,
        active: r.opt_text(9)?.as_deref() != Some("N"),
        updated_at: r.opt_time(10)?,
    })
}

fn path_by_id(c: &mut Conn, id: &str, catalog: &[Skill]) -> AppResult<Option<CareerPath>> {
    let row = c.query_opt(
        sql!(
            "SELECT path_id, path_name, industry, from_role, to_role, typical_years, required_skills, steps, description,
             is_active, updated_at FROM pf_ref_career_paths WHERE path_id = :1"
        ),
        &args![id],
    )?;
    row.map(|r| path_row(&r, catalog)).transpose()
}

/// Every path, by name.
fn all_paths(c: &mut Conn, catalog: &[Skill]) -> AppResult<Vec<CareerPath>> {
    c.query_map(
        sql!(
            "SELECT path_id, path_name, industry, from_role, to_role, typical_years, required_skills, steps, description,
             is_active, updated_at FROM pf_ref_career_paths ORDER BY LOWER(path_name), path_id"
        ),
        &[],
        |r| path_row(r, catalog),
    )
}

/// Writes a path's row: a new one (`creating`) or over the one of `id`.
fn write_path(c: &mut Conn, id: &str, v: &ValidPath, active: bool, creating: bool) -> AppResult<()> {
    let required =
        json!(v.required.iter().map(|(id, level)| json!({ "skill_id": id, "level": level })).collect::<Vec<_>>())
            .to_string();
    let steps = json!(v.steps).to_string();
    let now = chrono::Utc::now();
    if creating {
        c.execute(
            sql!(
                "INSERT INTO pf_ref_career_paths (path_id, path_name, industry, from_role, to_role, typical_years,
                 required_skills, steps, description, is_active, created_at, updated_at)
                 VALUES (:1, :2, :3, :4, :5, :6, :7, :8, :9, :10, :11, :12)"
            ),
            &args![
                id,
                &v.name,
                v.industry.clone(),
                v.from_role.clone(),
                &v.to_role,
                v.typical_years,
                required,
                steps,
                v.description.clone(),
                yes(active),
                now,
                now
            ],
        )?;
    } else {
        c.execute(
            sql!(
                "UPDATE pf_ref_career_paths SET path_name = :1, industry = :2, from_role = :3, to_role = :4,
                 typical_years = :5, required_skills = :6, steps = :7, description = :8, is_active = :9, updated_at = :10
                 WHERE path_id = :11"
            ),
            &args![
                &v.name,
                v.industry.clone(),
                v.from_role.clone(),
                &v.to_role,
                v.typical_years,
                required,
                steps,
                v.description.clone(),
                yes(active),
                now,
                id
            ],
        )?;
    }
    Ok(())
}

fn path_json(p: &CareerPath) -> serde_json::Value {
    json!({
        "name": p.name,
        "industry": p.industry,
        "from_role": p.from_role,
        "to_role": p.to_role,
        "typical_years": p.typical_years,
        "required": p.required.iter().map(|s| json!({ "skill_id": s.skill_id, "name": s.name, "level": s.level })).collect::<Vec<_>>(),
        "steps": p.steps,
        "description": p.description,
        "active": p.active,
    })
}

/// Refused unless every skill of `required` is an active skill of `catalog`.
fn required_in_catalog(required: &[(String, i64)], catalog: &[Skill]) -> AppResult<()> {
    for (id, _) in required {
        match catalog.iter().find(|s| &s.id == id) {
            None => return Err(AppError::invalid(format!("No skill of the catalog has the id {id:?}."))),
            Some(s) if !s.active => {
                return Err(AppError::invalid(format!("The skill {:?} is retired: a path cannot require it.", s.name)))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

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

    fn career_paths(&self, q: &PathQuery) -> AppResult<Vec<CareerPath>> {
        let pattern = format!("%{}%", escape_like(&q.text.trim().to_lowercase()));
        let industry = Some(q.industry.trim().to_string()).filter(|c| !c.is_empty());
        let active = active_filter(&q.active)?.map(yes);
        self.read(|c| {
            let catalog = all_skills(c)?;
            c.query_map(
                sql!(
                    "SELECT path_id, path_name, industry, from_role, to_role, typical_years, required_skills, steps,
                     description, is_active, updated_at FROM pf_ref_career_paths
                     WHERE (LOWER(path_name) LIKE :1 ESCAPE '\\' OR LOWER(to_role) LIKE :2 ESCAPE '\\')
                     AND (:3 IS NULL OR industry = :4) AND (:5 IS NULL OR is_active = :6)
                     ORDER BY LOWER(path_name), path_id",
                    limit "1000"
                ),
                &args![pattern.as_str(), pattern.as_str(), industry.clone(), industry, active, active],
                |r| path_row(r, &catalog),
            )
        })
    }

    fn save_career_path(&self, path_id: Option<&str>, edit: &PathEdit, audit: &AuditEntry) -> AppResult<CareerPath> {
        let v = edit.validated()?;
        self.write(|c| {
            let catalog = all_skills(c)?;
            required_in_catalog(&v.required, &catalog)?;
            let before = match path_id {
                Some(id) => Some(path_by_id(c, id, &catalog)?.ok_or_else(|| AppError::NotFound("That career path".into()))?),
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
            let entry =
                AuditEntry { action: if before.is_some() { PATH_UPDATE } else { PATH_CREATE }.name.into(), ..audit.clone() };
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
