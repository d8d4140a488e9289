//! The files of a sweep directory: `runs.csv`, `cells.csv`, `manifest.json`.
//!
//! `runs.csv` is kept as text rows (the cells exactly as written), and `cells.csv` is computed
//! from those rows, parsing each value back (floats are written in shortest round-trip form,
//! so parsing gives the same bits). A sweep and a merge therefore produce `cells.csv` by the
//! same code from the same text, byte for byte.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::shard::ShardSpec;
use super::{RunRecord, SweepPlan, grid, stats};
use crate::metrics::{SUMMARY_COLUMNS, Value};
use crate::report::{AtomicFile, ReportError, commit_all};
use crate::scenario::GridValue;

pub const RUNS_FILE: &str = "runs.csv";
pub const CELLS_FILE: &str = "cells.csv";
pub const MANIFEST_FILE: &str = "manifest.json";

/// The columns of `runs.csv` before the grid keys.
const RUN_ID_COLUMNS: [&str; 3] = ["run", "cell", "replicate"];
/// `cells.csv` columns between the grid keys and the statistics.
const RUNS_COUNT_COLUMN: &str = "runs";
/// Summary columns `cells.csv` does not aggregate: the scenario name, the per-run seed, and
/// `wall_s`, the one value that is not reproducible.
const NOT_AGGREGATED: [&str; 3] = ["scenario", "seed", "wall_s"];

/// Column names a grid key may not take (they would appear twice in `runs.csv`).
pub(super) fn fixed_run_columns() -> Vec<&'static str> {
    RUN_ID_COLUMNS
        .iter()
        .copied()
        .chain(SUMMARY_COLUMNS.iter().map(|c| c.name))
        .collect()
}

/// The `runs.csv` header for these grid keys.
pub(super) fn runs_header(keys: &[String]) -> Vec<String> {
    RUN_ID_COLUMNS
        .iter()
        .map(|s| s.to_string())
        .chain(keys.iter().cloned())
        .chain(SUMMARY_COLUMNS.iter().map(|c| c.name.to_string()))
        .collect()
}

/// `runs.csv` as text: a header and one row per run, ascending run index.
#[derive(Debug, Clone, PartialEq)]
pub struct RunsTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// A grid key and its values in `manifest.json` (values typed as in the YAML; non-finite
/// floats as their YAML spelling).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestGridKey {
    pub key: String,
    pub values: Vec<serde_json::Value>,
}

/// `manifest.json`: what a sweep directory holds, enough for `acksim merge` to check that
/// shards belong together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub tool: String,
    pub tool_version: String,
    pub scenario: String,
    /// `fnv1a64:<hex>` of the scenario file's bytes.
    pub scenario_hash: String,
    pub base_seed: u64,
    pub grid: Vec<ManifestGridKey>,
    pub cells: u64,
    pub replicates: u32,
    pub total_runs: u64,
    /// This directory's shard; `1/1` for a whole or merged sweep.
    pub shard: ShardSpec,
    /// `false` if the sweep was interrupted: `run_indices` then lists the runs that finished.
    pub complete: bool,
    /// The runs in `runs.csv`, ascending, as arithmetic progressions (a shard `I/N` is one:
    /// first `I − 1`, step `N`).
    pub run_indices: Vec<RunRange>,
}

/// Run indices `first, first + step, …, last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRange {
    pub first: u64,
    pub last: u64,
    pub step: u64,
}

impl RunRange {
    /// Ascending, distinct `runs` as few ranges as a greedy pass finds.
    pub fn compress(runs: &[u64]) -> Vec<RunRange> {
        let mut ranges: Vec<RunRange> = Vec::new();
        let mut i = 0;
        while i < runs.len() {
            let first = runs[i];
            let Some(&next) = runs.get(i + 1) else {
                ranges.push(RunRange {
                    first,
                    last: first,
                    step: 1,
                });
                break;
            };
            let step = next - first;
            let mut j = i + 1;
            while runs.get(j + 1) == Some(&(runs[j] + step)) {
                j += 1;
            }
            ranges.push(RunRange {
                first,
                last: runs[j],
                step,
            });
            i = j + 1;
        }
        ranges
    }

