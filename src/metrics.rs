//! Every metric acksim reports, defined once.
//!
//! [`RunSummary`] is one row of `summary.csv` / `runs.csv` and [`ConsumerSummary`] one row of
//! `consumers.csv` (contract.md "Outputs"). The column tables ([`SUMMARY_COLUMNS`],
//! [`CONSUMER_COLUMNS`]) are the single place that names a column and says what it means;
//! writers iterate them, so a column cannot be spelled two ways.

/// Ack commands the broker received, by `MessageAck` type (semantics.md A2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AckCounts {
    pub standard: u64,
    pub delivered: u64,
    pub individual: u64,
    pub redelivered: u64,
    pub poison: u64,
    pub expired: u64,
    /// Received acks the broker could not correlate and ignored (also counted under their
    /// type, so not part of the total).
    pub rejected: u64,
}

impl AckCounts {
    /// Ack commands received, all types.
    pub fn total(&self) -> u64 {
        self.standard
            + self.delivered
            + self.individual
            + self.redelivered
            + self.poison
            + self.expired
    }
}

/// RocketMQ counters (semantics.md B3, B4); zero for ActiveMQ runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RocketMqCounts {
    /// UPDATE_CONSUMER_OFFSET commands the broker received (periodic persists and queue
    /// removals; offsets piggybacked on pulls not counted), or BROADCASTING offset-file writes.
    pub offset_commits: u64,
    /// CONSUMER_SEND_MSG_BACK messages the broker received (the orderly DLQ send included).
    pub sent_back: u64,
    /// Deliveries of messages pulled from `%RETRY%<group>`.
    pub retry_deliveries: u64,
}

/// The outcome of one run: one row of `summary.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub scenario: String,
    pub seed: u64,
    pub produced: u64,
    /// Copies owed to consumers, each with its own fate: `produced` on a queue (and in RocketMQ
    /// CLUSTERING); on an ActiveMQ topic one per subscriber that had a subscription (or a
    /// durable store entry) when a message was published; in RocketMQ BROADCASTING one per
    /// consumer instance (`produced × instances`). An extension of the contract.
    pub copies: u64,
    /// Topic copies subscribers never got because they had no subscription when the message
    /// was published (semantics.md A5.6). An extension of the contract.
    pub missed: u64,
    /// Topic copies dropped by a pending-message limit (→ DLQ if persistent, A9.3); they are
    /// also counted in `dlq` or `lost`. An extension of the contract.
    pub discarded: u64,
    /// Broker → consumer dispatch commands (first dispatches and redispatches after a lost
    /// consumer). An extension of the contract.
    pub dispatched: u64,
    pub deliveries: u64,
    pub redelivered: u64,
    pub processed: u64,
    pub unique_processed: u64,
    pub duplicates: u64,
    pub lost: u64,
    pub dlq: u64,
    pub expired: u64,
    pub in_flight: u64,
    pub acks: AckCounts,
    pub rocketmq: RocketMqCounts,
    pub stalled: bool,
    /// Consumers aborted by the broker's slow-consumer strategy (A8.3). An extension of the
    /// contract.
    pub slow_consumer_aborts: u64,
    pub idle_with_backlog_s: f64,
    pub jain_fairness: f64,
    pub makespan_s: f64,
    pub throughput: f64,
    pub latency_p50_s: f64,
    pub latency_p99_s: f64,
    /// Simulated time at which the run ended (last event executed, or `until`).
    pub end_s: f64,
    pub events: u64,
    pub wall_s: f64,
    /// Side effects an idempotent consumer skipped (an extension of the contract).
    pub duplicates_suppressed: u64,
    /// The producers' view of their sends (an extension of the contract).
    pub send: crate::model::producer::SendCounts,
}

