//! The audit log for compliance: search filters, keyset pages both ways with ties
//! on the timestamp, facets against a plain grouping, export against the search,
//! and the hash chain's verification after each kind of tampering.

use crate::common::{add_user, audit, new_user, trust};
use crate::Harness;
use pathfinder::audit::{AuditFilter, AuditParams, AuditRow, BreakKind, Count, PageFrom, StatusMatch, TextMatch};
use pathfinder::storage::{audited_read, AuditEntry, Storage, TableRows, Value};
use pathfinder::storage::{LoginFailure, LoginGuard};
use pathfinder::{AppError, UserId, Username};
use std::collections::BTreeMap;

checks!(
    search_filters_pages_facets_and_export,
    facets_of_many_events_say_more_than_and_sample_the_actors,
    the_chain_shows_every_kind_of_tampering,
    audit_rows_fit_their_columns,
    a_change_whose_audit_row_fails_changes_nothing,
    audited_reads_write_their_row_or_answer_nothing,
    concurrent_reads_each_keep_their_row_in_a_verified_chain,
    a_text_search_finds_messages_appended_imported_and_removed,
);

const KEY: &[u8] = b"a test audit key of 32 characters!!";

/// Events with known values: two actors, actions under `probe.`, statuses of every
/// class, paths, addresses, messages with wildcards, and ten sharing one timestamp.
fn probe_events(s: &dyn Storage, alice: &UserId, bob: &UserId) {
    let entry =
        |actor: Option<&UserId>, action: &str, status: u16, path: &str, ip: &str, msg: Option<&str>| AuditEntry {
            actor: actor.cloned(),
            action: action.into(),
            entity_type: Some("user".into()),
            entity_id: Some(bob.0.clone()),
            ip_address: Some(ip.into()),
            request_method: Some(if status == 201 { "POST" } else { "GET" }.into()),
            request_path: Some(path.into()),
            response_status: status,
            detail: msg.map(String::from),
            ..Default::default()
        };
    for i in 0..30u16 {
        let (actor, status) = match i % 3 {
            0 => (Some(alice), 200),
            1 => (Some(bob), 404 + (i % 2) * 96),
            _ => (None, 201),
        };
        let msg = (status >= 400).then_some(if i % 2 == 0 { "100% wrong_value" } else { "Lost" });
        let action = if i % 5 == 0 { "probe.status.set" } else { "probe.view" };
        s.append_audit(&entry(
            actor,
            action,
            status,
            &format!("/probe/{}", i % 4),
            &format!("10.9.{}.{i}", i % 2),
            msg,
        ))
        .unwrap();
    }
    // Ten events at one instant (ties on the timestamp), loaded as a batch.
    let mut t = TableRows::new("pf_audit_log", pathfinder_server::generate::AUDIT_COLUMNS);
    let at = chrono::Utc::now();
    for i in 0..10 {
        t.push(vec![
            Value::Text(pathfinder::new_id()),
            Value::Text(alice.0.clone()),
            Value::Text("probe.tie".into()),
            Value::Null,
            Value::Null,
            Value::Text("10.9.2.1".into()),
            Value::Null,
            Value::Text("GET".into()),
            Value::Text("/probe/tie".into()),
            Value::Int(200),
            Value::Int(i),
            Value::Null,
            Value::Time(at),
        ]);
    }
    s.insert_batch(&[t], &audit("probe.batch")).unwrap();
}

