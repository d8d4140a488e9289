//! Duration literals: `250us`, `5ms`, `1.5s`, `2m`, `1h`.
//!
//! A duration is a non-negative decimal number followed by a unit: `ns`, `us` (or `µs`),
//! `ms`, `s`, `m` (minutes), `h`. Whitespace between the number and the unit is allowed.
//! Decimals are converted **exactly** to integer nanoseconds (decimal arithmetic on integers,
//! never through `f64`): `1.5s` is exactly 1 500 000 000 ns, `0.1ms` is 100 000 ns. A value
//! that is not a whole number of nanoseconds (`0.5ns`, `1.0000000001s`) is **rejected**, not
//! rounded. A bare `0` (no unit) is accepted as zero; any other number without a unit is an
//! error. Negative durations and durations beyond `u64` nanoseconds (≈ 584 years) are errors.

use crate::engine::SimDuration;

/// The units, longest spelling first so that `ms` is not read as `m` + garbage.
const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// The text for "expected ..." in duration errors.
pub(crate) const EXPECTED_DURATION: &str =
    "a duration with a unit (ns, us, ms, s, m, h), e.g. `250ms` or `1.5s`";

/// Why a duration literal was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DurationError {
    Empty,
    Negative,
    /// A number without a unit (other than a bare zero).
    NoUnit,
    UnknownUnit(String),
    /// Not of the form `<digits>[.<digits>]<unit>`.
    Malformed,
    /// Not a whole number of nanoseconds.
    SubNanosecond,
    Overflow,
}

impl DurationError {
    /// What is wrong with `text`, for an error message (the caller adds "expected ...").
    pub(crate) fn describe(&self, text: &str) -> String {
        match self {
            DurationError::Empty => "empty duration".to_string(),
            DurationError::Negative => format!("negative duration `{text}`"),
            DurationError::NoUnit => {
                format!("`{text}` has no unit: a duration needs a unit")
            }
            DurationError::UnknownUnit(u) => {
                format!("unknown duration unit `{u}` in `{text}`")
            }
            DurationError::Malformed => format!("`{text}` is not a duration"),
            DurationError::SubNanosecond => {
                format!(
                    "`{text}` is not a whole number of nanoseconds (finer values are rejected, not rounded)"
                )
            }
            DurationError::Overflow => {
                format!("`{text}` is too long (the limit is about 584 years)")
            }
        }
    }
}

/// Parses a duration literal given outside a scenario file (a command-line flag): the
/// rules of [`parse_duration`], with a complete message (what is wrong, what was expected).
pub fn parse_duration_literal(text: &str) -> Result<SimDuration, String> {
    parse_duration(text).map_err(|e| format!("{}; expected {EXPECTED_DURATION}", e.describe(text)))
}