    /// The indices of `ranges`, in order.
    pub fn expand(ranges: &[RunRange]) -> Vec<u64> {
        ranges
            .iter()
            .flat_map(|r| (r.first..=r.last).step_by(r.step.max(1) as usize))
            .collect()
    }
}

fn grid_json(v: &GridValue) -> serde_json::Value {
    match v {
        GridValue::Bool(b) => (*b).into(),
        GridValue::Int(i) => (*i).into(),
        GridValue::Float(x) if x.is_finite() => (*x).into(),
        other => other.to_string().into(),
    }
}

impl SweepPlan {
    /// The manifest and `runs.csv` table of `records` (ascending run index) as shard `shard`;
    /// `complete` is false when the sweep was interrupted.
    pub fn outputs(
        &self,
        shard: ShardSpec,
        records: &[RunRecord],
        complete: bool,
    ) -> (Manifest, RunsTable) {
        let keys: Vec<String> = self.grid.iter().map(|(k, _)| k.clone()).collect();
        let rows = records
            .iter()
            .map(|r| {
                let fixed = [
                    r.run.to_string(),
                    r.cell.to_string(),
                    r.replicate.to_string(),
                ];
                let values = self.cells[r.cell as usize]
                    .values
                    .iter()
                    .map(|v| v.to_string());
                let metrics = SUMMARY_COLUMNS
                    .iter()
                    .map(|c| (c.value)(&r.summary).to_string());
                fixed.into_iter().chain(values).chain(metrics).collect()
            })
            .collect();
        let manifest = Manifest {
            tool: env!("CARGO_PKG_NAME").into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            scenario: self.name.clone(),
            scenario_hash: self.scenario_hash.clone(),
            base_seed: self.base_seed,
            grid: self
                .grid
                .iter()
                .map(|(key, values)| ManifestGridKey {
                    key: key.clone(),
                    values: values.iter().map(grid_json).collect(),
                })
                .collect(),
            cells: self.cells.len() as u64,
            replicates: self.replicates,
            total_runs: self.total_runs(),
            shard,
            complete,
            run_indices: RunRange::compress(&records.iter().map(|r| r.run).collect::<Vec<_>>()),
        };
        let table = RunsTable {
            header: runs_header(&keys),
            rows,
        };
        (manifest, table)
    }
}

/// `cells.csv` from `runs.csv`: one row per cell that has runs (ascending), with `runs` (n) and,
/// for every summary column but [`NOT_AGGREGATED`], `<column>_mean` and `<column>_ci95`
/// (`true`/`false` columns as the fraction true).
pub(super) fn cells_table(grid_keys: usize, runs: &RunsTable) -> RunsTable {
    let first_metric = RUN_ID_COLUMNS.len() + grid_keys;
    let aggregated: Vec<(usize, &str)> = SUMMARY_COLUMNS
        .iter()
        .enumerate()
        .filter(|(_, c)| !NOT_AGGREGATED.contains(&c.name))
        .map(|(i, c)| (first_metric + i, c.name))
        .collect();
    let mut header: Vec<String> = vec!["cell".into()];
    header.extend(
        runs.header[RUN_ID_COLUMNS.len()..first_metric]
            .iter()
            .cloned(),
    );
    header.push(RUNS_COUNT_COLUMN.into());
    for (_, name) in &aggregated {
        header.push(format!("{name}_mean"));
        header.push(format!("{name}_ci95"));
    }
    let mut rows = Vec::new();
    // Rows are in run order, so the runs of a cell are adjacent.
    for group in runs.rows.chunk_by(|a, b| a[1] == b[1]) {
        let mut row: Vec<String> = vec![group[0][1].clone()];
        row.extend(group[0][RUN_ID_COLUMNS.len()..first_metric].iter().cloned());
        row.push(group.len().to_string());
        for &(col, _) in &aggregated {
            let xs: Vec<f64> = group.iter().map(|r| number(&r[col])).collect();
            let (mean, ci) = stats::mean_ci95(&xs);
            row.push(Value::F64(mean).to_string());
            row.push(Value::F64(ci).to_string());
        }
        rows.push(row);
    }
    RunsTable { header, rows }
}

