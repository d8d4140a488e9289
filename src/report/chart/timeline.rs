//! The run timeline (`run --plot`, `acksim plot RUN_DIR`): one picture that explains a run.
//!
//! Upper panel: one lane per consumer instance with its processing spans (delivered →
//! processed / failed / crashed; first deliveries and redeliveries in different colours),
//! failures, the ack commands the broker received (ticks coloured by ack type), crashes,
//! (re)starts and the time a consumer was down. Lower panel: the broker's backlog (accepted −
//! dispatched + messages taken back on connection drops) and each consumer's unacknowledged
//! count (dispatched − messages covered by consuming acks; reset by a connection drop).
//!
//! Large traces stay fast: ack ticks and failure marks are drawn once per pixel column, spans
//! are merged per pixel column beyond [`SPAN_LIMIT`] spans, and the count lines become per-
//! column maxima beyond [`STEP_LIMIT`] changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{ChartError, FONT, PALETTE, fmt_num, open_csv, render_png};

/// Picture size in pixels.
pub const SIZE: (u32, u32) = (1600, 900);
/// Beyond this many spans they are merged per pixel column.
pub const SPAN_LIMIT: usize = 20_000;
/// Beyond this many changes a count line is drawn as per-column maxima.
pub const STEP_LIMIT: usize = 8_000;
/// Pixel columns used for aggregation (about the plot's width).
const COLUMNS: usize = 1400;

const FIRST: RGBColor = RGBColor(31, 119, 180);
const REDELIVERY: RGBColor = RGBColor(255, 127, 14);
const FAILURE: RGBColor = RGBColor(214, 39, 40);
const CRASH: RGBColor = RGBColor(20, 20, 20);
const START: RGBColor = RGBColor(44, 160, 44);
const DOWN: RGBColor = RGBColor(250, 215, 215);
/// The broker process down (a broker crash), across every lane.
const BROKER_DOWN: RGBColor = RGBColor(200, 200, 200);
const LANE_BG: RGBColor = RGBColor(244, 246, 250);
const BACKLOG: RGBColor = RGBColor(30, 30, 30);

