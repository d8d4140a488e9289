//! Sweep charts, from a sweep directory's `cells.csv` (one row per grid cell: `cell`, one
//! column per grid key named by its dotted path, `runs`, then `<metric>_mean` and
//! `<metric>_ci95` per metric).
//!
//! For each metric: the metric against the numeric grid key (the prefetch when it is one) as
//! lines, one per combination of the other keys, with shaded 95% confidence bands and a log
//! x axis when the values span two decades or more (every charted metric is non-negative, so a
//! band is cut at 0). With exactly two grid keys, also a heatmap
//! per metric.

use std::path::{Path, PathBuf};

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{ChartError, FONT, PALETTE, fmt_num, open_csv, render_png};

/// Picture size in pixels.
pub const SIZE: (u32, u32) = (1200, 750);

/// The charted metrics: file stem, title, y axis label.
const METRICS: &[(&str, &str, &str)] = &[
    (
        "duplicates",
        "Duplicates (processed more than once)",
        "messages",
    ),
    ("lost", "Lost messages", "messages"),
    (
        "stalled",
        "Runs that stalled (messages waiting no consumer could get)",
        "fraction of runs",
    ),
    (
        "acks_per_message",
        "Ack commands per message",
        "acks / message",
    ),
    (
        "idle_with_backlog_s",
        "Consumer idle time while messages wait",
        "idle time (s)",
    ),
    (
        "jain_fairness",
        "Jain fairness of processed counts",
        "Jain index (1 = even)",
    ),
    ("throughput", "Throughput", "messages / s"),
    (
        "goodput",
        "Goodput (distinct messages processed per second)",
        "unique messages / s",
    ),
    (
        "latency_p99_s",
        "Latency p99 (send → first processing completion)",
        "latency (s)",
    ),
    // Written by `acksim tune` (tune.csv), not by sweeps.
    (
        "max_unacked",
        "Broker-side unacked messages (max over consumers)",
        "messages",
    ),
];

/// The parsed cells table.
#[derive(Debug)]
struct Cells {
    keys: Vec<String>,
    /// Per cell: the grid keys' values.
    values: Vec<Vec<String>>,
    header: Vec<String>,
    rows: Vec<Vec<f64>>,
}

impl Cells {
    /// (mean, ci95) of `metric` per cell, if the columns exist; `acks_per_message` is derived.
    fn metric(&self, metric: &str) -> Option<Vec<(f64, f64)>> {
        let col = |name: String| self.header.iter().position(|h| *h == name);
        if metric == "acks_per_message" {
            let acks = col("acks_total_mean".into())?;
            let acks_ci = col("acks_total_ci95".into());
            let produced = col("produced_mean".into())?;
            return Some(
                self.rows
                    .iter()
                    .map(|r| {
                        let p = r[produced];
                        let ci = acks_ci.map_or(0.0, |c| r[c]);
                        (r[acks] / p, ci / p)
                    })
                    .collect(),
            );
        }
        let mean = col(format!("{metric}_mean"))?;
        let ci = col(format!("{metric}_ci95"));
        Some(
            self.rows
                .iter()
                .map(|r| (r[mean], ci.map_or(0.0, |c| r[c])))
                .collect(),
        )
    }
}

fn read(path: &Path) -> Result<Cells, ChartError> {
    let mut reader = open_csv(path)?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| ChartError::input(path, format!("cannot read the header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let find = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            ChartError::input(
                path,
                format!("not a sweep's cells table: no `{name}` column"),
            )
        })
    };
    let (cell, runs) = (find("cell")?, find("runs")?);
    if runs <= cell {
        return Err(ChartError::input(
            path,
            "expected the grid keys between `cell` and `runs`",
        ));
    }
    let keys: Vec<String> = header[cell + 1..runs].to_vec();
    let mut values = Vec::new();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| ChartError::input(path, e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        values.push(
            record
                .iter()
                .skip(cell + 1)
                .take(keys.len())
                .map(str::to_string)
                .collect(),
        );
        let mut row = Vec::with_capacity(header.len());
        for (i, field) in record.iter().enumerate() {
            let numeric =
                i >= runs && (header[i].ends_with("_mean") || header[i].ends_with("_ci95"));
            let v = match field {
                "" | "NaN" | "nan" => f64::NAN,
                s => match s.parse::<f64>() {
                    Ok(v) => v,
                    Err(_) if numeric => {
                        return Err(ChartError::input(
                            path,
                            format!("line {line}: column `{}`: not a number: `{s}`", header[i]),
                        ));
                    }
                    Err(_) => f64::NAN,
                },
            };
            row.push(v);
        }
        row.resize(header.len(), f64::NAN);
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(ChartError::input(path, "no grid cells"));
    }
    Ok(Cells {
        keys,
        values,
        header,
        rows,
    })
}

