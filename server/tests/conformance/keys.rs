//! Field encryption's keys: sealed fields, rotation of data and master keys, crypto-shredding, crashes midway.

use crate::common::{add_user, audit};
use crate::{count, Harness};
use pathfinder::dto::{SensitiveFields, StatusCount};
use pathfinder::storage::{RotationScope, Storage, TableRows, Value};
use pathfinder::{AppError, UserId, Username};
use pathfinder_server::crypto::{DataKey, FieldRef, Keyring, MasterKey, WrappedKey};

checks!(
    field_encryption_round_trips_and_refuses_tampering,
    key_rotation_re_encrypts_every_field,
    master_key_rotation_rewraps_every_key,
    deleting_a_user_shreds_their_key,
    rotation_killed_at_every_step_leaves_everything_readable,
    rotation_runs_take_turns_and_rotate_only_what_is_due,
    a_signal_stops_a_key_rotation_between_keys,
    plaintext_written_later_is_folded_in_never_lost
);

fn sensitive(phone: &str, born: &str, gender: &str, nationality: &str) -> SensitiveFields {
    let some = |v: &str| (!v.is_empty()).then(|| v.to_string());
    SensitiveFields {
        phone_number: some(phone),
        date_of_birth: some(born),
        gender: some(gender),
        nationality: some(nationality),
    }
}

fn undecryptable(r: Result<SensitiveFields, AppError>) -> bool {
    matches!(r, Err(AppError::Conflict(_)))
}

/// An SSO link for `user`, as the product would write it (tokens come later, encrypted).
fn add_sso_link(s: &dyn Storage, id: &str, user: &UserId) {
    let t = |x: &str| Value::Text(x.to_string());
    let rows = TableRows {
        table: "pf_sso_accounts".into(),
        columns: &["sso_account_id", "user_id", "provider", "provider_user_id"],
        rows: vec![vec![t(id), t(user.as_str()), t("google"), t(&format!("g-{id}"))]],
    };
    s.insert_batch(&[rows], &audit("sso.link")).unwrap();
}

