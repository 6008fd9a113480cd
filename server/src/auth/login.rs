//! Sign-in and sign-out, independent of HTTP: each outcome is audited with the
//! change it makes, in one transaction.

use super::guard::LockoutPolicy;
use super::{password, token, SessionPolicy, TokenKeys};
use crate::metrics;
use chrono::Utc;
use pathfinder::db::Db;
use pathfinder::dto::Principal;
use pathfinder::mfa;
use pathfinder::request::RequestMeta;
use pathfinder::storage::{
    truncate, DeviceFailure, LoginFailure, LoginRecord, LoginStart, LoginSuccess, NewSession, SecondFactor,
};
use pathfinder::storage::{
    Action, LOGIN_FAILURE, LOGIN_LOCKED, LOGIN_LOCKOUT, LOGIN_SUCCESS, LOGOUT, SESSION_CONFIRM, SESSION_CONFIRM_FAILURE,
};
use pathfinder::{AppError, AppResult, SessionId, Username};
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::timeout;

/// A new session's token and lifetime.
pub struct SignedIn {
    pub token: String,
    pub max_age_secs: i64,
    /// The device cookie to set: the browser's own when it was trusted, else a new one.
    pub device: String,
}

/// What a sign-in form brought: the device cookie comes from the browser.
pub struct Attempt<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub device: Option<&'a str>,
    /// The two-factor code (TOTP or a recovery code), for accounts that use one.
    pub code: Option<&'a str>,
    /// The throttle found the address calm (see [`super::throttle::Verdict`]).
    pub calm: bool,
}

/// How long one attempt may hold its account's lease: far longer than a check takes,
/// short enough that a crashed instance blocks the account only briefly.
const LEASE: chrono::Duration = chrono::Duration::seconds(30);
/// How often an attempt looks again while another instance holds the lease.
const LEASE_POLL: Duration = Duration::from_millis(50);

/// At most this many password checks run at once: each takes ~19 MiB and a core,
/// and anyone can ask for one. Half of them are kept for addresses the throttle
/// finds calm, so a flood from a few addresses cannot take every turn.
const CONCURRENT_CHECKS: usize = 4;
static SHARED_CHECKS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(CONCURRENT_CHECKS / 2)));
static CALM_CHECKS: LazyLock<Arc<Semaphore>> =
    LazyLock::new(|| Arc::new(Semaphore::new(CONCURRENT_CHECKS - CONCURRENT_CHECKS / 2)));
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

/// A turn to run one password check: at most [`CONCURRENT_CHECKS`] run at once, and
/// only attempts from calm addresses may take the turns kept for them.
async fn check_turn(calm: bool) -> AppResult<tokio::sync::OwnedSemaphorePermit> {
    let shared = SHARED_CHECKS.clone().acquire_owned();
    let permit = if calm {
        let kept = CALM_CHECKS.clone().acquire_owned();
        timeout(WAIT_FOR_TURN, async {
            tokio::select! {
                p = kept => p,
                p = shared => p,
            }
        })
        .await
    } else {
        timeout(WAIT_FOR_TURN, shared).await
    };
    permit.map_err(|_| busy())?.map_err(AppError::internal)
}

/// Runs `work` on the password-check threads. The permit travels into it, so a
/// request dropped midway still holds its turn until the work it started ends.
async fn on_checkers<T: Send + 'static>(
    permit: tokio::sync::OwnedSemaphorePermit,
    work: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    let (done, outcome) = tokio::sync::oneshot::channel();
    let job: Check = Box::new(move || {
        let _permit = permit;
        let _ = done.send(work());
    });
    // Never full: work needs a permit, and there are as many permits as places.
    CHECKERS.try_send(job).map_err(|_| busy())?;
    outcome.await.map_err(AppError::internal)
}

/// Checks `pw` against `hash` (`None`: the dummy hash of unknown users).
async fn check_password(
    permit: tokio::sync::OwnedSemaphorePermit,
    hash: Option<String>,
    pw: String,
) -> AppResult<bool> {
    on_checkers(permit, move || password::verify(hash.as_deref().unwrap_or(&password::DUMMY_HASH), &pw)).await
}

/// Hashes a new password on the password-check threads (with a turn, like a check:
/// the same memory, bounded the same way).
pub async fn hash_password(pw: &str, calm: bool) -> AppResult<String> {
    password::validate(pw)?;
    let permit = check_turn(calm).await?;
    let pw = pw.to_string();
    on_checkers(permit, move || password::hash(&pw)).await?
}

