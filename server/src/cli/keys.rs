//! The key commands: rotate users' data keys, rotate the master key, seal plaintext,
//! and the start-up check that every data key's master key is at hand.

use super::progress::{stop_on_signal, Progress};
use crate::config::{secret_beside, secret_from_env, DatabaseUrl};
use crate::crypto::{Keyring, MasterKey};
use crate::storage::Store;
use pathfinder::request::RequestMeta;
use pathfinder::storage::{walk_batches, BatchStep, KeyPolicy, RotationScope, Storage};
use pathfinder::storage::{KEY_ROTATE, KEY_ROTATION_RUN, MASTER_KEY_REWRAP};
use pathfinder::{AppError, AppResult, Username};
use std::process::ExitCode;
use std::sync::atomic::Ordering;

pub enum Which {
    User(Username),
    All,
    Overdue(KeyPolicy),
}

/// Refuses to serve when a data key's master key is missing: the fields it guards
/// could not be read, and new writes for those users would fail.
pub fn check_master_keys(s: &dyn Storage, keyring: &Keyring) -> AppResult<()> {
    // Only Oracle can lack one (SQLite's is made beside the database).
    if keyring.current_id().is_none() {
        return Err(AppError::invalid(
            "Set PF_MASTER_KEY (or PF_MASTER_KEY_FILE): with Oracle the master key that encrypts users' sensitive \
             fields must come from outside the database (`pathfinder-admin new-master-key` makes one).",
        ));
    }
    for k in s.keys_by_master_key()? {
        if !keyring.knows(&k.status) {
            return Err(AppError::invalid(format!(
                "The database holds {} encrypted data keys under master key {}, which this server was not given: \
                 set PF_MASTER_KEY (or PF_MASTER_KEY_PREVIOUS during a master-key rotation), or their encrypted \
                 fields cannot be read.",
                k.count, k.status
            )));
        }
    }
    Ok(())
}

/// Rotates the chosen keys, one transaction per user; Ctrl-C stops between users.
pub fn rotate(s: &dyn Storage, which: Which) -> AppResult<ExitCode> {
    let scope = match which {
        Which::User(name) => {
            let id = s.user_id_by_username(&name)?.ok_or_else(|| AppError::NotFound(format!("User '{name}'")))?;
            let meta = RequestMeta::cli(&format!("rotate-keys --user {name}"));
            let key = s.rotate_user_key(&id, &meta.audit(None, KEY_ROTATE, ("user", Some(id.as_str()))))?;
            println!("Rotated the data key of '{name}': now version {}.", key.rotation_count);
            return Ok(ExitCode::SUCCESS);
        }
        Which::All => RotationScope::All,
        Which::Overdue(policy) => RotationScope::Overdue { rotation_days: policy.rotation_days },
    };
    let audit = RequestMeta::cli("rotate-keys").audit(None, KEY_ROTATION_RUN, ("encryption_keys", None));
    let stop = stop_on_signal()?;
    let mut bar = Progress::new("rotate-keys", "keys")?;
    let run = s.rotate_keys(scope, &audit, &mut |done, total| {
        bar.update(done, total, "");
        !stop.load(Ordering::Relaxed)
    });
    let took = bar.finish();
    let run = run?;
    println!(
        "Rotated {} data keys in {took:.1} s{}{}.",
        run.rotated,
        if run.failed == 0 { String::new() } else { format!("; {} failed (see the log)", run.failed) },
        if run.interrupted { "; interrupted: run again to go on" } else { "" },
    );
    Ok(match (run.interrupted, run.failed) {
        (true, _) => ExitCode::from(130),
        (false, 0) => ExitCode::SUCCESS,
        (false, _) => ExitCode::FAILURE,
    })
}

