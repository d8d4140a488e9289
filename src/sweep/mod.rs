//! Sweeps: a scenario's `sweep.grid` × `replicates`, run in parallel, summarised per cell.
//!
//! Data flows one way: [`SweepPlan::load`] reads the scenario, expands the grid ([`grid`]) and
//! validates every cell before anything runs; [`execute`] runs the runs of one shard
//! ([`shard`]) on a rayon pool and returns them in run-index order; [`SweepPlan::outputs`]
//! turns them into the `runs.csv` table and the manifest, and [`write_outputs`] writes
//! `runs.csv`, `cells.csv` and `manifest.json` (atomically, all or nothing). [`merge`] reads
//! shards' outputs back and produces the same table and manifest as an unsharded sweep.
//!
//! Reproducibility: run `r` of cell `c` has index `c × replicates + r` and seed
//! `derive_seed(scenario seed, index)`, so a run's result depends neither on the thread count
//! nor on the order in which runs finish nor on sharding. Only `wall_s` is not reproducible.

pub mod grid;
mod merge;
mod output;
pub mod shard;
pub mod stats;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::engine::derive_seed;
use crate::metrics::RunSummary;
use crate::model::config::Scenario;
use crate::model::{self, SimError};
use crate::report::ReportError;
use crate::scenario::{self, GridValue, ScenarioError, Warning};

pub use merge::merge;
pub use output::{
    CELLS_FILE, MANIFEST_FILE, Manifest, ManifestGridKey, RUNS_FILE, RunRange, RunsTable,
    write_outputs,
};
pub use shard::ShardSpec;

/// At most this many grid cells (each is validated and kept in memory).
pub const MAX_CELLS: u64 = 1_000_000;

/// Why a sweep or a merge failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    /// The scenario or one of its grid cells is invalid (bad input).
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    /// An output file could not be written or read (bad input).
    #[error("{0}")]
    Report(#[from] ReportError),
    /// Bad input of the sweep itself: shard environment, mismatching shards, missing runs.
    #[error("{0}")]
    Input(String),
    /// One run failed.
    #[error("run {run} (cell {cell}: {overrides}; seed {seed}) failed")]
    Run {
        run: u64,
        cell: u64,
        overrides: String,
        seed: u64,
        #[source]
        source: SimError,
    },
}

impl SweepError {
    /// Bad input of the sweep itself (exit status 2); the other variants are judged by their
    /// source.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, SweepError::Input(_))
    }
}

/// One grid cell: a value for every grid key, and the validated scenario with them applied.
#[derive(Debug, Clone)]
pub struct Cell {
    pub values: Vec<GridValue>,
    pub scenario: Scenario,
}

/// A scenario's sweep, expanded and validated, ready to run.
#[derive(Debug, Clone)]
pub struct SweepPlan {
    /// The scenario's name.
    pub name: String,
    /// The scenario's `seed`: run `i` uses `derive_seed(base_seed, i)`.
    pub base_seed: u64,
    /// `fnv1a64:<16 hex digits>` of the scenario file's bytes.
    pub scenario_hash: String,
    /// Grid keys (dotted paths) and their values, in file order.
    pub grid: Vec<(String, Vec<GridValue>)>,
    pub replicates: u32,
    /// In cell-index order (see [`grid`]).
    pub cells: Vec<Cell>,
    /// Warnings of the base scenario and of every cell, each once.
    pub warnings: Vec<Warning>,
}

/// One finished run.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub run: u64,
    pub cell: u64,
    pub replicate: u32,
    pub summary: RunSummary,
}

