//! Sign-in and sign-out, independent of HTTP: each outcome is audited with the
//! change it makes, in one transaction.

use super::{password, token, SessionPolicy, TokenKeys};
use crate::metrics;
use chrono::Utc;
use pathfinder::db::Db;
use pathfinder::dto::Principal;
use pathfinder::request::RequestMeta;
use pathfinder::storage::{truncate, LoginFailure, NewSession};
use pathfinder::{AppError, AppResult, SessionId, Username};
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::timeout;

/// Failed attempts in a row that lock an account.
pub const MAX_FAILED_ATTEMPTS: u32 = 5;
pub const LOCKOUT: chrono::Duration = chrono::Duration::minutes(15);

/// A new session's token and lifetime.
pub struct SignedIn {
    pub token: String,
    pub max_age_secs: i64,
}

/// At most this many password checks run at once: each takes ~19 MiB and a core,
/// and anyone can ask for one.
const CONCURRENT_CHECKS: usize = 4;
static CHECKS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(CONCURRENT_CHECKS)));
/// How long a sign-in waits for its turn before it is told to try again.
const WAIT_FOR_TURN: Duration = Duration::from_secs(10);

/// Sign-ins to one username run one at a time in this process, so parallel guesses
/// cannot all read the same failure count before any of them records its failure.
static ACCOUNT_LOCKS: LazyLock<[Mutex<()>; 64]> = LazyLock::new(|| std::array::from_fn(|_| Mutex::new(())));

fn account_lock(username: &str) -> &'static Mutex<()> {
    let hash =
        username.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    &ACCOUNT_LOCKS[(hash % 64) as usize]
}

fn busy() -> AppError {
    AppError::unavailable("sign-in queue is full")
}

type Check = Box<dyn FnOnce() + Send>;