/// The ten largest counts, the larger first (ties by name): how facets list them.
fn top_ten(m: BTreeMap<String, i64>) -> Vec<(String, i64)> {
    let mut v: Vec<(String, i64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(10);
    v
}

/// An event's actor as the facets name it: the username, or `anonymous`.
fn actor_name(s: &dyn Storage, r: &AuditRow) -> String {
    match &r.user_id {
        Some(id) => s.user_profile(&UserId(id.clone())).map(|p| p.summary.username).unwrap_or_else(|_| id.clone()),
        None => "anonymous".into(),
    }
}

/// Past [`COUNT_CAP`] events a filter's count says "more than", and its actors are
/// those of its newest [`ACTOR_SAMPLE`] events, said so.
fn facets_of_many_events_say_more_than_and_sample_the_actors(h: &Harness) {
    let s = h.s();
    let (older, newer) = (add_user(s, "many_older", "active", &[]), add_user(s, "many_newer", "active", &[]));
    let cap = pathfinder::audit::COUNT_CAP as usize;
    let sample = pathfinder::audit::ACTOR_SAMPLE as usize;
    let start = chrono::Utc::now() - chrono::Duration::hours(1);
    let mut t = TableRows::new("pf_audit_log", pathfinder_server::generate::AUDIT_COLUMNS);
    for i in 0..cap + 50 {
        // The newest `sample` events are the newer user's.
        let actor = if i >= cap + 50 - sample { &newer } else { &older };
        t.push(vec![
            Value::Text(pathfinder::new_id()),
            Value::Text(actor.0.clone()),
            Value::Text("many.view".into()),
            Value::Null,
            Value::Null,
            Value::Text("10.8.0.1".into()),
            Value::Null,
            Value::Text("GET".into()),
            Value::Text("/many".into()),
            Value::Int(200),
            Value::Int(1),
            Value::Text(format!("many a message, number {i}")),
            Value::Time(start + chrono::Duration::milliseconds(i as i64)),
        ]);
    }
    s.insert_batch(&[t], &audit("many.batch")).unwrap();
    while s.chain_pending(None, 5_000).unwrap().next.is_some() {}
    // Narrowed by path: counted from the events, not the kept hourly counts.
    let f = filter(|p| p.path = "/many".into());
    let facets = s.audit_facets(&f).unwrap();
    assert!(!facets.from_kept_counts);
    assert_eq!(facets.total, Some(Count::MoreThan(cap as i64)));
    assert_eq!(facets.actors_among_newest, Some(sample as u32));
    assert_eq!(facets.actors, [("many_newer".to_string(), sample as i64)]);
    assert_eq!(s.count_audit(&f).unwrap(), (cap + 50) as i64, "the exact count, in the background");
    // The same by a text every one of them holds: on SQLite found through the
    // trigram index of messages in batches, newest first, and counted as far as the
    // sample (further through the index would cost a lookup an event).
    let f = filter(|p| p.text = "MANY A MESSAGE".into());
    let facets = s.audit_facets(&f).unwrap();
    let counted_to = if h.oracle { cap } else { sample };
    assert_eq!(facets.total, Some(Count::MoreThan(counted_to as i64)));
    assert_eq!(facets.actors, [("many_newer".to_string(), sample as i64)]);
    let f = filter(|p| p.text = "message, number 1000".into());
    let facets = s.audit_facets(&f).unwrap();
    assert_eq!(facets.total, Some(Count::Exact(11)), "1000 and 10000-10009");
    // Within a time range: the events with a message walked, counted to the cap.
    let f = filter(|p| {
        p.text = "many a message".into();
        p.range = "24h".into();
    });
    assert_eq!(s.audit_facets(&f).unwrap().total, Some(Count::MoreThan(cap as i64)));
}

fn all_rows(s: &dyn Storage) -> Vec<AuditRow> {
    s.recent_audit(1_000_000).unwrap()
}

/// What `f` must find, filtered in Rust from every row (newest first).
fn expected(rows: &[AuditRow], f: &AuditFilter, actor: Option<&str>) -> Vec<String> {
    let prefix = |v: &Option<String>, p: &str| v.as_deref().is_some_and(|v| v.starts_with(p));
    let mut out: Vec<&AuditRow> = rows
        .iter()
        .filter(|r| f.from.is_none_or(|t| r.created_at >= t) && f.to.is_none_or(|t| r.created_at < t))
        .filter(|r| actor.is_none_or(|a| r.user_id.as_deref() == Some(a)))
        .filter(|r| match &f.action {
            Some(TextMatch::Exact(a)) => r.action == *a,
            Some(TextMatch::Prefix(p)) => r.action.starts_with(p.as_str()),
            None => true,
        })
        .filter(|r| f.entity_type.as_ref().is_none_or(|t| r.entity_type.as_ref() == Some(t)))
        .filter(|r| f.entity_id.as_ref().is_none_or(|t| r.entity_id.as_ref() == Some(t)))
        .filter(|r| {
            f.status.is_none_or(|s| {
                let (lo, hi) = s.bounds();
                r.response_status.is_some_and(|x| x >= lo && x <= hi)
            })
        })
        .filter(|r| f.method.as_ref().is_none_or(|m| r.request_method.as_ref() == Some(m)))
        .filter(|r| f.path_prefix.as_ref().is_none_or(|p| prefix(&r.request_path, p)))
        .filter(|r| match &f.ip {
            Some(TextMatch::Exact(ip)) => r.ip_address.as_ref() == Some(ip),
            Some(TextMatch::Prefix(p)) => prefix(&r.ip_address, p),
            None => true,
        })
        .filter(|r| {
            f.text
                .as_ref()
                .is_none_or(|t| r.detail.as_deref().is_some_and(|m| m.to_lowercase().contains(&t.to_lowercase())))
        })
        .filter(|r| {
            f.involving.as_ref().is_none_or(|u| r.user_id.as_ref() == Some(u) || r.entity_id.as_ref() == Some(u))
        })
        .collect();
    out.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    if f.oldest_first {
        out.reverse();
    }
    out.into_iter().map(|r| r.id.clone()).collect()
}

/// Every page forward, then every page back from the last; both must list the same ids.
fn pages_both_ways(s: &dyn Storage, f: &AuditFilter) -> Vec<String> {
    let mut f = AuditFilter { page: PageFrom::First, ..f.clone() };
    let mut forward = Vec::new();
    let mut last_page_start = None;
    loop {
        let p = s.search_audit(&f).unwrap();
        assert!(p.events.len() <= f.page_size as usize);
        last_page_start = p.events.first().map(|e| e.cursor()).or(last_page_start);
        forward.extend(p.events.iter().map(|e| e.id.clone()));
        match p.next {
            Some(n) => f.page = PageFrom::After(pathfinder::audit::AuditCursor::decode(&n).unwrap()),
            None => break,
        }
    }
    // Back from the last page's first event.
    let mut backward = Vec::new();
    if let Some(start) = last_page_start {
        let tail = forward.iter().rev().take_while(|id| **id != start.id).count() + 1;
        backward.extend(forward[forward.len() - tail..].iter().cloned());
        let mut cursor = Some(start);
        while let Some(c) = cursor {
            let p = s.search_audit(&AuditFilter { page: PageFrom::Before(c), ..f.clone() }).unwrap();
            let ids: Vec<String> = p.events.iter().map(|e| e.id.clone()).collect();
            backward.splice(0..0, ids);
            cursor = p.previous.map(|c| pathfinder::audit::AuditCursor::decode(&c).unwrap());
        }
    }
    assert_eq!(backward, forward, "pages back list what pages forward listed");
    forward
}

fn filter(f: impl FnOnce(&mut AuditParams)) -> AuditFilter {
    let mut p = AuditParams::default();
    f(&mut p);
    AuditFilter::from_params(&p, chrono::Utc::now()).unwrap()
}

fn search_filters_pages_facets_and_export(h: &Harness) {
    let s = h.s();
    let alice = add_user(s, "audit_alice", "active", &[]);
    let bob = add_user(s, "audit_bob", "active", &[]);
    probe_events(s, &alice, &bob);
    let rows = all_rows(s);
    let cases: Vec<(&str, AuditFilter, Option<&str>)> = vec![
        ("everything", filter(|_| {}), None),
        ("actor by name", filter(|p| p.actor = "audit_alice".into()), Some(alice.as_str())),
        ("actor by id", filter(|p| p.actor = bob.0.clone()), Some(bob.as_str())),
        ("action exact", filter(|p| p.action = "probe.view".into()), None),
        ("action prefix", filter(|p| p.action = "probe.status.".into()), None),
        ("action star", filter(|p| p.action = "probe.*".into()), None),
        (
            "entity",
            filter(|p| {
                p.entity_type = "user".into();
                p.entity_id = bob.0.clone();
            }),
            None,
        ),
        ("status class", filter(|p| p.status = "4xx".into()), None),
        ("errors", filter(|p| p.status = "errors".into()), None),
        ("status exact", filter(|p| p.status = "500".into()), None),
        ("method", filter(|p| p.method = "post".into()), None),
        ("path prefix", filter(|p| p.path = "/probe/1".into()), None),
        ("ip exact", filter(|p| p.ip = "10.9.1.7".into()), None),
        ("ip prefix", filter(|p| p.ip = "10.9.1.".into()), None),
        ("text with wildcards", filter(|p| p.text = "100% WRONG_".into()), None),
        ("text that is a wildcard", filter(|p| p.text = "_".into()), None),
        (
            "three filters",
            filter(|p| {
                p.actor = "audit_bob".into();
                p.status = "4xx".into();
                p.path = "/probe/".into();
            }),
            Some(bob.as_str()),
        ),
        (
            "last hour, oldest first",
            filter(|p| {
                p.range = "1h".into();
                p.order = "oldest".into();
            }),
            None,
        ),
        (
            "action prefix in the last hour",
            filter(|p| {
                p.range = "1h".into();
                p.action = "probe.".into();
            }),
            None,
        ),
        ("timeline", filter(|p| p.involving = bob.0.clone()), None),
        (
            "timeline and action",
            filter(|p| {
                p.involving = bob.0.clone();
                p.action = "probe.status.".into();
            }),
            None,
        ),
        ("ties", filter(|p| p.action = "probe.tie".into()), None),
    ];
    for (name, mut f, actor) in cases {
        f.page_size = 50;
        let want = expected(&rows, &f, actor);
        assert!(!want.is_empty() || name == "text that is a wildcard", "{name} finds something");
        // Pages of 50 over all rows; and small pages (by hand) over the probe's.
        assert_eq!(pages_both_ways(s, &f), want, "{name}");
        let mut exported = Vec::new();
        let n = s.export_audit(&f, &mut |r| {
            exported.push(r.id.clone());
            true
        });
        assert_eq!(n.unwrap(), want.len() as u64, "{name}: export count");
        assert_eq!(exported, want, "{name}: export lists what the search lists");
        assert_eq!(s.count_audit(&f).unwrap(), want.len() as i64, "{name}: exact count");
        let facets = s.audit_facets(&f).unwrap();
        let total = facets.total.unwrap();
        assert_eq!(total, Count::Exact(want.len() as i64), "{name}: count");
        // Each facet is the top ten of a plain grouping of what the filter finds.
        let (mut actions, mut outcomes, mut actors) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        for r in rows.iter().filter(|r| want.contains(&r.id)) {
            *actions.entry(r.action.clone()).or_default() += 1;
            let class = r.response_status.map(|s| s / 100).unwrap_or(0);
            *outcomes.entry(if class == 0 { "none".to_string() } else { format!("{class}xx") }).or_default() += 1;
            *actors.entry(actor_name(s, r)).or_default() += 1;
        }
        assert_eq!(facets.actions, top_ten(actions), "{name}: actions");
        assert_eq!(facets.outcomes, top_ten(outcomes), "{name}: outcomes");
        assert_eq!(facets.actors, top_ten(actors), "{name}: actors");
        assert_eq!(facets.actors_among_newest, None, "{name}: every event's actor counted");
    }
    // Ties page cleanly with pages of one... of 50 (the smallest size) is too big
    // for ten rows: page through the ties with the cursor by hand.
    let ties = filter(|p| p.action = "probe.tie".into());
    let ids = pages_both_ways(s, &ties);
    assert_eq!(ids.len(), 10);
    let mut seen = Vec::new();
    let mut page = PageFrom::First;
    for _ in 0..10 {
        let mut f = ties.clone();
        f.page = page.clone();
        f.page_size = 1; // below the UI's sizes: storage pages whatever it is given
        let p = s.search_audit(&f).unwrap();
        seen.extend(p.events.iter().map(|e| e.id.clone()));
        match p.next {
            Some(n) => page = PageFrom::After(pathfinder::audit::AuditCursor::decode(&n).unwrap()),
            None => break,
        }
    }
    assert_eq!(seen, ids, "one row a page through ten equal timestamps");
    // The kept counts answer a range's facets; they equal a plain grouping.
    let month = filter(|p| p.range = "30d".into());
    let facets = s.audit_facets(&month).unwrap();
    assert!(facets.from_kept_counts);
    let mut outcome: BTreeMap<String, i64> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.created_at >= month.from.unwrap()) {
        let class = r.response_status.map(|s| s / 100).unwrap_or(0);
        let name = if class == 0 { "none".to_string() } else { format!("{class}xx") };
        *outcome.entry(name).or_default() += 1;
    }
    let got: BTreeMap<String, i64> = facets.outcomes.into_iter().collect();
    assert_eq!(got, outcome, "outcomes from the kept counts equal a grouping of the events");
    let errors = s.audit_facets(&filter(|p| p.status = "errors".into())).unwrap();
    assert!(errors.from_kept_counts);
    // An unknown actor is a sentence, not an empty page.
    let unknown = s.search_audit(&filter(|p| p.actor = "nobody_at_all".into()));
    assert!(matches!(unknown, Err(AppError::Invalid(m)) if m.contains("nobody_at_all")));
    // A filter of values that look like SQL finds nothing and breaks nothing.
    let sql = filter(|p| {
        p.action = "' OR 1=1--".into();
        p.text = "' OR '1'='1".into();
    });
    assert!(s.search_audit(&sql).unwrap().events.is_empty());
    let _ = StatusMatch::Errors;
}

