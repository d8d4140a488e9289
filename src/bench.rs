//! The engine benchmark behind `acksim bench`: one run of a reference scenario, timed, next to
//! a bare binary-heap loop over the same number of events — the ratio of the two is the
//! model's distance from the limit of any event-list simulator.

use crate::engine::{EventQueue, SimTime};
use crate::model::config::Scenario;
use crate::model::{SimError, run};
use std::time::Instant;

/// What one benchmark measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub messages: u64,
    pub events: u64,
    /// Wall-clock seconds of the simulation run.
    pub wall_s: f64,
    /// Wall-clock seconds of pushing and popping the same number of events through a bare
    /// [`EventQueue`] with the same queue depth profile (see [`heap_baseline`]).
    pub heap_baseline_s: f64,
    /// Peak resident memory of the process so far, if the platform tells (Linux `VmHWM`).
    pub peak_rss_bytes: Option<u64>,
}

impl BenchReport {
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.wall_s
    }

    /// How many times slower than the bare event list the model runs.
    pub fn ratio_to_heap(&self) -> f64 {
        self.wall_s / self.heap_baseline_s
    }
}

/// Runs `scenario` once (without trace) and the heap baseline over as many events.
pub fn run_benchmark(scenario: &Scenario) -> Result<BenchReport, SimError> {
    let start = Instant::now();
    let outcome = run(scenario, None)?;
    let wall_s = start.elapsed().as_secs_f64();
    let events = outcome.summary.events;
    let depth = 64 + 4 * scenario.consumer_instance_count();
    Ok(BenchReport {
        messages: outcome.summary.produced,
        events,
        wall_s,
        heap_baseline_s: heap_baseline(events, depth),
        peak_rss_bytes: peak_rss_bytes(),
    })
}

/// A 32-byte payload, the size of the model's events.
#[derive(Clone, Copy)]
struct Payload([u64; 4]);

/// Seconds to pop `events` events from an [`EventQueue`] kept `depth` deep, pushing one new
/// event a pseudo-random distance into the future for each one popped: the minimum work any
/// simulation of that many events must do.
pub fn heap_baseline(events: u64, depth: usize) -> f64 {
    let mut queue = EventQueue::with_capacity(depth + 1);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next_delay = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % 1_000_000
    };
    for i in 0..depth as u64 {
        queue.push(SimTime::from_nanos(next_delay()), Payload([i; 4]));
    }
    let start = Instant::now();
    let mut checksum = 0u64;
    for _ in 0..events {
        let (t, p) = queue.pop().expect("the queue never empties");
        checksum = checksum.wrapping_add(p.0[0]);
        queue.push(
            SimTime::from_nanos(t.as_nanos() + 1 + next_delay()),
            Payload([checksum; 4]),
        );
    }
    let elapsed = start.elapsed().as_secs_f64();
    std::hint::black_box(checksum);
    elapsed
}

/// Peak resident set size of this process (`VmHWM` in `/proc/self/status`), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_baseline_runs_the_requested_number_of_events() {
        assert!(heap_baseline(10_000, 16) >= 0.0);
    }

    #[test]
    fn peak_rss_is_reported_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_rss_bytes().unwrap() > 0);
        }
    }
}
