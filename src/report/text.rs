//! Text for people: the summary `acksim run` prints and the scenario description of
//! `acksim check`. The CSV files are the record; this is the first look, so it leads with
//! what a middleware engineer asks first (was anything lost or duplicated, did it stall) and
//! rounds numbers for reading.

use std::fmt::Write as _;

/// The RocketMQ descriptions, in their own file.
#[path = "rocketmq_text.rs"]
mod rocketmq;

use crate::metrics::{CONSUMER_COLUMNS, Column, ConsumerSummary, RunSummary, Value};
use crate::model::config::{
    AckMode, Arrival, BrokerConfig, BrokerFlavor, ConsumerConfig, CrashPoint, DestinationConfig,
    DurationDist, FailureHandling, ProducerConfig, Scenario, SlowConsumerStrategy,
};

/// The run summary: header, outcome, per-consumer table and the conservation check.
pub fn run_summary(
    summary: &RunSummary,
    consumers: &[ConsumerSummary],
    cut_by_until: bool,
) -> String {
    let mut out = String::new();
    header(&mut out, summary, cut_by_until);
    outcome(&mut out, summary);
    out.push('\n');
    out.push_str(&table(CONSUMER_COLUMNS, consumers));
    out.push('\n');
    out.push_str(&conservation(summary));
    out.push('\n');
    out
}

fn header(out: &mut String, s: &RunSummary, cut_by_until: bool) {
    let end = if cut_by_until {
        " (stopped at the time limit)"
    } else {
        ""
    };
    let _ = writeln!(out, "scenario {} · seed {}", s.scenario, s.seed);
    let _ = writeln!(
        out,
        "simulated {}{end} · {} events · wall {}\n",
        secs(s.end_s),
        s.events,
        secs(s.wall_s)
    );
}

fn outcome(out: &mut String, s: &RunSummary) {
    let mut line = |label: &str, text: String| {
        let _ = writeln!(out, "{label:<11} {text}");
    };
    line(
        "messages",
        format!(
            "produced {} · processed {} · unique {} · duplicates {}",
            s.produced, s.processed, s.unique_processed, s.duplicates
        ),
    );
    if s.copies != s.produced || s.missed > 0 {
        line(
            "copies",
            format!(
                "{} owed to subscribers · missed {} · discarded {}",
                s.copies, s.missed, s.discarded
            ),
        );
    }
    line("sends", sends(s));
    let stalled = if s.stalled { "YES" } else { "no" };
    line(
        "fates",
        format!(
            "lost {} · dlq {} · expired {} · in flight {} · stalled {stalled}",
            s.lost, s.dlq, s.expired, s.in_flight
        ),
    );
    line(
        "deliveries",
        format!(
            "{} ({} redelivered) · {} dispatches",
            s.deliveries, s.redelivered, s.dispatched
        ),
    );
    line("acks", acks(s));
    if s.rocketmq != Default::default() {
        line("rocketmq", rocketmq::counts(s));
    }
    line(
        "throughput",
        format!("{:.1} msg/s over {}", s.throughput, secs(s.makespan_s)),
    );
    let (p50, p99) = (secs(s.latency_p50_s), secs(s.latency_p99_s));
    line(
        "latency",
        format!("p50 {p50} · p99 {p99} (send to first processing completion)"),
    );
    line(
        "fairness",
        format!(
            "Jain {:.3} · idle with backlog {}",
            s.jain_fairness,
            secs(s.idle_with_backlog_s)
        ),
    );
}

/// The producers' view; counters that are zero are left out after `sent`.
fn sends(s: &RunSummary) -> String {
    let c = &s.send;
    let mut parts = vec![format!("sent {}", c.sent)];
    for (label, n) in [
        ("confirmed", c.confirmed),
        ("failed", c.failed),
        ("timed out", c.timed_out),
        ("unconfirmed", c.unconfirmed),
        ("in progress", c.in_progress),
        ("source duplicates", c.duplicates),
        ("re-sends suppressed", c.resends_suppressed),
        ("LOST AT SEND", c.lost_at_send),
        (
            "duplicates suppressed by consumers",
            s.duplicates_suppressed,
        ),
    ] {
        if n > 0 {
            parts.push(format!("{label} {n}"));
        }
    }
    parts.join(" · ")
}

