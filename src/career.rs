//! A person's career data as the console shows it: the sections (one per-user table
//! each), their columns and keyset order, pages of rows with what people wrote about
//! themselves hidden, and one row's text revealed. Storage's side is
//! `storage::CareerStore`.

use crate::filter::{bad_cursor, hex_of, text_of_hex};
use crate::{AppError, AppResult};
use serde::{Deserialize, Serialize};

/// How many rows a page of a section holds.
pub const CAREER_PAGE: u32 = 25;

/// The longest reason a reveal takes.
pub const REVEAL_REASON_MAX_BYTES: usize = 500;

/// One per-user table, as the user's page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CareerSection {
    Experiences,
    Archive,
    Skills,
    ProfileSummary,
    QuickSummary,
    Analytics,
    Progression,
    Conversations,
    Messages,
    PertResponses,
}

/// What a column holds, for the page and for the keyset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Number,
    Date,
    Time,
    /// Free text the person wrote about themselves: hidden until revealed.
    SelfWritten,
}

/// A column a section shows: its name in the table, its heading, what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CareerColumn {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: ColumnKind,
}

const fn col(name: &'static str, label: &'static str, kind: ColumnKind) -> CareerColumn {
    CareerColumn { name, label, kind }
}

use ColumnKind::{Date, Number, SelfWritten, Text, Time};

const EXPERIENCE_COLUMNS: &[CareerColumn] = &[
    col("title", "Title", Text),
    col("company", "Company", Text),
    col("location", "Location", Text),
    col("start_date", "Start", Date),
    col("end_date", "End", Date),
    col("industry", "Industry", Text),
    col("employment_type", "Employment", Text),
    col("technologies_used", "Technologies", Text),
    col("description", "Description", SelfWritten),
    col("key_achievements", "Achievements", SelfWritten),
];

impl CareerSection {
    /// In the order the page lists them.
    pub const ALL: [CareerSection; 10] = [
        CareerSection::Experiences,
        CareerSection::Archive,
        CareerSection::Skills,
        CareerSection::ProfileSummary,
        CareerSection::QuickSummary,
        CareerSection::Analytics,
        CareerSection::Progression,
        CareerSection::Conversations,
        CareerSection::Messages,
        CareerSection::PertResponses,
    ];

    /// Its name in URLs and in its table's name (`pf_user_<username>_<table>`).
    pub fn table(self) -> &'static str {
        match self {
            CareerSection::Experiences => "experiences",
            CareerSection::Archive => "experiences_archive",
            CareerSection::Skills => "skills",
            CareerSection::ProfileSummary => "profile_summary",
            CareerSection::QuickSummary => "quick_summary",
            CareerSection::Analytics => "career_analytics",
            CareerSection::Progression => "skills_progression",
            CareerSection::Conversations => "chat_conversations",
            CareerSection::Messages => "chat_messages",
            CareerSection::PertResponses => "pert_responses",
        }
    }

    pub fn parse(s: &str) -> AppResult<CareerSection> {
        CareerSection::ALL
            .into_iter()
            .find(|c| c.table() == s)
            .ok_or_else(|| AppError::invalid(format!("There is no career section {s:?}.")))
    }

    pub fn label(self) -> &'static str {
        match self {
            CareerSection::Experiences => "Experiences",
            CareerSection::Archive => "Archived experiences",
            CareerSection::Skills => "Skills",
            CareerSection::ProfileSummary => "Profile summary",
            CareerSection::QuickSummary => "Quick summary",
            CareerSection::Analytics => "Career analytics",
            CareerSection::Progression => "Skills progression",
            CareerSection::Conversations => "Chat conversations",
            CareerSection::Messages => "Chat messages",
            CareerSection::PertResponses => "PERT responses",
        }
    }

    /// The columns shown, in order.
    pub fn columns(self) -> &'static [CareerColumn] {
        match self {
            CareerSection::Experiences | CareerSection::Archive => EXPERIENCE_COLUMNS,
            CareerSection::Skills => {
                const {
                    &[
                        col("skill_name", "Skill", Text),
                        col("skill_category", "Category", Text),
                        col("proficiency_level", "Proficiency", Text),
                        col("years_of_experience", "Years", Number),
                        col("last_used", "Last used", Date),
                        col("is_primary", "Primary", Number),
                    ]
                }
            }
            CareerSection::ProfileSummary => {
                const {
                    &[
                        col("total_years_experience", "Years", Number),
                        col("industries", "Industries", Text),
                        col("top_skills", "Top skills", Text),
                        col("technical_expertise", "Technical expertise", Text),
                        col("career_highlights", "Highlights", SelfWritten),
                        col("leadership_experience", "Leadership", SelfWritten),
                        col("last_updated", "Updated", Time),
                    ]
                }
            }
            CareerSection::QuickSummary => {
                const {
                    &[
                        col("professional_headline", "Headline", SelfWritten),
                        col("career_objective", "Objective", SelfWritten),
                        col("key_strengths", "Strengths", SelfWritten),
                        col("total_roles", "Roles", Number),
                        col("years_experience", "Years", Number),
                        col("last_updated", "Updated", Time),
                    ]
                }
            }
            CareerSection::Analytics => {
                const {
                    &[
                        col("metric_date", "Date", Date),
                        col("metric_type", "Metric", Text),
                        col("metric_value", "Value", Number),
                        col("metric_data", "Data", Text),
                    ]
                }
            }
            CareerSection::Progression => {
                const {
                    &[
                        col("assessment_date", "Assessed", Date),
                        col("skill_name", "Skill", Text),
                        col("proficiency_score", "Proficiency", Number),
                        col("growth_rate", "Growth", Number),
                        col("market_demand_score", "Demand", Number),
                    ]
                }
            }
            CareerSection::Conversations => {
                const {
                    &[
                        col("title", "Title", SelfWritten),
                        col("model", "Model", Text),
                        col("total_messages", "Messages", Number),
                        col("last_message_at", "Last message", Time),
                        col("updated_at", "Updated", Time),
                    ]
                }
            }
            CareerSection::Messages => {
                const {
                    &[
                        col("created_at", "Sent", Time),
                        col("role", "Role", Text),
                        col("tokens_used", "Tokens", Number),
                        col("content", "Content", SelfWritten),
                    ]
                }
            }
            CareerSection::PertResponses => {
                const {
                    &[
                        col("sub_competency_id", "Sub-competency", Text),
                        col("proficiency_level", "Level", Number),
                        col("status", "Status", Text),
                        col("version", "Version", Number),
                        col("word_count", "Words", Number),
                        col("challenge", "Challenge", SelfWritten),
                        col("actions", "Actions", SelfWritten),
                        col("results", "Results", SelfWritten),
                        col("lessons_learned", "Lessons learned", SelfWritten),
                        col("updated_at", "Updated", Time),
                    ]
                }
            }
        }
    }

    /// The keyset order: a column (then `id`), and whether newest first. Each is a
    /// column the person's product sets on every row (a date or time, or a name).
    pub fn order(self) -> (&'static str, ColumnKind, bool) {
        match self {
            CareerSection::Experiences | CareerSection::Archive => ("start_date", Date, true),
            CareerSection::Skills => ("skill_name", Text, false),
            CareerSection::ProfileSummary | CareerSection::QuickSummary => ("last_updated", Time, true),
            CareerSection::Analytics => ("metric_date", Date, true),
            CareerSection::Progression => ("assessment_date", Date, true),
            CareerSection::Conversations => ("updated_at", Time, true),
            // A conversation reads from its first message.
            CareerSection::Messages => ("created_at", Time, false),
            CareerSection::PertResponses => ("updated_at", Time, true),
        }
    }

    /// Whether the section has text that is hidden until revealed.
    pub fn has_self_written(self) -> bool {
        self.columns().iter().any(|c| c.kind == SelfWritten)
    }
}

