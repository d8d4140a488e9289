//! Tests of the scenario module: one per rule of the file format, each error with its exact
//! line and column.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_saphyr::Location;

use super::*;
use crate::engine::SimDuration;
use crate::model::config::{
    AckMode, Arrival, BrokerConfig, BrokerFlavor, ConsumerConfig, CrashConfig, CrashPoint,
    DeliveryMode, DurationDist, FailureHandling, NetworkConfig, ProducerConfig, RedeliveryPolicy,
};

const FILE: &str = "s.yaml";

/// A scenario with one default producer and the given consumers block (already indented).
fn with_consumers(consumers: &str) -> String {
    format!("name: t\nproducers:\n  - messages: 10\nconsumers:\n{consumers}")
}

#[track_caller]
fn ok(text: &str) -> LoadedScenario {
    parse_str(text, FILE).unwrap_or_else(|e| panic!("expected success, got:\n{e}"))
}

#[track_caller]
fn err(text: &str) -> ScenarioError {
    match parse_str(text, FILE) {
        Ok(l) => panic!("expected an error, got {l:?}"),
        Err(e) => e,
    }
}

/// Asserts the error's position and that its message contains every fragment.
#[track_caller]
fn assert_err(text: &str, line: usize, column: usize, fragments: &[&str]) -> ScenarioError {
    let e = err(text);
    assert_eq!(
        (e.line(), e.column()),
        (Some(line), Some(column)),
        "wrong position for:\n{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("{FILE}:{line}:{column}: ")),
        "bad headline: {msg}"
    );
    for f in fragments {
        assert!(msg.contains(f), "{f:?} not in:\n{msg}");
    }
    e
}

#[track_caller]
fn consumer(text: &str) -> ConsumerConfig {
    ok(text).scenario.consumers[0].clone()
}

#[track_caller]
fn warnings(text: &str) -> Vec<Warning> {
    ok(text).warnings
}

// ---- defaults ------------------------------------------------------------------------------

const MINIMAL: &str = "name: t\nproducers:\n  - messages: 10\nconsumers:\n  - {}\n";

#[test]
fn minimal_scenario_gets_activemq_defaults() {
    let l = ok(MINIMAL);
    let s = &l.scenario;
    assert_eq!(s.name, "t");
    assert_eq!(s.seed, 42);
    assert_eq!(s.until, None);
    assert_eq!(s.network, NetworkConfig::default());
    assert_eq!(
        s.network.latency,
        DurationDist::Constant(SimDuration::from_micros(100))
    );
    assert_eq!(s.broker, BrokerConfig::default());
    assert_eq!(s.broker.redelivery, RedeliveryPolicy::default());
    assert!(s.broker.use_prefetch_extension);
    assert_eq!(
        s.producers,
        vec![ProducerConfig {
            name: "p".into(),
            messages: 10,
            arrival: Arrival::Exponential { rate: 1000.0 },
            start_at: SimDuration::ZERO,
            send: Default::default(),
            groups: None,
            time_to_live: None,
            priority: 4,
        }]
    );
    assert_eq!(s.consumers, vec![ConsumerConfig::new("c")]);
    assert_eq!(l.sweep, None);
    assert!(l.warnings.is_empty());
}

#[test]
fn consumer_defaults_are_activemqs() {
    let c = consumer(MINIMAL);
    assert_eq!(c.replicas, 1);
    assert_eq!(c.ack_mode, AckMode::Auto);
    assert_eq!(c.delivery, DeliveryMode::Listener);
    assert_eq!(c.prefetch, 1000);
    assert!(!c.optimize_ack);
    assert_eq!(c.optimize_ack_timeout, SimDuration::from_millis(300));
    assert_eq!((c.ack_every, c.commit_every), (1, 1));
    assert_eq!(
        c.processing,
        DurationDist::Constant(SimDuration::from_millis(5))
    );
    assert_eq!(c.failures.probability, 0.0);
    assert_eq!(c.failures.handling, FailureHandling::Throw);
    assert!(c.failures.poison.is_empty());
    assert_eq!(c.crash, None);
    assert_eq!(c.start_at, SimDuration::ZERO);
}

#[test]
fn redelivery_defaults_are_activemqs() {
    let r = ok(MINIMAL).scenario.broker.redelivery;
    assert_eq!(r.maximum_redeliveries, Some(6));
    assert_eq!(r.initial_redelivery_delay, SimDuration::from_secs(1));
    assert_eq!(r.redelivery_delay, SimDuration::from_secs(1));
    assert!(!r.use_exponential_backoff);
    assert_eq!(r.backoff_multiplier, 5.0);
    assert_eq!(r.maximum_redelivery_delay, None);
}

#[test]
fn several_unnamed_producers_and_consumers_are_numbered() {
    let s = ok("name: t\nproducers:\n  - messages: 1\n  - messages: 2\nconsumers:\n  - {}\n  - {}\n  - name: x\n").scenario;
    let p: Vec<&str> = s.producers.iter().map(|p| p.name.as_str()).collect();
    let c: Vec<&str> = s.consumers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(p, ["p0", "p1"]);
    assert_eq!(c, ["c0", "c1", "x"]);
    let s = ok(
        "name: t\nproducers:\n  - {name: fast, messages: 1}\n  - messages: 2\nconsumers:\n  - {}\n",
    )
    .scenario;
    assert_eq!(s.producers[1].name, "p");
}

#[test]
fn the_contract_example_parses() {
    let text = r#"
name: crash-auto-listener          # required; used for the default output dir
seed: 42
until: 10m
network: { latency: 100us }
broker:
  flavor: activemq
  redelivery:
    maximum_redeliveries: 6
    initial_redelivery_delay: 1s
    redelivery_delay: 1s
    use_exponential_backoff: false
    backoff_multiplier: 5.0
  use_prefetch_extension: true
  slow_consumer: none
producers:
  - name: p
    messages: 200
    arrival: { dist: exponential, rate: 1000 }
consumers:
  - name: c
    replicas: 1
    ack_mode: auto
    delivery: listener
    prefetch: 1000
    optimize_ack: false
    optimize_ack_timeout: 300ms
    ack_every: 1
    commit_every: 1
    processing: { dist: constant, value: 5ms }
    failures: { probability: 0.0, handling: throw }
    crash: { after_processed: 37, restart_after: 2s }
    start_at: 0s
broker_url: null
sweep:
  replicates: 10
  grid:
    consumers.*.prefetch: [1, 10, 100, 1000]
    consumers.*.optimize_ack: [false, true]
    consumers.*.ack_mode: [auto, client, dups_ok]
"#;
    let l = ok(text);
    let s = &l.scenario;
    assert_eq!(s.name, "crash-auto-listener");
    assert_eq!(s.until, Some(SimDuration::from_secs(600)));
    let c = &s.consumers[0];
    assert_eq!(
        c.crash,
        Some(CrashConfig {
            point: CrashPoint::AfterProcessed(37),
            restart_after: Some(SimDuration::from_secs(2)),
        })
    );
    let sweep = l.sweep.unwrap();
    assert_eq!(sweep.replicates, 10);
    assert_eq!(
        sweep.grid,
        vec![
            (
                "consumers.*.prefetch".to_string(),
                vec![
                    GridValue::Int(1),
                    GridValue::Int(10),
                    GridValue::Int(100),
                    GridValue::Int(1000)
                ]
            ),
            (
                "consumers.*.optimize_ack".to_string(),
                vec![GridValue::Bool(false), GridValue::Bool(true)]
            ),
            (
                "consumers.*.ack_mode".to_string(),
                vec![
                    GridValue::Str("auto".into()),
                    GridValue::Str("client".into()),
                    GridValue::Str("dups_ok".into())
                ]
            ),
        ]
    );
    // ack_every / commit_every are written out on an auto consumer: no effect, so warned.
    assert_eq!(l.warnings.len(), 2, "{:?}", l.warnings);
}

