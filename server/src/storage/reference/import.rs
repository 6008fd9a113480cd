//! Reference data's CSV files: each goes out in the columns its import reads, and
//! comes back in through a dry run. An import checks every line against the table
//! as the lines before it leave it, says what it would do with each (added,
//! changed, unchanged, refused with the reason) and writes only when no line is
//! refused: one transaction, each row's change with its before and after, and the
//! counts in the import's own row.

use super::rows::{
    all_paths, all_skills, name_clash, path_by_id, path_json, paths_requiring, required_in_catalog, skill_by_id,
    skill_json, write_path, write_skill, yes, PATH, SKILL,
};
use crate::export::{encode_table, restored, Format};
use crate::storage::audit::append;
use crate::storage::driver::Conn;
use crate::storage::store::Store;
use pathfinder::reference::{
    CareerPath, ImportLine, ImportReport, PathEdit, RequiredSkill, Skill, SkillEdit, ValidPath, ValidSkill,
    IMPORT_MAX_BYTES, PATH_CSV_COLUMNS, SKILL_CSV_COLUMNS,
};
use pathfinder::storage::{Action, AuditEntry, PATH_CREATE, PATH_UPDATE, SKILL_CREATE, SKILL_UPDATE};
use pathfinder::{AppError, AppResult};
use std::collections::HashMap;

/// A row of a reference table, as an import compares it.
trait Kept: Clone {
    fn id(&self) -> &str;
    fn name(&self) -> &str;
    /// What a change's audit row holds (and what "unchanged" compares).
    fn json(&self) -> serde_json::Value;
}

impl Kept for Skill {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn json(&self) -> serde_json::Value {
        skill_json(self)
    }
}

impl Kept for CareerPath {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn json(&self) -> serde_json::Value {
        path_json(self)
    }
}

/// A line's checked value, by the name it gives its row.
trait Named {
    fn name(&self) -> &str;
}

impl Named for ValidSkill {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for ValidPath {
    fn name(&self) -> &str {
        &self.name
    }
}

/// One line of an import: its number in the file (the header is line 1), the row
/// it is about (by its id, else its name; none for a new row), what it sets or why
/// it is refused, and its last column (`is_active`).
struct Line<V> {
    line: u64,
    target: Option<String>,
    value: Result<V, String>,
    active: bool,
}

/// The lines of an import's CSV, each read by `parse` from its cells (the export's
/// formula guard removed), and the row of `rows` each is about. A file too big,
/// not CSV or not in `columns` is refused as a whole.
fn read_lines<V: Named, T: Kept>(
    text: &str,
    (columns, what): (&[&str], &str),
    rows: &[T],
    parse: impl Fn(&dyn Fn(usize) -> String) -> Result<V, String>,
) -> AppResult<Vec<Line<V>>> {
    if text.len() > IMPORT_MAX_BYTES {
        return Err(AppError::invalid(format!("A file is at most {} MB.", IMPORT_MAX_BYTES / 1024 / 1024)));
    }
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| AppError::invalid(format!("Not a CSV file: {e}")))?;
    if !header.iter().eq(columns.iter().copied()) {
        return Err(AppError::invalid(format!("The first line must be the columns {}.", columns.join(","))));
    }
    let mut lines = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| AppError::invalid(format!("The file is not CSV this import reads: {e}")))?;
        let cell = |i: usize| restored(record.get(i).unwrap_or("")).to_string();
        let active = match cell(columns.len() - 1).trim() {
            "" | "Y" | "y" => Ok(true),
            "N" | "n" => Ok(false),
            other => Err(format!("is_active is Y or N, not {other:?}")),
        };
        let mut value = parse(&cell).and_then(|v| active.clone().map(|_| v));
        let id = cell(0).trim().to_string();
        let target = if !id.is_empty() {
            let found = rows.iter().any(|r| r.id() == id);
            if !found && value.is_ok() {
                value = Err(format!("No {what} has the id {id:?}."));
            }
            found.then_some(id)
        } else {
            let name = value.as_ref().map(|v| v.name().to_string()).unwrap_or_default();
            rows.iter().find(|r| !name.is_empty() && r.name().eq_ignore_ascii_case(&name)).map(|r| r.id().to_string())
        };
        lines.push(Line {
            line: record.position().map_or(0, |p| p.line()),
            target,
            value,
            active: active.unwrap_or(true),
        });
    }
    Ok(lines)
}

