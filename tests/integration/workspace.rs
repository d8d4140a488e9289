//! A scratch working directory for running `acksim` as a user would, shared by the
//! integration tests.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use tempfile::TempDir;

/// The batch systems' variables `--shard auto` reads; removed so the host cannot leak in.
const BATCH_VARIABLES: [&str; 5] = [
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_STEP",
    "JOB_COMPLETION_INDEX",
];

/// A scratch working directory holding scenario files.
pub struct Workspace {
    dir: TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A workspace holding one file.
    pub fn with_file(name: &str, text: &str) -> Self {
        let ws = Self::new();
        ws.write(name, text);
        ws
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, yaml: &str) -> PathBuf {
        let path = self.path().join(name);
        fs::write(&path, yaml).unwrap();
        path
    }

    /// `acksim ARGS…` run inside the workspace.
    pub fn acksim(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        self.acksim_env(args, &[])
    }

    /// Runs with the batch systems' variables removed, then `env` set.
    pub fn acksim_env(&self, args: &[&str], env: &[(&str, &str)]) -> assert_cmd::assert::Assert {
        let mut cmd = cargo_bin_cmd!("acksim");
        cmd.current_dir(self.path()).args(args);
        for var in BATCH_VARIABLES {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().copied()).assert()
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// A CSV's header and rows.
    pub fn rows(&self, rel: &str) -> (Vec<String>, Vec<Vec<String>>) {
        let text = self.read(rel);
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader.headers().unwrap().iter().map(String::from).collect();
        let rows = reader
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        (header, rows)
    }

    /// A CSV with the `wall_s` column's values blanked (the one non-reproducible column).
    pub fn without_wall(&self, rel: &str) -> String {
        let (header, rows) = self.rows(rel);
        let wall = header.iter().position(|h| h == "wall_s");
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(&header).unwrap();
        for mut row in rows {
            if let Some(w) = wall {
                row[w].clear();
            }
            out.write_record(&row).unwrap();
        }
        String::from_utf8(out.into_inner().unwrap()).unwrap()
    }

    /// Files and directories in the workspace other than the scenarios.
    pub fn outputs(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(".yaml"))
            .collect();
        names.sort();
        names
    }
}