/// Ack commands by type; types the broker never received are left out.
fn acks(s: &RunSummary) -> String {
    let a = &s.acks;
    let by_type: Vec<String> = [
        ("standard", a.standard),
        ("delivered", a.delivered),
        ("individual", a.individual),
        ("redelivered", a.redelivered),
        ("poison", a.poison),
        ("expired", a.expired),
    ]
    .into_iter()
    .filter(|&(_, n)| n > 0)
    .map(|(name, n)| format!("{name} {n}"))
    .collect();
    if by_type.is_empty() {
        "none".to_string()
    } else {
        format!("{} commands: {}", a.total(), by_type.join(" · "))
    }
}

/// The contract's conservation law, spelled out with this run's numbers.
pub fn conservation(s: &RunSummary) -> String {
    let mark = if s.conserves_messages() {
        "✓"
    } else {
        "✗ VIOLATED"
    };
    // On a topic each subscriber's copy, and in RocketMQ BROADCASTING each instance's copy,
    // has its own fate (metrics::RunSummary::copies).
    let owed = if s.copies == s.produced {
        format!("produced {}", s.produced)
    } else {
        format!("copies {} (produced {})", s.copies, s.produced)
    };
    format!(
        "conservation: {owed} = unique {} + lost {} + dlq {} + expired {} + in_flight {} {mark}",
        s.unique_processed, s.lost, s.dlq, s.expired, s.in_flight
    )
}

