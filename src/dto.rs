//! What the server sends the browser. Row types read from the database stay on the
//! server; password hashes and token hashes never appear here.

use crate::{Role, SessionId, UserId};
use serde::{Deserialize, Serialize};

/// Timestamps are UTC; they travel as milliseconds since 1970 (no date parser in
/// the browser's bundle).
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// The signed-in console user, as the server established it for this request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub user_id: UserId,
    pub username: String,
    pub session_id: SessionId,
    pub roles: Vec<Role>,
    /// Signs in with a second factor (TOTP).
    pub mfa_enabled: bool,
    /// One of their roles requires a second factor and they have none yet: until
    /// they set one up, the console shows them nothing else.
    pub mfa_pending: bool,
    /// When they last gave their password for this session (sign-in or a
    /// confirmation): dangerous actions need it recent.
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub confirmed_at: Option<Timestamp>,
}

impl Principal {
    pub fn has_any(&self, roles: &[Role]) -> bool {
        self.roles.iter().any(|r| roles.contains(r))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSummary {
    pub user_id: UserId,
    pub username: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub account_status: String,
    /// The seed allows NULL here; such rows sort first by creation time.
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub created_at: Option<Timestamp>,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub last_login: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserProfile {
    pub summary: UserSummary,
    /// Which encrypted fields hold a value (their names, as [`SensitiveFields::LABELS`]
    /// spells them); the values themselves come only from an audited reveal.
    pub sensitive_present: Vec<String>,
    pub timezone: Option<String>,
    pub language: Option<String>,
    pub current_title: Option<String>,
    pub current_company: Option<String>,
    pub email_verified: bool,
    pub mfa_enabled: bool,
    pub total_logins: i64,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub last_activity_at: Option<Timestamp>,
    pub roles: Vec<Role>,
    /// The feature-flag group the user belongs to (`pf_users.feature_group_id`).
    pub group: Option<GroupRef>,
}

/// A feature-flag group (`pf_user_groups`), as lists and pickers show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRef {
    pub group_id: String,
    pub group_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub session_id: SessionId,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub created_at: Timestamp,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub expires_at: Timestamp,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub last_activity: Option<Timestamp>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub is_active: bool,
    /// How it ended before its time, if it did: when, by whom (username), why.
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub ended_at: Option<Timestamp>,
    pub ended_by: Option<String>,
    pub end_reason: Option<String>,
}

/// One per-user table (or view) and its row count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCount {
    pub name: String,
    pub rows: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableSetInfo {
    pub username: String,
    /// `ready`, or `provisioning` / `dropping` while (or if a crash left) work half done.
    pub status: String,
    pub tables: Vec<TableCount>,
    /// What the set's `career_summary` view holds (absent while the set is incomplete).
    pub career: Option<CareerSummary>,
    /// The set's size at the latest storage sample, and when that was.
    pub size_bytes: Option<i64>,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub size_sampled_at: Option<Timestamp>,
}

/// One row of `pf_user_<username>_career_summary`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CareerSummary {
    pub total_positions: i64,
    pub total_companies: i64,
    /// `YYYY-MM-DD` (dates travel as text: no date parser in the browser's bundle).
    pub career_start_date: Option<String>,
    /// Years of experience in tenths (whole numbers: no float code in the browser's bundle).
    pub years_experience_tenths: Option<i64>,
    /// When Oracle's materialized view was last refreshed (the statistics job
    /// refreshes those whose experiences changed); `None` for SQLite's view, always current.
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub as_of: Option<Timestamp>,
}

/// A user's row of `pf_mv_user_stats`: their activity as of the last refresh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserActivity {
    pub total_sessions: i64,
    pub total_events: i64,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub first_activity: Option<Timestamp>,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub last_activity: Option<Timestamp>,
}

/// A person's own events lately (`pf_user_analytics`): how many each day of the
/// last 30 (days without any left out), and the last ones with their pages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserEvents {
    pub per_day: Vec<(chrono::NaiveDate, i64)>,
    pub last: Vec<UserEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserEvent {
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub at: Timestamp,
    pub event_type: String,
    /// The page's path.
    pub page: Option<String>,
}