impl RunSummary {
    /// contract.md: every accepted message ends a run with exactly one fate, so
    /// `produced = unique_processed + lost + dlq + expired + in_flight`. On a topic every
    /// subscriber's copy, and in RocketMQ BROADCASTING every instance's copy, is a separate
    /// fate, so the sum is `copies` (= `produced` on a queue).
    pub fn conserves_messages(&self) -> bool {
        self.copies == self.unique_processed + self.lost + self.dlq + self.expired + self.in_flight
    }

    /// Distinct messages processed per second of makespan: `unique_processed / makespan_s`
    /// (0 when nothing was processed). Unlike `throughput` it does not count the second
    /// processing of a duplicate, so a setting that makes a crash replay more messages does not
    /// look faster; `acksim tune` ranks prefetch values by it.
    pub fn goodput(&self) -> f64 {
        if self.makespan_s > 0.0 {
            self.unique_processed as f64 / self.makespan_s
        } else {
            0.0
        }
    }
}

/// One consumer instance's share of a run: one row of `consumers.csv`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConsumerSummary {
    pub consumer: String,
    pub processed: u64,
    pub duplicates: u64,
    pub deliveries: u64,
    pub redelivered: u64,
    pub acks_sent: u64,
    pub max_unacked: u64,
    pub idle_with_backlog_s: f64,
    pub busy_s: f64,
    pub crashes: u64,
    /// Times the broker's slow-consumer strategy aborted this instance's consumer (A8.3). An
    /// extension of the contract.
    pub aborted: u64,
}

/// A cell value, formatted identically by every writer.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Str(&'a str),
    U64(u64),
    F64(f64),
    Bool(bool),
}

impl std::fmt::Display for Value<'_> {
    /// Floats print in Rust's shortest round-trip form, which is deterministic.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::U64(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
        }
    }
}

/// A named output column of rows of type `T`.
pub struct Column<T> {
    pub name: &'static str,
    pub meaning: &'static str,
    pub value: for<'a> fn(&'a T) -> Value<'a>,
}

macro_rules! column {
    ($name:literal, $meaning:literal, |$r:ident| $e:expr) => {
        Column {
            name: $name,
            meaning: $meaning,
            value: |$r| $e,
        }
    };
}

