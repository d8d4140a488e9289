//! Charts (PNG): the run timeline of `run --plot` and the sweep charts, both redrawn from the
//! CSVs alone by `acksim plot DIR`.
//!
//! Rendering is self-contained so that a chart is the same bytes on every machine: plotters
//! draws into an in-memory RGB buffer with the bundled DejaVu Sans font (`assets/fonts/`,
//! registered through plotters' `ab_glyph` support — no fontconfig or freetype), and the `png`
//! crate encodes the buffer into an [`AtomicFile`], so a chart appears complete or not at all.

pub mod sweep;
pub mod timeline;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::style::FontStyle;

use super::{AtomicFile, ReportError, SUMMARY_FILE, TRACE_FILE};

/// The font family name every chart asks for; resolves to the bundled font.
pub const FONT: &str = "sans-serif";

/// Series colours (the Tableau 10 palette: distinct, colour-blind friendly), shared by every
/// chart so a consumer or a grid combination keeps its colour.
pub const PALETTE: [plotters::style::RGBColor; 10] = [
    plotters::style::RGBColor(31, 119, 180),
    plotters::style::RGBColor(255, 127, 14),
    plotters::style::RGBColor(44, 160, 44),
    plotters::style::RGBColor(214, 39, 40),
    plotters::style::RGBColor(148, 103, 189),
    plotters::style::RGBColor(140, 86, 75),
    plotters::style::RGBColor(227, 119, 194),
    plotters::style::RGBColor(127, 127, 127),
    plotters::style::RGBColor(188, 189, 34),
    plotters::style::RGBColor(23, 190, 207),
];

const SANS: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
const SANS_BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

/// File names a sweep directory is recognised by and the timeline's name.
pub const CELLS_FILE: &str = "cells.csv";
pub const TIMELINE_FILE: &str = "timeline.png";

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChartError {
    /// A CSV the chart is drawn from cannot be read or does not have the expected shape.
    #[error("{}: {message}", path.display())]
    Input { path: PathBuf, message: String },
    /// The directory holds nothing a chart can be drawn from.
    #[error("{}: {message}", dir.display())]
    Nothing { dir: PathBuf, message: String },
    /// The PNG could not be written.
    #[error(transparent)]
    Write(#[from] ReportError),
    /// plotters failed while drawing (an acksim bug, not bad input).
    #[error("{}: drawing failed: {message}", path.display())]
    Draw { path: PathBuf, message: String },
}

impl ChartError {
    /// Bad input (exit status 2) rather than an internal failure (1).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, ChartError::Draw { .. })
    }

    pub(crate) fn input(path: &Path, message: impl Into<String>) -> Self {
        ChartError::Input {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    pub(crate) fn draw(path: &Path, err: impl std::fmt::Display) -> Self {
        ChartError::Draw {
            path: path.to_path_buf(),
            message: err.to_string(),
        }
    }
}

/// Registers the bundled font with plotters (once per process).
pub fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are compiled in and known to parse; a failure is a build defect.
        plotters::style::register_font(FONT, FontStyle::Normal, SANS)
            .unwrap_or_else(|_| panic!("bundled DejaVuSans.ttf does not parse"));
        plotters::style::register_font(FONT, FontStyle::Bold, SANS_BOLD)
            .unwrap_or_else(|_| panic!("bundled DejaVuSans-Bold.ttf does not parse"));
    });
}

/// Renders a `width`×`height` picture with `draw` and writes it atomically to `path` as PNG.
pub fn render_png<F>(
    path: &Path,
    (width, height): (u32, u32),
    draw: F,
) -> Result<PathBuf, ChartError>
where
    F: FnOnce(
        &plotters::drawing::DrawingArea<
            plotters::backend::BitMapBackend<'_>,
            plotters::coord::Shift,
        >,
    ) -> Result<(), Box<dyn std::error::Error + 'static>>,
{
    register_fonts();
    let mut buffer = vec![0u8; width as usize * height as usize * 3];
    {
        let backend = plotters::backend::BitMapBackend::with_buffer(&mut buffer, (width, height));
        let root = plotters::drawing::IntoDrawingArea::into_drawing_area(backend);
        draw(&root).map_err(|e| ChartError::draw(path, e))?;
        root.present().map_err(|e| ChartError::draw(path, e))?;
    }
    let mut file = AtomicFile::create(path)?;
    encode_png(&mut file, &buffer, width, height).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(file.commit()?)
}

fn encode_png(out: &mut impl Write, rgb: &[u8], width: u32, height: u32) -> std::io::Result<()> {
    let mut encoder = png::Encoder::new(out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
    writer
        .write_image_data(rgb)
        .map_err(std::io::Error::other)?;
    writer.finish().map_err(std::io::Error::other)
}

/// What `acksim plot DIR` draws: the timeline of a run directory with a trace, or the charts
/// of a sweep directory. Returns the PNGs written.
pub fn plot_dir(dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
    if !dir.is_dir() {
        return Err(ChartError::Nothing {
            dir: dir.to_path_buf(),
            message: "not a directory".into(),
        });
    }
    let cells = dir.join(CELLS_FILE);
    let trace = dir.join(TRACE_FILE);
    let mut written = Vec::new();
    if cells.is_file() {
        written.extend(sweep::draw_all(&cells, dir)?);
    }
    if trace.is_file() {
        let title = run_title(dir);
        written.push(timeline::draw(&trace, &dir.join(TIMELINE_FILE), &title)?);
    }
    if written.is_empty() {
        let message = if dir.join(SUMMARY_FILE).is_file() {
            format!(
                "a run directory without {TRACE_FILE}: a timeline is drawn from the event \
                 trace; rerun with `acksim run SCENARIO.yaml --trace` (or `--plot`)"
            )
        } else {
            format!("neither {CELLS_FILE} (a sweep) nor {TRACE_FILE} (a traced run) is here")
        };
        return Err(ChartError::Nothing {
            dir: dir.to_path_buf(),
            message,
        });
    }
    Ok(written)
}

/// The scenario name from the run's `summary.csv` (its `scenario` column), else the
/// directory's name.
pub fn run_title(dir: &Path) -> String {
    let from_summary = || -> Option<String> {
        let mut reader = csv::Reader::from_path(dir.join(SUMMARY_FILE)).ok()?;
        let column = reader
            .headers()
            .ok()?
            .iter()
            .position(|h| h == "scenario")?;
        let record = reader.records().next()?.ok()?;
        record.get(column).map(str::to_string)
    };
    from_summary().unwrap_or_else(|| {
        dir.file_name()
            .map_or_else(|| "run".into(), |n| n.to_string_lossy().into_owned())
    })
}

/// Opens a CSV with a header row, naming the file in any error.
pub(crate) fn open_csv(path: &Path) -> Result<csv::Reader<std::fs::File>, ChartError> {
    csv::ReaderBuilder::new()
        .from_path(path)
        .map_err(|e| ChartError::input(path, format!("cannot read: {e}")))
}

/// Formats a number for a label: integers without decimals, others with up to 3 significant
/// decimals.
pub(crate) fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    if v == v.round() && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let a = v.abs();
    let text = if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a >= 0.001 {
        format!("{v:.4}")
    } else {
        return format!("{v:.2e}");
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}