/// Runs `tamper`, checks what verify reports, runs `undo`, checks it is whole again.
fn tampered(h: &Harness, tamper: &[String], undo: &[String], key: Option<&[u8]>, kind: BreakKind, seq: i64) {
    let s = h.storage.as_ref();
    for sql in tamper {
        (h.raw)(sql);
    }
    let report = s.verify_audit_chain(&trust(key), &mut |_, _| true).unwrap();
    let problem = report.problem.unwrap_or_else(|| panic!("{kind:?} was not detected after {tamper:?}"));
    assert_eq!((problem.kind, problem.seq), (kind, seq), "{}", problem.detail);
    for sql in undo {
        (h.raw)(sql);
    }
    let report = s.verify_audit_chain(&trust(key), &mut |_, _| true).unwrap();
    assert_eq!(report.problem, None, "whole again after undoing {kind:?}");
}

fn the_chain_shows_every_kind_of_tampering(h: &Harness) {
    let s = h.storage.as_ref();
    for i in 0..20 {
        s.append_audit(&audit(&format!("chain.probe.{i}"))).unwrap();
    }
    let report = s.verify_audit_chain(&trust(Some(KEY)), &mut |_, _| true).unwrap();
    assert_eq!(report.problem, None, "an untouched log verifies");
    assert_eq!(report.unchained, 0, "migrate chained the rows of the steps before the chain");
    let head = report.last_seq;
    assert!(head > 20);
    assert_eq!(s.sign_checkpoint(KEY, chrono::Utc::now()).unwrap(), Some(head));
    assert_eq!(s.sign_checkpoint(KEY, chrono::Utc::now()).unwrap(), None, "nothing new to sign");
    let report = s.verify_audit_chain(&trust(Some(KEY)), &mut |_, _| true).unwrap();
    assert_eq!((report.problem, report.checkpoints), (None, 1));

    let k = head - 10;
    let text = |sql: String| (h.raw_text)(&sql).unwrap_or_default();
    let action = text(format!("SELECT action FROM pf_audit_log WHERE chain_seq = {k}"));
    // Edited: a field changed, its hash left.
    tampered(
        h,
        &[format!("UPDATE pf_audit_log SET action = 'chain.forged' WHERE chain_seq = {k}")],
        &[format!("UPDATE pf_audit_log SET action = '{action}' WHERE chain_seq = {k}")],
        Some(KEY),
        BreakKind::Edited,
        k,
    );
    // Deleted: a row gone.
    let keep = "CREATE TABLE pf_audit_kept AS SELECT * FROM pf_audit_log WHERE chain_seq".to_string();
    tampered(
        h,
        &[format!("{keep} = {k}"), format!("DELETE FROM pf_audit_log WHERE chain_seq = {k}")],
        &["INSERT INTO pf_audit_log SELECT * FROM pf_audit_kept".into(), "DROP TABLE pf_audit_kept".into()],
        Some(KEY),
        BreakKind::Deleted,
        k,
    );
    // Reordered: two rows swap places.
    let swap = [
        format!("UPDATE pf_audit_log SET chain_seq = -1 WHERE chain_seq = {k}"),
        format!("UPDATE pf_audit_log SET chain_seq = {k} WHERE chain_seq = {}", k + 1),
        format!("UPDATE pf_audit_log SET chain_seq = {} WHERE chain_seq = -1", k + 1),
    ];
    tampered(h, &swap, &swap, Some(KEY), BreakKind::Reordered, k);
    // Hashes rewritten from k on (as if recomputed by someone without the key): the
    // chain is consistent again, but the signed checkpoint disagrees.
    let hash = text(format!("SELECT chain_hash FROM pf_audit_log WHERE chain_seq = {head}"));
    tampered(
        h,
        &[format!("UPDATE pf_audit_log SET chain_hash = '{}' WHERE chain_seq = {head}", "f".repeat(64))],
        &[format!("UPDATE pf_audit_log SET chain_hash = '{hash}' WHERE chain_seq = {head}")],
        Some(KEY),
        BreakKind::Edited,
        head,
    );
    // Truncated: the newest three rows deleted and the head moved back to match;
    // only the signed checkpoint knows.
    let (seq3, hash3) = (head - 3, text(format!("SELECT chain_hash FROM pf_audit_log WHERE chain_seq = {}", head - 3)));
    tampered(
        h,
        &[
            format!("{keep} > {seq3}"),
            format!("DELETE FROM pf_audit_log WHERE chain_seq > {seq3}"),
            format!("UPDATE pf_audit_chain_head SET last_seq = {seq3}, last_hash = '{hash3}'"),
        ],
        &[
            "INSERT INTO pf_audit_log SELECT * FROM pf_audit_kept".into(),
            "DROP TABLE pf_audit_kept".into(),
            format!("UPDATE pf_audit_chain_head SET last_seq = {head}, last_hash = '{hash}'"),
        ],
        Some(KEY),
        BreakKind::Truncated,
        seq3 + 1,
    );
    // The whole attack (issue 24): the newest rows, the checkpoints after the cut and
    // the head. The checkpoints inside the database cannot tell; the witness outside
    // it, holding the newest checkpoint an instance saw, can.
    let dir = tempfile::tempdir().unwrap();
    let witness = pathfinder::witness::Witness::at(dir.path().join(".audit-witness"));
    witness.record(&s.newest_checkpoint().unwrap().expect("a checkpoint")).unwrap();
    let witnessed = pathfinder::witness::ChainTrust { witness: Some(witness), ..trust(Some(KEY)) };
    for sql in [
        format!("{keep} > {seq3}"),
        format!("CREATE TABLE pf_marks_kept AS SELECT * FROM pf_audit_checkpoints WHERE chain_seq > {seq3}"),
        format!("DELETE FROM pf_audit_log WHERE chain_seq > {seq3}"),
        format!("DELETE FROM pf_audit_checkpoints WHERE chain_seq > {seq3}"),
        format!("UPDATE pf_audit_chain_head SET last_seq = {seq3}, last_hash = '{hash3}'"),
    ] {
        (h.raw)(&sql);
    }
    let blind = s.verify_audit_chain(&trust(Some(KEY)), &mut |_, _| true).unwrap();
    assert_eq!(blind.problem, None, "without a witness the cut does not show (why the witness exists)");
    assert!(blind.summary().contains("No outside witness"), "{}", blind.summary());
    let seen = s.verify_audit_chain(&witnessed, &mut |_, _| true).unwrap();
    let problem = seen.problem.expect("the witness saw the cut");
    assert_eq!((problem.kind, problem.seq), (BreakKind::Truncated, seq3 + 1), "{}", problem.detail);
    assert!(problem.detail.contains(&format!("witness saw a checkpoint at sequence {head}")), "{}", problem.detail);
    for sql in [
        "INSERT INTO pf_audit_log SELECT * FROM pf_audit_kept".to_string(),
        "DROP TABLE pf_audit_kept".into(),
        "INSERT INTO pf_audit_checkpoints SELECT * FROM pf_marks_kept".into(),
        "DROP TABLE pf_marks_kept".into(),
        format!("UPDATE pf_audit_chain_head SET last_seq = {head}, last_hash = '{hash}'"),
    ] {
        (h.raw)(&sql);
    }
    let whole = s.verify_audit_chain(&witnessed, &mut |_, _| true).unwrap();
    assert_eq!(whole.problem, None, "whole again");
    assert!(whole.summary().contains("newest checkpoint"), "{}", whole.summary());
    // Without the key, the head still tells when it was left alone.
    tampered(
        h,
        &[format!("{keep} > {seq3}"), format!("DELETE FROM pf_audit_log WHERE chain_seq > {seq3}")],
        &["INSERT INTO pf_audit_log SELECT * FROM pf_audit_kept".into(), "DROP TABLE pf_audit_kept".into()],
        None,
        BreakKind::Truncated,
        seq3 + 1,
    );
    // A forged checkpoint.
    let mac = text(format!("SELECT mac FROM pf_audit_checkpoints WHERE chain_seq = {head}"));
    tampered(
        h,
        &[format!("UPDATE pf_audit_checkpoints SET mac = '{}' WHERE chain_seq = {head}", "0".repeat(64))],
        &[format!("UPDATE pf_audit_checkpoints SET mac = '{mac}' WHERE chain_seq = {head}")],
        Some(KEY),
        BreakKind::Checkpoint,
        head,
    );
    // A row written by another tool stays outside the chain until `migrate`.
    (h.raw)(&format!(
        "INSERT INTO pf_audit_log (id, action, created_at) VALUES ('{}', 'outside.tool', {})",
        pathfinder::new_id(),
        h.long_ago
    ));
    let report = s.verify_audit_chain(&trust(Some(KEY)), &mut |_, _| true).unwrap();
    assert_eq!((report.unchained, report.problem), (1, None));
    s.migrate(&audit("schema.migrate")).unwrap();
    let report = s.verify_audit_chain(&trust(Some(KEY)), &mut |_, _| true).unwrap();
    assert_eq!((report.unchained, report.problem), (0, None), "migrate chained it");
    // A walk stopped midway reports no break.
    let report = s.verify_audit_chain(&trust(Some(KEY)), &mut |_, _| false).unwrap();
    assert_eq!(report.problem, None);
    let _ = Some(KEY).map(|k| AuditEntry { action: String::from_utf8_lossy(k).into(), ..Default::default() });
}

