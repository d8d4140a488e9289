//! Prefetch sizing (`acksim tune`): the rule of thumb `ceil(rate × interval / 0.65)`, and a
//! simulation of prefetch values around it that recommends one.
//!
//! The rule: a consumer should never run dry between two acks that re-open its prefetch
//! window. At `rate` messages/s, an ack every `interval` covers `rate × interval` messages, and
//! an AUTO consumer with optimizeAcknowledge acks the batch once `0.65 · P` messages are
//! consumed (semantics.md A2.12); so `P ≥ rate × interval / 0.65`. CLIENT, INDIVIDUAL and
//! transacted consumers send DELIVERED acks at `0.5 · P` instead (A2.6), AUTO without
//! optimizeAck (and DUPS_OK on a queue) ack every message, and optimizeAcknowledgeTimeOut acks
//! before a longer interval: [`caveats`] says which of these apply to a scenario.
//!
//! Simulation: every candidate prefetch is set on every consumer of the validated scenario and
//! run `replicates` times on a rayon pool. Replicate `r` uses seed `derive_seed(seed, r)` for
//! every candidate (common random numbers: the candidates see the same arrivals and processing
//! draws, so their differences are not noise of different seeds). Results do not depend on the
//! thread count.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::engine::{SimDuration, derive_seed};
use crate::model::config::{AckMode, Arrival, DeliveryMode, DurationDist, MAX_PREFETCH, Scenario};
use crate::model::{self, SimError};
use crate::report::chart::{self, ChartError};
use crate::report::{AtomicFile, ReportError};
use crate::sweep::stats::mean_ci95;

/// The table written by `acksim tune`.
pub const TUNE_FILE: &str = "tune.csv";
/// optimizeAcknowledge acks at 65 % of the prefetch (A2.12).
pub const OPTIMIZE_ACK_PERCENT: u32 = 65;
/// CLIENT / INDIVIDUAL / transacted DELIVERED acks at 50 % of the prefetch (A2.6).
pub const DELIVERED_ACK_PERCENT: u32 = 50;
/// Default replicates per candidate.
pub const DEFAULT_REPLICATES: u32 = 5;
/// Default tolerance, percent of the best mean goodput.
pub const DEFAULT_TOLERANCE_PERCENT: f64 = 5.0;

/// Why tuning failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TuneError {
    /// Bad arguments, or a scenario tune cannot derive what it needs from (bad input).
    #[error("{0}")]
    Input(String),
    /// One simulation failed.
    #[error("prefetch {prefetch}, replicate {replicate} (seed {seed}) failed")]
    Run {
        prefetch: u32,
        replicate: u32,
        seed: u64,
        #[source]
        source: SimError,
    },
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Chart(#[from] ChartError),
}

impl TuneError {
    /// Bad input of tune itself (exit status 2); the other variants are judged by their source.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, TuneError::Input(_))
    }
}

/// `ceil(rate × interval / (percent / 100))`: the smallest prefetch whose ack threshold
/// (`percent` % of it) is not reached before `rate × interval` messages are consumed.
///
/// Computed as `rate × interval_s × 100 / percent` and rounded up, except that a value within
/// 1e-9 (relative) of a whole number is that number: `65/s × 1 s / 0.65` is 100, not 101
/// because of binary rounding. At least 1.
pub fn rule_of_thumb(rate: f64, interval: SimDuration, percent: u32) -> u64 {
    let x = rate * interval.as_secs_f64() * 100.0 / f64::from(percent.max(1));
    let nearest = x.round();
    let value = if (x - nearest).abs() <= 1e-9 * nearest.max(1.0) {
        nearest
    } else {
        x.ceil()
    };
    // `as` saturates: an absurd rate gives u64::MAX, which the caller clamps.
    (value as u64).max(1)
}

/// Checks `--rate`: finite and positive.
pub fn check_rate(rate: f64) -> Result<f64, TuneError> {
    if rate.is_finite() && rate > 0.0 {
        Ok(rate)
    } else {
        Err(TuneError::Input(format!(
            "--rate {rate}: expected a positive number of messages per second, e.g. 100"
        )))
    }
}

/// Parses `--ack-interval`: a duration with a unit, greater than zero.
pub fn parse_interval(text: &str) -> Result<SimDuration, TuneError> {
    let d = crate::scenario::parse_duration_literal(text)
        .map_err(|e| TuneError::Input(format!("--ack-interval: {e}")))?;
    if d == SimDuration::ZERO {
        return Err(TuneError::Input(format!(
            "--ack-interval {text}: expected a duration greater than zero"
        )));
    }
    Ok(d)
}

