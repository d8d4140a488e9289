//! Output: the files a run writes and the text it shows.
//!
//! One module per format: [`csv`] writes the metric tables and the event trace, [`text`]
//! renders the human summary and scenario description, and [`atomic`] makes every file appear
//! complete or not at all (contract.md: "an interrupted run never leaves a half-written CSV").
//! Nothing here prints; the binary decides where text goes.

pub mod atomic;
pub mod chart;
pub mod csv;
pub mod flat;
pub mod text;

use std::fs;
use std::path::{Path, PathBuf};

pub use atomic::{AtomicFile, OutputDir};
pub use csv::TraceCsv;

use crate::metrics::{CONSUMER_COLUMNS, ConsumerSummary, RunSummary, SUMMARY_COLUMNS};

/// File names inside a run's output directory (contract.md "Binary and commands").
pub const SUMMARY_FILE: &str = "summary.csv";
pub const CONSUMERS_FILE: &str = "consumers.csv";
pub const TRACE_FILE: &str = "trace.csv";

/// An output file or directory could not be written. The message names the path; the OS
/// error is the [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    #[error("cannot create output directory {}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Writes `summary.csv`, `consumers.csv` and, if given, the finished trace into `dir`, and
/// returns their paths. All or nothing: each file is staged completely before any is renamed
/// into place, and if a rename fails the files this call already placed are removed again, so
/// a reader never pairs a new summary with an old consumers table.
pub fn write_run(
    dir: &Path,
    summary: &RunSummary,
    consumers: &[ConsumerSummary],
    trace: Option<TraceCsv>,
) -> Result<Vec<PathBuf>, ReportError> {
    let mut staged = vec![
        csv::stage_table(&dir.join(SUMMARY_FILE), SUMMARY_COLUMNS, [summary])?,
        csv::stage_table(&dir.join(CONSUMERS_FILE), CONSUMER_COLUMNS, consumers)?,
    ];
    if let Some(trace) = trace {
        staged.push(trace.finish()?);
    }
    commit_all(staged)
}

/// Commits staged files in order; on the first failure removes those already committed (the
/// rest are dropped, which removes their temporary files).
pub fn commit_all(files: Vec<AtomicFile>) -> Result<Vec<PathBuf>, ReportError> {
    let mut committed = Vec::with_capacity(files.len());
    for file in files {
        match file.commit() {
            Ok(path) => committed.push(path),
            Err(e) => {
                for path in &committed {
                    let _ = fs::remove_file(path);
                }
                return Err(e);
            }
        }
    }
    Ok(committed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn write_run_places_both_tables_and_the_trace() {
        let tmp = tempfile::tempdir().unwrap();
        let trace = TraceCsv::create(&tmp.path().join(TRACE_FILE), vec![]).unwrap();
        let consumers = [ConsumerSummary {
            consumer: "c-0".into(),
            ..Default::default()
        }];
        let written =
            write_run(tmp.path(), &csv::tests::summary(), &consumers, Some(trace)).unwrap();
        assert_eq!(written.len(), 3);
        assert_eq!(
            names(tmp.path()),
            ["consumers.csv", "summary.csv", "trace.csv"]
        );
    }

    #[test]
    fn write_run_is_all_or_nothing_when_a_rename_fails() {
        let tmp = tempfile::tempdir().unwrap();
        // consumers.csv is a non-empty directory: its rename fails after summary.csv's succeeded.
        fs::create_dir(tmp.path().join(CONSUMERS_FILE)).unwrap();
        fs::write(tmp.path().join(CONSUMERS_FILE).join("x"), "").unwrap();
        let trace = TraceCsv::create(&tmp.path().join(TRACE_FILE), vec![]).unwrap();
        let err = write_run(tmp.path(), &csv::tests::summary(), &[], Some(trace)).unwrap_err();
        assert!(err.to_string().contains(CONSUMERS_FILE), "{err}");
        assert_eq!(
            names(tmp.path()),
            [CONSUMERS_FILE],
            "summary, trace and temporaries are gone"
        );
    }
}
