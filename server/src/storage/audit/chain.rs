//! The hash chain over `pf_audit_log` (our extension: `chain_seq`, `chain_hash`,
//! `pf_audit_chain_head`, `pf_audit_checkpoints`; migration 0014).
//!
//! Each row's `chain_hash` = SHA-256 of the previous row's hash (hex), the row's
//! sequence number and its canonical encoding ([`canonical`]), in hex. Writers take
//! the head row first (Oracle: `FOR UPDATE`, held to commit, so instances append
//! one at a time; SQLite has one writer). Checkpoints sign (sequence, hash, time)
//! with a key outside the database, so removing the newest rows shows too.
//! [`verify`] walks the chain and names the first break.

use super::super::driver::{Conn, ReadRow, Row, TEXT_TIME_FORMAT};
use crate::{args, sql};
use hmac::{Mac, SimpleHmac};
use pathfinder::audit::{AuditRow, BreakKind, ChainBreak, ChainReport};
use pathfinder::dto::Timestamp;
use pathfinder::witness::{WitnessMark, WitnessState};
use pathfinder::AppResult;
use sha2::{Digest, Sha256};

/// The hash before the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The columns a chained row is read with, in [`chained_row`]'s order.
pub const CHAIN_COLUMNS: &str = "id, user_id, action, entity_type, entity_id, ip_address, user_agent, request_method,
    request_path, response_status, execution_time_ms, error_message, created_at, chain_seq, chain_hash";

/// A row read with [`CHAIN_COLUMNS`] (no username: the chain covers the seed's columns).
pub fn chained_row(r: &dyn Row) -> AppResult<AuditRow> {
    Ok(AuditRow {
        id: r.text(0)?,
        user_id: r.opt_text(1)?,
        username: None,
        action: r.text(2)?,
        entity_type: r.opt_text(3)?,
        entity_id: r.opt_text(4)?,
        ip_address: r.opt_text(5)?,
        user_agent: r.opt_text(6)?,
        request_method: r.opt_text(7)?,
        request_path: r.opt_text(8)?,
        response_status: r.opt_int(9)?,
        execution_time_ms: r.opt_int(10)?,
        detail: r.opt_text(11)?,
        created_at: r.time(12)?,
        chain_seq: r.opt_int(13)?,
        chain_hash: r.opt_text(14)?,
    })
}

/// The row's bytes as the chain hashes them: a version tag, the sequence number and
/// the seed's thirteen columns in table order, each `-` when NULL (or empty: both
/// backends store empty text as NULL) or `<length>:<bytes>`, after a `|`. Times in
/// UTC to the microsecond, as both backends keep them.
pub fn canonical(seq: i64, r: &AuditRow) -> Vec<u8> {
    let mut out = b"pf-audit-1".to_vec();
    let mut push = |v: Option<&str>| {
        out.push(b'|');
        match v.filter(|v| !v.is_empty()) {
            None => out.push(b'-'),
            Some(v) => {
                out.extend(v.len().to_string().as_bytes());
                out.push(b':');
                out.extend(v.as_bytes());
            }
        }
    };
    let number = |n: Option<i64>| n.map(|n| n.to_string());
    push(Some(&seq.to_string()));
    push(Some(&r.id));
    push(r.user_id.as_deref());
    push(Some(&r.action));
    push(r.entity_type.as_deref());
    push(r.entity_id.as_deref());
    push(r.ip_address.as_deref());
    push(r.user_agent.as_deref());
    push(r.request_method.as_deref());
    push(r.request_path.as_deref());
    push(number(r.response_status).as_deref());
    push(number(r.execution_time_ms).as_deref());
    push(r.detail.as_deref());
    push(Some(&r.created_at.format(TEXT_TIME_FORMAT).to_string()));
    out
}

/// The hash of row `r` at `seq` after a row whose hash is `previous`.
pub fn link(previous: &str, seq: i64, r: &AuditRow) -> String {
    let mut h = Sha256::new();
    h.update(previous.as_bytes());
    h.update(canonical(seq, r));
    hex::encode(h.finalize())
}

