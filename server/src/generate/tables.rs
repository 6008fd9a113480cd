//! Rows for a provisioned user's own tables, every one of them: a career history
//! (and its archive), skills and their progression, the two summaries, career
//! analytics, chats, and PERT drafts. About one user in twenty (and always the
//! first) is heavy: months of chats, thousands of messages (the career section and
//! the subject-access export are measured on them).

use super::names::{COMPANIES, SKILLS, SUB_COMPETENCIES, TITLES};
use super::rng::Rng;
use super::users::Person;
use super::world::{date, int, null, real, text, time, World};
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
    "key_achievements",
    "technologies_used",
    "industry",
    "role_type",
    "employment_type",
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
    "last_used",
    "is_primary",
    "created_at",
];
const PROFILE_COLUMNS: &[&str] = &[
    "id",
    "total_years_experience",
    "industries",
    "top_skills",
    "career_highlights",
    "leadership_experience",
    "technical_expertise",
    "last_updated",
];
const QUICK_COLUMNS: &[&str] = &[
    "id",
    "professional_headline",
    "career_objective",
    "key_strengths",
    "total_roles",
    "years_experience",
    "last_updated",
];
const CONVERSATION_COLUMNS: &[&str] =
    &["id", "title", "context", "model", "total_messages", "last_message_at", "created_at", "updated_at"];
const MESSAGE_COLUMNS: &[&str] = &["id", "conversation_id", "role", "content", "tokens_used", "created_at"];
const ANALYTICS_COLUMNS: &[&str] = &["id", "metric_date", "metric_type", "metric_value", "metric_data", "created_at"];
const PROGRESSION_COLUMNS: &[&str] =
    &["id", "skill_name", "assessment_date", "proficiency_score", "growth_rate", "market_demand_score", "created_at"];
const PERT_COLUMNS: &[&str] = &[
    "id",
    "experience_id",
    "report_id",
    "sub_competency_id",
    "proficiency_level",
    "challenge",
    "actions",
    "results",
    "lessons_learned",
    "word_count",
    "status",
    "version",
    "created_at",
    "updated_at",
];

const QUESTIONS: &[&str] = &[
    "Which experiences fit FR1.1?",
    "How do I describe a reconciliation for the PERT?",
    "Is this level 1 or level 2 for taxation?",
    "Can you shorten my challenge paragraph?",
    "What does the reviewer look for in lessons learned?",
];
const ANSWERS: &[&str] = &[
    "Your quarter-end close work fits well: it shows judgement under a deadline.",
    "Start with the situation, then what you did yourself, then the outcome in numbers.",
    "Level 2: you planned the work and reviewed others' files.",
    "Here is a shorter version that keeps the numbers and drops the background.",
    "What you would do differently, and why, in two or three sentences.",
];

