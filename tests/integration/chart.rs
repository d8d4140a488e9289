//! Charts: `run --plot` and `acksim plot DIR` produce valid, deterministic PNGs, and refuse
//! bad input with exit status 2 naming the file.

use std::fs;
use std::path::Path;

use assert_cmd::cargo::cargo_bin_cmd;

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

fn acksim(args: &[&str]) -> assert_cmd::assert::Assert {
    cargo_bin_cmd!("acksim").args(args).assert()
}

fn png(path: &Path) -> Vec<u8> {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.starts_with(PNG_MAGIC),
        "{} is not a PNG",
        path.display()
    );
    assert!(
        bytes.len() > 10_000,
        "{} is suspiciously small",
        path.display()
    );
    bytes
}

const CELLS: &str = "cell,consumers.*.prefetch,consumers.*.ack_mode,runs,produced_mean,produced_ci95,duplicates_mean,duplicates_ci95,acks_total_mean,acks_total_ci95,throughput_mean,throughput_ci95
0,1,auto,3,100,0,0,0,100,1,90,2
1,10,auto,3,100,0,1,0.5,100,1,95,2
2,1000,auto,3,100,0,10,3,100,1,99,2
3,1,client,3,100,0,0,0,34,1,80,2
4,10,client,3,100,0,2,1,34,1,85,2
5,1000,client,3,100,0,20,5,34,1,97,2
";

#[test]
fn run_plot_draws_a_deterministic_timeline_and_plot_redraws_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let out_s = out.to_str().unwrap();
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/crash-auto-listener.yaml"
    );
    acksim(&["run", scenario, "--plot", "--out", out_s]).success();
    let timeline = out.join("timeline.png");
    let first = png(&timeline);
    assert!(
        out.join("trace.csv").is_file(),
        "--plot keeps the trace it drew from"
    );

    let stdout = acksim(&["plot", out_s])
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8_lossy(&stdout).contains("timeline.png"));
    assert_eq!(png(&timeline), first, "same trace, same bytes");
}

#[test]
fn plot_a_run_without_trace_explains_and_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let out_s = out.to_str().unwrap();
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/quickstart.yaml");
    acksim(&["run", scenario, "--out", out_s]).success();
    let assert = acksim(&["plot", out_s]).code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("--trace"), "{stderr}");
}

#[test]
fn plot_a_sweep_draws_lines_and_heatmaps_deterministically() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("cells.csv"), CELLS).unwrap();
    let dir = tmp.path().to_str().unwrap();
    acksim(&["plot", dir]).success();
    let names = [
        "duplicates.png",
        "acks_per_message.png",
        "throughput.png",
        "heatmap_duplicates.png",
    ];
    let first: Vec<Vec<u8>> = names.iter().map(|n| png(&tmp.path().join(n))).collect();
    acksim(&["plot", dir]).success();
    for (name, bytes) in names.iter().zip(&first) {
        assert_eq!(
            &png(&tmp.path().join(name)),
            bytes,
            "{name} differs on redraw"
        );
    }
    let leftovers: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn malformed_csvs_exit_2_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tmp.path().join("sweep");
    fs::create_dir(&sweep).unwrap();
    fs::write(
        sweep.join("cells.csv"),
        CELLS.replace("100,1,95,2", "100,1,ninety,2"),
    )
    .unwrap();
    let assert = acksim(&["plot", sweep.to_str().unwrap()]).code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("cells.csv"), "{stderr}");

    let run = tmp.path().join("run");
    fs::create_dir(&run).unwrap();
    fs::write(run.join("trace.csv"), "time_s,event\nsoon,accepted\n").unwrap();
    let assert = acksim(&["plot", run.to_str().unwrap()]).code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("trace.csv"), "{stderr}");

    acksim(&["plot", tmp.path().join("nowhere").to_str().unwrap()]).code(2);
}