#[test]
fn explicit_fields_are_read() {
    let c = consumer(&with_consumers(
        "  - name: worker\n    replicas: 3\n    ack_mode: transacted\n    delivery: receive\n    prefetch: 0\n    optimize_ack_timeout: 1.5s\n    commit_every: 10\n    processing: 2ms\n    failures: {probability: 0.25, handling: rollback, poison: [9, 3, 3]}\n    crash: {during_processing: 4}\n    start_at: 250µs\n",
    ));
    assert_eq!(c.name, "worker");
    assert_eq!(c.replicas, 3);
    assert_eq!(c.ack_mode, AckMode::Transacted);
    assert_eq!(c.delivery, DeliveryMode::Receive);
    assert_eq!(c.prefetch, 0);
    assert_eq!(c.optimize_ack_timeout, SimDuration::from_millis(1500));
    assert_eq!(c.commit_every, 10);
    assert_eq!(
        c.processing,
        DurationDist::Constant(SimDuration::from_millis(2))
    );
    assert_eq!(c.failures.probability, 0.25);
    assert_eq!(c.failures.handling, FailureHandling::Rollback);
    assert_eq!(c.failures.poison, vec![3, 9]);
    assert_eq!(c.crash.unwrap().point, CrashPoint::DuringProcessing(4));
    assert_eq!(c.start_at, SimDuration::from_micros(250));
}

#[test]
fn every_ack_mode_and_delivery_spelling() {
    for (word, mode) in [
        ("auto", AckMode::Auto),
        ("client", AckMode::Client),
        ("dups_ok", AckMode::DupsOk),
        ("transacted", AckMode::Transacted),
        ("individual", AckMode::Individual),
        ("CLIENT", AckMode::Client),
    ] {
        let c = consumer(&with_consumers(&format!("  - ack_mode: {word}\n")));
        assert_eq!(c.ack_mode, mode);
    }
    let c = consumer(&with_consumers("  - delivery: receive\n"));
    assert_eq!(c.delivery, DeliveryMode::Receive);
}

#[test]
fn every_distribution_parses() {
    let ms = SimDuration::from_millis;
    for (text, want) in [
        ("5ms", DurationDist::Constant(ms(5))),
        (
            "{dist: constant, value: 7ms}",
            DurationDist::Constant(ms(7)),
        ),
        (
            "{dist: exponential, mean: 4ms}",
            DurationDist::Exponential { mean: ms(4) },
        ),
        (
            "{dist: uniform, min: 1ms, max: 9ms}",
            DurationDist::Uniform {
                min: ms(1),
                max: ms(9),
            },
        ),
        (
            "{dist: normal, mean: 5ms, std: 1ms}",
            DurationDist::Normal {
                mean: ms(5),
                std: ms(1),
            },
        ),
        (
            "{dist: lognormal, mean: 5ms, std: 2ms}",
            DurationDist::LogNormal {
                mean: ms(5),
                std: ms(2),
            },
        ),
        (
            "{dist: pareto, scale: 1ms, shape: 1.5}",
            DurationDist::Pareto {
                scale: ms(1),
                shape: 1.5,
            },
        ),
    ] {
        let c = consumer(&with_consumers(&format!("  - processing: {text}\n")));
        assert_eq!(c.processing, want, "{text}");
    }
    let s = ok(&format!(
        "network:\n  latency: {{dist: uniform, min: 50us, max: 150us}}\n{MINIMAL}"
    ))
    .scenario;
    assert_eq!(
        s.network.latency,
        DurationDist::Uniform {
            min: SimDuration::from_micros(50),
            max: SimDuration::from_micros(150),
        }
    );
}

#[test]
fn every_arrival_parses() {
    for (text, want) in [
        (
            "{dist: exponential, rate: 200}",
            Arrival::Exponential { rate: 200.0 },
        ),
        (
            "{dist: constant, interval: 1ms}",
            Arrival::Constant {
                interval: SimDuration::from_millis(1),
            },
        ),
        (
            "{dist: constant, rate: 500}",
            Arrival::Constant {
                interval: SimDuration::from_millis(2),
            },
        ),
        ("{dist: burst}", Arrival::Burst),
        (
            "3ms",
            Arrival::Constant {
                interval: SimDuration::from_millis(3),
            },
        ),
    ] {
        let s = ok(&format!(
            "name: t\nproducers:\n  - messages: 1\n    arrival: {text}\n    start_at: 2s\nconsumers:\n  - {{}}\n"
        ))
        .scenario;
        assert_eq!(s.producers[0].arrival, want, "{text}");
        assert_eq!(s.producers[0].start_at, SimDuration::from_secs(2));
    }
}

#[test]
fn crash_points_parse() {
    let c = consumer(&with_consumers("  - crash: {at: 3s}\n"));
    assert_eq!(
        c.crash,
        Some(CrashConfig {
            point: CrashPoint::At(SimDuration::from_secs(3)),
            restart_after: None,
        })
    );
}

#[test]
fn explicit_redelivery_policy_is_read() {
    let r = ok(&format!(
        "broker:\n  redelivery:\n    maximum_redeliveries: -1\n    initial_redelivery_delay: 0\n    redelivery_delay: 250ms\n    use_exponential_backoff: true\n    backoff_multiplier: 2\n    maximum_redelivery_delay: 1m\n  use_prefetch_extension: false\n{MINIMAL}"
    ))
    .scenario
    .broker;
    assert_eq!(r.redelivery.maximum_redeliveries, None);
    assert_eq!(r.redelivery.initial_redelivery_delay, SimDuration::ZERO);
    assert_eq!(r.redelivery.redelivery_delay, SimDuration::from_millis(250));
    assert!(r.redelivery.use_exponential_backoff);
    assert_eq!(r.redelivery.backoff_multiplier, 2.0);
    assert_eq!(
        r.redelivery.maximum_redelivery_delay,
        Some(SimDuration::from_secs(60))
    );
    assert!(!r.use_prefetch_extension);
    let r = ok(&format!(
        "broker:\n  redelivery: {{maximum_redelivery_delay: -1}}\n{MINIMAL}"
    ))
    .scenario
    .broker
    .redelivery;
    assert_eq!(r.maximum_redelivery_delay, None);
}

#[test]
fn seed_until_and_slow_consumer_none() {
    let s = ok(&format!(
        "seed: 18446744073709551615\nuntil: 1.5s\nbroker: {{slow_consumer: {{strategy: none}}}}\n{MINIMAL}"
    ))
    .scenario;
    assert_eq!(s.seed, u64::MAX);
    assert_eq!(s.until, Some(SimDuration::from_millis(1500)));
    assert_eq!(s.broker.flavor, BrokerFlavor::ActiveMq);
}

#[test]
fn anchors_and_merge_keys_work() {
    let s = ok(&with_consumers(
        "  - &base {ack_mode: client, ack_every: 5}\n  - {<<: *base, name: second}\n",
    ))
    .scenario;
    assert_eq!(s.consumers[1].name, "second");
    assert_eq!(s.consumers[1].ack_mode, AckMode::Client);
    assert_eq!(s.consumers[1].ack_every, 5);
}

#[test]
fn sweep_defaults_and_grid_values() {
    let l = ok(&format!(
        "{MINIMAL}sweep:\n  grid:\n    b: [1.5, \"10\", 5ms, -3]\n    a: [yes]\n"
    ));
    let sweep = l.sweep.unwrap();
    assert_eq!(sweep.replicates, 1);
    assert_eq!(sweep.grid[0].0, "b"); // file order, not sorted
    assert_eq!(
        sweep.grid[0].1,
        vec![
            GridValue::Float(1.5),
            GridValue::Str("10".into()),
            GridValue::Str("5ms".into()),
            GridValue::Int(-3)
        ]
    );
    assert_eq!(sweep.grid[1].1, vec![GridValue::Bool(true)]);
    let l = ok(&format!("{MINIMAL}sweep: {{replicates: 3}}\n"));
    assert_eq!(
        l.sweep,
        Some(SweepSpec {
            replicates: 3,
            grid: vec![]
        })
    );
}

