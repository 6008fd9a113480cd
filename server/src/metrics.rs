//! Process metrics for `/metrics`: request latency by route template and status,
//! requests in flight, the connection pool under the names SREs know from HikariCP
//! (`pathfinder_db_connections{state}`, `_pending`, `_max`, `_min`,
//! `_acquire_seconds`, `_usage_seconds`, `_timeout_total`; gauges refreshed at scrape
//! time) and sign-in outcomes. Labels never carry user names or emails.

use pathfinder::storage::PoolStats;
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};
use std::sync::LazyLock;
use std::time::Duration;

pub struct Metrics {
    registry: Registry,
    pub request_duration: HistogramVec,
    pub requests_in_flight: IntGauge,
    pub pool_connections: IntGaugeVec,
    pub pool_pending: IntGauge,
    pub pool_max: IntGauge,
    pub pool_min: IntGauge,
    pub pool_acquire: Histogram,
    pub pool_usage: Histogram,
    pub pool_timeouts: IntCounter,
    pub operations: HistogramVec,
    pub logins: IntCounterVec,
    pub users: IntGaugeVec,
    pub sessions_active: IntGauge,
    pub audit_events_24h: IntGauge,
    pub overview_refresh: Histogram,
    pub flag_evaluations: IntCounterVec,
    pub storage: StorageGauges,
    pub audit_write_failures: IntCounter,
    pub audit_read_batch: Histogram,
    pub audit_checkpoint_seq: IntGauge,
    pub audit_witness_seq: IntGauge,
}

/// Database-wide storage, statistics and audit-chain gauges: every instance publishes
/// the same latest sample, so several instances are aggregated with `max()`.
pub struct StorageGauges {
    used: IntGauge,
    limit: IntGauge,
    warning: Gauge,
    critical: Gauge,
    full_in: Gauge,
    sampled: IntGauge,
    interval: IntGauge,
    tables: IntGaugeVec,
    sets: IntGauge,
    statistics: IntGauge,
    verified: IntGauge,
    verify_ok: IntGauge,
    verify_interval: IntGauge,
    backup_managed: IntGauge,
    backup_success: IntGauge,
    backup_verify_ok: IntGauge,
    security_findings: IntGaugeVec,
    wal_bytes: IntGauge,
    wal_behind: IntGauge,
}

fn int_gauge(name: &str, help: &str) -> IntGauge {
    IntGauge::new(name, help).expect("static metric definition")
}

fn gauge(name: &str, help: &str) -> Gauge {
    Gauge::new(name, help).expect("static metric definition")
}

