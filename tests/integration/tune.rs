//! `acksim tune`: the rule of thumb, bad input (exit status 2), and the simulated trade-off on
//! a small scenario (table, recommendation, tune.csv, charts, determinism).

use std::fs;
use std::path::Path;

use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::*;
use tempfile::TempDir;

/// Two unequal AUTO listeners behind a Poisson producer, one crashing once.
const SMALL: &str = "\
name: small
seed: 5
producers:
  - { name: p, messages: 200, arrival: { dist: exponential, rate: 300 } }
consumers:
  - { name: fast, processing: { dist: exponential, mean: 1ms } }
  - name: slow
    processing: { dist: exponential, mean: 8ms }
    crash: { after_processed: 20, restart_after: 100ms }
";

fn acksim(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    cargo_bin_cmd!("acksim")
        .current_dir(dir)
        .args(args)
        .assert()
}

fn workspace() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("small.yaml"), SMALL).unwrap();
    dir
}

#[test]
fn the_rule_of_thumb_of_the_contract() {
    let ws = workspace();
    acksim(
        ws.path(),
        &["tune", "--rate", "100", "--ack-interval", "2s"],
    )
    .success()
    .stdout(predicate::str::contains(
        "ceil(rate x interval / 0.65) = ceil(100 x 2 s / 0.65) = 308",
    ))
    .stdout(predicate::str::contains("0.5"))
    .stdout(predicate::str::contains("300 ms"));
    // Exactly on a whole number: 65/s x 1 s / 0.65 = 100, not 101.
    acksim(ws.path(), &["tune", "--rate", "65", "--ack-interval", "1s"])
        .success()
        .stdout(predicate::str::contains("/ 0.65) = 100\n"));
    // Just above: 66/s x 1 s / 0.65 = 101.5 -> 102.
    acksim(ws.path(), &["tune", "--rate=66", "--ack-interval=1000ms"])
        .success()
        .stdout(predicate::str::contains("/ 0.65) = 102\n"));
    assert_eq!(fs::read_dir(ws.path()).unwrap().count(), 1, "wrote files");
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let ws = workspace();
    let cases: [(&[&str], &str); 6] = [
        (&["tune", "--rate", "100"], "--ack-interval"),
        (&["tune", "--ack-interval", "2s"], "--rate"),
        (&["tune"], "needs both"),
        (
            &["tune", "--rate", "-5", "--ack-interval", "2s"],
            "positive",
        ),
        (&["tune", "--rate", "100", "--ack-interval", "2"], "unit"),
        (
            &["tune", "--rate", "100", "--ack-interval", "0s"],
            "greater than zero",
        ),
    ];
    for (args, expected) in cases {
        acksim(ws.path(), args)
            .code(2)
            .stdout("")
            .stderr(predicate::str::starts_with("error: "))
            .stderr(predicate::str::contains(expected));
    }
    // A burst producer has no rate: --rate is required.
    fs::write(
        ws.path().join("burst.yaml"),
        "name: b\nproducers: [{ messages: 10, arrival: { dist: burst } }]\nconsumers: [{}]\n",
    )
    .unwrap();
    acksim(ws.path(), &["tune", "burst.yaml"])
        .code(2)
        .stderr(predicate::str::contains("--rate"));
    assert_eq!(fs::read_dir(ws.path()).unwrap().count(), 2, "wrote files");
}