/// Takes the chain's head (and, on Oracle, its lock until the transaction ends).
fn take_head(c: &mut Conn) -> AppResult<(i64, String)> {
    let head = c.query_opt(
        sql!(
            sqlite: "SELECT last_seq, last_hash FROM pf_audit_chain_head WHERE id = 1",
            oracle: "SELECT last_seq, last_hash FROM pf_audit_chain_head WHERE id = 1 FOR UPDATE"
        ),
        &[],
    )?;
    match head {
        Some(h) => Ok((h.int(0)?, h.text(1)?)),
        None => Err(pathfinder::AppError::internal("pf_audit_chain_head has no row: the audit chain cannot grow")),
    }
}

/// The chain's head, without a lock (for a reader).
fn read_head(c: &mut Conn) -> AppResult<i64> {
    c.query_int(sql!("SELECT COALESCE(MAX(last_seq), 0) FROM pf_audit_chain_head"), &[])
}

/// Links `rows`, in order, after the chain's head (taken, on Oracle locked, until
/// the transaction ends), sets each one's sequence number and hash, and moves the
/// head past them. The caller writes the rows in the same transaction.
pub fn extend(c: &mut Conn, rows: &mut [AuditRow]) -> AppResult<()> {
    let (mut seq, mut hash) = take_head(c)?;
    for r in rows.iter_mut() {
        seq += 1;
        hash = link(&hash, seq, r);
        r.chain_seq = Some(seq);
        r.chain_hash = Some(hash.clone());
    }
    c.execute(sql!("UPDATE pf_audit_chain_head SET last_seq = :1, last_hash = :2 WHERE id = 1"), &args![seq, hash])?;
    Ok(())
}

/// The MAC of a checkpoint: HMAC-SHA256 over `<seq>|<hash>|<time>`.
pub fn checkpoint_mac(key: &[u8], seq: i64, hash: &str, signed_at: Timestamp) -> String {
    let text = format!("{seq}|{hash}|{}", signed_at.format(TEXT_TIME_FORMAT));
    match SimpleHmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(text.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; kept total all the same.
        Err(_) => String::new(),
    }
}

/// Signs the head unless the newest checkpoint already covers it; the sequence
/// signed. Not audited itself: a checkpoint is a statement about the log, and an
/// audit row of it would move the head it just signed.
pub fn sign(c: &mut Conn, key: &[u8], now: Timestamp) -> AppResult<Option<i64>> {
    let now = crate::storage::driver::micros(now);
    let (seq, hash) = take_head(c)?;
    let newest = c.query_int(sql!("SELECT COALESCE(MAX(chain_seq), 0) FROM pf_audit_checkpoints"), &[])?;
    if seq == 0 || newest >= seq {
        return Ok(None);
    }
    c.execute(
        sql!("INSERT INTO pf_audit_checkpoints (chain_seq, chain_hash, signed_at, mac) VALUES (:1, :2, :3, :4)"),
        &args![seq, hash.as_str(), now, checkpoint_mac(key, seq, &hash, now)],
    )?;
    Ok(Some(seq))
}

/// Where retention removed the chain's oldest events: the last removed event's
/// sequence and hash (the next event links to it), signed like a checkpoint.
struct Cut {
    seq: i64,
    hash: String,
    cut_at: Timestamp,
    mac: String,
}

/// The MAC of a cut: a checkpoint's over `cut:<hash>`, so that neither can pass
/// for the other.
fn cut_mac(key: &[u8], seq: i64, hash: &str, cut_at: Timestamp) -> String {
    checkpoint_mac(key, seq, &format!("cut:{hash}"), cut_at)
}