#[test]
fn grid_values_display_as_yaml_spells_them() {
    let cases = [
        (GridValue::Bool(true), "true"),
        (GridValue::Int(-42), "-42"),
        (GridValue::Float(1.0), "1.0"),
        (GridValue::Float(0.25), "0.25"),
        (GridValue::Float(f64::INFINITY), ".inf"),
        (GridValue::Float(f64::NAN), ".nan"),
        (GridValue::Str("auto".into()), "auto"),
        (GridValue::Str("5ms".into()), "5ms"),
        (GridValue::Str("dups_ok".into()), "dups_ok"),
        (GridValue::Str("true".into()), "\"true\""),
        (GridValue::Str("10".into()), "\"10\""),
        (GridValue::Str("".into()), "\"\""),
        (GridValue::Str("a b".into()), "\"a b\""),
        (GridValue::Str("say \"hi\"".into()), "\"say \\\"hi\\\"\""),
    ];
    for (v, want) in cases {
        assert_eq!(v.to_string(), want, "{v:?}");
    }
}

// ---- errors ------------------------------------------------------------------------------

#[test]
fn display_format_is_file_line_column_what_expected_and_snippet() {
    let e = err(&with_consumers("  - prefetch: 40000\n"));
    assert_eq!(
        e.to_string(),
        "s.yaml:5:15: prefetch 40000 is above ActiveMQ's maximum prefetch 32767 \
         (ActiveMQPrefetchPolicy.MAX_PREFETCH_SIZE); expected an integer in 0..=32767\n\
         5 |   - prefetch: 40000\n  \
           |               ^"
    );
    assert!(matches!(e, ScenarioError::Invalid(_)));
    assert_eq!(e.file(), "s.yaml");
    assert!(e.diagnostic().unwrap().headline().ends_with("0..=32767"));
}

#[test]
fn malformed_yaml_is_located() {
    let e = assert_err(
        "name: t\nproducers: [\n",
        2,
        12,
        &["YAML syntax error", "expected valid YAML"],
    );
    assert!(matches!(e, ScenarioError::Yaml(_)));
    assert_err(
        "name: t\nproducers:\n  - messages: 10\n consumers: x\n",
        4,
        2,
        &["YAML syntax error"],
    );
    assert_err("name: 'unterminated\n", 2, 1, &["YAML syntax error"]);
}

#[test]
fn unknown_field_at_nested_level_names_it_and_lists_the_expected_fields() {
    let e = assert_err(
        &with_consumers("  - ack_mode: client\n  - prefech: 5\n"),
        6,
        5,
        &[
            "unknown field `prefech`",
            "expected one of `name`, `replicas`",
            "`prefetch`",
        ],
    );
    assert!(
        e.to_string().ends_with("6 |   - prefech: 5\n  |     ^"),
        "{e}"
    );
    assert_err(
        &with_consumers("  - processing: {dist: normal, mean: 5ms, sd: 1ms}\n"),
        5,
        43,
        &["unknown field `sd`", "`std`"],
    );
    assert_err(
        &with_consumers("  - failures:\n      probability: 0.1\n      handlng: throw\n"),
        7,
        7,
        &["unknown field `handlng`", "`handling`"],
    );
    assert_err(
        &format!("{MINIMAL}colour: blue\n"),
        6,
        1,
        &["unknown field `colour`", "`broker_url`"],
    );
    assert_err(
        &format!("broker:\n  redelivery:\n    maximumRedeliveries: 3\n{MINIMAL}"),
        3,
        5,
        &[
            "unknown field `maximumRedeliveries`",
            "`maximum_redeliveries`",
        ],
    );
}

#[test]
fn wrong_types_say_what_was_expected() {
    assert_err(
        &with_consumers("3\n").replace(":\n3", ": 3"),
        4,
        12,
        &["expected a list"],
    );
    assert_err(
        &with_consumers("  - crash: 37\n"),
        5,
        12,
        &["expected a mapping"],
    );
    assert_err(
        &with_consumers("  - prefetch: [1]\n"),
        5,
        5,
        &["found sequence", "expected a number"],
    );
    assert_err(
        &with_consumers("  - processing: [1ms]\n"),
        5,
        5,
        &["expected a duration like `5ms` or a distribution mapping"],
    );
    assert_err(
        &with_consumers("  - prefetch: lots\n"),
        5,
        15,
        &[
            "prefetch: `lots` is not a whole number",
            "expected an integer in 0..=32767",
        ],
    );
    assert_err(
        &with_consumers("  - optimize_ack: 3\n"),
        5,
        19,
        &[
            "optimize_ack: `3` is not a boolean",
            "expected `true` or `false`",
        ],
    );
    assert_err("- a\n", 1, 1, &["expected a mapping"]);
    assert_err(
        &with_consumers("  - ack_mode: sometimes\n"),
        5,
        15,
        &[
            "unknown ack_mode `sometimes`",
            "one of `auto`, `client`, `dups_ok`, `transacted`, `individual`",
        ],
    );
}

#[test]
fn prefetch_above_the_activemq_cap_is_an_error_naming_it() {
    assert_err(
        &with_consumers("  - prefetch: 40000\n"),
        5,
        15,
        &["32767", "MAX_PREFETCH_SIZE"],
    );
}

#[test]
fn prefetch_beyond_u32_is_an_error() {
    assert_err(
        &with_consumers("  - prefetch: 5000000000\n"),
        5,
        15,
        &[
            "prefetch 5000000000 does not even fit a 32-bit integer",
            "0..=32767",
        ],
    );
    assert_err(
        &with_consumers("  - prefetch: -1\n"),
        5,
        15,
        &["prefetch -1 is negative"],
    );
}

#[test]
fn replicas_zero_is_an_error() {
    assert_err(
        &with_consumers("  - replicas: 0\n"),
        5,
        15,
        &[
            "replicas 0 is out of range",
            "expected an integer in 1..=100000",
        ],
    );
}

#[test]
fn empty_or_missing_lists_are_errors() {
    assert_err(
        "name: t\nproducers:\n  - messages: 10\nconsumers: []\n",
        4,
        12,
        &["`consumers` is empty", "expected at least one consumer"],
    );
    assert_err(
        "name: t\nproducers: []\nconsumers: [{}]\n",
        2,
        12,
        &["`producers` is empty"],
    );
    assert_err(
        "name: t\nproducers:\n  - messages: 10\n",
        1,
        1,
        &["missing required field `consumers`"],
    );
    assert_err(
        "name: t\nproducers:\n  - {start_at: 1s}\nconsumers: [{}]\n",
        3,
        5,
        &["producer `p` is missing required field `messages`"],
    );
    let e = err("");
    assert_eq!((e.line(), e.column()), (None, None));
    assert_eq!(
        e.to_string(),
        "s.yaml: missing required field `name`; expected `name: <scenario name>` at the top level"
    );
}

#[test]
fn bad_names_are_errors() {
    for (name, col) in [
        ("a/b", 7),
        ("\"..\"", 7),
        ("'.'", 7),
        ("'x\\y'", 7),
        ("''", 7),
    ] {
        assert_err(
            &MINIMAL.replace("name: t", &format!("name: {name}")),
            1,
            col,
            &["name"],
        );
    }
    assert_err(
        &with_consumers("  - name: w\n  - name: w\n"),
        6,
        11,
        &["duplicate consumer name `w` (first used at line 5)"],
    );
}

#[test]
fn duplicate_keys_and_multiple_documents_are_errors() {
    assert_err(
        &format!("{MINIMAL}name: u\n"),
        6,
        1,
        &["duplicate key `name`"],
    );
    assert_err(
        &format!("{MINIMAL}---\n{MINIMAL}"),
        7,
        1,
        &["a second YAML document", "exactly one document"],
    );
}

#[test]
fn duration_without_unit_is_an_error() {
    assert_err(
        &format!("until: 5\n{MINIMAL}"),
        1,
        8,
        &[
            "`5` has no unit",
            "a duration needs a unit",
            "expected a duration with a unit (ns, us, ms, s, m, h), e.g. `250ms`",
        ],
    );
    assert_err(
        &with_consumers("  - processing: 1.5\n"),
        5,
        17,
        &["processing: `1.5` has no unit"],
    );
    assert_err(
        &with_consumers("  - start_at: 5 sec\n"),
        5,
        15,
        &["unknown duration unit `sec`"],
    );
}

