//! The CPA PERT reports list as an export: one row a report, the list's columns.

use super::{encode_table, Format};
use pathfinder::pert::ReportSummary;
use pathfinder::AppError;

const COLUMNS: [&str; 12] = [
    "report_id",
    "user_id",
    "username",
    "period_start",
    "period_end",
    "submission_deadline",
    "route",
    "status",
    "employer",
    "position",
    "hours_worked",
    "version",
];

fn cells(r: &ReportSummary) -> [String; 12] {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        r.id.clone(),
        r.user_id.clone(),
        text(&r.username),
        r.period_start.to_string(),
        r.period_end.to_string(),
        r.deadline.map(|d| d.to_string()).unwrap_or_default(),
        text(&r.route),
        r.status.clone(),
        text(&r.employer),
        text(&r.position),
        r.hours_worked.map(|h| h.to_string()).unwrap_or_default(),
        r.version.map(|v| v.to_string()).unwrap_or_default(),
    ]
}

pub fn encode_reports(format: Format, reports: &[ReportSummary], header: bool) -> Result<Vec<u8>, AppError> {
    encode_table(format, &COLUMNS, reports.iter().map(cells), header)
}
