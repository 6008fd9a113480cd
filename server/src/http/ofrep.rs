//! The evaluation API: the OpenFeature Remote Evaluation Protocol (OFREP,
//! open-feature/protocol `service/openapi.yaml`), for other services. One flag
//! (`POST /ofrep/v1/evaluate/flags/{key}`, server-side providers) or all of them
//! (`POST /ofrep/v1/evaluate/flags`, client-side providers, with an `ETag`).
//!
//! Callers present an API key (`X-API-Key` or `Authorization: Bearer`); cookies are
//! never read and no Origin is needed (the policy table's `ApiKey`). Evaluations are
//! read from the database each time, so a change applies to the next one on every
//! instance; they are not audited one by one (only counted, by reason and outcome).

use super::state::AppState;
use crate::auth::throttle::{ApiRate, Left};
use crate::metrics::{count_evaluation, count_evaluations};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use pathfinder::flags::{ApiKey, Evaluation};
use pathfinder::storage::Storage;
use pathfinder::AppError;
use serde::Serialize;
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;

fn answer(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_string(body) {
        Ok(text) => (status, [(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(e) => failure(&AppError::internal(e)),
    }
}

fn refused(status: StatusCode, outcome: &'static str, details: &str) -> Response {
    count_evaluation("ERROR", outcome);
    answer(status, &json!({ "errorDetails": details }))
}

/// The key the caller presents (`X-API-Key` or `Authorization: Bearer`).
fn presented(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .or_else(|| crate::auth::token::bearer(headers))
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// A caller admitted: their key, and what it has left after this call's first
/// evaluation (a bulk call is charged the rest when it knows how many).
struct Charge {
    key_id: String,
    left: Left,
}

/// 429 with `Retry-After` and the `RateLimit` fields.
fn too_many(rate: &ApiRate, wait: Duration) -> Response {
    count_evaluation("ERROR", "rate_limited");
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut r = answer(StatusCode::TOO_MANY_REQUESTS, &json!({ "errorDetails": "Too many evaluations; retry later." }));
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    with_rate(r, rate, Left { remaining: 0, full_in: wait })
}

/// The answer with `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers):
/// the key's evaluations left and the seconds until its bucket is full.
fn with_rate(mut r: Response, rate: &ApiRate, left: Left) -> Response {
    let now = format!("\"evaluations\";r={};t={}", left.remaining, left.full_in.as_secs_f64().ceil() as u64);
    for (name, value) in [("ratelimit-policy", rate.policy()), ("ratelimit", now)] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            r.headers_mut().insert(name, v);
        }
    }
    r
}

/// Whether the key found for the caller's secret may evaluate now.
fn admitted(key: Option<ApiKey>, rate: &ApiRate) -> Result<Charge, Response> {
    let key = match key {
        None => return Err(refused(StatusCode::UNAUTHORIZED, "unauthorized", "That API key is not known.")),
        Some(k) if k.revoked_at.is_some() => {
            return Err(refused(StatusCode::FORBIDDEN, "forbidden", "That API key was revoked."));
        }
        Some(k) => k,
    };
    match rate.charge(&key.key_id, 1) {
        Ok(left) => Ok(Charge { key_id: key.key_id, left }),
        Err(wait) => Err(too_many(rate, wait)),
    }
}

/// Checks the caller's key and rate, then the body's targeting key (a single
/// evaluation's error names its flag, the bulk's does not), and runs `evaluate`
/// for it; otherwise the answer to send. The key and the evaluation are read in
/// one trip to the blocking pool: half the thread hand-offs of two.
async fn for_caller<T: Send + 'static>(
    st: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    flag: Option<&str>,
    evaluate: impl FnOnce(&dyn Storage, String) -> Result<T, Response> + Send + 'static,
) -> Result<(T, Charge), Response> {
    let Some(secret) = presented(headers) else {
        return Err(refused(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "An API key is required (X-API-Key or Authorization: Bearer).",
        ));
    };
    let hash = pathfinder::secret::token_hash(secret);
    // Parsed now, said only to a caller whose key is good.
    let user = targeting_key(body).map_err(|(code, details)| {
        let mut error = json!({ "errorCode": code, "errorDetails": details });
        if let Some(k) = flag {
            error["key"] = json!(k);
        }
        error
    });
    let rate = st.ofrep_rate.clone();
    let outcome = st
        .db
        .call(move |s| {
            let key = s.api_key_by_hash(&hash, chrono::Utc::now())?;
            Ok(admitted(key, &rate).and_then(|charge| {
                let user = user.map_err(|error| {
                    count_evaluation("ERROR", "invalid_context");
                    answer(StatusCode::BAD_REQUEST, &error)
                })?;
                evaluate(s, user).map(|t| (t, charge))
            }))
        })
        .await;
    outcome.unwrap_or_else(|e| Err(failure(&e)))
}

/// A failure on our side: logged with its reference, said without detail.
fn failure(e: &AppError) -> Response {
    count_evaluation("ERROR", "error");
    answer(StatusCode::INTERNAL_SERVER_ERROR, &json!({ "errorDetails": e.to_string() }))
}

/// The request's targeting key, or the protocol's error code and a sentence.
pub fn targeting_key(body: &[u8]) -> Result<String, (&'static str, &'static str)> {
    let parsed: Json = serde_json::from_slice(body).map_err(|_| ("PARSE_ERROR", "The body is not valid JSON."))?;
    let Some(context) = parsed.get("context").and_then(Json::as_object) else {
        return Err(("INVALID_CONTEXT", "The body needs a \"context\" object."));
    };
    match context.get("targetingKey") {
        None | Some(Json::Null) => Err(("TARGETING_KEY_MISSING", "The context needs a \"targetingKey\".")),
        Some(Json::String(k)) if k.trim().is_empty() => {
            Err(("TARGETING_KEY_MISSING", "The context needs a \"targetingKey\"."))
        }
        Some(Json::String(k)) if k.len() > 200 => Err(("INVALID_CONTEXT", "The targetingKey is too long.")),
        Some(Json::String(k)) => Ok(k.trim().to_string()),
        Some(_) => Err(("INVALID_CONTEXT", "The targetingKey is a user id or a username, as a string.")),
    }
}

/// One evaluation as the protocol answers it: its value, or why there is none.
/// Typed rather than built as `serde_json::Value` maps: a bulk answer holds
/// hundreds, and building and dropping their maps cost more than evaluating them.
#[derive(Serialize)]
#[serde(untagged)]
enum Answered<'a> {
    Success {
        key: &'a str,
        value: &'a Json,
        reason: &'static str,
        variant: String,
        metadata: Metadata,
    },
    Failed {
        key: &'a str,
        #[serde(rename = "errorCode")]
        error_code: &'static str,
        #[serde(rename = "errorDetails")]
        error_details: &'a str,
    },
}