/// Ack types in trace.csv's spelling, their colour, and whether the broker consumes the
/// messages they cover (removing them from the consumer's unacked count).
const ACK_TYPES: [(&str, RGBColor, bool); 6] = [
    ("standard", RGBColor(44, 160, 44), true),
    ("individual", RGBColor(148, 103, 189), true),
    ("delivered", RGBColor(127, 127, 127), false),
    ("redelivered", RGBColor(140, 86, 75), false),
    ("poison", RGBColor(214, 39, 40), true),
    ("expired", RGBColor(188, 189, 34), true),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum End {
    Processed,
    Failed,
    Crashed,
}

#[derive(Debug, Clone, Copy)]
struct Span {
    start: f64,
    end: f64,
    redelivery: bool,
    how: End,
}

#[derive(Debug, Default)]
struct Lane {
    name: String,
    spans: Vec<Span>,
    open: Option<(f64, bool)>,
    failures: Vec<f64>,
    /// (time, index into ACK_TYPES)
    acks: Vec<(f64, usize)>,
    crashes: Vec<f64>,
    starts: Vec<f64>,
    downs: Vec<(f64, f64)>,
    down_since: Option<f64>,
    unacked: Steps,
}

/// A step function as its change points.
#[derive(Debug, Default)]
struct Steps {
    value: i64,
    points: Vec<(f64, i64)>,
}

impl Steps {
    fn set(&mut self, t: f64, value: i64) {
        self.value = value;
        match self.points.last_mut() {
            Some(last) if last.0 == t => last.1 = value,
            _ => self.points.push((t, value)),
        }
    }
    /// The largest value held for a while (changes within one instant are not counted).
    fn max(&self) -> i64 {
        self.points.iter().map(|p| p.1).max().unwrap_or(0)
    }
    fn add(&mut self, t: f64, delta: i64) {
        self.set(t, self.value + delta);
    }
}

/// Everything the timeline shows, read from a trace.
#[derive(Debug, Default)]
struct Timeline {
    lanes: Vec<Lane>,
    backlog: Steps,
    t_end: f64,
    accepted: u64,
    deliveries: u64,
    redeliveries: u64,
    acks: u64,
    dead_lettered: u64,
    rows: u64,
    /// Intervals the broker process was down (`broker_crashed` .. `broker_restarted`).
    broker_downs: Vec<(f64, f64)>,
    broker_down_since: Option<f64>,
}

impl Timeline {
    fn lane(&mut self, index: &mut HashMap<String, usize>, name: &str) -> usize {
        if let Some(&i) = index.get(name) {
            return i;
        }
        index.insert(name.to_string(), self.lanes.len());
        self.lanes.push(Lane {
            name: name.to_string(),
            ..Lane::default()
        });
        self.lanes.len() - 1
    }
}

/// Reads `trace.csv` (by column name, so added columns are ignored).
fn read(path: &Path) -> Result<Timeline, ChartError> {
    let mut reader = open_csv(path)?;
    let headers = reader
        .headers()
        .map_err(|e| ChartError::input(path, format!("cannot read the header: {e}")))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| ChartError::input(path, format!("not a trace: no `{name}` column")))
    };
    let (c_time, c_event, c_consumer) = (col("time_s")?, col("event")?, col("consumer")?);
    let (c_count, c_ack, c_redelivery) =
        (col("count")?, col("ack_type")?, col("redelivery_counter")?);

    let mut tl = Timeline::default();
    let mut index = HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(ChartError::input(path, e.to_string())),
        }
        let line = record.position().map_or(0, |p| p.line());
        let bad = |what: &str, value: &str| {
            ChartError::input(path, format!("line {line}: bad {what} `{value}`"))
        };
        let field = |i: usize| record.get(i).unwrap_or("");
        let t: f64 = field(c_time)
            .parse()
            .ok()
            .filter(|t: &f64| t.is_finite() && *t >= 0.0)
            .ok_or_else(|| bad("time_s", field(c_time)))?;
        let count = match field(c_count) {
            "" => 1,
            s => s.parse::<i64>().map_err(|_| bad("count", s))?,
        };
        let redelivered = match field(c_redelivery) {
            "" => false,
            s => s.parse::<u64>().map_err(|_| bad("redelivery_counter", s))? > 0,
        };
        tl.rows += 1;
        tl.t_end = tl.t_end.max(t);
        let consumer = field(c_consumer);
        let lane = if consumer.is_empty() {
            None
        } else {
            Some(tl.lane(&mut index, consumer))
        };
        let event = field(c_event);
        match (event, lane) {
            ("accepted", _) => {
                tl.accepted += 1;
                tl.backlog.add(t, 1);
            }
            ("dispatched", Some(l)) => {
                // One message, or a RocketMQ pull batch of `count`.
                tl.backlog.add(t, -count);
                tl.lanes[l].unacked.add(t, count);
            }
            ("connection_dropped", Some(l)) => {
                tl.backlog.add(t, count);
                tl.lanes[l].unacked.set(t, 0);
            }
            ("dead_lettered", _) => tl.dead_lettered += 1,
            ("delivered", Some(l)) => {
                tl.deliveries += 1;
                tl.redeliveries += u64::from(redelivered);
                tl.lanes[l].open = Some((t, redelivered));
            }
            ("processed" | "failed", Some(l)) => {
                let lane = &mut tl.lanes[l];
                let failed = event == "failed";
                if failed {
                    lane.failures.push(t);
                }
                if let Some((start, redelivery)) = lane.open.take() {
                    lane.spans.push(Span {
                        start,
                        end: t,
                        redelivery,
                        how: if failed { End::Failed } else { End::Processed },
                    });
                }
            }
            ("ack_received", Some(l)) => {
                tl.acks += 1;
                let ty = field(c_ack);
                let Some(k) = ACK_TYPES.iter().position(|(name, ..)| *name == ty) else {
                    return Err(bad("ack_type", ty));
                };
                let lane = &mut tl.lanes[l];
                lane.acks.push((t, k));
                if ACK_TYPES[k].2 {
                    let left = (lane.unacked.value - count).max(0);
                    lane.unacked.set(t, left);
                }
            }
            ("crashed", Some(l)) => {
                let lane = &mut tl.lanes[l];
                lane.crashes.push(t);
                lane.down_since = Some(t);
                if let Some((start, redelivery)) = lane.open.take() {
                    lane.spans.push(Span {
                        start,
                        end: t,
                        redelivery,
                        how: End::Crashed,
                    });
                }
            }
            ("broker_crashed", _) => tl.broker_down_since = Some(t),
            ("broker_restarted", _) => {
                if let Some(since) = tl.broker_down_since.take() {
                    tl.broker_downs.push((since, t));
                }
            }
            ("started", Some(l)) => {
                let lane = &mut tl.lanes[l];
                lane.starts.push(t);
                if let Some(since) = lane.down_since.take() {
                    lane.downs.push((since, t));
                }
            }
            _ => {}
        }
    }
    let t_end = tl.t_end;
    if let Some(since) = tl.broker_down_since.take() {
        tl.broker_downs.push((since, t_end));
    }
    for lane in &mut tl.lanes {
        if let Some(since) = lane.down_since.take() {
            lane.downs.push((since, t_end));
        }
        if let Some((start, redelivery)) = lane.open.take() {
            // Still processing when the trace ends.
            lane.spans.push(Span {
                start,
                end: t_end,
                redelivery,
                how: End::Processed,
            });
        }
    }
    Ok(tl)
}

