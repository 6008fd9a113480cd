//! Reference data as the console curates it: the skills catalog and the career
//! paths built on it, their edits (validated here, once), and a CSV import's report.
//! Storage's side is `storage::ReferenceStore`.

use crate::dto::Timestamp;
use crate::{AppError, AppResult};
use serde::{Deserialize, Serialize};

/// A skill of the catalog (`pf_ref_skills_catalog`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skill {
    pub id: String,
    pub name: String,
    pub category: Option<String>,
    pub description: Option<String>,
    /// Other names people use for it: each names this skill only.
    pub aliases: Vec<String>,
    pub market_demand: Option<i64>,
    pub active: bool,
    pub updated_at: Option<Timestamp>,
}

/// What an administrator sets on a skill.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SkillEdit {
    pub name: String,
    pub category: String,
    pub description: String,
    /// Separated by `;` (as the CSV has them).
    pub aliases: String,
    pub market_demand: String,
}

/// A skill edit, checked: what storage writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSkill {
    pub name: String,
    pub category: Option<String>,
    pub description: Option<String>,
    pub aliases: Vec<String>,
    pub market_demand: Option<i64>,
}

fn optional(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

fn bounded(what: &str, s: &str, max: usize) -> AppResult<()> {
    if s.len() > max {
        return Err(AppError::invalid(format!("{what} is at most {max} bytes.")));
    }
    Ok(())
}

impl SkillEdit {
    pub fn validated(&self) -> AppResult<ValidSkill> {
        let name = self.name.trim().to_string();
        if name.is_empty() {
            return Err(AppError::invalid("A skill needs a name."));
        }
        bounded("A skill's name", &name, 100)?;
        bounded("A category", self.category.trim(), 50)?;
        bounded("A description", self.description.trim(), 4_000)?;
        let mut aliases: Vec<String> = Vec::new();
        for alias in self.aliases.split(';').map(str::trim).filter(|a| !a.is_empty()) {
            bounded("An alias", alias, 100)?;
            if alias.eq_ignore_ascii_case(&name) {
                return Err(AppError::invalid(format!("The alias {alias:?} is the skill's own name.")));
            }
            if aliases.iter().any(|a| a.eq_ignore_ascii_case(alias)) {
                return Err(AppError::invalid(format!("The alias {alias:?} is there twice.")));
            }
            aliases.push(alias.to_string());
        }
        let market_demand = match self.market_demand.trim() {
            "" => None,
            n => Some(
                n.parse::<i64>()
                    .ok()
                    .filter(|n| (0..=100).contains(n))
                    .ok_or_else(|| AppError::invalid("Market demand is a whole number from 0 to 100."))?,
            ),
        };
        Ok(ValidSkill {
            name,
            category: optional(&self.category),
            description: optional(&self.description),
            aliases,
            market_demand,
        })
    }
}

/// The skills list's filter: a text in the name or an alias, a category, active or
/// retired.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillQuery {
    pub text: String,
    pub category: String,
    /// `yes`, `no` or empty (either).
    pub active: String,
}

/// `yes`/`no`/empty as a filter.
pub fn active_filter(s: &str) -> AppResult<Option<bool>> {
    match s {
        "" => Ok(None),
        "yes" => Ok(Some(true)),
        "no" => Ok(Some(false)),
        _ => Err(AppError::invalid("Active is yes, no or empty.")),
    }
}

/// A skill a career path requires, at a level (1 to 5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequiredSkill {
    pub skill_id: String,
    /// The catalog's name for it (none if it has gone from the catalog).
    pub name: Option<String>,
    pub level: i64,
}

/// A career path (`pf_ref_career_paths`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CareerPath {
    pub id: String,
    pub name: String,
    pub industry: Option<String>,
    pub from_role: Option<String>,
    pub to_role: String,
    pub typical_years: Option<f64>,
    pub required: Vec<RequiredSkill>,
    pub steps: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    pub updated_at: Option<Timestamp>,
}

/// What an administrator sets on a path: fields, not JSON. The required skills are
/// rows of skill and level (empty rows ignored); the steps one a line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PathEdit {
    pub name: String,
    pub industry: String,
    pub from_role: String,
    pub to_role: String,
    pub typical_years: String,
    pub skill_ids: Vec<String>,
    pub levels: Vec<String>,
    pub steps: String,
    pub description: String,
}

/// A path edit, checked but for the catalog (storage checks the skills exist).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidPath {
    pub name: String,
    pub industry: Option<String>,
    pub from_role: Option<String>,
    pub to_role: String,
    pub typical_years: Option<f64>,
    pub required: Vec<(String, i64)>,
    pub steps: Vec<String>,
    pub description: Option<String>,
}

/// The most skills a path requires, and steps it has.
pub const PATH_SKILLS_MAX: usize = 12;
pub const PATH_STEPS_MAX: usize = 20;