fn secs(d: SimDuration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s} s")
    } else {
        format!("{} ms", s * 1e3)
    }
}

fn num(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// The rule of thumb for `rate` and `interval`, and a few lines on where it holds.
pub fn explain_rule(rate: f64, interval: SimDuration) -> String {
    let p = rule_of_thumb(rate, interval, OPTIMIZE_ACK_PERCENT);
    let p_half = rule_of_thumb(rate, interval, DELIVERED_ACK_PERCENT);
    let timeout = model::config::DEFAULT_OPTIMIZE_ACK_TIMEOUT;
    let capped = interval.min(timeout);
    let p_capped = rule_of_thumb(rate, capped, OPTIMIZE_ACK_PERCENT);
    let batch = rate * interval.as_secs_f64();
    let mut t = String::new();
    let _ = writeln!(
        t,
        "rule of thumb: prefetch = ceil(rate x interval / 0.65) = ceil({} x {} / 0.65) = {p}",
        num(rate),
        secs(interval)
    );
    if p > u64::from(MAX_PREFETCH) {
        let _ = writeln!(
            t,
            "  (above ActiveMQ's largest prefetch, {MAX_PREFETCH}: the acks must come more often)"
        );
    }
    let _ = writeln!(
        t,
        "\nwhy: the consumer should never run dry between two acks that re-open its window. At \
         {} msg/s an ack every {} covers {} messages; an AUTO consumer with optimizeAcknowledge \
         acks the batch once 0.65 x prefetch messages are consumed, so prefetch x 0.65 must be \
         at least {}.",
        num(rate),
        secs(interval),
        num(batch),
        num(batch)
    );
    let _ = writeln!(t, "\nwhere it is wrong:");
    let _ = writeln!(
        t,
        "- 0.65 applies only to AUTO_ACKNOWLEDGE with optimizeAcknowledge=true (off by \
         default; DUPS_OK never uses it)."
    );
    let _ = writeln!(
        t,
        "- CLIENT, INDIVIDUAL and transacted sessions send DELIVERED acks at 0.5 x prefetch: \
         use 0.5, ceil({} x {} / 0.5) = {p_half}.",
        num(rate),
        secs(interval)
    );
    let _ = writeln!(
        t,
        "- AUTO (and DUPS_OK on a queue) without optimizeAcknowledge acks every message: the \
         window re-opens per message and prefetch barely matters for ack pacing (it trades \
         buffering against balance between consumers)."
    );
    let _ = writeln!(
        t,
        "- With optimizeAcknowledge, optimizeAcknowledgeTimeOut ({} by default) acks before a \
         longer interval anyway (checked when a message is consumed): the effective interval is \
         min({}, {}) = {}, giving {p_capped}.",
        secs(timeout),
        secs(interval),
        secs(timeout),
        secs(capped)
    );
    let _ = writeln!(
        t,
        "- The rate is what one consumer receives: N consumers sharing a queue each see about \
         rate / N."
    );
    let _ = writeln!(
        t,
        "\nsimulate it: acksim tune [--rate R] [--ack-interval D] SCENARIO.yaml"
    );
    t
}

/// Where a derived value came from, for the report.
#[derive(Debug, Clone)]
pub struct Derived<T> {
    pub value: T,
    pub source: String,
}

/// Mean of a duration distribution in seconds (Normal ignores the clamp at 0; a Pareto with
/// shape ≤ 1 has no mean: infinite).
fn mean_s(d: &DurationDist) -> f64 {
    match *d {
        DurationDist::Constant(v) => v.as_secs_f64(),
        DurationDist::Exponential { mean } => mean.as_secs_f64(),
        DurationDist::Uniform { min, max } => (min.as_secs_f64() + max.as_secs_f64()) / 2.0,
        DurationDist::Normal { mean, .. } | DurationDist::LogNormal { mean, .. } => {
            mean.as_secs_f64()
        }
        DurationDist::Pareto { scale, shape } => {
            if shape > 1.0 {
                scale.as_secs_f64() * shape / (shape - 1.0)
            } else {
                f64::INFINITY
            }
        }
    }
}

/// The total arrival rate of the scenario's producers (messages/s).
pub fn scenario_rate(s: &Scenario) -> Result<Derived<f64>, TuneError> {
    let mut total = 0.0;
    let mut parts = Vec::new();
    for p in &s.producers {
        let r = match p.arrival {
            Arrival::Exponential { rate } => rate,
            Arrival::Constant { interval } if interval > SimDuration::ZERO => {
                1.0 / interval.as_secs_f64()
            }
            Arrival::Constant { .. } | Arrival::Burst => {
                return Err(TuneError::Input(format!(
                    "producer `{}` sends its messages at once (no rate to size the prefetch \
                     for); pass --rate MSGS_PER_S",
                    p.name
                )));
            }
        };
        total += r;
        parts.push(format!("{} {}/s", p.name, num(r)));
    }
    if !(total.is_finite() && total > 0.0) {
        return Err(TuneError::Input(
            "the scenario has no producer with a positive rate; pass --rate MSGS_PER_S".into(),
        ));
    }
    Ok(Derived {
        value: total,
        source: format!("sum of the producers' rates: {}", parts.join(" + ")),
    })
}

/// optimizeAcknowledge is in effect (A2.12: AUTO sessions only).
fn optimize_ack_on(c: &model::config::ConsumerConfig) -> bool {
    c.optimize_ack && c.ack_mode == AckMode::Auto
}

/// The time between the acks that re-open a consumer's window, as the scenario configures
/// it: the longest over the consumer groups.
pub fn scenario_interval(s: &Scenario) -> Result<Derived<SimDuration>, TuneError> {
    let mut best: Option<(SimDuration, String)> = None;
    for c in &s.consumers {
        let per_msg = mean_s(&c.processing);
        let (secs_value, why) = if optimize_ack_on(c) && c.optimize_ack_timeout > SimDuration::ZERO
        {
            (
                c.optimize_ack_timeout.as_secs_f64(),
                format!(
                    "`{}`, optimizeAcknowledgeTimeOut {}",
                    c.name,
                    secs(c.optimize_ack_timeout)
                ),
            )
        } else {
            let (n, what) = match c.ack_mode {
                AckMode::Client | AckMode::Individual if c.ack_every > 0 => {
                    (c.ack_every, "ack_every")
                }
                AckMode::Transacted if c.commit_every > 0 => (c.commit_every, "commit_every"),
                _ => (1, "one ack per message"),
            };
            (
                f64::from(n) * per_msg,
                format!(
                    "`{}`, {n} ({what}) x mean processing {}",
                    c.name,
                    secs(SimDuration::from_secs_f64(per_msg.min(1e9)))
                ),
            )
        };
        if !secs_value.is_finite() {
            return Err(TuneError::Input(format!(
                "consumer `{}`: its processing time has no finite mean; pass --ack-interval",
                c.name
            )));
        }
        let d = SimDuration::from_secs_f64(secs_value);
        if best.as_ref().is_none_or(|(b, _)| d > *b) {
            best = Some((d, why));
        }
    }
    match best {
        Some((d, why)) if d > SimDuration::ZERO => Ok(Derived {
            value: d,
            source: format!("longest time between acks over the consumers: {why}"),
        }),
        _ => Err(TuneError::Input(
            "cannot derive an ack interval from the consumers (zero processing time); pass \
             --ack-interval DURATION"
                .into(),
        )),
    }
}

/// Candidate prefetch values: the rule value, ×/÷ 2 and 4 around it, and 1-2-5 steps per
/// decade from 1 to 1000 (where the knee usually is: a window that just covers the ack round
/// trip is often far below the rule value); clamped to 1..=32767, sorted, deduplicated; 0
/// (pull) too if `allow_zero`.
pub fn candidates(rule: u64, allow_zero: bool) -> Vec<u32> {
    let clamp = |v: u64| v.clamp(1, u64::from(MAX_PREFETCH)) as u32;
    let mut v: Vec<u32> = [
        rule,
        rule / 4,
        rule / 2,
        rule.saturating_mul(2),
        rule.saturating_mul(4),
        1,
        2,
        5,
        10,
        20,
        50,
        100,
        200,
        500,
        1000,
    ]
    .into_iter()
    .map(clamp)
    .collect();
    if allow_zero {
        v.push(0);
    }
    v.sort_unstable();
    v.dedup();
    v
}

/// A tune request on a scenario: everything needed to run it.
#[derive(Debug, Clone)]
pub struct TunePlan {
    pub scenario: Scenario,
    pub rate: Derived<f64>,
    pub interval: Derived<SimDuration>,
    /// `ceil(rate × interval / 0.65)`, unclamped.
    pub rule: u64,
    pub candidates: Vec<u32>,
    pub replicates: u32,
}

impl TunePlan {
    /// Derives the rate and interval the flags do not give, and the candidates.
    pub fn new(
        scenario: Scenario,
        rate: Option<f64>,
        interval: Option<SimDuration>,
        replicates: u32,
    ) -> Result<Self, TuneError> {
        if scenario.broker.flavor == crate::model::config::BrokerFlavor::RocketMq {
            return Err(TuneError::Input(
                "tune sizes ActiveMQ's prefetch; a RocketMQ push consumer has none (its pulls are bounded by pull_threshold_for_queue, semantics.md B2.2)".into(),
            ));
        }
        let rate = match rate {
            Some(r) => Derived {
                value: check_rate(r)?,
                source: "--rate".into(),
            },
            None => scenario_rate(&scenario)?,
        };
        let interval = match interval {
            Some(d) => Derived {
                value: d,
                source: "--ack-interval".into(),
            },
            None => scenario_interval(&scenario)?,
        };
        let rule = rule_of_thumb(rate.value, interval.value, OPTIMIZE_ACK_PERCENT);
        let all_receive = scenario
            .consumers
            .iter()
            .all(|c| c.delivery == DeliveryMode::Receive);
        Ok(Self {
            candidates: candidates(rule, all_receive),
            scenario,
            rate,
            interval,
            rule,
            replicates: replicates.max(1),
        })
    }
}

/// Mean and 95 % CI half-width.
pub type Stat = (f64, f64);

/// One candidate's results over its replicates.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub prefetch: u32,
    pub runs: u32,
    pub throughput: Stat,
    /// Distinct messages processed per second ([`crate::metrics::RunSummary::goodput`]): what
    /// the recommendation ranks by, so replayed duplicates never count as speed.
    pub goodput: Stat,
    pub idle_with_backlog_s: Stat,
    pub duplicates: Stat,
    pub lost: Stat,
    /// Max over the consumers of their largest count of dispatched-but-unacked messages.
    pub max_unacked: Stat,
    pub latency_p99_s: Stat,
    /// Replicates cut by `until` or the horizon with events still scheduled.
    pub cut: u32,
}