/// Draws `trace` as a timeline into `out` (PNG, atomically) titled with `title`.
pub fn draw(trace: &Path, out: &Path, title: &str) -> Result<PathBuf, ChartError> {
    let tl = read(trace)?;
    render_png(out, SIZE, |root| paint(root, &tl, title))
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;
type Res = Result<(), Box<dyn std::error::Error + 'static>>;

fn paint(root: &Area<'_>, tl: &Timeline, title: &str) -> Res {
    root.fill(&WHITE)?;
    let (width, _) = root.dim_in_pixel();
    root.draw(&Text::new(
        format!("{title} — run timeline"),
        (width as i32 / 2, 12),
        TextStyle::from((FONT, 28).into_font().style(FontStyle::Bold))
            .pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    let crashes: usize = tl.lanes.iter().map(|l| l.crashes.len()).sum();
    let failures: usize = tl.lanes.iter().map(|l| l.failures.len()).sum();
    let subtitle = format!(
        "{} consumer(s) · {} messages accepted · {} deliveries ({} redelivered) · {} failures · \
         {} crashes · {} ack commands · {} dead-lettered",
        tl.lanes.len(),
        tl.accepted,
        tl.deliveries,
        tl.redeliveries,
        failures,
        crashes,
        tl.acks,
        tl.dead_lettered
    );
    root.draw(&Text::new(
        subtitle,
        (width as i32 / 2, 48),
        (FONT, 17)
            .into_font()
            .color(&RGBColor(80, 80, 80))
            .pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    let body = root.margin(74, 8, 8, 8);
    let (main, legend) = body.split_horizontally(body.dim_in_pixel().0 - 250);
    let (upper, lower) = main.split_vertically((main.dim_in_pixel().1 as f64 * 0.6) as u32);
    let t_end = if tl.t_end > 0.0 {
        tl.t_end * 1.01
    } else {
        1e-3
    };
    let n = tl.lanes.len().max(1) as f64;
    let lane_y = |i: usize| n - 1.0 - i as f64;

    // --- Upper panel: lanes.
    let mut chart = ChartBuilder::on(&upper)
        .margin_right(12)
        .x_label_area_size(34)
        .y_label_area_size(120)
        .build_cartesian_2d(0.0..t_end, 0.0..n)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(12)
        .x_label_formatter(&|v| fmt_num(*v))
        .x_desc("time (s)")
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()?;
    let px = |t: f64| ((t / t_end) * COLUMNS as f64).clamp(0.0, COLUMNS as f64 - 1.0) as usize;
    let col_t = |c: usize| (c as f64 + 0.5) / COLUMNS as f64 * t_end;
    let col_w = t_end / COLUMNS as f64;
    let total_spans: usize = tl.lanes.iter().map(|l| l.spans.len()).sum();
    let merge_spans = total_spans > SPAN_LIMIT;
    for (i, lane) in tl.lanes.iter().enumerate() {
        let y = lane_y(i);
        if i % 2 == 0 {
            chart.draw_series([Rectangle::new(
                [(0.0, y + 0.02), (t_end, y + 0.98)],
                LANE_BG.mix(0.6).filled(),
            )])?;
        }
        chart.draw_series(
            tl.broker_downs.iter().map(|&(a, b)| {
                Rectangle::new([(a, y + 0.02), (b, y + 0.98)], BROKER_DOWN.filled())
            }),
        )?;
        chart.draw_series(
            lane.downs
                .iter()
                .map(|&(a, b)| Rectangle::new([(a, y + 0.04), (b, y + 0.96)], DOWN.filled())),
        )?;
        let (lo, hi) = (y + 0.14, y + 0.56);
        if merge_spans {
            // 0 idle, 1 first delivery, 2 redelivery (wins a shared column).
            let mut cols = vec![0u8; COLUMNS];
            for s in &lane.spans {
                let v = if s.redelivery { 2 } else { 1 };
                for c in &mut cols[px(s.start)..=px(s.end)] {
                    *c = (*c).max(v);
                }
            }
            let mut c = 0;
            while c < COLUMNS {
                let v = cols[c];
                let start = c;
                while c < COLUMNS && cols[c] == v {
                    c += 1;
                }
                if v > 0 {
                    let colour = if v == 2 { REDELIVERY } else { FIRST };
                    let (a, b) = (start as f64 * col_w, c as f64 * col_w);
                    chart.draw_series([Rectangle::new([(a, lo), (b, hi)], colour.filled())])?;
                }
            }
        } else {
            chart.draw_series(lane.spans.iter().map(|s| {
                let colour = if s.redelivery { REDELIVERY } else { FIRST };
                // A span cut short by a crash is drawn faded: its work was lost.
                let alpha = if s.how == End::Crashed { 0.4 } else { 1.0 };
                Rectangle::new([(s.start, lo), (s.end, hi)], colour.mix(alpha).filled())
            }))?;
            // Outline spans wide enough to tell apart.
            chart.draw_series(
                lane.spans
                    .iter()
                    .filter(|s| (s.end - s.start) / t_end * COLUMNS as f64 > 6.0)
                    .map(|s| {
                        let edge = if s.redelivery { REDELIVERY } else { FIRST };
                        Rectangle::new([(s.start, lo), (s.end, hi)], edge.mix(0.9).stroke_width(1))
                            .into_dyn()
                    })
                    .chain(
                        lane.spans
                            .iter()
                            .filter(|s| (s.end - s.start) / t_end * COLUMNS as f64 > 6.0)
                            .map(|s| {
                                PathElement::new(vec![(s.start, lo), (s.start, hi)], WHITE)
                                    .into_dyn()
                            }),
                    ),
            )?;
        }
        // Ack ticks, one per pixel column and type.
        let mut ack_cols = vec![0u8; COLUMNS];
        for &(t, k) in &lane.acks {
            ack_cols[px(t)] |= 1 << k;
        }
        for (k, (_, colour, _)) in ACK_TYPES.iter().enumerate() {
            chart.draw_series(
                ack_cols
                    .iter()
                    .enumerate()
                    .filter(|(_, bits)| *bits & (1 << k) != 0)
                    .map(|(c, _)| {
                        let t = col_t(c);
                        PathElement::new(vec![(t, y + 0.62), (t, y + 0.86)], colour.stroke_width(2))
                    }),
            )?;
        }
        // Failures, one per pixel column.
        let mut fail_cols = vec![false; COLUMNS];
        for &t in &lane.failures {
            fail_cols[px(t)] = true;
        }
        chart.draw_series(
            fail_cols
                .iter()
                .enumerate()
                .filter(|(_, f)| **f)
                .map(|(c, _)| Cross::new((col_t(c), y + 0.35), 6, FAILURE.stroke_width(3))),
        )?;
        chart.draw_series(
            lane.crashes
                .iter()
                .map(|&t| Cross::new((t, y + 0.35), 11, CRASH.stroke_width(4))),
        )?;
        chart.draw_series(
            lane.starts
                .iter()
                .filter(|&&t| t > 0.0)
                .map(|&t| TriangleMarker::new((t, y + 0.35), 9, START.filled())),
        )?;
        // Lane name left of the plot.
        let (x, yp) = chart.backend_coord(&(0.0, y + 0.5));
        root.draw(&Text::new(
            lane.name.clone(),
            (x - 10, yp),
            TextStyle::from((FONT, 17)).pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
    }
    if tl.lanes.is_empty() {
        let (x, yp) = chart.backend_coord(&(t_end / 2.0, 0.5));
        root.draw(&Text::new(
            "no consumer events in this trace",
            (x, yp),
            TextStyle::from((FONT, 20)).pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
    }

    // --- Lower panels: the broker's backlog, then the consumers' unacked counts, each with
    // its own scale (a backlog of thousands would flatten a prefetch of ten).
    let (backlog_area, unacked_area) = lower.split_vertically(lower.dim_in_pixel().1 * 9 / 20);
    let unacked_max = tl
        .lanes
        .iter()
        .map(|l| l.unacked.max())
        .max()
        .unwrap_or(0)
        .max(1);
    let panels = [
        (&backlog_area, tl.backlog.max().max(1), "backlog", 0),
        (&unacked_area, unacked_max, "unacked", 44),
    ];
    let mut legend_top = 0;
    for (area, max, desc, x_area) in panels {
        let y_max = max as f64 * 1.1;
        let mut counts = ChartBuilder::on(area)
            .margin_top(12)
            .margin_right(12)
            .x_label_area_size(x_area)
            .y_label_area_size(120)
            .build_cartesian_2d(0.0..t_end, 0.0..y_max)?;
        let mut mesh = counts.configure_mesh();
        mesh.x_labels(12)
            .y_labels(4)
            .x_label_formatter(&|v| fmt_num(*v))
            .y_label_formatter(&|v| fmt_num(*v))
            .y_desc(format!("{desc} (msgs)"))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 16))
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(225, 225, 225));
        if x_area > 0 {
            mesh.x_desc("time (s)");
        }
        mesh.draw()?;
        if desc == "backlog" {
            counts.draw_series(LineSeries::new(
                step_line(&tl.backlog, t_end),
                BACKLOG.stroke_width(2),
            ))?;
            legend_top = counts.backend_coord(&(0.0, y_max)).1;
        } else {
            for (i, lane) in tl.lanes.iter().enumerate() {
                let colour = PALETTE[i % PALETTE.len()];
                counts.draw_series(LineSeries::new(
                    step_line(&lane.unacked, t_end),
                    colour.stroke_width(2),
                ))?;
            }
        }
    }
    let (_, legend_y0) = legend.get_base_pixel();

    // --- Legend of the lanes, right of the upper panel.
    let mut items: Vec<(Mark, String)> = vec![
        (Mark::Swatch(FIRST), "processing, first delivery".into()),
        (Mark::Swatch(REDELIVERY), "processing, redelivery".into()),
        (Mark::Failure, "processing failed".into()),
        (Mark::Crash, "consumer crashed".into()),
        (Mark::Start, "consumer (re)started".into()),
        (Mark::Swatch(DOWN), "consumer down".into()),
    ];
    if !tl.broker_downs.is_empty() {
        items.push((Mark::Swatch(BROKER_DOWN), "broker down".into()));
    }
    items.push((Mark::None, "acks received by broker:".into()));
    let before = items.len();
    for (k, (name, colour, _)) in ACK_TYPES.iter().enumerate() {
        if tl.lanes.iter().any(|l| l.acks.iter().any(|a| a.1 == k)) {
            items.push((Mark::Tick(*colour), format!("{name} ack")));
        }
    }
    if items.len() == before {
        items.push((Mark::None, "  (none)".into()));
    }
    if merge_spans {
        items.push((Mark::None, format!("{total_spans} spans, merged per pixel")));
    }
    let lower_start = items.len();
    items.push((Mark::None, "lower panels (messages):".into()));
    items.push((Mark::Line(BACKLOG, 3), "broker backlog".into()));
    for (i, lane) in tl.lanes.iter().enumerate() {
        items.push((
            Mark::Line(PALETTE[i % PALETTE.len()], 2),
            format!("{} unacked", lane.name),
        ));
    }
    let font = TextStyle::from((FONT, 15)).pos(Pos::new(HPos::Left, VPos::Center));
    let step = 26;
    for (row, (mark, text)) in items.iter().enumerate() {
        let y = if row < lower_start {
            24 + row as i32 * step
        } else {
            // Beside the lower panel, unless the upper legend already reaches there.
            let top = (legend_top - legend_y0 + 10).max(24 + lower_start as i32 * step + 16);
            top + (row - lower_start) as i32 * step
        };
        let x = 12;
        match *mark {
            Mark::Swatch(c) => {
                legend.draw(&Rectangle::new([(x, y - 7), (x + 24, y + 7)], c.filled()))?
            }
            Mark::Failure => legend.draw(&Cross::new((x + 12, y), 6, FAILURE.stroke_width(3)))?,
            Mark::Crash => legend.draw(&Cross::new((x + 12, y), 9, CRASH.stroke_width(4)))?,
            Mark::Start => legend.draw(&TriangleMarker::new((x + 12, y), 9, START.filled()))?,
            Mark::Tick(c) => legend.draw(&PathElement::new(
                vec![(x + 12, y - 9), (x + 12, y + 9)],
                c.stroke_width(3),
            ))?,
            Mark::Line(c, w) => legend.draw(&PathElement::new(
                vec![(x, y), (x + 24, y)],
                c.stroke_width(w),
            ))?,
            Mark::None => {}
        }
        let tx = if matches!(mark, Mark::None) {
            x
        } else {
            x + 34
        };
        legend.draw(&Text::new(text.clone(), (tx, y), font.clone()))?;
    }
    Ok(())
}

/// A legend entry's symbol.
#[derive(Clone, Copy)]
enum Mark {
    Swatch(RGBColor),
    Failure,
    Crash,
    Start,
    Tick(RGBColor),
    Line(RGBColor, u32),
    None,
}

/// The points of a step line from 0 to `t_end`; per-column maxima for long series.
fn step_line(steps: &Steps, t_end: f64) -> Vec<(f64, f64)> {
    if steps.points.len() > STEP_LIMIT {
        let mut max = vec![None::<i64>; COLUMNS];
        let mut last = vec![0i64; COLUMNS];
        for &(t, v) in &steps.points {
            let c = ((t / t_end) * COLUMNS as f64).clamp(0.0, COLUMNS as f64 - 1.0) as usize;
            max[c] = Some(max[c].map_or(v, |m| m.max(v)));
            last[c] = v;
        }
        let mut out = Vec::with_capacity(COLUMNS);
        let mut current = 0;
        for c in 0..COLUMNS {
            let v = match max[c] {
                Some(m) => {
                    let v = m.max(current);
                    current = last[c];
                    v
                }
                None => current,
            };
            out.push(((c as f64 + 0.5) / COLUMNS as f64 * t_end, v as f64));
        }
        return out;
    }
    let mut out = Vec::with_capacity(steps.points.len() * 2 + 2);
    let mut current = 0.0;
    out.push((0.0, 0.0));
    for &(t, v) in &steps.points {
        out.push((t, current));
        current = v as f64;
        out.push((t, current));
    }
    out.push((t_end, current));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str =
        "time_s,time_ns,event,consumer,message,first_message,count,ack_type,redelivery_counter
0.000000000,0,started,c-0,,,,,
0.000100000,100000,accepted,,1,,,,
0.000100000,100000,subscribed,c-0,,,,,
0.000100000,100000,dispatched,c-0,1,,,,0
0.000200000,200000,delivered,c-0,1,,,,0
0.005200000,5200000,processed,c-0,1,,,,
0.005300000,5300000,ack_received,c-0,1,,1,standard,
0.006000000,6000000,crashed,c-0,,,,,
0.006100000,6100000,connection_dropped,c-0,,,0,,
1.006000000,1006000000,started,c-0,,,,,
";

    #[test]
    fn reads_spans_acks_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trace.csv");
        std::fs::write(&path, TRACE).unwrap();
        let tl = read(&path).unwrap();
        assert_eq!(tl.lanes.len(), 1);
        let lane = &tl.lanes[0];
        assert_eq!(lane.spans.len(), 1);
        assert_eq!(lane.spans[0].how, End::Processed);
        assert_eq!(lane.acks, vec![(0.0053, 0)]);
        assert_eq!(lane.crashes, vec![0.006]);
        assert_eq!(lane.downs, vec![(0.006, 1.006)]);
        assert_eq!(lane.unacked.max(), 1);
        assert_eq!(lane.unacked.value, 0);
        assert_eq!(tl.backlog.value, 0);
    }

    /// A broker crash shades every lane from `broker_crashed` to `broker_restarted`; a
    /// RocketMQ pull batch of 3 leaves the backlog by 3.
    #[test]
    fn reads_broker_outages_and_pull_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trace.csv");
        let trace = format!(
            "{TRACE}2.000000000,2000000000,accepted,,2,,,,\n2.000000000,2000000000,accepted,,3,,,,\n\
             2.000000000,2000000000,accepted,,4,,,,\n2.100000000,2100000000,dispatched,c-0,4,2,3,,\n\
             3.000000000,3000000000,broker_crashed,,,,,,\n4.500000000,4500000000,broker_restarted,,,,,,\n"
        );
        std::fs::write(&path, trace).unwrap();
        let tl = read(&path).unwrap();
        assert_eq!(tl.broker_downs, vec![(3.0, 4.5)]);
        assert_eq!(tl.backlog.value, 0);
        assert_eq!(tl.lanes[0].unacked.value, 3);
    }

    #[test]
    fn a_bad_time_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trace.csv");
        std::fs::write(&path, TRACE.replace("0.005200000,", "soon,")).unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("trace.csv") && err.contains("line 7"), "{err}");
    }

    #[test]
    fn long_series_are_reduced_to_columns() {
        let mut s = Steps::default();
        for i in 0..(STEP_LIMIT as i64 * 2) {
            s.set(i as f64, i % 7);
        }
        let line = step_line(&s, STEP_LIMIT as f64 * 2.0);
        assert_eq!(line.len(), COLUMNS);
        assert!(line.iter().all(|p| p.1 == 6.0));
    }
}
