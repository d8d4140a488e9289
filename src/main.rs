//! The `acksim` binary: parses the command line, calls the library, prints, and maps errors to
//! the exit statuses of contract.md (0 success, 2 bad input, 1 internal failure). The library
//! does the work and never prints; this file only decides what goes to stdout and stderr.

mod cli;

use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use acksim::model::{self, SimError};
use acksim::report::chart::{self, ChartError};
use acksim::report::{self, OutputDir, ReportError, TraceCsv};
use acksim::scenario::{self, LoadedScenario, ScenarioError};
use acksim::sweep::{self, ShardSpec, SweepPlan};
use anyhow::Context;
use clap::Parser;

use cli::{
    BenchArgs, CheckArgs, Cli, Command, MergeArgs, PlotArgs, RunArgs, Shard, SweepArgs, TuneArgs,
};

/// The user asked for something this version cannot do, or for strictness that failed: bad
/// input (exit 2), like a rejected scenario.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(String);

/// The user stopped a sweep with Ctrl-C (exit status 130, as a shell reports SIGINT).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Interrupted(String);

fn main() -> ExitCode {
    // clap prints usage errors itself and exits 2 (0 for --help / --version).
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", message(&err));
            ExitCode::from(exit_status(&err))
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run(args) => run(&args),
        Command::Check(args) => check(&args),
        Command::Sweep(args) => sweep(&args),
        Command::Merge(args) => merge(&args),
        Command::Plot(args) => plot(&args),
        Command::Tune(args) => tune(&args),
        Command::Bench(args) => bench(&args),
    }
}

/// The error and its causes on one line, like anyhow's `{:#}`, but without repeating a cause
/// whose text an outer message already includes.
fn message(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
    }
    text
}

/// 2 for bad input, 1 for everything else: the first typed error in the chain decides.
fn exit_status(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<Interrupted>() {
            return 130;
        }
        if cause
            .downcast_ref::<acksim::tune::TuneError>()
            .is_some_and(acksim::tune::TuneError::is_bad_input)
        {
            return 2;
        }
        if cause
            .downcast_ref::<sweep::SweepError>()
            .is_some_and(sweep::SweepError::is_bad_input)
        {
            return 2;
        }
        if cause.is::<ScenarioError>() || cause.is::<ReportError>() || cause.is::<Refused>() {
            return 2;
        }
        if let Some(err) = cause.downcast_ref::<ChartError>() {
            return if err.is_bad_input() { 2 } else { 1 };
        }
        if let Some(err) = cause.downcast_ref::<SimError>() {
            // A scenario that loops in zero time is the user's input, not acksim's failure.
            return if matches!(err, SimError::NoProgress { .. }) {
                2
            } else {
                1
            };
        }
    }
    1
}

/// `acksim run`: load, simulate, write the files, print the summary. Nothing is created on
/// disk before the scenario has been accepted, and a failed run removes what it created.
fn run(args: &RunArgs) -> anyhow::Result<()> {
    let LoadedScenario {
        mut scenario,
        warnings,
        ..
    } = scenario::load(&args.scenario)?;
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    let out_path = match &args.out {
        Some(dir) => dir.clone(),
        None => default_out_dir(&args.scenario, &scenario.name)?,
    };
    let out = OutputDir::create(&out_path)?;
    // `--plot` implies `--trace`: the timeline is drawn from trace.csv, which stays beside it
    // so that `acksim plot DIR` can redraw it.
    let mut trace = if args.trace || args.plot {
        Some(TraceCsv::create(
            &out.join(report::TRACE_FILE),
            instance_names(&scenario),
        )?)
    } else {
        None
    };
    let sink = trace
        .as_mut()
        .map(|t| t as &mut dyn model::trace::TraceSink);
    let outcome = model::run(&scenario, sink).with_context(|| {
        format!(
            "{}: the simulation failed (seed {})",
            args.scenario.display(),
            scenario.seed
        )
    })?;
    let mut written = report::write_run(out.path(), &outcome.summary, &outcome.consumers, trace)?;
    out.keep();
    if args.plot {
        written.push(chart::timeline::draw(
            &out_path.join(report::TRACE_FILE),
            &out_path.join(chart::TIMELINE_FILE),
            &scenario.name,
        )?);
    }

    let mut text =
        report::text::run_summary(&outcome.summary, &outcome.consumers, outcome.cut_by_until);
    if outcome.cut_by_until && scenario.until.is_none() {
        eprintln!(
            "warning: {}: the run never settled and was stopped at acksim's {} horizon; \
             set `until` to choose where to stop",
            args.scenario.display(),
            model::DEFAULT_HORIZON
        );
    }
    text.push_str(&format!("wrote {}\n", paths(&written)));
    print_warnings(&args.scenario, &warnings);
    print(&text)
}

