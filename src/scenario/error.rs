//! [`ScenarioError`]: everything that can be wrong with a scenario file, located.
//!
//! Every located error renders as `<file>:<line>:<column>: <what is wrong>; expected <what was
//! expected>`, followed (when the source text is at hand) by the offending source line and a
//! caret under the column. Errors without a position render as `<file>: <what>; expected ...`,
//! and I/O errors as `<file>: <io error>`. All of them are bad input (exit status 2).

use std::fmt;

use serde_saphyr::Location;

/// A located complaint about a scenario file: the payload of [`ScenarioError::Yaml`] and
/// [`ScenarioError::Invalid`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnostic {
    /// The file name the error is reported against (the `origin` given to `parse_str`).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column in characters, when known.
    pub column: Option<usize>,
    /// What is wrong, e.g. ``unknown field `prefech` ``.
    pub what: String,
    /// What was expected instead, e.g. ``one of `name`, `replicas`, ...``.
    pub expected: String,
    /// The offending source line and a caret line under the column, when the text is known.
    pub snippet: Option<String>,
}

impl Diagnostic {
    /// The first line of the message: `<file>:<line>:<column>: <what>; expected <expected>`.
    pub fn headline(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!(
                "{}:{}:{}: {}; expected {}",
                self.file, l, c, self.what, self.expected
            ),
            (Some(l), None) => {
                format!(
                    "{}:{}: {}; expected {}",
                    self.file, l, self.what, self.expected
                )
            }
            _ => format!("{}: {}; expected {}", self.file, self.what, self.expected),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.headline())?;
        if let Some(snippet) = &self.snippet {
            write!(f, "\n{snippet}")?;
        }
        Ok(())
    }
}

/// Why a scenario could not be loaded. Every variant is bad input (CLI exit status 2).
///
/// `Display` gives `<file>:<line>:<column>: <what is wrong>; expected <what was expected>`,
/// then, when available, two more lines: the offending source line and a caret under the
/// column. Use [`Diagnostic::headline`] (via [`ScenarioError::diagnostic`]) for the first line
/// alone.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than [`super::MAX_FILE_BYTES`].
    #[error(
        "{file}: the file is {size} bytes long; expected a scenario file of at most {limit} bytes"
    )]
    TooLarge { file: String, size: u64, limit: u64 },
    /// Not YAML, or not shaped like a scenario: syntax errors, unknown fields, wrong types,
    /// duplicate keys, input beyond the parser's safety limits.
    #[error("{0}")]
    Yaml(Box<Diagnostic>),
    /// Well-formed, but a value is out of range or names something unknown, or the combination
    /// is one the real client rejects (or the simulator does not model yet).
    #[error("{0}")]
    Invalid(Box<Diagnostic>),
}

impl ScenarioError {
    /// 1-based line of the offending text, when known.
    pub fn line(&self) -> Option<usize> {
        self.diagnostic().and_then(|d| d.line)
    }

    /// 1-based column (in characters) of the offending text, when known.
    pub fn column(&self) -> Option<usize> {
        self.diagnostic().and_then(|d| d.column)
    }

    /// The file the error is about.
    pub fn file(&self) -> &str {
        match self {
            ScenarioError::Io { file, .. } | ScenarioError::TooLarge { file, .. } => file,
            ScenarioError::Yaml(d) | ScenarioError::Invalid(d) => &d.file,
        }
    }

    /// The structured error, for the located variants.
    pub fn diagnostic(&self) -> Option<&Diagnostic> {
        match self {
            ScenarioError::Yaml(d) | ScenarioError::Invalid(d) => Some(d),
            _ => None,
        }
    }

    /// Adds the source line and caret, if the error is located and has none yet.
    pub(crate) fn with_snippet(mut self, text: &str) -> Self {
        if let ScenarioError::Yaml(d) | ScenarioError::Invalid(d) = &mut self
            && d.snippet.is_none()
            && let (Some(line), Some(column)) = (d.line, d.column)
        {
            d.snippet = snippet(text, line, column);
        }
        self
    }
}

/// A 1-based position in the scenario text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    /// `None` for serde-saphyr's "unknown" location (line 0), e.g. values set by a sweep.
    pub(crate) fn from_location(loc: &Location) -> Option<Pos> {
        let line = usize::try_from(loc.line()).ok()?;
        let column = usize::try_from(loc.column()).ok()?;
        (line > 0).then_some(Pos {
            line,
            column: column.max(1),
        })
    }
}