/// The columns of `summary.csv` and `runs.csv`, in output order.
pub const SUMMARY_COLUMNS: &[Column<RunSummary>] = &[
    column!("scenario", "scenario name", |r| Value::Str(&r.scenario)),
    column!("seed", "seed of this run", |r| Value::U64(r.seed)),
    column!("produced", "messages the broker accepted", |r| Value::U64(
        r.produced
    )),
    column!(
        "copies",
        "copies owed to consumers: produced on a queue; on a topic one per subscriber subscribed (or durable) when the message was published; in RocketMQ broadcasting produced x instances. copies = unique_processed + lost + dlq + expired + in_flight",
        |r| Value::U64(r.copies)
    ),
    column!(
        "missed",
        "topic copies not made because the subscriber had no subscription when the message was published (non-durable offline, not yet subscribed, durable offline for a non-persistent message)",
        |r| Value::U64(r.missed)
    ),
    column!(
        "discarded",
        "topic copies dropped by a pending-message limit (persistent ones also count in dlq, non-persistent ones in lost)",
        |r| Value::U64(r.discarded)
    ),
    column!(
        "dispatched",
        "broker-to-consumer dispatch commands, first and re-dispatches",
        |r| Value::U64(r.dispatched)
    ),
    column!(
        "deliveries",
        "messages handed to a consumer application (onMessage or receive), first deliveries and redeliveries",
        |r| Value::U64(r.deliveries)
    ),
    column!(
        "redelivered",
        "deliveries that carried the JMSRedelivered flag",
        |r| Value::U64(r.redelivered)
    ),
    column!(
        "processed",
        "successful processing completions (side effects)",
        |r| Value::U64(r.processed)
    ),
    column!(
        "unique_processed",
        "distinct messages processed at least once (on a topic: distinct copies, i.e. (message, subscriber) pairs)",
        |r| Value::U64(r.unique_processed)
    ),
    column!(
        "duplicates",
        "processed - unique_processed",
        |r| Value::U64(r.duplicates)
    ),
    column!(
        "lost",
        "accepted messages never processed and no longer anywhere (acknowledged or discarded unprocessed)",
        |r| Value::U64(r.lost)
    ),
    column!(
        "dlq",
        "messages dead-lettered without ever being processed",
        |r| Value::U64(r.dlq)
    ),
    column!(
        "expired",
        "messages discarded by TTL without ever being processed",
        |r| Value::U64(r.expired)
    ),
    column!(
        "in_flight",
        "never-processed messages still in the broker or a consumer at the end",
        |r| Value::U64(r.in_flight)
    ),
    column!(
        "acks_total",
        "ack commands the broker received, all types",
        |r| Value::U64(r.acks.total())
    ),
    column!("acks_standard", "STANDARD ack commands", |r| Value::U64(
        r.acks.standard
    )),
    column!("acks_delivered", "DELIVERED ack commands", |r| Value::U64(
        r.acks.delivered
    )),
    column!(
        "acks_individual",
        "INDIVIDUAL ack commands",
        |r| Value::U64(r.acks.individual)
    ),
    column!("acks_redelivered", "REDELIVERED ack commands", |r| {
        Value::U64(r.acks.redelivered)
    }),
    column!("acks_poison", "POISON ack commands", |r| Value::U64(
        r.acks.poison
    )),
    column!("acks_expired", "EXPIRED ack commands", |r| Value::U64(
        r.acks.expired
    )),
    column!(
        "acks_rejected",
        "ack commands the broker could not correlate with its dispatched list and ignored",
        |r| Value::U64(r.acks.rejected)
    ),
    column!(
        "offset_commits",
        "RocketMQ: UPDATE_CONSUMER_OFFSET commands the broker received (periodic persists and queue removals, not the offsets piggybacked on pulls); broadcasting: offset-file writes",
        |r| Value::U64(r.rocketmq.offset_commits)
    ),
    column!(
        "sent_back",
        "RocketMQ: failed messages sent back to the broker (CONSUMER_SEND_MSG_BACK, to %RETRY% or %DLQ%)",
        |r| Value::U64(r.rocketmq.sent_back)
    ),
    column!(
        "retry_deliveries",
        "RocketMQ: deliveries of messages pulled from %RETRY%<group>",
        |r| Value::U64(r.rocketmq.retry_deliveries)
    ),
    column!(
        "stalled",
        "the run ended with messages waiting that no consumer could ever be given",
        |r| Value::Bool(r.stalled)
    ),
    column!(
        "slow_consumer_aborts",
        "consumers the broker's slow-consumer strategy aborted (AbortSlowAckConsumerStrategy; ConsumerControl close or connection failure)",
        |r| Value::U64(r.slow_consumer_aborts)
    ),
    column!(
        "idle_with_backlog_s",
        "consumer-seconds idle while messages waited in the broker or another consumer's prefetch buffer (always 0 on a topic: a subscriber can only take its own copies)",
        |r| Value::F64(r.idle_with_backlog_s)
    ),
    column!(
        "jain_fairness",
        "Jain's index of processed counts across consumer instances (1 = even)",
        |r| Value::F64(r.jain_fairness)
    ),
    column!(
        "makespan_s",
        "simulated time of the last processing completion",
        |r| Value::F64(r.makespan_s)
    ),
    column!(
        "throughput",
        "processed / makespan_s, messages per second",
        |r| Value::F64(r.throughput)
    ),
    column!(
        "goodput",
        "unique_processed / makespan_s: distinct messages processed per second (duplicates not counted)",
        |r| Value::F64(r.goodput())
    ),
    column!(
        "latency_p50_s",
        "median of first send to first processing completion, seconds",
        |r| Value::F64(r.latency_p50_s)
    ),
    column!(
        "latency_p99_s",
        "99th percentile of first send to first processing completion, seconds",
        |r| Value::F64(r.latency_p99_s)
    ),
    column!(
        "sent",
        "send() calls of the producers (producer messages; a retry is not a new one)",
        |r| Value::U64(r.send.sent)
    ),
    column!(
        "send_attempts",
        "send attempts that left the producers, retries and re-sends included",
        |r| Value::U64(r.send.attempts)
    ),
    column!(
        "send_confirmed",
        "sends whose OK response reached the producer",
        |r| Value::U64(r.send.confirmed)
    ),
    column!(
        "send_failed",
        "sends that ended with an error for the application (retries exhausted, timed out, broker down)",
        |r| Value::U64(r.send.failed)
    ),
    column!(
        "send_timed_out",
        "failed sends whose last attempt timed out (part of send_failed)",
        |r| Value::U64(r.send.timed_out)
    ),
    column!(
        "send_unconfirmed",
        "fire-and-forget sends (ActiveMQ async, RocketMQ oneway): no result ever comes back",
        |r| Value::U64(r.send.unconfirmed)
    ),
    column!(
        "send_in_progress",
        "sends still waiting for their result when the run ended",
        |r| Value::U64(r.send.in_progress)
    ),
    column!(
        "send_duplicates",
        "stored copies beyond the first of one producer message (a retry after a lost response): duplicates at the source",
        |r| Value::U64(r.send.duplicates)
    ),
    column!(
        "send_resends_suppressed",
        "re-sent messages the broker recognised as already stored and did not store again (ActiveMQ producer audit)",
        |r| Value::U64(r.send.resends_suppressed)
    ),
    column!(
        "lost_at_send",
        "producer messages the producer believed sent (confirmed, or async/oneway without an error) that the broker never stored",
        |r| Value::U64(r.send.lost_at_send)
    ),
    column!(
        "duplicates_suppressed",
        "processings whose side effect an idempotent consumer skipped because its processed-id store knew the producer message",
        |r| Value::U64(r.duplicates_suppressed)
    ),
    column!("end_s", "simulated time at which the run ended", |r| {
        Value::F64(r.end_s)
    }),
    column!("events", "engine events executed", |r| Value::U64(r.events)),
    column!(
        "wall_s",
        "wall-clock seconds of this run (the only column that is not reproducible)",
        |r| Value::F64(r.wall_s)
    ),
];

