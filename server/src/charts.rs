//! Charts drawn by the server as SVG with `plotters` (no font feature: labels are
//! SVG `<text>` whose widths plotters estimates, so they are few and short). The
//! browser gets an image: no chart code in the wasm bundle.

use pathfinder::audit::AuditHistogram;
use pathfinder::usage::bytes_text;
use pathfinder::AppError;
use plotters::prelude::*;

const SIZE: (u32, u32) = (960, 240);
const OK: RGBColor = RGBColor(0x93, 0xb4, 0xff);
const CLIENT_ERROR: RGBColor = RGBColor(0xf7, 0x90, 0x09);
const SERVER_ERROR: RGBColor = RGBColor(0xd9, 0x2d, 0x20);

fn failed(e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("drawing a chart: {e}"))
}

/// A chart with nothing to draw: one line, centred, saying why.
fn notice(text: &str) -> Result<String, AppError> {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let style = ("sans-serif", 16).into_text_style(&root).pos(Pos::new(HPos::Center, VPos::Center));
        root.draw(&Text::new(text, (SIZE.0 as i32 / 2, SIZE.1 as i32 / 2), style)).map_err(failed)?;
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

/// The series' legend, in the upper left on a light ground.
fn legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
) -> Result<(), AppError> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.2))
        .label_font(("sans-serif", 12))
        .draw()
        .map_err(failed)
}

type TimeChart<'a, DB> = ChartContext<
    'a,
    DB,
    plotters::coord::cartesian::Cartesian2d<
        plotters::coord::types::RangedCoordi64,
        plotters::coord::types::RangedCoordf64,
    >,
>;

/// Lines over time: x in milliseconds since the epoch, labelled in UTC with
/// `x_format`; y from 0 to `top`, labelled `y_desc` with `y_decimals`. Both axes named.
fn over_time<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    (x0, x1): (i64, i64),
    top: f64,
    (x_format, y_desc, y_decimals): (&'static str, &str, usize),
) -> Result<TimeChart<'a, DB>, AppError> {
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 14))
        .margin(8)
        .x_label_area_size(24)
        .y_label_area_size(56)
        .build_cartesian_2d(x0..x1, 0.0..top)
        .map_err(failed)?;
    let label =
        |ms: &i64| chrono::DateTime::from_timestamp_millis(*ms).unwrap_or_default().format(x_format).to_string();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(6)
        .y_labels(5)
        .x_label_formatter(&label)
        .y_label_formatter(&|v| format!("{v:.y_decimals$}"))
        .y_desc(y_desc)
        .x_desc("UTC")
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(failed)?;
    Ok(chart)
}