fn newest_cut(c: &mut Conn) -> AppResult<Option<Cut>> {
    let row = c.query_opt(
        sql!("SELECT chain_seq, chain_hash, cut_at, mac FROM pf_audit_chain_cuts
                ORDER BY chain_seq DESC", limit "1"),
        &[],
    )?;
    row.map(|r| Ok(Cut { seq: r.int(0)?, hash: r.text(1)?, cut_at: r.time(2)?, mac: r.text(3)? })).transpose()
}

/// The sequence the chain starts after (0 when whole from its first event).
pub fn starts_after(c: &mut Conn) -> AppResult<i64> {
    Ok(newest_cut(c)?.map_or(0, |cut| cut.seq))
}

/// Records, signed, that the events up to `seq` go, in the transaction that
/// deletes them: verification then starts after it. Only the newest cut is kept.
pub fn cut(c: &mut Conn, key: &[u8], seq: i64, now: Timestamp) -> AppResult<()> {
    let hash = c.query_opt(sql!("SELECT chain_hash FROM pf_audit_log WHERE chain_seq = :1"), &args![seq])?;
    let Some(hash) = hash.map(|r| r.text(0)).transpose()? else {
        return Err(pathfinder::AppError::internal(format!("no audit event at sequence {seq} to cut the chain at")));
    };
    let now = crate::storage::driver::micros(now);
    c.execute(
        sql!("INSERT INTO pf_audit_chain_cuts (chain_seq, chain_hash, cut_at, mac) VALUES (:1, :2, :3, :4)"),
        &args![seq, hash.as_str(), now, cut_mac(key, seq, &hash, now)],
    )?;
    c.execute(sql!("DELETE FROM pf_audit_chain_cuts WHERE chain_seq < :1"), &args![seq])?;
    Ok(())
}

/// Rows per query of a walk.
const WALK_BATCH: i64 = 20_000;
/// How far ahead a broken row's rightful successor is looked for.
const LOOK_AHEAD: i64 = 1_000;

/// A checkpoint read with `chain_seq, chain_hash, signed_at, mac` (the witness keeps
/// the same four).
fn checkpoint(r: &dyn Row) -> AppResult<WitnessMark> {
    Ok(WitnessMark { seq: r.int(0)?, hash: r.text(1)?, signed_at: r.time(2)?, mac: r.text(3)? })
}

/// Whether `key` signed `mark` (read from the database or from the witness).
pub fn signed_by(key: &[u8], mark: &WitnessMark) -> bool {
    checkpoint_mac(key, mark.seq, &mark.hash, mark.signed_at) == mark.mac
}

fn checkpoints(c: &mut Conn) -> AppResult<Vec<WitnessMark>> {
    c.query_map(
        sql!("SELECT chain_seq, chain_hash, signed_at, mac FROM pf_audit_checkpoints ORDER BY chain_seq"),
        &[],
        checkpoint,
    )
}

fn rows_from(c: &mut Conn, after_seq: i64, limit: i64) -> AppResult<Vec<AuditRow>> {
    c.query_map(
        sql!("SELECT id, user_id, action, entity_type, entity_id, ip_address, user_agent, request_method,
                request_path, response_status, execution_time_ms, error_message, created_at, chain_seq, chain_hash
                FROM pf_audit_log WHERE chain_seq > :1 ORDER BY chain_seq", limit ":2"),
        &args![after_seq, limit],
        chained_row,
    )
}

/// What is wrong with `row`, found at `seq` after a row hashed `previous`: moved
/// here from elsewhere (another row just after it belongs here), edited (the chain
/// goes on from its stored hash), or broken (hashes rewritten).
fn diagnose(c: &mut Conn, seq: i64, previous: &str, row: &AuditRow) -> AppResult<ChainBreak> {
    let ahead = rows_from(c, seq, LOOK_AHEAD)?;
    if let Some(rightful) = ahead.iter().find(|r| r.chain_hash.as_deref() == Some(&link(previous, seq, r))) {
        return Ok(ChainBreak {
            seq,
            kind: BreakKind::Reordered,
            detail: format!(
                "The event written at sequence {seq} ({}) now sits at sequence {}: events were reordered.",
                rightful.id,
                rightful.chain_seq.unwrap_or_default()
            ),
        });
    }
    let stored = row.chain_hash.clone().unwrap_or_default();
    let chain_goes_on = match ahead.first() {
        Some(next) => next.chain_hash.as_deref() == Some(&link(&stored, seq + 1, next)),
        None => true,
    };
    Ok(if chain_goes_on {
        ChainBreak {
            seq,
            kind: BreakKind::Edited,
            detail: format!("The event at sequence {seq} ({}) was changed after it was written.", row.id),
        }
    } else {
        ChainBreak {
            seq,
            kind: BreakKind::Broken,
            detail: format!("The chain breaks at sequence {seq} ({}): its hashes were rewritten.", row.id),
        }
    })
}

/// The newest signed checkpoint (what an instance's witness records).
pub fn newest_checkpoint(c: &mut Conn) -> AppResult<Option<WitnessMark>> {
    let newest = c.query_map(
        sql!("SELECT chain_seq, chain_hash, signed_at, mac FROM pf_audit_checkpoints ORDER BY chain_seq DESC", limit "1"),
        &[],
        checkpoint,
    )?;
    Ok(newest.into_iter().next())
}

/// Walks the chain from the start; `progress(checked, total)` after each batch, and
/// when it returns false the walk stops (the report says how far it got). With
/// `witness` (what the outside witness holds), a chain that ends before the newest
/// checkpoint it saw, or differs there, is reported as cut or rewritten.
pub fn verify(
    c: &mut Conn,
    key: Option<&[u8]>,
    witness: Option<&WitnessState>,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> AppResult<ChainReport> {
    let head_seq = read_head(c)?;
    let total = u64::try_from(head_seq).unwrap_or(0);
    let marks = checkpoints(c)?;
    let mut report = ChainReport {
        checkpoints_checked: key.is_some(),
        unchained: u64::try_from(c.query_int(sql!("SELECT COUNT(*) FROM pf_audit_log WHERE chain_seq IS NULL"), &[])?)
            .unwrap_or(0),
        ..ChainReport::default()
    };
    let (mut seq, mut previous, mut stopped) = (0i64, GENESIS.to_string(), false);
    if let Some(cut) = newest_cut(c)? {
        if let Some(k) = key {
            if cut_mac(k, cut.seq, &cut.hash, cut.cut_at) != cut.mac {
                report.problem = Some(ChainBreak {
                    seq: cut.seq,
                    kind: BreakKind::Checkpoint,
                    detail: format!("The retention cut at sequence {} is not signed with the audit key.", cut.seq),
                });
                return Ok(report);
            }
        }
        (seq, previous, report.starts_after) = (cut.seq, cut.hash, cut.seq);
        report.below_cut = u64::try_from(
            c.query_int(sql!("SELECT COUNT(*) FROM pf_audit_log WHERE chain_seq <= :1"), &args![cut.seq])?,
        )
        .unwrap_or(0);
    }
    let seen = witness.and_then(|w| w.newest.as_ref());
    if let (Some(mark), Some(k)) = (seen, key) {
        if !signed_by(k, mark) {
            report.problem = Some(ChainBreak {
                seq: mark.seq,
                kind: BreakKind::Checkpoint,
                detail: format!(
                    "The witness's checkpoint at sequence {} is not signed with the audit key: the witness file was altered.",
                    mark.seq
                ),
            });
            return Ok(report);
        }
    }
    let total = total.saturating_sub(u64::try_from(seq).unwrap_or(0));
    let start = seq;
    let mut marks_ahead = marks.iter().filter(move |m| m.seq > start).peekable();
    'walk: loop {
        let rows = rows_from(c, seq, WALK_BATCH)?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let at = row.chain_seq.unwrap_or_default();
            if at != seq + 1 {
                report.problem = Some(ChainBreak {
                    seq: seq + 1,
                    kind: BreakKind::Deleted,
                    detail: if at == seq + 2 {
                        format!("The event at sequence {} was deleted.", seq + 1)
                    } else {
                        format!("The events at sequences {} to {} were deleted.", seq + 1, at - 1)
                    },
                });
                break 'walk;
            }
            let hash = link(&previous, at, row);
            if row.chain_hash.as_deref() != Some(&hash) {
                report.problem = Some(diagnose(c, at, &previous, row)?);
                break 'walk;
            }
            if let Some(mark) = seen.filter(|m| m.seq == at && m.hash != hash) {
                report.problem = Some(ChainBreak {
                    seq: at,
                    kind: BreakKind::Broken,
                    detail: format!(
                        "The chain was rewritten up to sequence {at}: its hash differs from the checkpoint the \
                         witness saw (signed at {}).",
                        mark.signed_at.format("%Y-%m-%d %H:%M:%S UTC")
                    ),
                });
                break 'walk;
            }
            while let Some(mark) = marks_ahead.next_if(|m| m.seq <= at) {
                if let Some(problem) = check_mark(mark, key, (mark.seq == at).then_some(&hash)) {
                    report.problem = Some(problem);
                    break 'walk;
                }
                report.checkpoints += 1;
            }
            seq = at;
            previous = hash;
            report.checked += 1;
        }
        if !progress(report.checked, total) {
            stopped = true;
            break;
        }
    }
    report.last_seq = seq;
    if let Some(w) = witness {
        report.witness = Some(witness_says(w, seq));
        if let Some(mark) = seen.filter(|m| report.problem.is_none() && !stopped && m.seq > seq) {
            report.problem = Some(ChainBreak {
                seq: seq + 1,
                kind: BreakKind::Truncated,
                detail: format!(
                    "The log ends at sequence {seq}, but the outside witness saw a checkpoint at sequence {} \
                     (signed at {}): the newest {} events were deleted, with the checkpoints after them.",
                    mark.seq,
                    mark.signed_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    mark.seq - seq
                ),
            });
        }
    }
    if report.problem.is_none() && !stopped && head_seq > seq {
        report.problem = Some(ChainBreak {
            seq: seq + 1,
            kind: BreakKind::Truncated,
            detail: format!(
                "The log ends at sequence {seq}, but the chain's head says {head_seq}: the newest {} events were deleted.",
                head_seq - seq
            ),
        });
    }
    if report.problem.is_none() && !stopped && key.is_some() {
        if let Some(mark) = marks_ahead.find(|m| m.seq > seq) {
            report.problem = Some(match check_mark(mark, key, None) {
                Some(forged) => forged,
                None => ChainBreak {
                    seq: seq + 1,
                    kind: BreakKind::Truncated,
                    detail: format!(
                        "The log ends at sequence {seq}, but the checkpoint signed at {} vouches for sequence {}: \
                         the newest {} events were deleted (truncated after checkpoint {}).",
                        mark.signed_at.format("%Y-%m-%d %H:%M:%S UTC"),
                        mark.seq,
                        mark.seq - seq,
                        report.checkpoints
                    ),
                },
            });
        }
    }
    Ok(report)
}

/// The witness's part of a report, in a sentence.
fn witness_says(w: &WitnessState, last_seq: i64) -> String {
    let restored = w.restored.map(|(at, before)| {
        format!(
            " The database was restored from a backup at {} (the witness had seen sequence {before} before it).",
            at.format("%Y-%m-%d %H:%M:%S UTC")
        )
    });
    let seen = match &w.newest {
        Some(m) if m.seq <= last_seq => format!(
            "The outside witness's newest checkpoint (sequence {}, signed at {}) is in the chain.",
            m.seq,
            m.signed_at.format("%Y-%m-%d %H:%M:%S UTC")
        ),
        Some(m) => format!("The outside witness saw sequence {}.", m.seq),
        None => "The outside witness has seen no checkpoint yet.".to_string(),
    };
    seen + &restored.unwrap_or_default()
}

/// A checkpoint's signature, and the hash it vouches for when the walk is there.
fn check_mark(mark: &WitnessMark, key: Option<&[u8]>, hash_here: Option<&String>) -> Option<ChainBreak> {
    let key = key?;
    if !signed_by(key, mark) {
        return Some(ChainBreak {
            seq: mark.seq,
            kind: BreakKind::Checkpoint,
            detail: format!("The checkpoint at sequence {} is not signed with the audit key.", mark.seq),
        });
    }
    match hash_here {
        Some(h) if *h != mark.hash => Some(ChainBreak {
            seq: mark.seq,
            kind: BreakKind::Broken,
            detail: format!(
                "The chain was rewritten up to sequence {}: its hash differs from the signed checkpoint's.",
                mark.seq
            ),
        }),
        _ => None,
    }
}