impl SweepPlan {
    /// Reads the scenario file at `path` and expands its sweep (`replicates` overrides
    /// `sweep.replicates`). A file without a `sweep:` section is one cell.
    pub fn load(path: &Path, replicates: Option<u32>) -> Result<Self, SweepError> {
        // `load` gives the same errors as `acksim run`/`check` for unreadable or invalid files.
        scenario::load(path)?;
        let origin = path.display().to_string();
        let io = |source| ScenarioError::Io {
            file: origin.clone(),
            source,
        };
        let bytes = std::fs::read(path).map_err(io)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| SweepError::Input(format!("{origin}: changed while being read")))?;
        Self::from_text(&text, &origin, replicates)
    }

    /// [`SweepPlan::load`] on text; `origin` names the file in messages.
    pub fn from_text(
        text: &str,
        origin: &str,
        replicates: Option<u32>,
    ) -> Result<Self, SweepError> {
        let base = scenario::parse_str(text, origin)?;
        let raw = scenario::parse_raw(text, origin)?;
        let spec = base.sweep.clone().unwrap_or(scenario::SweepSpec {
            replicates: 1,
            grid: Vec::new(),
        });
        let reserved = output::fixed_run_columns();
        for (key, _) in &spec.grid {
            if reserved.contains(&key.as_str()) {
                let at = scenario::grid_key_location(&raw, key);
                let pos = match (at.line(), at.column()) {
                    (0, _) => String::new(),
                    (l, c) => format!(":{l}:{c}"),
                };
                return Err(SweepError::Input(format!(
                    "{origin}{pos}: sweep grid key `{key}` would name the same runs.csv column as \
                     a metric; {}",
                    if key == "seed" {
                        "replicates already vary the seed (use sweep.replicates)"
                    } else {
                        "sweep another field"
                    }
                )));
            }
        }
        let sizes: Vec<usize> = spec.grid.iter().map(|(_, v)| v.len()).collect();
        match grid::cell_count(&sizes) {
            Some(n) if n <= MAX_CELLS => {}
            n => {
                return Err(SweepError::Input(format!(
                    "{origin}: the sweep grid has {} cells; at most {MAX_CELLS} are supported",
                    n.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string())
                )));
            }
        }
        let locations: Vec<_> = spec
            .grid
            .iter()
            .map(|(key, _)| scenario::grid_key_location(&raw, key))
            .collect();
        let mut warnings = base.warnings.clone();
        let mut cells = Vec::new();
        for indices in grid::cells(&sizes) {
            let values: Vec<GridValue> = indices
                .iter()
                .zip(&spec.grid)
                .map(|(&i, (_, vs))| vs[i].clone())
                .collect();
            let overrides = spec
                .grid
                .iter()
                .zip(&values)
                .zip(&locations)
                .map(|(((key, _), value), at)| (key.as_str(), value, *at));
            let loaded = scenario::validate_with_overrides(&raw, origin, overrides)
                .map_err(|e| e.with_snippet(text))?;
            for w in loaded.warnings {
                if !warnings.contains(&w) {
                    warnings.push(w);
                }
            }
            cells.push(Cell {
                values,
                scenario: loaded.scenario,
            });
        }
        Ok(SweepPlan {
            name: base.scenario.name.clone(),
            base_seed: base.scenario.seed,
            scenario_hash: format!("fnv1a64:{:016x}", fnv1a64(text.as_bytes())),
            grid: spec.grid,
            replicates: replicates.unwrap_or(spec.replicates).max(1),
            cells,
            warnings,
        })
    }

    /// Runs in the whole sweep: cells × replicates.
    pub fn total_runs(&self) -> u64 {
        self.cells.len() as u64 * u64::from(self.replicates)
    }

    /// `key=value, key=value` of a cell, for messages.
    pub fn describe_cell(&self, cell: u64) -> String {
        let values = &self.cells[cell as usize].values;
        if values.is_empty() {
            return "no overrides".into();
        }
        self.grid
            .iter()
            .zip(values)
            .map(|((k, _), v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Runs run `run` (an index below [`SweepPlan::total_runs`]).
    pub fn run_one(&self, run: u64) -> Result<RunRecord, SweepError> {
        let (cell, replicate) = grid::cell_of_run(run, self.replicates);
        let mut scenario = self.cells[cell as usize].scenario.clone();
        scenario.seed = derive_seed(self.base_seed, run);
        let outcome = model::run(&scenario, None).map_err(|source| SweepError::Run {
            run,
            cell,
            overrides: self.describe_cell(cell),
            seed: scenario.seed,
            source,
        })?;
        Ok(RunRecord {
            run,
            cell,
            replicate,
            summary: outcome.summary,
        })
    }
}

/// Runs `runs` (ascending run indices) on a pool of `threads` workers and returns the finished
/// ones in run-index order. `on_done` is called after each run (from a worker thread). Once
/// `stop` is set, runs not yet started are skipped and the finished ones returned (fewer than
/// asked); a failed run stops the others the same way and its error is returned (the lowest
/// failed index among those that ran).
pub fn execute(
    plan: &SweepPlan,
    runs: &[u64],
    threads: usize,
    stop: &AtomicBool,
    on_done: &(dyn Fn() + Sync),
) -> Result<Vec<RunRecord>, SweepError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("acksim-sweep-{i}"))
        .build()
        .map_err(|e| SweepError::Input(format!("cannot start {threads} worker threads: {e}")))?;
    let failed = AtomicBool::new(false);
    let results: Vec<Option<Result<RunRecord, SweepError>>> = pool.install(|| {
        runs.par_iter()
            .with_max_len(1)
            .map(|&run| {
                if stop.load(Ordering::Relaxed) || failed.load(Ordering::Relaxed) {
                    return None;
                }
                let result = plan.run_one(run);
                if result.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                on_done();
                Some(result)
            })
            .collect()
    });
    results.into_iter().flatten().collect()
}

