//! `audit verify` (walk the hash chain; exit 3 on a break), `audit export` (the
//! Audit page's filter, streamed to a file or stdout) and `audit checkpoint`.

use super::progress::{stop_on_signal, Progress};
use crate::export::audit::Sink;
use crate::export::Format;
use crate::jobs::checkpoints::Handed;
use pathfinder::audit::{AuditFilter, AuditParams};
use pathfinder::request::RequestMeta;
use pathfinder::storage::Storage;
use pathfinder::storage::AUDIT_EXPORT_DONE;
use pathfinder::witness::{ChainTrust, Witness};
use pathfinder::{AppError, AppResult};
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

/// The Audit page's filters, as options (the same names and values as its URL).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// 1h, 24h, 7d, 30d, 90d, 365d, all, or custom (with --from/--to).
    #[arg(long, default_value = "")]
    pub range: String,
    /// UTC: YYYY-MM-DD or YYYY-MM-DDTHH:MM (with --range custom).
    #[arg(long, default_value = "")]
    pub from: String,
    #[arg(long, default_value = "")]
    pub to: String,
    /// A username or a user id.
    #[arg(long, default_value = "")]
    pub actor: String,
    /// Exact, or a prefix ending with `.` or `*`.
    #[arg(long, default_value = "")]
    pub action: String,
    #[arg(long, default_value = "")]
    pub entity_type: String,
    #[arg(long, default_value = "")]
    pub entity_id: String,
    /// 2xx, 3xx, 4xx, 5xx, errors, or an exact status.
    #[arg(long, default_value = "")]
    pub status: String,
    #[arg(long, default_value = "")]
    pub method: String,
    /// A path prefix.
    #[arg(long, default_value = "")]
    pub path: String,
    /// An address, or the start of one.
    #[arg(long, default_value = "")]
    pub ip: String,
    /// Text in the error message.
    #[arg(long, default_value = "")]
    pub text: String,
    /// newest or oldest.
    #[arg(long, default_value = "")]
    pub order: String,
}

impl FilterArgs {
    fn params(&self) -> AuditParams {
        let a = self.clone();
        AuditParams {
            range: a.range,
            from: a.from,
            to: a.to,
            actor: a.actor,
            action: a.action,
            entity_type: a.entity_type,
            entity_id: a.entity_id,
            status: a.status,
            method: a.method,
            path: a.path,
            ip: a.ip,
            text: a.text,
            order: a.order,
            ..AuditParams::default()
        }
    }
}

/// Walks the chain; prints what it found. Exit 3 when it is broken.
pub fn verify(s: &dyn Storage, trust: &ChainTrust) -> AppResult<ExitCode> {
    let stop = stop_on_signal()?;
    let mut bar = Progress::new("audit verify", "events")?;
    let report = s.verify_audit_chain(trust, &mut |done, total| {
        bar.update(done, total, "");
        !stop.load(Ordering::SeqCst)
    })?;
    let secs = bar.finish();
    let rate = report.checked as f64 / secs.max(1e-9);
    println!(
        "Checked {} events (to sequence {}) and {} checkpoints in {secs:.1} s ({rate:.0} events/s).",
        report.checked, report.last_seq, report.checkpoints
    );
    if !report.checkpoints_checked {
        println!("Checkpoints were not checked: give the audit key (PF_AUDIT_KEY or PF_AUDIT_KEY_FILE).");
    }
    if report.below_cut > 0 {
        println!(
            "{} events stand below the retention cut, outside verification (written out of time order; retention \
             removes them when they are due).",
            report.below_cut
        );
    }
    match (&report.witness, &trust.witness) {
        (Some(said), Some(w)) => println!("Witness {}: {said}", w.path.display()),
        _ => println!(
            "No outside witness (PF_AUDIT_WITNESS): events cut from the end together with their checkpoints would \
             not show."
        ),
    }
    if report.unchained > 0 {
        println!("{} events are outside the chain (written by another tool); `migrate` chains them.", report.unchained);
    }
    if stop.load(Ordering::SeqCst) {
        println!("Interrupted: the rest of the chain was not checked.");
        return Ok(ExitCode::from(130));
    }
    match report.problem {
        None => {
            println!("The audit chain is intact.");
            Ok(ExitCode::SUCCESS)
        }
        Some(p) => {
            println!("BROKEN at sequence {} ({}): {}", p.seq, p.kind.as_str(), p.detail);
            Ok(ExitCode::from(3))
        }
    }
}