/// Which shard `--shard` / `--shards` select (the whole sweep without `--shard`).
fn shard_of(args: &SweepArgs) -> anyhow::Result<ShardSpec> {
    let refused = |msg: String| Err(Refused(msg).into());
    match (args.shard, args.shards) {
        (None, None) => Ok(ShardSpec::WHOLE),
        (None, Some(_)) => refused("--shards N is only used with --shard auto".into()),
        (Some(Shard::Index { index, count }), shards) => {
            if shards.is_some_and(|n| n != count) {
                return refused(format!("--shards disagrees with --shard {index}/{count}"));
            }
            Ok(ShardSpec { index, count })
        }
        (Some(Shard::Auto), shards) => {
            let (shard, from) = sweep::shard::from_env(|k| std::env::var(k).ok(), shards)?;
            eprintln!("shard {shard} (from the {from} environment)");
            Ok(shard)
        }
    }
}

/// `acksim sweep`: expand and validate every cell, run this shard's runs in parallel, write
/// runs.csv, cells.csv and manifest.json. Ctrl-C lets the runs in progress finish, then writes
/// the finished runs (manifest `complete: false`) and exits 130; a second Ctrl-C exits at once
/// (every file is written atomically, so none is ever half-written).
fn sweep(args: &SweepArgs) -> anyhow::Result<()> {
    let shard = shard_of(args)?;
    let plan = SweepPlan::load(&args.scenario, args.replicates)?;
    print_warnings(&args.scenario, &plan.warnings);
    let out_path = match &args.out {
        Some(dir) => dir.clone(),
        // Shards of one sweep may share a file system: each gets its own directory.
        None if shard != ShardSpec::WHOLE => default_out_dir(&args.scenario, &plan.name)?
            .join(format!("shard-{}-of-{}", shard.index, shard.count)),
        None => default_out_dir(&args.scenario, &plan.name)?,
    };
    let out = OutputDir::create(&out_path)?;
    let runs = shard.runs(plan.total_runs());
    let threads = args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| n as usize,
    );

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    // Fails only if a handler is already installed; the sweep then simply cannot be stopped
    // gracefully, which is no reason not to run it.
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\ninterrupted: finishing the runs in progress (Ctrl-C again to quit now)");
    });
    let bar = progress_bar(runs.len() as u64);
    let started = std::time::Instant::now();
    let records = sweep::execute(&plan, &runs, threads, &stop, &|| bar.inc(1))
        .with_context(|| format!("{}: the sweep failed", args.scenario.display()))?;
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let complete = records.len() == runs.len();
    let (manifest, table) = plan.outputs(shard, &records, complete);
    let mut written = sweep::write_outputs(out.path(), &manifest, &table)?;
    written.extend(sweep_charts(out.path())?);
    out.keep();

    let shard_text = if shard == ShardSpec::WHOLE {
        String::new()
    } else {
        format!(", shard {shard}")
    };
    let text = format!(
        "sweep {}: {} cells x {} replicates = {} runs{shard_text}; ran {} on {threads} threads \
         in {elapsed:.2} s\nwrote {}\n",
        plan.name,
        plan.cells.len(),
        plan.replicates,
        plan.total_runs(),
        records.len(),
        paths(&written)
    );
    print(&text)?;
    if !complete {
        return Err(Interrupted(format!(
            "interrupted: {} of {} runs finished and were written (manifest.json: complete = \
             false)",
            records.len(),
            runs.len()
        ))
        .into());
    }
    Ok(())
}

