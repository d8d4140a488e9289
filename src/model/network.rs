//! One direction of a client ↔ broker TCP connection.

use crate::engine::{SimRng, SimTime};
use crate::model::dist::DurationSampler;

/// A FIFO link with a (possibly random) one-way latency. Like TCP, it never reorders: a
/// command sent later arrives no earlier than one sent before it, even when its sampled
/// latency is shorter.
#[derive(Debug, Clone)]
pub struct Link {
    latency: DurationSampler,
    rng: SimRng,
    last_arrival: SimTime,
}

impl Link {
    pub fn new(latency: DurationSampler, rng: SimRng) -> Self {
        Self {
            latency,
            rng,
            last_arrival: SimTime::ZERO,
        }
    }

    /// When a command sent at `now` arrives at the other end.
    pub fn arrival(&mut self, now: SimTime) -> SimTime {
        let at = (now + self.latency.sample(&mut self.rng)).max(self.last_arrival);
        self.last_arrival = at;
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{RngStreams, SimDuration};
    use crate::model::config::DurationDist;

    #[test]
    fn constant_latency_adds_the_delay() {
        let l = DurationSampler::new(&DurationDist::Constant(SimDuration::from_micros(100)));
        let mut link = Link::new(l, RngStreams::new(1).stream("l"));
        assert_eq!(
            link.arrival(SimTime::from_nanos(1_000)),
            SimTime::from_nanos(101_000)
        );
    }

    #[test]
    fn random_latency_never_reorders() {
        let l = DurationSampler::new(&DurationDist::Exponential {
            mean: SimDuration::from_millis(1),
        });
        let mut link = Link::new(l, RngStreams::new(1).stream("l"));
        let mut prev = SimTime::ZERO;
        for i in 0..10_000u64 {
            let at = link.arrival(SimTime::from_nanos(i * 10_000));
            assert!(at >= prev);
            prev = at;
        }
    }
}
