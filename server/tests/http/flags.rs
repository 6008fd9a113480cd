//! The flag evaluation API (OFREP) for services.

use crate::harness::*;

#[tokio::test]
async fn the_ofrep_api_evaluates_for_services_holding_a_key() {
    use pathfinder::flags::{FlagEdit, GroupEdit, OverrideEdit, Target};
    use pathfinder::storage::FlagStore;
    let c = Console::new();
    let s = c.storage.as_ref();
    let a = |action: &str| common::audit(action);
    let flag = |key: &str, t: &str, default: &str| FlagEdit {
        key: key.into(),
        name: key.into(),
        flag_type: t.into(),
        default_value: default.into(),
        ..Default::default()
    };
    s.create_flag(&flag("new-checkout", "boolean", "false"), &a("flag.create")).unwrap();
    s.create_flag(&flag("banner", "string", "plain"), &a("flag.create")).unwrap();
    let beta = GroupEdit { name: "beta".into(), priority: 5, ..Default::default() };
    let beta = s.save_group(None, &beta, &a("group.create")).unwrap();
    add_console_user(s, "api_ann", Role::Admin);
    let ann = s.user_id_by_username(&Username::parse("api_ann").unwrap()).unwrap().unwrap();
    s.set_user_group(&ann, Some(&beta.group_id), &a("user.group")).unwrap();
    let why = |v: &str| OverrideEdit { value: v.into(), reason: "pilot".into(), expires_at: None };
    s.set_override("new-checkout", &Target::User("api_ann".into()), &why("true"), &a("x")).unwrap();
    s.set_override("banner", &Target::Group(beta.group_id.clone()), &why("holiday"), &a("x")).unwrap();
    let (secret, hash, prefix) = pathfinder::secret::new_api_key();
    let key = s.create_api_key("checkout-service", &hash, &prefix, &a("flag.api_key.create")).unwrap();
    let one = |k: &str| format!("/ofrep/v1/evaluate/flags/{k}");
    let ann_context = r#"{"context": {"targetingKey": "api_ann"}}"#;

    // Without a key, or with an unknown one: 401, whatever cookie comes along.
    let root = c.token("root").await;
    let cookie = format!("pf_session={root}");
    let r = ofrep(&c, &one("banner"), None, &[("cookie", cookie.as_str())], ann_context).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a session is not a key: {}", r.body);
    assert!(json_of(&r)["errorDetails"].is_string());
    let r = ofrep(&c, &one("banner"), Some("pfk_not_a_key"), &[], ann_context).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Single evaluations: a user's own override, their group's, the default; by
    // username or user id; no Origin needed; Bearer works as well as X-API-Key.
    let r = ofrep(&c, &one("new-checkout"), Some(&secret), &[], ann_context).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = json_of(&r);
    assert_eq!((v["key"].clone(), v["value"].clone()), (serde_json::json!("new-checkout"), serde_json::json!(true)));
    assert_eq!((v["reason"].as_str(), v["variant"].as_str()), (Some("TARGETING_MATCH"), Some("user-override")));
    let by_id = format!(r#"{{"context": {{"targetingKey": "{}"}}}}"#, ann.0);
    let bearer = format!("Bearer {secret}");
    let r = ofrep(&c, &one("banner"), None, &[("authorization", bearer.as_str())], &by_id).await;
    let v = json_of(&r);
    assert_eq!((v["value"].as_str(), v["variant"].as_str()), (Some("holiday"), Some("group:beta")));
    let r = ofrep(&c, &one("banner"), Some(&secret), &[], r#"{"context": {"targetingKey": "someone-else"}}"#).await;
    let v = json_of(&r);
    assert_eq!(
        (v["value"].as_str(), v["reason"].as_str(), v["variant"].as_str()),
        (Some("plain"), Some("STATIC"), Some("default"))
    );

    // The protocol's errors.
    let r = ofrep(&c, &one("no-such-flag"), Some(&secret), &[], ann_context).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(json_of(&r)["errorCode"], "FLAG_NOT_FOUND");
    for (body, code) in [
        ("{not json", "PARSE_ERROR"),
        (r#"{"targetingKey": "api_ann"}"#, "INVALID_CONTEXT"),
        (r#"{"context": {"targetingKey": 7}}"#, "INVALID_CONTEXT"),
        (r#"{"context": {}}"#, "TARGETING_KEY_MISSING"),
        (r#"{"context": {"targetingKey": " "}}"#, "TARGETING_KEY_MISSING"),
    ] {
        let r = ofrep(&c, &one("banner"), Some(&secret), &[], body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        let v = json_of(&r);
        assert_eq!((v["errorCode"].as_str(), v["key"].as_str()), (Some(code), Some("banner")), "{body}");
    }

    // Bulk: every flag with an ETag; the same ETag gets 304 and no body; a change
    // to a flag changes it at the next call.
    let all = "/ofrep/v1/evaluate/flags";
    let r = ofrep(&c, all, Some(&secret), &[], ann_context).await;
    assert_eq!(r.status, StatusCode::OK);
    let bulk = json_of(&r);
    let flags = bulk["flags"].as_array().unwrap().clone();
    assert_eq!(flags.len(), 2);
    // Each flag's entry is what its single evaluation answers, field for field; the
    // answer's metadata is the protocol's empty object.
    assert_eq!(bulk["metadata"], serde_json::json!({}));
    for f in &flags {
        let key = f["key"].as_str().unwrap();
        let single = json_of(&ofrep(&c, &one(key), Some(&secret), &[], ann_context).await);
        assert_eq!(f, &single, "{key}");
    }
    let checkout = flags.iter().find(|f| f["key"] == "new-checkout").unwrap();
    assert_eq!(
        (&checkout["value"], &checkout["reason"], &checkout["variant"], &checkout["metadata"]["flagType"]),
        (
            &serde_json::json!(true),
            &serde_json::json!("TARGETING_MATCH"),
            &serde_json::json!("user-override"),
            &serde_json::json!("boolean")
        )
    );
    assert!(checkout["metadata"]["source"].as_str().is_some_and(|s| !s.is_empty()));
    let etag = r.headers[header::ETAG].to_str().unwrap().to_string();
    let r = ofrep(&c, all, Some(&secret), &[("if-none-match", etag.as_str())], ann_context).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::NOT_MODIFIED, ""));
    s.set_override("banner", &Target::User("api_ann".into()), &why("mine"), &a("x")).unwrap();
    let r = ofrep(&c, all, Some(&secret), &[("if-none-match", etag.as_str())], ann_context).await;
    assert_eq!(r.status, StatusCode::OK, "a change shows at once");
    assert_ne!(r.headers[header::ETAG].to_str().unwrap(), etag);
    let r = ofrep(&c, all, Some(&secret), &[], r#"{"context": {}}"#).await;
    assert_eq!((r.status, json_of(&r)["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("TARGETING_KEY_MISSING")));

    // A key revoked while in use: 403 from its next call.
    s.revoke_api_key(&key.key_id, &a("flag.api_key.revoke")).unwrap();
    let r = ofrep(&c, &one("banner"), Some(&secret), &[], ann_context).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(s.api_keys().unwrap()[0].last_used_at.is_some(), "its last use was kept");

    // Each key has its share: a console that allows 3 evaluations, then one an hour,
    // answers exactly 3, then 429 with the wait in Retry-After; another key is not
    // held up.
    let strict = Console::configured(|c| {
        c.ofrep_rate = EvaluationRate { burst: 3, every: std::time::Duration::from_secs(3600) };
    });
    let t = strict.storage.as_ref();
    t.create_flag(&flag("banner", "string", "plain"), &a("flag.create")).unwrap();
    common::add_user(t, "api_ann", "active", &[]);
    let (busy, hash, prefix) = pathfinder::secret::new_api_key();
    t.create_api_key("busy", &hash, &prefix, &a("flag.api_key.create")).unwrap();
    let mut answers = vec![];
    for _ in 0..5 {
        answers.push(ofrep(&strict, &one("banner"), Some(&busy), &[], ann_context).await);
    }
    let statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses, [200, 200, 200, 429, 429], "the burst, then refused");
    let wait: u64 = answers[3].headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((3500..=3600).contains(&wait), "Retry-After {wait}");
    let (calm, hash, prefix) = pathfinder::secret::new_api_key();
    t.create_api_key("calm", &hash, &prefix, &a("flag.api_key.create")).unwrap();
    assert_eq!(ofrep(&strict, &one("banner"), Some(&calm), &[], ann_context).await.status, StatusCode::OK);
    assert!(strict
        .scrape()
        .await
        .contains("pathfinder_flag_evaluations_total{outcome=\"rate_limited\",reason=\"ERROR\"}"));
    // Each answer says the key's share (RateLimit-Policy) and what is left (RateLimit).
    assert_eq!(answers[0].headers["ratelimit-policy"], "\"evaluations\";q=3;w=10800");
    assert_eq!(answers[0].headers["ratelimit"], "\"evaluations\";r=2;t=3600");
    assert_eq!(answers[2].headers["ratelimit"], "\"evaluations\";r=0;t=10800");
    assert!(answers[3].headers["ratelimit"].to_str().unwrap().starts_with("\"evaluations\";r=0;"));
    // A bulk call is charged by the evaluation: three flags cost three, so the key
    // has nothing left for the single one after it (it was charged one before).
    for k in ["second", "third"] {
        t.create_flag(&flag(k, "string", "x"), &a("flag.create")).unwrap();
    }
    let (bulky, hash, prefix) = pathfinder::secret::new_api_key();
    t.create_api_key("bulky", &hash, &prefix, &a("flag.api_key.create")).unwrap();
    let all = ofrep(&strict, "/ofrep/v1/evaluate/flags", Some(&bulky), &[], ann_context).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(all.headers["ratelimit"], "\"evaluations\";r=0;t=10800");
    let after = ofrep(&strict, &one("banner"), Some(&bulky), &[], ann_context).await;
    assert_eq!(after.status, StatusCode::TOO_MANY_REQUESTS, "a bulk of three evaluations cost one");
    let (more, hash, prefix) = pathfinder::secret::new_api_key();
    t.create_api_key("more", &hash, &prefix, &a("flag.api_key.create")).unwrap();
    t.create_flag(&flag("fourth", "string", "x"), &a("flag.create")).unwrap();
    let over = ofrep(&strict, "/ofrep/v1/evaluate/flags", Some(&more), &[], ann_context).await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS, "four flags are more than the burst of three");

    // Counted by reason and outcome, never by user; not audited per call.
    let body = c.scrape().await;
    for series in [
        "pathfinder_flag_evaluations_total{outcome=\"success\",reason=\"TARGETING_MATCH\"}",
        "pathfinder_flag_evaluations_total{outcome=\"success\",reason=\"STATIC\"}",
        "pathfinder_flag_evaluations_total{outcome=\"flag_not_found\",reason=\"ERROR\"}",
    ] {
        assert!(body.contains(series), "{series}");
    }
    assert!(!body.contains("api_ann"));
    let rows = s.recent_audit(500).unwrap();
    assert!(rows.iter().all(|r| r.request_path.as_deref().is_none_or(|p| !p.starts_with("/ofrep/"))));
}