/// Stacked bars per bucket: 2xx (and others), 4xx, 5xx.
pub fn draw_histogram(h: &AuditHistogram) -> Result<String, AppError> {
    let (Some(first), Some(last)) = (h.buckets.first(), h.buckets.last()) else {
        return notice("No events");
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let unit = if h.bucket == "hour" { 3_600_000 } else { 86_400_000 };
        let (x0, x1) = (first.0.timestamp_millis(), last.0.timestamp_millis() + unit);
        let top = h.buckets.iter().map(|(_, n)| n.iter().sum::<i64>()).max().unwrap_or(1).max(1);
        let caption = match (h.among_newest, h.bucket.as_str()) {
            (Some(n), b) => format!("Events per {b}, among the newest {n}"),
            (None, b) => format!("Events per {b}"),
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(24)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, 0..top + top / 10 + 1)
            .map_err(failed)?;
        let hourly = h.bucket == "hour";
        let label = move |ms: &i64| {
            let t = chrono::DateTime::from_timestamp_millis(*ms).unwrap_or_default();
            if hourly {
                t.format("%m-%d %H:00").to_string()
            } else {
                t.format("%Y-%m-%d").to_string()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(6)
            .y_labels(5)
            .x_label_formatter(&label)
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(failed)?;
        let width = (unit * 9 / 10).max(1);
        for (slot, (color, name)) in
            [(OK, "2xx and other"), (CLIENT_ERROR, "4xx"), (SERVER_ERROR, "5xx")].into_iter().enumerate()
        {
            chart
                .draw_series(h.buckets.iter().filter(|(_, n)| n[slot] > 0).map(|(t, n)| {
                    let x = t.timestamp_millis();
                    let below: i64 = n[..slot].iter().sum();
                    Rectangle::new([(x, below), (x + width, below + n[slot])], color.filled())
                }))
                .map_err(failed)?
                .label(name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
        }
        legend(&mut chart)?;
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

/// Lines over time: connections active, idle and waiting under the pool's
/// maximum; or acquire time p50/p95/p99 in milliseconds.
pub fn draw_pool(
    samples: &[pathfinder::pool::PoolSample],
    acquire: bool,
    day: bool,
    max: u32,
) -> Result<String, AppError> {
    let what = if acquire { "Acquire time, ms" } else { "Connections" };
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return notice(&format!("{what}: no samples yet (one every 10 s)"));
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let span = if day { "the last 24 hours (5-minute maxima)" } else { "the last hour (10-second samples)" };
        let series: Vec<(&str, RGBColor, Box<dyn Fn(&pathfinder::pool::PoolSample) -> f64>)> = if acquire {
            vec![
                ("p50", OK, Box::new(|s| s.acquire.p50 as f64 / 1000.0)),
                ("p95", CLIENT_ERROR, Box::new(|s| s.acquire.p95 as f64 / 1000.0)),
                ("p99", SERVER_ERROR, Box::new(|s| s.acquire.p99 as f64 / 1000.0)),
            ]
        } else {
            vec![
                ("active", OK, Box::new(|s| s.active.into())),
                ("idle", RGBColor(0x98, 0xa2, 0xb3), Box::new(|s| s.idle.into())),
                ("waiting", SERVER_ERROR, Box::new(|s| s.pending.into())),
            ]
        };
        let highest = samples.iter().flat_map(|s| series.iter().map(move |(_, _, f)| f(s))).fold(0.0, f64::max);
        let top = if acquire { highest.max(0.1) * 1.1 } else { f64::from(max).max(highest) + 1.0 };
        let (x0, x1) = (first.at_ms, last.at_ms.max(first.at_ms + 1));
        let x_format = if day { "%m-%d %H:%M" } else { "%H:%M:%S" };
        let mut chart = over_time(
            &root,
            &format!("{what} over {span}"),
            (x0, x1),
            top,
            (x_format, what, usize::from(acquire) * 2),
        )?;
        if !acquire {
            chart
                .draw_series(LineSeries::new([(x0, f64::from(max)), (x1, f64::from(max))], BLACK.mix(0.4)))
                .map_err(failed)?
                .label(format!("max {max}"))
                .legend(|(x, y)| PathElement::new([(x, y), (x + 10, y)], BLACK.mix(0.4)));
        }
        for (name, color, f) in &series {
            let color = *color;
            chart
                .draw_series(LineSeries::new(samples.iter().map(|s| (s.at_ms, f(s))), color.stroke_width(2)))
                .map_err(failed)?
                .label(*name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 10, y)], color.stroke_width(2)));
        }
        legend(&mut chart)?;
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

/// At most this many points per line: a month of 15-minute samples is 2,880.
const MOST_POINTS: usize = 400;

/// Lines over time: `used` and each table, in the unit that suits the largest; the
/// `limit` and its warning and critical shares as dashed lines.
pub fn draw_storage(
    series: &[(String, Vec<(i64, i64)>)],
    policy: &pathfinder::usage::StoragePolicy,
) -> Result<String, AppError> {
    let used = series.iter().find(|(n, _)| n == "used").map(|(_, p)| p.as_slice()).unwrap_or_default();
    let (Some(first), Some(last)) = (used.first(), used.last()) else {
        return notice("Storage: no samples yet");
    };
    let highest = series.iter().filter(|(n, _)| n != "limit").flat_map(|(_, p)| p.iter().map(|p| p.1)).max();
    let highest = highest.unwrap_or(0).max(1);
    // The limit's lines when its warning share is in sight; a far limit would flatten
    // the growth to a line along the bottom, so the caption names it instead.
    let limit = series.iter().find(|(n, _)| n == "limit").and_then(|(_, p)| p.last()).map(|p| p.1);
    let near = limit.filter(|l| l * i64::from(policy.warning_percent) / 100 <= highest * 2);
    let caption = match (limit, near) {
        (Some(l), None) => format!("Storage over the samples kept (limit {}, off the scale)", bytes_text(l)),
        _ => "Storage over the samples kept".to_string(),
    };
    let highest = highest.max(near.unwrap_or(0));
    let (unit, scale) = [("TiB", 1i64 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        .into_iter()
        .find(|(_, s)| highest >= *s)
        .unwrap_or(("B", 1));
    let y = |b: i64| b as f64 / scale as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let (x0, x1) = (first.0, last.0.max(first.0 + 1));
        let mut chart = over_time(&root, &caption, (x0, x1), y(highest) * 1.1, ("%m-%d %H:%M", unit, 1))?;
        if let Some(limit) = near {
            let lines = [
                ("limit".to_string(), 100, BLACK.mix(0.6)),
                (format!("critical {} %", policy.critical_percent), policy.critical_percent, SERVER_ERROR.mix(0.8)),
                (format!("warning {} %", policy.warning_percent), policy.warning_percent, CLIENT_ERROR.mix(0.8)),
            ];
            for (name, percent, color) in lines {
                let at = y(limit) * f64::from(percent) / 100.0;
                chart
                    .draw_series(DashedLineSeries::new([(x0, at), (x1, at)], 6, 4, color.into()))
                    .map_err(failed)?
                    .label(name)
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 10, y)], color));
            }
        }
        let palette = [OK, RGBColor(0x12, 0xb7, 0x6a), RGBColor(0x7a, 0x5a, 0xf8), RGBColor(0x98, 0xa2, 0xb3)];
        let tables = series.iter().filter(|(n, _)| n != "used" && n != "limit");
        let lines = std::iter::once(("all".to_string(), used, RGBColor(0x1d, 0x29, 0x39), 3))
            .chain(tables.zip(palette.iter().cycle()).map(|((n, p), c)| (n.clone(), p.as_slice(), *c, 2)));
        for (name, points, color, width) in lines {
            let step = points.len().div_ceil(MOST_POINTS).max(1);
            let thinned = points.iter().step_by(step).chain(points.last().filter(|_| points.len() % step != 1));
            chart
                .draw_series(LineSeries::new(thinned.map(|p| (p.0, y(p.1))), color.stroke_width(width)))
                .map_err(failed)?
                .label(name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 10, y)], color.stroke_width(2)));
        }
        legend(&mut chart)?;
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