/// Looks the name up and takes its account's lease, waiting while an attempt on
/// another instance holds it.
async fn begin(db: &Db, name: Option<Username>, device_hash: Option<String>) -> AppResult<LoginStart> {
    let Some(name) = name else { return Ok(LoginStart::Unknown) };
    let waited = tokio::time::Instant::now();
    loop {
        let (n, d) = (name.clone(), device_hash.clone());
        let now = Utc::now();
        match db.call(move |s| s.begin_login(n.as_str(), d.as_deref(), now, now + LEASE)).await? {
            LoginStart::Busy if waited.elapsed() < WAIT_FOR_TURN => tokio::time::sleep(LEASE_POLL).await,
            LoginStart::Busy => return Err(busy()),
            start => return Ok(start),
        }
    }
}

/// Checks the credentials; on success opens a session. Every failure (unknown name,
/// wrong password, locked or inactive account) gives the same `BadCredentials`,
/// after the same work: one password check. The account's guard decides with the
/// lease held (see [`super::guard`]).
pub async fn sign_in(
    db: &Db,
    keys: &TokenKeys,
    policy: &SessionPolicy,
    lockout: &LockoutPolicy,
    meta: &RequestMeta,
    attempt: &Attempt<'_>,
) -> AppResult<SignedIn> {
    let (username, pw) = (attempt.username, attempt.password);
    // No password can be this long (they are refused when set): no hashing for it.
    if pw.len() > password::MAX_PASSWORD_BYTES {
        let mut audit = meta.audit(None, LOGIN_FAILURE, ("user", None));
        audit.detail = Some(format!("a password over {} bytes", password::MAX_PASSWORD_BYTES));
        db.call(move |s| s.append_audit(&audit)).await?;
        metrics::count_login("failure");
        return Err(AppError::BadCredentials);
    }
    let _one_at_a_time = timeout(WAIT_FOR_TURN, account_lock(username).lock()).await.map_err(|_| busy())?;
    // The turn comes before the lease, so waiting for a turn never holds an account.
    let turn = check_turn(attempt.calm).await?;
    let name = Username::parse(username).ok();
    let device_hash = attempt.device.map(token::token_hash);
    let record = match begin(db, name.clone(), device_hash.clone()).await? {
        LoginStart::Ready(record) => record,
        _ => {
            check_password(turn, None, pw.to_string()).await?;
            let mut audit = meta.audit(None, LOGIN_FAILURE, ("user", None));
            // What was typed is never kept (it may be a password typed into the wrong
            // box): a keyed tag lets reviewers tell attempts with the same name apart.
            audit.detail = Some(match &name {
                Some(n) => format!("unknown username (tag {})", keys.name_tag(n.as_str())),
                None => "a username that breaks the username rule".into(),
            });
            db.call(move |s| s.append_audit(&audit)).await?;
            metrics::count_login("failure");
            return Err(AppError::BadCredentials);
        }
    };
    let mut lease = Lease::of(db, &record);
    let password_ok = check_password(turn, Some(record.password_hash.clone()), pw.to_string()).await?;
    // Only console accounts sign in here: anyone else gets the wrong-password answer
    // after the same work, and nothing of theirs changes (no counters, no session).
    if !record.console_role {
        let mut audit = meta.audit(Some(&record.user_id), LOGIN_FAILURE, ("user", Some(record.user_id.as_str())));
        audit.detail = Some("not a console account (no console role)".into());
        db.call(move |s| s.append_audit(&audit)).await?;
        metrics::count_login("failure");
        return Err(AppError::BadCredentials);
    }
    let user_id = record.user_id.clone();
    let now = Utc::now();
    let Checked { locked, trusted, factor } =
        settle(db, lockout, meta, &record, attempt, device_hash, password_ok, now, LOGIN_FAILURE, &mut lease).await?;

    let device = match (trusted, attempt.device) {
        (Some(_), Some(cookie)) => cookie.to_string(),
        _ => token::new_secret(),
    };
    let success = LoginSuccess {
        device_hash: token::token_hash(&device),
        reset_guard: !locked,
        forget_unused_before: now - super::guard::DEVICE_TRUST,
        second_factor: factor,
    };
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
    let mut audit = meta.audit(Some(&user_id), LOGIN_SUCCESS, ("session", Some(session_id.as_str())));
    if locked {
        audit.detail = Some("from a trusted browser while the account is locked for others".into());
    }
    match db.call(move |s| s.record_login_success(&session, &success, &audit)).await {
        // The code was used by another attempt meanwhile (its lease had run out).
        Err(AppError::Conflict(_)) => {
            let mut audit = meta.audit(Some(&user_id), LOGIN_FAILURE, ("user", Some(user_id.as_str())));
            audit.detail = Some("two-factor code used already".into());
            let failure = LoginFailure { user_id: Some(user_id.clone()), ..LoginFailure::default() };
            db.call(move |s| s.record_login_failure(&failure, &audit)).await?;
            lease.settled();
            metrics::count_login("failure");
            return Err(AppError::BadCredentials);
        }
        other => other?,
    }
    lease.settled();
    metrics::count_login("success");
    Ok(SignedIn { token, max_age_secs: ttl_secs, device })
}