fn audit_rows_fit_their_columns(h: &Harness) {
    let s = h.s();
    let mut entry = audit("user.create");
    entry.entity_type = Some("user".into());
    entry.entity_id = Some("e".repeat(60));
    entry.user_agent = Some("ü".repeat(400));
    s.create_user(&new_user("long_audit", "L", "A", "active", &[]), &entry).unwrap();
    let row = s.recent_audit(1).unwrap().remove(0);
    assert_eq!(row.entity_id.map(|e| e.len()), Some(36), "cut to VARCHAR2(36)");
    let ua = row.user_agent.unwrap();
    assert_eq!((ua.len(), ua.chars().count()), (500, 250), "cut to 500 bytes on a character boundary");
}

/// An audit row that cannot be written (here: an empty action, which NOT NULL
/// refuses) takes the change with it, whatever the operation.
fn a_change_whose_audit_row_fails_changes_nothing(h: &Harness) {
    let s = h.s();
    let broken = AuditEntry { action: String::new(), ..audit("x") };
    let before = s.recent_audit(100_000).unwrap().len();
    let u = new_user("audit_broken", "A", "B", "active", &[]);
    assert!(s.create_user(&u, &broken).is_err());
    assert!(matches!(s.user_profile(&u.user_id), Err(AppError::NotFound(_))), "no user was made");

    let id = add_user(s, "audit_target", "active", &[]);
    assert!(s.set_account_status(&id, "suspended", true, &broken).is_err());
    assert_eq!(s.user_profile(&id).unwrap().summary.account_status, "active");
    let guard = LoginGuard { failed_attempts: 1, last_failed_at: Some(chrono::Utc::now()), ..LoginGuard::default() };
    let failure = LoginFailure { user_id: Some(id.clone()), guard: Some(guard), device: None };
    assert!(s.record_login_failure(&failure, &broken).is_err());
    assert_eq!(s.sign_in_state(&id).unwrap().guard.failed_attempts, 0);

    let owner = Username::parse("audit_fill").unwrap();
    s.provision_user_tables(&owner, &audit("user_tables.provision")).unwrap();
    let skills = TableRows {
        table: "pf_user_audit_fill_skills".into(),
        columns: &["id", "skill_name"],
        rows: vec![vec![Value::Text("s1".into()), Value::Text("Auditing".into())]],
    };
    assert!(s.fill_user_tables(&owner, &[skills], &broken).is_err());
    let set = s.user_table_set(&owner).unwrap().unwrap();
    let rows = set.tables.iter().find(|t| t.name == "pf_user_audit_fill_skills").unwrap().rows;
    assert_eq!(rows, 0, "the rows went with their audit row");
    s.drop_user_tables(&owner, &audit("user_tables.drop")).unwrap();
    assert_eq!(s.recent_audit(100_000).unwrap().len(), before + 1 + 4, "only the successful changes are audited");
}