/// The columns of `consumers.csv`, in output order.
pub const CONSUMER_COLUMNS: &[Column<ConsumerSummary>] = &[
    column!("consumer", "consumer instance (name-replica)", |r| {
        Value::Str(&r.consumer)
    }),
    column!(
        "processed",
        "successful processing completions by this instance",
        |r| Value::U64(r.processed)
    ),
    column!(
        "duplicates",
        "processings of a message that had already been processed (by anyone)",
        |r| Value::U64(r.duplicates)
    ),
    column!(
        "deliveries",
        "messages handed to this instance's application",
        |r| Value::U64(r.deliveries)
    ),
    column!(
        "redelivered",
        "deliveries with the JMSRedelivered flag",
        |r| Value::U64(r.redelivered)
    ),
    column!(
        "acks_sent",
        "ack commands this instance sent, all types",
        |r| Value::U64(r.acks_sent)
    ),
    column!(
        "max_unacked",
        "largest number of messages dispatched to this instance and not yet acknowledged (broker view)",
        |r| Value::U64(r.max_unacked)
    ),
    column!(
        "idle_with_backlog_s",
        "seconds idle while messages waited in the broker or another consumer's prefetch buffer",
        |r| Value::F64(r.idle_with_backlog_s)
    ),
    column!("busy_s", "seconds spent processing", |r| Value::F64(
        r.busy_s
    )),
    column!("crashes", "times this instance's process died", |r| {
        Value::U64(r.crashes)
    }),
    column!(
        "aborted",
        "times the broker's slow-consumer strategy aborted this instance's consumer (it then takes no more messages)",
        |r| Value::U64(r.aborted)
    ),
];