fn field_encryption_round_trips_and_refuses_tampering(h: &Harness) {
    let s = h.storage.as_ref();
    let alice = add_user(s, "enc_alice", "active", &[]);
    let bob = add_user(s, "enc_bob", "active", &[]);
    assert_eq!(s.key_of(&alice, 90).unwrap(), None, "no key before the first encrypted field");
    let fa = sensitive("+1 555 0100", "1990-02-03", "female", "Canadian");
    let fb = sensitive("+44 20 7946 0000", "1985-12-31", "", "British");
    s.set_sensitive_fields(&alice, &fa, &audit("user.sensitive.update")).unwrap();
    s.set_sensitive_fields(&bob, &fb, &audit("user.sensitive.update")).unwrap();

    // Round trip, and every read in the clear is audited.
    let reads = count(s, "read.user.sensitive");
    assert_eq!(s.read_sensitive_fields(&alice, &audit("read.user.sensitive")).unwrap(), fa);
    assert_eq!(s.read_sensitive_fields(&bob, &audit("read.user.sensitive")).unwrap(), fb);
    assert_eq!(count(s, "read.user.sensitive"), reads + 2);
    let profile = s.user_profile(&alice).unwrap();
    assert_eq!(profile.sensitive_present, ["phone number", "date of birth", "gender", "nationality"]);
    assert_eq!(s.user_profile(&bob).unwrap().sensitive_present, ["phone number", "date of birth", "nationality"]);

    // Stored encrypted, the seed's columns empty, a key of version 0 under the master key.
    let stored = (h.raw_text)("SELECT phone_number_enc FROM pf_users WHERE username = 'enc_alice'").unwrap();
    // The whole plaintext, not a piece of it: a random ciphertext's base64 holds
    // "555" about once in 4,500 runs.
    assert!(stored.starts_with("pf1:0:") && !stored.contains("+1 555 0100"), "{stored}");
    let plain = "SELECT COUNT(*) FROM pf_users WHERE username LIKE 'enc%' AND (phone_number IS NOT NULL OR date_of_birth IS NOT NULL OR gender IS NOT NULL OR nationality IS NOT NULL)";
    assert_eq!((h.raw_text)(plain).as_deref(), Some("0"));
    let key = s.key_of(&alice, 90).unwrap().unwrap();
    assert_eq!((key.algorithm.as_str(), key.rotation_count, key.overdue), ("AES-256-GCM", 0, false));
    assert_eq!(key.master_key_id.as_deref(), h.keyring.current_id());

    // Bad input: a clear error, nothing changed, no audit row.
    let rows = s.recent_audit(100_000).unwrap().len();
    for bad in [
        sensitive("call me maybe", "", "", ""),
        sensitive("+1 555 0100 0100 0100 01", "", "", ""),
        sensitive("", "1990-02-30", "", ""),
        sensitive("", "2999-01-01", "", ""),
    ] {
        assert!(matches!(
            s.set_sensitive_fields(&alice, &bad, &audit("user.sensitive.update")),
            Err(AppError::Invalid(_))
        ));
    }
    assert!(matches!(
        s.set_sensitive_fields(&UserId::new(), &fa, &audit("user.sensitive.update")),
        Err(AppError::NotFound(_))
    ));
    assert_eq!(s.recent_audit(100_000).unwrap().len(), rows);
    assert_eq!(s.read_sensitive_fields(&alice, &audit("read.user.sensitive")).unwrap(), fa);

    // MFA secret and SSO tokens: same envelope, readable by the server only.
    s.set_mfa_secret(&alice, Some("JBSWY3DPEHPK3PXP"), &audit("user.mfa.set")).unwrap();
    assert_eq!(s.mfa_secret(&alice).unwrap().as_deref(), Some("JBSWY3DPEHPK3PXP"));
    assert_eq!(s.read_sensitive_fields(&alice, &audit("read.user.sensitive")).unwrap(), fa, "other fields kept");
    add_sso_link(s, "01JENCSSO00000000000000001", &alice);
    let long_token = "t".repeat(2000);
    s.set_sso_tokens("01JENCSSO00000000000000001", Some(&long_token), Some("refresh-1"), &audit("sso.tokens.set"))
        .unwrap();
    assert_eq!(
        s.sso_tokens("01JENCSSO00000000000000001").unwrap(),
        (Some(long_token.clone()), Some("refresh-1".to_string()))
    );
    let token = (h.raw_text)(
        "SELECT access_token_enc FROM pf_sso_accounts WHERE sso_account_id = '01JENCSSO00000000000000001'",
    );
    assert!(token.is_some_and(|t| t.starts_with("pf1:0:") && !t.contains("ttttt")));

    // A changed ciphertext, one moved to another column or row, one relabelled with
    // another key version: each is refused, by name, never read as something else.
    let flip = "UPDATE pf_users SET gender_enc = SUBSTR(gender_enc, 1, 12) || CASE WHEN SUBSTR(gender_enc, 13, 1) = 'A' THEN 'B' ELSE 'A' END || SUBSTR(gender_enc, 14) WHERE username = 'enc_alice'";
    let moved_column = "UPDATE pf_users SET gender_enc = nationality_enc WHERE username = 'enc_alice'";
    let moved_row = "UPDATE pf_users SET gender_enc = (SELECT nationality_enc FROM pf_users WHERE username = 'enc_bob') WHERE username = 'enc_alice'";
    let relabelled =
        "UPDATE pf_users SET gender_enc = REPLACE(gender_enc, 'pf1:0:', 'pf1:1:') WHERE username = 'enc_alice'";
    for damage in [flip, moved_column, moved_row, relabelled] {
        (h.raw)(damage);
        let read = s.read_sensitive_fields(&alice, &audit("read.user.sensitive"));
        assert!(undecryptable(read.clone()), "{damage}: {read:?}");
        // A damaged value can be overwritten: what is replaced is not decrypted.
        s.set_sensitive_fields(&alice, &fa, &audit("user.sensitive.update")).unwrap();
        assert_eq!(s.read_sensitive_fields(&alice, &audit("read.user.sensitive")).unwrap(), fa);
    }
    (h.raw)(relabelled);
    let said = s.read_sensitive_fields(&alice, &audit("read.user.sensitive")).unwrap_err().to_string();
    assert!(said.contains("key version 1") && said.contains("version 0"), "{said}");
    s.set_sensitive_fields(&alice, &fa, &audit("user.sensitive.update")).unwrap();
    // A wrapped key copied to another user's row does not unwrap there.
    (h.raw)("UPDATE pf_encryption_keys SET key_encrypted = (SELECT key_encrypted FROM pf_encryption_keys WHERE user_id = (SELECT user_id FROM pf_users WHERE username = 'enc_alice')), key_salt = (SELECT key_salt FROM pf_encryption_keys WHERE user_id = (SELECT user_id FROM pf_users WHERE username = 'enc_alice')) WHERE user_id = (SELECT user_id FROM pf_users WHERE username = 'enc_bob')");
    assert!(undecryptable(s.read_sensitive_fields(&bob, &audit("read.user.sensitive"))));
}

