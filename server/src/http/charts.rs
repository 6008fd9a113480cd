//! The charts' endpoints: the data of each, drawn by [`crate::charts`] as SVG.

use super::error::HttpError;
use super::state::AppState;
use crate::charts::{draw_analytics, draw_histogram, draw_pool, draw_storage};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use pathfinder::audit::{AuditFilter, AuditParams};

/// An SVG answer, cached by the browser for `max_age` seconds (`None`: not at all).
fn svg(body: String, max_age: Option<u32>) -> Response {
    let cache = max_age.map_or("no-store".to_string(), |s| format!("private, max-age={s}"));
    ([(header::CONTENT_TYPE, "image/svg+xml".to_string()), (header::CACHE_CONTROL, cache)], body).into_response()
}

/// `GET /charts/audit.svg?<the Audit page's filter>`: its events over time, by outcome.
pub async fn audit(State(st): State<AppState>, Query(params): Query<AuditParams>) -> Result<Response, HttpError> {
    let filter = AuditFilter::from_params(&params.first_page(), chrono::Utc::now())?;
    let histogram = st.db.call(move |s| s.audit_histogram(&filter)).await?;
    Ok(svg(draw_histogram(&histogram)?, Some(60)))
}

/// Which pool chart: the last hour (10 s samples) or day (5 min), and what of it.
#[derive(serde::Deserialize, Default)]
pub struct PoolChart {
    #[serde(default)]
    range: String,
    #[serde(default)]
    series: String,
}

/// `GET /charts/pool.svg?range=hour|day&series=connections|acquire`: this
/// instance's pool from its own samples (no Prometheus needed).
pub async fn pool(State(st): State<AppState>, Query(q): Query<PoolChart>) -> Result<Response, HttpError> {
    let day = q.range == "day";
    let samples = st.pool_history.samples(day);
    let max = st.db.storage().pool_stats().max;
    Ok(svg(draw_pool(&samples, q.series == "acquire", day, max)?, None))
}

/// `GET /charts/storage.svg`: the database's size over the samples kept, with its
/// limit and thresholds, and the five largest tables.
pub async fn storage(State(st): State<AppState>) -> Result<Response, HttpError> {
    let policy = st.storage_policy;
    let series = st.db.call(move |s| s.storage_series(&policy, 5)).await?;
    Ok(svg(draw_storage(&series, &policy)?, Some(60)))
}

/// Which analytics chart, over which range (as the Analytics page's query string).
#[derive(serde::Deserialize, Default)]
pub struct AnalyticsChartQuery {
    #[serde(default)]
    chart: String,
    #[serde(default)]
    range: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// `GET /charts/analytics.svg?chart=active|events|sessions|pages|referrers&range=…`:
/// one of the Analytics page's charts, from the summaries.
pub async fn analytics(
    State(st): State<AppState>,
    Query(q): Query<AnalyticsChartQuery>,
) -> Result<Response, HttpError> {
    use pathfinder::analytics::{AnalyticsChart, AnalyticsParams};
    let chart = AnalyticsChart::parse(&q.chart)?;
    let (from, to) =
        AnalyticsParams { range: q.range, from: q.from, to: q.to }.days(chrono::Utc::now().date_naive())?;
    let view = st.db.call(move |s| s.analytics(from, to)).await?;
    Ok(svg(draw_analytics(&view, chart)?, Some(60)))
}