/// The number a grid value stands for: a number, or a duration (`300ms`, `5s`) in seconds, so
/// a sweep over a duration charts against it like any numeric key.
fn key_number(value: &str) -> Option<f64> {
    value.parse::<f64>().ok().or_else(|| {
        crate::scenario::parse_duration_literal(value)
            .ok()
            .map(|d| d.as_secs_f64())
    })
}

/// Whether grid key `k` holds durations (charted in seconds).
fn is_duration_key(t: &Cells, k: usize) -> bool {
    t.values.iter().any(|v| v[k].parse::<f64>().is_err())
}

/// Short label of a dotted grid key: `consumers.*.ack_mode` → `ack_mode`.
fn short(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// Draws every sweep chart of `cells` into `dir`; returns the PNGs written.
/// The scenario's name from the sweep's `manifest.json` beside the CSVs, if there is one (a
/// tune directory has none).
fn scenario_name(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("manifest.json")).ok()?;
    let manifest: serde_json::Value = serde_json::from_str(&text).ok()?;
    manifest.get("scenario")?.as_str().map(str::to_string)
}

pub fn draw_all(cells: &Path, dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
    draw_all_titled(cells, dir, scenario_name(dir))
}

/// [`draw_all`] with the scenario name for the titles given rather than read from the
/// directory's `manifest.json` (`acksim tune` writes none).
pub fn draw_all_titled(
    cells: &Path,
    dir: &Path,
    scenario: Option<String>,
) -> Result<Vec<PathBuf>, ChartError> {
    let table = read(cells)?;
    let numeric = |k: usize| table.values.iter().all(|v| key_number(&v[k]).is_some());
    let x_key = (0..table.keys.len())
        .filter(|&k| numeric(k))
        .max_by_key(|&k| (table.keys[k].contains("prefetch"), std::cmp::Reverse(k)));
    let mut written = Vec::new();
    for &(stem, title, unit) in METRICS {
        let Some(values) = table.metric(stem) else {
            continue;
        };
        let title = match &scenario {
            Some(name) => format!("{name}: {title}"),
            None => title.to_string(),
        };
        let title = title.as_str();
        if let Some(x) = x_key {
            let out = dir.join(format!("{stem}.png"));
            written.push(render_png(&out, SIZE, |root| {
                lines(root, &table, x, &values, title, unit)
            })?);
        }
        if table.keys.len() == 2 {
            let out = dir.join(format!("heatmap_{stem}.png"));
            let x = x_key.unwrap_or(0);
            written.push(render_png(&out, SIZE, |root| {
                heatmap(root, &table, x, 1 - x, &values, title)
            })?);
        }
    }
    if written.is_empty() {
        return Err(ChartError::input(
            cells,
            "nothing to chart: no numeric grid key and not exactly two keys, or none of the \
             charted metrics",
        ));
    }
    Ok(written)
}

/// A line: its label and points (x, mean, ci95).
type Series = (String, Vec<(f64, f64, f64)>);

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;
type Res = Result<(), Box<dyn std::error::Error + 'static>>;