#[test]
fn negative_and_absurd_durations_are_errors() {
    assert_err(
        &with_consumers("  - optimize_ack_timeout: -300ms\n"),
        5,
        27,
        &["negative duration `-300ms`"],
    );
    assert_err(
        &format!("until: -1\n{MINIMAL}"),
        1,
        8,
        &["negative duration"],
    );
    assert_err(&format!("until: 10000000h\n{MINIMAL}"), 1, 8, &["too long"]);
    assert_err(
        &format!("until: 0.5ns\n{MINIMAL}"),
        1,
        8,
        &["not a whole number of nanoseconds"],
    );
}

#[test]
fn probability_out_of_range_is_an_error() {
    assert_err(
        &with_consumers("  - failures: {probability: 1.5}\n"),
        5,
        29,
        &["probability 1.5 is out of range", "0.0..=1.0"],
    );
    assert_err(
        &with_consumers("  - failures: {probability: -0.1}\n"),
        5,
        29,
        &["out of range"],
    );
}

#[test]
fn listener_with_prefetch_zero_is_rejected_like_the_real_client() {
    assert_err(
        &with_consumers("  - delivery: listener\n    prefetch: 0\n"),
        6,
        15,
        &["Illegal prefetch size of zero", "`delivery: receive`"],
    );
    // The default delivery is listener too.
    assert_err(&with_consumers("  - prefetch: 0\n"), 5, 15, &["prefetch 0"]);
    // receive() with prefetch 0 is pull mode: fine.
    assert_eq!(
        consumer(&with_consumers("  - {delivery: receive, prefetch: 0}\n")).prefetch,
        0
    );
}

#[test]
fn rollback_outside_a_transacted_session_is_rejected() {
    assert_err(
        &with_consumers(
            "  - ack_mode: client\n    failures: {probability: 0.1, handling: rollback}\n",
        ),
        6,
        44,
        &[
            "\"Not a transacted session\"",
            "`rollback` only with `ack_mode: transacted`",
        ],
    );
    // Default ack mode (auto) too.
    assert_err(
        &with_consumers("  - failures: {handling: rollback}\n"),
        5,
        26,
        &["Not a transacted session"],
    );
}

#[test]
fn recover_in_a_transacted_session_is_rejected() {
    assert_err(
        &with_consumers("  - ack_mode: transacted\n    failures:\n      handling: recover\n"),
        7,
        17,
        &["\"This session is transacted\""],
    );
    let c = consumer(&with_consumers(
        "  - {ack_mode: client, failures: {handling: recover}}\n",
    ));
    assert_eq!(c.failures.handling, FailureHandling::Recover);
}

#[test]
fn rocketmq_is_accepted_unknown_flavors_are_not() {
    let s = ok(&format!("broker:\n  flavor: rocketmq\n{MINIMAL}")).scenario;
    assert_eq!(s.broker.flavor, BrokerFlavor::RocketMq);
    assert_err(
        &format!("broker:\n  flavor: kafka\n{MINIMAL}"),
        2,
        11,
        &["unknown broker flavor `kafka`", "`activemq`, `rocketmq`"],
    );
}

#[test]
fn slow_consumer_strategies_take_activemq_defaults() {
    use crate::model::config::{AbortSlowConsumer, SlowConsumerStrategy};
    let strategy = |text: &str| {
        ok(&format!("broker:\n  slow_consumer: {text}\n{MINIMAL}"))
            .scenario
            .broker
            .slow_consumer
    };
    let defaults = AbortSlowConsumer {
        max_slow_count: None,
        max_slow_duration: Some(SimDuration::from_secs(30)),
        check_period: SimDuration::from_secs(30),
        abort_connection: false,
    };
    assert_eq!(
        strategy("{strategy: abort_slow_ack}"),
        SlowConsumerStrategy::AbortSlowAck {
            abort: defaults,
            max_time_since_last_ack: Some(SimDuration::from_secs(30)),
            ignore_idle_consumers: true,
        }
    );
    assert_eq!(
        strategy(
            "{strategy: abort_slow_ack, max_slow_count: 3, max_slow_duration: -1, check_period: 5s, abort_connection: true, max_time_since_last_ack: 10s, ignore_idle_consumers: false}"
        ),
        SlowConsumerStrategy::AbortSlowAck {
            abort: AbortSlowConsumer {
                max_slow_count: Some(3),
                max_slow_duration: None,
                check_period: SimDuration::from_secs(5),
                abort_connection: true,
            },
            max_time_since_last_ack: Some(SimDuration::from_secs(10)),
            ignore_idle_consumers: false,
        }
    );
    assert_eq!(
        strategy("{strategy: abort, max_slow_count: -1}"),
        SlowConsumerStrategy::Abort(defaults)
    );
}

#[test]
fn slow_consumer_abort_on_a_queue_warns() {
    let w = warnings(&format!(
        "broker:\n  slow_consumer: {{strategy: abort}}\n{MINIMAL}"
    ));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].message.contains("never aborts a queue consumer"),
        "{w:?}"
    );
    assert_eq!((w[0].line, w[0].column), (Some(2), Some(29)));
}

#[test]
fn slow_consumer_errors() {
    assert_err(
        &format!("broker:\n  slow_consumer: sometimes\n{MINIMAL}"),
        2,
        18,
        &["unknown slow_consumer `sometimes`"],
    );
    assert_err(
        &format!(
            "broker:\n  slow_consumer: {{strategy: abort, max_slow_durration: 1s}}\n{MINIMAL}"
        ),
        2,
        36,
        &["unknown field `max_slow_durration`", "`max_slow_duration`"],
    );
    assert_err(
        &format!(
            "broker:\n  slow_consumer: {{strategy: abort, max_time_since_last_ack: 1s}}\n{MINIMAL}"
        ),
        2,
        61,
        &["`max_time_since_last_ack` belongs to AbortSlowAckConsumerStrategy"],
    );
    assert_err(
        &format!(
            "broker:\n  slow_consumer: {{strategy: abort_slow_ack, check_period: 0}}\n{MINIMAL}"
        ),
        2,
        59,
        &["check_period 0", "a positive duration"],
    );
    assert_err(
        &format!("broker:\n  slow_consumer: {{strategy: slowest}}\n{MINIMAL}"),
        2,
        29,
        &[
            "unknown slow_consumer strategy `slowest`",
            "`abort_slow_ack`",
        ],
    );
}

#[test]
fn consumer_priority_exclusive_and_producer_groups() {
    let c = consumer(&with_consumers("  - {priority: 127, exclusive: true}\n"));
    assert_eq!((c.priority, c.exclusive), (127, true));
    let d = consumer(MINIMAL);
    assert_eq!((d.priority, d.exclusive), (0, false));
    let p = ok("name: t\nproducers:\n  - {messages: 10, groups: 1024}\nconsumers:\n  - {}\n")
        .scenario
        .producers[0]
        .groups;
    assert_eq!(p, Some(1024));
    assert_eq!(ok(MINIMAL).scenario.producers[0].groups, None);
    assert_err(
        &with_consumers("  - {priority: 128}\n"),
        5,
        16,
        &["priority 128 is out of range", "0..=127"],
    );
    assert_err(
        "name: t\nproducers:\n  - {messages: 10, groups: 1025}\nconsumers:\n  - {}\n",
        3,
        28,
        &["groups 1025 is out of range", "1..=1024"],
    );
}