/// Two users with encrypted fields, as the other checks find them: enc_alice, and
/// enc_bob, whose wrapped key was overwritten with alice's by another tool (it no
/// longer unwraps) when `damage_bob`.
fn encrypted_pair(h: &Harness, damage_bob: bool) {
    let s = h.s();
    let alice = add_user(s, "enc_alice", "active", &[]);
    let bob = add_user(s, "enc_bob", "active", &[]);
    s.set_sensitive_fields(&alice, &sensitive("+1 555 0100", "", "", ""), &audit("user.sensitive.update")).unwrap();
    s.set_sensitive_fields(&bob, &sensitive("+1 555 0101", "", "", ""), &audit("user.sensitive.update")).unwrap();
    if damage_bob {
        (h.raw)("UPDATE pf_encryption_keys SET key_encrypted = (SELECT key_encrypted FROM pf_encryption_keys WHERE user_id = (SELECT user_id FROM pf_users WHERE username = 'enc_alice')), key_salt = (SELECT key_salt FROM pf_encryption_keys WHERE user_id = (SELECT user_id FROM pf_users WHERE username = 'enc_alice')) WHERE user_id = (SELECT user_id FROM pf_users WHERE username = 'enc_bob')");
    }
}

fn key_rotation_re_encrypts_every_field(h: &Harness) {
    let s = h.storage.as_ref();
    encrypted_pair(h, false);
    let carol = add_user(s, "enc_carol", "active", &[]);
    let f = sensitive("+1 555 0199", "1970-01-01", "", "Irish");
    s.set_sensitive_fields(&carol, &f, &audit("user.sensitive.update")).unwrap();
    s.set_mfa_secret(&carol, Some("MFASECRET"), &audit("user.mfa.set")).unwrap();
    add_sso_link(s, "01JENCSSO00000000000000002", &carol);
    s.set_sso_tokens("01JENCSSO00000000000000002", Some("access-2"), None, &audit("sso.tokens.set")).unwrap();

    let rotations = count(s, "key.rotate");
    let k1 = s.rotate_user_key(&carol, &audit("key.rotate")).unwrap();
    let k2 = s.rotate_user_key(&carol, &audit("key.rotate")).unwrap();
    assert_eq!((k1.rotation_count, k2.rotation_count), (1, 2));
    assert!(k2.last_rotated.is_some() && !k2.overdue);
    assert_eq!(count(s, "key.rotate"), rotations + 2);
    assert_eq!(s.read_sensitive_fields(&carol, &audit("read.user.sensitive")).unwrap(), f);
    assert_eq!(s.mfa_secret(&carol).unwrap().as_deref(), Some("MFASECRET"));
    assert_eq!(s.sso_tokens("01JENCSSO00000000000000002").unwrap(), (Some("access-2".into()), None));
    let stored = (h.raw_text)("SELECT mfa_secret_enc FROM pf_users WHERE username = 'enc_carol'").unwrap();
    assert!(stored.starts_with("pf1:2:"), "{stored}");
    let token = (h.raw_text)(
        "SELECT access_token_enc FROM pf_sso_accounts WHERE sso_account_id = '01JENCSSO00000000000000002'",
    );
    assert!(token.is_some_and(|t| t.starts_with("pf1:2:")));

    let nobody = add_user(s, "enc_nokey", "active", &[]);
    assert!(matches!(s.rotate_user_key(&nobody, &audit("key.rotate")), Err(AppError::NotFound(_))));
    assert_eq!(count(s, "key.rotate"), rotations + 2, "a refused rotation writes no audit row");

    // The inventory: every key, oldest rotation first, keyset pages; overdue by policy.
    let inv = s.key_inventory(90, None, 2).unwrap();
    let counts = s.key_counts(90).unwrap();
    assert!(counts.total >= 3 && inv.keys.items.len() == 2 && inv.keys.next_cursor.is_some());
    let all = (h.raw_text)("SELECT COUNT(*) FROM pf_encryption_keys").unwrap_or_default();
    assert_eq!((counts.total.to_string(), counts.rotation_days), (all, 90));
    let mut seen = inv.keys.items.clone();
    let mut after = inv.keys.next_cursor;
    while let Some(a) = after {
        let page = s.key_inventory(90, Some(&a), 2).unwrap();
        seen.extend(page.keys.items);
        after = page.keys.next_cursor;
    }
    assert_eq!(seen.len() as i64, counts.total);
    assert_eq!(seen.last().map(|k| k.username.as_str()), Some("enc_carol"), "the latest rotation last");
    let ages: Vec<_> = seen.iter().map(|k| k.last_rotated.or(k.created_at)).collect();
    assert!(ages.windows(2).all(|w| w[0] <= w[1]), "{ages:?}");
    assert_eq!(counts.overdue, 0);
    (h.raw)(&format!(
        "UPDATE pf_encryption_keys SET created_at = {} WHERE user_id = (SELECT user_id FROM pf_users WHERE username = 'enc_bob')",
        h.long_ago
    ));
    let inv = s.key_inventory(90, None, 10).unwrap();
    assert_eq!(s.key_counts(90).unwrap().overdue, 1);
    assert_eq!((inv.keys.items[0].username.as_str(), inv.keys.items[0].overdue), ("enc_bob", true));
    assert!(matches!(s.key_inventory(90, Some("garbage"), 10), Err(AppError::Invalid(_))));
}