fn lines(
    root: &Area<'_>,
    t: &Cells,
    x: usize,
    values: &[(f64, f64)],
    title: &str,
    unit: &str,
) -> Res {
    root.fill(&WHITE)?;
    let xs: Vec<f64> = t
        .values
        .iter()
        .map(|v| key_number(&v[x]).unwrap_or(f64::NAN))
        .collect();
    let (lo, hi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let log = lo > 0.0 && hi / lo >= 100.0;
    let tx = |v: f64| if log { v.log10() } else { v };
    // Series: one per combination of the other keys, in order of first appearance.
    let mut series: Vec<Series> = Vec::new();
    for (i, vals) in t.values.iter().enumerate() {
        let name = (0..t.keys.len())
            .filter(|&k| k != x)
            .map(|k| format!("{}={}", short(&t.keys[k]), vals[k]))
            .collect::<Vec<_>>()
            .join(", ");
        let (m, ci) = values[i];
        if !m.is_finite() {
            continue;
        }
        let ci = if ci.is_finite() { ci } else { 0.0 };
        match series.iter_mut().find(|s| s.0 == name) {
            Some(s) => s.1.push((tx(xs[i]), m, ci)),
            None => series.push((name, vec![(tx(xs[i]), m, ci)])),
        }
    }
    for s in &mut series {
        s.1.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let (x0, x1) = (tx(lo), tx(hi));
    let pad = if x1 > x0 { (x1 - x0) * 0.04 } else { 1.0 };
    let (mut y0, mut y1) = series
        .iter()
        .flat_map(|s| &s.1)
        .fold((0.0f64, f64::NEG_INFINITY), |(a, b), p| {
            (a.min((p.1 - p.2).max(0.0)), b.max(p.1 + p.2))
        });
    if !y1.is_finite() || y1 <= y0 {
        y1 = y0 + 1.0;
    }
    y1 += (y1 - y0) * 0.08;
    if y0 < 0.0 {
        y0 -= (y1 - y0) * 0.02;
    }
    let unit_suffix = if is_duration_key(t, x) { " (s)" } else { "" };
    let x_name = format!("{}{unit_suffix}", short(&t.keys[x]));
    let mut chart = ChartBuilder::on(root)
        .caption(
            title,
            TextStyle::from((FONT, 28).into_font().style(FontStyle::Bold)),
        )
        .margin(16)
        .margin_right(30)
        .x_label_area_size(60)
        .y_label_area_size(90)
        .build_cartesian_2d((x0 - pad)..(x1 + pad), y0..y1)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(8)
        .y_label_formatter(&|v| fmt_num(*v))
        .x_desc(format!("{x_name}{}", if log { " (log scale)" } else { "" }))
        .y_desc(unit)
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 18))
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()?;
    // Tick labels at the grid's own values; a label that would overlap the previous one is
    // left out (its grid line stays), e.g. 500 and 616 on a log axis.
    let mut ticks: Vec<f64> = xs.iter().copied().filter(|v| v.is_finite()).collect();
    ticks.sort_by(f64::total_cmp);
    ticks.dedup();
    let half_width = |text: &str| text.chars().count() as i32 * 9 / 2 + 4;
    let mut last_label: Option<(i32, i32)> = None;
    for &v in &ticks {
        chart.draw_series([PathElement::new(
            vec![(tx(v), y0), (tx(v), y1)],
            RGBColor(225, 225, 225),
        )])?;
        let (px, py) = chart.backend_coord(&(tx(v), y0));
        let text = fmt_num(v);
        let half = half_width(&text);
        if last_label.is_some_and(|(x, h)| px - half < x + h) {
            continue;
        }
        last_label = Some((px, half));
        root.draw(&Text::new(
            text,
            (px, py + 8),
            TextStyle::from((FONT, 16)).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
    }
    for (i, (name, pts)) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let band: Vec<(f64, f64)> = pts
            .iter()
            .map(|p| (p.0, p.1 + p.2))
            .chain(pts.iter().rev().map(|p| (p.0, (p.1 - p.2).max(0.0))))
            .collect();
        chart.draw_series([Polygon::new(band, colour.mix(0.18).filled())])?;
        let label = if name.is_empty() {
            "mean".to_string()
        } else {
            name.clone()
        };
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|p| (p.0, p.1)),
                colour.stroke_width(3),
            ))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(3))
            });
        chart.draw_series(
            pts.iter()
                .map(|p| Circle::new((p.0, p.1), 4, colour.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .label_font((FONT, 15))
        .draw()?;
    let (w, h) = root.dim_in_pixel();
    root.draw(&Text::new(
        "mean of the runs per grid cell; shaded: 95% confidence interval".to_string(),
        (w as i32 - 12, h as i32 - 8),
        TextStyle::from((FONT, 13))
            .color(&RGBColor(110, 110, 110))
            .pos(Pos::new(HPos::Right, VPos::Bottom)),
    ))?;
    Ok(())
}

/// Distinct values of key `k`, numerically sorted when all are numbers.
fn levels(t: &Cells, k: usize) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for vals in &t.values {
        if !v.contains(&vals[k]) {
            v.push(vals[k].clone());
        }
    }
    if v.iter().all(|s| key_number(s).is_some()) {
        v.sort_by(|a, b| {
            key_number(a)
                .unwrap_or(0.0)
                .total_cmp(&key_number(b).unwrap_or(0.0))
        });
    }
    v
}

/// Light yellow → green → dark blue (viridis-like), for `f` in 0..=1.
fn colour(f: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 3] = [
        (253.0, 231.0, 37.0),
        (33.0, 145.0, 140.0),
        (68.0, 1.0, 84.0),
    ];
    let f = if f.is_finite() {
        f.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (a, b, g) = if f < 0.5 {
        (STOPS[0], STOPS[1], f * 2.0)
    } else {
        (STOPS[1], STOPS[2], f * 2.0 - 1.0)
    };
    let mix = |x: f64, y: f64| (x + (y - x) * g).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn heatmap(
    root: &Area<'_>,
    t: &Cells,
    x: usize,
    y: usize,
    values: &[(f64, f64)],
    title: &str,
) -> Res {
    root.fill(&WHITE)?;
    let (xl, yl) = (levels(t, x), levels(t, y));
    let (lo, hi) = values
        .iter()
        .filter(|v| v.0.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v.0), b.max(v.0))
        });
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("{title} (mean)"),
            TextStyle::from((FONT, 28).into_font().style(FontStyle::Bold)),
        )
        .margin(16)
        .x_label_area_size(60)
        .y_label_area_size(160)
        .build_cartesian_2d(0.0..xl.len() as f64, 0.0..yl.len() as f64)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(0)
        .y_labels(0)
        .x_desc(short(&t.keys[x]))
        .y_desc(short(&t.keys[y]))
        .axis_desc_style((FONT, 18))
        .draw()?;
    for (i, vals) in t.values.iter().enumerate() {
        let (Some(cx), Some(cy)) = (
            xl.iter().position(|v| *v == vals[x]),
            yl.iter().position(|v| *v == vals[y]),
        ) else {
            continue;
        };
        let m = values[i].0;
        let f = if hi > lo { (m - lo) / (hi - lo) } else { 0.5 };
        let c = colour(f);
        let (cx, cy) = (cx as f64, cy as f64);
        chart.draw_series([Rectangle::new([(cx, cy), (cx + 1.0, cy + 1.0)], c.filled())])?;
        let (px, py) = chart.backend_coord(&(cx + 0.5, cy + 0.5));
        let ink = if f > 0.45 { WHITE } else { BLACK };
        root.draw(&Text::new(
            fmt_num(m),
            (px, py),
            TextStyle::from((FONT, 18))
                .color(&ink)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
    }
    for (i, v) in xl.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
        root.draw(&Text::new(
            v.clone(),
            (px, py + 8),
            TextStyle::from((FONT, 16)).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
    }
    for (i, v) in yl.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(0.0, i as f64 + 0.5));
        root.draw(&Text::new(
            v.clone(),
            (px - 8, py),
            TextStyle::from((FONT, 16)).pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_and_colours() {
        assert_eq!(short("consumers.*.prefetch"), "prefetch");
        assert_eq!(colour(0.0), RGBColor(253, 231, 37));
        assert_eq!(colour(1.0), RGBColor(68, 1, 84));
    }

    #[test]
    fn duration_grid_values_chart_as_seconds() {
        assert_eq!(key_number("100"), Some(100.0));
        assert_eq!(key_number("300ms"), Some(0.3));
        assert_eq!(key_number("5s"), Some(5.0));
        assert_eq!(key_number("auto"), None);
        let dir = tempfile::tempdir().unwrap();
        let cells = dir.path().join("cells.csv");
        std::fs::write(
            &cells,
            "cell,consumers.*.persist_consumer_offset_interval,runs,duplicates_mean,duplicates_ci95\n\
             0,5s,2,16,0\n1,300ms,2,1,0\n2,1s,2,3,0\n",
        )
        .unwrap();
        let table = read(&cells).unwrap();
        assert_eq!(levels(&table, 0), vec!["300ms", "1s", "5s"]);
        assert!(is_duration_key(&table, 0));
        let written = draw_all(&cells, dir.path()).unwrap();
        assert_eq!(written, vec![dir.path().join("duplicates.png")]);
    }
}