/// Re-wraps every data key under the new master key. With PF_MASTER_KEY set the
/// operator has configured both keys; the embedded default rotates the key file
/// beside the database: `.master-key.next` is made first, every key re-wrapped,
/// then the files are renamed (a crash at any point leaves a keyring that opens
/// every key: `config::keyring` reads all three files).
pub fn rotate_master(s: &dyn Storage, url: &DatabaseUrl) -> AppResult<ExitCode> {
    let meta = RequestMeta::cli("rotate-master-key");
    if secret_from_env("PF_MASTER_KEY")?.is_some() {
        if secret_from_env("PF_MASTER_KEY_PREVIOUS")?.is_none() {
            tracing::warn!("PF_MASTER_KEY_PREVIOUS is not set: keys under any other master key cannot be re-wrapped");
        }
        let n = match rewrap_all(s, &meta) {
            Ok(n) => n,
            Err(code) => return Ok(code),
        };
        println!("Re-wrapped {n} data keys under the current master key. Remove PF_MASTER_KEY_PREVIOUS once the backups taken before now have expired.");
        return Ok(ExitCode::SUCCESS);
    }
    let DatabaseUrl::Sqlite(path) = url else {
        return Err(AppError::invalid(
            "Set PF_MASTER_KEY to the new master key and PF_MASTER_KEY_PREVIOUS to the old one, then run again.",
        ));
    };
    let files = crate::config::MasterKeyFiles::beside(path);
    if files.previous.exists() {
        // Instances that ran on with the old key wrap new keys under it: re-wrap those.
        let current = crate::config::keyring(url)?.current_id().map(str::to_string);
        let stale: i64 =
            s.keys_by_master_key()?.iter().filter(|k| Some(&k.status) != current.as_ref()).map(|k| k.count).sum();
        if stale > 0 {
            let n = match rewrap_all(s, &meta) {
                Ok(n) => n,
                Err(code) => return Ok(code),
            };
            println!("Re-wrapped {n} data keys that were still under the previous master key.");
            return Ok(ExitCode::SUCCESS);
        }
        // The kept key still opens the backups taken before the last rotation:
        // replacing it would make them unreadable before their time.
        return Err(AppError::Conflict(format!(
            "{} still holds the master key of the last rotation, kept for the backups taken before it: delete it \
             once those backups have expired (30 days), then rotate again.",
            files.previous.display()
        )));
    }
    let next = MasterKey::parse(&secret_beside(&files.next, || MasterKey::generate().to_hex().to_string())?)?;
    let mut known = crate::config::keyring(url)?;
    known = Keyring::new(Some(next), known.all());
    let store = Store::open(url, known)?;
    let n = match rewrap_all(&store, &meta) {
        Ok(n) => n,
        Err(code) => return Ok(code),
    };
    files.promote_next().map_err(|e| AppError::internal(format!("renaming the master key files: {e}")))?;
    println!(
        "Re-wrapped {n} data keys under a new master key ({}). Restart every console instance now, then run \
         rotate-master-key once more: it re-wraps what they wrapped meanwhile with the old key. The old key is \
         kept in {} for the backups taken before now: delete it once they have expired (30 days), and fields of \
         users deleted before now become unreadable in those backups too.",
        files.current.display(),
        files.previous.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Re-wraps every data key under the current master key, 1,000 a transaction: how
/// many it re-wrapped, or how it ended when it could not finish (after committing
/// some batches: the run is partly done, exit 1).
fn rewrap_all(s: &dyn Storage, meta: &RequestMeta) -> Result<u64, ExitCode> {
    let audit = meta.audit(None, MASTER_KEY_REWRAP, ("encryption_keys", None));
    let total = s.keys_by_master_key().map_err(super::exit::failed)?.iter().map(|k| k.count).sum::<i64>() as u64;
    let mut bar = Progress::new("rotate-master-key", "keys").map_err(super::exit::failed)?;
    let (mut scanned, mut changed) = (0, 0);
    let all = walk_batches(
        |after| s.rewrap_keys(after, 1000, &audit),
        |batch| {
            scanned += batch.scanned;
            changed += batch.changed;
            bar.update(scanned, total.max(scanned), "");
        },
    );
    bar.finish();
    match all {
        Err(e) if changed > 0 => Err(super::exit::failed_midway(e, &format!("{changed} data keys were re-wrapped"))),
        Err(e) => Err(super::exit::failed(e)),
        Ok(BatchStep { changed, failed: 0, .. }) => Ok(changed),
        Ok(BatchStep { changed, failed, .. }) => Err(super::exit::failed_midway(
            AppError::Conflict(format!(
                "{failed} data keys could not be unwrapped (see the log for their users) and are still under their \
                 old master key: keep it until they are repaired or their users deleted"
            )),
            &format!("{changed} data keys were re-wrapped"),
        )),
    }
}
