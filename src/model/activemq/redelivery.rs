//! The delay rule of ActiveMQ's client-side `RedeliveryPolicy` (semantics.md A3.1–A3.2).

use crate::engine::SimDuration;
use crate::model::config::RedeliveryPolicy;

const MS: u64 = 1_000_000;

impl RedeliveryPolicy {
    /// `RedeliveryPolicy.getNextRedeliveryDelay(previousDelay)`: `redeliveryDelay`, or with
    /// exponential back-off `previous × backOffMultiplier` (capped by
    /// `maximumRedeliveryDelay`, but never below `redeliveryDelay`). The real client computes
    /// in whole milliseconds and truncates; so do we whenever the delay is whole milliseconds.
    pub fn next_redelivery_delay(&self, previous: SimDuration) -> SimDuration {
        let mut next = self.redelivery_delay;
        if !previous.is_zero() && self.use_exponential_backoff && self.backoff_multiplier > 1.0 {
            let prev = previous.as_nanos();
            next = if prev.is_multiple_of(MS) {
                SimDuration::from_millis(((prev / MS) as f64 * self.backoff_multiplier) as u64)
            } else {
                SimDuration::from_nanos((prev as f64 * self.backoff_multiplier) as u64)
            };
            if let Some(max) = self.maximum_redelivery_delay
                && next > max
            {
                next = max.max(self.redelivery_delay);
            }
        }
        next
    }

    /// Whether a message whose redelivery counter is now `counter` has exceeded the policy
    /// (`counter > maximumRedeliveries`, never with `-1`).
    pub fn is_exceeded(&self, counter: u32) -> bool {
        self.maximum_redeliveries.is_some_and(|max| counter > max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_redelivers_every_second_and_poisons_after_six() {
        let p = RedeliveryPolicy::default();
        assert_eq!(p.initial_redelivery_delay, SimDuration::from_secs(1));
        assert_eq!(
            p.next_redelivery_delay(SimDuration::from_secs(1)),
            SimDuration::from_secs(1)
        );
        assert!(!p.is_exceeded(6));
        assert!(p.is_exceeded(7));
    }

    #[test]
    fn exponential_backoff_multiplies_the_previous_delay() {
        let p = RedeliveryPolicy {
            use_exponential_backoff: true,
            ..Default::default()
        };
        let d1 = p.initial_redelivery_delay;
        let d2 = p.next_redelivery_delay(d1);
        let d3 = p.next_redelivery_delay(d2);
        assert_eq!(
            (d2, d3),
            (SimDuration::from_secs(5), SimDuration::from_secs(25))
        );
        // A previous delay of zero (e.g. after a commit) restarts at redeliveryDelay.
        assert_eq!(
            p.next_redelivery_delay(SimDuration::ZERO),
            SimDuration::from_secs(1)
        );
    }

    #[test]
    fn maximum_delay_caps_but_never_below_redelivery_delay() {
        let p = RedeliveryPolicy {
            use_exponential_backoff: true,
            maximum_redelivery_delay: Some(SimDuration::from_secs(10)),
            ..Default::default()
        };
        assert_eq!(
            p.next_redelivery_delay(SimDuration::from_secs(5)),
            SimDuration::from_secs(10)
        );
        let low_cap = RedeliveryPolicy {
            maximum_redelivery_delay: Some(SimDuration::from_millis(10)),
            ..p
        };
        assert_eq!(
            low_cap.next_redelivery_delay(SimDuration::from_secs(5)),
            SimDuration::from_secs(1)
        );
    }

    #[test]
    fn whole_milliseconds_truncate_like_java_longs() {
        let p = RedeliveryPolicy {
            use_exponential_backoff: true,
            backoff_multiplier: 1.5,
            ..Default::default()
        };
        assert_eq!(
            p.next_redelivery_delay(SimDuration::from_millis(3)),
            SimDuration::from_millis(4)
        );
    }

    #[test]
    fn unlimited_redeliveries_never_exceed() {
        let p = RedeliveryPolicy {
            maximum_redeliveries: None,
            ..Default::default()
        };
        assert!(!p.is_exceeded(u32::MAX));
    }
}