/// Every line's outcome, in the file's order, against `rows` as the lines before
/// it leave them: a line about a row another line is about is refused, then any
/// line `check` refuses (given the rows so far); the others `make` their row.
fn plan<V: Named, T: Kept>(
    (lines, what): (&[Line<V>], &str),
    rows: &[T],
    check: impl Fn(&Line<V>, &V, &str, &[T]) -> Option<String>,
    make: impl Fn(&V, &str, bool) -> T,
) -> ImportReport {
    let mut after: Vec<T> = rows.to_vec();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut report = ImportReport { lines: Vec::new(), written: false };
    for l in lines {
        let mut refused = l.value.as_ref().err().cloned();
        let id = l.target.clone().unwrap_or_else(|| format!("new line {}", l.line));
        if let (Ok(v), None) = (&l.value, &refused) {
            let key = l.target.clone().unwrap_or_else(|| v.name().to_lowercase());
            refused = match first_line.get(&key) {
                Some(line) => Some(format!("Line {line} is about this {what} too.")),
                None => check(l, v, &id, &after),
            };
            first_line.insert(key, l.line);
            if refused.is_none() {
                let next = make(v, &id, l.active);
                match after.iter_mut().find(|r| r.id() == id) {
                    Some(r) => *r = next,
                    None => after.push(next),
                }
            }
        }
        let was = l.target.as_ref().and_then(|t| rows.iter().find(|r| r.id() == t)).map(Kept::json);
        let outcome = match (&refused, was) {
            (Some(_), _) => "refused",
            (None, None) => "added",
            (None, was) if was == after.iter().find(|r| r.id() == id).map(Kept::json) => "unchanged",
            (None, _) => "changed",
        };
        let name = l.value.as_ref().map(|v| v.name().to_string()).unwrap_or_default();
        report.lines.push(ImportLine { line: l.line, name, outcome: outcome.into(), reason: refused });
    }
    report
}

/// A checked import written, unless `dry_run` or a line is refused: in one
/// transaction, refused (`Conflict`) if the table is no longer what was checked
/// (`same`), each added or changed line's row `write`n with its audit row (before
/// and after), and the counts in `audit`'s own row.
#[allow(clippy::too_many_arguments)]
fn apply<V, T: Kept>(
    store: &Store,
    (lines, rows, report): (&[Line<V>], &[T], &mut ImportReport),
    dry_run: bool,
    entity: &str,
    (create, update): (Action, Action),
    same: impl Fn(&mut Conn) -> AppResult<bool>,
    write: impl Fn(&mut Conn, &str, &V, bool, bool) -> AppResult<T>,
    audit: &AuditEntry,
) -> AppResult<()> {
    if dry_run || report.count("refused") > 0 {
        return Ok(());
    }
    let counts = format!(
        "{} added, {} changed, {} unchanged",
        report.count("added"),
        report.count("changed"),
        report.count("unchanged")
    );
    store.write(|c| {
        if !same(c)? {
            return Err(AppError::Conflict("It changed during the import: run the import again.".into()));
        }
        for (l, said) in lines.iter().zip(&report.lines) {
            let (Ok(v), false) = (&l.value, said.outcome == "unchanged") else { continue };
            let id = l.target.clone().unwrap_or_else(pathfinder::new_id);
            let before = l.target.as_ref().and_then(|t| rows.iter().find(|r| r.id() == t));
            let written = write(c, &id, v, l.active, before.is_none())?;
            let action = if before.is_none() { create } else { update };
            let entry = AuditEntry { action: action.name.into(), ..audit.clone() };
            append::change(c, &entry, (entity, &id), before.map(Kept::json), Some(written.json()))?;
        }
        append::insert(c, &audit.clone().with_detail(counts.clone()))
    })?;
    report.written = true;
    Ok(())
}