/// The metrics of one run.
struct Sample {
    throughput: f64,
    goodput: f64,
    idle: f64,
    duplicates: f64,
    lost: f64,
    unacked: f64,
    p99: f64,
    cut: bool,
}

/// Runs every candidate × replicate on `threads` workers; rows in candidate order.
pub fn execute(plan: &TunePlan, threads: usize) -> Result<Vec<Row>, TuneError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("acksim-tune-{i}"))
        .build()
        .map_err(|e| TuneError::Input(format!("cannot start {threads} worker threads: {e}")))?;
    let r = plan.replicates;
    let jobs: Vec<(u32, u32)> = plan
        .candidates
        .iter()
        .flat_map(|&p| (0..r).map(move |i| (p, i)))
        .collect();
    let samples: Vec<Result<Sample, TuneError>> = pool.install(|| {
        jobs.par_iter()
            .with_max_len(1)
            .map(|&(prefetch, replicate)| {
                let mut s = plan.scenario.clone();
                for c in &mut s.consumers {
                    c.prefetch = prefetch;
                }
                s.seed = derive_seed(plan.scenario.seed, u64::from(replicate));
                let seed = s.seed;
                let o = model::run(&s, None).map_err(|source| TuneError::Run {
                    prefetch,
                    replicate,
                    seed,
                    source,
                })?;
                Ok(Sample {
                    throughput: o.summary.throughput,
                    goodput: o.summary.goodput(),
                    idle: o.summary.idle_with_backlog_s,
                    duplicates: o.summary.duplicates as f64,
                    lost: o.summary.lost as f64,
                    unacked: o.consumers.iter().map(|c| c.max_unacked).max().unwrap_or(0) as f64,
                    p99: o.summary.latency_p99_s,
                    cut: o.cut_by_until,
                })
            })
            .collect()
    });
    let samples: Vec<Sample> = samples.into_iter().collect::<Result<_, _>>()?;
    Ok(plan
        .candidates
        .iter()
        .zip(samples.chunks(r as usize))
        .map(|(&prefetch, xs)| {
            let stat = |f: fn(&Sample) -> f64| mean_ci95(&xs.iter().map(f).collect::<Vec<_>>());
            Row {
                prefetch,
                runs: r,
                throughput: stat(|s| s.throughput),
                goodput: stat(|s| s.goodput),
                idle_with_backlog_s: stat(|s| s.idle),
                duplicates: stat(|s| s.duplicates),
                lost: stat(|s| s.lost),
                max_unacked: stat(|s| s.unacked),
                latency_p99_s: stat(|s| s.p99),
                cut: xs.iter().filter(|s| s.cut).count() as u32,
            }
        })
        .collect())
}

