-- The reports list by period (issue 26): a period filter reads reports by their
-- period's start, latest first, and stops at the earliest start a report that
-- overlaps can have: the filter's start less the longest period, which the
-- second index answers without a scan.
CREATE INDEX idx_cpa_reports_period ON pf_cpa_pert_reports(report_period_start, id);
CREATE INDEX idx_cpa_reports_length ON pf_cpa_pert_reports(report_period_end - report_period_start);