/// An attempt's hold on its account's sign-in lease. The outcome's transaction lets
/// go of the lease; an attempt that ends without writing one (a failed write, no
/// turn for its check) lets go here, so the account's next attempt need not wait
/// for the lease to run out.
struct Lease {
    db: Db,
    user_id: Option<pathfinder::UserId>,
}

impl Lease {
    fn of(db: &Db, record: &LoginRecord) -> Lease {
        Lease { db: db.clone(), user_id: record.console_role.then(|| record.user_id.clone()) }
    }

    /// The outcome is written, and the lease with it.
    fn settled(&mut self) {
        self.user_id = None;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(id) = self.user_id.take() else { return };
        let db = self.db.clone();
        tokio::spawn(async move {
            if let Err(e) = db.call(move |s| s.release_login(&id)).await {
                tracing::warn!(error = %e, "a sign-in lease could not be let go; it runs out by itself");
            }
        });
    }
}

/// What a successful check of a console account's credentials found.
struct Checked {
    /// Locked for browsers the account does not trust (the attempt came from one it does).
    locked: bool,
    /// The failures of the browser's device, if the account trusts it.
    trusted: Option<u32>,
    factor: Option<SecondFactor>,
}

/// Decides an attempt on a console account whose lease is held, once its password
/// was checked: the second factor, the lock, the status. A failure is recorded (the
/// account's guard or the device's count, the lease released, an audit row
/// `failure_action`) and answers `BadCredentials`.
#[allow(clippy::too_many_arguments)]
async fn settle(
    db: &Db,
    lockout: &LockoutPolicy,
    meta: &RequestMeta,
    record: &LoginRecord,
    attempt: &Attempt<'_>,
    device_hash: Option<String>,
    password_ok: bool,
    now: chrono::DateTime<Utc>,
    failure_action: Action,
    lease: &mut Lease,
) -> AppResult<Checked> {
    let user_id = record.user_id.clone();
    let entity = ("user", Some(user_id.as_str()));
    let locked = lockout.is_locked(&record.guard, now);
    let trusted = record.device_failures;
    // The second factor is looked at whatever the password was (the same work
    // either way); it is used up only with a successful sign-in.
    let factor = if record.mfa_enabled { Some(second_factor(db, record, attempt.code, now).await?) } else { None };
    let ok = password_ok && factor.as_ref().is_none_or(Option::is_some);
    let wrong = if password_ok { "wrong or missing two-factor code" } else { "wrong password" };
    if ok && !(locked && trusted.is_none()) && record.account_status == "active" {
        return Ok(Checked { locked, trusted, factor: factor.flatten() });
    }
    let mut failure = LoginFailure { user_id: Some(user_id.clone()), ..LoginFailure::default() };
    let (action, reason) = if locked && trusted.is_none() {
        (LOGIN_LOCKED, "account temporarily locked after failed sign-ins".to_string())
    } else if ok {
        (failure_action, format!("account is {}", record.account_status))
    } else if let (Some(n), Some(hash)) = (trusted, device_hash) {
        let after = lockout.device_after_failure(n);
        failure.device = Some(DeviceFailure { device_hash: hash, failed_attempts: after });
        let trust = if after.is_none() { ": the browser is trusted no more" } else { "" };
        (failure_action, format!("{wrong} from a trusted browser ({} in a row){trust}", n + 1))
    } else {
        let guard = lockout.after_failure(&record.guard, now);
        failure.guard = Some(guard);
        let locks = guard.locked_until.is_some();
        let reason = match guard.locked_until {
            Some(until) => {
                format!(
                    "{wrong}: locked for {} minutes (lock {} in a row)",
                    (until - now).num_minutes(),
                    guard.lockouts
                )
            }
            None => format!("{wrong} ({} within the window)", guard.failed_attempts),
        };
        (if locks && failure_action == LOGIN_FAILURE { LOGIN_LOCKOUT } else { failure_action }, reason)
    };
    let mut audit = meta.audit(Some(&user_id), action, entity);
    audit.detail = Some(reason);
    db.call(move |s| s.record_login_failure(&failure, &audit)).await?;
    lease.settled();
    metrics::count_login(if action == LOGIN_LOCKED { "locked" } else { "failure" });
    Err(AppError::BadCredentials)
}