/// The recommendation: the smallest prefetch within `tolerance` percent of the best on both
/// what the consumers get done and how long messages wait — mean goodput (distinct messages
/// processed per second) at least `1 − tolerance` of the best, and mean p99 latency at most
/// `1 + tolerance` times the best. Goodput rather than throughput: a prefetch whose crashes
/// replay more messages processes more per second without getting any more work done. Latency
/// too, because under a load the consumers keep up with, every prefetch has the same goodput
/// and the difference is in how long messages queue (behind a round trip with a tiny window,
/// behind a slow consumer's hoard with a huge one). When no candidate is within tolerance on
/// both, goodput alone decides.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    /// Index into the rows.
    pub index: usize,
    /// Index of the row with the best mean goodput (the smallest such prefetch).
    pub best: usize,
    /// Index of the row with the best mean p99 latency (the smallest such prefetch).
    pub best_latency: usize,
    /// Whether the recommendation also meets the latency criterion.
    pub latency_met: bool,
    pub tolerance_percent: f64,
}

/// The index of the best finite value by `better(candidate, incumbent)`, smallest index on ties.
fn best_by(rows: &[Row], value: fn(&Row) -> f64, better: fn(f64, f64) -> bool) -> Option<usize> {
    rows.iter()
        .enumerate()
        .filter(|(_, r)| value(r).is_finite())
        .fold(None::<usize>, |b, (i, r)| match b {
            Some(j) if !better(value(r), value(&rows[j])) => Some(j),
            _ => Some(i),
        })
}

