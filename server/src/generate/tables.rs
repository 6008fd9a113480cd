//! Rows for a provisioned user's own tables: a career history, skills, a chat.

use super::rng::Rng;
use super::users::Person;
use super::world::{date, int, real, text, time, World};
use chrono::Duration;
use pathfinder::storage::TableRows;

const EXPERIENCE_COLUMNS: &[&str] = &[
    "id",
    "title",
    "company",
    "location",
    "start_date",
    "end_date",
    "is_current",
    "description",
    "industry",
    "created_at",
    "updated_at",
];
const SKILL_COLUMNS: &[&str] = &[
    "id",
    "experience_id",
    "skill_name",
    "skill_category",
    "proficiency_level",
    "years_of_experience",
    "is_primary",
    "created_at",
];
const CONVERSATION_COLUMNS: &[&str] =
    &["id", "title", "model", "total_messages", "last_message_at", "created_at", "updated_at"];
const MESSAGE_COLUMNS: &[&str] = &["id", "conversation_id", "role", "content", "tokens_used", "created_at"];
const ANALYTICS_COLUMNS: &[&str] = &["id", "metric_date", "metric_type", "metric_value", "created_at"];

pub fn user_tables_batch(w: &World, p: &Person, k: u64) -> Vec<TableRows> {
    let name = |t: &str| format!("{}{}_{t}", pathfinder::username::USER_OBJECT_PREFIX, p.username);
    let mut r = Rng::new(w.seed, "tables", k);
    let mut experiences = TableRows::new(name("experiences"), EXPERIENCE_COLUMNS);
    let mut skills = TableRows::new(name("skills"), SKILL_COLUMNS);
    let mut conversations = TableRows::new(name("chat_conversations"), CONVERSATION_COLUMNS);
    let mut messages = TableRows::new(name("chat_messages"), MESSAGE_COLUMNS);
    let mut analytics = TableRows::new(name("career_analytics"), ANALYTICS_COLUMNS);
    let at = p.created_at + Duration::hours(1);
    let mut start = (p.created_at - Duration::days(365 * 6)).date_naive();
    for e in 0..3 {
        let id = r.ulid(at);
        let end = start + Duration::days(300 + r.below(500) as i64);
        experiences.push(vec![
            text(&id),
            text(r.pick(super::names::TITLES)),
            text(r.pick(super::names::COMPANIES)),
            text(*r.pick(&["Toronto", "Vancouver", "Montréal", "Remote", "London"])),
            date(start),
            if e == 2 { super::world::null() } else { date(end) },
            int(i64::from(e == 2)),
            text("Owned month-end close and the audit file."),
            text(*r.pick(&["accounting", "banking", "technology", "healthcare"])),
            time(at),
            time(at),
        ]);
        for s in 0..2 {
            let (skill, category) = *r.pick(super::names::SKILLS);
            skills.push(vec![
                text(r.ulid(at)),
                text(&id),
                text(skill),
                text(category),
                text(*r.pick(&["beginner", "intermediate", "advanced", "expert"])),
                real(1.0 + r.below(80) as f64 / 10.0),
                int(i64::from(s == 0)),
                time(at),
            ]);
        }
        start = end;
    }
    let conversation = r.ulid(at);
    conversations.push(vec![
        text(&conversation),
        text("Preparing my PERT report"),
        text("gpt-4"),
        int(4),
        time(at + Duration::minutes(4)),
        time(at),
        time(at + Duration::minutes(4)),
    ]);
    for m in 0..4 {
        messages.push(vec![
            text(r.ulid(at + Duration::minutes(m))),
            text(&conversation),
            text(if m % 2 == 0 { "user" } else { "assistant" }),
            text(if m % 2 == 0 { "Which experiences fit FR1.1?" } else { "Your quarter-end close work fits well." }),
            int(20 + r.below(400) as i64),
            time(at + Duration::minutes(m)),
        ]);
    }
    for (i, metric) in ["profile_completeness", "market_fit"].iter().enumerate() {
        analytics.push(vec![
            text(r.ulid(at)),
            date((at + Duration::days(i as i64)).date_naive()),
            text(*metric),
            real(r.below(10_000) as f64 / 100.0),
            time(at),
        ]);
    }
    vec![experiences, skills, conversations, messages, analytics]
}