/// The last run of a background job, as the database records it (whichever console
/// instance ran it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRun {
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub finished_at: Option<Timestamp>,
    pub duration_ms: Option<i64>,
    /// `ok` or `failed`; `None` before the first run.
    pub status: Option<String>,
    /// When a run was last told to stop midway (a signal, a shutdown), if no run
    /// has finished since: it is due again at once.
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub stopped_at: Option<Timestamp>,
}

/// The head of a user's page: who they are. Each section below it (sessions,
/// keys, tables, flags, audit) loads its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserDetail {
    pub profile: UserProfile,
    /// `None` until the statistics have been refreshed with this user in them.
    pub activity: Option<UserActivity>,
    /// When the statistics were last refreshed.
    pub stats_refresh: JobRun,
    /// Their own events over the last 30 days (read from the events, not the statistics).
    #[serde(default)]
    pub events: UserEvents,
    pub sso_links: Vec<SsoLink>,
    pub preferences: Preferences,
}

/// The sessions section of a user's page: their sessions, newest first, and their
/// console sign-in's guard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSessions {
    pub sessions: Vec<SessionInfo>,
    pub sign_in: SignInState,
}

/// One console account's defence against password guessing (see `auth::guard`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginGuard {
    /// Failures since the window began (the last failure within the window).
    pub failed_attempts: u32,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub last_failed_at: Option<Timestamp>,
    /// Locks in a row; forgotten after a quiet period.
    pub lockouts: u32,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub locked_until: Option<Timestamp>,
}

/// The profile fields an administrator edits (the seed's `pf_users` columns that are
/// neither identity nor sensitive); empty text is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileEdit {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub timezone: Option<String>,
    pub language: Option<String>,
    pub current_title: Option<String>,
    pub current_company: Option<String>,
}

impl ProfileEdit {
    pub const LABELS: [&'static str; 7] =
        ["email", "first name", "last name", "time zone", "language", "title", "company"];

    /// The edit checked against the seed's widths, trimmed, empty text absent.
    pub fn validated(&self) -> crate::AppResult<ProfileEdit> {
        use crate::validation::{email, optional_text, NAME_MAX_BYTES};
        Ok(ProfileEdit {
            email: email(&self.email)?,
            first_name: optional_text("first name", self.first_name.as_deref(), NAME_MAX_BYTES)?,
            last_name: optional_text("last name", self.last_name.as_deref(), NAME_MAX_BYTES)?,
            timezone: optional_text("time zone", self.timezone.as_deref(), 50)?,
            language: optional_text("language", self.language.as_deref(), 10)?,
            current_title: optional_text("title", self.current_title.as_deref(), 200)?,
            current_company: optional_text("company", self.current_company.as_deref(), 200)?,
        })
    }

    /// The values in the order of [`ProfileEdit::LABELS`].
    pub fn values(&self) -> [Option<&str>; 7] {
        [
            Some(self.email.as_str()),
            self.first_name.as_deref(),
            self.last_name.as_deref(),
            self.timezone.as_deref(),
            self.language.as_deref(),
            self.current_title.as_deref(),
            self.current_company.as_deref(),
        ]
    }
}

/// A user's preferences (`pf_user_preferences`): five JSON documents, each optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    pub notification: Option<String>,
    pub privacy: Option<String>,
    pub ui: Option<String>,
    pub communication: Option<String>,
    pub feature: Option<String>,
}