/// The signed-in user gives their password (and second factor) again: their
/// session counts as a fresh sign-in for the dangerous actions, for a few minutes.
/// A wrong password counts like one at sign-in.
pub async fn confirm(
    db: &Db,
    lockout: &LockoutPolicy,
    meta: &RequestMeta,
    who: &Principal,
    attempt: &Attempt<'_>,
) -> AppResult<()> {
    if attempt.password.len() > password::MAX_PASSWORD_BYTES {
        return Err(AppError::BadCredentials);
    }
    let _one_at_a_time = timeout(WAIT_FOR_TURN, account_lock(&who.username).lock()).await.map_err(|_| busy())?;
    let turn = check_turn(attempt.calm).await?;
    let device_hash = attempt.device.map(token::token_hash);
    let name = Username::parse(&who.username).ok();
    let record = match begin(db, name, device_hash.clone()).await? {
        LoginStart::Ready(record) if record.user_id == who.user_id && record.console_role => record,
        // Another account under that name (or none): its lease, if taken, is let go.
        LoginStart::Ready(other) => {
            drop(Lease::of(db, &other));
            return Err(AppError::BadCredentials);
        }
        _ => return Err(AppError::BadCredentials),
    };
    let mut lease = Lease::of(db, &record);
    let password_ok = check_password(turn, Some(record.password_hash.clone()), attempt.password.to_string()).await?;
    let now = Utc::now();
    let checked =
        settle(db, lockout, meta, &record, attempt, device_hash, password_ok, now, SESSION_CONFIRM_FAILURE, &mut lease)
            .await?;
    let audit = meta.audit(Some(&who.user_id), SESSION_CONFIRM, ("session", Some(who.session_id.as_str())));
    let (sid, id) = (who.session_id.clone(), who.user_id.clone());
    match db.call(move |s| s.confirm_session(&sid, &id, now, checked.factor.as_ref(), &audit)).await {
        // The code was used meanwhile: refused, and the lease let go.
        Err(AppError::Conflict(_)) => {
            let mut audit =
                meta.audit(Some(&who.user_id), SESSION_CONFIRM_FAILURE, ("user", Some(who.user_id.as_str())));
            audit.detail = Some("two-factor code used already".into());
            let failure = LoginFailure { user_id: Some(who.user_id.clone()), ..LoginFailure::default() };
            db.call(move |s| s.record_login_failure(&failure, &audit)).await?;
            lease.settled();
            Err(AppError::BadCredentials)
        }
        Ok(()) => {
            lease.settled();
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The second factor `code` gives the account, if any (`None`: missing, wrong or
/// used already).
async fn second_factor(
    db: &Db,
    record: &LoginRecord,
    code: Option<&str>,
    now: chrono::DateTime<Utc>,
) -> AppResult<Option<SecondFactor>> {
    let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()).map(str::to_string) else { return Ok(None) };
    let (id, last) = (record.user_id.clone(), record.totp_last_step);
    let secs = u64::try_from(now.timestamp()).unwrap_or_default();
    db.call(move |s| {
        let secret = s.mfa_secret(&id)?;
        mfa::second_factor(secret.as_deref(), &code, secs, last, |hash| s.recovery_code_unused(&id, hash))
    })
    .await
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
    let principal = principal.filter(|p| p.user_id.0 == claims.sub).map(|mut p| {
        p.mfa_pending = !p.mfa_enabled && p.roles.iter().any(|r| policy.mfa_required.contains(r));
        p
    });
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
    let audit = meta.audit(Some(&who.user_id), LOGOUT, ("session", Some(who.session_id.as_str())));
    let sid = who.session_id.clone();
    db.call(move |s| s.revoke_session(&sid, "signed out", &audit)).await
}
