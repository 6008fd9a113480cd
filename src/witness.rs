//! The audit chain's outside witness: a small file, outside the database, holding
//! the newest signed checkpoint a console instance has seen.
//!
//! Checkpoints signed inside the database cannot prove that nothing came after
//! them: whoever can write the database can delete the newest events, the
//! checkpoints after them and move the chain's head back. The witness can: each
//! instance records the newest checkpoint it sees (`jobs/checkpoints.rs`), and a
//! verification that finds the chain ending before it reports a truncation, with
//! what the witness last saw. Like CloudTrail's digest files, it lives where the
//! database's writers do not reach: beside the keys (`.audit-witness` beside the
//! embedded database) or at `PF_AUDIT_WITNESS`. Instances on several machines each
//! keep their own; instances sharing a folder share one, and a lock file keeps
//! their writes in order. A restore from a backup says so in the witness, so the
//! rollback it makes is reported as a restore, not as an attack.

use crate::dto::Timestamp;
use crate::{AppError, AppResult};
use std::path::{Path, PathBuf};

/// A signed checkpoint as the database held it when an instance saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessMark {
    pub seq: i64,
    pub hash: String,
    pub signed_at: Timestamp,
    /// The checkpoint's MAC (checked against the audit key by a verification).
    pub mac: String,
}

/// What the witness file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WitnessState {
    /// The newest checkpoint seen since the last restore.
    pub newest: Option<WitnessMark>,
    /// The last restore from a backup, and the newest sequence seen before it.
    pub restored: Option<(Timestamp, i64)>,
}

/// The witness file of one console instance (or of the instances sharing its folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    pub path: PathBuf,
}

/// What a verification of the chain trusts from outside the database: the key that
/// signs checkpoints (never in the database) and the witness, as the server hands
/// them to the code that verifies.
#[derive(Debug, Clone, Default)]
pub struct ChainTrust {
    pub key: Option<std::sync::Arc<[u8]>>,
    pub witness: Option<Witness>,
}

impl ChainTrust {
    pub fn key(&self) -> Option<&[u8]> {
        self.key.as_deref()
    }

    /// What the witness holds: `None` without a witness, an empty state when its
    /// file does not exist yet.
    pub fn seen(&self) -> AppResult<Option<WitnessState>> {
        self.witness.as_ref().map(|w| w.read().map(Option::unwrap_or_default)).transpose()
    }
}

const HEADER: &str = "pathfinder-audit-witness 1";

impl Witness {
    pub fn at(path: impl Into<PathBuf>) -> Witness {
        Witness { path: path.into() }
    }

    /// What the file holds; `None` when there is no file (a verification says so;
    /// it never makes one).
    pub fn read(&self) -> AppResult<Option<WitnessState>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => parse(&text).map(Some).map_err(|why| {
                AppError::invalid(format!("The audit witness {} cannot be read: {why}.", self.path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AppError::invalid(format!("Cannot read the audit witness {}: {e}.", self.path.display()))),
        }
    }

    /// Records `mark` when it is newer than what the file holds; what the file held
    /// before (a mark older than that is the caller's news: the chain went back).
    pub fn record(&self, mark: &WitnessMark) -> AppResult<WitnessState> {
        self.update(|state| {
            if state.newest.as_ref().is_none_or(|n| n.seq < mark.seq) {
                Some(WitnessState { newest: Some(mark.clone()), ..state.clone() })
            } else {
                None
            }
        })
    }

    /// Records a restore from a backup at `at`: what was seen before it no longer
    /// binds the restored chain (a verification reports the restore instead).
    pub fn restored(&self, at: Timestamp) -> AppResult<WitnessState> {
        self.update(|state| {
            let before = state.newest.as_ref().map(|m| m.seq).or(state.restored.map(|(_, s)| s)).unwrap_or(0);
            Some(WitnessState { newest: None, restored: Some((at, before)) })
        })
    }

    /// Reads, changes and replaces the file under its lock (instances sharing the
    /// file take turns), the new content written whole before it is renamed in.
    fn update(&self, change: impl FnOnce(&WitnessState) -> Option<WitnessState>) -> AppResult<WitnessState> {
        let failed = |what: &str, e: std::io::Error| {
            AppError::invalid(format!("Cannot {what} the audit witness {}: {e}.", self.path.display()))
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| failed("make the folder of", e))?;
        }
        let lock = private_file(&with_suffix(&self.path, ".lock"), false).map_err(|e| failed("lock", e))?;
        lock.lock().map_err(|e| failed("lock", e))?;
        let before = self.read()?.unwrap_or_default();
        if let Some(after) = change(&before) {
            use std::io::Write;
            let tmp = with_suffix(&self.path, &format!(".{}.tmp", std::process::id()));
            let mut file = private_file(&tmp, true).map_err(|e| failed("write", e))?;
            file.write_all(render(&after).as_bytes()).and_then(|()| file.sync_all()).map_err(|e| failed("write", e))?;
            std::fs::rename(&tmp, &self.path).map_err(|e| failed("replace", e))?;
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
            }
        }
        Ok(before)
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Opens (making it, mode 0600) a file only its owner reads.
fn private_file(path: &Path, truncate: bool) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(truncate);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)
}