impl Preferences {
    pub const LABELS: [&'static str; 5] = ["notification", "privacy", "ui", "communication", "feature"];

    pub fn values(&self) -> [Option<&str>; 5] {
        [
            self.notification.as_deref(),
            self.privacy.as_deref(),
            self.ui.as_deref(),
            self.communication.as_deref(),
            self.feature.as_deref(),
        ]
    }

    /// Each document must be a JSON object (empty: absent), at most 32 KB; stored
    /// compact, so equal documents compare equal.
    pub fn validated(&self) -> crate::AppResult<Preferences> {
        let one = |label: &str, raw: Option<&str>| -> crate::AppResult<Option<String>> {
            let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else { return Ok(None) };
            if raw.len() > 32 * 1024 {
                return Err(crate::AppError::invalid(format!("The {label} preferences are over 32 KB.")));
            }
            match serde_json::from_str::<serde_json::Value>(raw) {
                Ok(v @ serde_json::Value::Object(_)) => Ok(Some(v.to_string())),
                Ok(_) => {
                    Err(crate::AppError::invalid(format!("The {label} preferences must be a JSON object ({{…}}).")))
                }
                Err(e) => Err(crate::AppError::invalid(format!("The {label} preferences are not JSON: {e}."))),
            }
        };
        let v = self.values();
        Ok(Preferences {
            notification: one("notification", v[0])?,
            privacy: one("privacy", v[1])?,
            ui: one("ui", v[2])?,
            communication: one("communication", v[3])?,
            feature: one("feature", v[4])?,
        })
    }
}

/// What a bulk action did: users changed, and those it could not change (each
/// failure is in the log; the last active admin, for one, keeps their status).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkOutcome {
    pub changed: u64,
    pub failed: u64,
}

/// An invitation as the console lists it (its token is never shown again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationInfo {
    pub invitation_id: String,
    pub email: String,
    /// A console role (`admin`, `sre`, `compliance`) or `user` (none).
    pub role: String,
    pub invited_by: Option<String>,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub created_at: Option<Timestamp>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub expires_at: Timestamp,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub reminder_sent_at: Option<Timestamp>,
    /// `pending`, `accepted`, `expired`, `withdrawn`, or `void` (pending, but its sender
    /// may no longer invite).
    pub state: String,
    /// The feature-flag group the account joins on acceptance.
    pub group_name: Option<String>,
}

impl InvitationInfo {
    /// Why its link can no longer be used (`None` while it is pending): the 410 of
    /// the invitee's page and of an acceptance.
    pub fn gone(&self) -> Option<crate::AppError> {
        let said = match self.state.as_str() {
            "pending" => return None,
            "accepted" => "That invitation was used already: sign in instead.",
            "withdrawn" => "That invitation was withdrawn.",
            "void" => return Some(InvitationInfo::sender_cannot_invite()),
            _ => "That invitation has expired: ask for a new one.",
        };
        Some(crate::AppError::Gone(said.into()))
    }

    /// The 410 of an invitation whose sender may no longer invite.
    pub fn sender_cannot_invite() -> crate::AppError {
        crate::AppError::Gone(
            "The person who sent this invitation can no longer invite: ask an administrator for a new one.".into(),
        )
    }

    /// The 410 of a link that names no invitation.
    pub fn unknown() -> crate::AppError {
        crate::AppError::Gone("That invitation link is not valid.".into())
    }
}

/// A new invitation: its link, shown once (it was also mailed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationLink {
    pub invitation_id: String,
    pub link: String,
}

/// One of a user's SSO links (`pf_sso_accounts`); its tokens never leave the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoLink {
    pub sso_account_id: String,
    pub provider: String,
    pub provider_user_id: String,
    pub email: Option<String>,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub linked_at: Option<Timestamp>,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub last_sync_at: Option<Timestamp>,
    pub is_primary: bool,
}

/// A holder of console roles, as the console accounts page lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleAccount {
    pub user_id: UserId,
    pub username: String,
    pub account_status: String,
    pub roles: Vec<Role>,
    pub mfa_enabled: bool,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub last_login: Option<Timestamp>,
    /// Locked now for browsers the account does not trust.
    pub locked: bool,
}

/// An account's second factor, as its pages show it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaState {
    pub enabled: bool,
    /// A secret was made for setting it up and not yet confirmed by a code.
    pub setup_started: bool,
    pub recovery_codes_left: i64,
}

/// What setting up TOTP shows once: the secret as a QR code (SVG drawn by the
/// server) and as text for typing in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaSetup {
    pub secret: String,
    pub qr_svg: String,
}

