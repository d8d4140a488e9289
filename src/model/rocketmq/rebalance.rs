//! `AllocateMessageQueueAveragely`: CLUSTERING consumers share a topic's queues (B2.4).

/// The queue indices (of a topic with `queues` queues, sorted) that consumer `index` of
/// `consumers` (the group's client ids, sorted) owns: the first `queues mod consumers`
/// consumers get one queue more, each a contiguous run; with more consumers than queues the
/// last ones get none.
pub fn allocate_averagely(queues: u32, consumers: usize, index: usize) -> Vec<u32> {
    if consumers == 0 || index >= consumers {
        return Vec::new();
    }
    let q = queues as usize;
    let m = q % consumers;
    let average = if q <= consumers {
        1
    } else if m > 0 && index < m {
        q / consumers + 1
    } else {
        q / consumers
    };
    let start = if m > 0 && index < m {
        index * average
    } else {
        index * average + m
    };
    let range = average.min(q.saturating_sub(start));
    (0..range).map(|i| ((start + i) % q) as u32).collect()
}
