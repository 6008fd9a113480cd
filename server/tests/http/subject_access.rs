//! Subject access from a person's page: a zip, only within five minutes of the
//! administrator's password, audited.

use crate::harness::*;
use std::io::Read;

/// An administrator fresh from their password downloads a person's archive (zip:
/// a README and JSON files, the phone number decrypted, no credential); one whose
/// confirmation is older is told to confirm first and nothing is exported; other
/// roles are refused.
#[tokio::test]
async fn admins_export_everything_about_a_person_after_confirming_it_is_them() {
    let c = Console::new();
    let admin = c.token("root").await;
    let s = c.storage.as_ref();
    let ada = common::add_user(s, "ada_export", "active", &[]);
    let fields = pathfinder::dto::SensitiveFields { phone_number: Some("+1 555 0111".into()), ..Default::default() };
    s.set_sensitive_fields(&ada, &fields, &common::audit("user.sensitive.update")).unwrap();

    let r = c.post(&format!("/export/person/{}", ada.0), Some(&admin), "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/zip");
    assert!(r.headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains("pathfinder-ada_export.zip"));
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(r.bytes)).unwrap();
    let mut text = |f: &str| {
        let mut s = String::new();
        zip.by_name(f).unwrap().read_to_string(&mut s).unwrap();
        s
    };
    assert!(text("README.txt").contains("ada_export"));
    let profile = text("profile.json");
    assert!(profile.contains("+1 555 0111") && !profile.contains("password_hash"), "{profile}");
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!((row.action.as_str(), row.entity_id.as_deref()), ("read.user.export", Some(ada.0.as_str())));

    // A confirmation older than five minutes: refused with a sentence, nothing written.
    let sid = claims(&admin).sid;
    sqlite_exec(
        &c,
        &format!("UPDATE pf_user_sessions SET confirmed_at = '2020-01-01 00:00:00.000000' WHERE session_id = '{sid}'"),
    );
    let before = c.storage.recent_audit(100_000).unwrap().len();
    let r = c.post(&format!("/export/person/{}", ada.0), Some(&admin), "").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("Confirm it is you first"), "{}", r.body);
    assert_eq!(c.storage.recent_audit(100_000).unwrap().len(), before);
    for who in ["sre_sam", "comp_cy"] {
        let token = c.token(who).await;
        let r = c.post(&format!("/export/person/{}", ada.0), Some(&token), "").await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}");
    }
}
