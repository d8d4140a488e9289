//! Shards: splitting one sweep over many machines (a Slurm job array, a Kubernetes Indexed Job).
//!
//! Shard `I` of `N` (1-based) runs the runs whose index mod N = I − 1. Runs are dealt out round
//! robin rather than in blocks so that every shard gets a similar mix of cells (prefetch 1 and
//! prefetch 1000 runs take very different times).
//!
//! `--shard auto` reads the batch system's environment:
//!
//! - **Slurm** (`sbatch --array=…`): `SLURM_ARRAY_TASK_ID` and `SLURM_ARRAY_TASK_COUNT`. Task ids
//!   start wherever the `--array` range starts (`0-7` and `1-8` are both common), so the shard is
//!   `(SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP + 1`; without
//!   `SLURM_ARRAY_TASK_MIN` ids are taken to start at 0, without `SLURM_ARRAY_TASK_STEP` the
//!   step is 1.
//! - **Kubernetes** (`completionMode: Indexed`): `JOB_COMPLETION_INDEX` (0-based); Kubernetes
//!   does not expose the number of completions, so `--shards N` must give it.
//!
//! Without `--out`, shard `I/N` writes into `results/<scenario name>/shard-I-of-N/`, so shards on a
//! shared file system do not overwrite each other; `acksim merge DIR... --out DIR` then checks
//! and joins them. A Slurm array of 8:
//!
//! ```text
//! #SBATCH --array=1-8
//! acksim sweep sweep.yaml --shard auto --threads "$SLURM_CPUS_PER_TASK"
//! # afterwards: acksim merge results/<name>/shard-*-of-8 --out results/<name>
//! ```
//!
//! A Kubernetes Indexed Job of 8: `completions: 8`, `parallelism: 8`,
//! `completionMode: Indexed`, and the container runs
//! `acksim sweep sweep.yaml --shard auto --shards 8 --out /data/shard-$(JOB_COMPLETION_INDEX)`.

use serde::{Deserialize, Serialize};

use super::SweepError;

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSpec {
    pub index: u32,
    pub count: u32,
}

impl ShardSpec {
    /// The whole sweep.
    pub const WHOLE: ShardSpec = ShardSpec { index: 1, count: 1 };

    /// Whether run `run` belongs to this shard.
    pub fn contains(&self, run: u64) -> bool {
        run % u64::from(self.count) == u64::from(self.index - 1)
    }

    /// This shard's run indices among `0..total`, ascending.
    pub fn runs(&self, total: u64) -> Vec<u64> {
        (u64::from(self.index - 1)..total)
            .step_by(self.count as usize)
            .collect()
    }
}

impl std::fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The shard of `--shard auto`, from the environment `var` reads (Slurm first, then
/// Kubernetes), with `shards` from `--shards N`. Also returns where it came from.
pub fn from_env(
    var: impl Fn(&str) -> Option<String>,
    shards: Option<u32>,
) -> Result<(ShardSpec, &'static str), SweepError> {
    let num = |name: &str| -> Result<Option<u64>, SweepError> {
        match var(name) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                SweepError::Input(format!(
                    "--shard auto: {name}={v:?} is not a non-negative integer"
                ))
            }),
        }
    };
    let bad = |msg: String| Err(SweepError::Input(format!("--shard auto: {msg}")));
    if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
        let Some(count) = num("SLURM_ARRAY_TASK_COUNT")? else {
            return bad("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not".into());
        };
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let step = num("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
        if id < min || (id - min) % step != 0 || (id - min) / step >= count {
            return bad(format!(
                "SLURM_ARRAY_TASK_ID={id} is not one of {count} tasks starting at \
                 SLURM_ARRAY_TASK_MIN={min} with step {step}"
            ));
        }
        let Ok(count) = u32::try_from(count) else {
            return bad(format!("SLURM_ARRAY_TASK_COUNT={count} is too large"));
        };
        if shards.is_some_and(|n| n != count) {
            return bad(format!(
                "--shards {} disagrees with SLURM_ARRAY_TASK_COUNT={count}",
                shards.unwrap_or_default()
            ));
        }
        let index = ((id - min) / step) as u32 + 1;
        return Ok((ShardSpec { index, count }, "Slurm"));
    }
    if let Some(i) = num("JOB_COMPLETION_INDEX")? {
        let Some(count) = shards else {
            return bad(
                "JOB_COMPLETION_INDEX is set; pass --shards N (the Job's `completions`)".into(),
            );
        };
        if i >= u64::from(count) {
            return bad(format!(
                "JOB_COMPLETION_INDEX={i} is not below --shards {count}"
            ));
        }
        return Ok((
            ShardSpec {
                index: i as u32 + 1,
                count,
            },
            "Kubernetes",
        ));
    }
    bad(
        "neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX (a Kubernetes \
         Indexed Job) is set; use --shard I/N"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn runs_are_dealt_round_robin_and_shards_partition_them() {
        let s = ShardSpec { index: 2, count: 3 };
        assert_eq!(s.runs(10), [1, 4, 7]);
        assert!(s.contains(4) && !s.contains(5));
        let mut all: Vec<u64> = (1..=3)
            .flat_map(|index| ShardSpec { index, count: 3 }.runs(10))
            .collect();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert!(ShardSpec { index: 5, count: 8 }.runs(3).is_empty());
    }

    #[test]
    fn slurm_ids_may_start_at_zero_or_one() {
        let zero = [
            ("SLURM_ARRAY_TASK_ID", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ];
        assert_eq!(
            from_env(env(&zero), None).unwrap().0,
            ShardSpec { index: 1, count: 4 }
        );
        let one = [
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ];
        assert_eq!(
            from_env(env(&one), None).unwrap().0,
            ShardSpec { index: 4, count: 4 }
        );
        let no_min = [
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ];
        assert!(from_env(env(&no_min), None).is_err());
        let stepped = [
            ("SLURM_ARRAY_TASK_ID", "6"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
        ];
        assert_eq!(
            from_env(env(&stepped), None).unwrap().0,
            ShardSpec { index: 4, count: 4 }
        );
        assert!(from_env(env(&zero), Some(5)).is_err());
    }

    #[test]
    fn kubernetes_needs_the_shard_count() {
        let k = [("JOB_COMPLETION_INDEX", "2")];
        assert_eq!(
            from_env(env(&k), Some(3)).unwrap().0,
            ShardSpec { index: 3, count: 3 }
        );
        assert!(from_env(env(&k), None).is_err());
        assert!(from_env(env(&k), Some(2)).is_err());
        assert!(from_env(env(&[]), Some(2)).is_err());
        assert!(from_env(env(&[("JOB_COMPLETION_INDEX", "x")]), Some(2)).is_err());
    }
}