#[test]
fn a_small_scenario_end_to_end_and_deterministic() {
    let ws = workspace();
    let run = |out: &str| {
        let assert = acksim(
            ws.path(),
            &["tune", "small.yaml", "--replicates", "3", "--out", out],
        )
        .success();
        String::from_utf8(assert.get_output().stdout.clone()).unwrap()
    };
    let text = run("a");
    let candidates: Vec<u32> = text
        .lines()
        .find_map(|l| l.strip_prefix("candidates: "))
        .unwrap()
        .split(" (")
        .next()
        .unwrap()
        .split(", ")
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(candidates.len() >= 5, "{candidates:?}");
    let recommended: u32 = text
        .lines()
        .find_map(|l| l.strip_prefix("recommended prefetch: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(candidates.contains(&recommended), "{text}");
    assert!(text.contains("where the rule of thumb is wrong"), "{text}");

    let csv = fs::read_to_string(ws.path().join("a/tune.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let prefetches: Vec<u32> = rows
        .iter()
        .map(|r| r[col("prefetch")].parse().unwrap())
        .collect();
    assert_eq!(prefetches, candidates);
    let flagged: Vec<u32> = rows
        .iter()
        .filter(|r| &r[col("recommended")] == "1")
        .map(|r| r[col("prefetch")].parse().unwrap())
        .collect();
    assert_eq!(flagged, [recommended]);
    for r in &rows {
        assert_eq!(&r[col("runs")], "3");
        let thr: f64 = r[col("throughput_mean")].parse().unwrap();
        assert!(thr > 0.0);
    }
    for png in [
        "throughput.png",
        "idle_with_backlog_s.png",
        "max_unacked.png",
    ] {
        let bytes = fs::read(ws.path().join("a").join(png)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{png}");
    }

    // Same output twice (but for the directory named), and the same table.
    let again = run("b");
    assert_eq!(text.replace("a/", "b/"), again);
    assert_eq!(
        csv,
        fs::read_to_string(ws.path().join("b/tune.csv")).unwrap()
    );
}

#[test]
fn the_default_output_directory_is_under_results() {
    let ws = workspace();
    acksim(
        ws.path(),
        &["tune", "small.yaml", "--replicates", "1", "--threads", "2"],
    )
    .success()
    .stdout(predicate::str::contains("results/small/tune/tune.csv"));
    assert!(
        ws.path()
            .join("results/small/tune/throughput.png")
            .is_file()
    );
}

/// `scenarios/tune-prefetch-rule.yaml`, the README tour's prefetch question: its header's
/// hand-derived expectations.
#[test]
fn the_shipped_tune_scenario_answers_the_rule_of_thumb() {
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/",
        "tune-prefetch-rule.yaml"
    );
    let ws = tempfile::tempdir().unwrap();
    let assert = acksim(ws.path(), &["tune", scenario, "--out", "t"]).success();
    let text = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(text.contains("ceil(100 x 2 / 0.65) = 308"), "{text}");
    assert!(text.contains("recommended prefetch: 5\n"), "{text}");
    assert!(
        text.contains("within 5% of the best on both counts"),
        "{text}"
    );
    assert!(text.contains("each sees about 50.0 msg/s"), "{text}");

    let csv = fs::read_to_string(ws.path().join("t/tune.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = |prefetch: &str| {
        csv::Reader::from_reader(csv.as_bytes())
            .records()
            .map(Result::unwrap)
            .find(|r| &r[col("prefetch")] == prefetch)
            .unwrap()
    };
    let num = |r: &csv::StringRecord, c: &str| r[col(c)].parse::<f64>().unwrap();
    // Each worker's 800th message ends a full batch of ceil(0.65 x 5) = 4: 2 x 4 replayed.
    assert_eq!(num(&row("5"), "duplicates_mean"), 8.0);
    assert_eq!(num(&row("5"), "duplicates_ci95"), 0.0);
    assert_eq!(num(&row("5"), "recommended"), 1.0);
    assert!((num(&row("308"), "duplicates_mean") - 170.6).abs() < 1e-9);
    assert!((num(&row("308"), "latency_p99_s_mean") - 4.009).abs() < 5e-4);
    assert!((num(&row("10"), "latency_p99_s_mean") - 0.925).abs() < 5e-4);
    // Every candidate keeps up: goodput within 5 % of the 100/s offered, duplicates excluded.
    for r in reader.records().map(Result::unwrap) {
        let g = num(&r, "goodput_mean");
        assert!((95.0..=105.0).contains(&g), "{g}");
    }
}
