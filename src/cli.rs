//! Command-line definitions (clap derive) for the commands of contract.md. Only the shape of
//! the command line lives here; `main.rs` acts on it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Deterministic discrete-event simulator of message-broker acknowledgement semantics
/// (ActiveMQ, RocketMQ).
#[derive(Debug, Parser)]
#[command(
    name = "acksim",
    version,
    about,
    after_help = "Exit status: 0 success; 2 bad input (unreadable or invalid scenario, unusable output\n\
                  directory, bad arguments); 1 internal failure."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one simulation: print a summary, write summary.csv and consumers.csv.
    Run(RunArgs),
    /// Run the scenario's `sweep:` grid × replicates in parallel: runs.csv, cells.csv (mean and
    /// 95% CI per cell), manifest.json.
    Sweep(SweepArgs),
    /// Merge sharded sweep outputs into the files a single-machine sweep writes.
    Merge(MergeArgs),
    /// Redraw the charts of a sweep (cells.csv) or run (trace.csv) directory from its CSVs.
    Plot(PlotArgs),
    /// Size the prefetch: ceil(rate × ack interval / 0.65), and with a scenario simulate prefetch
    /// values around it and recommend one (tune.csv and charts).
    Tune(TuneArgs),
    /// Validate a scenario without running it, and describe what it simulates.
    Check(CheckArgs),
    /// Benchmark the engine: one timed run of a reference scenario (wall time, events/s, peak
    /// memory) beside a bare event-heap loop over as many events.
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The scenario to time.
    #[arg(
        value_name = "SCENARIO.yaml",
        default_value = "scenarios/bench-1m.yaml"
    )]
    pub scenario: PathBuf,
    /// Run this many messages instead of the scenario's (spread over its producers in
    /// proportion), e.g. 10000000 for the memory target.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub messages: Option<u64>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (YAML).
    #[arg(value_name = "SCENARIO.yaml")]
    pub scenario: PathBuf,
    /// Seed of this run, instead of the scenario's `seed`.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Output directory [default: results/<scenario name>/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Also write trace.csv: one row per model event.
    #[arg(long)]
    pub trace: bool,
    /// Also draw timeline.png (implies --trace: the timeline is drawn from trace.csv, which is
    /// kept so that `acksim plot DIR` can redraw it).
    #[arg(long)]
    pub plot: bool,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The scenario file (YAML) with a `sweep:` section.
    #[arg(value_name = "SCENARIO.yaml")]
    pub scenario: PathBuf,
    /// Worker threads [default: the number of CPUs]; results do not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,
    /// Runs per grid cell, instead of the scenario's `sweep.replicates`.
    #[arg(long, value_name = "R", value_parser = clap::value_parser!(u32).range(1..))]
    pub replicates: Option<u32>,
    /// Run only the runs whose index mod N is I-1 (1-based), or `auto` to take I and N from
    /// SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT (ids counted from SLURM_ARRAY_TASK_MIN) or
    /// JOB_COMPLETION_INDEX (0-based, + --shards N). Without --out, writes into
    /// results/<scenario name>/shard-I-of-N/.
    #[arg(long, value_name = "I/N|auto", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Number of shards, with `--shard auto` under Kubernetes' JOB_COMPLETION_INDEX.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub shards: Option<u32>,
    /// Output directory [default: results/<scenario name>/]. Ctrl-C lets the runs in progress
    /// finish and writes the finished ones (manifest.json `complete: false`, exit status 130).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Which part of a sweep this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shard {
    /// Shard `index` (1-based) of `count`.
    Index { index: u32, count: u32 },
    /// Taken from the batch system's environment.
    Auto,
}

/// Parses `I/N` (1 ≤ I ≤ N) or `auto`.
fn parse_shard(s: &str) -> Result<Shard, String> {
    if s == "auto" {
        return Ok(Shard::Auto);
    }
    let expected =
        || format!("invalid shard `{s}`; expected I/N with 1 <= I <= N (e.g. 2/8) or `auto`");
    let (i, n) = s.split_once('/').ok_or_else(expected)?;
    let (index, count): (u32, u32) = (
        i.parse().map_err(|_| expected())?,
        n.parse().map_err(|_| expected())?,
    );
    if index == 0 || index > count {
        return Err(expected());
    }
    Ok(Shard::Index { index, count })
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Sweep output directories of the shards.
    #[arg(value_name = "DIR", required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where to write the merged files.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct PlotArgs {
    /// A sweep or run output directory.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct TuneArgs {
    /// Message rate, messages per second [with a scenario: the sum of its producers' rates].
    #[arg(long, value_name = "MSGS_PER_S", allow_negative_numbers = true)]
    pub rate: Option<f64>,
    /// Time between acknowledgements, with a unit: 250us, 5ms, 2s, 1m [with a scenario:
    /// derived from its consumers, e.g. optimizeAcknowledgeTimeOut].
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub ack_interval: Option<String>,
    /// A scenario to simulate prefetch values around the rule of thumb.
    #[arg(value_name = "SCENARIO.yaml")]
    pub scenario: Option<PathBuf>,
    /// Runs per prefetch value (with a scenario).
    #[arg(long, value_name = "R", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub replicates: u32,
    /// Recommend the smallest prefetch whose mean goodput is within this many percent of
    /// the best.
    #[arg(long, value_name = "PERCENT", default_value_t = 5.0)]
    pub tolerance: f64,
    /// Worker threads [default: the number of CPUs]; results do not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,
    /// Output directory [default: results/<scenario name>/tune/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The scenario file (YAML).
    #[arg(value_name = "SCENARIO.yaml")]
    pub scenario: PathBuf,
    /// Fail (exit 2) if the scenario has warnings.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Print the validated scenario as flat `key=value` lines (Java properties: defaults
    /// applied, replicas expanded, durations in ns) instead of describing it.
    #[arg(long)]
    pub flat: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn shards_parse_one_based() {
        assert_eq!(parse_shard("2/8"), Ok(Shard::Index { index: 2, count: 8 }));
        assert_eq!(parse_shard("auto"), Ok(Shard::Auto));
        for bad in ["0/8", "9/8", "2", "a/b", "1/0"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