/// The threads that run password checks, as many as may run at once. A check
/// allocates 19 MiB, which the allocator then keeps for the thread that ran it: on
/// tokio's blocking pool (hundreds of threads) that grew the server to half a
/// gigabyte under a sign-in load; on these few it stays at a few times 19 MiB.
static CHECKERS: LazyLock<std::sync::mpsc::SyncSender<Check>> = LazyLock::new(|| {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Check>(CONCURRENT_CHECKS);
    let rx = Arc::new(std::sync::Mutex::new(rx));
    for i in 0..CONCURRENT_CHECKS {
        let rx = rx.clone();
        let spawned = std::thread::Builder::new().name(format!("password-check-{i}")).spawn(move || loop {
            let next = rx.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).recv();
            match next {
                Ok(check) => check(),
                Err(_) => return,
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start a password-check thread");
        }
    }
    tx
});

/// Checks `pw` against `hash` (`None`: the dummy hash of unknown users). The permit
/// travels into the check, so a request dropped midway still holds it until the
/// check it started ends.
async fn check_password(hash: Option<String>, pw: String) -> AppResult<bool> {
    let permit = timeout(WAIT_FOR_TURN, CHECKS.clone().acquire_owned()).await.map_err(|_| busy())?;
    let permit = permit.map_err(AppError::internal)?;
    let (done, outcome) = tokio::sync::oneshot::channel();
    let check: Check = Box::new(move || {
        let _permit = permit;
        let _ = done.send(password::verify(hash.as_deref().unwrap_or(&password::DUMMY_HASH), &pw));
    });
    // Never full: a check needs a permit, and there are as many permits as places.
    CHECKERS.try_send(check).map_err(|_| busy())?;
    outcome.await.map_err(AppError::internal)
}

/// Checks the credentials; on success opens a session. Every failure (unknown name,
/// wrong password, locked or inactive account) gives the same `BadCredentials`,
/// after the same work: one password check.
pub async fn sign_in(
    db: &Db,
    keys: &TokenKeys,
    policy: &SessionPolicy,
    meta: &RequestMeta,
    username: &str,
    pw: &str,
) -> AppResult<SignedIn> {
    // No password can be this long (they are refused when set): no hashing for it.
    if pw.len() > password::MAX_PASSWORD_BYTES {
        let mut audit = meta.audit(None, "login.failure", ("user", None), 401);
        audit.error_message = Some(format!("a password over {} bytes", password::MAX_PASSWORD_BYTES));
        db.call(move |s| s.append_audit(&audit)).await?;
        metrics::count_login("failure");
        return Err(AppError::BadCredentials);
    }
    let _one_at_a_time = timeout(WAIT_FOR_TURN, account_lock(username).lock()).await.map_err(|_| busy())?;
    let name = Username::parse(username).ok();
    let record = match name.clone() {
        Some(n) => db.call(move |s| s.login_record(n.as_str())).await?,
        None => None,
    };
    let now = Utc::now();
    let Some(record) = record else {
        check_password(None, pw.to_string()).await?;
        let mut audit = meta.audit(None, "login.failure", ("user", None), 401);
        // What was typed is never kept (it may be a password typed into the wrong
        // box): a keyed tag lets reviewers tell attempts with the same name apart.
        audit.error_message = Some(match &name {
            Some(n) => format!("unknown username (tag {})", keys.name_tag(n.as_str())),
            None => "a username that breaks the username rule".into(),
        });
        db.call(move |s| s.record_login_failure(&LoginFailure { user_id: None, locked_until: None }, &audit)).await?;
        metrics::count_login("failure");
        return Err(AppError::BadCredentials);
    };
    let ok = check_password(Some(record.password_hash.clone()), pw.to_string()).await?;
    // Only console accounts sign in here: anyone else gets the wrong-password answer
    // after the same work, and nothing of theirs changes (no counters, no session).
    if !record.console_role {
        let mut audit =
            meta.audit(Some(&record.user_id), "login.failure", ("user", Some(record.user_id.as_str())), 401);
        audit.error_message = Some("not a console account (no console role)".into());
        db.call(move |s| s.append_audit(&audit)).await?;
        metrics::count_login("failure");
        return Err(AppError::BadCredentials);
    }
    let user_id = record.user_id.clone();
    let entity = ("user", Some(user_id.as_str()));

    if record.locked_until.is_some_and(|t| t > now) {
        let mut audit = meta.audit(Some(&user_id), "login.locked", entity, 401);
        audit.error_message = Some("account temporarily locked after failed sign-ins".into());
        db.call(move |s| s.append_audit(&audit)).await?;
        metrics::count_login("locked");
        return Err(AppError::BadCredentials);
    }

    if !ok || record.account_status != "active" {
        let attempts = record.failed_attempts.saturating_add(1);
        let locked_until = (!ok && attempts >= MAX_FAILED_ATTEMPTS).then(|| now + LOCKOUT);
        let mut audit = meta.audit(Some(&user_id), "login.failure", entity, 401);
        audit.error_message = Some(if ok {
            format!("account is {}", record.account_status)
        } else if locked_until.is_some() {
            format!("wrong password ({attempts} in a row): locked for {} minutes", LOCKOUT.num_minutes())
        } else {
            format!("wrong password ({attempts} in a row)")
        });
        let failure = LoginFailure { user_id: Some(user_id.clone()), locked_until };
        db.call(move |s| s.record_login_failure(&failure, &audit)).await?;
        metrics::count_login("failure");
        return Err(AppError::BadCredentials);
    }

    let session_id = SessionId::new();
    let ttl_secs = policy.absolute.num_seconds();
    let token = keys.issue(&user_id, &session_id, now.timestamp(), ttl_secs)?;
    let session = NewSession {
        session_id: session_id.clone(),
        user_id: user_id.clone(),
        token_hash: token::token_hash(&token),
        created_at: now,
        expires_at: now + policy.absolute,
        ip_address: meta.ip.clone(),
        user_agent: meta.user_agent.as_deref().map(|ua| truncate(ua, 500)),
    };
    let audit = meta.audit(Some(&user_id), "login.success", ("session", Some(session_id.as_str())), 303);
    db.call(move |s| s.record_login_success(&session, &audit)).await?;
    metrics::count_login("success");
    Ok(SignedIn { token, max_age_secs: ttl_secs })
}

/// The principal of a session token, if the token is valid and its session live.
pub async fn authenticate(
    db: &Db,
    keys: &TokenKeys,
    policy: &SessionPolicy,
    token: &str,
) -> AppResult<Option<Principal>> {
    let Some(claims) = keys.verify(token) else { return Ok(None) };
    let sid = SessionId(claims.sid);
    let hash = token::token_hash(token);
    let now = Utc::now();
    let idle_since = now - policy.idle;
    let lookup = sid.clone();
    let principal = db.call(move |s| s.session_principal(&lookup, &hash, now, idle_since)).await?;
    // The row must belong to the token's subject too.
    let principal = principal.filter(|p| p.user_id.0 == claims.sub);
    if principal.is_some() && activity::due(&sid) {
        db.call(move |s| s.touch_session(&sid, now, now - activity::EVERY)).await?;
    }
    Ok(principal)
}

/// How often a session's `last_activity` is written: at most once a minute per
/// session and instance, so the idle timeout costs no write on most requests. The
/// map only spares writes (the database decides, and several instances each write at
/// most once a minute); it is emptied when it grows past its bound.
mod activity {
    use pathfinder::SessionId;
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    use std::time::Instant;

    pub const EVERY: chrono::Duration = chrono::Duration::seconds(60);
    const BOUND: usize = 100_000;
    static WRITTEN: LazyLock<Mutex<HashMap<String, Instant>>> = LazyLock::new(Default::default);

    /// Whether this instance should write the session's activity now (and notes that it does).
    pub fn due(sid: &SessionId) -> bool {
        let mut map = WRITTEN.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let every = EVERY.to_std().unwrap_or_default();
        if map.get(&sid.0).is_some_and(|t| now.duration_since(*t) < every) {
            return false;
        }
        if map.len() >= BOUND {
            map.clear();
        }
        map.insert(sid.0.clone(), now);
        true
    }
}

/// Ends the session: it is refused from the next request on.
pub async fn sign_out(db: &Db, meta: &RequestMeta, who: &Principal) -> AppResult<()> {
    let audit = meta.audit(Some(&who.user_id), "logout", ("session", Some(who.session_id.as_str())), 303);
    let sid = who.session_id.clone();
    db.call(move |s| s.revoke_session(&sid, &audit)).await
}
