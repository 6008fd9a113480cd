//! `pathfinder-admin generate`: deterministic synthetic data through the storage
//! layer's bulk path. The same seed, sizes and end date give the same rows.
//!
//! The work is cut into batches (a slice of users with everything that hangs off
//! them, a slice of audit events, one provisioned user's table set); each batch is
//! one transaction with its own audit row, named `<phase>:<n>` under the run's
//! settings. An interrupted run leaves whole batches only, and running the same
//! command again skips the batches those audit rows name.

mod events;
mod flags;
pub use events::AUDIT_COLUMNS;
mod names;
mod rng;
mod tables;
mod users;
mod world;

use chrono::NaiveDate;
use pathfinder::request::RequestMeta;
use pathfinder::storage::{Storage, TableRows};
use pathfinder::storage::{ANALYTICS_SUMMARIZE, DATA_GENERATE, FIELDS_SEAL, PERT_CHECKS_REFRESH, TABLES_PROVISION};
use pathfinder::{AppError, AppResult, Username};
use rng::Rng;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use world::{b64, int, real, text, time, World};

const USERS_PER_BATCH: u64 = 5_000;
const EVENTS_PER_BATCH: u64 = 50_000;

/// What to make.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub seed: u64,
    pub users: u64,
    pub audit_events: u64,
    pub provisioned: u64,
    /// The data's "now": the newest timestamps fall on this day.
    pub end: NaiveDate,
}

impl Plan {
    pub fn checked(self) -> AppResult<Plan> {
        if self.provisioned > self.users {
            return Err(AppError::invalid(format!(
                "--provisioned ({}) cannot exceed --users ({}).",
                self.provisioned, self.users
            )));
        }
        if self.users > 100_000_000 || self.audit_events > 1_000_000_000 {
            return Err(AppError::invalid("At most 10^8 users and 10^9 audit events."));
        }
        Ok(self)
    }

    /// The run's name in its audit rows: a resumed run must have the same settings.
    pub fn run_name(&self) -> String {
        format!(
            "generate seed={} users={} audit-events={} provisioned={} end={}",
            self.seed, self.users, self.audit_events, self.provisioned, self.end
        )
    }