/// A progress bar on stderr when it is a terminal, hidden otherwise.
fn progress_bar(len: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40.cyan/blue} {pos}/{len} runs  {rate}  ETA {eta}",
    ) {
        bar.set_style(style.with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1} runs/s", state.per_sec());
            },
        ));
    }
    bar
}

/// The charts of a sweep, drawn from the cells.csv just written (contract.md: a sweep writes
/// its CSVs and PNG charts; `acksim plot DIR` redraws them).
fn sweep_charts(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    Ok(chart::sweep::draw_all(&dir.join("cells.csv"), dir)?)
}

/// `acksim merge`: check that the shards belong together and write the whole sweep's files.
fn merge(args: &MergeArgs) -> anyhow::Result<()> {
    let (manifest, table) = sweep::merge(&args.dirs)?;
    let out = OutputDir::create(&args.out)?;
    let mut written = sweep::write_outputs(out.path(), &manifest, &table)?;
    written.extend(sweep_charts(out.path())?);
    out.keep();
    print(&format!(
        "merged {} directories: {} runs of {}\nwrote {}\n",
        args.dirs.len(),
        manifest.total_runs,
        manifest.scenario,
        paths(&written)
    ))
}

/// `acksim plot DIR`: redraw a run's timeline (from trace.csv) or a sweep's charts (from
/// cells.csv), and print the PNGs written.
fn plot(args: &PlotArgs) -> anyhow::Result<()> {
    let written = chart::plot_dir(&args.dir)?;
    let mut text = String::new();
    for path in &written {
        text.push_str(&format!("wrote {}\n", path.display()));
    }
    print(&text)
}

/// `acksim tune`: the rule of thumb alone (both flags), or with a scenario the simulated
/// trade-off table, the recommendation, tune.csv and the charts.
fn tune(args: &TuneArgs) -> anyhow::Result<()> {
    use acksim::tune;
    let rate = args.rate.map(tune::check_rate).transpose()?;
    let interval = args
        .ack_interval
        .as_deref()
        .map(tune::parse_interval)
        .transpose()?;
    if !(args.tolerance.is_finite() && (0.0..100.0).contains(&args.tolerance)) {
        return Err(Refused(format!(
            "--tolerance {}: expected a percentage from 0 to below 100",
            args.tolerance
        ))
        .into());
    }
    let Some(path) = &args.scenario else {
        let (Some(rate), Some(interval)) = (rate, interval) else {
            return Err(Refused(
                "without a scenario, `acksim tune` needs both --rate MSGS_PER_S and \
                 --ack-interval DURATION (e.g. --rate 100 --ack-interval 2s)"
                    .into(),
            )
            .into());
        };
        return print(&tune::explain_rule(rate, interval));
    };
    let LoadedScenario {
        scenario, warnings, ..
    } = scenario::load(path)?;
    print_warnings(path, &warnings);
    let out_path = match &args.out {
        Some(dir) => dir.clone(),
        None => default_out_dir(path, &scenario.name)?.join("tune"),
    };
    let plan = tune::TunePlan::new(scenario, rate, interval, args.replicates)
        .with_context(|| path.display().to_string())?;
    let threads = args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |n| n as usize,
    );
    let out = OutputDir::create(&out_path)?;
    let rows = tune::execute(&plan, threads)
        .with_context(|| format!("{}: the simulation failed", path.display()))?;
    let rec = tune::recommend(&rows, args.tolerance);
    let written = tune::write_outputs(out.path(), &plan.scenario.name, &rows, rec.as_ref())?;
    out.keep();

    let mut text = format!(
        "tune {}\nrate: {} msg/s ({})\nack interval: {} s ({})\n\
         rule of thumb: ceil({} x {} / 0.65) = {}\n\
         candidates: {} ({} replicates each, seeds shared across candidates)\n\n",
        plan.scenario.name,
        plan.rate.value,
        plan.rate.source,
        plan.interval.value.as_secs_f64(),
        plan.interval.source,
        plan.rate.value,
        plan.interval.value.as_secs_f64(),
        plan.rule,
        plan.candidates
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        plan.replicates,
    );
    if rate.is_some() {
        text.push_str(
            "(--rate sizes the rule of thumb; the simulations run the scenario's own producers)\n\n",
        );
    }
    text.push_str(&tune::table_text(&rows, rec.as_ref()));
    text.push_str("(means ±95% CI half-width; max unacked: the most dispatched-but-unacked messages one consumer held)\n\n");
    if let Some(rec) = &rec {
        text.push_str(&tune::recommendation_text(&rows, rec));
    }
    let cut: u32 = rows.iter().map(|r| r.cut).sum();
    if cut > 0 {
        text.push_str(&format!(
            "note: {cut} run(s) were cut by `until` or the horizon with messages still pending\n"
        ));
    }
    text.push_str("\nwhere the rule of thumb is wrong for this scenario:\n");
    for line in tune::caveats(&plan, rec.map(|r| rows[r.index].prefetch)) {
        text.push_str(&format!("- {line}\n"));
    }
    text.push_str(&format!("\nwrote {}\n", paths(&written)));
    print(&text)
}

