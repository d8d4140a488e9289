//! Scenario files: the only module that knows YAML.
//!
//! [`load`] / [`parse_str`] read a scenario file (format: `contract.md`, "Scenario file") and
//! return a validated [`crate::model::config::Scenario`] with ActiveMQ's defaults applied, the
//! raw `sweep:` section, and warnings about legal but suspicious settings. Three steps:
//!
//! 1. **Parse** (`parse_raw`): serde-saphyr deserializes the text into the `raw` structs
//!    (`deny_unknown_fields`, every field optional and [`serde_saphyr::Spanned`]), under a
//!    tight parser budget (nesting, aliases, nodes) so hostile input fails fast. Only the shape
//!    is checked here: unknown fields, mapping vs list vs single value, syntax.
//! 2. **Override** (sweeps, optional): `raw::apply_override` replaces fields at dotted paths
//!    (`consumers.*.prefetch`) on the raw document; see the `raw` module documentation.
//! 3. **Validate** (`validate::validate`): defaults, ranges, units, the combinations the real
//!    ActiveMQ client rejects, `broker_url` `jms.*` options, warnings. Every error points at the
//!    line and column of the offending value.
//!
//! Errors render as `<file>:<line>:<column>: <what is wrong>; expected <what was expected>`,
//! followed by the source line and a caret (see [`ScenarioError`]). Every error is bad input
//! (exit status 2).

mod broker_url;
mod duration;
mod error;
pub(crate) mod raw;
mod validate;

#[cfg(test)]
mod tests;

use std::fmt;
use std::io::Read;
use std::path::Path;

pub use duration::parse_duration_literal;
pub use error::{Diagnostic, ScenarioError};
use serde_saphyr::{Location, Spanned};

use crate::model::config::Scenario;
use raw::RawScenario;

/// Scenario files larger than this are rejected unread (16 MiB).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// A validated scenario, its sweep section and the warnings found on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedScenario {
    pub scenario: Scenario,
    /// The `sweep:` section, if the file has one (its paths are not checked yet).
    pub sweep: Option<SweepSpec>,
    /// Legal but suspicious settings, in the order found (`acksim check` prints them).
    pub warnings: Vec<Warning>,
}

/// The `sweep:` section as written.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSpec {
    /// Runs per grid cell (default 1, ≥ 1).
    pub replicates: u32,
    /// Dotted path → values, in file order. Paths and values are not validated here: a sweep
    /// applies them with `raw::apply_override` and validates each cell.
    pub grid: Vec<(String, Vec<GridValue>)>,
}

/// One value of a sweep grid, as the YAML scalar was typed.
#[derive(Debug, Clone, PartialEq)]
pub enum GridValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl fmt::Display for GridValue {
    /// The YAML spelling: `true`, `42`, `1.5`, `.inf`, `5ms`, `auto`, and strings that would
    /// otherwise read as another type (or need escaping) double-quoted: `"true"`, `"10"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GridValue::Bool(b) => write!(f, "{b}"),
            GridValue::Int(i) => write!(f, "{i}"),
            GridValue::Float(x) if x.is_nan() => f.write_str(".nan"),
            GridValue::Float(x) if x.is_infinite() => {
                f.write_str(if *x > 0.0 { ".inf" } else { "-.inf" })
            }
            // `{:?}` always keeps a `.` or an exponent: 1.0, 0.25, 1e21.
            GridValue::Float(x) => write!(f, "{x:?}"),
            GridValue::Str(s) if plain_yaml_string(s) => f.write_str(s),
            GridValue::Str(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        '\n' => f.write_str("\\n")?,
                        '\t' => f.write_str("\\t")?,
                        c if c.is_control() => write!(f, "\\u{:04x}", c as u32)?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("\"")
            }
        }
    }
}

/// Whether `s` reads back as the same string when written unquoted.
fn plain_yaml_string(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let safe_chars = s
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '*' | '+' | 'µ'));
    let lower = s.to_ascii_lowercase();
    let keyword = matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~"
    );
    let numeric = s.parse::<f64>().is_ok()
        || s.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-' || c == '.')
            && s.chars()
                .all(|c| c.is_ascii_hexdigit() || "xXoO_+-.".contains(c));
    safe_chars && !keyword && !numeric && !matches!(first, '-' | '*' | '.')
}

