//! Reference data over HTTP: every console role reads the catalog and the paths;
//! administrators change them (each change audited with its before and after) and
//! import a CSV after a dry run.

use crate::harness::*;

#[tokio::test]
async fn admins_curate_reference_data_and_every_role_reads_it() {
    let c = Console::new();
    let root = c.token("root").await;
    let add = c.post("/api/save_skill", Some(&root), "edit[name]=HttpRef+Audit&edit[category]=assurance&edit[description]=&edit[aliases]=HttpRef+Assurance&edit[market_demand]=80").await;
    assert_eq!(add.status, StatusCode::OK, "{}", add.body);
    let skill: pathfinder::reference::Skill = serde_json::from_str(&add.body).unwrap();
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!((row.action.as_str(), row.entity_type.as_deref()), ("reference.skill.create", Some("skill")));
    assert_eq!(row.user_id, Some(c.user_id("root").0));

    for who in ["sre_sam", "comp_cy"] {
        let token = c.token(who).await;
        let page = c.send(Method::GET, "/reference/skills?text=httpref", Some(&token), None, "").await;
        assert_eq!(page.status, StatusCode::OK, "{who}");
        assert!(page.body.contains("HttpRef Audit"), "{who}");
        assert!(!page.body.contains("data-test-id=\"add-skill\""), "{who} sees no editing");
        let paths = c.send(Method::GET, "/reference/career-paths", Some(&token), None, "").await;
        assert_eq!(paths.status, StatusCode::OK, "{who}");
        let csv = c.send(Method::GET, "/export/skills", Some(&token), None, "").await;
        assert_eq!(csv.status, StatusCode::OK);
        assert!(csv
            .body
            .starts_with("skill_id,skill_name,skill_category,description,aliases,market_demand_score,is_active\n"));
        assert!(csv.body.contains(&format!("{},HttpRef Audit,assurance,,HttpRef Assurance,80,Y", skill.id)));
        for (path, body) in [
            (
                "/api/save_skill",
                "edit[name]=X&edit[category]=&edit[description]=&edit[aliases]=&edit[market_demand]=".to_string(),
            ),
            ("/api/set_skill_active", format!("skill_id={}&active=false", skill.id)),
            ("/api/import_skills", "csv=skill_id&dry_run=true".to_string()),
            ("/api/import_career_paths", "csv=path_id&dry_run=true".to_string()),
        ] {
            assert_eq!(c.post(path, Some(&token), &body).await.status, StatusCode::FORBIDDEN, "{who} {path}");
        }
    }
    let page = c.send(Method::GET, "/reference/skills", Some(&root), None, "").await;
    assert!(page.body.contains("data-test-id=\"add-skill\""), "admins get the forms");

    let path = c
        .post(
            "/api/save_career_path",
            Some(&root),
            &format!(
                "edit[name]=HttpRef+path&edit[industry]=Tech&edit[from_role]=&edit[to_role]=Auditor&edit[typical_years]=2.5\
                 &edit[skill_ids][0]={}&edit[levels][0]=4&edit[steps]=Junior%0ASenior&edit[description]=",
                skill.id
            ),
        )
        .await;
    assert_eq!(path.status, StatusCode::OK, "{}", path.body);
    let retire = c.post("/api/set_skill_active", Some(&root), &format!("skill_id={}&active=false", skill.id)).await;
    assert_eq!(retire.status, StatusCode::CONFLICT, "an active path requires it: {}", retire.body);

    let csv =
        "skill_id,skill_name,skill_category,description,aliases,market_demand_score,is_active\n,HttpRef Tax,tax,,,,Y\n";
    let body = |dry: bool| format!("csv={}&dry_run={dry}", pathfinder::filter::encode_component(csv));
    let check = c.post("/api/import_skills", Some(&root), &body(true)).await;
    let report: pathfinder::reference::ImportReport = serde_json::from_str(&check.body).unwrap();
    assert_eq!((report.count("added"), report.written), (1, false));
    let done = c.post("/api/import_skills", Some(&root), &body(false)).await;
    let report: pathfinder::reference::ImportReport = serde_json::from_str(&done.body).unwrap();
    assert!(report.written);
    let actions = c.actions();
    assert_eq!(actions.first().map(String::as_str), Some("reference.skills.import"), "the newest row: {actions:?}");
    assert_eq!(actions.get(1).map(String::as_str), Some("reference.skill.create"), "the skill's own row");

    // The paths go out as CSV to every role, and an edited file comes back in.
    let sre = c.token("sre_sam").await;
    let out = c.send(Method::GET, "/export/career-paths", Some(&sre), None, "").await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(out.body.starts_with(
        "path_id,path_name,industry,from_role,to_role,typical_years,required_skills,steps,description,is_active\n"
    ));
    assert!(out.body.contains("HttpRef path,Tech,,Auditor,2.5,HttpRef Audit: 4,\"Junior\nSenior\",,Y"), "{}", out.body);
    let edited = out.body.replace("HttpRef path,Tech", "HttpRef path,Finance");
    let body = format!("csv={}&dry_run=false", pathfinder::filter::encode_component(&edited));
    let done = c.post("/api/import_career_paths", Some(&root), &body).await;
    let report: pathfinder::reference::ImportReport = serde_json::from_str(&done.body).unwrap();
    assert!(report.written && report.count("changed") == 1, "{report:?}");
    let actions = c.actions();
    assert_eq!(actions.first().map(String::as_str), Some("reference.paths.import"));
    assert_eq!(actions.get(1).map(String::as_str), Some("reference.path.update"));
}