    /// Every batch of the run, in order.
    fn batches(&self) -> Vec<Batch> {
        let mut out = vec![Batch::Reference];
        out.extend((0..self.users.div_ceil(USERS_PER_BATCH)).map(Batch::Users));
        out.extend((0..self.audit_events.div_ceil(EVENTS_PER_BATCH)).map(Batch::Audit));
        out.extend((0..self.provisioned).map(Batch::TableSet));
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Batch {
    Reference,
    Users(u64),
    Audit(u64),
    TableSet(u64),
}

impl Batch {
    fn name(self) -> String {
        match self {
            Batch::Reference => "reference:0".into(),
            Batch::Users(n) => format!("users:{n}"),
            Batch::Audit(n) => format!("audit:{n}"),
            Batch::TableSet(n) => format!("tables:{n}"),
        }
    }
}

impl World {
    fn new(plan: &Plan) -> World {
        let end = plan.end.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        let mut r = Rng::new(plan.seed, "world", 0);
        let created = end - chrono::Duration::days(3 * 365);
        World {
            seed: plan.seed,
            users: plan.users,
            audit_events: plan.audit_events,
            provisioned: plan.provisioned,
            end,
            groups: flags::groups(&mut r, created),
            flags: flags::flags(&mut r, created),
            // A well-formed Argon2id string whose hash is random bytes: no password matches it.
            password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1${}${}", b64(&r.hex(16)), b64(&r.hex(32))),
        }
    }

    fn rows(&self, batch: Batch) -> Vec<TableRows> {
        match batch {
            Batch::Reference => reference_rows(self),
            Batch::Users(n) => {
                users::users_batch(self, n * USERS_PER_BATCH..((n + 1) * USERS_PER_BATCH).min(self.users))
            }
            Batch::Audit(n) => vec![events::audit_batch(
                self,
                n * EVENTS_PER_BATCH..((n + 1) * EVENTS_PER_BATCH).min(self.audit_events),
                n,
            )],
            Batch::TableSet(i) => {
                let k = self.provisioned_user(i);
                tables::user_tables_batch(self, &self.person(k), k)
            }
        }
    }

    /// How many progress units (users, events, table sets) a batch is.
    fn units(&self, batch: Batch) -> u64 {
        match batch {
            Batch::Reference => 0,
            Batch::Users(n) => ((n + 1) * USERS_PER_BATCH).min(self.users) - n * USERS_PER_BATCH,
            Batch::Audit(n) => ((n + 1) * EVENTS_PER_BATCH).min(self.audit_events) - n * EVENTS_PER_BATCH,
            Batch::TableSet(_) => 1,
        }
    }
}

fn reference_rows(w: &World) -> Vec<TableRows> {
    let mut r = Rng::new(w.seed, "reference", 0);
    let at = w.end - chrono::Duration::days(3 * 365);
    let mut rows = flags::reference_rows(w, &mut r, at);
    let mut skills = TableRows::new(
        "pf_ref_skills_catalog",
        &["skill_id", "skill_name", "skill_category", "market_demand_score", "is_active", "created_at", "updated_at"],
    );
    let mut skill_ids = Vec::new();
    for (name, category) in names::SKILLS {
        let id = r.ulid(at);
        skill_ids.push(id.clone());
        skills.push(vec![
            text(id),
            text(name),
            text(category),
            int(r.below(101) as i64),
            text("Y"),
            time(at),
            time(at),
        ]);
    }
    rows.push(skills);
    rows.push(career_paths(&mut r, &skill_ids, at));
    rows
}

/// A few hundred career paths: each from one role to another in an industry, with
/// three to six skills of the catalog and the steps between.
fn career_paths(r: &mut Rng, skill_ids: &[String], at: chrono::DateTime<chrono::Utc>) -> TableRows {
    let mut paths = TableRows::new(
        "pf_ref_career_paths",
        &[
            "path_id",
            "path_name",
            "industry",
            "from_role",
            "to_role",
            "typical_years",
            "required_skills",
            "steps",
            "description",
            "is_active",
            "created_at",
            "updated_at",
        ],
    );
    let titles = names::TITLES;
    for (i, industry) in names::INDUSTRIES.iter().enumerate() {
        for (f, from) in titles.iter().enumerate() {
            // Two destinations from each role in each industry.
            for step in [1 + i % 3, 4 + i % 5] {
                let to = titles[(f + step) % titles.len()];
                if to == *from {
                    continue;
                }
                let mut required: Vec<String> = Vec::new();
                for _ in 0..3 + r.below(4) {
                    let id = r.pick(skill_ids);
                    if !required.iter().any(|x| x.contains(id.as_str())) {
                        required.push(format!(r#"{{"skill_id":"{id}","level":{}}}"#, 1 + r.below(5)));
                    }
                }
                let years = 1.0 + r.below(80) as f64 / 10.0;
                paths.push(vec![
                    text(r.ulid(at)),
                    text(format!("{from} to {to} in {industry}")),
                    text(*industry),
                    text(*from),
                    text(to),
                    real(years),
                    text(format!("[{}]", required.join(","))),
                    text(format!(r#"["Lead work as a {from}","Take on {to} responsibilities","Become {to}"]"#)),
                    text(format!("How people in {industry} move from {from} to {to}.")),
                    text(if r.chance(0.05) { "N" } else { "Y" }),
                    time(at),
                    time(at),
                ]);
            }
        }
    }
    paths
}

/// The rows of one batch of each kind: what a load sends, for the tests that check
/// every statement of the Oracle backend.
pub fn sample_batches(plan: &Plan) -> Vec<TableRows> {
    let w = World::new(plan);
    [Batch::Reference, Batch::Users(0), Batch::Audit(0), Batch::TableSet(0)]
        .into_iter()
        .flat_map(|b| w.rows(b))
        .collect()
}

/// How a run went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub batches: usize,
    pub done_before: usize,
    pub written: usize,
    pub interrupted: bool,
}

/// Fills the database as `plan` says, skipping batches an earlier run of the same
/// plan committed. Stops between batches once `stop` is set. `progress` hears
/// (units done, units in all) after each batch.
pub fn run(
    s: &dyn Storage,
    plan: &Plan,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(u64, u64, &str),
) -> AppResult<Outcome> {
    let world = Arc::new(World::new(plan));
    let run_name = plan.run_name();
    let done: HashSet<String> = s.audited_entities(DATA_GENERATE.name, &run_name)?.into_iter().collect();
    let all = plan.batches();
    let total: u64 = all.iter().map(|b| world.units(*b)).sum();
    let mut units: u64 = all.iter().filter(|b| done.contains(&b.name())).map(|b| world.units(*b)).sum();
    let todo: Vec<Batch> = all.iter().copied().filter(|b| !done.contains(&b.name())).collect();
    let mut outcome =
        Outcome { batches: all.len(), done_before: all.len() - todo.len(), written: 0, interrupted: false };
    progress(units, total, "");

    // A load that at least doubles the data builds the loaded tables' secondary
    // indexes once after it, each in one sorted pass, instead of entry by entry in
    // random order (SQLite; ten million events were 577 s with the log's seven
    // indexes kept up row by row). Whatever the outcome, they are made again before
    // this returns; a killed run leaves them to the next run of the command.
    let adding: u64 = todo.iter().map(|b| world.units(*b)).sum();
    if adding > 0 && adding >= s.loaded_rows()? {
        s.drop_indexes(&loaded_tables(plan))?;
    }
    let loaded = load(s, &world, &run_name, todo, stop, &mut outcome, &mut |done, batch| {
        units += done;
        progress(units, total, batch)
    });
    progress(units, total, "indexes");
    let restored = s.restore_indexes();
    loaded?;
    restored?;
    if !outcome.interrupted {
        seal(s, run_name.as_str())?;
        // The loaded CPA PERT reports were marked for the needs-attention checks.
        let audit = RequestMeta::cli(run_name.as_str()).audit(None, PERT_CHECKS_REFRESH, ("pert_report", None));
        while s.check_pert_reports(10_000, &audit)? > 0 {}
        // And its analytics events counted into the summaries, up to now.
        let audit = RequestMeta::cli(run_name.as_str()).audit(None, ANALYTICS_SUMMARIZE, ("analytics", None));
        while s.summarize_analytics(chrono::Utc::now(), 1_000_000, &audit)? > 0 {}
        if outcome.written > 0 {
            s.analyze()?;
        }
    }
    Ok(outcome)
}

/// The batches write phone numbers and birth dates in the seed's columns, as the
/// product might; sealing encrypts them, as `migrate` does for the product's (after
/// the indexes are back: it reads each user's rows by user).
fn seal(s: &dyn Storage, run_name: &str) -> AppResult<()> {
    let meta = RequestMeta::cli(run_name);
    // 5,000 users a transaction (not `migrate`'s 500): nobody else writes during
    // a load, and at a million users the commits were half of the pass.
    let audit = meta.audit(None, FIELDS_SEAL, ("user", None));
    let failed = pathfinder::storage::walk_batches(|after| s.seal_plaintext(after, 5_000, &audit), |_| {})?.failed;
    if failed > 0 {
        return Err(AppError::Conflict(format!("{failed} generated users could not be sealed (see the log).")));
    }
    Ok(())
}

/// The tables a run's users and events go into.
fn loaded_tables(plan: &Plan) -> Vec<String> {
    let one = World::new(&Plan { users: 1, audit_events: 1, provisioned: 0, ..plan.clone() });
    let mut tables: Vec<String> =
        [Batch::Users(0), Batch::Audit(0)].into_iter().flat_map(|b| one.rows(b)).map(|t| t.table).collect();
    tables.sort();
    tables.dedup();
    tables
}

/// Writes the batches `todo`.
fn load(
    s: &dyn Storage,
    world: &Arc<World>,
    run_name: &str,
    todo: Vec<Batch>,
    stop: &AtomicBool,
    outcome: &mut Outcome,
    progress: &mut dyn FnMut(u64, &str),
) -> AppResult<()> {
    // One thread makes rows while this one writes them (two cores: both stay busy).
    let (tx, rx) = sync_channel::<(Batch, Vec<TableRows>)>(2);
    let maker = {
        let world = Arc::clone(world);
        std::thread::spawn(move || {
            for b in todo {
                if tx.send((b, world.rows(b))).is_err() {
                    break;
                }
            }
        })
    };
    let meta = RequestMeta::cli(run_name);
    for (batch, rows) in rx.iter() {
        if stop.load(Ordering::SeqCst) {
            outcome.interrupted = true;
            break;
        }
        let audit = meta.audit(None, DATA_GENERATE, ("dataset", Some(&batch.name())));
        let written = match batch {
            Batch::TableSet(i) => {
                let p = world.person(world.provisioned_user(i));
                let username = Username::parse(&p.username)?;
                let provision = meta.audit(None, TABLES_PROVISION, ("user_tables", Some(&p.user_id)));
                let set = s.provision_user_tables(&username, &provision)?;
                if set.tables.iter().any(|t| t.name.ends_with("_experiences") && t.rows > 0) {
                    // Filled before a crash took the batch's audit row: write only that.
                    s.append_audit(&audit)
                } else {
                    s.fill_user_tables(&username, &rows, &audit)
                }
            }
            _ => s.insert_batch(&rows, &audit),
        };
        written.map_err(|e| match e {
            AppError::Conflict(_) => AppError::Conflict(format!(
                "Batch {} collides with rows already in the database (generated by a run with other \
                 settings?); nothing of this batch was written.",
                batch.name()
            )),
            other => other,
        })?;
        outcome.written += 1;
        progress(world.units(batch), &batch.name());
    }
    drop(rx);
    let _ = maker.join();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phc_base64_matches_the_standard_alphabet_without_padding() {
        assert_eq!(b64("666f6f"), "Zm9v");
        assert_eq!(b64("666f"), "Zm8");
        assert_eq!(b64("66"), "Zg");
    }

    #[test]
    fn generated_usernames_obey_the_rule_and_are_unique() {
        let plan = Plan {
            seed: 1,
            users: 20_000,
            audit_events: 0,
            provisioned: 0,
            end: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        };
        let w = World::new(&plan);
        let names: HashSet<String> = (0..plan.users).map(|k| w.person(k).username).collect();
        assert_eq!(names.len(), 20_000);
        assert!(names.iter().all(|n| Username::parse(n).is_ok()));
    }
}
