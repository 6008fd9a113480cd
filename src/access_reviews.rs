//! Access reviews: the periodic certification of who holds which console role.
//! A compliance reviewer starts a campaign over every console account or one
//! role; each line (an account and one of its roles, as they stood at the start)
//! is kept or revoked with a comment by a reviewer who is not that account; the
//! campaign closes when every line is decided or at its deadline, and the closed
//! campaign's report is signed (Ed25519) so that an auditor can check it without
//! any secret of ours.
//!
//! The rules a decision follows are written once, in [`may_decide`].

use crate::dto::Timestamp;
use crate::{AppError, AppResult, Role};
use serde::{Deserialize, Serialize};

/// A campaign's shortest and longest time to decide.
pub const DAYS: std::ops::RangeInclusive<i64> = 1..=90;
/// Reviewers are reminded this long before a campaign's deadline.
pub const REMIND_BEFORE: chrono::TimeDelta = chrono::TimeDelta::days(2);
/// Campaigns the list shows, newest first.
pub const LIST_LIMIT: u32 = 100;
/// The most lines a campaign takes (console accounts are few; this bounds a page).
pub const MAX_LINES: u32 = 5_000;
/// In bytes, as the columns are sized on Oracle (`VARCHAR2(n)`).
const COMMENT_MAX: usize = 1_000;
const NAME_MAX: usize = 200;

/// What a reviewer decides about one role of one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    Keep,
    Revoke,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Keep => "keep",
            Decision::Revoke => "revoke",
        }
    }

    pub fn parse(s: &str) -> AppResult<Decision> {
        match s {
            "keep" => Ok(Decision::Keep),
            "revoke" => Ok(Decision::Revoke),
            _ => Err(AppError::invalid("A decision is keep or revoke.")),
        }
    }
}

/// Why a campaign closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CloseReason {
    /// Every line has a decision.
    Decided,
    /// Its deadline passed with lines left open (they are reported as such).
    Deadline,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Decided => "decided",
            CloseReason::Deadline => "deadline",
        }
    }

    pub fn parse(s: &str) -> AppResult<CloseReason> {
        match s {
            "decided" => Ok(CloseReason::Decided),
            "deadline" => Ok(CloseReason::Deadline),
            _ => Err(AppError::internal(format!("unknown close reason {s:?}"))),
        }
    }
}

/// A campaign asked for: checked before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCampaign {
    pub name: String,
    /// `None`: every console account.
    pub role: Option<Role>,
    pub deadline: Timestamp,
}

impl NewCampaign {
    /// From the form: a name, a scope (`all` or a role) and the days to decide.
    pub fn parse(name: &str, scope: &str, days: &str, now: Timestamp) -> AppResult<NewCampaign> {
        let name = name.trim();
        if name.is_empty() || name.len() > NAME_MAX {
            return Err(AppError::invalid(format!("Name the campaign (at most {NAME_MAX} bytes of UTF-8).")));
        }
        let role = match scope.trim() {
            "" | "all" => None,
            role => Some(role.parse::<Role>().map_err(|_| AppError::invalid("The scope is all or a console role."))?),
        };
        let days: i64 = days
            .trim()
            .parse()
            .ok()
            .filter(|d| DAYS.contains(d))
            .ok_or_else(|| AppError::invalid(format!("Give {} to {} days to decide.", DAYS.start(), DAYS.end())))?;
        Ok(NewCampaign { name: name.to_string(), role, deadline: now + chrono::TimeDelta::days(days) })
    }

    pub fn scope(&self) -> &'static str {
        self.role.map_or("all", Role::as_str)
    }
}

/// A campaign and how far it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub review_id: String,
    pub name: String,
    /// `None`: every console account.
    pub role: Option<Role>,
    pub started_by: Option<String>,
    pub started_at: Timestamp,
    pub deadline: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub close_reason: Option<CloseReason>,
    pub lines: u64,
    pub kept: u64,
    pub revoked: u64,
    /// Open with its deadline passed when read (decisions are refused; the
    /// upkeep closes it within a minute).
    pub past_deadline: bool,
}