/// A read of personal data (here a reader's search and a look at one event) writes
/// its row before answering: the row says who asked what and how many rows came
/// back; if the row cannot be written, nothing is answered (Unavailable, a 503).
fn audited_reads_write_their_row_or_answer_nothing(h: &Harness) {
    let s = h.s();
    let reader = add_user(s, "audit_reader", "active", &[]);
    for i in 0..3 {
        s.append_audit(&AuditEntry { entity_id: Some(format!("e{i}")), ..audit("read.probe") }).unwrap();
    }
    let probes = filter(|p| p.action = "read.probe".into());
    let asked =
        AuditEntry { actor: Some(reader.clone()), detail: Some("action read.probe".into()), ..audit("audit.search") };
    let page = audited_read(s, &asked, |s| s.search_audit(&probes)).unwrap();
    assert_eq!(page.events.len(), 3);
    assert_eq!(page, s.search_audit(&probes).unwrap(), "the page is the search's");
    let row = s.recent_audit(1).unwrap().remove(0);
    assert_eq!((row.action.as_str(), row.user_id.as_ref()), ("audit.search", Some(&reader.0)));
    assert_eq!(row.detail.as_deref(), Some("action read.probe; 3 returned"));

    let event = &page.events[0];
    let looked =
        AuditEntry { actor: Some(reader.clone()), entity_id: Some(event.id.clone()), ..audit("audit.event.view") };
    let got = audited_read(s, &looked, |s| s.audit_event(&event.id)).unwrap().unwrap();
    assert_eq!((got.id.as_str(), got.action.as_str()), (event.id.as_str(), "read.probe"));
    let row = s.recent_audit(1).unwrap().remove(0);
    assert_eq!((row.action.as_str(), row.entity_id.as_deref()), ("audit.event.view", Some(event.id.as_str())));
    assert_eq!(row.detail.as_deref(), Some("1 returned"));

    // A read that fails writes no row; a row that cannot be written: no answer.
    let before = s.recent_audit(100_000).unwrap().len();
    let failed: Result<Vec<()>, _> = audited_read(s, &looked, |_| Err(AppError::NotFound("The event".into())));
    assert!(matches!(failed, Err(AppError::NotFound(_))));
    let broken = AuditEntry { action: String::new(), ..asked.clone() };
    let refused = audited_read(s, &broken, |s| s.search_audit(&probes));
    assert!(matches!(refused, Err(AppError::Unavailable(_))), "no row, no page: {refused:?}");
    assert_eq!(s.recent_audit(100_000).unwrap().len(), before);
}