impl PathEdit {
    pub fn validated(&self) -> AppResult<ValidPath> {
        let name = self.name.trim().to_string();
        if name.is_empty() {
            return Err(AppError::invalid("A career path needs a name."));
        }
        bounded("A path's name", &name, 200)?;
        let to_role = self.to_role.trim().to_string();
        if to_role.is_empty() {
            return Err(AppError::invalid("Say which role the path leads to."));
        }
        bounded("A role", &to_role, 200)?;
        bounded("A role", self.from_role.trim(), 200)?;
        bounded("An industry", self.industry.trim(), 100)?;
        bounded("A description", self.description.trim(), 4_000)?;
        let typical_years = match self.typical_years.trim() {
            "" => None,
            y => Some(
                y.parse::<f64>()
                    .ok()
                    .filter(|y| (0.0..=50.0).contains(y))
                    .map(|y| (y * 10.0).round() / 10.0)
                    .ok_or_else(|| AppError::invalid("Typical years is a number from 0 to 50."))?,
            ),
        };
        let mut required: Vec<(String, i64)> = Vec::new();
        for (i, id) in self.skill_ids.iter().enumerate() {
            let id = id.trim();
            if id.is_empty() {
                continue;
            }
            let level = self.levels.get(i).map(|l| l.trim()).unwrap_or("");
            let level = match level {
                "" => 1,
                l => l
                    .parse::<i64>()
                    .ok()
                    .filter(|l| (1..=5).contains(l))
                    .ok_or_else(|| AppError::invalid("A required skill's level is 1 to 5."))?,
            };
            if required.iter().any(|(r, _)| r == id) {
                return Err(AppError::invalid("A skill is required twice."));
            }
            required.push((id.to_string(), level));
        }
        if required.len() > PATH_SKILLS_MAX {
            return Err(AppError::invalid(format!("A path requires at most {PATH_SKILLS_MAX} skills.")));
        }
        let steps: Vec<String> =
            self.steps.lines().map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
        if steps.len() > PATH_STEPS_MAX {
            return Err(AppError::invalid(format!("A path has at most {PATH_STEPS_MAX} steps.")));
        }
        if let Some(long) = steps.iter().find(|s| s.len() > 300) {
            // Its first 40 characters: a cut at 40 bytes fell inside a character (a fuzz find).
            let start: String = long.chars().take(40).collect();
            return Err(AppError::invalid(format!("A step is at most 300 bytes: {start:?}…")));
        }
        Ok(ValidPath {
            name,
            industry: optional(&self.industry),
            from_role: optional(&self.from_role),
            to_role,
            typical_years,
            required,
            steps,
            description: optional(&self.description),
        })
    }
}

/// The career paths list's filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathQuery {
    pub text: String,
    pub industry: String,
    pub active: String,
}

/// What an import did (or would do) with one line of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportLine {
    /// The line in the file (the header is line 1).
    pub line: u64,
    pub name: String,
    /// `added`, `changed`, `unchanged` or `refused`.
    pub outcome: String,
    pub reason: Option<String>,
}

/// An import's report: every line's outcome; `written` when it was applied (not a
/// dry run, and no line refused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub lines: Vec<ImportLine>,
    pub written: bool,
}

impl ImportReport {
    pub fn count(&self, outcome: &str) -> usize {
        self.lines.iter().filter(|l| l.outcome == outcome).count()
    }
}

/// The skills CSV's columns, for export and import alike.
pub const SKILL_CSV_COLUMNS: [&str; 7] =
    ["skill_id", "skill_name", "skill_category", "description", "aliases", "market_demand_score", "is_active"];

/// The career paths CSV's columns, for export and import alike. A path's required
/// skills are one a line (`skill name: level`), as are its steps.
pub const PATH_CSV_COLUMNS: [&str; 10] = [
    "path_id",
    "path_name",
    "industry",
    "from_role",
    "to_role",
    "typical_years",
    "required_skills",
    "steps",
    "description",
    "is_active",
];

/// The largest CSV an import takes.
pub const IMPORT_MAX_BYTES: usize = 2 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_are_checked_before_storage_sees_them() {
        let skill = |f: fn(&mut SkillEdit)| {
            let mut e = SkillEdit { name: "Excel".into(), ..Default::default() };
            f(&mut e);
            e.validated()
        };
        assert!(skill(|e| e.name = " ".into()).is_err());
        assert!(skill(|e| e.market_demand = "101".into()).is_err());
        assert!(skill(|e| e.aliases = "excel".into()).is_err(), "its own name");
        assert!(skill(|e| e.aliases = "MS Excel; ms excel".into()).is_err(), "twice");
        let ok = skill(|e| e.aliases = " MS Excel ;; Spreadsheets ".into()).unwrap();
        assert_eq!(ok.aliases, ["MS Excel", "Spreadsheets"]);
        let path = |f: fn(&mut PathEdit)| {
            let mut e = PathEdit { name: "Up".into(), to_role: "Controller".into(), ..Default::default() };
            f(&mut e);
            e.validated()
        };
        assert!(path(|e| e.to_role = "".into()).is_err());
        assert!(path(|e| e.typical_years = "-1".into()).is_err());
        // A long step of three-byte characters: refused with a sentence (once a panic,
        // the reference import's fuzz target found).
        assert!(matches!(path(|e| e.steps = "x".repeat(39) + &"\u{fffd}".repeat(100)), Err(AppError::Invalid(_))));
        assert!(path(|e| {
            e.skill_ids = vec!["A".into()];
            e.levels = vec!["6".into()];
        })
        .is_err());
        assert!(path(|e| e.skill_ids = vec!["A".into(), "A".into()]).is_err());
        let ok = path(|e| {
            e.skill_ids = vec!["A".into(), "".into(), "B".into()];
            e.levels = vec!["3".into(), "".into(), "".into()];
            e.steps = "Senior accountant\n\n  Manager \n".into();
        })
        .unwrap();
        assert_eq!(ok.required, [("A".to_string(), 3), ("B".to_string(), 1)]);
        assert_eq!(ok.steps, ["Senior accountant", "Manager"]);
    }
}