impl Campaign {
    pub fn scope_label(&self) -> &'static str {
        match self.role {
            None => "every console account",
            Some(Role::Admin) => "administrators",
            Some(Role::Sre) => "SREs",
            Some(Role::Compliance) => "compliance reviewers",
        }
    }

    pub fn undecided(&self) -> u64 {
        self.lines.saturating_sub(self.kept + self.revoked)
    }

    pub fn is_closed(&self) -> bool {
        self.closed_at.is_some()
    }

    /// Open, past its deadline (closing), or closed and why.
    pub fn state(&self) -> &'static str {
        match self.close_reason {
            Some(CloseReason::Decided) => "closed: every line decided",
            Some(CloseReason::Deadline) => "closed at its deadline",
            None if self.past_deadline => "deadline passed: closing",
            None => "open",
        }
    }
}

/// One role of one account as it stood when the campaign began, and its decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub line_id: String,
    pub user_id: String,
    pub username: String,
    pub role: Role,
    pub granted_at: Option<Timestamp>,
    pub granted_by: Option<String>,
    pub last_sign_in: Option<Timestamp>,
    pub second_factor: bool,
    /// The open security findings that named the account (their titles).
    pub findings: String,
    pub decision: Option<Decision>,
    pub comment: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<Timestamp>,
}

/// A campaign's page, and what its report is made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignView {
    pub campaign: Campaign,
    pub lines: Vec<Line>,
    /// The key that checks closed campaigns' reports (`None` without an audit key).
    pub public_key: Option<ReportKey>,
}

/// The public key that checks reports' signatures: Ed25519, SPKI PEM, and the
/// SHA-256 of the raw key (hex) to compare over another channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportKey {
    pub pem: String,
    pub fingerprint: String,
}

/// What a decision did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decided {
    /// Revoking: whether the account still held the role (it may have been taken
    /// away since the campaign began), and how many of its sessions ended.
    pub role_removed: bool,
    pub sessions_ended: u64,
    /// The decision was the campaign's last.
    pub closed: bool,
}

/// A decision's comment: required, trimmed, bounded.
pub fn comment(text: &str) -> AppResult<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::invalid("Say why in a comment: it goes into the report."));
    }
    if text.len() > COMMENT_MAX {
        return Err(AppError::invalid(format!("A comment is at most {COMMENT_MAX} bytes of UTF-8.")));
    }
    Ok(text.to_string())
}

/// Whether `reviewer` may decide a line of `line_user` now: the campaign open and
/// before its deadline, the line undecided (`decided_by` names who did it), and
/// nobody reviewing their own account. The storage checks this under the
/// campaign's lock and decides with a compare-and-set, so that two reviewers on
/// two instances cannot both decide one line.
pub fn may_decide(
    campaign: &Campaign,
    line_user: &str,
    decided_by: Option<&str>,
    reviewer: &str,
    now: Timestamp,
) -> AppResult<()> {
    if campaign.is_closed() {
        return Err(AppError::Conflict("This campaign is closed: its report is final.".into()));
    }
    if now >= campaign.deadline {
        return Err(AppError::Conflict(
            "This campaign's deadline has passed: it closes with the lines left open reported.".into(),
        ));
    }
    if let Some(by) = decided_by {
        return Err(AppError::Conflict(format!("That line was decided already, by {by}.")));
    }
    if line_user == reviewer {
        return Err(AppError::invalid("Nobody reviews their own account: another reviewer decides this line."));
    }
    Ok(())
}

/// The report's name for a line's decision.
pub fn decision_label(line: &Line) -> &'static str {
    line.decision.map_or("undecided", Decision::as_str)
}