impl StorageGauges {
    fn new() -> StorageGauges {
        StorageGauges {
            used: int_gauge("storage_used_bytes", "Bytes the database takes, at the latest storage sample"),
            limit: int_gauge("storage_limit_bytes", "The storage limit at the latest sample (0: unknown)"),
            warning: gauge("storage_warning_ratio", "Share of the limit at which storage use is a warning"),
            critical: gauge("storage_critical_ratio", "Share of the limit at which storage use is critical"),
            full_in: gauge(
                "storage_full_in_seconds",
                "Seconds until the limit at the last week's growth (-1: not growing or no limit)",
            ),
            sampled: int_gauge("storage_sample_timestamp_seconds", "When the latest storage sample was taken (0: never)"),
            interval: int_gauge("storage_sample_interval_seconds", "How often the storage is sampled"),
            tables: IntGaugeVec::new(
                Opts::new("storage_table_bytes", "Bytes of each shared table with its indexes, at the latest sample"),
                &["table"],
            )
            .expect("static metric definition"),
            sets: int_gauge("storage_user_sets_bytes", "Bytes of all per-user table sets, at the latest sample"),
            statistics: int_gauge(
                "db_statistics_timestamp_seconds",
                "When the optimizer statistics were last gathered successfully (0: never)",
            ),
            verified: int_gauge(
                "audit_verify_timestamp_seconds",
                "When the last audit chain verification finished (0: never)",
            ),
            verify_ok: int_gauge(
                "audit_verify_ok",
                "Whether the last audit chain verification found the chain whole (1), broken or failed (0), or none ran (-1)",
            ),
            verify_interval: int_gauge("audit_verify_interval_seconds", "How often the audit chain is verified"),
            backup_managed: int_gauge(
                "backup_managed",
                "Whether the console takes the backups (1: the embedded SQLite database; 0: Oracle, whose platform does)",
            ),
            backup_success: int_gauge(
                "backup_last_success_timestamp_seconds",
                "When the last backup that finished well finished (0: none)",
            ),
            backup_verify_ok: int_gauge(
                "backup_last_verify_ok",
                "Whether the newest verified backup passed (1), failed (0), or none was verified (-1)",
            ),
            security_findings: IntGaugeVec::new(
                Opts::new("security_findings", "Open findings of the security review, by severity"),
                &["severity"],
            )
            .expect("static metric definition"),
            wal_bytes: int_gauge(
                "sqlite_wal_bytes",
                "The embedded database's write-ahead log on disk after this instance's last checkpoint (0 on Oracle)",
            ),
            wal_behind: int_gauge(
                "sqlite_wal_frames_behind",
                "Frames of the write-ahead log a reader kept from the last checkpoint: it grows while this stays above 0",
            ),
        }
    }

    fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.used.clone()),
            Box::new(self.limit.clone()),
            Box::new(self.warning.clone()),
            Box::new(self.critical.clone()),
            Box::new(self.full_in.clone()),
            Box::new(self.sampled.clone()),
            Box::new(self.interval.clone()),
            Box::new(self.tables.clone()),
            Box::new(self.sets.clone()),
            Box::new(self.statistics.clone()),
            Box::new(self.verified.clone()),
            Box::new(self.verify_ok.clone()),
            Box::new(self.verify_interval.clone()),
            Box::new(self.backup_managed.clone()),
            Box::new(self.backup_success.clone()),
            Box::new(self.backup_verify_ok.clone()),
            Box::new(self.security_findings.clone()),
            Box::new(self.wal_bytes.clone()),
            Box::new(self.wal_behind.clone()),
        ]
    }
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let registry = Registry::new_custom(Some("pathfinder".into()), None).expect("static metric prefix is valid");
    let m = Metrics {
        request_duration: HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by route template")
                .buckets(vec![0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            &["route", "method", "status"],
        )
        .expect("static metric definition"),
        requests_in_flight: IntGauge::new("http_requests_in_flight", "HTTP requests being served")
            .expect("static metric definition"),
        pool_connections: IntGaugeVec::new(
            Opts::new("db_connections", "Database pool connections by state (active: in use, idle)"),
            &["state"],
        )
        .expect("static metric definition"),
        pool_pending: IntGauge::new("db_connections_pending", "Callers waiting for a database connection")
            .expect("static metric definition"),
        pool_max: IntGauge::new("db_connections_max", "The most connections the pool opens")
            .expect("static metric definition"),
        pool_min: IntGauge::new("db_connections_min", "The connections the pool keeps open when idle")
            .expect("static metric definition"),
        pool_acquire: Histogram::with_opts(
            HistogramOpts::new("db_connections_acquire_seconds", "Time to get a database connection from the pool")
                .buckets(POOL_BUCKETS.to_vec()),
        )
        .expect("static metric definition"),
        pool_usage: Histogram::with_opts(
            HistogramOpts::new("db_connections_usage_seconds", "Time a database connection is held before it returns")
                .buckets(POOL_BUCKETS.to_vec()),
        )
        .expect("static metric definition"),
        operations: HistogramVec::new(
            HistogramOpts::new(
                "db_operation_seconds",
                "Storage operations by module and function (never their arguments), connection in hand",
            )
            .buckets(POOL_BUCKETS.to_vec()),
            &["module", "operation"],
        )
        .expect("static metric definition"),
        pool_timeouts: IntCounter::new(
            "db_connections_timeout_total",
            "Requests for a database connection that timed out waiting",
        )
        .expect("static metric definition"),
        logins: IntCounterVec::new(Opts::new("logins_total", "Sign-in attempts by outcome"), &["outcome"])
            .expect("static metric definition"),
        users: IntGaugeVec::new(
            Opts::new("users", "Pathfinder users by account status (refreshed in the background)"),
            &["status"],
        )
        .expect("static metric definition"),
        sessions_active: IntGauge::new(
            "sessions_active",
            "Unexpired, unrevoked sessions (refreshed in the background)",
        )
        .expect("static metric definition"),
        audit_events_24h: IntGauge::new(
            "audit_events_24h",
            "Audit events in the last 24 hours (refreshed in the background)",
        )
        .expect("static metric definition"),
        overview_refresh: Histogram::with_opts(
            HistogramOpts::new("overview_refresh_seconds", "Time to recompute the overview counts")
                .buckets(vec![0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
        )
        .expect("static metric definition"),
        flag_evaluations: IntCounterVec::new(
            Opts::new("flag_evaluations_total", "Flag evaluations of the OFREP API by reason and outcome"),
            &["reason", "outcome"],
        )
        .expect("static metric definition"),
        storage: StorageGauges::new(),
        audit_write_failures: IntCounter::new(
            "audit_write_failures_total",
            "Audit rows that could not be written (the change they record failed with them)",
        )
        .expect("static metric definition"),
        audit_read_batch: Histogram::with_opts(
            HistogramOpts::new(
                "audit_read_batch_rows",
                "Read rows (reads of personal data) committed together under one step of the audit chain's head",
            )
            .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0]),
        )
        .expect("static metric definition"),
        audit_checkpoint_seq: int_gauge(
            "audit_checkpoint_seq",
            "The sequence of the newest signed audit checkpoint this instance saw in the database (0: none yet); \
             Prometheus keeps what it was, so a chain cut shows as a drop",
        ),
        audit_witness_seq: int_gauge(
            "audit_witness_seq",
            "The newest checkpoint sequence in this instance's witness outside the database (0: none)",
        ),
        registry,
    };
    let mut collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
        Box::new(m.operations.clone()),
        Box::new(m.flag_evaluations.clone()),
        Box::new(m.users.clone()),
        Box::new(m.sessions_active.clone()),
        Box::new(m.audit_events_24h.clone()),
        Box::new(m.audit_checkpoint_seq.clone()),
        Box::new(m.audit_witness_seq.clone()),
        Box::new(m.overview_refresh.clone()),
        Box::new(m.request_duration.clone()),
        Box::new(m.requests_in_flight.clone()),
        Box::new(m.pool_connections.clone()),
        Box::new(m.pool_pending.clone()),
        Box::new(m.pool_max.clone()),
        Box::new(m.pool_min.clone()),
        Box::new(m.pool_acquire.clone()),
        Box::new(m.pool_usage.clone()),
        Box::new(m.pool_timeouts.clone()),
        Box::new(m.logins.clone()),
        Box::new(m.audit_write_failures.clone()),
        Box::new(m.audit_read_batch.clone()),
    ];
    collectors.extend(m.storage.collectors());
    for c in collectors {
        m.registry.register(c).expect("each metric registered once");
    }
    // Show every outcome from the start, so that rate() works before the first failure.
    for outcome in LOGIN_OUTCOMES {
        m.logins.with_label_values(&[outcome]);
    }
    for (reason, outcome) in EVALUATION_OUTCOMES {
        m.flag_evaluations.with_label_values(&[reason, outcome]);
    }
    m
});

pub const LOGIN_OUTCOMES: [&str; 3] = ["success", "failure", "locked"];

