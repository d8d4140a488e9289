//! Grid expansion: the cartesian product of a sweep's grid, in file order.
//!
//! The first grid key varies slowest and the last fastest, as nested loops written in the
//! order of the file would: for `a: [1, 2]` then `b: [x, y]` the cells are
//! `(1,x) (1,y) (2,x) (2,y)`. A cell's index is its position in that order, and a run's index is
//! `cell × replicates + replicate`, so both are fixed by the file alone.

/// Every cell of a grid whose keys have `sizes` values each, as one value index per key, in
/// cell-index order. No keys → one cell with no overrides. A key with no values → no cells.
pub fn cells(sizes: &[usize]) -> Vec<Vec<usize>> {
    let total: usize = sizes.iter().product();
    (0..total)
        .map(|mut cell| {
            let mut indices = vec![0; sizes.len()];
            for (slot, &size) in indices.iter_mut().zip(sizes).rev() {
                *slot = cell % size;
                cell /= size;
            }
            indices
        })
        .collect()
}

/// The number of cells, or `None` if it does not fit in a `u64`.
pub fn cell_count(sizes: &[usize]) -> Option<u64> {
    sizes
        .iter()
        .try_fold(1u64, |acc, &n| acc.checked_mul(n as u64))
}

/// The index of run `replicate` of cell `cell`.
pub fn run_index(cell: u64, replicate: u32, replicates: u32) -> u64 {
    cell * u64::from(replicates) + u64::from(replicate)
}

/// The (cell, replicate) of run `run`.
pub fn cell_of_run(run: u64, replicates: u32) -> (u64, u32) {
    let r = u64::from(replicates);
    (run / r, (run % r) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_key_varies_slowest() {
        assert_eq!(
            cells(&[2, 3]),
            [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]
        );
        assert_eq!(cells(&[]), vec![Vec::<usize>::new()]);
        assert!(cells(&[2, 0]).is_empty());
        assert_eq!(cell_count(&[4, 2, 3]), Some(24));
        assert_eq!(cell_count(&[usize::MAX, usize::MAX]), None);
    }

    #[test]
    fn run_index_is_cell_times_replicates_plus_replicate() {
        assert_eq!(run_index(0, 0, 3), 0);
        assert_eq!(run_index(2, 1, 3), 7);
        for run in 0..30 {
            let (c, r) = cell_of_run(run, 5);
            assert_eq!(run_index(c, r, 5), run);
        }
    }
}