#[test]
fn time_to_live_and_expiry_settings() {
    let l = ok(
        "name: t\nbroker: {expire_messages_period: 5s}\nproducers:\n  - {messages: 10, time_to_live: 2s}\nconsumers:\n  - {consumer_expiry_check_enabled: false}\n",
    );
    let s = &l.scenario;
    assert_eq!(s.producers[0].time_to_live, Some(SimDuration::from_secs(2)));
    assert_eq!(
        s.broker.expire_messages_period,
        Some(SimDuration::from_secs(5))
    );
    assert!(!s.consumers[0].consumer_expiry_check_enabled);
    let d = ok(MINIMAL).scenario;
    assert_eq!(d.producers[0].time_to_live, None);
    assert_eq!(
        d.broker.expire_messages_period,
        Some(SimDuration::from_secs(30))
    );
    assert!(d.consumers[0].consumer_expiry_check_enabled);
    // 0 = never expires / no periodic sweep, as in ActiveMQ.
    let z = ok("name: t\nbroker: {expire_messages_period: 0}\nproducers:\n  - {messages: 10, time_to_live: 0}\nconsumers:\n  - {}\n").scenario;
    assert_eq!(
        (z.producers[0].time_to_live, z.broker.expire_messages_period),
        (None, None)
    );
    assert_err(
        "name: t\nproducers:\n  - {messages: 10, time_to_live: soon}\nconsumers:\n  - {}\n",
        3,
        34,
        &["time_to_live: `soon` is not a duration"],
    );
}

#[test]
fn message_priority_settings() {
    let s = ok("name: t\nbroker: {prioritized_messages: true}\nproducers:\n  - {messages: 10, priority: 9}\nconsumers:\n  - {message_priority_supported: true}\n").scenario;
    assert!(s.broker.prioritized_messages);
    assert_eq!(s.producers[0].priority, 9);
    assert!(s.consumers[0].message_priority_supported);
    let d = ok(MINIMAL).scenario;
    assert!(!d.broker.prioritized_messages);
    assert_eq!(d.producers[0].priority, 4);
    assert!(!d.consumers[0].message_priority_supported);
    assert_err(
        "name: t\nproducers:\n  - {messages: 10, priority: 10}\nconsumers:\n  - {}\n",
        3,
        30,
        &["priority 10 is out of range", "0..=9"],
    );
    assert_err(
        &with_consumers("  - {ack_mode: transacted, message_priority_supported: true}\n"),
        5,
        56,
        &["transactedIndividualAck"],
    );
}

#[test]
fn distribution_constraints() {
    assert_err(
        &with_consumers("  - processing: {dist: uniform, min: 9ms, max: 1ms}\n"),
        5,
        48,
        &["uniform max 1ms is below min 9ms", "min ≤ max"],
    );
    assert_err(
        &with_consumers("  - processing: {dist: lognormal, mean: 0s, std: 1ms}\n"),
        5,
        41,
        &["lognormal mean is zero"],
    );
    assert_err(
        &with_consumers("  - processing: {dist: pareto, scale: 1ms, shape: 0}\n"),
        5,
        51,
        &["pareto shape 0 is not positive"],
    );
    assert_err(
        &with_consumers("  - processing: {dist: pareto, scale: 0s, shape: 2}\n"),
        5,
        39,
        &["pareto scale is zero"],
    );
    assert_err(
        &with_consumers("  - processing: {dist: constant, mean: 5ms}\n"),
        5,
        40,
        &[
            "field `mean` does not apply to a `constant` distribution",
            "only `value`",
        ],
    );
    assert_err(
        &with_consumers("  - processing: {dist: normal, mean: 5ms}\n"),
        5,
        24,
        &["a `normal` distribution needs `std`"],
    );
    assert_err(
        &with_consumers("  - processing: {mean: 5ms}\n"),
        5,
        17,
        &["distribution mapping without `dist`"],
    );
    assert_err(
        &with_consumers("  - processing: {dist: gamma, mean: 5ms}\n"),
        5,
        24,
        &["unknown processing distribution `gamma`"],
    );
}

#[test]
fn arrival_constraints() {
    let producer = |arrival: &str| {
        format!("name: t\nproducers:\n  - messages: 1\n    arrival: {arrival}\nconsumers: [{{}}]\n")
    };
    assert_err(
        &producer("{dist: constant, interval: 1ms, rate: 5}"),
        4,
        52,
        &["both `interval` and `rate`"],
    );
    assert_err(
        &producer("{dist: exponential, rate: 0}"),
        4,
        40,
        &["arrival.rate 0 is not positive"],
    );
    assert_err(&producer("{dist: exponential}"), 4, 21, &["needs `rate`"]);
    assert_err(
        &producer("{dist: burst, rate: 4}"),
        4,
        34,
        &["does not apply to a `burst` arrival"],
    );
    assert_err(
        &producer("{dist: constant}"),
        4,
        21,
        &["needs `interval` or `rate`"],
    );
}

#[test]
fn crash_needs_exactly_one_point() {
    assert_err(
        &with_consumers("  - crash: {after_processed: 3, at: 1s}\n"),
        5,
        37,
        &[
            "crash has both `after_processed` and `at`",
            "exactly one of",
        ],
    );
    assert_err(
        &with_consumers("  - crash: {restart_after: 1s}\n"),
        5,
        12,
        &["crash without a crash point"],
    );
    assert_err(
        &with_consumers("  - crash: {during_processing: 0}\n"),
        5,
        32,
        &["crash.during_processing 0 is out of range"],
    );
}

#[test]
fn other_ranges() {
    assert_err(
        &format!("seed: -1\n{MINIMAL}"),
        1,
        7,
        &["seed -1 is out of range"],
    );
    assert_err(
        &with_consumers("  - failures: {poison: [0]}\n"),
        5,
        25,
        &["poison sequence id 0 is out of range"],
    );
    assert_err(
        &format!("broker:\n  redelivery: {{maximum_redeliveries: -2}}\n{MINIMAL}"),
        2,
        38,
        &["maximum_redeliveries -2 is out of range"],
    );
    assert_err(
        &format!("broker:\n  redelivery: {{backoff_multiplier: 0}}\n{MINIMAL}"),
        2,
        36,
        &["backoff_multiplier 0 is not positive"],
    );
    assert_err(
        &format!("broker:\n  redelivery: {{maximum_redelivery_delay: 5}}\n{MINIMAL}"),
        2,
        42,
        &["`5` has no unit", "-1 (no cap) or a duration"],
    );
    assert_err(
        &format!("{MINIMAL}sweep: {{replicates: 0}}\n"),
        6,
        21,
        &["sweep.replicates 0 is out of range"],
    );
    assert_err(
        &format!("{MINIMAL}sweep:\n  grid:\n    consumers.*.prefetch: []\n"),
        8,
        27,
        &["has no values"],
    );
    assert_err(
        &format!("{MINIMAL}sweep:\n  grid:\n    consumers.*.prefetch: 5\n"),
        8,
        27,
        &["expected a list"],
    );
}

// ---- warnings ------------------------------------------------------------------------------

#[test]
fn warning_display() {
    let w = Warning {
        line: Some(3),
        column: Some(7),
        message: "hm".into(),
    };
    assert_eq!(w.to_string(), "line 3, column 7: hm");
}

#[test]
fn optimize_ack_outside_auto_warns() {
    let w = warnings(&with_consumers(
        "  - ack_mode: client\n    optimize_ack: true\n",
    ));
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!((w[0].line, w[0].column), (Some(6), Some(19)));
    assert!(
        w[0].message.contains("only active in AUTO_ACKNOWLEDGE"),
        "{}",
        w[0]
    );
    assert!(w[0].message.contains("A2.12"));
    let w = warnings(&with_consumers(
        "  - {ack_mode: dups_ok, optimize_ack: true}\n",
    ));
    assert_eq!(w.len(), 1);
    assert!(
        warnings(&with_consumers(
            "  - {ack_mode: auto, optimize_ack: true}\n"
        ))
        .is_empty()
    );
}