const TIME: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

fn render(state: &WitnessState) -> String {
    let mut out = format!("{HEADER}\n");
    if let Some(m) = &state.newest {
        out.push_str(&format!("checkpoint {} {} {} {}\n", m.seq, m.hash, m.signed_at.format(TIME), m.mac));
    }
    if let Some((at, seq)) = state.restored {
        out.push_str(&format!("restored {} {seq}\n", at.format(TIME)));
    }
    out
}

fn parse(text: &str) -> Result<WitnessState, String> {
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err("it does not start with its header".into());
    }
    let time = |s: &str| {
        chrono::NaiveDateTime::parse_from_str(s, TIME).map(|t| t.and_utc()).map_err(|_| format!("bad time {s:?}"))
    };
    let number = |s: &str| s.parse::<i64>().map_err(|_| format!("bad sequence {s:?}"));
    let mut state = WitnessState::default();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["checkpoint", seq, hash, at, mac] => {
                state.newest = Some(WitnessMark {
                    seq: number(seq)?,
                    hash: hash.to_string(),
                    signed_at: time(at)?,
                    mac: mac.to_string(),
                })
            }
            ["restored", at, seq] => state.restored = Some((time(at)?, number(seq)?)),
            _ => return Err(format!("unknown line {line:?}")),
        }
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn mark(seq: i64) -> WitnessMark {
        WitnessMark {
            seq,
            hash: format!("{seq:064x}"),
            signed_at: chrono::Utc.with_ymd_and_hms(2026, 12, 6, 3, 0, 0).unwrap() + chrono::Duration::microseconds(7),
            mac: "ab".repeat(32),
        }
    }

    #[test]
    fn keeps_the_newest_checkpoint_and_never_goes_back() {
        let dir = tempfile::tempdir().unwrap();
        let w = Witness::at(dir.path().join(".audit-witness"));
        assert_eq!(w.read().unwrap(), None, "no file: nothing seen, and reading makes none");
        assert!(!w.path.exists());
        w.record(&mark(10)).unwrap();
        let before = w.record(&mark(7)).unwrap();
        assert_eq!(before.newest, Some(mark(10)));
        assert_eq!(w.read().unwrap().unwrap().newest, Some(mark(10)), "an older checkpoint does not replace it");
        w.record(&mark(12)).unwrap();
        assert_eq!(w.read().unwrap().unwrap().newest, Some(mark(12)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&w.path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn a_restore_is_remembered_with_what_came_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let w = Witness::at(dir.path().join("w"));
        w.record(&mark(40)).unwrap();
        let at = mark(1).signed_at;
        w.restored(at).unwrap();
        assert_eq!(w.read().unwrap().unwrap(), WitnessState { newest: None, restored: Some((at, 40)) });
        w.record(&mark(30)).unwrap();
        assert_eq!(w.read().unwrap().unwrap().newest, Some(mark(30)), "the restored chain is witnessed afresh");
    }

    #[test]
    fn a_damaged_file_is_an_error_not_an_empty_witness() {
        let dir = tempfile::tempdir().unwrap();
        let w = Witness::at(dir.path().join("w"));
        std::fs::write(&w.path, "pathfinder-audit-witness 1\ncheckpoint 5 abc\n").unwrap();
        let e = w.read().unwrap_err().to_string();
        assert!(e.contains("cannot be read"), "{e}");
    }
}
