//! Reference data: skills and career paths edited with their before and after,
//! retired (never deleted) by the rules, and the skills and career paths CSVs: a
//! dry run that says what the real run does, nothing written while a line is
//! refused, and an export that comes back in unchanged.

use crate::common::audit;
use crate::Harness;
use pathfinder::reference::{PathEdit, PathQuery, SkillEdit, SkillQuery};
use pathfinder::storage::Storage;
use pathfinder::AppError;

checks! {
    skills_are_edited_with_before_and_after_and_a_name_names_one_skill,
    retiring_follows_the_paths_that_require_a_skill,
    a_skills_import_dry_run_says_what_the_real_run_does,
    a_career_paths_import_checks_names_and_skills_and_round_trips,
}

fn skill(name: &str, aliases: &str) -> SkillEdit {
    SkillEdit { name: name.into(), category: "conf".into(), aliases: aliases.into(), ..Default::default() }
}

fn find(s: &dyn Storage, name: &str) -> Option<pathfinder::reference::Skill> {
    s.skills(&SkillQuery { text: name.into(), ..Default::default() }).unwrap().into_iter().find(|k| k.name == name)
}

fn skills_are_edited_with_before_and_after_and_a_name_names_one_skill(h: &Harness) {
    let s = h.s();
    let excel =
        s.save_skill(None, &skill("ConfRef Excel", "ConfRef Sheets"), &audit("reference.skill.create")).unwrap();
    let row = s.recent_audit(1).unwrap().remove(0);
    assert_eq!((row.action.as_str(), row.entity_id.as_deref()), ("reference.skill.create", Some(excel.id.as_str())));
    assert!(row.detail.as_deref().unwrap().contains(r#""before":null"#));
    // Found by an alias too, any case.
    assert!(s
        .skills(&SkillQuery { text: "confref sheets".into(), ..Default::default() })
        .unwrap()
        .iter()
        .any(|k| k.id == excel.id));
    let mut edit = skill("ConfRef Excel", "ConfRef Sheets; ConfRef Spreadsheets");
    edit.market_demand = "70".into();
    let edited = s.save_skill(Some(&excel.id), &edit, &audit("reference.skill.update")).unwrap();
    assert_eq!(edited.aliases, ["ConfRef Sheets", "ConfRef Spreadsheets"]);
    let detail = s.recent_audit(1).unwrap().remove(0).detail.unwrap();
    let change: serde_json::Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(change["before"]["market_demand"], serde_json::Value::Null);
    assert_eq!(change["after"]["market_demand"], 70);
    // Another skill may not take its name or an alias, in any case.
    for (name, aliases) in [("confref excel", ""), ("ConfRef Word", "confref sheets"), ("ConfRef Sheets", "")] {
        let got = s.save_skill(None, &skill(name, aliases), &audit("reference.skill.create"));
        assert!(matches!(got, Err(AppError::Conflict(_))), "{name}: {got:?}");
    }
    assert!(find(s, "ConfRef Word").is_none(), "refused, nothing written");
    assert!(matches!(s.save_skill(Some("NOPE"), &skill("ConfRef X", ""), &audit("u")), Err(AppError::NotFound(_))));
}

fn retiring_follows_the_paths_that_require_a_skill(h: &Harness) {
    let s = h.s();
    let ledger = s.save_skill(None, &skill("ConfRef Ledger", ""), &audit("reference.skill.create")).unwrap();
    let path_edit = |skills: Vec<String>| PathEdit {
        name: "ConfRef Clerk to Controller".into(),
        industry: "ConfRef".into(),
        to_role: "Controller".into(),
        skill_ids: skills,
        levels: vec!["3".into()],
        steps: "Clerk\nAccountant\nController".into(),
        ..Default::default()
    };
    let path = s.save_career_path(None, &path_edit(vec![ledger.id.clone()]), &audit("reference.path.create")).unwrap();
    assert_eq!(path.required[0].name.as_deref(), Some("ConfRef Ledger"));
    assert_eq!(path.steps, ["Clerk", "Accountant", "Controller"]);
    // An unknown skill is refused; so is a second path of the same name.
    assert!(matches!(
        s.save_career_path(None, &path_edit(vec!["NOPE".into()]), &audit("reference.path.create")),
        Err(AppError::Invalid(_))
    ));
    assert!(matches!(
        s.save_career_path(None, &path_edit(vec![ledger.id.clone()]), &audit("reference.path.create")),
        Err(AppError::Conflict(_))
    ));
    // Required by an active path: not retired.
    let got = s.set_skill_active(&ledger.id, false, &audit("reference.skill.retire"));
    assert!(matches!(&got, Err(AppError::Conflict(m)) if m.contains("ConfRef Clerk to Controller")), "{got:?}");
    assert!(find(s, "ConfRef Ledger").unwrap().active);
    // Once the path is retired, the skill may be; the path then cannot come back.
    s.set_career_path_active(&path.id, false, &audit("reference.path.retire")).unwrap();
    let retired = s.set_skill_active(&ledger.id, false, &audit("reference.skill.retire")).unwrap();
    assert!(!retired.active, "retired, still there");
    assert!(matches!(s.set_career_path_active(&path.id, true, &audit("r")), Err(AppError::Conflict(_))));
    let paths =
        s.career_paths(&PathQuery { industry: "ConfRef".into(), ..Default::default() }, None, 50).unwrap().items;
    assert_eq!(paths.len(), 1);
    assert!(!paths[0].active);
    // A retired skill is required by no new path, and comes back when restored.
    assert!(matches!(
        s.save_career_path(Some(&path.id), &path_edit(vec![ledger.id.clone()]), &audit("u")),
        Err(AppError::Invalid(_))
    ));
    s.set_skill_active(&ledger.id, true, &audit("reference.skill.restore")).unwrap();
    s.set_career_path_active(&path.id, true, &audit("reference.path.restore")).unwrap();
}

fn a_skills_import_dry_run_says_what_the_real_run_does(h: &Harness) {
    let s = h.s();
    s.save_skill(None, &skill("ConfImp Audit", "ConfImp Assurance"), &audit("reference.skill.create")).unwrap();
    let keep = s.save_skill(None, &skill("ConfImp Tax", ""), &audit("reference.skill.create")).unwrap();
    let header = "skill_id,skill_name,skill_category,description,aliases,market_demand_score,is_active";
    let bad = format!(
        "{header}\n,ConfImp New,conf,,ConfImp Fresh,50,Y\n,ConfImp Audit,conf,Now described,ConfImp Assurance,,Y\n\
         {},ConfImp Tax,conf,,,,Y\n,ConfImp Other,conf,,confimp assurance,,Y\n,ConfImp Demand,conf,,,300,Y\n",
        keep.id
    );
    let before = s.export_skills_csv().unwrap();
    let check = s.import_skills_csv(&bad, true, &audit("reference.skills.import")).unwrap();
    let outcomes: Vec<(u64, &str)> = check.lines.iter().map(|l| (l.line, l.outcome.as_str())).collect();
    assert_eq!(outcomes, [(2, "added"), (3, "changed"), (4, "unchanged"), (5, "refused"), (6, "refused")]);
    assert!(check.lines[3].reason.as_deref().unwrap().contains("alias of the skill \"ConfImp Audit\""));
    assert!(check.lines[4].reason.as_deref().unwrap().contains("0 to 100"));
    // Refused lines: the real run writes nothing either, and says the same.
    let real = s.import_skills_csv(&bad, false, &audit("reference.skills.import")).unwrap();
    assert_eq!((real.lines.clone(), real.written), (check.lines.clone(), false));
    assert_eq!(s.export_skills_csv().unwrap(), before, "nothing written");
    // The two bad lines mended: the dry run's outcomes are the real run's.
    let good = bad.replace("confimp assurance", "ConfImp Review").replace(",300,", ",30,");
    let check = s.import_skills_csv(&good, true, &audit("reference.skills.import")).unwrap();
    assert!(!check.written);
    assert_eq!(s.export_skills_csv().unwrap(), before, "a dry run writes nothing");
    let real = s.import_skills_csv(&good, false, &audit("reference.skills.import")).unwrap();
    assert!(real.written);
    assert_eq!(real.lines, check.lines);
    assert_eq!(real.count("added"), 3);
    assert_eq!(find(s, "ConfImp Audit").unwrap().description.as_deref(), Some("Now described"));
    assert_eq!(s.recent_audit(1).unwrap()[0].detail.as_deref(), Some("3 added, 1 changed, 1 unchanged"));
    // What goes out comes back in unchanged.
    let out = s.export_skills_csv().unwrap();
    let again = s.import_skills_csv(&out, false, &audit("reference.skills.import")).unwrap();
    assert!(
        again.lines.iter().all(|l| l.outcome == "unchanged"),
        "{:?}",
        again.lines.iter().find(|l| l.outcome != "unchanged")
    );
    assert_eq!(s.export_skills_csv().unwrap(), out);
    // Not this CSV: refused as a whole.
    assert!(matches!(s.import_skills_csv("name\nx\n", true, &audit("i")), Err(AppError::Invalid(_))));
}

fn a_career_paths_import_checks_names_and_skills_and_round_trips(h: &Harness) {
    let s = h.s();
    let sql = s.save_skill(None, &skill("ConfPath SQL", ""), &audit("reference.skill.create")).unwrap();
    s.save_skill(None, &skill("ConfPath Tax", ""), &audit("reference.skill.create")).unwrap();
    let old = s.save_skill(None, &skill("ConfPath Old", ""), &audit("reference.skill.create")).unwrap();
    s.set_skill_active(&old.id, false, &audit("reference.skill.retire")).unwrap();
    let analyst = PathEdit {
        name: "ConfPath Analyst".into(),
        to_role: "Analyst".into(),
        skill_ids: vec![sql.id.clone()],
        levels: vec!["3".into()],
        ..Default::default()
    };
    let analyst = s.save_career_path(None, &analyst, &audit("reference.path.create")).unwrap();
    let header =
        "path_id,path_name,industry,from_role,to_role,typical_years,required_skills,steps,description,is_active";
    // Line numbers count the file's lines: line 2's record spans lines 2 to 4.
    let bad = format!(
        "{header}\n\
         ,ConfPath Auditor,Finance,,Auditor,2.5,\"confpath sql: 4\nConfPath Tax: 2\",\"Junior\nSenior\",'=1+1,Y\n\
         {},ConfPath Analyst,,,Analyst,,ConfPath SQL: 3,,,Y\n\
         ,confpath analyst,,,Analyst,,,,,Y\n\
         ,ConfPath Missing,,,Nobody,,No Such Skill: 2,,,Y\n\
         ,ConfPath Retired Req,,,Clerk,,ConfPath Old: 1,,,Y\n\
         ,ConfPath Retired Ok,,,Clerk,,ConfPath Old: 1,,,N\n\
         ,ConfPath Level,,,Clerk,,ConfPath SQL: 9,,,Y\n",
        analyst.id
    );
    let before = s.export_career_paths_csv().unwrap();
    let check = s.import_career_paths_csv(&bad, true, &audit("reference.paths.import")).unwrap();
    let outcomes: Vec<(u64, &str)> = check.lines.iter().map(|l| (l.line, l.outcome.as_str())).collect();
    assert_eq!(
        outcomes,
        [(2, "added"), (5, "unchanged"), (6, "refused"), (7, "refused"), (8, "refused"), (9, "added"), (10, "refused")]
    );
    let reason = |i: usize| check.lines[i].reason.clone().unwrap();
    assert!(reason(2).contains("Line 5"), "one path, two lines: {}", reason(2));
    assert!(reason(3).contains("No skill of the catalog is named \"No Such Skill\""), "{}", reason(3));
    assert!(reason(4).contains("retired"), "an active path requires active skills: {}", reason(4));
    assert!(reason(6).contains("1 to 5"), "{}", reason(6));
    let real = s.import_career_paths_csv(&bad, false, &audit("reference.paths.import")).unwrap();
    assert_eq!((real.lines.clone(), real.written), (check.lines.clone(), false));
    assert_eq!(s.export_career_paths_csv().unwrap(), before, "nothing written");
    // The refused lines left out: written, one row a path and the counts.
    let good: String = bad
        .lines()
        .filter(|l| !["confpath analyst", "Missing", "Retired Req", "Level"].iter().any(|b| l.contains(b)))
        .map(|l| format!("{l}\n"))
        .collect();
    let done = s.import_career_paths_csv(&good, false, &audit("reference.paths.import")).unwrap();
    assert!(done.written, "{:?}", done.lines);
    assert_eq!(s.recent_audit(1).unwrap()[0].detail.as_deref(), Some("2 added, 0 changed, 1 unchanged"));
    let query = PathQuery { text: "confpath".into(), ..Default::default() };
    let paths = s.career_paths(&query, None, 50).unwrap().items;
    // Keyset pages by name walk the same paths, each once.
    let (mut walked, mut after) = (Vec::new(), None::<String>);
    loop {
        let page = s.career_paths(&query, after.as_deref(), 2).unwrap();
        assert!(page.items.len() <= 2);
        walked.extend(page.items.into_iter().map(|p| p.id));
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(walked, paths.iter().map(|p| p.id.clone()).collect::<Vec<_>>());
    assert!(paths.len() > 2, "more than a page");
    assert!(s.career_paths(&query, Some("no such path"), 2).unwrap().items.is_empty());
    let auditor = paths.iter().find(|p| p.name == "ConfPath Auditor").unwrap();
    let required: Vec<(Option<&str>, i64)> = auditor.required.iter().map(|r| (r.name.as_deref(), r.level)).collect();
    assert_eq!(required, [(Some("ConfPath SQL"), 4), (Some("ConfPath Tax"), 2)]);
    assert_eq!(auditor.steps, ["Junior", "Senior"]);
    assert_eq!(auditor.description.as_deref(), Some("=1+1"), "the formula guard removed");
    assert!(!paths.iter().find(|p| p.name == "ConfPath Retired Ok").unwrap().active);
    // What goes out comes back in unchanged (every path, the guard kept).
    let out = s.export_career_paths_csv().unwrap();
    assert!(out.contains("'=1+1"), "{out}");
    let again = s.import_career_paths_csv(&out, false, &audit("reference.paths.import")).unwrap();
    assert!(
        again.lines.iter().all(|l| l.outcome == "unchanged"),
        "{:?}",
        again.lines.iter().find(|l| l.outcome != "unchanged")
    );
    assert_eq!(s.export_career_paths_csv().unwrap(), out);
    // A changed line is audited with its before and after.
    let renamed = out.replace("ConfPath Auditor,Finance", "ConfPath Auditor,Public practice");
    let changed = s.import_career_paths_csv(&renamed, false, &audit("reference.paths.import")).unwrap();
    assert_eq!(changed.count("changed"), 1);
    let row = &s.recent_audit(2).unwrap()[1];
    assert_eq!((row.action.as_str(), row.entity_id.as_deref()), ("reference.path.update", Some(auditor.id.as_str())));
    assert!(row.detail.as_deref().unwrap().contains("Public practice"));
    assert!(matches!(s.import_career_paths_csv("path_id\nx\n", true, &audit("i")), Err(AppError::Invalid(_))));
}
