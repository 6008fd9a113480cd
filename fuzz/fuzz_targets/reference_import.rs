//! The reference data's CSV import (skills and career paths), dry run, against a
//! small catalog in a real SQLite database. Any file gets a report or a sentence,
//! never a failure of ours, and a dry run changes nothing. The input's first byte
//! chooses the file: odd for skills (`S`), even for career paths (`T`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pathfinder::reference::{PathEdit, SkillEdit};
use pathfinder::storage::{AuditEntry, ReferenceStore, SchemaStore};
use pathfinder::AppError;
use pathfinder_server::storage::Store;
use std::sync::OnceLock;

struct Catalog {
    store: Store,
    skills: String,
    paths: String,
    _dir: tempfile::TempDir,
}

fn audit(action: &str) -> AuditEntry {
    AuditEntry {
        action: action.into(),
        response_status: 200,
        request_method: Some("FUZZ".into()),
        ..Default::default()
    }
}

fn skill(name: &str, aliases: &str) -> SkillEdit {
    SkillEdit {
        name: name.into(),
        category: "technical".into(),
        description: format!("{name}, as the catalog has it"),
        aliases: aliases.into(),
        market_demand: "70".into(),
    }
}

/// Two skills, a path that requires one, and the catalog's own exports.
fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = Store::open_sqlite(&dir.path().join("pf.db")).expect("a database");
        store.migrate(&audit("schema.migrate")).expect("migrated");
        let rust = store.save_skill(None, &skill("Rust", "rustlang; rust-lang"), &audit("reference.skill.create"));
        let rust = rust.expect("a skill");
        store.save_skill(None, &skill("=SQL", "sql"), &audit("reference.skill.create")).expect("a skill");
        let path = PathEdit {
            name: "Analyst to engineer".into(),
            industry: "software".into(),
            from_role: "Analyst".into(),
            to_role: "Engineer".into(),
            typical_years: "3".into(),
            skill_ids: vec![rust.id],
            levels: vec!["4".into()],
            steps: "Learn\nShip".into(),
            description: "-a path".into(),
        };
        store.save_career_path(None, &path, &audit("reference.path.create")).expect("a path");
        let skills = store.export_skills_csv().expect("skills export");
        let paths = store.export_career_paths_csv().expect("paths export");
        // The catalog's own export imports as unchanged, line for line.
        let s = store.import_skills_csv(&skills, true, &audit("reference.skills.import")).expect("own skills");
        let p = store.import_career_paths_csv(&paths, true, &audit("reference.paths.import")).expect("own paths");
        assert!(s.lines.iter().chain(&p.lines).all(|l| l.outcome == "unchanged"), "{s:?} {p:?}");
        Catalog { store, skills, paths, _dir: dir }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, csv)) = data.split_first() else { return };
    let csv = String::from_utf8_lossy(csv);
    let c = catalog();
    let report = if which % 2 == 1 {
        c.store.import_skills_csv(&csv, true, &audit("reference.skills.import"))
    } else {
        c.store.import_career_paths_csv(&csv, true, &audit("reference.paths.import"))
    };
    match report {
        Ok(r) => assert!(!r.written, "a dry run wrote"),
        Err(AppError::Invalid(_)) => {}
        Err(e) => panic!("not a sentence about the file: {e:?}"),
    }
    assert_eq!(c.store.export_skills_csv().expect("skills export"), c.skills);
    assert_eq!(c.store.export_career_paths_csv().expect("paths export"), c.paths);
});