/// The evaluation API's reasons and outcomes, shown from the start (as above).
const EVALUATION_OUTCOMES: [(&str, &str); 8] = [
    ("STATIC", "success"),
    ("TARGETING_MATCH", "success"),
    ("ERROR", "unauthorized"),
    ("ERROR", "forbidden"),
    ("ERROR", "rate_limited"),
    ("ERROR", "invalid_context"),
    ("ERROR", "flag_not_found"),
    ("ERROR", "error"),
];

/// Pool times from 50 µs (a free SQLite connection) to 30 s.
const POOL_BUCKETS: [f64; 12] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0, 30.0];

pub fn observe_pool_acquire(waited: Duration) {
    METRICS.pool_acquire.observe(waited.as_secs_f64());
}

pub fn observe_pool_usage(held: Duration) {
    METRICS.pool_usage.observe(held.as_secs_f64());
}

pub fn count_pool_timeout() {
    METRICS.pool_timeouts.inc();
}

/// A collected histogram's cumulative counts by upper bound, `+Inf` last.
fn buckets(h: &prometheus::proto::Histogram) -> Vec<(f64, u64)> {
    let mut out: Vec<(f64, u64)> = h.get_bucket().iter().map(|b| (b.upper_bound(), b.cumulative_count())).collect();
    out.push((f64::INFINITY, h.get_sample_count()));
    out
}

/// A histogram's counts now (see [`buckets`]).
fn cumulative(h: &Histogram) -> Vec<(f64, u64)> {
    use prometheus::core::Collector;
    let families = h.collect();
    families.first().and_then(|f| f.get_metric().first()).map_or_else(Vec::new, |m| buckets(m.get_histogram()))
}

/// The pool's acquire and usage histograms now (cumulative since the start), and
/// its timeouts so far: what the pool sampler takes differences of.
pub fn pool_histograms() -> (Vec<(f64, u64)>, Vec<(f64, u64)>, u64) {
    (cumulative(&METRICS.pool_acquire), cumulative(&METRICS.pool_usage), METRICS.pool_timeouts.get())
}

/// One flag evaluation of the OFREP API: `reason` is the protocol's (STATIC,
/// TARGETING_MATCH, or ERROR), `outcome` one of a fixed few; never who asked.
pub fn count_evaluation(reason: &'static str, outcome: &'static str) {
    count_evaluations(reason, outcome, 1);
}

/// `n` evaluations of one reason and outcome (a bulk answer counts each pair once).
pub fn count_evaluations(reason: &'static str, outcome: &'static str, n: u64) {
    METRICS.flag_evaluations.with_label_values(&[reason, outcome]).inc_by(n);
}

pub fn count_audit_write_failure() {
    METRICS.audit_write_failures.inc();
}

/// How many read rows one transaction committed (`storage::audit::reads`).
pub fn observe_read_batch(rows: usize) {
    METRICS.audit_read_batch.observe(rows as f64);
}

