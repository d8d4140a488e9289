//! Sampling durations and arrival gaps from the scenario's distributions (rand_distr).
//!
//! Samples are drawn as `f64` seconds and rounded to whole nanoseconds, so everything
//! downstream is integer arithmetic.

use crate::engine::{SimDuration, SimRng};
use crate::model::config::{Arrival, DurationDist};
use rand::RngExt;
use rand_distr::{Distribution, Exp, LogNormal, Normal, Pareto};

/// A ready-to-sample [`DurationDist`].
#[derive(Debug, Clone)]
pub enum DurationSampler {
    Constant(SimDuration),
    Exponential(Exp<f64>),
    Uniform { min: u64, max: u64 },
    Normal(Normal<f64>),
    LogNormal(LogNormal<f64>),
    Pareto(Pareto<f64>),
}

impl DurationSampler {
    /// Builds the sampler. Parameters were validated with the scenario; a degenerate one (a
    /// zero mean) falls back to a constant so that sampling can never fail.
    pub fn new(dist: &DurationDist) -> Self {
        let secs = |d: &SimDuration| d.as_secs_f64();
        match dist {
            DurationDist::Constant(d) => Self::Constant(*d),
            DurationDist::Exponential { mean } => match Exp::new(1.0 / secs(mean)) {
                Ok(e) if !mean.is_zero() => Self::Exponential(e),
                _ => Self::Constant(SimDuration::ZERO),
            },
            DurationDist::Uniform { min, max } => Self::Uniform {
                min: min.as_nanos(),
                max: max.as_nanos().max(min.as_nanos()),
            },
            DurationDist::Normal { mean, std } => match Normal::new(secs(mean), secs(std)) {
                Ok(n) => Self::Normal(n),
                Err(_) => Self::Constant(*mean),
            },
            DurationDist::LogNormal { mean, std } => {
                // Moments of the duration → parameters of the underlying normal.
                let (m, s) = (secs(mean), secs(std));
                let sigma2 = (1.0 + (s * s) / (m * m)).ln();
                let mu = m.ln() - sigma2 / 2.0;
                match LogNormal::new(mu, sigma2.sqrt()) {
                    Ok(l) if m > 0.0 => Self::LogNormal(l),
                    _ => Self::Constant(*mean),
                }
            }
            DurationDist::Pareto { scale, shape } => match Pareto::new(secs(scale), *shape) {
                Ok(p) => Self::Pareto(p),
                Err(_) => Self::Constant(*scale),
            },
        }
    }

    /// Whether sampling draws random numbers at all.
    pub fn is_constant(&self) -> bool {
        matches!(self, Self::Constant(_))
    }

    pub fn sample(&self, rng: &mut SimRng) -> SimDuration {
        match self {
            Self::Constant(d) => *d,
            Self::Exponential(e) => SimDuration::from_secs_f64(e.sample(rng)),
            Self::Uniform { min, max } => SimDuration::from_nanos(rng.random_range(*min..=*max)),
            Self::Normal(n) => SimDuration::from_secs_f64(n.sample(rng)),
            Self::LogNormal(l) => SimDuration::from_secs_f64(l.sample(rng)),
            Self::Pareto(p) => SimDuration::from_secs_f64(p.sample(rng)),
        }
    }
}

/// Gaps between a producer's sends.
#[derive(Debug, Clone)]
pub enum ArrivalSampler {
    Poisson(Exp<f64>),
    Constant(SimDuration),
    Burst,
}

impl ArrivalSampler {
    pub fn new(arrival: &Arrival) -> Self {
        match arrival {
            Arrival::Exponential { rate } => match Exp::new(*rate) {
                Ok(e) => Self::Poisson(e),
                Err(_) => Self::Burst,
            },
            Arrival::Constant { interval } => Self::Constant(*interval),
            Arrival::Burst => Self::Burst,
        }
    }

    /// The gap before the next send.
    pub fn next_gap(&self, rng: &mut SimRng) -> SimDuration {
        match self {
            Self::Poisson(e) => SimDuration::from_secs_f64(e.sample(rng)),
            Self::Constant(d) => *d,
            Self::Burst => SimDuration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;

    fn mean_of(dist: DurationDist, n: usize) -> f64 {
        let s = DurationSampler::new(&dist);
        let mut rng = RngStreams::new(1).stream("t");
        (0..n)
            .map(|_| s.sample(&mut rng).as_secs_f64())
            .sum::<f64>()
            / n as f64
    }

    #[test]
    fn constant_is_constant() {
        let d = SimDuration::from_millis(5);
        let s = DurationSampler::new(&DurationDist::Constant(d));
        let mut rng = RngStreams::new(1).stream("t");
        assert!(s.is_constant());
        assert_eq!(s.sample(&mut rng), d);
    }

    #[test]
    fn sample_means_match_their_parameters() {
        let ms = SimDuration::from_millis;
        let cases = [
            (DurationDist::Exponential { mean: ms(2) }, 0.002),
            (
                DurationDist::Uniform {
                    min: ms(1),
                    max: ms(3),
                },
                0.002,
            ),
            (
                DurationDist::Normal {
                    mean: ms(10),
                    std: ms(1),
                },
                0.010,
            ),
            (
                DurationDist::LogNormal {
                    mean: ms(4),
                    std: ms(2),
                },
                0.004,
            ),
            (
                DurationDist::Pareto {
                    scale: ms(1),
                    shape: 3.0,
                },
                0.0015,
            ),
        ];
        for (dist, expected) in cases {
            let m = mean_of(dist, 200_000);
            assert!((m - expected).abs() / expected < 0.02, "{dist:?}: mean {m}");
        }
    }

    #[test]
    fn normal_samples_are_clamped_at_zero() {
        let s = DurationSampler::new(&DurationDist::Normal {
            mean: SimDuration::from_micros(1),
            std: SimDuration::from_millis(1),
        });
        let mut rng = RngStreams::new(3).stream("t");
        assert!((0..10_000).all(|_| s.sample(&mut rng) < SimDuration::from_secs(1)));
    }

    #[test]
    fn poisson_gaps_average_one_over_rate() {
        let s = ArrivalSampler::new(&Arrival::Exponential { rate: 1000.0 });
        let mut rng = RngStreams::new(5).stream("t");
        let n = 100_000;
        let mean = (0..n)
            .map(|_| s.next_gap(&mut rng).as_secs_f64())
            .sum::<f64>()
            / n as f64;
        assert!((mean - 0.001).abs() < 0.00003, "{mean}");
    }
}
