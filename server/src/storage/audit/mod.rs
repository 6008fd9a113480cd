//! `pf_audit_log`: the append every audited change shares (chained, and counted by
//! hour and day in the same transaction), the search, facets and export of the
//! Audit page, and the chain's verification.

pub mod append;
pub mod chain;
mod jobs;
pub mod reads;
pub mod search;

use super::driver::Work;
use super::store::Store;
use crate::{args, sql};
use chain::chained_row;
use pathfinder::audit::{
    AuditFacets, AuditFilter, AuditHistogram, AuditJob, AuditJobKind, AuditPage, AuditRow, ChainReport,
};
use pathfinder::dto::Timestamp;
use pathfinder::storage::{AuditEntry, AuditStore, BatchStep};
use pathfinder::witness::{ChainTrust, WitnessMark};
use pathfinder::AppResult;

impl AuditStore for Store {
    fn append_audit(&self, audit: &AuditEntry) -> AppResult<()> {
        self.write_audited(audit, |_| Ok(()))
    }

    fn record_reads(&self, reads: &[AuditEntry]) -> AppResult<()> {
        self.reads.commit(reads.iter().map(append::row_of).collect(), |rows| self.write(|c| append::append(c, rows)))
    }

    fn count_audit_since(&self, since: Timestamp) -> AppResult<i64> {
        self.read(|c| c.query_int(sql!("SELECT COUNT(*) FROM pf_audit_log WHERE created_at >= :1"), &args![since]))
    }

    fn recent_audit(&self, limit: u32) -> AppResult<Vec<AuditRow>> {
        self.read(|c| {
            c.query_map(
                sql!("SELECT id, user_id, action, entity_type, entity_id, ip_address, user_agent, request_method,
                        request_path, response_status, execution_time_ms, error_message, created_at, chain_seq,
                        chain_hash FROM pf_audit_log ORDER BY created_at DESC, id DESC", limit ":1"),
                &args![i64::from(limit)],
                chained_row,
            )
        })
    }

    fn audit_event(&self, id: &str) -> AppResult<Option<AuditRow>> {
        self.read(|c| {
            let rows = c.query_map(
                sql!(
                    "SELECT a.id, a.user_id, a.action, a.entity_type, a.entity_id, a.ip_address, a.user_agent,
                     a.request_method, a.request_path, a.response_status, a.execution_time_ms, a.error_message,
                     a.created_at, a.chain_seq, a.chain_hash, u.username
                     FROM pf_audit_log a LEFT JOIN pf_users u ON u.user_id = a.user_id WHERE a.id = :1"
                ),
                &args![id],
                search::named_row,
            )?;
            Ok(rows.into_iter().next())
        })
    }

    fn search_audit(&self, filter: &AuditFilter) -> AppResult<AuditPage> {
        self.read(|c| search::page(c, filter))
    }

    fn audit_facets(&self, filter: &AuditFilter) -> AppResult<AuditFacets> {
        self.read(|c| search::facets(c, filter))
    }

    fn audit_histogram(&self, filter: &AuditFilter) -> AppResult<AuditHistogram> {
        self.read(|c| search::histogram(c, filter, chrono::Utc::now()))
    }

    fn count_audit(&self, filter: &AuditFilter) -> AppResult<i64> {
        let mut c = self.conn(Work::Maintenance, false)?;
        search::count_exact(&mut c, filter)
    }

    fn export_audit(&self, filter: &AuditFilter, each: &mut dyn FnMut(&AuditRow) -> bool) -> AppResult<u64> {
        let mut c = self.conn(Work::Maintenance, false)?;
        search::export(&mut c, filter, each)
    }

    fn chain_pending(&self, after: Option<&str>, limit: u32) -> AppResult<BatchStep> {
        self.conn(Work::Maintenance, true)?.transaction(|c| append::chain_pending(c, after, limit))
    }

    fn sign_checkpoint(&self, key: &[u8], now: Timestamp) -> AppResult<Option<i64>> {
        self.write(|c| chain::sign(c, key, now))
    }

    fn newest_checkpoint(&self) -> AppResult<Option<WitnessMark>> {
        self.read(chain::newest_checkpoint)
    }

    fn verify_audit_chain(
        &self,
        trust: &ChainTrust,
        progress: &mut dyn FnMut(u64, u64) -> bool,
    ) -> AppResult<ChainReport> {
        let seen = trust.seen()?;
        let mut c = self.conn(Work::Maintenance, false)?;
        chain::verify(&mut c, trust.key(), seen.as_ref(), progress)
    }

    fn start_audit_job(&self, kind: AuditJobKind, filter_text: &str, audit: &AuditEntry) -> AppResult<String> {
        self.start_job(kind, filter_text, audit)
    }

    fn run_audit_job(
        &self,
        id: &str,
        kind: AuditJobKind,
        filter: &AuditFilter,
        trust: &ChainTrust,
        audit: &AuditEntry,
    ) -> AppResult<()> {
        self.run_job(id, kind, filter, trust, audit)
    }

    fn audit_job(&self, id: &str) -> AppResult<AuditJob> {
        self.job(id)
    }

    fn last_chain_verify(&self) -> AppResult<Option<AuditJob>> {
        self.last_verify()
    }

    fn scheduled_chain_verify(
        &self,
        every: std::time::Duration,
        trust: &ChainTrust,
        audit: &AuditEntry,
    ) -> AppResult<Option<AuditJob>> {
        self.verify_when_due(every, trust, audit)
    }
}