pub(super) fn export_skills(store: &Store) -> AppResult<String> {
    let skills = store.read(all_skills)?;
    let rows = skills.into_iter().map(|s| {
        [
            s.id,
            s.name,
            s.category.unwrap_or_default(),
            s.description.unwrap_or_default(),
            s.aliases.join("; "),
            s.market_demand.map(|n| n.to_string()).unwrap_or_default(),
            yes(s.active).to_string(),
        ]
    });
    let bytes = encode_table(Format::Csv, &SKILL_CSV_COLUMNS, rows, true)?;
    String::from_utf8(bytes).map_err(AppError::internal)
}

/// A skill's line: a name or alias names one skill, and a skill an active path
/// requires is not retired.
pub(super) fn import_skills(store: &Store, text: &str, dry_run: bool, audit: &AuditEntry) -> AppResult<ImportReport> {
    let catalog = store.read(all_skills)?;
    let lines = read_lines(text, (&SKILL_CSV_COLUMNS, "skill"), &catalog, |cell| {
        let edit = SkillEdit {
            name: cell(1),
            category: cell(2),
            description: cell(3),
            aliases: cell(4),
            market_demand: cell(5),
        };
        edit.validated().map_err(|e| e.to_string())
    })?;
    // The active paths that require each skill a line retires, in one read.
    let retiring: Vec<&String> = lines.iter().filter(|l| !l.active).filter_map(|l| l.target.as_ref()).collect();
    let needed_by: HashMap<String, Vec<String>> = store
        .read(|c| retiring.iter().map(|t| Ok(((*t).clone(), paths_requiring(c, t)?))).collect::<AppResult<_>>())?;
    let check = |l: &Line<ValidSkill>, v: &ValidSkill, id: &str, after: &[Skill]| match name_clash(v, Some(id), after) {
        Some(why) => Some(format!("{why}: a name or alias names one skill.")),
        None => needed_by.get(id).filter(|paths| !l.active && !paths.is_empty()).map(|paths| {
            format!("It is required by the active career paths {}: it cannot be retired.", paths.join(", "))
        }),
    };
    let make = |v: &ValidSkill, id: &str, active: bool| Skill {
        id: id.to_string(),
        name: v.name.clone(),
        category: v.category.clone(),
        description: v.description.clone(),
        aliases: v.aliases.clone(),
        market_demand: v.market_demand,
        active,
        updated_at: None,
    };
    let mut report = plan((&lines, "skill"), &catalog, check, make);
    let same = |c: &mut Conn| Ok(all_skills(c)?.iter().map(skill_json).eq(catalog.iter().map(skill_json)));
    let write = |c: &mut Conn, id: &str, v: &ValidSkill, active: bool, creating: bool| {
        write_skill(c, id, v, active, creating)?;
        skill_by_id(c, id)?.ok_or_else(|| AppError::internal("the skill just written is gone"))
    };
    let table = (&lines[..], &catalog[..], &mut report);
    apply(store, table, dry_run, SKILL, (SKILL_CREATE, SKILL_UPDATE), same, write, audit)?;
    Ok(report)
}

/// A path's required skills as the CSV has them: one a line, `name: level`.
fn required_cell(p: &CareerPath) -> String {
    let lines: Vec<String> =
        p.required.iter().map(|s| format!("{}: {}", s.name.as_deref().unwrap_or(&s.skill_id), s.level)).collect();
    lines.join("\n")
}