#[derive(Serialize)]
struct Metadata {
    #[serde(rename = "flagType")]
    flag_type: &'static str,
    source: String,
}

impl<'a> Answered<'a> {
    fn of(e: &'a Evaluation) -> Self {
        match &e.error {
            None => Answered::Success {
                key: &e.key,
                value: &e.value,
                reason: e.source.ofrep_reason(),
                variant: e.source.variant(),
                metadata: Metadata { flag_type: e.flag_type.as_str(), source: e.source.describe() },
            },
            Some(why) => Answered::Failed { key: &e.key, error_code: "GENERAL", error_details: why },
        }
    }

    /// The protocol's reason and the outcome it is counted under.
    fn counted_as(&self) -> (&'static str, &'static str) {
        match self {
            Answered::Success { reason, .. } => (*reason, "success"),
            Answered::Failed { .. } => ("ERROR", "error"),
        }
    }
}

/// The bulk answer: every flag's, and the protocol's (empty) metadata.
#[derive(Serialize)]
struct Bulk<'a> {
    flags: Vec<Answered<'a>>,
    metadata: NoMetadata,
}

#[derive(Serialize)]
struct NoMetadata {}

/// `POST /ofrep/v1/evaluate/flags/{key}`
pub async fn evaluate_flag(
    State(st): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let asked = key.clone();
    let evaluated = for_caller(&st, &headers, &body, Some(&key), move |s, user| {
        match s.evaluate(&asked, Some(&user), chrono::Utc::now()) {
            Ok(e) => Ok(e),
            Err(AppError::NotFound(_)) => {
                count_evaluation("ERROR", "flag_not_found");
                let details = format!("No flag has the key '{asked}'.");
                Err(answer(
                    StatusCode::NOT_FOUND,
                    &json!({ "key": asked, "errorCode": "FLAG_NOT_FOUND", "errorDetails": details }),
                ))
            }
            Err(e) => Err(failure(&e)),
        }
    })
    .await;
    match evaluated {
        Ok((e, charge)) => {
            let answered = Answered::of(&e);
            let (reason, outcome) = answered.counted_as();
            count_evaluation(reason, outcome);
            with_rate(answer(StatusCode::OK, &answered), &st.ofrep_rate, charge.left)
        }
        Err(r) => r,
    }
}