/// The `summary.csv` / `runs.csv` columns contract.md requires (the tables above may add more).
pub const CONTRACT_SUMMARY_COLUMNS: &[&str] = &[
    "scenario",
    "seed",
    "produced",
    "deliveries",
    "redelivered",
    "processed",
    "unique_processed",
    "duplicates",
    "lost",
    "dlq",
    "expired",
    "in_flight",
    "acks_total",
    "acks_standard",
    "acks_delivered",
    "acks_individual",
    "acks_redelivered",
    "acks_poison",
    "stalled",
    "idle_with_backlog_s",
    "jain_fairness",
    "makespan_s",
    "throughput",
    "latency_p50_s",
    "latency_p99_s",
    "events",
    "wall_s",
];

/// The `consumers.csv` columns contract.md requires.
pub const CONTRACT_CONSUMER_COLUMNS: &[&str] = &[
    "consumer",
    "processed",
    "duplicates",
    "deliveries",
    "redelivered",
    "acks_sent",
    "max_unacked",
    "idle_with_backlog_s",
    "busy_s",
    "crashes",
];

/// Jain's fairness index `(Σx)² / (n·Σx²)`: 1 when every consumer processed the same number,
/// 1/n when one did everything. Defined as 1 when nobody processed anything (all equal).
pub fn jain_fairness(counts: &[u64]) -> f64 {
    if counts.is_empty() {
        return 1.0;
    }
    let sum: f64 = counts.iter().map(|&x| x as f64).sum();
    let sum_sq: f64 = counts.iter().map(|&x| (x as f64) * (x as f64)).sum();
    if sum_sq == 0.0 {
        1.0
    } else {
        sum * sum / (counts.len() as f64 * sum_sq)
    }
}

/// A bounded log-linear histogram of nanosecond values (the HdrHistogram layout): values below
/// 2^SUB_BITS are exact, larger ones fall into 2^SUB_BITS buckets per power of two, so a
/// reported percentile is within 2^-SUB_BITS (0.05 %) of a recorded value. Memory is bounded
/// (at most 56 k counters) whatever the number of samples.
#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    counts: Vec<u64>,
    total: u64,
}