/// Parses a duration literal (see the module documentation).
pub(crate) fn parse_duration(text: &str) -> Result<SimDuration, DurationError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(DurationError::Empty);
    }
    if t.starts_with('-') {
        return Err(DurationError::Negative);
    }
    let number_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = (&t[..number_end], t[number_end..].trim_start());
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if int_part.is_empty()
        || frac_part.contains('.')
        || (number.contains('.') && frac_part.is_empty())
    {
        return Err(DurationError::Malformed);
    }
    let unit_ns = if unit.is_empty() {
        if int_part.bytes().all(|b| b == b'0') && frac_part.bytes().all(|b| b == b'0') {
            return Ok(SimDuration::ZERO);
        }
        return Err(DurationError::NoUnit);
    } else {
        match UNITS.iter().find(|(u, _)| *u == unit) {
            Some((_, ns)) => *ns,
            None => {
                return Err(if unit.starts_with(|c: char| c.is_alphabetic()) {
                    DurationError::UnknownUnit(unit.to_string())
                } else {
                    DurationError::Malformed
                });
            }
        }
    };
    let int_digits = int_part.trim_start_matches('0');
    if int_digits.len() > 24 {
        return Err(DurationError::Overflow);
    }
    let int: u128 = if int_digits.is_empty() {
        0
    } else {
        int_digits.parse().map_err(|_| DurationError::Malformed)?
    };
    let frac_digits = frac_part.trim_end_matches('0');
    // The largest unit, 3.6e12 ns, has 10^12 as its largest power-of-ten factor, so more than
    // 12 significant decimals can never give whole nanoseconds.
    if frac_digits.len() > 12 {
        return Err(DurationError::SubNanosecond);
    }
    let scale = 10u128.pow(frac_digits.len() as u32);
    let frac: u128 = if frac_digits.is_empty() {
        0
    } else {
        frac_digits.parse().map_err(|_| DurationError::Malformed)?
    };
    let frac_ns = frac * unit_ns;
    if !frac_ns.is_multiple_of(scale) {
        return Err(DurationError::SubNanosecond);
    }
    let total = int
        .checked_mul(unit_ns)
        .and_then(|v| v.checked_add(frac_ns / scale))
        .ok_or(DurationError::Overflow)?;
    u64::try_from(total)
        .map(SimDuration::from_nanos)
        .map_err(|_| DurationError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(text: &str) -> u64 {
        parse_duration(text).unwrap().as_nanos()
    }

    #[test]
    fn every_unit_parses() {
        assert_eq!(ns("7ns"), 7);
        assert_eq!(ns("250us"), 250_000);
        assert_eq!(ns("250µs"), 250_000);
        assert_eq!(ns("5ms"), 5_000_000);
        assert_eq!(ns("2s"), 2_000_000_000);
        assert_eq!(ns("1m"), 60_000_000_000);
        assert_eq!(ns("1h"), 3_600_000_000_000);
        assert_eq!(ns(" 3 ms "), 3_000_000);
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(ns("1.5s"), 1_500_000_000);
        assert_eq!(ns("0.1ms"), 100_000);
        assert_eq!(ns("0.001us"), 1);
        assert_eq!(ns("1.25m"), 75_000_000_000);
        assert_eq!(ns("0.000000001s"), 1);
        assert_eq!(ns("2.500000000000000000s"), 2_500_000_000);
        assert_eq!(ns("0.3s"), 300_000_000); // 0.3 is not exact in f64
    }

    #[test]
    fn bare_zero_is_zero() {
        assert_eq!(ns("0"), 0);
        assert_eq!(ns("0.0"), 0);
        assert_eq!(ns("0s"), 0);
    }

    #[test]
    fn rejections() {
        assert_eq!(parse_duration("5"), Err(DurationError::NoUnit));
        assert_eq!(parse_duration("1.5"), Err(DurationError::NoUnit));
        assert_eq!(parse_duration("-5ms"), Err(DurationError::Negative));
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert_eq!(parse_duration("0.5ns"), Err(DurationError::SubNanosecond));
        assert_eq!(
            parse_duration("1.0000000001s"),
            Err(DurationError::SubNanosecond)
        );
        assert_eq!(
            parse_duration("5 parsecs"),
            Err(DurationError::UnknownUnit("parsecs".into()))
        );
        assert_eq!(
            parse_duration("5sec"),
            Err(DurationError::UnknownUnit("sec".into()))
        );
        assert_eq!(parse_duration("ms"), Err(DurationError::Malformed));
        assert_eq!(parse_duration("1.2.3s"), Err(DurationError::Malformed));
        assert_eq!(parse_duration(".5s"), Err(DurationError::Malformed));
        assert_eq!(parse_duration("5.s"), Err(DurationError::Malformed));
        assert_eq!(
            parse_duration("1e3ms"),
            Err(DurationError::UnknownUnit("e3ms".into()))
        );
        assert_eq!(parse_duration("6000000h"), Err(DurationError::Overflow));
        assert_eq!(
            parse_duration("99999999999999999999999999999999999999s"),
            Err(DurationError::Overflow)
        );
        assert_eq!(ns("18446744073709551615ns"), u64::MAX);
        assert_eq!(
            parse_duration("18446744073709551616ns"),
            Err(DurationError::Overflow)
        );
    }
}