/// Reads from many threads at once commit their rows in groups (one step of the
/// chain's head a group): every read's row is there, each once, and the chain verifies.
fn concurrent_reads_each_keep_their_row_in_a_verified_chain(h: &Harness) {
    let s = h.storage.clone();
    let reader = add_user(s.as_ref(), "busy_reader", "active", &[]);
    let before = s.recent_audit(100_000).unwrap().len();
    let (threads, each) = (8, 25);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (s, reader) = (s.clone(), reader.clone());
            scope.spawn(move || {
                for i in 0..each {
                    let row = AuditEntry {
                        actor: Some(reader.clone()),
                        entity_id: Some(format!("t{t}-{i}")),
                        ..audit("read.user")
                    };
                    let got = audited_read(s.as_ref(), &row, |_| Ok(vec![t, i])).unwrap();
                    assert_eq!(got, vec![t, i]);
                }
            });
        }
    });
    let rows = s.recent_audit(100_000).unwrap();
    assert_eq!(rows.len(), before + threads * each);
    let mut seen: Vec<String> =
        rows.iter().filter(|r| r.action == "read.user").filter_map(|r| r.entity_id.clone()).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), threads * each, "each read's row once");
    let report = s.verify_audit_chain(&trust(None), &mut |_, _| true).unwrap();
    assert!(report.problem.is_none(), "{report:?}");
    assert_eq!(report.unchained, 0, "{report:?}");
}