/// The reviewers' mail: a campaign started, or its deadline two days away.
pub fn reviewer_mail(campaign: &Campaign, started: bool, public_url: &str) -> (String, String) {
    let deadline = campaign.deadline.format("%Y-%m-%d %H:%M UTC");
    let subject = if started {
        format!("Access review started: {}", campaign.name)
    } else {
        format!("Access review due {deadline}: {}", campaign.name)
    };
    let body = format!(
        "The access review \"{}\" covers {}: {} lines, {} still to decide, by {deadline}.\n\
         Keep or revoke each role with a comment (nobody reviews their own account):\n{public_url}/access-reviews/{}\n\
         Lines left open at the deadline are reported as such.\n",
        campaign.name,
        campaign.scope_label(),
        campaign.lines,
        campaign.undecided(),
        campaign.review_id
    );
    (subject, body)
}

/// How a campaign's report is checked, for the page and the README.
pub fn verify_command(review_id: &str) -> String {
    format!(
        "openssl pkeyutl -verify -pubin -inkey access-review-key.pem -rawin -in access-review-{review_id}.csv \
         -sigfile access-review-{review_id}.csv.sig"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn campaign(now: Timestamp) -> Campaign {
        Campaign {
            review_id: "r".into(),
            name: "Q4".into(),
            role: None,
            started_by: None,
            started_at: now,
            deadline: now + chrono::TimeDelta::days(1),
            closed_at: None,
            close_reason: None,
            lines: 2,
            kept: 0,
            revoked: 0,
            past_deadline: false,
        }
    }

    #[test]
    fn a_new_campaign_is_checked() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let c = NewCampaign::parse(" Q4 ", "sre", "14", now).unwrap();
        assert_eq!((c.name.as_str(), c.role, c.deadline), ("Q4", Some(Role::Sre), now + chrono::TimeDelta::days(14)));
        assert_eq!(NewCampaign::parse("Q4", "all", "1", now).unwrap().role, None);
        for (name, scope, days) in [("", "all", "7"), ("Q4", "root", "7"), ("Q4", "all", "0"), ("Q4", "all", "91")] {
            assert!(NewCampaign::parse(name, scope, days, now).is_err(), "{name} {scope} {days}");
        }
        assert!(NewCampaign::parse(&"x".repeat(201), "all", "7", now).is_err());
        // Bytes, as Oracle's columns count them: 101 two-byte letters are too many.
        assert!(NewCampaign::parse(&"é".repeat(101), "all", "7", now).is_err());
        assert!(NewCampaign::parse(&"é".repeat(100), "all", "7", now).is_ok());
    }

    #[test]
    fn every_edge_of_a_decision() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let open = campaign(now);
        assert!(may_decide(&open, "alice", None, "bob", now).is_ok());
        // Own account, decided already, past the deadline, closed (either way).
        assert!(matches!(may_decide(&open, "bob", None, "bob", now), Err(AppError::Invalid(_))));
        assert!(
            matches!(may_decide(&open, "alice", Some("carol"), "bob", now), Err(AppError::Conflict(m)) if m.contains("carol"))
        );
        assert!(matches!(may_decide(&open, "alice", None, "bob", open.deadline), Err(AppError::Conflict(_))));
        for reason in [CloseReason::Decided, CloseReason::Deadline] {
            let closed = Campaign { closed_at: Some(now), close_reason: Some(reason), ..open.clone() };
            assert!(matches!(may_decide(&closed, "alice", None, "bob", now), Err(AppError::Conflict(_))));
            assert!(closed.state().starts_with("closed"));
        }
        assert_eq!(open.state(), "open");
        assert_eq!(Campaign { past_deadline: true, ..open }.state(), "deadline passed: closing");
    }

    #[test]
    fn decisions_and_comments_parse() {
        assert_eq!(Decision::parse("keep").unwrap(), Decision::Keep);
        assert_eq!(Decision::parse("revoke").unwrap(), Decision::Revoke);
        assert!(Decision::parse("maybe").is_err());
        assert_eq!(comment("  still on call ").unwrap(), "still on call");
        assert!(comment("  ").is_err());
        assert!(comment(&"x".repeat(1001)).is_err());
        assert!(comment(&"é".repeat(501)).is_err());
    }
}