#[test]
fn ack_every_and_commit_every_without_effect_warn() {
    let w = warnings(&with_consumers("  - ack_mode: auto\n    ack_every: 10\n"));
    assert_eq!(w.len(), 1);
    assert_eq!((w[0].line, w[0].column), (Some(6), Some(16)));
    assert!(
        w[0].message
            .contains("ack_every has no effect with ack_mode `auto`")
    );
    let w = warnings(&with_consumers(
        "  - ack_mode: client\n    commit_every: 10\n",
    ));
    assert_eq!(w.len(), 1);
    assert!(
        w[0].message
            .contains("commit_every has no effect with ack_mode `client`")
    );
    assert!(
        warnings(&with_consumers(
            "  - {ack_mode: individual, ack_every: 3}\n"
        ))
        .is_empty()
    );
    assert!(
        warnings(&with_consumers(
            "  - {ack_mode: transacted, commit_every: 3}\n"
        ))
        .is_empty()
    );
}

#[test]
fn deadlock_without_prefetch_extension_warns() {
    let no_ext = |c: &str| {
        format!(
            "broker: {{use_prefetch_extension: false}}\n{}",
            with_consumers(c)
        )
    };
    let w = warnings(&no_ext(
        "  - ack_mode: client\n    prefetch: 10\n    ack_every: 0\n",
    ));
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!((w[0].line, w[0].column), (Some(8), Some(16)));
    assert!(
        w[0].message.contains("will stall once 10 messages are unacknowledged: the broker only widens the window on DELIVERED acks when use_prefetch_extension is on (semantics.md A6.3)"),
        "{}",
        w[0]
    );
    let w = warnings(&no_ext(
        "  - {ack_mode: individual, prefetch: 10, ack_every: 11}\n",
    ));
    assert_eq!(w.len(), 1);
    let w = warnings(&no_ext(
        "  - {ack_mode: transacted, prefetch: 5, commit_every: 6}\n",
    ));
    assert_eq!(w.len(), 1);
    assert!(
        w[0].message
            .contains("commit_every 6 is above its prefetch")
    );
    // Fine: acks within the window, or the extension on, or pull mode.
    assert!(
        warnings(&no_ext(
            "  - {ack_mode: client, prefetch: 10, ack_every: 10}\n"
        ))
        .is_empty()
    );
    assert!(
        warnings(&with_consumers(
            "  - {ack_mode: client, prefetch: 10, ack_every: 0}\n"
        ))
        .is_empty()
    );
    assert!(
        warnings(&no_ext(
            "  - {ack_mode: client, delivery: receive, prefetch: 0, ack_every: 5}\n"
        ))
        .is_empty()
    );
}

#[test]
fn crash_before_start_warns() {
    let w = warnings(&with_consumers("  - start_at: 2s\n    crash: {at: 1s}\n"));
    assert_eq!(w.len(), 1);
    assert_eq!((w[0].line, w[0].column), (Some(6), Some(17)));
    assert!(
        w[0].message
            .contains("crash.at 1s is before the consumer starts (start_at 2s)")
    );
}

// ---- broker_url ------------------------------------------------------------------------------

#[test]
fn broker_url_options_are_connection_factory_defaults() {
    let l = ok(&format!(
        "broker_url: \"tcp://h:61616?jms.optimizeAcknowledge=true&jms.prefetchPolicy.queuePrefetch=300&jms.optimizeAcknowledgeTimeOut=50&jms.redeliveryPolicy.maximumRedeliveries=2&jms.redeliveryPolicy.redeliveryDelay=10\"\n{}",
        &MINIMAL["name: t\n".len()..].replace("consumers:\n  - {}\n", "consumers:\n  - {}\n  - {prefetch: 5, optimize_ack: false}\n")
    ).replace("broker_url", "name: t\nbroker_url"));
    let s = &l.scenario;
    assert_eq!(s.consumers[0].prefetch, 300);
    assert!(s.consumers[0].optimize_ack);
    assert_eq!(
        s.consumers[0].optimize_ack_timeout,
        SimDuration::from_millis(50)
    );
    // Explicit fields win over the URL.
    assert_eq!(s.consumers[1].prefetch, 5);
    assert!(!s.consumers[1].optimize_ack);
    assert_eq!(s.broker.redelivery.maximum_redeliveries, Some(2));
    assert_eq!(
        s.broker.redelivery.redelivery_delay,
        SimDuration::from_millis(10)
    );
    assert_eq!(
        s.broker.redelivery.initial_redelivery_delay,
        SimDuration::from_secs(1)
    );
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
}

#[test]
fn explicit_redelivery_wins_over_the_url() {
    let r = ok(&format!(
        "broker_url: tcp://h:1?jms.redeliveryPolicy.maximumRedeliveries=2&jms.redeliveryPolicy.useExponentialBackOff=true\nbroker:\n  redelivery: {{maximum_redeliveries: 9}}\n{MINIMAL}"
    ))
    .scenario
    .broker
    .redelivery;
    assert_eq!(r.maximum_redeliveries, Some(9));
    assert!(r.use_exponential_backoff);
}

#[test]
fn failover_url_options_apply() {
    let c = consumer(&format!(
        "broker_url: \"failover:(tcp://a:61616,tcp://b:61616)?randomize=false&jms.prefetchPolicy.all=7\"\n{MINIMAL}"
    ));
    assert_eq!(c.prefetch, 7);
}

#[test]
fn unknown_jms_option_is_an_error_naming_it() {
    assert_err(
        &format!("broker_url: \"tcp://h:1?jms.optimizeAck=true\"\n{MINIMAL}"),
        1,
        13,
        &[
            "there are 1 jms options that couldn't be set on the ConnectionFactory",
            "`jms.optimizeAck`",
        ],
    );
}

#[test]
fn malformed_broker_url_points_at_it() {
    assert_err(
        &format!("{MINIMAL}broker_url: failover:(tcp://a:61616\n"),
        6,
        13,
        &["broker_url", "unclosed `(`"],
    );
    assert_err(
        &format!("{MINIMAL}broker_url: localhost\n"),
        6,
        13,
        &["has no scheme"],
    );
}

#[test]
fn url_prefetch_is_capped_with_a_warning() {
    let l = ok(&format!(
        "broker_url: tcp://h:1?jms.prefetchPolicy.queuePrefetch=50000\n{MINIMAL}"
    ));
    assert_eq!(l.scenario.consumers[0].prefetch, 32767);
    assert_eq!(l.warnings.len(), 1);
    assert_eq!(
        (l.warnings[0].line, l.warnings[0].column),
        (Some(1), Some(13))
    );
    assert!(l.warnings[0].message.contains("capped at 32767"));
}

#[test]
fn url_prefetch_zero_with_a_listener_is_rejected_at_the_url() {
    assert_err(
        &format!("broker_url: tcp://h:1?jms.prefetchPolicy.queuePrefetch=0\n{MINIMAL}"),
        1,
        13,
        &[
            "prefetch 0 (set by broker_url)",
            "Illegal prefetch size of zero",
        ],
    );
}

#[test]
fn url_optimize_ack_on_a_client_consumer_warns_at_the_url() {
    let w = warnings(
        &format!(
            "broker_url: tcp://h:1?jms.optimizeAcknowledge=true&jms.useAsyncSend=true\n{}",
            with_consumers("  - ack_mode: client\n").replace("name: t\n", "")
        )
        .replace("broker_url", "name: t\nbroker_url"),
    );
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w.iter().any(|w| w.message.contains("jms.useAsyncSend")));
    assert!(w.iter().all(|w| (w.line, w.column) == (Some(2), Some(13))));
}

// ---- overrides (sweep cells) -------------------------------------------------------------

#[test]
fn overrides_patch_the_raw_document_before_validation() {
    let text = with_consumers(
        "  - {ack_mode: client, processing: {dist: exponential, mean: 5ms}}\n  - {name: other}\n",
    );
    let raw = parse_raw(&text, FILE).unwrap();
    let prefetch = GridValue::Int(10);
    let mean = GridValue::Str("7ms".into());
    let retries = GridValue::Int(-1);
    let l = validate_with_overrides(
        &raw,
        FILE,
        [
            ("consumers.*.prefetch", &prefetch, Location::UNKNOWN),
            ("consumers.0.processing.mean", &mean, Location::UNKNOWN),
            (
                "broker.redelivery.maximum_redeliveries",
                &retries,
                Location::UNKNOWN,
            ),
        ],
    )
    .unwrap();
    let s = l.scenario;
    assert!(s.consumers.iter().all(|c| c.prefetch == 10));
    assert_eq!(
        s.consumers[0].processing,
        DurationDist::Exponential {
            mean: SimDuration::from_millis(7)
        }
    );
    assert_eq!(s.broker.redelivery.maximum_redeliveries, None);
    // The base document is untouched.
    assert_eq!(
        validate::validate(&raw, FILE).unwrap().scenario.consumers[0].prefetch,
        1000
    );
}