/// Exports the events of the filter to `output` (stdout when absent), audited.
pub fn export(s: &dyn Storage, args: &FilterArgs, format: &str, output: Option<&std::path::Path>) -> AppResult<()> {
    let format = Format::parse(format)?;
    let params = args.params();
    let filter = AuditFilter::from_params(&params, chrono::Utc::now())?;
    // An unknown actor (or any refused value) is said before a file is made.
    let meta = RequestMeta::cli("audit export");
    crate::export::audit::begin(s, &filter, &params, format, None, &meta)?;
    let out: Box<dyn Write> = match output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .map_err(|e| AppError::invalid(format!("Cannot write {}: {e}.", path.display())))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut sink = Sink::new(format, std::io::BufWriter::with_capacity(1 << 16, out))?;
    // The total, for the progress bar, when the kept counts know it.
    let total = match s.audit_facets(&filter)?.total {
        Some(pathfinder::audit::Count::Exact(n)) => u64::try_from(n).unwrap_or(0),
        _ => 0,
    };
    let stop = stop_on_signal()?;
    let mut bar = Progress::new("audit export", "events")?;
    let mut failed = None;
    let mut n = 0u64;
    let written = s.export_audit(&filter, &mut |row| {
        if let Err(e) = sink.write(row) {
            failed = Some(e);
            return false;
        }
        n += 1;
        if n % 10_000 == 0 {
            bar.update(n, total.max(n), "");
        }
        !stop.load(Ordering::SeqCst)
    });
    let secs = bar.finish();
    let flushed = sink.into_inner().and_then(|mut w| w.flush().map_err(AppError::internal));
    let mut done = meta.audit(None, AUDIT_EXPORT_DONE, ("audit_log", None));
    let result = match (written, failed.map_or(flushed, Err)) {
        (Ok(n), Ok(())) if !stop.load(Ordering::SeqCst) => {
            done.detail = Some(format!("{n} events"));
            eprintln!("Exported {n} events in {secs:.1} s ({:.0} events/s).", n as f64 / secs.max(1e-9));
            Ok(())
        }
        (Ok(n), Ok(())) => {
            done.response_status = 499;
            done.detail = Some(format!("interrupted after {n} events"));
            Err(AppError::invalid(format!("Interrupted after {n} events; the file is incomplete.")))
        }
        (Err(e), _) | (_, Err(e)) => {
            done.response_status = e.status();
            done.detail = Some(format!("failed: {e}"));
            Err(e)
        }
    };
    s.append_audit(&done)?;
    result
}

/// Signs the chain's head now, and hands the newest checkpoint to the witness.
pub fn checkpoint(s: &dyn Storage, key: Option<&[u8]>, witness: Option<&Witness>) -> AppResult<()> {
    let key = key.ok_or_else(|| AppError::invalid("Set PF_AUDIT_KEY (or PF_AUDIT_KEY_FILE) to sign checkpoints."))?;
    match s.sign_checkpoint(key, chrono::Utc::now())? {
        Some(seq) => println!("Signed a checkpoint at sequence {seq}."),
        None => println!("The newest checkpoint already covers the chain's head."),
    }
    if let (Some(w), Some(mark)) = (witness, s.newest_checkpoint()?) {
        match crate::jobs::checkpoints::hand_over(key, Some(w), &mark)? {
            Handed::Behind(_) => {
                return Err(AppError::Conflict(format!(
                    "The witness {} saw a newer checkpoint than the database holds: verify the chain (`audit verify`).",
                    w.path.display()
                )))
            }
            Handed::Forged => {
                return Err(AppError::invalid(format!(
                    "The newest checkpoint (sequence {}) is not signed with the audit key: it was not witnessed; \
                     verify the chain (`audit verify`).",
                    mark.seq
                )))
            }
            Handed::Recorded | Handed::Known => {}
        }
    }
    Ok(())
}