pub(crate) fn diag(
    file: &str,
    pos: Option<Pos>,
    what: impl Into<String>,
    expected: impl Into<String>,
) -> Box<Diagnostic> {
    Box::new(Diagnostic {
        file: file.to_string(),
        line: pos.map(|p| p.line),
        column: pos.map(|p| p.column),
        what: what.into(),
        expected: expected.into(),
        snippet: None,
    })
}

/// The source line `line` (1-based) with a caret under `column` (1-based, in characters),
/// cropped around the column when long. `None` if the line does not exist.
pub(crate) fn snippet(text: &str, line: usize, column: usize) -> Option<String> {
    const WIDTH: usize = 100;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let raw = text.split('\n').nth(line.checked_sub(1)?)?;
    let raw = raw.strip_suffix('\r').unwrap_or(raw);
    let chars: Vec<char> = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let col = column.saturating_sub(1).min(chars.len());
    let (start, end) = if chars.len() <= WIDTH {
        (0, chars.len())
    } else {
        let start = col.saturating_sub(WIDTH / 2).min(chars.len() - WIDTH);
        (start, start + WIDTH)
    };
    let mut shown: String = chars[start..end].iter().collect();
    let mut caret_at = col - start;
    if start > 0 {
        shown.insert(0, '…');
        caret_at += 1;
    }
    if end < chars.len() {
        shown.push('…');
    }
    let gutter = line.to_string();
    let pad = " ".repeat(gutter.len());
    Some(format!(
        "{gutter} | {}\n{pad} | {}^",
        shown.trim_end(),
        " ".repeat(caret_at)
    ))
}

/// Turns a serde-saphyr error into a located [`ScenarioError::Yaml`].
pub(crate) fn from_saphyr(err: &serde_saphyr::Error, file: &str) -> ScenarioError {
    use serde_saphyr::Error as E;
    let err = err.without_snippet();
    // Aliases: report the inner error where the alias is used.
    let (inner, pos) = match err {
        E::AliasError {
            error, locations, ..
        } => {
            let inner = error.without_snippet();
            let pos = locations
                .primary_location()
                .as_ref()
                .and_then(Pos::from_location)
                .or_else(|| inner.location().as_ref().and_then(Pos::from_location));
            (inner, pos)
        }
        other => (
            other,
            other.location().as_ref().and_then(Pos::from_location),
        ),
    };
    let (what, expected) = describe(inner);
    ScenarioError::Yaml(diag(file, pos, what, expected))
}