/// Every key re-wrapped under a new master key; fields untouched; the old master key
/// no longer needed; and back again, so the rest of the suite reads with its own key.
fn master_key_rotation_rewraps_every_key(h: &Harness) {
    let s = h.storage.as_ref();
    encrypted_pair(h, true);
    let dave = add_user(s, "enc_dave", "active", &[]);
    let f = sensitive("+1 555 0142", "", "", "");
    s.set_sensitive_fields(&dave, &f, &audit("user.sensitive.update")).unwrap();
    let field_before = (h.raw_text)("SELECT phone_number_enc FROM pf_users WHERE username = 'enc_dave'");
    let old = h.keyring.current().unwrap().clone();
    let new = MasterKey::generate();
    let keys: i64 = s.keys_by_master_key().unwrap().iter().map(|k| k.count).sum();

    let rotating = (h.open_with)(Keyring::new(Some(new.clone()), vec![old.clone()]));
    // enc_bob's key was damaged above: it is left as it is and reported, the rest done.
    assert_eq!(rewrap_all(rotating.as_ref(), 2), (keys as u64 - 1, 1));
    let by_master = rotating.keys_by_master_key().unwrap();
    assert_eq!(by_master[0], StatusCount { status: new.id().into(), count: keys - 1 });
    assert_eq!(by_master[1], StatusCount { status: old.id().into(), count: 1 });
    assert_eq!((h.raw_text)("SELECT phone_number_enc FROM pf_users WHERE username = 'enc_dave'"), field_before);
    assert_eq!(rewrap_all(rotating.as_ref(), 2), (0, 1), "a second pass has nothing more to do");
    let bob = s.user_id_by_username(&Username::parse("enc_bob").unwrap()).unwrap().unwrap();
    s.delete_user(&bob, &audit("user.delete")).unwrap();
    let keys = keys - 1;

    let only_new = (h.open_with)(Keyring::new(Some(new.clone()), vec![]));
    assert_eq!(only_new.read_sensitive_fields(&dave, &audit("read.user.sensitive")).unwrap(), f);
    let only_old = (h.open_with)(Keyring::new(Some(old.clone()), vec![]));
    let refused = only_old.read_sensitive_fields(&dave, &audit("read.user.sensitive")).unwrap_err().to_string();
    assert!(refused.contains(new.id()), "says which master key is missing: {refused}");

    let back = (h.open_with)(Keyring::new(Some(old.clone()), vec![new]));
    assert_eq!(rewrap_all(back.as_ref(), 1000), (keys as u64, 0));
    assert_eq!(s.read_sensitive_fields(&dave, &audit("read.user.sensitive")).unwrap(), f);
}

/// (re-wrapped, failed)
fn rewrap_all(s: &dyn Storage, batch: u32) -> (u64, u64) {
    let audit = audit("key.master.rewrap");
    let all = pathfinder::storage::walk_batches(|after| s.rewrap_keys(after, batch, &audit), |_| {}).unwrap();
    (all.changed, all.failed)
}