/// `POST /ofrep/v1/evaluate/flags`: every flag, with an `ETag` of the answer; the
/// same `If-None-Match` gets 304 and no body.
pub async fn evaluate_flags(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let evaluated = for_caller(&st, &headers, &body, None, |s, user| {
        s.evaluate_all(Some(&user), chrono::Utc::now()).map_err(|e| failure(&e))
    })
    .await;
    let (all, charge) = match evaluated {
        Ok(done) => done,
        Err(r) => return r,
    };
    // The first evaluation was charged on admission; the rest now.
    let rest = u32::try_from(all.len().saturating_sub(1)).unwrap_or(u32::MAX);
    let left = match rest {
        0 => charge.left,
        n => match st.ofrep_rate.charge(&charge.key_id, n) {
            Ok(left) => left,
            Err(wait) => return too_many(&st.ofrep_rate, wait),
        },
    };
    let flags: Vec<Answered> = all.iter().map(Answered::of).collect();
    // Counted once a reason and outcome, not once a flag: each count looks its
    // counter up by label.
    let mut counts: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for a in &flags {
        *counts.entry(a.counted_as()).or_default() += 1;
    }
    for ((reason, outcome), n) in counts {
        count_evaluations(reason, outcome, n);
    }
    let text = match serde_json::to_string(&Bulk { flags, metadata: NoMetadata {} }) {
        Ok(text) => text,
        Err(e) => return failure(&AppError::internal(e)),
    };
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(text.as_bytes())[..16]));
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().trim_start_matches("W/") == etag));
    let mut r = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], text).into_response()
    };
    if let Ok(v) = HeaderValue::from_str(&etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    with_rate(r, &st.ofrep_rate, left)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pathfinder::flags::{FlagType, Source};

    #[test]
    fn an_evaluation_answers_its_value_or_why_there_is_none() {
        let mut e = Evaluation {
            key: "banner".into(),
            flag_type: FlagType::String,
            value: json!("plain"),
            source: Source::Default,
            error: None,
        };
        let ok = serde_json::to_value(Answered::of(&e)).unwrap();
        assert_eq!(
            ok,
            json!({ "key": "banner", "value": "plain", "reason": "STATIC", "variant": "default",
                    "metadata": { "flagType": "string", "source": Source::Default.describe() } })
        );
        assert_eq!(Answered::of(&e).counted_as(), ("STATIC", "success"));
        e.value = Json::Null;
        e.error = Some("The stored value is not a string.".into());
        let failed = serde_json::to_value(Answered::of(&e)).unwrap();
        assert_eq!(
            failed,
            json!({ "key": "banner", "errorCode": "GENERAL", "errorDetails": "The stored value is not a string." })
        );
        assert_eq!(Answered::of(&e).counted_as(), ("ERROR", "error"));
        let bulk = serde_json::to_string(&Bulk { flags: vec![], metadata: NoMetadata {} }).unwrap();
        assert_eq!(bulk, r#"{"flags":[],"metadata":{}}"#);
    }
}