/// Publishes the latest storage sample, the statistics' last run and the last chain
/// verification (the upkeep job, every minute on every instance).
pub fn publish_upkeep(
    page: &pathfinder::usage::StoragePage,
    verify: Option<&pathfinder::audit::AuditJob>,
    verify_every: Duration,
    backups: &[pathfinder::backup::Backup],
) {
    let g = &METRICS.storage;
    let seconds = |t: Option<pathfinder::dto::Timestamp>| t.map_or(0, |t| t.timestamp());
    g.used.set(page.used);
    g.limit.set(page.limit.unwrap_or(0));
    g.warning.set(f64::from(page.policy.warning_percent) / 100.0);
    g.critical.set(f64::from(page.policy.critical_percent) / 100.0);
    let full_in = page.growth.and_then(|gr| gr.full_at).map(|t| (t - chrono::Utc::now()).num_seconds().max(0));
    g.full_in.set(full_in.map_or(-1.0, |s| s as f64));
    g.sampled.set(seconds(page.sampled_at));
    g.interval.set(i64::from(page.policy.sample_every_minutes) * 60);
    // The latest sample's tables; a table it no longer has loses its series (set
    // first, then removed: a scrape in between never sees the others missing).
    for t in &page.tables {
        g.tables.with_label_values(&[t.name.as_str()]).set(t.total());
    }
    use prometheus::core::Collector;
    let exported: Vec<String> = g
        .tables
        .collect()
        .iter()
        .flat_map(|family| family.get_metric())
        .filter_map(|m| m.get_label().first().map(|l| l.value().to_string()))
        .collect();
    for gone in exported.iter().filter(|name| !page.tables.iter().any(|t| &t.name == *name)) {
        let _ = g.tables.remove_label_values(&[gone.as_str()]);
    }
    g.sets.set(page.sets_bytes);
    let gathered = page.last_statistics.status.as_deref() == Some("ok");
    g.statistics.set(if gathered { seconds(page.last_statistics.finished_at) } else { g.statistics.get() });
    g.verified.set(seconds(verify.and_then(|v| v.finished_at)));
    g.verify_interval.set(verify_every.as_secs() as i64);
    g.backup_managed.set(i64::from(page.backend == "sqlite"));
    g.backup_success.set(seconds(backups.iter().find(|b| b.status == "ok").and_then(|b| b.finished_at)));
    g.backup_verify_ok.set(match backups.iter().find_map(|b| b.verify_status.as_deref()) {
        None => -1,
        Some(status) => i64::from(status == "ok"),
    });
    g.verify_ok.set(match verify.map(|v| v.outcome.as_deref()) {
        None => -1,
        Some(Some("ok")) => 1,
        Some(_) => 0,
    });
}

/// Publishes the write-ahead log as this instance's last checkpoint left it.
pub fn publish_log(log: pathfinder::usage::LogCheckpoint) {
    METRICS.storage.wal_bytes.set(log.bytes as i64);
    METRICS.storage.wal_behind.set(log.behind);
}

/// Publishes the security review's open findings by severity (every severity, 0
/// included, so that an alert on `high` has a series to read).
pub fn publish_security(open: [u64; 3]) {
    for (severity, n) in pathfinder::security::Severity::ALL.into_iter().zip(open) {
        METRICS.storage.security_findings.with_label_values(&[severity.as_str()]).set(n as i64);
    }
}

pub fn count_login(outcome: &'static str) {
    METRICS.logins.with_label_values(&[outcome]).inc();
}

/// Publishes freshly computed overview counts.
pub fn publish_overview(o: &pathfinder::dto::Overview, took: Duration) {
    // Labels only from the known statuses (a foreign value must not add series).
    let mut other = 0;
    for status in pathfinder::filter::ACCOUNT_STATUSES {
        METRICS.users.with_label_values(&[status]).set(0);
    }
    for s in &o.users_by_status {
        if pathfinder::filter::ACCOUNT_STATUSES.contains(&s.status.as_str()) {
            METRICS.users.with_label_values(&[s.status.as_str()]).set(s.count);
        } else {
            other += s.count;
        }
    }
    METRICS.users.with_label_values(&["other"]).set(other);
    METRICS.sessions_active.set(o.active_sessions);
    METRICS.audit_events_24h.set(o.audit_events_24h);
    METRICS.overview_refresh.observe(took.as_secs_f64());
}