fn one_of(names: &[&str]) -> String {
    match names {
        [] => "no field at all here".to_string(),
        [one] => format!("`{one}`"),
        _ => format!(
            "one of {}",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The message of a serde-saphyr error without its `at line L, column C` suffix.
fn bare_message(err: &serde_saphyr::Error) -> String {
    let text = err.to_string();
    let text = match text.rfind(" at line ") {
        Some(i) if text[i..].contains("column") => text[..i].to_string(),
        _ => text,
    };
    // Drop serde-saphyr's hints aimed at Rust developers.
    text.replace(", set DuplicateKeyPolicy in Options if acceptable", "")
        .replace(" rejected by the configured policy", "")
}

fn describe(err: &serde_saphyr::Error) -> (String, String) {
    use serde_saphyr::Error as E;
    const LIMITS: &str = "a scenario file of ordinary size: nesting at most 24 levels deep, \
                          at most 10000 aliases, no alias expansion bombs";
    match err {
        E::SerdeUnknownField {
            field, expected, ..
        } => (format!("unknown field `{field}`"), one_of(expected)),
        E::SerdeUnknownVariant {
            variant, expected, ..
        } => (format!("unknown value `{variant}`"), one_of(expected)),
        E::SerdeInvalidType {
            unexpected,
            expected,
            ..
        } => (format!("found {unexpected}"), expected.clone()),
        E::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => (format!("invalid value {unexpected}"), expected.clone()),
        E::SerdeInvalidLength { len, expected, .. } => {
            (format!("{len} elements"), expected.clone())
        }
        E::SerdeMissingField { field, .. } => (
            format!("missing field `{field}`"),
            format!("a `{field}:` entry in this mapping"),
        ),
        E::DuplicateMappingKey { key, .. } => (
            match key {
                Some(k) => format!("duplicate key `{k}`"),
                None => "duplicate key".to_string(),
            },
            "each key at most once per mapping".to_string(),
        ),
        E::Unexpected { expected, .. } => {
            let expected = match *expected {
                "mapping start" => "a mapping of `key: value` entries".to_string(),
                "sequence start" => "a list (`[a, b]` or `- item` lines)".to_string(),
                "string scalar" => "a single value here (text, a number or true/false)".to_string(),
                other => other.to_string(),
            };
            ("wrong kind of value".to_string(), expected)
        }
        E::MultipleDocuments { .. } => (
            "a second YAML document (`---`)".to_string(),
            "exactly one document per scenario file".to_string(),
        ),
        E::Eof { .. } => (
            "unexpected end of input".to_string(),
            "a complete YAML document".to_string(),
        ),
        E::UnknownAnchor { .. } => (
            "alias `*...` refers to an anchor that is not defined before it".to_string(),
            "an `&anchor` defined earlier in the file".to_string(),
        ),
        E::NonFiniteFloat { value, .. } => (
            format!("non-finite number `{value}`"),
            "a finite number".to_string(),
        ),
        E::InvalidScalar { ty, .. } => {
            (format!("not a valid {ty}"), format!("a value of type {ty}"))
        }
        E::Budget { breach, .. } => (
            format!(
                "input rejected by the parser's safety limits: {}",
                describe_breach(breach)
            ),
            LIMITS.to_string(),
        ),
        E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. }
        | E::AliasReplayCounterOverflow { .. } => (
            format!(
                "input rejected by the parser's safety limits: {}",
                bare_message(err)
            ),
            LIMITS.to_string(),
        ),
        E::ExternalMessage { .. } => {
            let msg = bare_message(err);
            if msg.contains("recursion limit") || msg.contains("nesting") {
                (
                    format!("input nested too deeply: {msg}"),
                    LIMITS.to_string(),
                )
            } else {
                (
                    format!("YAML syntax error: {msg}"),
                    "valid YAML".to_string(),
                )
            }
        }
        E::InvalidUtf8Input => (
            "the input is not valid UTF-8".to_string(),
            "a UTF-8 text file".to_string(),
        ),
        _ => (bare_message(err), "a valid scenario file".to_string()),
    }
}

fn describe_breach(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    match breach {
        B::Events { events } => format!("more than {events} parser events"),
        B::Aliases { aliases } => format!("{aliases} aliases (`*name`)"),
        B::Anchors { anchors } => format!("{anchors} anchors (`&name`)"),
        B::Depth { depth } => format!("nesting {depth} levels deep"),
        B::Documents { documents } => format!("{documents} YAML documents"),
        B::Nodes { nodes } => format!("{nodes} nodes"),
        B::ScalarBytes { total_scalar_bytes } => format!("{total_scalar_bytes} bytes of values"),
        B::MergeKeys { merge_keys } => format!("{merge_keys} merge keys (`<<`)"),
        B::AliasAnchorRatio { aliases, anchors } => {
            format!("{aliases} aliases for only {anchors} anchors (an alias expansion bomb?)")
        }
        B::RecordedAnchorEvents { .. } | B::RecordedAnchorBytes { .. } => {
            "aliases that expand to too much data (an alias expansion bomb?)".to_string()
        }
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_puts_the_caret_under_the_column() {
        let s = snippet("a: 1\n  bad: 2\n", 2, 3).unwrap();
        assert_eq!(s, "2 |   bad: 2\n  |   ^");
    }

    #[test]
    fn snippet_crops_long_lines_around_the_column() {
        let line = format!("{}X{}", "a".repeat(300), "b".repeat(300));
        let s = snippet(&line, 1, 301).unwrap();
        let mut lines = s.lines();
        let text = lines.next().unwrap();
        let caret = lines.next().unwrap();
        let x = text.chars().position(|c| c == 'X').unwrap();
        assert_eq!(caret.chars().position(|c| c == '^').unwrap(), x);
        assert!(text.chars().count() < 120);
    }

    #[test]
    fn snippet_of_a_missing_line_is_none() {
        assert_eq!(snippet("a: 1\n", 5, 1), None);
        assert_eq!(snippet("a: 1\n", 0, 1), None);
    }

    #[test]
    fn display_without_position_names_the_file() {
        let d = diag("f.yaml", None, "bad", "good");
        assert_eq!(d.to_string(), "f.yaml: bad; expected good");
    }
}
