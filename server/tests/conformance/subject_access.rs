//! Subject access: everything about one person, file by file, audited around it.

use crate::common::{add_user, audit};
use crate::Harness;
use pathfinder::dto::SensitiveFields;
use pathfinder::storage::{AuditEntry, PersonSink, TableRows, Value};
use pathfinder::{AppError, AppResult, Username};
use serde_json::{Map, Value as Json};

checks! {
    an_export_holds_every_table_of_the_person_and_no_credential,
}

/// The export in memory: file → rows.
#[derive(Default)]
struct Files(Vec<(String, Vec<Map<String, Json>>)>);

impl PersonSink for Files {
    fn file(&mut self, name: &str, about: &str) -> AppResult<()> {
        assert!(about.len() > 10, "{name} says what it holds");
        self.0.push((name.to_string(), Vec::new()));
        Ok(())
    }
    fn row(&mut self, row: &Map<String, Json>) -> AppResult<()> {
        self.0.last_mut().expect("a file first").1.push(row.clone());
        Ok(())
    }
}

impl Files {
    fn rows(&self, file: &str) -> &[Map<String, Json>] {
        &self.0.iter().find(|(f, _)| f == file).unwrap_or_else(|| panic!("no {file}")).1
    }
}

fn an_export_holds_every_table_of_the_person_and_no_credential(h: &Harness) {
    let s = h.s();
    let eve = add_user(s, "conf_export_eve", "active", &[]);
    let other = add_user(s, "conf_export_other", "active", &[]);
    let fields = SensitiveFields { phone_number: Some("+1 555 0199".into()), ..Default::default() };
    s.set_sensitive_fields(&eve, &fields, &audit("user.sensitive.update")).unwrap();
    (h.raw)(&format!(
        "INSERT INTO pf_sso_accounts (sso_account_id, user_id, provider, provider_user_id, access_token) VALUES ('SSO1', '{}', 'github', 'eve', 'secret-access-token')",
        eve.0
    ));
    let owner = Username::parse("conf_export_eve").unwrap();
    s.provision_user_tables(&owner, &audit("user_tables.provision")).unwrap();
    let mut skills = TableRows::new("pf_user_conf_export_eve_skills", &["id", "skill_name"]);
    skills.push(vec![Value::Text("s1".into()), Value::Text("IFRS 16".into())]);
    s.fill_user_tables(&owner, &[skills], &audit("user_tables.fill")).unwrap();
    s.append_audit(&AuditEntry {
        actor: Some(other.clone()),
        entity_type: Some("user".into()),
        entity_id: Some(eve.0.clone()),
        ..audit("probe.about_eve")
    })
    .unwrap();

    let mut files = Files::default();
    let row =
        AuditEntry { entity_type: Some("user".into()), entity_id: Some(eve.0.clone()), ..audit("read.user.export") };
    let counts = s.export_person(&eve, &mut files, &row).unwrap();
    assert_eq!(counts.person, "conf_export_eve");
    let profile = &files.rows("profile.json")[0];
    assert_eq!(profile["username"], "conf_export_eve");
    assert_eq!(profile["phone_number"], "+1 555 0199", "sensitive fields decrypted");
    let sso = files.rows("sso_links.json");
    assert_eq!((sso.len(), &sso[0]["provider"]), (1, &Json::from("github")));
    assert_eq!(files.rows("tables/skills.json")[0]["skill_name"], "IFRS 16");
    assert_eq!(files.rows("tables/experiences_archive.json").len(), 0, "the archive is there, empty");
    let audit_rows = files.rows("audit_log.json");
    assert!(audit_rows.iter().any(|r| r["action"] == "probe.about_eve"), "rows about them by others");
    assert!(audit_rows.iter().any(|r| r["action"] == "read.user.export.begin"), "the export's own intent");
    for file in [
        "preferences.json",
        "sessions.json",
        "invitations.json",
        "feature_overrides.json",
        "analytics_events.json",
        "cpa_pert/reports.json",
        "cpa_pert/submission_history.json",
    ] {
        files.rows(file);
    }
    // Nothing of anyone else; no credential, no ciphertext.
    let all = format!("{:?}", files.0);
    assert!(!all.contains("conf_export_other\""), "another person's profile");
    for word in ["password_hash", "secret-access-token", "access_token", "mfa_secret", "_enc\""] {
        assert!(!all.contains(word), "{word} is in the export");
    }
    // Audited: the intent before, the counts after.
    let rows = s.recent_audit(2).unwrap();
    assert_eq!(rows[1].action, "read.user.export.begin");
    assert_eq!(rows[0].action, "read.user.export");
    assert_eq!(rows[0].detail.as_deref(), Some(counts.describe().as_str()));
    assert!(counts.describe().contains("tables/skills.json 1"));

    // A soft-deleted person is exported; an unknown one is refused, unaudited.
    (h.raw)(&format!("UPDATE pf_users SET account_status = 'deleted' WHERE user_id = '{}'", eve.0));
    assert!(s.export_person(&eve, &mut Files::default(), &row).is_ok());
    let before = s.recent_audit(100_000).unwrap().len();
    let unknown = s.export_person(&pathfinder::UserId::new(), &mut Files::default(), &row);
    assert!(matches!(unknown, Err(AppError::NotFound(_))), "{unknown:?}");
    // If the intent cannot be written (the log refuses it), nothing leaves.
    (h.raw)(if h.oracle {
        "CREATE OR REPLACE TRIGGER refuse_export BEFORE INSERT ON pf_audit_log FOR EACH ROW \
         WHEN (NEW.action = 'read.user.export.begin') BEGIN RAISE_APPLICATION_ERROR(-20001, 'the log is full'); END;"
    } else {
        "CREATE TRIGGER refuse_export BEFORE INSERT ON pf_audit_log WHEN NEW.action = 'read.user.export.begin' \
         BEGIN SELECT RAISE(ABORT, 'the log is full'); END;"
    });
    let mut nothing = Files::default();
    assert!(s.export_person(&eve, &mut nothing, &row).is_err());
    (h.raw)("DROP TRIGGER refuse_export");
    assert!(nothing.0.is_empty(), "no file before the intent row");
    assert_eq!(s.recent_audit(100_000).unwrap().len(), before);
}