pub(super) fn export_paths(store: &Store) -> AppResult<String> {
    let paths = store.read(|c| {
        let catalog = all_skills(c)?;
        all_paths(c, &catalog)
    })?;
    let rows = paths.into_iter().map(|p| {
        [
            p.id.clone(),
            p.name.clone(),
            p.industry.clone().unwrap_or_default(),
            p.from_role.clone().unwrap_or_default(),
            p.to_role.clone(),
            p.typical_years.map(|y| y.to_string()).unwrap_or_default(),
            required_cell(&p),
            p.steps.join("\n"),
            p.description.clone().unwrap_or_default(),
            yes(p.active).to_string(),
        ]
    });
    let bytes = encode_table(Format::Csv, &PATH_CSV_COLUMNS, rows, true)?;
    String::from_utf8(bytes).map_err(AppError::internal)
}

/// A path's cells checked, its required skills found in `catalog` by name (any
/// case) or id.
fn path_line(cell: &dyn Fn(usize) -> String, catalog: &[Skill]) -> Result<ValidPath, String> {
    let (mut skill_ids, mut levels) = (Vec::new(), Vec::new());
    for required in cell(6).lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (name, level) = required.rsplit_once(':').unwrap_or((required, ""));
        let name = name.trim();
        let skill = catalog
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name) || s.id == name)
            .ok_or_else(|| format!("No skill of the catalog is named {name:?}."))?;
        skill_ids.push(skill.id.clone());
        levels.push(level.trim().to_string());
    }
    let edit = PathEdit {
        name: cell(1),
        industry: cell(2),
        from_role: cell(3),
        to_role: cell(4),
        typical_years: cell(5),
        skill_ids,
        levels,
        steps: cell(7),
        description: cell(8),
    };
    edit.validated().map_err(|e| e.to_string())
}

/// A path's line: a name names one path, and an active path requires active
/// skills only (a retired one may keep retired skills: restoring it is refused).
pub(super) fn import_paths(store: &Store, text: &str, dry_run: bool, audit: &AuditEntry) -> AppResult<ImportReport> {
    let (catalog, paths) = store.read(|c| {
        let catalog = all_skills(c)?;
        let paths = all_paths(c, &catalog)?;
        Ok((catalog, paths))
    })?;
    let lines = read_lines(text, (&PATH_CSV_COLUMNS, "career path"), &paths, |cell| path_line(cell, &catalog))?;
    let check = |l: &Line<ValidPath>, v: &ValidPath, id: &str, after: &[CareerPath]| {
        if after.iter().any(|p| p.id != id && p.name.eq_ignore_ascii_case(&v.name)) {
            return Some(format!("Another career path is named {:?}.", v.name));
        }
        l.active.then(|| required_in_catalog(&v.required, &catalog).err().map(|e| e.to_string())).flatten()
    };
    let make = |v: &ValidPath, id: &str, active: bool| CareerPath {
        id: id.to_string(),
        name: v.name.clone(),
        industry: v.industry.clone(),
        from_role: v.from_role.clone(),
        to_role: v.to_role.clone(),
        typical_years: v.typical_years,
        required: v
            .required
            .iter()
            .map(|(skill_id, level)| RequiredSkill {
                skill_id: skill_id.clone(),
                name: catalog.iter().find(|s| &s.id == skill_id).map(|s| s.name.clone()),
                level: *level,
            })
            .collect(),
        steps: v.steps.clone(),
        description: v.description.clone(),
        active,
        updated_at: None,
    };
    let mut report = plan((&lines, "career path"), &paths, check, make);
    // The paths as checked, and the catalog their skills were checked against.
    let same = |c: &mut Conn| {
        let now = all_skills(c)?;
        Ok(now.iter().map(skill_json).eq(catalog.iter().map(skill_json))
            && all_paths(c, &now)?.iter().map(path_json).eq(paths.iter().map(path_json)))
    };
    let write = |c: &mut Conn, id: &str, v: &ValidPath, active: bool, creating: bool| {
        write_path(c, id, v, active, creating)?;
        path_by_id(c, id, &catalog)?.ok_or_else(|| AppError::internal("the path just written is gone"))
    };
    let table = (&lines[..], &paths[..], &mut report);
    apply(store, table, dry_run, PATH, (PATH_CREATE, PATH_UPDATE), same, write, audit)?;
    Ok(report)
}