/// Picks the recommendation (rows in ascending prefetch order, as [`execute`] returns them).
pub fn recommend(rows: &[Row], tolerance_percent: f64) -> Option<Recommendation> {
    let best = best_by(rows, |r| r.goodput.0, |a, b| a > b)?;
    let best_latency = best_by(rows, |r| r.latency_p99_s.0, |a, b| a < b).unwrap_or(best);
    let floor = rows[best].goodput.0 * (1.0 - tolerance_percent / 100.0);
    let ceiling = rows[best_latency].latency_p99_s.0 * (1.0 + tolerance_percent / 100.0);
    let goodput_ok = |r: &Row| r.goodput.0.is_finite() && r.goodput.0 >= floor;
    let latency_ok = |r: &Row| r.latency_p99_s.0.is_finite() && r.latency_p99_s.0 <= ceiling;
    let both = rows.iter().position(|r| goodput_ok(r) && latency_ok(r));
    let index = match both {
        Some(i) => i,
        None => rows.iter().position(goodput_ok)?,
    };
    Some(Recommendation {
        index,
        best,
        best_latency,
        latency_met: both.is_some(),
        tolerance_percent,
    })
}

fn pm(s: Stat, digits: usize) -> String {
    format!("{:.digits$} ±{:.digits$}", s.0, s.1)
}

/// The trade-off table as text.
pub fn table_text(rows: &[Row], rec: Option<&Recommendation>) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:>9}  {:>18}  {:>20}  {:>14}  {:>16}  {:>18}",
        "prefetch",
        "goodput msg/s",
        "idle_with_backlog s",
        "duplicates",
        "max unacked",
        "p99 latency s"
    );
    for (i, r) in rows.iter().enumerate() {
        let mark = if rec.is_some_and(|x| x.index == i) {
            "  <- recommended"
        } else {
            ""
        };
        let _ = writeln!(
            t,
            "{:>9}  {:>18}  {:>20}  {:>14}  {:>16}  {:>18}{mark}",
            r.prefetch,
            pm(r.goodput, 1),
            pm(r.idle_with_backlog_s, 3),
            pm(r.duplicates, 1),
            pm(r.max_unacked, 1),
            pm(r.latency_p99_s, 4),
        );
    }
    t
}