/// Deleting a user destroys their key: the live database can no longer decrypt what
/// any copy of their fields holds. A copy taken before (a backup) holds the wrapped
/// key too: it opens with the master key of its time, and no longer once that
/// master key has been rotated away and destroyed.
fn deleting_a_user_shreds_their_key(h: &Harness) {
    let s = h.storage.as_ref();
    let erin = add_user(s, "enc_erin", "active", &[]);
    let f = sensitive("+1 555 0123", "2000-05-05", "", "");
    s.set_sensitive_fields(&erin, &f, &audit("user.sensitive.update")).unwrap();
    // The backup: the key row and the field, as a copy of the database holds them.
    let q = |sql: &str| (h.raw_text)(&sql.replace("{id}", erin.as_str())).unwrap();
    let wrapped = WrappedKey {
        key_encrypted: q("SELECT key_encrypted FROM pf_encryption_keys WHERE user_id = '{id}'"),
        key_salt: q("SELECT key_salt FROM pf_encryption_keys WHERE user_id = '{id}'"),
        master_key_id: q("SELECT master_key_id FROM pf_encryption_keys WHERE user_id = '{id}'"),
    };
    let phone = q("SELECT phone_number_enc FROM pf_users WHERE user_id = '{id}'");
    let field = FieldRef { table: "pf_users", column: "phone_number", row_id: erin.as_str() };

    let owner = Username::parse("enc_erin").unwrap();
    s.provision_user_tables(&owner, &audit("user_tables.provision")).unwrap();
    assert!(matches!(s.delete_user(&erin, &audit("user.delete")), Err(AppError::Conflict(_))), "tables first");
    s.drop_user_tables(&owner, &audit("user_tables.drop")).unwrap();
    // Rows of hers in shared tables, one of them without a foreign key (CPA PERT).
    (h.raw)(&format!(
        "INSERT INTO pf_cpa_pert_reports (id, user_id, report_period_start, report_period_end) VALUES ('RPTERIN', '{}', {}, {})",
        erin.0,
        (h.date)("2026-01-01"),
        (h.date)("2026-06-30")
    ));
    (h.raw)(&format!("INSERT INTO pf_user_preferences (preference_id, user_id) VALUES ('PREFERIN', '{}')", erin.0));
    let deletes = count(s, "user.delete");
    s.delete_user(&erin, &audit("user.delete")).unwrap();
    assert_eq!(count(s, "user.delete"), deletes + 1);
    let said = q("SELECT COUNT(*) FROM pf_audit_log WHERE action = 'user.delete'
                  AND error_message LIKE 'removed: pf_users 1, pf_cpa_pert_reports 1, pf_user_preferences 1%'");
    assert_eq!(said, "1", "the audit row says what went");
    assert_eq!(
        q("SELECT COUNT(*) FROM pf_cpa_pert_reports WHERE user_id = '{id}'"),
        "0",
        "rows without a foreign key go too"
    );
    assert_eq!(q("SELECT COUNT(*) FROM pf_user_preferences WHERE user_id = '{id}'"), "0");
    assert!(matches!(s.user_profile(&erin), Err(AppError::NotFound(_))));
    assert_eq!(q("SELECT COUNT(*) FROM pf_encryption_keys WHERE user_id = '{id}'"), "0");
    assert!(matches!(s.delete_user(&erin, &audit("user.delete")), Err(AppError::NotFound(_))));

    // The copy, with the master key of its time: readable (for as long as that key exists).
    let key = DataKey::unwrap(&h.keyring, &wrapped, erin.as_str(), 0).unwrap();
    assert_eq!(key.open(field, &phone).unwrap(), "+1 555 0123");
    // After a master-key rotation, once the old master key is destroyed: unreadable.
    let after_rotation = Keyring::new(Some(MasterKey::generate()), vec![]);
    assert!(DataKey::unwrap(&after_rotation, &wrapped, erin.as_str(), 0).is_err());
}

/// `rotate-keys --all` and `rotate-master-key` killed at each step: every field of
/// every user stays readable, and running the command again finishes the work.
fn rotation_killed_at_every_step_leaves_everything_readable(h: &Harness) {
    let s = h.storage.as_ref();
    let mut users = Vec::new();
    for i in 0..3 {
        let id = add_user(s, &format!("enc_kill_{i}"), "active", &[]);
        let f = sensitive(&format!("+1 555 01{i}0"), "1999-09-09", "", "");
        s.set_sensitive_fields(&id, &f, &audit("user.sensitive.update")).unwrap();
        users.push((id, f));
    }
    let old = h.keyring.current().unwrap().clone();
    let env_old = [("PF_MASTER_KEY", old.to_hex().to_string())];
    let readable = |s: &dyn Storage| {
        for (id, f) in &users {
            assert_eq!(&s.read_sensitive_fields(id, &audit("read.user.sensitive")).unwrap(), f);
        }
    };
    for point in ["key.rotate.unwrapped", "key.rotate.fields_written", "key.rotate.key_written", "key.rotate.committed"]
    {
        let versions_before = key_versions(s);
        let out =
            (h.cli)(&["rotate-keys", "--all"], &[&env_old[..], &[("PF_TEST_CRASH_AT", format!("{point}:2"))]].concat());
        assert!(!out.status.success() && out.status.code().is_none(), "{point}: killed, {out:?}");
        // The dead run holds the job's lease (two minutes): another run is refused until it runs out.
        let refused = (h.cli)(&["rotate-keys", "--all"], &env_old);
        assert_eq!(refused.status.code(), Some(2), "{refused:?}");
        assert!(String::from_utf8_lossy(&refused.stderr).contains("already running"), "{refused:?}");
        (h.raw)(&format!("UPDATE pf_console_jobs SET lease_until = {} WHERE job_name = 'key_rotation'", h.long_ago));
        let fresh = (h.open_with)(h.keyring.clone());
        readable(fresh.as_ref());
        let rotated = key_versions(fresh.as_ref()).iter().zip(&versions_before).filter(|(a, b)| a != b).count();
        let expected = if point == "key.rotate.committed" { 2 } else { 1 };
        assert_eq!(rotated, expected, "{point}: whole users only");
    }
    let out = (h.cli)(&["rotate-keys", "--all"], &env_old);
    assert!(out.status.success(), "{out:?}");
    readable(s);
    let job = s.key_inventory(90, None, 1).unwrap().rotation_job;
    assert_eq!(job.status.as_deref(), Some("ok"), "the finished run is recorded: {job:?}");

    let new = MasterKey::generate();
    let env_new = [("PF_MASTER_KEY", new.to_hex().to_string()), ("PF_MASTER_KEY_PREVIOUS", old.to_hex().to_string())];
    let both = Keyring::new(Some(new.clone()), vec![old.clone()]);
    for point in ["key.rewrap.batch_written", "key.rewrap.committed"] {
        let out = (h.cli)(&["rotate-master-key"], &[&env_new[..], &[("PF_TEST_CRASH_AT", point.to_string())]].concat());
        assert!(out.status.code().is_none(), "{point}: killed, {out:?}");
        readable((h.open_with)(both.clone()).as_ref());
    }
    let out = (h.cli)(&["rotate-master-key"], &env_new);
    assert!(out.status.success(), "{out:?}");
    readable((h.open_with)(Keyring::new(Some(new.clone()), vec![])).as_ref());
    // And back under the suite's own key.
    let back = [("PF_MASTER_KEY", old.to_hex().to_string()), ("PF_MASTER_KEY_PREVIOUS", new.to_hex().to_string())];
    assert!((h.cli)(&["rotate-master-key"], &back).status.success());
    readable(s);
}

/// SIGTERM (here sent by `rotate-keys --all` to itself after its second key) stops
/// the run between keys: exit 130, two keys rotated and every field readable, the
/// run recorded as stopped (not as a finished run) with its outcome audited, and the
/// lease free, so running it again goes on at once.
fn a_signal_stops_a_key_rotation_between_keys(h: &Harness) {
    let s = h.storage.as_ref();
    let mut users = Vec::new();
    for i in 0..4 {
        let id = add_user(s, &format!("enc_term_{i}"), "active", &[]);
        let f = sensitive(&format!("+1 555 02{i}0"), "1988-08-08", "", "");
        s.set_sensitive_fields(&id, &f, &audit("user.sensitive.update")).unwrap();
        users.push((id, f));
    }
    let env = [("PF_MASTER_KEY", h.keyring.current().unwrap().to_hex().to_string())];
    let before = key_versions(s);
    let out = (h.cli)(
        &["rotate-keys", "--all"],
        &[&env[..], &[("PF_TEST_SIGNAL_AT", "key.rotation.key_done:2".into())]].concat(),
    );
    assert_eq!(out.status.code(), Some(130), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Rotated 2 data keys"), "{out:?}");
    let rotated = key_versions(s).iter().zip(&before).filter(|(a, b)| a != b).count();
    assert_eq!(rotated, 2, "stopped between keys");
    for (id, f) in &users {
        assert_eq!(&s.read_sensitive_fields(id, &audit("read.user.sensitive")).unwrap(), f);
    }
    let job = s.key_inventory(90, None, 1).unwrap();
    assert!(job.rotation_job.stopped_at.is_some(), "recorded as stopped: {:?}", job.rotation_job);
    assert!(job.rotation_running_since.is_none(), "the lease went back");
    let outcome =
        s.recent_audit(10).unwrap().into_iter().find(|r| r.action == "key.rotation_run").expect("its outcome");
    assert_eq!(outcome.detail.as_deref(), Some("Stopped midway after rotating 2 keys; the next run rotates the rest."));

    let out = (h.cli)(&["rotate-keys", "--all"], &env);
    assert!(out.status.success(), "again at once: {out:?}");
    let job = s.key_inventory(90, None, 1).unwrap().rotation_job;
    assert_eq!((job.status.as_deref(), job.stopped_at), (Some("ok"), None), "finished: no longer stopped");
    assert!(key_versions(s).iter().zip(&before).all(|(a, b)| a > b), "every key rotated");
}

/// A rotation run: only the overdue keys, one run at a time across instances, and a
/// caller may stop it between users.
fn rotation_runs_take_turns_and_rotate_only_what_is_due(h: &Harness) {
    let s = h.storage.as_ref();
    let carol = add_user(s, "enc_carol", "active", &[]);
    s.set_sensitive_fields(&carol, &sensitive("+1 555 0199", "", "", ""), &audit("user.sensitive.update")).unwrap();
    let ids: Vec<UserId> = (0..3)
        .map(|i| {
            let id = add_user(s, &format!("enc_run_{i}"), "active", &[]);
            s.set_sensitive_fields(&id, &sensitive("+1 555 0111", "", "", ""), &audit("user.sensitive.update"))
                .unwrap();
            id
        })
        .collect();
    for id in &ids {
        (h.raw)(&format!(
            "UPDATE pf_encryption_keys SET created_at = {}, last_rotated = NULL WHERE user_id = '{id}'",
            h.long_ago
        ));
    }
    let overdue = s.key_counts(90).unwrap().overdue as u64;
    assert!(overdue >= 3);
    // What a run would rotate, as the Keys page asks before it starts one.
    assert_eq!(s.rotation_due(RotationScope::Overdue { rotation_days: 90 }).unwrap(), overdue);
    assert_eq!(s.rotation_due(RotationScope::All).unwrap(), s.key_counts(90).unwrap().total as u64);
    assert!(s.rotation_due(RotationScope::All).unwrap() > overdue, "enc_carol's key is not due");
    let version = |id: &UserId| s.key_of(id, 90).unwrap().unwrap().rotation_count;
    let before: Vec<i64> = ids.iter().map(version).collect();
    let untouched = s.user_id_by_username(&Username::parse("enc_carol").unwrap()).unwrap().unwrap();
    let carol = version(&untouched);
    let scope = RotationScope::Overdue { rotation_days: 90 };
    let begun = count(s, "key.rotation_run.begin");

    // Stopped by its caller after the first user.
    let run = s.rotate_keys(scope, &audit("key.rotation_run"), &mut |_, _| false).unwrap();
    assert_eq!((run.rotated, run.interrupted), (1, true));
    // Another instance holding the run: refused, nothing rotated.
    (h.raw)(&format!(
        "UPDATE pf_console_jobs SET lease_owner = 'elsewhere', lease_until = {} WHERE job_name = 'key_rotation'",
        h.far_future
    ));
    assert!(s.key_inventory(90, None, 1).unwrap().rotation_running_since.is_some());
    let other = (h.another_instance)();
    let refused = other.rotate_keys(scope, &audit("key.rotation_run"), &mut |_, _| true);
    assert!(matches!(refused, Err(AppError::Conflict(_))), "{refused:?}");
    assert!(matches!(other.rotation_due(scope), Err(AppError::Conflict(_))), "asked while a run holds the lease");
    (h.raw)("UPDATE pf_console_jobs SET lease_owner = NULL, lease_until = NULL WHERE job_name = 'key_rotation'");
    let runs = count(s, "key.rotation_run");
    let mut seen = Vec::new();
    // Told to stop after its last key (a signal that came late): a finished run.
    let run = other
        .rotate_keys(scope, &audit("key.rotation_run"), &mut |done, total| {
            seen.push((done, total));
            done < total
        })
        .unwrap();
    assert_eq!((run.rotated, run.failed, run.interrupted), (overdue - 1, 0, false));
    assert_eq!(seen.last(), Some(&(overdue - 1, overdue - 1)));
    let job = s.key_inventory(90, None, 1).unwrap().rotation_job;
    assert_eq!((job.status.as_deref(), job.stopped_at), (Some("ok"), None), "recorded as finished: {job:?}");
    assert_eq!(s.key_counts(90).unwrap().overdue, 0);
    let after: Vec<i64> = ids.iter().map(version).collect();
    assert!(after.iter().zip(&before).all(|(a, b)| *a == b + 1), "{before:?} -> {after:?}");
    assert_eq!(version(&untouched), carol, "a key that is not due is left alone");
    assert_eq!(count(s, "key.rotation_run"), runs + 1, "the run's outcome row");
    assert_eq!(count(s, "key.rotation_run.begin"), begun + 2, "one intent row per run that started");

    // A run whose lease runs out and goes to another instance before it ends: what it
    // rotated is recorded, saying so, and the job's record stays the other run's.
    (h.raw)(&format!("UPDATE pf_encryption_keys SET last_rotated = {} WHERE user_id = '{}'", h.long_ago, ids[0]));
    let run = s
        .rotate_keys(scope, &audit("key.rotation_run"), &mut |_, _| {
            (h.raw)(&format!(
                "UPDATE pf_console_jobs SET lease_owner = 'elsewhere', lease_until = {} WHERE job_name = 'key_rotation'",
                h.far_future
            ));
            true
        })
        .unwrap();
    assert_eq!((run.rotated, run.interrupted), (1, false));
    let outcome =
        s.recent_audit(10).unwrap().into_iter().find(|r| r.action == "key.rotation_run").expect("its outcome");
    assert_eq!(
        outcome.detail.as_deref(),
        Some("Its lease had run out before it ended: another instance may have run the job meanwhile.")
    );
    let held = "SELECT lease_owner FROM pf_console_jobs WHERE job_name = 'key_rotation'";
    assert_eq!((h.raw_text)(held).as_deref(), Some("elsewhere"), "the other run's lease is left alone");
    (h.raw)("UPDATE pf_console_jobs SET lease_owner = NULL, lease_until = NULL WHERE job_name = 'key_rotation'");
}

/// Plaintext the product writes into a seed column after the console sealed the row
/// is folded in by the next write, rotation or sealing pass, never lost; a user whose
/// ciphertext is damaged does not hold up the sealing of everyone else.
fn plaintext_written_later_is_folded_in_never_lost(h: &Harness) {
    let s = h.storage.as_ref();
    let fay = add_user(s, "enc_fay", "active", &[]);
    s.set_sensitive_fields(&fay, &sensitive("+1 555 0101", "", "", ""), &audit("user.sensitive.update")).unwrap();
    let product_writes = |sql: &str| (h.raw)(&sql.replace("{id}", fay.as_str()));
    // The product sets a phone number and an MFA secret the old way.
    product_writes(
        "UPDATE pf_users SET phone_number = '+1 555 0199', mfa_secret = 'PRODUCTSECRET' WHERE user_id = '{id}'",
    );
    let read = |s: &dyn Storage| s.read_sensitive_fields(&fay, &audit("read.user.sensitive")).unwrap();
    assert_eq!(read(s).phone_number.as_deref(), Some("+1 555 0199"), "the newer plaintext is what is read");
    // Changing another field keeps both; the seed columns are cleared, the values encrypted.
    s.set_sensitive_fields(
        &fay,
        &SensitiveFields { nationality: Some("Maltese".into()), ..read(s) },
        &audit("user.sensitive.update"),
    )
    .unwrap();
    assert_eq!(s.mfa_secret(&fay).unwrap().as_deref(), Some("PRODUCTSECRET"));
    assert_eq!(read(s).nationality.as_deref(), Some("Maltese"));
    let cleared = "SELECT COUNT(*) FROM pf_users WHERE user_id = '{id}' AND phone_number IS NULL AND mfa_secret IS NULL AND mfa_secret_enc IS NOT NULL";
    assert_eq!((h.raw_text)(&cleared.replace("{id}", fay.as_str())).as_deref(), Some("1"));
    // And a rotation folds in what came meanwhile.
    product_writes("UPDATE pf_users SET gender = 'nonbinary' WHERE user_id = '{id}'");
    s.rotate_user_key(&fay, &audit("key.rotate")).unwrap();
    assert_eq!(read(s).gender.as_deref(), Some("nonbinary"));

    // Sealing: one user's damaged ciphertext is reported, the others are sealed.
    let gus = add_user(s, "enc_gus", "active", &[]);
    s.set_sensitive_fields(&gus, &sensitive("+1 555 0102", "", "", "Swiss"), &audit("user.sensitive.update")).unwrap();
    (h.raw)(&format!("UPDATE pf_users SET nationality_enc = 'pf1:0:AAAA', gender = 'male' WHERE user_id = '{gus}'"));
    product_writes(&format!("UPDATE pf_users SET date_of_birth = {} WHERE user_id = '{{id}}'", (h.date)("1980-01-02")));
    let (sealed, failed) = s.seal_all_plaintext(&audit("fields.seal")).unwrap();
    assert_eq!((sealed, failed), (1, 1));
    assert_eq!(read(s).date_of_birth.as_deref(), Some("1980-01-02"));
    let left = format!("SELECT COUNT(*) FROM pf_users WHERE user_id = '{gus}' AND gender = 'male'");
    assert_eq!((h.raw_text)(&left).as_deref(), Some("1"), "left as found");
    s.delete_user(&gus, &audit("user.delete")).unwrap();
}

fn key_versions(s: &dyn Storage) -> Vec<i64> {
    let inv = s.key_inventory(90, None, 500).unwrap();
    let mut v: Vec<_> = inv.keys.items.into_iter().map(|k| (k.user_id.0, k.rotation_count)).collect();
    v.sort();
    v.into_iter().map(|(_, n)| n).collect()
}