/// A text search finds messages as they are appended, as an import is chained and
/// after an event is removed; on SQLite through the trigram index of messages
/// (migration 0028), which its triggers keep for every writer.
fn a_text_search_finds_messages_appended_imported_and_removed(h: &Harness) {
    let s = h.s();
    let said = |msg: &str| AuditEntry { detail: Some(msg.into()), response_status: 500, ..audit("probe.message") };
    s.append_audit(&said("Zebrafish quota exceeded on node 7")).unwrap();
    s.append_audit(&said("an unrelated message")).unwrap();
    s.append_audit(&said("zebrafish QUOTA met")).unwrap();
    // An import: written unchained, older than the rest, then chained.
    let imported = "01JZEBRAFISHIMPORTED000001";
    (h.raw)(&format!(
        "INSERT INTO pf_audit_log (id, action, error_message, created_at)
         VALUES ('{imported}', 'probe.message', 'imported: zebrafish quota', {})",
        h.long_ago
    ));
    let found = |text: &str| -> Vec<String> {
        let f = filter(|p| p.text = text.into());
        s.search_audit(&f).unwrap().events.into_iter().map(|e| e.detail.unwrap_or_default()).collect()
    };
    let all = ["zebrafish QUOTA met", "Zebrafish quota exceeded on node 7", "imported: zebrafish quota"];
    assert_eq!(found("ZEBRAFISH QUOTA"), all, "the import found before the chain takes it");
    let sampled = s.audit_facets(&filter(|p| p.text = "zebrafish quota".into())).unwrap();
    assert_eq!(sampled.total, Some(Count::Exact(3)), "and in the facets' sample");
    s.chain_pending(None, 100).unwrap();
    assert_eq!(found("ZEBRAFISH QUOTA"), all, "any case, newest first, the import chained");
    // Capitals whose lower case the index's Unicode table does not know: the
    // search looks for what the LIKE looks for.
    s.append_audit(&said("შეცდომა ბაზაში")).unwrap();
    assert_eq!(found("ᲨᲔᲪᲓᲝᲛᲐ"), ["შეცდომა ბაზაში"]);
    assert_eq!(found("fish quota m"), ["zebrafish QUOTA met"], "a substring across words");
    assert_eq!(found("quota exceeded on node 7"), [all[1]]);
    assert_eq!(found("zebrafish quota!"), Vec::<String>::new(), "trigrams present, text absent");
    assert_eq!(found("\"zebrafish"), Vec::<String>::new(), "a quote is text");
    if h.oracle {
        return; // Oracle has no trigram index (README): the LIKE alone answered.
    }
    let proposed = || {
        (h.raw_text)(
            r#"SELECT COUNT(*) FROM pf_audit_messages_search
        WHERE pf_audit_messages_search MATCH '"zebrafish"'"#,
        )
    };
    assert_eq!(proposed().as_deref(), Some("3"), "appended and chained events are indexed");
    (h.raw)(&format!("DELETE FROM pf_audit_log WHERE id = '{imported}'"));
    assert_eq!(proposed().as_deref(), Some("2"), "a removed event leaves the index");
    assert_eq!(found("zebrafish quota"), all[..2]);
    (h.raw)("INSERT INTO pf_audit_messages_search (pf_audit_messages_search) VALUES ('integrity-check')");
}