/// A console account's sign-in state, as its page shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInState {
    pub guard: LoginGuard,
    /// Locked now for browsers the account does not trust.
    pub locked: bool,
    /// Browsers that signed in before and may sign in while it is locked.
    pub trusted_devices: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCount {
    pub status: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overview {
    pub users_by_status: Vec<StatusCount>,
    pub active_sessions: i64,
    pub audit_events_24h: i64,
    pub schema_version: i64,
    pub backend: String,
    /// The last refresh of the user statistics (`pf_mv_user_stats`).
    pub stats_refresh: JobRun,
    /// The data keys (the Keys page's counts).
    pub keys: KeyCounts,
    /// When these counts were computed (they are refreshed in the background).
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub as_of: Timestamp,
}

/// One page of a keyset-paginated list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass back as `after` to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// A user's sensitive profile fields in the clear. They are stored encrypted with the
/// user's own data key; only administrators read them, and every read is audited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensitiveFields {
    /// `pf_users.phone_number`: digits, spaces and `+ - ( ) .`, at most 20 bytes (the seed's width).
    pub phone_number: Option<String>,
    /// `pf_users.date_of_birth`: `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    pub gender: Option<String>,
    pub nationality: Option<String>,
}

impl SensitiveFields {
    /// The fields' names, in the order of [`SensitiveFields::values`].
    pub const LABELS: [&'static str; 4] = ["phone number", "date of birth", "gender", "nationality"];

    pub fn values(&self) -> [&Option<String>; 4] {
        [&self.phone_number, &self.date_of_birth, &self.gender, &self.nationality]
    }

    /// The fields trimmed (empty means absent) and checked against the seed's widths.
    pub fn validated(&self) -> crate::AppResult<SensitiveFields> {
        use crate::validation::optional_text;
        let phone = optional_text("phone number", self.phone_number.as_deref(), 20)?;
        if let Some(p) = &phone {
            if !p.bytes().all(|b| b.is_ascii_digit() || b" +-().".contains(&b))
                || !p.bytes().any(|b| b.is_ascii_digit())
            {
                return Err(crate::AppError::Invalid("A phone number holds digits, spaces and + - ( ) . only.".into()));
            }
        }
        use chrono::Datelike;
        let born = optional_text("date of birth", self.date_of_birth.as_deref(), 10)?;
        if let Some(d) = &born {
            let date = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| crate::AppError::Invalid(format!("'{d}' is not a date (YYYY-MM-DD).")))?;
            if date > chrono::Utc::now().date_naive() || date.year() < 1900 {
                return Err(crate::AppError::Invalid(format!("{d} is not a plausible date of birth.")));
            }
        }
        Ok(SensitiveFields {
            phone_number: phone,
            date_of_birth: born,
            gender: optional_text("gender", self.gender.as_deref(), 20)?,
            nationality: optional_text("nationality", self.nationality.as_deref(), 100)?,
        })
    }
}

/// One user's data key, as the key inventory lists it (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    pub user_id: UserId,
    pub username: String,
    pub algorithm: String,
    /// The key's version: how many times it has been replaced.
    pub rotation_count: i64,
    /// The master key that wraps it.
    pub master_key_id: Option<String>,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub created_at: Option<Timestamp>,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub last_rotated: Option<Timestamp>,
    /// Older than the rotation policy allows.
    pub overdue: bool,
}

/// How many data keys there are, how many are overdue, and how many each master key
/// wraps: counted over every key, so the Keys page reads them as the overview's
/// background job last counted them (`as_of`), never per request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeyCounts {
    pub total: i64,
    pub overdue: i64,
    /// The policy: a key is overdue this many days after its creation or last rotation.
    pub rotation_days: u32,
    /// How many data keys each master key wraps, the most first.
    pub by_master_key: Vec<StatusCount>,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub as_of: Timestamp,
}

/// The key inventory: the keys longest without rotation first, and the rotation job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyInventory {
    /// The policy the keys' `overdue` marks follow.
    pub rotation_days: u32,
    /// The master key new keys are wrapped with (its id, never the key).
    pub current_master_key: Option<String>,
    pub keys: Page<KeyInfo>,
    /// The last finished rotation run (console or CLI), and the one under way.
    pub rotation_job: JobRun,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub rotation_running_since: Option<Timestamp>,
}

/// The Keys page: the counts as last counted, and a page of the inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyInventoryPage {
    pub counts: KeyCounts,
    pub inventory: KeyInventory,
}
