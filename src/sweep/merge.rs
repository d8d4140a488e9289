//! `acksim merge`: shards' outputs back into the files a single-machine sweep writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::SweepError;
use super::output::{
    MANIFEST_FILE, Manifest, RUNS_FILE, RunRange, RunsTable, row_ids, runs_header,
};
use super::shard::ShardSpec;

fn input(msg: String) -> SweepError {
    SweepError::Input(msg)
}

fn read_manifest(dir: &Path) -> Result<Manifest, SweepError> {
    let path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| input(format!("{}: cannot read: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        input(format!(
            "{}: not an acksim sweep manifest: {e}",
            path.display()
        ))
    })
}

fn read_runs(dir: &Path) -> Result<RunsTable, SweepError> {
    let path = dir.join(RUNS_FILE);
    let bad = |e: &dyn std::fmt::Display| input(format!("{}: {e}", path.display()));
    let mut reader = csv::Reader::from_path(&path).map_err(|e| bad(&e))?;
    let header = reader
        .headers()
        .map_err(|e| bad(&e))?
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.map(|r| r.iter().map(str::to_string).collect()))
        .collect::<Result<Vec<Vec<String>>, _>>()
        .map_err(|e| bad(&e))?;
    Ok(RunsTable { header, rows })
}

/// Lists at most 10 run indices, then how many more.
fn some(runs: &[u64]) -> String {
    let mut text = runs
        .iter()
        .take(10)
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if runs.len() > 10 {
        text.push_str(&format!(" and {} more", runs.len() - 10));
    }
    text
}

/// Reads the sweep directories `dirs` (shards of one sweep, in any order) and returns the
/// manifest and `runs.csv` table of the whole sweep, as an unsharded sweep would write them.
/// Refuses shards of different scenario files, tool versions, grids, replicates or seeds, a
/// run that appears twice, and a run that is missing.
pub fn merge(dirs: &[PathBuf]) -> Result<(Manifest, RunsTable), SweepError> {
    let Some(first_dir) = dirs.first() else {
        return Err(input("merge: no directories given".into()));
    };
    let first = read_manifest(first_dir)?;
    let keys: Vec<String> = first.grid.iter().map(|g| g.key.clone()).collect();
    let expected_header = runs_header(&keys);
    let mut by_run: BTreeMap<u64, (usize, Vec<String>)> = BTreeMap::new();
    for (d, dir) in dirs.iter().enumerate() {
        let m = read_manifest(dir)?;
        let differs = |what: &str, theirs: String, ours: String| {
            input(format!(
                "{} and {}: {what} differs ({theirs} vs {ours}); only shards of one sweep can be \
                 merged",
                first_dir.display(),
                dir.display()
            ))
        };
        if m.tool != first.tool || m.tool_version != first.tool_version {
            return Err(differs(
                "tool version",
                format!("{} {}", first.tool, first.tool_version),
                format!("{} {}", m.tool, m.tool_version),
            ));
        }
        if m.scenario_hash != first.scenario_hash || m.scenario != first.scenario {
            return Err(differs(
                "scenario file",
                format!("{} {}", first.scenario, first.scenario_hash),
                format!("{} {}", m.scenario, m.scenario_hash),
            ));
        }
        if m.base_seed != first.base_seed {
            return Err(differs(
                "base seed",
                first.base_seed.to_string(),
                m.base_seed.to_string(),
            ));
        }
        if m.grid != first.grid || m.cells != first.cells {
            return Err(differs(
                "sweep grid",
                format!("{} cells", first.cells),
                format!("{} cells", m.cells),
            ));
        }
        if m.replicates != first.replicates || m.total_runs != first.total_runs {
            return Err(differs(
                "replicates",
                first.replicates.to_string(),
                m.replicates.to_string(),
            ));
        }
        let runs = read_runs(dir)?;
        if runs.header != expected_header {
            return Err(input(format!(
                "{}: the columns are not those this acksim writes for this grid",
                dir.join(RUNS_FILE).display()
            )));
        }
        let mut listed = Vec::with_capacity(runs.rows.len());
        for (line, row) in runs.rows.into_iter().enumerate() {
            let run = row_ids(&row, m.replicates)
                .filter(|&r| r < m.total_runs)
                .ok_or_else(|| {
                    input(format!(
                        "{}: row {}: run, cell and replicate do not fit this sweep",
                        dir.join(RUNS_FILE).display(),
                        line + 1
                    ))
                })?;
            listed.push(run);
            if let Some((other, _)) = by_run.insert(run, (d, row)) {
                return Err(input(format!(
                    "run {run} appears twice: in {} and in {}; was a shard given twice?",
                    dirs[other].display(),
                    dir.display()
                )));
            }
        }
        listed.sort_unstable();
        if !m.complete {
            return Err(input(format!(
                "{}: this sweep was interrupted ({MANIFEST_FILE}: complete = false) after {} runs \
                 of shard {}; run it again before merging",
                dir.display(),
                listed.len(),
                m.shard
            )));
        }
        if listed != RunRange::expand(&m.run_indices) {
            return Err(input(format!(
                "{}: runs.csv does not hold the runs {MANIFEST_FILE} lists",
                dir.display()
            )));
        }
    }
    let missing: Vec<u64> = (0..first.total_runs)
        .filter(|r| !by_run.contains_key(r))
        .collect();
    if !missing.is_empty() {
        return Err(input(format!(
            "{} of {} runs are missing: {}; was a shard not run, interrupted, or left out?",
            missing.len(),
            first.total_runs,
            some(&missing)
        )));
    }
    let manifest = Manifest {
        shard: ShardSpec::WHOLE,
        complete: true,
        run_indices: RunRange::compress(&by_run.keys().copied().collect::<Vec<_>>()),
        ..first
    };
    let rows = by_run.into_values().map(|(_, row)| row).collect();
    Ok((
        manifest,
        RunsTable {
            header: expected_header,
            rows,
        },
    ))
}