/// Which page of which section: messages are read one conversation at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CareerQuery {
    pub section: CareerSection,
    pub conversation: Option<String>,
    pub after: Option<CareerCursor>,
}

impl CareerQuery {
    /// A query from a form's strings, refusing what does not fit.
    pub fn from_query(section: &str, conversation: &str, after: &str) -> AppResult<CareerQuery> {
        let section = CareerSection::parse(section)?;
        let conversation = Some(conversation.trim()).filter(|c| !c.is_empty()).map(str::to_string);
        if conversation.as_ref().is_some_and(|c| c.len() > 36) {
            return Err(AppError::invalid("A conversation id is at most 36 characters."));
        }
        if section == CareerSection::Messages && conversation.is_none() {
            return Err(AppError::invalid("Choose a conversation to read its messages."));
        }
        let after = Some(after.trim()).filter(|a| !a.is_empty()).map(CareerCursor::decode).transpose()?;
        Ok(CareerQuery { section, conversation, after })
    }

    /// The query in words, for its read row.
    pub fn describe(&self) -> String {
        let mut said = self.section.table().to_string();
        if let Some(c) = &self.conversation {
            said.push_str(&format!(" of conversation {c}"));
        }
        if self.after.is_some() {
            said.push_str(", a later page");
        }
        said
    }
}

/// Keyset position: the order column's value and the id of the previous page's last
/// row (both as text: dates `YYYY-MM-DD`, times `YYYY-MM-DD HH:MM:SS.ffffff`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CareerCursor {
    pub key: String,
    pub id: String,
}

impl CareerCursor {
    /// `<hex of key>.<hex of id>`: opaque, safe in a URL.
    pub fn encode(&self) -> String {
        format!("{}.{}", hex_of(&self.key), hex_of(&self.id))
    }

    pub fn decode(s: &str) -> AppResult<CareerCursor> {
        let (key, id) = s.split_once('.').filter(|_| s.len() <= 1_200).ok_or_else(bad_cursor)?;
        let (key, id) = (text_of_hex(key).ok_or_else(bad_cursor)?, text_of_hex(id).ok_or_else(bad_cursor)?);
        if id.is_empty() || id.len() > 36 {
            return Err(bad_cursor());
        }
        Ok(CareerCursor { key, id })
    }
}

/// One cell of a row: its text (dates and numbers as shown), nothing, or text the
/// person wrote, hidden (its length in characters says how much there is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CareerCell {
    Empty,
    Shown(String),
    Hidden { chars: usize },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareerRow {
    pub id: String,
    pub cells: Vec<CareerCell>,
}

/// A page of one section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareerPage {
    pub section: CareerSection,
    /// The section's rows in all.
    pub total: i64,
    pub rows: Vec<CareerRow>,
    /// Pass back as `after` for the next page; `None` on the last.
    pub next: Option<String>,
}

/// One row's self-written text in the clear: (heading, text) per hidden column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revealed {
    pub row_id: String,
    pub fields: Vec<(String, Option<String>)>,
}

/// The reason a reveal gives: required, shown to reviewers, plain text.
pub fn reveal_reason(raw: &str) -> AppResult<String> {
    let reason = crate::validation::shown_text("reason", raw, REVEAL_REASON_MAX_BYTES)?;
    if reason.is_empty() {
        return Err(AppError::invalid("Say why you reveal what this person wrote (it goes into the audit log)."));
    }
    Ok(reason)
}