/// A `runs.csv` cell as a number: `true`/`false` as 1/0, unparsable text as NaN.
fn number(cell: &str) -> f64 {
    match cell {
        "true" => 1.0,
        "false" => 0.0,
        s => s.parse().unwrap_or(f64::NAN),
    }
}

fn write_error(path: &Path, source: std::io::Error) -> ReportError {
    ReportError::Write {
        path: path.to_path_buf(),
        source,
    }
}

fn stage_csv(path: &Path, table: &RunsTable) -> Result<AtomicFile, ReportError> {
    let mut csv = csv::Writer::from_writer(AtomicFile::create(path)?);
    let result = csv
        .write_record(&table.header)
        .and_then(|()| table.rows.iter().try_for_each(|r| csv.write_record(r)));
    result.map_err(|e| write_error(path, e.into()))?;
    csv.into_inner()
        .map_err(|e| write_error(path, e.into_error()))
}

/// Writes `runs.csv`, `cells.csv` and `manifest.json` into `dir`, all or nothing, and returns
/// their paths.
pub fn write_outputs(
    dir: &Path,
    manifest: &Manifest,
    runs: &RunsTable,
) -> Result<Vec<PathBuf>, ReportError> {
    let cells = cells_table(manifest.grid.len(), runs);
    let manifest_path = dir.join(MANIFEST_FILE);
    let mut json = AtomicFile::create(&manifest_path)?;
    let mut text = serde_json::to_string_pretty(manifest)
        .map_err(|e| write_error(&manifest_path, std::io::Error::other(e)))?;
    text.push('\n');
    json.write_all(text.as_bytes())
        .map_err(|e| write_error(&manifest_path, e))?;
    commit_all(vec![
        stage_csv(&dir.join(RUNS_FILE), runs)?,
        stage_csv(&dir.join(CELLS_FILE), &cells)?,
        json,
    ])
}

/// The run index of a `runs.csv` row and its (cell, replicate), checked against each other.
pub(super) fn row_ids(row: &[String], replicates: u32) -> Option<u64> {
    let run: u64 = row.first()?.parse().ok()?;
    let cell: u64 = row.get(1)?.parse().ok()?;
    let replicate: u32 = row.get(2)?.parse().ok()?;
    (grid::cell_of_run(run, replicates) == (cell, replicate)).then_some(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ranges_round_trip() {
        for runs in [
            vec![],
            vec![4],
            vec![0, 1, 2, 3],
            vec![1, 4, 7, 10],
            vec![0, 1, 2, 7, 9, 11, 12],
        ] {
            let ranges = RunRange::compress(&runs);
            assert_eq!(RunRange::expand(&ranges), runs);
        }
        assert_eq!(
            RunRange::compress(&[1, 4, 7, 10]),
            [RunRange {
                first: 1,
                last: 10,
                step: 3
            }]
        );
    }

    #[test]
    fn columns_left_out_of_cells_exist() {
        for name in NOT_AGGREGATED {
            assert!(SUMMARY_COLUMNS.iter().any(|c| c.name == name), "{name}");
        }
    }

    #[test]
    fn cells_aggregate_runs_of_a_cell_with_booleans_as_fractions() {
        let runs = |extra: &dyn Fn(usize) -> String| -> RunsTable {
            let header = runs_header(&["k".into()]);
            let rows = (0..4)
                .map(|i| {
                    let mut r = vec![i.to_string(), (i / 2).to_string(), (i % 2).to_string()];
                    r.push(["a", "b"][i / 2].to_string());
                    r.extend(SUMMARY_COLUMNS.iter().map(|_| extra(i)));
                    r
                })
                .collect();
            RunsTable { header, rows }
        };
        let table = runs(&|i| ["true", "false", "2", "4"][i].to_string());
        let cells = cells_table(1, &table);
        assert_eq!(cells.header[..4], ["cell", "k", "runs", "produced_mean"]);
        assert_eq!(cells.rows.len(), 2);
        assert_eq!(cells.rows[0][..5], ["0", "a", "2", "0.5", "6.353102368"]);
        assert_eq!(cells.rows[1][..4], ["1", "b", "2", "3"]);
    }
}
