//! The rows of the two reference tables: read, written, and as the audit log keeps
//! them (their before and after), for the edits and the imports alike.

use super::super::driver::{Conn, ReadRow, Row};
use crate::{args, sql};
use pathfinder::filter::escape_like;
use pathfinder::reference::{CareerPath, RequiredSkill, Skill, ValidPath, ValidSkill};
use pathfinder::{AppError, AppResult};
use serde_json::json;

pub(super) const SKILL: &str = "skill";
pub(super) const PATH: &str = "career_path";

pub(super) fn yes(b: bool) -> &'static str {
    if b {
        "Y"
    } else {
        "N"
    }
}

/// A skill from `skill_id, skill_name, skill_category, description, aliases,
/// market_demand_score, is_active, updated_at`.
pub(super) fn skill_row(r: &dyn Row) -> AppResult<Skill> {
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

pub(super) fn skill_by_id(c: &mut Conn, id: &str) -> AppResult<Option<Skill>> {
    let row = c.query_opt(
        sql!(
            "SELECT skill_id, skill_name, skill_category, description, aliases, market_demand_score, is_active, updated_at
             FROM pf_ref_skills_catalog WHERE skill_id = :1"
        ),
        &args![id],
    )?;
    row.map(|r| skill_row(&r)).transpose()
}

pub(super) fn all_skills(c: &mut Conn) -> AppResult<Vec<Skill>> {
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
pub(super) fn skill_json(s: &Skill) -> serde_json::Value {
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
pub(super) fn clash<'a>(name: &str, others: impl Iterator<Item = &'a Skill>) -> Option<String> {
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
pub(super) fn name_clash(v: &ValidSkill, id: Option<&str>, catalog: &[Skill]) -> Option<String> {
    let others = || catalog.iter().filter(|o| Some(o.id.as_str()) != id);
    std::iter::once(&v.name).chain(&v.aliases).find_map(|n| clash(n, others()))
}

/// The active career paths that require skill `id`, by name.
pub(super) fn paths_requiring(c: &mut Conn, id: &str) -> AppResult<Vec<String>> {
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

pub(super) fn write_skill(c: &mut Conn, id: &str, v: &ValidSkill, active: bool, creating: bool) -> AppResult<()> {
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
pub(super) fn path_row(r: &dyn Row, catalog: &[Skill]) -> AppResult<CareerPath> {
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

pub(super) fn path_by_id(c: &mut Conn, id: &str, catalog: &[Skill]) -> AppResult<Option<CareerPath>> {
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
pub(super) fn all_paths(c: &mut Conn, catalog: &[Skill]) -> AppResult<Vec<CareerPath>> {
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
pub(super) fn write_path(c: &mut Conn, id: &str, v: &ValidPath, active: bool, creating: bool) -> AppResult<()> {
    let required =
        json!(v.required.iter().map(|(id, level)| json!({ "skill_id": id, "level": level })).collect::<Vec<_>>())
            .to_string();
    let steps = json!(v.steps).to_string();
    let now = chrono::Utc::now();
    // The same values for both: a new row's creation time after them.
    let values = args![
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
        id,
        now
    ];
    if creating {
        c.execute(
            sql!(
                "INSERT INTO pf_ref_career_paths (path_name, industry, from_role, to_role, typical_years,
                 required_skills, steps, description, is_active, updated_at, path_id, created_at)
                 VALUES (:1, :2, :3, :4, :5, :6, :7, :8, :9, :10, :11, :12)"
            ),
            &values,
        )?;
    } else {
        c.execute(
            sql!(
                "UPDATE pf_ref_career_paths SET path_name = :1, industry = :2, from_role = :3, to_role = :4,
                 typical_years = :5, required_skills = :6, steps = :7, description = :8, is_active = :9, updated_at = :10
                 WHERE path_id = :11"
            ),
            &values[..11],
        )?;
    }
    Ok(())
}

pub(super) fn path_json(p: &CareerPath) -> serde_json::Value {
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
pub(super) fn required_in_catalog(required: &[(String, i64)], catalog: &[Skill]) -> AppResult<()> {
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