#[test]
fn bad_overrides_are_reported_at_the_grid_key() {
    let text = format!(
        "{MINIMAL}sweep:\n  grid:\n    consumers.*.prefech: [1]\n    consumers.*.prefetch: [40000]\n"
    );
    let raw = parse_raw(&text, FILE).unwrap();
    let grid = &raw
        .value
        .sweep
        .as_ref()
        .unwrap()
        .value
        .grid
        .as_ref()
        .unwrap()
        .value
        .0;
    let (key, values) = &grid[0];
    assert_eq!(
        grid_key_location(&raw, "consumers.*.prefech"),
        key.referenced
    );
    assert_eq!(grid_key_location(&raw, "nope"), Location::UNKNOWN);
    let e = validate_with_overrides(
        &raw,
        FILE,
        [(key.value.as_str(), &GridValue::Int(1), key.referenced)],
    )
    .unwrap_err();
    assert_eq!((e.line(), e.column()), (Some(8), Some(5)));
    assert!(
        e.to_string()
            .contains("sweep path `consumers.*.prefech`: unknown field `prefech`"),
        "{e}"
    );
    assert_eq!(values.value.len(), 1);
    // A value out of range is reported like a file value, at the grid key.
    let (key, _) = &grid[1];
    let e = validate_with_overrides(
        &raw,
        FILE,
        [(key.value.as_str(), &GridValue::Int(40000), key.referenced)],
    )
    .unwrap_err();
    assert_eq!((e.line(), e.column()), (Some(9), Some(5)));
    assert!(e.to_string().contains("prefetch 40000 is above"), "{e}");
    // Index out of range, path through a single value.
    let at = Location::UNKNOWN;
    for path in [
        "consumers.3.prefetch",
        "consumers.*.prefetch.x",
        "consumers.*.processing.mean",
        "broker",
        "consumers",
    ] {
        assert!(
            validate_with_overrides(&raw, FILE, [(path, &GridValue::Int(1), at)]).is_err(),
            "{path} should be rejected"
        );
    }
    // A whole distribution can be replaced by a bare duration.
    let l = validate_with_overrides(
        &raw,
        FILE,
        [("consumers.*.processing", &GridValue::Str("2ms".into()), at)],
    )
    .unwrap();
    assert_eq!(
        l.scenario.consumers[0].processing,
        DurationDist::Constant(SimDuration::from_millis(2))
    );
}

// ---- files and hostile input ---------------------------------------------------------------

#[test]
fn load_reads_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ok.yaml");
    std::fs::write(&path, MINIMAL).unwrap();
    assert_eq!(load(&path).unwrap().scenario.name, "t");
}

#[test]
fn load_reports_io_errors_with_the_file_name() {
    let e = load(Path::new("/definitely/not/here.yaml")).unwrap_err();
    assert!(matches!(e, ScenarioError::Io { .. }));
    assert!(
        e.to_string().starts_with("/definitely/not/here.yaml: "),
        "{e}"
    );
    assert_eq!(e.line(), None);
}

#[test]
fn load_rejects_huge_files_unread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.yaml");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(MAX_FILE_BYTES + 1).unwrap();
    let e = load(&path).unwrap_err();
    assert!(matches!(e, ScenarioError::TooLarge { .. }), "{e}");
    assert!(e.to_string().contains("at most 16777216 bytes"), "{e}");
}

#[test]
fn load_locates_invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, b"name: t\nseed: 4\xff2\n").unwrap();
    let e = load(&path).unwrap_err();
    assert_eq!((e.line(), e.column()), (Some(2), Some(8)), "{e}");
    assert!(e.to_string().contains("invalid UTF-8"));
}

#[track_caller]
fn rejected_quickly(text: &str) -> ScenarioError {
    let start = Instant::now();
    let e = parse_str(text, FILE).expect_err("hostile input must be rejected");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
    e
}

