//! `acksim sweep` and `acksim merge` as users and batch scripts run them: the files written,
//! reproducibility across thread counts and shards, and the refusals (exit status 2).

use std::fs;
use std::path::{Path, PathBuf};

use acksim::metrics::SUMMARY_COLUMNS;
use predicates::prelude::*;

/// A 2 × 2 grid × 3 replicates of 50 messages; exponential processing so replicates differ.
const GRID: &str = "\
name: grid
seed: 11
producers:
  - { name: p, messages: 50, arrival: { dist: exponential, rate: 2000 } }
consumers:
  - { name: fast, processing: { dist: exponential, mean: 1ms } }
  - { name: slow, processing: { dist: exponential, mean: 4ms } }
sweep:
  replicates: 3
  grid:
    consumers.*.prefetch: [1, 100]
    consumers.*.ack_mode: [auto, dups_ok]
";

use crate::workspace::Workspace;

/// A workspace holding the grid scenario as `grid.yaml`.
fn grid_workspace() -> Workspace {
    Workspace::with_file("grid.yaml", GRID)
}

#[test]
fn sweep_writes_one_row_per_run_and_per_cell() {
    let ws = grid_workspace();
    ws.acksim(&["sweep", "grid.yaml", "--threads", "2"])
        .success()
        .stdout(predicate::str::contains("4 cells x 3 replicates = 12 runs"))
        // Not a terminal: no progress bar.
        .stderr("");
    let (header, rows) = ws.rows("results/grid/runs.csv");
    let mut expected = vec![
        "run",
        "cell",
        "replicate",
        "consumers.*.prefetch",
        "consumers.*.ack_mode",
    ];
    expected.extend(SUMMARY_COLUMNS.iter().map(|c| c.name));
    assert_eq!(header, expected);
    assert_eq!(rows.len(), 12);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    // Run index = cell × replicates + replicate; cells in file order, last key fastest.
    assert_eq!(rows[7][..5], ["7", "2", "1", "100", "auto"]);
    assert_eq!(rows[11][..5], ["11", "3", "2", "100", "dups_ok"]);
    let mut seeds: Vec<&str> = rows.iter().map(|r| r[col("seed")].as_str()).collect();
    seeds.sort();
    seeds.dedup();
    assert_eq!(seeds.len(), 12, "every run has its own seed");
    let makespans: Vec<&str> = rows[..3]
        .iter()
        .map(|r| r[col("makespan_s")].as_str())
        .collect();
    assert_ne!(makespans[0], makespans[1], "replicates differ");

    let (header, cells) = ws.rows("results/grid/cells.csv");
    assert_eq!(
        header[..6],
        [
            "cell",
            "consumers.*.prefetch",
            "consumers.*.ack_mode",
            "runs",
            "produced_mean",
            "produced_ci95"
        ]
    );
    assert!(header.contains(&"stalled_mean".to_string()));
    assert!(
        !header
            .iter()
            .any(|h| h.starts_with("wall_s") || h.starts_with("seed"))
    );
    assert_eq!(cells.len(), 4);
    assert_eq!(cells[3][..5], ["3", "100", "dups_ok", "3", "50"]);

    let manifest: serde_json::Value =
        serde_json::from_str(&ws.read("results/grid/manifest.json")).unwrap();
    assert_eq!(manifest["scenario"], "grid");
    assert_eq!(manifest["tool_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["base_seed"], 11);
    assert_eq!(manifest["total_runs"], 12);
    assert_eq!(manifest["complete"], true);
    assert_eq!(manifest["grid"][0]["values"], serde_json::json!([1, 100]));
    assert_eq!(
        manifest["run_indices"],
        serde_json::json!([{ "first": 0, "last": 11, "step": 1 }])
    );
    assert_eq!(
        manifest["shard"],
        serde_json::json!({ "index": 1, "count": 1 })
    );
    assert!(
        manifest["scenario_hash"]
            .as_str()
            .unwrap()
            .starts_with("fnv1a64:")
    );
}

#[test]
fn thread_count_does_not_change_any_output() {
    let ws = grid_workspace();
    ws.acksim(&["sweep", "grid.yaml", "--threads", "1", "--out", "t1"])
        .success();
    ws.acksim(&["sweep", "grid.yaml", "--threads", "2", "--out", "t2"])
        .success();
    assert_eq!(
        ws.without_wall("t1/runs.csv"),
        ws.without_wall("t2/runs.csv")
    );
    assert_eq!(ws.read("t1/cells.csv"), ws.read("t2/cells.csv"));
    assert_eq!(ws.read("t1/manifest.json"), ws.read("t2/manifest.json"));
}

#[test]
fn three_shards_merged_equal_the_unsharded_sweep() {
    let ws = grid_workspace();
    ws.acksim(&["sweep", "grid.yaml", "--out", "whole"])
        .success();
    for i in 1..=3 {
        ws.acksim(&["sweep", "grid.yaml", "--shard", &format!("{i}/3")])
            .success();
        let (_, rows) = ws.rows(&format!("results/grid/shard-{i}-of-3/runs.csv"));
        assert_eq!(rows.len(), 4);
        assert!(
            rows.iter()
                .all(|r| r[0].parse::<u64>().unwrap() % 3 == i - 1)
        );
    }
    // Shards in any order.
    ws.acksim(&[
        "merge",
        "results/grid/shard-3-of-3",
        "results/grid/shard-1-of-3",
        "results/grid/shard-2-of-3",
        "--out",
        "merged",
    ])
    .success();
    assert_eq!(
        ws.without_wall("merged/runs.csv"),
        ws.without_wall("whole/runs.csv")
    );
    assert_eq!(ws.read("merged/cells.csv"), ws.read("whole/cells.csv"));
    assert_eq!(
        ws.read("merged/manifest.json"),
        ws.read("whole/manifest.json")
    );
}

#[test]
fn merge_refuses_missing_repeated_and_foreign_shards() {
    let ws = grid_workspace();
    for i in 1..=2 {
        ws.acksim(&["sweep", "grid.yaml", "--shard", &format!("{i}/2")])
            .success();
    }
    let (one, two) = ("results/grid/shard-1-of-2", "results/grid/shard-2-of-2");
    ws.acksim(&["merge", one, "--out", "m"])
        .code(2)
        .stderr(predicate::str::contains(
            "6 of 12 runs are missing: 1, 3, 5",
        ));
    ws.acksim(&["merge", one, two, one, "--out", "m"])
        .code(2)
        .stderr(predicate::str::contains("run 0 appears twice"));
    fs::write(
        ws.path().join("other.yaml"),
        GRID.replace("seed: 11", "seed: 12"),
    )
    .unwrap();
    ws.acksim(&["sweep", "other.yaml", "--shard", "2/2", "--out", "other"])
        .success();
    ws.acksim(&["merge", one, "other", "--out", "m"])
        .code(2)
        .stderr(predicate::str::contains("scenario file differs"));
    // An interrupted shard says so.
    fs::create_dir(ws.path().join("cut")).unwrap();
    for file in ["runs.csv", "cells.csv"] {
        fs::copy(
            ws.path().join(two).join(file),
            ws.path().join("cut").join(file),
        )
        .unwrap();
    }
    let manifest = ws.read(&format!("{two}/manifest.json"));
    assert!(manifest.contains("\"complete\": true"));
    fs::write(
        ws.path().join("cut/manifest.json"),
        manifest.replace("\"complete\": true", "\"complete\": false"),
    )
    .unwrap();
    ws.acksim(&["merge", one, "cut", "--out", "m"])
        .code(2)
        .stderr(predicate::str::contains("interrupted"));
    ws.acksim(&["merge", one, "nowhere", "--out", "m"])
        .code(2)
        .stderr(predicate::str::contains("manifest.json"));
    assert!(!ws.path().join("m").exists(), "nothing written");
}

#[test]
fn shard_auto_reads_slurm_and_kubernetes() {
    let ws = grid_workspace();
    // Slurm array 1-3: task 3 is the third shard.
    ws.acksim_env(
        &["sweep", "grid.yaml", "--shard", "auto", "--out", "slurm"],
        &[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ],
    )
    .success()
    .stderr(predicate::str::contains("shard 3/3"));
    // Kubernetes Indexed Job: index 2 of 3 completions is the same shard.
    ws.acksim_env(
        &[
            "sweep",
            "grid.yaml",
            "--shard",
            "auto",
            "--shards",
            "3",
            "--out",
            "k8s",
        ],
        &[("JOB_COMPLETION_INDEX", "2")],
    )
    .success();
    assert_eq!(
        ws.without_wall("slurm/runs.csv"),
        ws.without_wall("k8s/runs.csv")
    );
    let (_, rows) = ws.rows("k8s/runs.csv");
    assert_eq!(
        rows.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(),
        ["2", "5", "8", "11"]
    );
    ws.acksim_env(
        &["sweep", "grid.yaml", "--shard", "auto"],
        &[("JOB_COMPLETION_INDEX", "2")],
    )
    .code(2)
    .stderr(predicate::str::contains("--shards N"));
    ws.acksim(&["sweep", "grid.yaml", "--shard", "auto"])
        .code(2)
        .stderr(predicate::str::contains("--shard I/N"));
}

#[test]
fn bad_grid_paths_and_values_are_refused_before_anything_runs() {
    let ws = grid_workspace();
    let cases = [
        ("consumers.*.ack_mode", "consumers.*.ack_mood", "ack_mood"),
        ("[auto, dups_ok]", "[auto, sometimes]", "sometimes"),
    ];
    for (from, to, named) in cases {
        fs::write(ws.path().join("bad.yaml"), GRID.replace(from, to)).unwrap();
        ws.acksim(&["sweep", "bad.yaml"])
            .code(2)
            .stderr(predicate::str::contains("bad.yaml:12:5").and(predicate::str::contains(named)));
    }
    assert!(!ws.path().join("results").exists(), "nothing written");
}

#[test]
fn replicates_flag_overrides_the_file() {
    let ws = grid_workspace();
    ws.acksim(&["sweep", "grid.yaml", "--replicates", "1", "--out", "r1"])
        .success();
    let (_, rows) = ws.rows("r1/runs.csv");
    assert_eq!(rows.len(), 4);
    let (_, cells) = ws.rows("r1/cells.csv");
    // One run per cell: the interval is 0, not undefined.
    assert!(cells.iter().all(|c| c[3] == "1" && c[5] == "0"));
}

/// The shipped sweep scenario is a valid sweep with 4 cells.
pub(crate) fn shipped_sweep_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/sweep-prefetch-balance.yaml")
}

#[test]
fn shipped_prefetch_sweep_expands_to_four_cells() {
    let ws = grid_workspace();
    let path = shipped_sweep_path();
    ws.acksim(&[
        "sweep",
        path.to_str().unwrap(),
        "--replicates",
        "1",
        "--out",
        "s",
    ])
    .success();
    let (_, cells) = ws.rows("s/cells.csv");
    assert_eq!(
        cells.iter().map(|c| c[1].as_str()).collect::<Vec<_>>(),
        ["1", "10", "100", "1000"]
    );
}