/// A legal but suspicious setting. `Display`: `line L, column C: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: {}", self.message),
            (Some(l), None) => write!(f, "line {l}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// Reads, parses and validates the scenario file at `path` (at most [`MAX_FILE_BYTES`]).
/// Messages name the file as `path` is displayed.
pub fn load(path: &Path) -> Result<LoadedScenario, ScenarioError> {
    let file = path.display().to_string();
    let io = |source| ScenarioError::Io {
        file: file.clone(),
        source,
    };
    let handle = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    handle
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        let size = std::fs::metadata(path).map_or(bytes.len() as u64, |m| m.len());
        return Err(ScenarioError::TooLarge {
            file,
            size,
            limit: MAX_FILE_BYTES,
        });
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let good = std::str::from_utf8(good).unwrap_or_default();
            let line = good.matches('\n').count() + 1;
            let column = good.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let d = error::diag(
                &file,
                Some(error::Pos { line, column }),
                format!("invalid UTF-8 (byte {})", e.utf8_error().valid_up_to()),
                "a UTF-8 text file",
            );
            return Err(ScenarioError::Yaml(d).with_snippet(good));
        }
    };
    parse_str(&text, &file)
}

/// Parses and validates scenario text; `origin` is the file name used in messages.
pub fn parse_str(text: &str, origin: &str) -> Result<LoadedScenario, ScenarioError> {
    let raw = parse_raw(text, origin)?;
    validate::validate(&raw, origin).map_err(|e| e.with_snippet(text))
}

/// Step 1 only: the raw document (shape checked, values not). Errors carry a snippet.
pub(crate) fn parse_raw(text: &str, origin: &str) -> Result<Spanned<RawScenario>, ScenarioError> {
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(ScenarioError::TooLarge {
            file: origin.to_string(),
            size: text.len() as u64,
            limit: MAX_FILE_BYTES,
        });
    }
    let parsed: Result<Option<Spanned<RawScenario>>, _> =
        serde_saphyr::from_str_with_options(text, parser_options());
    match parsed {
        Ok(Some(raw)) => Ok(raw),
        // An empty document (or `null`): every required field is missing.
        Ok(None) => Ok(Spanned::new(
            RawScenario::default(),
            Location::UNKNOWN,
            Location::UNKNOWN,
        )),
        Err(e) => Err(error::from_saphyr(&e, origin).with_snippet(text)),
    }
}

/// Validates `raw` with the `overrides` (dotted path, value) applied, as a sweep cell does.
/// Override errors are reported at `at` (the grid key's location, or `Location::UNKNOWN`).
#[cfg_attr(not(test), allow(dead_code))] // the sweep command is the intended caller
pub(crate) fn validate_with_overrides<'a>(
    raw: &Spanned<RawScenario>,
    origin: &str,
    overrides: impl IntoIterator<Item = (&'a str, &'a GridValue, Location)>,
) -> Result<LoadedScenario, ScenarioError> {
    let mut cell = raw.clone();
    for (path, value, at) in overrides {
        raw::apply_override(&mut cell, path, value, at, origin)?;
    }
    validate::validate(&cell, origin)
}

/// Where the sweep grid key `key` is written (for errors about its overrides), or
/// `Location::UNKNOWN`.
#[cfg_attr(not(test), allow(dead_code))] // the sweep command is the intended caller
pub(crate) fn grid_key_location(raw: &Spanned<RawScenario>, key: &str) -> Location {
    raw.value
        .sweep
        .as_ref()
        .and_then(|s| s.value.grid.as_ref())
        .and_then(|g| g.value.0.iter().find(|(k, _)| k.value == key))
        .map_or(Location::UNKNOWN, |(k, _)| k.referenced)
}

/// Parser limits: far above any real scenario, far below what a hostile file needs.
fn parser_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: 24,
            flow_nesting_limit: 24,
            // One scenario per file; 2 so that a second document gets the clearer
            // "exactly one document" error rather than a budget breach.
            max_documents: 2,
            max_aliases: 10_000,
            max_anchors: 10_000,
            max_nodes: 1_000_000,
            max_events: 4_000_000,
            max_merge_keys: 10_000,
            max_total_scalar_bytes: MAX_FILE_BYTES as usize,
            max_recorded_anchor_events: 100_000,
            max_recorded_anchor_bytes: MAX_FILE_BYTES as usize,
            // Off: 150 consumers merging one `&defaults` anchor is legitimate; the absolute
            // caps above and the replay limits below bound any expansion.
            enforce_alias_anchor_ratio: false,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
            max_replay_stack_depth: 16,
            max_alias_expansions_per_anchor: 10_000,
        },
        emit_comments: false,
        with_snippet: false,
        crop_radius: 0,
    }
}