/// Why the recommendation, in a few sentences.
pub fn recommendation_text(rows: &[Row], rec: &Recommendation) -> String {
    let r = &rows[rec.index];
    let b = &rows[rec.best];
    let l = &rows[rec.best_latency];
    let tol = rec.tolerance_percent;
    let goodput = format!(
        "goodput {:.1} distinct messages/s (best {:.1}/s, at prefetch {})",
        r.goodput.0, b.goodput.0, b.prefetch
    );
    let latency = format!(
        "p99 latency {:.4} s (best {:.4} s, at prefetch {})",
        r.latency_p99_s.0, l.latency_p99_s.0, l.prefetch
    );
    let mut t = if rec.latency_met {
        format!(
            "recommended prefetch: {}\nwhy: it is the smallest prefetch within {tol}% of the \
             best on both counts: {goodput}, {latency}.",
            r.prefetch
        )
    } else {
        format!(
            "recommended prefetch: {}\nwhy: no prefetch is within {tol}% of the best on both \
             goodput and p99 latency, so goodput decides: it is the smallest within {tol}% of \
             the best, {goodput}; its {latency}.",
            r.prefetch
        )
    };
    if let Some(largest) = rows.last().filter(|l| l.prefetch > r.prefetch) {
        let _ = write!(
            t,
            " {}: at prefetch {} one consumer held up to {:.0} unacked messages, idle with \
             backlog was {:.3} s and a crash exposed {:.1} duplicates; at {} they are {:.0}, \
             {:.3} s and {:.1}.",
            if rec.index == rec.best {
                "No larger prefetch gets more done, and a larger one costs".to_string()
            } else {
                format!(
                    "A larger prefetch buys at most {:.1}% more mean goodput, at a cost",
                    (b.goodput.0 / r.goodput.0 - 1.0).max(0.0) * 100.0
                )
            },
            largest.prefetch,
            largest.max_unacked.0,
            largest.idle_with_backlog_s.0,
            largest.duplicates.0,
            r.prefetch,
            r.max_unacked.0,
            r.idle_with_backlog_s.0,
            r.duplicates.0,
        );
    }
    t.push('\n');
    t
}

/// Where the rule of thumb is wrong for this scenario.
pub fn caveats(plan: &TunePlan, recommended: Option<u32>) -> Vec<String> {
    let s = &plan.scenario;
    let (rate, interval) = (plan.rate.value, plan.interval.value);
    let mut out = Vec::new();
    let groups = |pred: &dyn Fn(&model::config::ConsumerConfig) -> bool| -> Vec<String> {
        s.consumers
            .iter()
            .filter(|c| pred(c))
            .map(|c| format!("`{}`", c.name))
            .collect()
    };
    let oa = groups(&|c| optimize_ack_on(c));
    if !oa.is_empty() {
        let timeout = s
            .consumers
            .iter()
            .filter(|c| optimize_ack_on(c) && c.optimize_ack_timeout > SimDuration::ZERO)
            .map(|c| c.optimize_ack_timeout)
            .min();
        match timeout {
            Some(t) if t < interval => out.push(format!(
                "{} (AUTO + optimizeAcknowledge): optimizeAcknowledgeTimeOut {} acks before the \
                 {} interval, so the effective interval is {} and the rule gives {} instead of \
                 {}.",
                oa.join(", "),
                secs(t),
                secs(interval),
                secs(t),
                rule_of_thumb(rate, t, OPTIMIZE_ACK_PERCENT),
                plan.rule
            )),
            Some(t) => out.push(format!(
                "{} (AUTO + optimizeAcknowledge): the 0.65 factor applies; the timeout ({}) is \
                 checked only when a message is consumed, so an idle consumer keeps up to \
                 ceil(0.65 x P) - 1 messages unacked.",
                oa.join(", "),
                secs(t)
            )),
            None => out.push(format!(
                "{} (AUTO + optimizeAcknowledge, timeout 0): the 0.65 factor applies and nothing \
                 caps the interval.",
                oa.join(", ")
            )),
        }
    }
    let delivered = groups(&|c| {
        matches!(
            c.ack_mode,
            AckMode::Client | AckMode::Individual | AckMode::Transacted
        )
    });
    if !delivered.is_empty() {
        out.push(format!(
            "{} (CLIENT/INDIVIDUAL/transacted): DELIVERED acks re-open the window at 0.5 x P, \
             not 0.65: the rule should divide by 0.5, giving {}.",
            delivered.join(", "),
            rule_of_thumb(rate, interval, DELIVERED_ACK_PERCENT)
        ));
    }
    let ignored = groups(&|c| c.optimize_ack && c.ack_mode != AckMode::Auto);
    if !ignored.is_empty() {
        out.push(format!(
            "{}: optimize_ack is set but has no effect outside AUTO_ACKNOWLEDGE sessions.",
            ignored.join(", ")
        ));
    }
    let per_message =
        groups(&|c| matches!(c.ack_mode, AckMode::Auto | AckMode::DupsOk) && !optimize_ack_on(c));
    if !per_message.is_empty() {
        out.push(format!(
            "{} (AUTO/DUPS_OK without optimizeAcknowledge): one ack per message, so the 0.65 \
             batch does not exist and prefetch does not pace acks; it only trades buffering \
             against balance between consumers.",
            per_message.join(", ")
        ));
    }
    let n = s.consumer_instance_count();
    if n > 1 {
        out.push(format!(
            "{n} consumer instances share the queue: each sees about {:.1} msg/s, so per \
             consumer the rule gives {}, not {}.",
            rate / n as f64,
            rule_of_thumb(rate / n as f64, interval, OPTIMIZE_ACK_PERCENT),
            plan.rule
        ));
    }
    if let Some(p) = recommended {
        let rule = plan.rule.min(u64::from(MAX_PREFETCH));
        let verdict = if u64::from(p) * 2 <= rule {
            "oversizes"
        } else if u64::from(p) >= rule * 2 {
            "undersizes"
        } else {
            "roughly matches"
        };
        out.push(format!(
            "overall: the rule says {}, the simulation recommends {p}: the rule {verdict} the \
             prefetch for this scenario.",
            plan.rule
        ));
    }
    out
}