const SUB_BITS: u32 = 11;
const SUB_COUNT: u64 = 1 << SUB_BITS;

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    pub fn new() -> Self {
        Self {
            counts: Vec::new(),
            total: 0,
        }
    }

    fn index(value: u64) -> usize {
        if value < SUB_COUNT {
            return value as usize;
        }
        // Power-of-two range [2^m, 2^(m+1)) with m >= SUB_BITS holds SUB_COUNT/2 buckets,
        // each 2^shift wide.
        let magnitude = 63 - value.leading_zeros();
        let shift = (magnitude - (SUB_BITS - 1)) as u64;
        let sub = (value >> shift) - (SUB_COUNT >> 1);
        (SUB_COUNT + (shift - 1) * (SUB_COUNT >> 1) + sub) as usize
    }

    /// The smallest value that falls in bucket `index`.
    fn lowest_value(index: usize) -> u64 {
        let index = index as u64;
        if index < SUB_COUNT {
            return index;
        }
        let rel = index - SUB_COUNT;
        let bucket = rel / (SUB_COUNT >> 1) + 1;
        let sub = rel % (SUB_COUNT >> 1) + (SUB_COUNT >> 1);
        sub << bucket
    }

    /// One past the largest value that falls in bucket `index`.
    fn upper_bound(index: usize) -> u128 {
        let index = index as u64;
        if index < SUB_COUNT {
            return index as u128 + 1;
        }
        let rel = index - SUB_COUNT;
        let shift = rel / (SUB_COUNT >> 1) + 1;
        let sub = rel % (SUB_COUNT >> 1) + (SUB_COUNT >> 1);
        ((sub as u128) + 1) << shift
    }

    pub fn record(&mut self, value_ns: u64) {
        let i = Self::index(value_ns);
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
        self.total += 1;
    }

    pub fn len(&self) -> u64 {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Nearest-rank percentile (`q` in 0..=1): the smallest recorded bucket whose cumulative
    /// count reaches ⌈q·n⌉, reported as the bucket's midpoint. `None` when empty.
    pub fn percentile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                // The top bucket's upper bound is 2^64: work in u128.
                let lo = Self::lowest_value(i) as u128;
                let hi = Self::upper_bound(i);
                return Some((lo + (hi - lo - 1) / 2) as u64);
            }
        }
        unreachable!("rank <= total")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jain_is_one_for_even_and_one_over_n_for_a_monopoly() {
        assert_eq!(jain_fairness(&[5, 5, 5]), 1.0);
        assert!((jain_fairness(&[9, 0, 0]) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(jain_fairness(&[0, 0]), 1.0);
        assert!((jain_fairness(&[1, 3]) - 16.0 / 20.0).abs() < 1e-12);
    }

    #[test]
    fn histogram_is_exact_below_2048_ns() {
        let mut h = LatencyHistogram::new();
        for v in 1..=100 {
            h.record(v);
        }
        assert_eq!(h.percentile(0.5), Some(50));
        assert_eq!(h.percentile(0.99), Some(99));
        assert_eq!(h.percentile(1.0), Some(100));
        assert_eq!(h.percentile(0.0), Some(1));
    }

    #[test]
    fn histogram_buckets_are_contiguous_and_monotonic() {
        let mut prev = 0;
        for i in 1..200_000usize {
            let lo = LatencyHistogram::lowest_value(i);
            assert!(lo > prev, "bucket {i}");
            assert_eq!(LatencyHistogram::index(lo), i);
            assert_eq!(LatencyHistogram::index(lo.saturating_sub(1)), i - 1);
            prev = lo;
            if lo > u64::MAX / 4 {
                break;
            }
        }
    }

    #[test]
    fn histogram_relative_error_is_bounded() {
        for &v in &[
            5_000_000u64,
            1_500_000,
            123_456_789,
            2_000_000_000_000,
            2049,
            u64::MAX / 2,
        ] {
            let mut h = LatencyHistogram::new();
            h.record(v);
            let p = h.percentile(0.5).unwrap() as f64;
            assert!(
                ((p - v as f64) / v as f64).abs() < 1.0 / 2048.0,
                "{v} -> {p}"
            );
        }
    }

    #[test]
    fn histogram_handles_the_largest_values() {
        let mut h = LatencyHistogram::new();
        h.record(u64::MAX);
        let p = h.percentile(0.5).unwrap();
        assert!(p > u64::MAX / 2 + u64::MAX / 4, "{p}");
        for i in [0usize, 1, 2047, 2048, 2049, 5000, 50_000] {
            assert_eq!(
                LatencyHistogram::upper_bound(i),
                LatencyHistogram::lowest_value(i + 1) as u128
            );
        }
    }

    #[test]
    fn histogram_percentiles_follow_nearest_rank() {
        let mut h = LatencyHistogram::new();
        for ms in 1..=10u64 {
            h.record(ms * 1_000_000);
        }
        let p50 = h.percentile(0.5).unwrap() as f64;
        assert!((p50 - 5e6).abs() / 5e6 < 1e-3);
        let p99 = h.percentile(0.99).unwrap() as f64;
        assert!((p99 - 1e7).abs() / 1e7 < 1e-3);
    }

    #[test]
    fn column_names_are_unique_and_cover_the_contract() {
        let names: Vec<&str> = SUMMARY_COLUMNS.iter().map(|c| c.name).collect();
        let set: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(set.len(), names.len());
        for required in CONTRACT_SUMMARY_COLUMNS {
            assert!(names.contains(required), "missing {required}");
        }
        let cnames: Vec<&str> = CONSUMER_COLUMNS.iter().map(|c| c.name).collect();
        for required in CONTRACT_CONSUMER_COLUMNS {
            assert!(cnames.contains(required), "missing {required}");
        }
    }
}