/// Refreshes the pool gauges and renders the text exposition format.
pub fn render(pool: PoolStats) -> String {
    let g = &METRICS.pool_connections;
    g.with_label_values(&["active"]).set(pool.in_use.into());
    g.with_label_values(&["idle"]).set(pool.idle.into());
    METRICS.pool_pending.set(pool.waiters.into());
    METRICS.pool_max.set(pool.max.into());
    METRICS.pool_min.set(pool.min.into());
    let mut buf = Vec::new();
    if let Err(e) = prometheus::TextEncoder::new().encode(&METRICS.registry.gather(), &mut buf) {
        tracing::error!(error = %e, "encoding metrics");
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Calls slower than this are logged (`PF_SLOW_QUERY_MS`; 0: none).
static SLOW_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(250);

pub fn set_slow_query_ms(ms: u64) {
    SLOW_MS.store(ms, std::sync::atomic::Ordering::Relaxed);
}

/// The slowest calls of the last hour, at most [`SLOWEST`]; `floor` is the quickest
/// of them once full, so a quicker call returns without taking the lock.
struct Slowest {
    calls: std::sync::Mutex<Vec<pathfinder::queries::SlowCall>>,
    floor: std::sync::atomic::AtomicU64,
}

const SLOWEST: usize = 20;
static SLOW_CALLS: LazyLock<Slowest> =
    LazyLock::new(|| Slowest { calls: Default::default(), floor: Default::default() });

impl Slowest {
    /// Drops calls older than an hour, keeps the slowest, and sets the floor.
    fn tidy(&self, calls: &mut Vec<pathfinder::queries::SlowCall>, now_ms: i64) {
        calls.retain(|c| now_ms - c.at_ms < 3_600_000);
        calls.sort_by(|a, b| b.micros.cmp(&a.micros));
        calls.truncate(SLOWEST);
        let floor = if calls.len() < SLOWEST { 0 } else { calls.last().map_or(0, |c| c.micros) };
        self.floor.store(floor, std::sync::atomic::Ordering::Relaxed);
    }
}

/// One storage operation done: timed by its name, logged when slow, kept when
/// among the slowest of the hour.
pub fn observe_operation(module: &'static str, operation: &'static str, took: Duration) {
    use std::sync::atomic::Ordering;
    METRICS.operations.with_label_values(&[module, operation]).observe(took.as_secs_f64());
    let micros = took.as_micros() as u64;
    let slow = SLOW_MS.load(Ordering::Relaxed);
    if slow > 0 && micros >= slow * 1000 {
        tracing::warn!(module, operation, ms = micros / 1000, "slow storage operation");
    }
    if micros > SLOW_CALLS.floor.load(Ordering::Relaxed) {
        if let Ok(mut calls) = SLOW_CALLS.calls.lock() {
            let now_ms = chrono::Utc::now().timestamp_millis();
            calls.push(pathfinder::queries::SlowCall {
                module: module.into(),
                operation: operation.into(),
                micros,
                at_ms: now_ms,
            });
            SLOW_CALLS.tidy(&mut calls, now_ms);
        }
    }
}

/// Every operation timed so far, the most total time first, and the slowest calls.
pub fn operations() -> pathfinder::queries::QueriesPage {
    use prometheus::core::Collector;
    let mut operations: Vec<(f64, pathfinder::queries::OperationStats)> = METRICS
        .operations
        .collect()
        .iter()
        .flat_map(|family| family.get_metric())
        .map(|m| {
            let label = |name: &str| {
                m.get_label().iter().find(|l| l.name() == name).map(|l| l.value().to_string()).unwrap_or_default()
            };
            let h = m.get_histogram();
            let stats = pathfinder::queries::OperationStats {
                module: label("module"),
                operation: label("operation"),
                count: h.get_sample_count(),
                times: pathfinder::pool::Percentiles::of(&buckets(h)),
            };
            (h.get_sample_sum(), stats)
        })
        .collect();
    operations.sort_by(|a, b| b.0.total_cmp(&a.0));
    let slowest = match SLOW_CALLS.calls.lock() {
        Ok(mut calls) => {
            SLOW_CALLS.tidy(&mut calls, chrono::Utc::now().timestamp_millis());
            calls.clone()
        }
        Err(_) => Vec::new(),
    };
    pathfinder::queries::QueriesPage {
        operations: operations.into_iter().map(|(_, s)| s).collect(),
        slowest,
        slow_ms: SLOW_MS.load(std::sync::atomic::Ordering::Relaxed),
    }
}