#[test]
fn billion_laughs_is_rejected_quickly() {
    // Classic shape: nine aliases per level, nine levels (≈ 10^9 leaves if expanded).
    let mut bomb = String::from("a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
    let levels = ["b", "c", "d", "e", "f", "g", "h", "i"];
    let mut prev = "a";
    for l in levels {
        bomb.push_str(&format!(
            "{l}: &{l} [{}]\n",
            vec![format!("*{prev}"); 9].join(",")
        ));
        prev = l;
    }
    rejected_quickly(&bomb);
    // The same bomb under a field that accepts lists of values.
    let nested = bomb
        .lines()
        .map(|l| format!("    {l}\n"))
        .collect::<String>();
    rejected_quickly(&format!("{MINIMAL}sweep:\n  grid:\n{nested}"));
    // A bomb that is valid all the way down: merge keys replaying merge keys.
    let mut merge_bomb = String::from(
        "name: t\nproducers: [{messages: 1}]\nconsumers:\n  - &c0 {ack_mode: client}\n",
    );
    for i in 1..12 {
        merge_bomb.push_str(&format!(
            "  - &c{i} {{<<: [{}]}}\n",
            vec![format!("*c{}", i - 1); 10].join(", ")
        ));
    }
    let e = rejected_quickly(&merge_bomb);
    assert!(e.to_string().contains("safety limits"), "{e}");
}

#[test]
fn too_many_aliases_hit_the_budget() {
    let aliases = vec!["*a"; 20_000].join(", ");
    let e = rejected_quickly(&with_consumers(&format!(
        "  - failures: {{poison: [&a 1, {aliases}]}}\n"
    )));
    assert!(e.to_string().contains("safety limits"), "{e}");
}

#[test]
fn deep_nesting_is_rejected_quickly() {
    let deep = format!("name: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    rejected_quickly(&deep);
    let mut block = String::from("name: t\nsweep:\n  grid:\n");
    for depth in 0..200 {
        block.push_str(&" ".repeat(4 + 2 * depth));
        block.push_str("- \n");
    }
    rejected_quickly(&block);
    let maps = format!(
        "name: t\nbroker: {}{}\n",
        "{a: ".repeat(5000),
        "}".repeat(5000)
    );
    rejected_quickly(&maps);
}

#[test]
fn oversized_text_is_rejected() {
    let text = format!("name: t\n#{}\n", "x".repeat(MAX_FILE_BYTES as usize));
    assert!(matches!(
        parse_str(&text, FILE),
        Err(ScenarioError::TooLarge { .. })
    ));
}

const RICH: &str = r#"name: rich
seed: 7
until: 2s
network: {latency: {dist: normal, mean: 100us, std: 10us}}
broker:
  redelivery: {maximum_redeliveries: 2, maximum_redelivery_delay: -1}
  use_prefetch_extension: false
producers:
  - {name: p, messages: 5, arrival: {dist: constant, rate: 500}}
consumers:
  - &c
    name: c
    ack_mode: client
    ack_every: 2
    prefetch: 10
    processing: {dist: uniform, min: 1ms, max: 2ms}
    failures: {probability: 0.5, handling: recover, poison: [1, 2]}
    crash: {at: 1s, restart_after: 1s}
  - {<<: *c, name: d}
broker_url: "failover:(tcp://a:1,tcp://b:1)?jms.optimizeAcknowledge=true"
sweep: {replicates: 2, grid: {consumers.*.prefetch: [1, 2]}}
"#;

#[test]
fn rich_scenario_is_valid() {
    let l = ok(RICH);
    assert_eq!(l.scenario.consumers.len(), 2);
}

/// YAML-ish fragments to assemble random documents from.
const TOKENS: &[&str] = &[
    "name:",
    "consumers:",
    "producers:",
    "broker:",
    "sweep:",
    "grid:",
    "- ",
    "  ",
    "    ",
    "\n",
    ":",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a ",
    "*a",
    "<<:",
    "!!str ",
    "!tag ",
    "'",
    "\"",
    "#",
    "---\n",
    "...\n",
    "1ms",
    "-1",
    "0",
    "40000",
    "1e400",
    ".nan",
    "~",
    "null",
    "true",
    "yes",
    "prefetch:",
    "messages: 5",
    "ack_mode: client",
    "processing:",
    "dist: pareto",
    "broker_url: tcp://(",
    "?",
    "%",
    "\t",
    "\u{feff}",
    "é",
    "µs",
    "|\n",
    ">-\n",
    "? ",
    "\\",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_text(text in "\\PC{0,400}") {
        let _ = parse_str(&text, FILE);
    }

    #[test]
    fn never_panics_on_token_soup(tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..80)) {
        let text: String = tokens.concat();
        if let Err(e) = parse_str(&text, FILE) {
            let _ = e.to_string();
        }
    }

    #[test]
    fn never_panics_on_truncated_or_mutated_scenarios(
        cut in 0usize..RICH.len(),
        at in 0usize..RICH.len(),
        insert in prop::sample::select(TOKENS),
    ) {
        let truncated: String = RICH.chars().take(cut).collect();
        let _ = parse_str(&truncated, FILE);
        let mut mutated: Vec<char> = RICH.chars().collect();
        let at = at.min(mutated.len());
        mutated.splice(at..at, insert.chars());
        let mutated: String = mutated.into_iter().collect();
        if let Err(e) = parse_str(&mutated, FILE) {
            // Every error renders, and located errors point inside the text.
            let _ = e.to_string();
            if let Some(line) = e.line() {
                prop_assert!(line <= mutated.lines().count() + 1);
            }
        }
    }
}

/// Message ids are 32-bit broker sequence ids, and consumer instances are bounded, so an
/// absurd size is bad input instead of an allocation failure mid-run.
#[test]
fn sizes_beyond_the_model_limits_are_errors() {
    assert_err(
        "name: s\nproducers:\n  - messages: 4300000000\nconsumers:\n  - name: c\n",
        3,
        15,
        &["messages 4300000000 is out of range", "0..=4294967294"],
    );
    assert_err(
        "name: s\nproducers:\n  - { name: a, messages: 3000000000 }\n  - { name: b, messages: 3000000000 }\nconsumers:\n  - name: c\n",
        3,
        3,
        &["6000000000 messages in all", "at most 4294967294"],
    );
    assert_err(
        &with_consumers("  - replicas: 4000000000\n"),
        5,
        15,
        &["replicas 4000000000 is out of range", "1..=100000"],
    );
    assert_err(
        &with_consumers("  - { name: a, replicas: 60000 }\n  - { name: b, replicas: 60000 }\n"),
        5,
        3,
        &["120000 consumer instances in all", "at most 100000"],
    );
}

// ---- topics --------------------------------------------------------------------------------

fn on_topic(destination: &str, consumers: &str) -> String {
    format!(
        "name: t\nbroker:\n  destination: {destination}\nproducers:\n  - messages: 10\nconsumers:\n{consumers}"
    )
}

#[test]
fn topic_subscribers_get_the_client_default_prefetch_of_their_kind() {
    use crate::model::config::{DestinationConfig, SubscriptionKind, TopicPolicy};
    // A1.1, A1.2: non-durable 32767; durable 1000 in an AUTO session, else 100.
    let l = ok(&on_topic(
        "{kind: topic}",
        "  - {name: a}\n  - {name: b, subscription: durable}\n  - {name: c, subscription: durable, ack_mode: dups_ok}\n",
    ));
    let c = &l.scenario.consumers;
    assert_eq!(
        c.iter()
            .map(|c| (c.prefetch, c.subscription))
            .collect::<Vec<_>>(),
        vec![
            (32767, Some(SubscriptionKind::NonDurable)),
            (1000, Some(SubscriptionKind::Durable)),
            (100, Some(SubscriptionKind::Durable)),
        ]
    );
    // The stock activemq.xml by default: a policy entry with a constant limit of 1000.
    assert_eq!(
        l.scenario.broker.destination,
        DestinationConfig::Topic(TopicPolicy {
            policy_entry: true,
            pending_message_limit: Some(1000)
        })
    );
    let none = ok(&on_topic("{kind: topic, policy_entry: false}", "  - {}\n"));
    assert_eq!(
        none.scenario.broker.destination,
        DestinationConfig::Topic(TopicPolicy {
            policy_entry: false,
            pending_message_limit: None
        })
    );
    let unlimited = ok(&on_topic(
        "{kind: topic, pending_message_limit: none}",
        "  - {}\n",
    ));
    assert_eq!(
        unlimited.scenario.broker.destination,
        DestinationConfig::Topic(TopicPolicy {
            policy_entry: true,
            pending_message_limit: None
        })
    );
}

#[test]
fn queues_keep_their_defaults_and_reject_topic_settings() {
    let q = ok(MINIMAL);
    assert_eq!(q.scenario.consumers[0].subscription, None);
    assert!(q.scenario.producers[0].send.persistent);
    assert_err(
        &with_consumers("  - {subscription: durable}\n"),
        5,
        20,
        &["subscription", "topic subscribers only"],
    );
    assert_err(
        &on_topic("{kind: queue, pending_message_limit: 5}", "  - {}\n"),
        3,
        53,
        &["apply to topics only"],
    );
    assert_err(
        &on_topic("{kind: topic}", "  - {subscription: shared}\n"),
        7,
        20,
        &["unknown subscription `shared`", "`durable`"],
    );
}

#[test]
fn topics_refuse_queue_only_settings_at_the_field() {
    // Consumer priority, exclusive consumers, groups, TTL, priority dispatch and slow-consumer
    // strategies are modelled for queues only: a topic scenario naming one is refused there.
    assert_err(
        &on_topic("{kind: topic}", "  - {exclusive: true}\n"),
        7,
        17,
        &["`exclusive` is modelled for a queue destination only"],
    );
    assert_err(
        "name: t\nbroker:\n  destination: {kind: topic}\nproducers:\n  - {messages: 10, time_to_live: 1s}\nconsumers:\n  - {}\n",
        5,
        34,
        &["`time_to_live`", "queue destination only"],
    );
    assert_err(
        "name: t\nbroker:\n  destination: {kind: topic}\n  prioritized_messages: true\nproducers:\n  - {messages: 10}\nconsumers:\n  - {}\n",
        4,
        25,
        &["`broker.prioritized_messages`"],
    );
    let crash = "name: t\nbroker:\n  destination: {kind: topic}\n  crash: {at: 1s, restart_after: 1s}\nproducers:\n  - {messages: 10}\nconsumers:\n  - {}\n";
    assert!(
        ok(crash).scenario.broker.crash.is_some(),
        "a broker crash works on a topic"
    );
}

#[test]
fn topics_take_the_abort_strategy_and_refuse_abort_slow_ack() {
    use crate::model::config::SlowConsumerStrategy;
    let abort = ok(
        "name: t\nbroker:\n  destination: {kind: topic}\n  slow_consumer: {strategy: abort}\nproducers:\n  - {messages: 10}\nconsumers:\n  - {}\n",
    );
    assert!(matches!(
        abort.scenario.broker.slow_consumer,
        SlowConsumerStrategy::Abort(_)
    ));
    assert!(abort.warnings.is_empty(), "{:?}", abort.warnings);
    assert_err(
        "name: t\nbroker:\n  destination: {kind: topic}\n  slow_consumer: {strategy: abort_slow_ack}\nproducers:\n  - {messages: 10}\nconsumers:\n  - {}\n",
        4,
        29,
        &["`abort_slow_ack` is modelled for a queue destination only"],
    );
}
