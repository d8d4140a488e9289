//! The command line as users and scripts see it (contract.md): files written, columns,
//! reproducibility, exit statuses and error messages. Scenarios are written inline into a
//! temporary directory, and every command runs with that directory as its working directory,
//! so the default `results/` never lands in the source tree.

use std::fs;

use acksim::metrics::{
    CONSUMER_COLUMNS, CONTRACT_CONSUMER_COLUMNS, CONTRACT_SUMMARY_COLUMNS, SUMMARY_COLUMNS,
};
use predicates::prelude::*;

/// Three consumer instances (two auto-ack replicas and a client-ack one), 120 messages.
const THREE_CONSUMERS: &str = "\
name: three
seed: 7
producers:
  - name: p
    messages: 120
    arrival: { dist: exponential, rate: 2000 }
consumers:
  - name: fast
    replicas: 2
    prefetch: 10
    processing: { dist: constant, value: 2ms }
  - name: slow
    ack_mode: client
    prefetch: 50
    processing: { dist: constant, value: 5ms }
";

use crate::workspace::Workspace;

fn csv_rows(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// The value of `column` in the only data row of `summary.csv`.
fn summary_cell(text: &str, column: &str) -> String {
    let (header, rows) = csv_rows(text);
    assert_eq!(rows.len(), 1, "summary.csv has one row");
    let i = header
        .iter()
        .position(|h| h == column)
        .unwrap_or_else(|| panic!("no column {column}"));
    rows[0][i].clone()
}

#[test]
fn run_writes_both_tables_with_the_contract_columns_into_the_default_directory() {
    let ws = Workspace::new();
    ws.write("three.yaml", THREE_CONSUMERS);
    ws.acksim(&["run", "three.yaml"])
        .success()
        .stdout(predicate::str::contains("scenario three · seed 7"))
        .stdout(predicate::str::contains(
            "conservation: produced 120 = unique 120",
        ))
        .stdout(predicate::str::contains("results/three/summary.csv"));

    let (header, rows) = csv_rows(&ws.read("results/three/summary.csv"));
    assert_eq!(
        header,
        SUMMARY_COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>()
    );
    assert_eq!(rows.len(), 1);
    for column in CONTRACT_SUMMARY_COLUMNS {
        assert!(
            header.iter().any(|h| h == column),
            "summary.csv lacks {column}"
        );
    }
    let summary = ws.read("results/three/summary.csv");
    assert_eq!(summary_cell(&summary, "scenario"), "three");
    assert_eq!(summary_cell(&summary, "produced"), "120");

    let (header, rows) = csv_rows(&ws.read("results/three/consumers.csv"));
    assert_eq!(
        header,
        CONSUMER_COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>()
    );
    for column in CONTRACT_CONSUMER_COLUMNS {
        assert!(
            header.iter().any(|h| h == column),
            "consumers.csv lacks {column}"
        );
    }
    let instances: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(instances, ["fast-0", "fast-1", "slow-0"]);
    assert!(
        !ws.path().join("results/three/trace.csv").exists(),
        "no trace without --trace"
    );
}

#[test]
fn trace_has_its_header_and_one_accepted_and_processed_row_per_message() {
    let ws = Workspace::new();
    ws.write("three.yaml", THREE_CONSUMERS);
    ws.acksim(&["run", "three.yaml", "--out", "out", "--trace"])
        .success();
    let (header, rows) = csv_rows(&ws.read("out/trace.csv"));
    assert_eq!(
        header,
        [
            "time_s",
            "time_ns",
            "event",
            "consumer",
            "message",
            "first_message",
            "count",
            "ack_type",
            "redelivery_counter"
        ]
    );
    let summary = ws.read("out/summary.csv");
    let count = |event: &str| rows.iter().filter(|r| r[2] == event).count().to_string();
    assert_eq!(count("accepted"), summary_cell(&summary, "produced"));
    assert_eq!(count("processed"), summary_cell(&summary, "processed"));
    let events: usize = summary_cell(&summary, "events").parse().unwrap();
    assert!(
        rows.len() >= events / 2 && rows.len() <= events * 4,
        "{} rows for {events} events",
        rows.len()
    );
    for row in &rows {
        let ns: u64 = row[1].parse().unwrap();
        assert_eq!(
            row[0],
            format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
        );
    }
    assert!(
        rows.iter().any(|r| r[3] == "slow-0"),
        "consumer cells carry instance names"
    );
}

#[test]
fn the_same_seed_reproduces_every_file_but_wall_time() {
    let ws = Workspace::new();
    ws.write("three.yaml", THREE_CONSUMERS);
    for out in ["a", "b"] {
        ws.acksim(&["run", "three.yaml", "--out", out, "--trace"])
            .success();
    }
    assert_eq!(ws.read("a/consumers.csv"), ws.read("b/consumers.csv"));
    assert_eq!(ws.read("a/trace.csv"), ws.read("b/trace.csv"));
    let (header, a) = csv_rows(&ws.read("a/summary.csv"));
    let (_, b) = csv_rows(&ws.read("b/summary.csv"));
    let wall = header.iter().position(|h| h == "wall_s").unwrap();
    for (i, column) in header.iter().enumerate().filter(|&(i, _)| i != wall) {
        assert_eq!(a[0][i], b[0][i], "column {column}");
    }
}

#[test]
fn seed_flag_overrides_the_scenario_seed() {
    let ws = Workspace::new();
    ws.write("three.yaml", THREE_CONSUMERS);
    ws.acksim(&["run", "three.yaml", "--out", "out", "--seed", "12345"])
        .success()
        .stdout(predicate::str::contains("seed 12345"));
    assert_eq!(summary_cell(&ws.read("out/summary.csv"), "seed"), "12345");
}

#[test]
fn rerunning_replaces_the_files_and_leaves_no_temporaries() {
    let ws = Workspace::new();
    ws.write("three.yaml", THREE_CONSUMERS);
    ws.acksim(&["run", "three.yaml", "--out", "out"]).success();
    ws.acksim(&["run", "three.yaml", "--out", "out", "--seed", "8"])
        .success();
    let mut files: Vec<String> = fs::read_dir(ws.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, ["consumers.csv", "summary.csv"]);
    assert_eq!(summary_cell(&ws.read("out/summary.csv"), "seed"), "8");
}

/// Where an error message must point.
enum At {
    /// The file only (it could not be read).
    File,
    /// `file:line:column`, some line.
    AnyLine,
    /// `file:line:column` at this line.
    Line(usize),
}

/// Runs a bad scenario (`None`: a missing file) with `run`, `run --out --trace` and `check`:
/// exit 2, one `error:` naming the file where `at` says, nothing written.
fn assert_rejected(yaml: Option<&str>, at: At) {
    let ws = Workspace::new();
    if let Some(yaml) = yaml {
        ws.write("bad.yaml", yaml);
    }
    for args in [
        &["run", "bad.yaml"][..],
        &["run", "bad.yaml", "--out", "out", "--trace"],
        &["check", "bad.yaml"],
    ] {
        let assert = ws.acksim(args).code(2).stdout("");
        let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
        assert!(
            stderr.starts_with("error: ") && stderr.contains("bad.yaml"),
            "{stderr}"
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{stderr}"
        );
        let position = error_position(&stderr);
        match at {
            At::File => {}
            At::AnyLine => assert!(position.is_some(), "no line:column in {stderr}"),
            At::Line(line) => assert_eq!(position.map(|(l, _)| l), Some(line), "{stderr}"),
        }
        assert!(ws.outputs().is_empty(), "{args:?} left {:?}", ws.outputs());
    }
}

/// The `line:column` after `bad.yaml:` in an error message, if any.
fn error_position(stderr: &str) -> Option<(usize, usize)> {
    let rest = stderr.split_once("bad.yaml:")?.1;
    let mut parts = rest.splitn(3, ':');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[test]
fn malformed_yaml_is_rejected_with_its_position() {
    assert_rejected(
        Some("name: x\nproducers: [ { messages: 1 }\nconsumers:\n  - name: c\n"),
        At::AnyLine,
    );
}

#[test]
fn an_unknown_field_is_rejected_with_its_line_and_column() {
    let yaml = "name: x\nproducers:\n  - messages: 5\n    colour: blue\nconsumers:\n  - name: c\n";
    assert_rejected(Some(yaml), At::Line(4));
}

/// Wrong types and absurd values are exit-2 errors at the offending line, with what was
/// expected.
#[test]
fn wrong_types_and_absurd_values_are_rejected_at_their_line() {
    let base = "name: x\nproducers:\n  - messages: 5\nconsumers:\n  - name: c\n";
    let cases = [
        ("    prefetch: lots\n", "expected"),
        ("    prefetch: 5000000000\n", "32767"),
        ("    prefetch: -1\n", "expected"),
        ("    replicas: 0\n", "expected"),
        ("    processing: { dist: constant, value: 5 }\n", "unit"),
        ("    failures: { probability: 1.5 }\n", "expected"),
        ("    start_at: -2s\n", "negative"),
    ];
    for (line, says) in cases {
        let yaml = format!("{base}{line}");
        assert_rejected(Some(&yaml), At::Line(6));
        let ws = Workspace::new();
        ws.write("bad.yaml", &yaml);
        ws.acksim(&["check", "bad.yaml"])
            .code(2)
            .stderr(predicate::str::contains(says));
    }
}

#[test]
fn zero_consumers_are_rejected() {
    assert_rejected(
        Some("name: x\nproducers:\n  - messages: 5\nconsumers: []\n"),
        At::Line(4),
    );
}

/// A "billion laughs" document: nine levels of ten aliases each would expand to 10^9 nodes.
/// The parser's budget refuses it quickly instead of exhausting memory.
#[test]
fn a_yaml_alias_bomb_is_refused_quickly() {
    let mut yaml = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        yaml.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    yaml.push_str("name: x\nproducers:\n  - messages: 5\nconsumers:\n  - name: c\n");
    let started = std::time::Instant::now();
    assert_rejected(Some(&yaml), At::AnyLine);
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}

#[test]
fn a_missing_file_is_rejected_by_name() {
    assert_rejected(None, At::File);
}

#[test]
fn a_listener_with_prefetch_zero_is_rejected_as_the_client_would() {
    let yaml = "\
name: x
producers:
  - messages: 5
consumers:
  - name: c
    delivery: listener
    prefetch: 0
";
    assert_rejected(Some(yaml), At::AnyLine);
}

#[test]
fn a_run_whose_files_cannot_all_be_placed_leaves_none_of_them() {
    // consumers.csv is taken by a non-empty directory: the run succeeds, summary.csv and
    // trace.csv are staged, and placing consumers.csv fails. Exit 2, and nothing of this run
    // (files or temporaries) remains.
    let ws = Workspace::new();
    ws.write("three.yaml", THREE_CONSUMERS);
    fs::create_dir_all(ws.path().join("out/consumers.csv/occupied")).unwrap();
    ws.acksim(&["run", "three.yaml", "--out", "out", "--trace"])
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with(
            "error: cannot write out/consumers.csv",
        ));
    let left: Vec<String> = fs::read_dir(ws.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, ["consumers.csv"]);
}

#[test]
fn check_describes_the_scenario_and_prints_warnings_without_failing() {
    let ws = Workspace::new();
    ws.write("three.yaml", THREE_CONSUMERS);
    ws.acksim(&["check", "three.yaml"])
        .success()
        .stdout(predicate::str::contains("3 consumer instances"))
        .stdout(predicate::str::contains("three.yaml: ok"))
        .stderr("");
    // optimize_ack only takes effect in AUTO mode (semantics.md A2.12): a warning, not an error.
    let warned = THREE_CONSUMERS.replace(
        "ack_mode: client",
        "ack_mode: client\n    optimize_ack: true",
    );
    ws.write("warned.yaml", &warned);
    ws.acksim(&["check", "warned.yaml"])
        .success()
        .stdout(predicate::str::contains("warned.yaml: ok, 1 warning"))
        .stderr(
            predicate::str::is_match(r"^warning: warned\.yaml:(\d+:\d+: )?.*optimize_ack").unwrap(),
        );
    ws.acksim(&["check", "warned.yaml", "--deny-warnings"])
        .code(2)
        .stderr(predicate::str::contains("error: warned.yaml: 1 warning"));
    assert!(ws.outputs().is_empty(), "check writes nothing");
}

#[test]
fn usage_errors_exit_2() {
    let ws = Workspace::new();
    ws.write("three.yaml", THREE_CONSUMERS);
    ws.acksim(&[]).code(2);
    ws.acksim(&["run"])
        .code(2)
        .stderr(predicate::str::contains("SCENARIO.yaml"));
    ws.acksim(&["run", "three.yaml", "--seed", "minus-one"])
        .code(2)
        .stderr(predicate::str::contains("--seed"));
    ws.acksim(&["run", "three.yaml", "--frobnicate"]).code(2);
    ws.acksim(&["sweep", "three.yaml", "--shard", "9/8"])
        .code(2)
        .stderr(predicate::str::contains("I/N"));
    ws.acksim(&["frobnicate"])
        .code(2)
        .stderr(predicate::str::contains("frobnicate"));
    assert!(ws.outputs().is_empty());
    ws.acksim(&["--help"])
        .success()
        .stdout(predicate::str::contains("check"));
}

#[test]
fn an_output_path_that_is_a_file_is_bad_input() {
    let ws = Workspace::new();
    ws.write("three.yaml", THREE_CONSUMERS);
    fs::write(ws.path().join("taken"), "").unwrap();
    ws.acksim(&["run", "three.yaml", "--out", "taken"])
        .code(2)
        .stderr(predicate::str::is_match("^error: cannot create output directory taken").unwrap());
}

#[test]
fn tune_is_available_and_refuses_incomplete_flags() {
    let ws = Workspace::new();
    ws.write("three.yaml", THREE_CONSUMERS);
    // Every command is implemented now; tests/integration/tune.rs covers `tune` in depth.
    ws.acksim(&["tune", "--rate", "100", "--ack-interval", "2s"])
        .success()
        .stdout(predicate::str::contains("= 308"));
    ws.acksim(&["tune", "--rate", "100"])
        .code(2)
        .stdout("")
        .stderr(predicate::str::is_match("^error: .*--ack-interval").unwrap());
    assert!(ws.outputs().is_empty(), "left {:?}", ws.outputs());
}