/// An aligned text table of `rows`, headed by the column names the CSV uses: text columns
/// align left, numbers right, and floats are rounded to milliseconds' precision for reading.
pub fn table<T>(columns: &[Column<T>], rows: &[T]) -> String {
    let cells: Vec<Vec<(String, bool)>> = rows
        .iter()
        .map(|r| columns.iter().map(|c| human_cell((c.value)(r))).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|row| row[i].0.chars().count())
                .fold(c.name.len(), usize::max)
        })
        .collect();
    let right: Vec<bool> = (0..columns.len())
        .map(|i| cells.first().is_some_and(|row| row[i].1))
        .collect();
    let mut out = String::new();
    let header = columns.iter().map(|c| (c.name.to_string(), false));
    for row in std::iter::once(header.collect::<Vec<_>>()).chain(cells) {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .zip(&right)
            .map(|(((text, _), &w), &r)| {
                if r {
                    format!("{text:>w$}")
                } else {
                    format!("{text:<w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}

/// A cell for reading, and whether it is a number (right-aligned).
fn human_cell(value: Value<'_>) -> (String, bool) {
    match value {
        Value::Str(s) => (s.to_string(), false),
        Value::F64(x) => (format!("{x:.3}"), true),
        v @ (Value::U64(_) | Value::Bool(_)) => (v.to_string(), true),
    }
}

/// Seconds in the unit that reads best: `1.234 s`, `5.10 ms`, `250 us`.
pub fn secs(s: f64) -> String {
    let a = s.abs();
    if a == 0.0 {
        "0 s".to_string()
    } else if a >= 1.0 {
        format!("{s:.3} s")
    } else if a >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.1} us", s * 1e6)
    }
}

/// One paragraph describing what a scenario simulates, for `acksim check`.
pub fn describe_scenario(scenario: &Scenario, has_sweep: bool) -> String {
    let producers: Vec<String> = scenario.producers.iter().map(producer).collect();
    let rocketmq = scenario.broker.flavor == BrokerFlavor::RocketMq;
    let consumers: Vec<String> = scenario
        .consumers
        .iter()
        .map(|c| {
            if rocketmq {
                rocketmq::consumer(c)
            } else {
                consumer(c)
            }
        })
        .collect();
    let stop = match scenario.until {
        Some(t) => format!("stops at {t}"),
        None => "runs until nothing more can happen".to_string(),
    };
    let mut text = format!(
        "Scenario {} (seed {}, {stop}): {} sending {} messages ({}); {} ({}); {}; network latency {}.",
        scenario.name,
        scenario.seed,
        plural(scenario.producers.len(), "producer"),
        scenario.total_messages(),
        producers.join("; "),
        plural(scenario.consumer_instance_count(), "consumer instance"),
        consumers.join("; "),
        if rocketmq {
            rocketmq::broker(&scenario.broker)
        } else {
            broker(&scenario.broker)
        },
        dist(&scenario.network.latency),
    );
    if has_sweep {
        text.push_str(" It has a sweep grid, used by `acksim sweep`.");
    }
    wrap(&text, 96)
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn producer(p: &ProducerConfig) -> String {
    let arrival = match p.arrival {
        Arrival::Exponential { rate } => format!("Poisson at {rate}/s"),
        Arrival::Constant { interval } => format!("one every {interval}"),
        Arrival::Burst => "all at once".to_string(),
    };
    let start = if p.start_at.is_zero() {
        String::new()
    } else {
        format!(" from {}", p.start_at)
    };
    let mut extra = String::new();
    if let Some(ttl) = p.time_to_live {
        extra.push_str(&format!(", time to live {ttl}"));
    }
    if p.priority != 4 {
        extra.push_str(&format!(", priority {}", p.priority));
    }
    if let Some(g) = p.groups {
        extra.push_str(&format!(", {g} message groups"));
    }
    format!(
        "{}: {}, {arrival}{start}{extra}, {}",
        p.name,
        p.messages,
        p.send.describe()
    )
}

/// `c-0..c-2: client ack every 10, listener, prefetch 1000, processing 5ms, …`.
fn consumer(c: &ConsumerConfig) -> String {
    let instances = instances(c);
    let mut parts = vec![ack_mode(c)];
    if let Some(kind) = c.subscription {
        parts.push(format!("{} subscriber", kind.as_str().replace('_', "-")));
    }
    parts.extend([c.delivery.as_str().to_string(), prefetch(c.prefetch)]);
    if c.optimize_ack {
        parts.push(format!("optimize_ack (timeout {})", c.optimize_ack_timeout));
    }
    parts.push(format!("processing {}", dist(&c.processing)));
    parts.extend(failures(c));
    parts.extend(crash(c));
    if !c.start_at.is_zero() {
        parts.push(format!("starts at {}", c.start_at));
    }
    if let Some(i) = c.idempotent {
        let ttl = i.ttl.map_or(String::new(), |t| format!(", ttl {t}"));
        parts.push(format!("idempotent (store of {}{ttl})", i.capacity));
    }
    if c.priority != 0 {
        parts.push(format!("priority {}", c.priority));
    }
    if c.exclusive {
        parts.push("exclusive".to_string());
    }
    format!("{instances}: {}", parts.join(", "))
}

/// `c-0`, `c-0, c-1`, `c-0..c-4`.
fn instances(c: &ConsumerConfig) -> String {
    match c.replicas {
        0 => format!("{} (0 replicas)", c.name),
        1 => format!("{}-0", c.name),
        2 => format!("{0}-0, {0}-1", c.name),
        n => format!("{0}-0..{0}-{1}", c.name, n - 1),
    }
}

fn ack_mode(c: &ConsumerConfig) -> String {
    let every = |verb: &str, n: u32| match n {
        0 => format!("never {verb}s"),
        1 => format!("{verb}s each message"),
        n => format!("{verb}s every {n}"),
    };
    match c.ack_mode {
        AckMode::Client | AckMode::Individual => {
            format!("{} ack, {}", c.ack_mode.as_str(), every("ack", c.ack_every))
        }
        AckMode::Transacted => format!("transacted, {}", every("commit", c.commit_every)),
        AckMode::Auto | AckMode::DupsOk => format!("{} ack", c.ack_mode.as_str()),
    }
}

fn prefetch(n: u32) -> String {
    if n == 0 {
        "prefetch 0 (pull)".to_string()
    } else {
        format!("prefetch {n}")
    }
}

fn failures(c: &ConsumerConfig) -> Option<String> {
    let f = &c.failures;
    if f.probability == 0.0 && f.poison.is_empty() {
        return None;
    }
    let handling = match f.handling {
        FailureHandling::Throw => "throws",
        FailureHandling::Rollback => "rolls back",
        FailureHandling::Recover => "recovers",
    };
    let mut what = Vec::new();
    if f.probability > 0.0 {
        what.push(format!("{}% of attempts", f.probability * 100.0));
    }
    if !f.poison.is_empty() {
        let ids: Vec<String> = f.poison.iter().map(u64::to_string).collect();
        what.push(format!("poison messages {}", ids.join(" ")));
    }
    Some(format!("fails {} and {handling}", what.join(" and ")))
}

fn crash(c: &ConsumerConfig) -> Option<String> {
    let crash = c.crash?;
    let when = match crash.point {
        CrashPoint::AfterProcessed(k) => format!("crashes after processing {k}"),
        CrashPoint::DuringProcessing(k) => format!("crashes while processing delivery {k}"),
        CrashPoint::At(t) => format!("crashes at {t}"),
    };
    let restart = match crash.restart_after {
        Some(d) => format!("restarts after {d}"),
        None => "never restarts".to_string(),
    };
    Some(format!("{when} and {restart}"))
}

fn broker(b: &BrokerConfig) -> String {
    let flavor = match b.flavor {
        BrokerFlavor::ActiveMq => "ActiveMQ",
        BrokerFlavor::RocketMq => "RocketMQ",
    };
    let r = &b.redelivery;
    let max = match r.maximum_redeliveries {
        Some(n) => format!("at most {n} redeliveries"),
        None => "unlimited redeliveries".to_string(),
    };
    let backoff = if r.use_exponential_backoff {
        format!(", backoff ×{}", r.backoff_multiplier)
    } else {
        String::new()
    };
    let cap = r
        .maximum_redelivery_delay
        .map_or(String::new(), |d| format!(", capped at {d}"));
    let extension = if b.use_prefetch_extension {
        "on"
    } else {
        "off"
    };
    let crash = b.crash.map_or(String::new(), |c| {
        format!(
            "; the broker crashes at {} and is back {} later",
            c.at, c.restart_after
        )
    });
    let destination = match b.destination {
        DestinationConfig::Queue => String::new(),
        DestinationConfig::Topic(policy) => {
            let entry = if policy.policy_entry {
                "policy entry topic=\">\""
            } else {
                "no policy entry"
            };
            let limit = policy
                .pending_message_limit
                .map_or("no pending limit".to_string(), |l| {
                    format!("pending limit {l}")
                });
            format!("; a topic ({entry}, {limit})")
        }
    };
    let mut extra = String::new();
    match b.slow_consumer {
        SlowConsumerStrategy::None => {}
        SlowConsumerStrategy::Abort(_) => {
            extra.push_str("; AbortSlowConsumerStrategy (never acts on a queue)")
        }
        SlowConsumerStrategy::AbortSlowAck {
            abort,
            max_time_since_last_ack,
            ..
        } => extra.push_str(&format!(
            "; AbortSlowAckConsumerStrategy every {}, max time since last ack {}",
            abort.check_period,
            max_time_since_last_ack.map_or("off".to_string(), |d| d.to_string())
        )),
    }
    if b.prioritized_messages {
        extra.push_str("; prioritized messages");
    }
    format!(
        "{flavor} broker: {max}, delays {} then {}{backoff}{cap}; prefetch extension {extension}{destination}{crash}{extra}",
        r.initial_redelivery_delay, r.redelivery_delay
    )
}

fn dist(d: &DurationDist) -> String {
    match *d {
        DurationDist::Constant(v) => v.to_string(),
        DurationDist::Exponential { mean } => format!("exponential(mean {mean})"),
        DurationDist::Uniform { min, max } => format!("uniform({min}..{max})"),
        DurationDist::Normal { mean, std } => format!("normal(mean {mean}, std {std})"),
        DurationDist::LogNormal { mean, std } => format!("lognormal(mean {mean}, std {std})"),
        DurationDist::Pareto { scale, shape } => format!("pareto(scale {scale}, shape {shape})"),
    }
}

/// Greedy word wrap at `width` columns.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if line_len > 0 && line_len + 1 + len > width {
            out.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += len;
    }
    out
}

/// The `acksim bench` report.
pub fn bench_report(name: &str, r: &crate::bench::BenchReport) -> String {
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let memory = r
        .peak_rss_bytes
        .map_or("not available on this platform".to_string(), |b| {
            format!("{:.1} MiB", mib(b))
        });
    format!(
        "benchmark {name}: {messages} messages, {events} events\n\
         simulation      {wall:.3} s wall · {rate:.2} M events/s\n\
         bare event heap {heap:.3} s for as many events (push + pop, 32-byte events)\n\
         ratio           {ratio:.1}x the bare heap\n\
         peak memory     {memory} (whole process)\n",
        messages = r.messages,
        events = r.events,
        wall = r.wall_s,
        rate = r.events_per_second() / 1e6,
        heap = r.heap_baseline_s,
        ratio = r.ratio_to_heap(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config::{ConsumerConfig, CrashConfig};

    #[test]
    fn seconds_read_in_a_fitting_unit() {
        assert_eq!(secs(0.0), "0 s");
        assert_eq!(secs(1.5), "1.500 s");
        assert_eq!(secs(0.0051), "5.10 ms");
        assert_eq!(secs(0.00025), "250.0 us");
    }

    #[test]
    fn table_aligns_under_the_csv_column_names() {
        let rows = [
            ConsumerSummary {
                consumer: "c-0".into(),
                processed: 5,
                busy_s: 0.0123,
                ..Default::default()
            },
            ConsumerSummary {
                consumer: "long-name-1".into(),
                processed: 12345,
                ..Default::default()
            },
        ];
        let text = table(CONSUMER_COLUMNS, &rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        let names: Vec<&str> = lines[0].split_whitespace().collect();
        assert_eq!(
            names,
            CONSUMER_COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>()
        );
        // Right-aligned numbers end under the end of their header.
        let end = lines[0].find("processed").unwrap() + "processed".len();
        assert_eq!(&lines[1][end - 1..end], "5");
        assert_eq!(&lines[2][end - 5..end], "12345");
        assert!(lines[1].contains("0.012"));
    }

    #[test]
    fn description_mentions_each_consumer_group_and_the_broker() {
        let mut client = ConsumerConfig::new("c");
        client.replicas = 3;
        client.ack_mode = AckMode::Client;
        client.ack_every = 10;
        client.crash = Some(CrashConfig {
            point: CrashPoint::AfterProcessed(37),
            restart_after: None,
        });
        let scenario = Scenario {
            name: "demo".into(),
            seed: 42,
            until: None,
            network: Default::default(),
            broker: Default::default(),
            producers: vec![ProducerConfig {
                name: "p".into(),
                messages: 200,
                arrival: Arrival::Burst,
                start_at: Default::default(),
                send: Default::default(),
                groups: None,
                time_to_live: None,
                priority: 4,
            }],
            consumers: vec![client],
        };
        let text = describe_scenario(&scenario, false).replace('\n', " ");
        for needle in [
            "Scenario demo (seed 42",
            "200 messages",
            "3 consumer instances",
            "c-0..c-2: client ack, acks every 10, listener, prefetch 1000",
            "crashes after processing 37 and never restarts",
            "ActiveMQ broker: at most 6 redeliveries",
            "network latency 100us",
        ] {
            assert!(text.contains(needle), "{needle:?} not in {text}");
        }
    }

    #[test]
    fn wrap_keeps_words_whole() {
        assert_eq!(wrap("aa bb cc", 5), "aa bb\ncc");
    }
}