/// `acksim bench`: time one run of the reference workload and the bare event-heap baseline.
fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    let LoadedScenario { mut scenario, .. } = scenario::load(&args.scenario)?;
    if let Some(total) = args.messages {
        scale_messages(&mut scenario, total);
    }
    let report = acksim::bench::run_benchmark(&scenario)
        .with_context(|| format!("{}: the simulation failed", args.scenario.display()))?;
    print(&report::text::bench_report(&scenario.name, &report))
}

/// Spreads `total` messages over the producers in proportion to their configured counts.
fn scale_messages(scenario: &mut acksim::model::config::Scenario, total: u64) {
    let configured = scenario.total_messages().max(1) as u128;
    let mut assigned = 0;
    let last = scenario.producers.len().saturating_sub(1);
    for (i, p) in scenario.producers.iter_mut().enumerate() {
        p.messages = if i == last {
            total - assigned
        } else {
            (p.messages as u128 * total as u128 / configured) as u64
        };
        assigned += p.messages;
    }
}

/// `acksim check`: validate and describe; warnings fail only with `--deny-warnings`.
fn check(args: &CheckArgs) -> anyhow::Result<()> {
    let loaded = scenario::load(&args.scenario)?;
    print_warnings(&args.scenario, &loaded.warnings);
    let n = loaded.warnings.len();
    if args.flat {
        print(&report::flat::scenario_properties(&loaded.scenario))?;
    } else {
        let description = report::text::describe_scenario(&loaded.scenario, loaded.sweep.is_some());
        let verdict = if n == 0 {
            "ok".to_string()
        } else {
            format!("ok, {n} warning(s)")
        };
        print(&format!(
            "{description}\n{}: {verdict}\n",
            args.scenario.display()
        ))?;
    }
    if args.deny_warnings && n > 0 {
        return Err(Refused(format!(
            "{}: {n} warning(s) and --deny-warnings",
            args.scenario.display()
        ))
        .into());
    }
    Ok(())
}

/// `results/<scenario name>/`, provided the name stays inside `results/` (no `..`, no root).
fn default_out_dir(file: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let inside = Path::new(name)
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    if name.is_empty() || !inside {
        let why = format!(
            "{}: scenario name `{name}` cannot name a directory under results/; pass --out DIR",
            file.display()
        );
        return Err(Refused(why).into());
    }
    Ok(Path::new("results").join(name))
}

fn instance_names(scenario: &acksim::model::config::Scenario) -> Vec<String> {
    scenario
        .consumer_instances()
        .map(|(name, _)| name)
        .collect()
}

/// Warnings are diagnostics: stderr, one per line, named by file (and line:column if known).
fn print_warnings(path: &Path, warnings: &[scenario::Warning]) {
    for w in warnings {
        let at = match (w.line, w.column) {
            (Some(line), Some(column)) => format!(":{line}:{column}"),
            (Some(line), None) => format!(":{line}"),
            _ => String::new(),
        };
        eprintln!("warning: {}{at}: {}", path.display(), w.message);
    }
}

fn paths(written: &[PathBuf]) -> String {
    written
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes to stdout; a closed pipe (`acksim run x | head`) is not an error worth a panic.
fn print(text: &str) -> anyhow::Result<()> {
    match io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e).context("cannot write to stdout"),
        _ => Ok(()),
    }
}