pub fn user_tables_batch(w: &World, p: &Person, k: u64) -> Vec<TableRows> {
    let name = |t: &str| format!("{}{}_{t}", pathfinder::username::USER_OBJECT_PREFIX, p.username);
    let mut r = Rng::new(w.seed, "tables", k);
    // The first provisioned user is always heavy, so every dataset has one.
    let heavy = k == 0 || r.below(20) == 0;
    let mut experiences = TableRows::new(name("experiences"), EXPERIENCE_COLUMNS);
    let mut archive = TableRows::new(name("experiences_archive"), EXPERIENCE_COLUMNS);
    let mut skills = TableRows::new(name("skills"), SKILL_COLUMNS);
    let mut profile = TableRows::new(name("profile_summary"), PROFILE_COLUMNS);
    let mut quick = TableRows::new(name("quick_summary"), QUICK_COLUMNS);
    let mut conversations = TableRows::new(name("chat_conversations"), CONVERSATION_COLUMNS);
    let mut messages = TableRows::new(name("chat_messages"), MESSAGE_COLUMNS);
    let mut analytics = TableRows::new(name("career_analytics"), ANALYTICS_COLUMNS);
    let mut progression = TableRows::new(name("skills_progression"), PROGRESSION_COLUMNS);
    let mut pert = TableRows::new(name("pert_responses"), PERT_COLUMNS);
    let at = p.created_at + Duration::hours(1);

    // Older roles went to the archive (as a retention run moves them); three stay.
    let archived = 1 + r.below(2) as i64;
    let mut start = (p.created_at - Duration::days(365 * (6 + 2 * archived))).date_naive();
    let first_start = start;
    let mut kept = Vec::new();
    let mut held = Vec::new();
    for e in 0..(3 + archived) {
        let id = r.ulid(at);
        let current = e == 2 + archived;
        let end = start + Duration::days(300 + r.below(500) as i64);
        let row = vec![
            text(&id),
            text(r.pick(TITLES)),
            text(r.pick(COMPANIES)),
            text(*r.pick(&["Toronto", "Vancouver", "Montréal", "Remote", "London"])),
            date(start),
            if current { null() } else { date(end) },
            int(i64::from(current)),
            text(*r.pick(&[
                "Owned month-end close and the audit file.",
                "Led the move of the general ledger to a new system.",
                "Prepared consolidated statements for three subsidiaries.",
            ])),
            text(*r.pick(&[
                "Closed the books two days earlier; no audit adjustments.",
                "Cut reconciliation time by half with a shared workbook.",
                "Trained four juniors on IFRS 16.",
            ])),
            text(*r.pick(&["Excel, SAP", "NetSuite, Power BI", "Oracle Financials, SQL"])),
            text(*r.pick(&["accounting", "banking", "technology", "healthcare"])),
            text(*r.pick(&["individual contributor", "lead", "manager"])),
            text(*r.pick(&["full-time", "contract", "part-time"])),
            time(at),
            time(at),
        ];
        if e < archived {
            archive.push(row);
        } else {
            experiences.push(row);
            kept.push(id.clone());
            for s in 0..2 {
                let (skill, category) = *r.pick(SKILLS);
                held.push(skill);
                skills.push(vec![
                    text(r.ulid(at)),
                    text(&id),
                    text(skill),
                    text(category),
                    text(*r.pick(&["beginner", "intermediate", "advanced", "expert"])),
                    real(1.0 + r.below(80) as f64 / 10.0),
                    date(end.min(at.date_naive())),
                    int(i64::from(s == 0)),
                    time(at),
                ]);
            }
        }
        start = end;
    }
    held.sort_unstable();
    held.dedup();
    let years = (p.created_at.date_naive() - first_start).num_days() as f64 / 365.25;
    profile.push(vec![
        text(r.ulid(at)),
        real((years * 10.0).round() / 10.0),
        text("accounting, technology"),
        text(held.join(", ")),
        text("Closed the books two days earlier; led a ledger migration."),
        text(*r.pick(&["Led a team of four.", "Mentored two juniors.", "None yet."])),
        text("Consolidation, IFRS, reconciliations"),
        time(at),
    ]);
    quick.push(vec![
        text(r.ulid(at)),
        text(format!("{} with {:.0} years in finance", r.pick(TITLES), years)),
        text("Earn the CPA designation and lead a reporting team."),
        text(held.iter().take(3).copied().collect::<Vec<_>>().join(", ")),
        int(3),
        real((years * 10.0).round() / 10.0),
        time(at),
    ]);
    // Each skill assessed every quarter for a year.
    for skill in held.iter().take(4) {
        let mut score = 30 + r.below(40) as i64;
        for q in 0..4i64 {
            let growth = r.below(15) as i64;
            score = (score + growth).min(100);
            progression.push(vec![
                text(r.ulid(at)),
                text(*skill),
                date((at + Duration::days(91 * q)).date_naive()),
                int(score),
                real(growth as f64),
                int(40 + r.below(60) as i64),
                time(at + Duration::days(91 * q)),
            ]);
        }
    }
    // Chats: a few short ones, or (heavy users) months of long ones.
    let (chats, longest) = if heavy { (6 + r.below(5), 300 + r.below(400)) } else { (1 + r.below(3), 4 + r.below(26)) };
    for c in 0..chats {
        let opened = at + Duration::days(7 * c as i64);
        let conversation = r.ulid(opened);
        let count = if heavy { longest / 2 + r.below(longest / 2 + 1) } else { longest };
        for m in 0..count {
            let said = opened + Duration::minutes(m as i64);
            messages.push(vec![
                text(r.ulid(said)),
                text(&conversation),
                text(if m % 2 == 0 { "user" } else { "assistant" }),
                text(if m % 2 == 0 { *r.pick(QUESTIONS) } else { *r.pick(ANSWERS) }),
                int(20 + r.below(400) as i64),
                time(said),
            ]);
        }
        let last = opened + Duration::minutes(count.saturating_sub(1) as i64);
        conversations.push(vec![
            text(&conversation),
            text(*r.pick(&["Preparing my PERT report", "Interview practice", "Which role next?"])),
            text("career coaching"),
            text("gpt-4"),
            int(count as i64),
            time(last),
            time(opened),
            time(last),
        ]);
    }
    for (i, metric) in ["profile_completeness", "market_fit", "skill_growth"].iter().enumerate() {
        analytics.push(vec![
            text(r.ulid(at)),
            date((at + Duration::days(i as i64)).date_naive()),
            text(*metric),
            real(r.below(10_000) as f64 / 100.0),
            text("{\"source\":\"weekly job\"}"),
            time(at),
        ]);
    }
    // PERT drafts of the kept roles, before they go into a shared report.
    for (i, experience) in kept.iter().enumerate() {
        let words = 150 + r.below(350) as i64;
        pert.push(vec![
            text(r.ulid(at)),
            text(experience),
            null(),
            text(r.pick(SUB_COMPETENCIES)),
            int(r.below(3) as i64),
            text("Reconcile intercompany balances under a tight deadline."),
            text("Built a reconciliation workbook and reviewed variances with the controller."),
            text("Closed two days early with no audit adjustments."),
            text("Start reconciliations before the period ends."),
            int(words),
            text(*r.pick(&["draft", "draft", "final"])),
            int(1 + i as i64 % 2),
            time(at),
            time(at),
        ]);
    }
    vec![experiences, archive, skills, profile, quick, conversations, messages, analytics, progression, pert]
}