/// Colours of the analytics' lines, in turn.
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x1d, 0x4e, 0xd8),
    RGBColor(0xf7, 0x90, 0x09),
    RGBColor(0x12, 0xb7, 0x6a),
    RGBColor(0xd9, 0x2d, 0x20),
    RGBColor(0x7a, 0x5a, 0xf8),
    RGBColor(0x0e, 0x93, 0x84),
    RGBColor(0xdd, 0x25, 0x90),
    RGBColor(0x98, 0xa2, 0xb3),
    RGBColor(0x86, 0x4c, 0x0e),
    RGBColor(0x1d, 0x29, 0x39),
];

/// One of the Analytics page's charts over its range: lines by day (UTC) for the
/// active users, the events of each type and the sessions; bars for the top pages
/// and referrers.
pub fn draw_analytics(
    view: &pathfinder::analytics::AnalyticsView,
    chart: pathfinder::analytics::AnalyticsChart,
) -> Result<String, AppError> {
    use pathfinder::analytics::AnalyticsChart as C;
    let at = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc().timestamp_millis();
    let lines: Vec<(String, Vec<(i64, i64)>)> = match chart {
        C::Active => vec![
            ("daily".to_string(), view.days.iter().map(|d| (at(d.day), d.daily_active)).collect()),
            ("weekly".to_string(), view.days.iter().map(|d| (at(d.day), d.weekly_active)).collect()),
            ("monthly".to_string(), view.days.iter().map(|d| (at(d.day), d.monthly_active)).collect()),
        ],
        C::Events => view
            .event_types
            .iter()
            .enumerate()
            .map(|(k, t)| (t.clone(), view.days.iter().map(|d| (at(d.day), d.events[k])).collect()))
            .collect(),
        C::Sessions => vec![("sessions".to_string(), view.days.iter().map(|d| (at(d.day), d.sessions)).collect())],
        C::Pages => return draw_top(chart.title(), &view.top_pages, "Page views"),
        C::Referrers => return draw_top(chart.title(), &view.top_referrers, "Events"),
    };
    let highest = lines.iter().flat_map(|(_, p)| p.iter().map(|p| p.1)).max().unwrap_or(0);
    if highest == 0 {
        return notice(&format!("{}: nothing counted from {} to {}", chart.title(), view.from, view.to));
    }
    let (x0, x1) = (at(view.from), at(view.to).max(at(view.from) + 86_400_000));
    let y_desc = if chart == C::Active {
        "People"
    } else if chart == C::Sessions {
        "Sessions"
    } else {
        "Events"
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let caption = format!("{} from {} to {}", chart.title(), view.from, view.to);
        let mut c = over_time(&root, &caption, (x0, x1), highest as f64 * 1.15, ("%m-%d", y_desc, 0))?;
        for ((name, points), color) in lines.iter().zip(PALETTE.iter().cycle()) {
            let color = *color;
            c.draw_series(LineSeries::new(points.iter().map(|p| (p.0, p.1 as f64)), color.stroke_width(2)))
                .map_err(failed)?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 10, y)], color.stroke_width(2)));
        }
        legend(&mut c)?;
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