/// `tune.csv`: one row per candidate, shaped like a sweep's `cells.csv` (`cell`, the grid key
/// `prefetch`, `runs`, then `<metric>_mean`, `<metric>_ci95`), plus `recommended` (0/1).
pub fn write_table(
    path: &Path,
    rows: &[Row],
    rec: Option<&Recommendation>,
) -> Result<PathBuf, TuneError> {
    let mut f = AtomicFile::create(path)?;
    let mut text = String::from(
        "cell,prefetch,runs,throughput_mean,throughput_ci95,goodput_mean,goodput_ci95,\
         idle_with_backlog_s_mean,\
         idle_with_backlog_s_ci95,duplicates_mean,duplicates_ci95,lost_mean,lost_ci95,\
         max_unacked_mean,max_unacked_ci95,latency_p99_s_mean,latency_p99_s_ci95,cut_runs,\
         recommended\n",
    );
    for (i, r) in rows.iter().enumerate() {
        let _ = write!(text, "{i},{},{}", r.prefetch, r.runs);
        for s in [
            r.throughput,
            r.goodput,
            r.idle_with_backlog_s,
            r.duplicates,
            r.lost,
            r.max_unacked,
            r.latency_p99_s,
        ] {
            let _ = write!(text, ",{},{}", s.0, s.1);
        }
        let _ = writeln!(
            text,
            ",{},{}",
            r.cut,
            u8::from(rec.is_some_and(|x| x.index == i))
        );
    }
    f.write_all(text.as_bytes())
        .map_err(|source| ReportError::Write {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(f.commit()?)
}

/// Writes `tune.csv` into `dir` and draws its charts (throughput, goodput, idle with backlog,
/// max unacked, duplicates, p99 latency vs prefetch), titled with `scenario`; returns the files
/// written.
pub fn write_outputs(
    dir: &Path,
    scenario: &str,
    rows: &[Row],
    rec: Option<&Recommendation>,
) -> Result<Vec<PathBuf>, TuneError> {
    let table = write_table(&dir.join(TUNE_FILE), rows, rec)?;
    let mut written = vec![table.clone()];
    written.extend(chart::sweep::draw_all_titled(
        &table,
        dir,
        Some(format!("{scenario} (acksim tune)")),
    )?);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> SimDuration {
        parse_interval(text).unwrap()
    }

    #[test]
    fn rule_of_thumb_rounds_up_exactly() {
        assert_eq!(rule_of_thumb(100.0, d("2s"), OPTIMIZE_ACK_PERCENT), 308);
        assert_eq!(rule_of_thumb(65.0, d("1s"), OPTIMIZE_ACK_PERCENT), 100);
        assert_eq!(rule_of_thumb(0.1, d("6.5s"), OPTIMIZE_ACK_PERCENT), 1);
        assert_eq!(rule_of_thumb(66.0, d("1s"), OPTIMIZE_ACK_PERCENT), 102);
        assert_eq!(rule_of_thumb(100.0, d("2s"), DELIVERED_ACK_PERCENT), 400);
        assert_eq!(rule_of_thumb(1.0, d("1ms"), OPTIMIZE_ACK_PERCENT), 1);
    }

    #[test]
    fn candidates_are_clamped_sorted_and_distinct() {
        assert_eq!(
            candidates(308, false),
            [
                1, 2, 5, 10, 20, 50, 77, 100, 154, 200, 308, 500, 616, 1000, 1232
            ]
        );
        assert_eq!(candidates(20000, false).last(), Some(&MAX_PREFETCH));
        assert_eq!(
            candidates(1, true),
            [0, 1, 2, 4, 5, 10, 20, 50, 100, 200, 500, 1000]
        );
    }

    #[test]
    fn bad_flags_are_bad_input() {
        assert!(check_rate(-1.0).unwrap_err().is_bad_input());
        assert!(check_rate(f64::NAN).is_err());
        assert!(
            parse_interval("2")
                .unwrap_err()
                .to_string()
                .contains("unit")
        );
        assert!(parse_interval("0s").is_err());
    }

    fn row(prefetch: u32, goodput: f64) -> Row {
        Row {
            prefetch,
            runs: 1,
            throughput: (goodput, 0.0),
            goodput: (goodput, 0.0),
            idle_with_backlog_s: (0.0, 0.0),
            duplicates: (0.0, 0.0),
            lost: (0.0, 0.0),
            max_unacked: (0.0, 0.0),
            latency_p99_s: (0.0, 0.0),
            cut: 0,
        }
    }

    #[test]
    fn duplicates_never_count_as_speed() {
        // Prefetch 1000 processes more per second only because its crash replays messages:
        // the same goodput, so the smaller prefetch is the best.
        let mut rows = [row(10, 100.0), row(1000, 100.0)];
        rows[1].throughput = (106.0, 0.0);
        let rec = recommend(&rows, 5.0).unwrap();
        assert_eq!((rec.index, rec.best), (0, 0));
    }

    #[test]
    fn latency_decides_between_equal_goodputs() {
        // A load every prefetch keeps up with: prefetch 1 waits a round trip per message, 1000
        // queues behind a hoard; 10 is the smallest within 5 % of the best p99 (0.50 s).
        let mut rows = [
            row(1, 100.0),
            row(10, 100.0),
            row(100, 100.0),
            row(1000, 100.0),
        ];
        for (r, p99) in rows.iter_mut().zip([1.2, 0.52, 0.50, 4.0]) {
            r.latency_p99_s = (p99, 0.0);
        }
        let rec = recommend(&rows, 5.0).unwrap();
        assert_eq!((rec.index, rec.best, rec.best_latency), (1, 0, 2));
        assert!(rec.latency_met);
        assert!(recommendation_text(&rows, &rec).contains("within 5% of the best on both"));
    }

    #[test]
    fn goodput_decides_when_no_candidate_meets_both() {
        // The lowest latency belongs to a prefetch that gets far less done.
        let mut rows = [row(1, 50.0), row(10, 100.0)];
        rows[0].latency_p99_s = (0.1, 0.0);
        rows[1].latency_p99_s = (1.0, 0.0);
        let rec = recommend(&rows, 5.0).unwrap();
        assert_eq!((rec.index, rec.latency_met), (1, false));
        assert!(recommendation_text(&rows, &rec).contains("so goodput decides"));
    }

    #[test]
    fn recommends_the_smallest_within_tolerance() {
        let rows = [
            row(1, 50.0),
            row(10, 96.0),
            row(100, 100.0),
            row(1000, 99.0),
        ];
        let rec = recommend(&rows, 5.0).unwrap();
        assert_eq!((rec.index, rec.best), (1, 2));
        assert_eq!(recommend(&rows, 0.0).unwrap().index, 2);
        assert_eq!(recommend(&rows, 60.0).unwrap().index, 0);
    }
}