/// 64-bit FNV-1a, the manifest's scenario hash: a fingerprint to tell shards of different files
/// apart, not a defence against forgery.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_BY_TWO: &str = "\
name: t
seed: 9
producers:
  - { messages: 20, arrival: { dist: burst } }
consumers:
  - { name: a, processing: { dist: exponential, mean: 1ms } }
  - { name: b, processing: { dist: exponential, mean: 2ms } }
sweep:
  replicates: 3
  grid:
    consumers.*.prefetch: [1, 100]
    consumers.*.ack_mode: [auto, dups_ok]
";

    #[test]
    fn cells_follow_file_order_and_apply_to_every_element() {
        let plan = SweepPlan::from_text(TWO_BY_TWO, "t.yaml", None).unwrap();
        assert_eq!(plan.total_runs(), 12);
        let described: Vec<String> = (0..4).map(|c| plan.describe_cell(c)).collect();
        assert_eq!(
            described,
            [
                "consumers.*.prefetch=1, consumers.*.ack_mode=auto",
                "consumers.*.prefetch=1, consumers.*.ack_mode=dups_ok",
                "consumers.*.prefetch=100, consumers.*.ack_mode=auto",
                "consumers.*.prefetch=100, consumers.*.ack_mode=dups_ok",
            ]
        );
        for c in &plan.cells[2].scenario.consumers {
            assert_eq!(c.prefetch, 100);
        }
    }

    #[test]
    fn each_run_has_the_seed_derived_from_its_index() {
        let plan = SweepPlan::from_text(TWO_BY_TWO, "t.yaml", Some(2)).unwrap();
        assert_eq!(plan.total_runs(), 8);
        let r = plan.run_one(5).unwrap();
        assert_eq!((r.cell, r.replicate), (2, 1));
        assert_eq!(r.summary.seed, derive_seed(9, 5));
        assert_ne!(derive_seed(9, 5), derive_seed(9, 4));
    }

    #[test]
    fn results_do_not_depend_on_threads() {
        let plan = SweepPlan::from_text(TWO_BY_TWO, "t.yaml", None).unwrap();
        let runs: Vec<u64> = (0..plan.total_runs()).collect();
        let stop = AtomicBool::new(false);
        let key = |rs: Vec<RunRecord>| -> Vec<(u64, u64, u64)> {
            rs.iter()
                .map(|r| (r.run, r.summary.seed, r.summary.events))
                .collect()
        };
        let one = key(execute(&plan, &runs, 1, &stop, &|| {}).unwrap());
        let three = key(execute(&plan, &runs, 3, &stop, &|| {}).unwrap());
        assert_eq!(one, three);
        assert_eq!(one.len(), 12);
    }

    #[test]
    fn a_stopped_sweep_returns_nothing_it_did_not_run() {
        let plan = SweepPlan::from_text(TWO_BY_TWO, "t.yaml", None).unwrap();
        let stop = AtomicBool::new(true);
        assert!(
            execute(&plan, &[0, 1, 2], 2, &stop, &|| {})
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn bad_grid_values_and_paths_name_the_grid_key() {
        let bad_value = TWO_BY_TWO.replace("[auto, dups_ok]", "[auto, sometimes]");
        let err = SweepPlan::from_text(&bad_value, "t.yaml", None).unwrap_err();
        assert!(err.to_string().contains("t.yaml:12:5"), "{err}");
        let bad_path = TWO_BY_TWO.replace("consumers.*.ack_mode", "consumers.*.ack_mood");
        let err = SweepPlan::from_text(&bad_path, "t.yaml", None).unwrap_err();
        assert!(err.to_string().contains("t.yaml:12:5"), "{err}");
        assert!(err.to_string().contains("ack_mood"), "{err}");
    }

    #[test]
    fn fnv1a64_matches_the_reference() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