/// Horizontal bars, the largest on top, each named at its left.
fn draw_top(title: &str, rows: &[(String, i64)], x_desc: &str) -> Result<String, AppError> {
    let Some(highest) = rows.iter().map(|r| r.1).max().filter(|h| *h > 0) else {
        return notice(&format!("{title}: nothing counted in this range"));
    };
    let n = rows.len() as i32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let mut c = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(24)
            .y_label_area_size(200)
            .build_cartesian_2d(0f64..highest as f64 * 1.1, (0..n).into_segmented())
            .map_err(failed)?;
        // Row 0 at the top: the largest first.
        let name = |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(i) => rows.get((n - 1 - i) as usize).map(|r| r.0.clone()).unwrap_or_default(),
            _ => String::new(),
        };
        c.configure_mesh()
            .disable_y_mesh()
            .y_labels(rows.len())
            .y_label_formatter(&name)
            .x_labels(5)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .x_desc(x_desc)
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(failed)?;
        c.draw_series(rows.iter().enumerate().map(|(i, (_, v))| {
            let row = n - 1 - i as i32;
            let mut bar = Rectangle::new(
                [(0.0, SegmentValue::Exact(row)), (*v as f64, SegmentValue::Exact(row + 1))],
                OK.filled(),
            );
            bar.set_margin(3, 3, 0, 0);
            bar
        }))
        .map_err(failed)?;
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_analytics_charts_draw_lines_bars_and_labelled_axes() {
        use pathfinder::analytics::{AnalyticsChart, AnalyticsDay, AnalyticsView};
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 1, d).unwrap();
        let view = AnalyticsView {
            from: day(1),
            to: day(3),
            event_types: vec!["page_view".into(), "job_search".into()],
            days: (1..=3)
                .map(|d| AnalyticsDay {
                    day: day(d),
                    daily_active: 10 * i64::from(d),
                    weekly_active: 20 * i64::from(d),
                    monthly_active: 30 * i64::from(d),
                    sessions: 5,
                    events: vec![7, 3],
                })
                .collect(),
            top_pages: vec![("/jobs".into(), 40), ("/".into(), 12)],
            top_referrers: vec![],
            counted_until: None,
            events_counted: 30,
        };
        let active = draw_analytics(&view, AnalyticsChart::Active).unwrap();
        for text in
            ["Active users from 2026-01-01 to 2026-01-03", "\nUTC\n", "\nPeople\n", "daily", "weekly", "monthly"]
        {
            assert!(active.contains(text), "{text}");
        }
        // Each line in its colour, and its legend swatch.
        for color in ["#1D4ED8", "#F79009", "#12B76A"] {
            assert_eq!(active.matches(&format!("stroke=\"{color}\"")).count(), 2, "{color}: {active}");
        }
        let events = draw_analytics(&view, AnalyticsChart::Events).unwrap();
        assert!(events.contains("page_view") && events.contains("job_search") && events.contains("\nEvents\n"));
        let pages = draw_analytics(&view, AnalyticsChart::Pages).unwrap();
        assert!(pages.contains("/jobs") && pages.contains("\nPage views\n"), "{pages}");
        assert_eq!(pages.matches(&format!("fill=\"{}\"", "#93B4FF")).count(), 2, "a bar a page");
        let none = draw_analytics(&view, AnalyticsChart::Referrers).unwrap();
        assert!(none.contains("nothing counted"));
    }

    #[test]
    fn a_histogram_draws_bars_labels_and_a_legend() {
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 1, d).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc();
        let h = AuditHistogram {
            buckets: vec![(day(1), [10, 2, 1]), (day(2), [0, 0, 0]), (day(5), [40, 0, 3])],
            bucket: "day".into(),
            among_newest: None,
        };
        let svg = draw_histogram(&h).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..100]);
        // One bar per non-empty count, and one legend swatch per series.
        let fills = |color: &str| svg.matches(&format!("fill=\"{color}\"")).count();
        assert_eq!((fills("#93B4FF"), fills("#F79009"), fills("#D92D20")), (3, 2, 3), "{svg}");
        for text in ["2026-01-0", "2xx and other", "4xx", "5xx", "Events per day"] {
            assert!(svg.contains(text), "{text}");
        }
        let empty = draw_histogram(&AuditHistogram::default()).unwrap();
        assert!(empty.contains("No events"));
    }

    #[test]
    fn the_pool_charts_draw_lines_with_labelled_axes_and_a_legend() {
        use pathfinder::pool::{Percentiles, PoolSample};
        let samples: Vec<PoolSample> = (0..30)
            .map(|i| PoolSample {
                at_ms: 1_764_000_000_000 + i * 10_000,
                open: 4,
                active: (i % 4) as u32,
                idle: 4 - (i % 4) as u32,
                pending: u32::from(i == 20),
                acquire: Percentiles { p50: 50, p95: 200, p99: 1_500 },
                ..Default::default()
            })
            .collect();
        let svg = draw_pool(&samples, false, false, 4).unwrap();
        assert!(svg.starts_with("<svg"));
        for text in ["Connections over the last hour", "active", "idle", "waiting", "max 4", "UTC", "16:00:"] {
            assert!(svg.contains(text), "{text} in {svg}");
        }
        // Each series is a line and a legend swatch in its colour.
        let strokes = |color: &str| svg.matches(&format!("stroke=\"{color}\"")).count();
        assert_eq!((strokes("#93B4FF"), strokes("#98A2B3"), strokes("#D92D20")), (2, 2, 2), "{svg}");
        let svg = draw_pool(&samples, true, true, 4).unwrap();
        for text in ["Acquire time, ms over the last 24 hours", "p50", "p95", "p99"] {
            assert!(svg.contains(text), "{text}");
        }
        assert!(draw_pool(&[], false, false, 4).unwrap().contains("no samples yet"));
    }

    #[test]
    fn the_storage_chart_draws_the_whole_its_tables_and_its_thresholds() {
        let day = 86_400_000;
        let gib = 1i64 << 30;
        let points = |base: i64| (0..3_000).map(|i| (1_764_000_000_000 + i * day / 96, base + i * 1_000_000)).collect();
        let series = vec![
            ("used".to_string(), points(3 * gib)),
            ("limit".to_string(), vec![(1_764_000_000_000, 10 * gib)]),
            ("pf_audit_log".to_string(), points(2 * gib)),
            ("pf_users".to_string(), points(gib / 2)),
        ];
        let svg = draw_storage(&series, &pathfinder::usage::StoragePolicy::default()).unwrap();
        assert!(svg.starts_with("<svg"));
        for text in [
            "Storage over the samples kept",
            "GiB",
            "UTC",
            "all",
            "pf_audit_log",
            "pf_users",
            "limit",
            "warning 80 %",
            "critical 90 %",
        ] {
            assert!(svg.contains(text), "{text}");
        }
        // 3,000 samples drawn as at most 400 points a line (and its last one).
        let points =
            |line: &str| line.split("points=\"").nth(1).map_or(0, |p| p.split('"').next().unwrap().split(' ').count());
        let widest = svg.split("<polyline").skip(1).map(points).max().unwrap();
        assert!((300..=401).contains(&widest), "{widest}");
        assert!(draw_storage(&[], &Default::default()).unwrap().contains("no samples yet"));
        // A limit far above the data is named, not drawn.
        let far = vec![series[0].clone(), ("limit".to_string(), vec![(1_764_000_000_000, 1000 * gib)])];
        let svg = draw_storage(&far, &pathfinder::usage::StoragePolicy::default()).unwrap();
        assert!(svg.contains("limit 1000.0 GiB, off the scale") && !svg.contains("warning 80 %"), "{svg}");
    }
}
