//! Message expiry on a queue (semantics.md A10.1, A2.10).
//!
//! A producer with a `timeToLive` stamps `JMSExpiration = send time + timeToLive`
//! (`ActiveMQSession.send`); `Message.isExpired()` is `expiration > 0 && now > expiration`.
//! Expired messages are never delivered to an application. The model checks:
//! - at `Queue.send`: an already expired message is expired instead of enqueued;
//! - when the queue's dispatch reaches the message while the queue has a consumer (page-in,
//!   `Queue.doPageInForDispatch`, needs one; `dispatchPending`): expired and removed instead of
//!   dispatched — also while every consumer is full, as page-in goes on then; the model
//!   checks a message when it reaches the head of the waiting messages;
//! - every `expireMessagesPeriod` (default 30 s): every waiting, undispatched message
//!   (`Queue.expireMessages` → `doBrowse` skips messages locked by a subscription; the real
//!   sweep browses at most `maxExpirePageSize` = 400 unexpired messages, the model all);
//! - at the client (`consumerExpiryCheckEnabled`, default true): a message expired when the
//!   application would take it is not delivered; the client sends an EXPIRED ack for it and the
//!   broker removes it from the dispatched list (A6.2). For `receive()` the real client also
//!   checks when the message arrives; the model checks when the application takes it.
//!
//! The broker sends an expired persistent message to `ActiveMQ.DLQ` (`processExpired=true`,
//! A4.2). Its fate in the census is still **expired**: `dlq` counts messages dead-lettered by a
//! POISON ack (contract.md), `expired` those discarded by TTL without being processed; the
//! DLQ copy of an expired message is a by-product of its expiry, not a separate fate.

use crate::engine::{SimDuration, SimTime};
use crate::model::message::MessageRef;

/// `PolicyEntry.expireMessagesPeriod` default.
pub const DEFAULT_EXPIRE_MESSAGES_PERIOD: SimDuration = SimDuration::from_secs(30);

/// `JMSExpiration` of a message sent at `sent_at` with `time_to_live` (`None` or zero: never
/// expires, stored as 0 as in JMS).
pub fn expiration(sent_at: SimTime, time_to_live: Option<SimDuration>) -> SimTime {
    match time_to_live {
        Some(ttl) if !ttl.is_zero() => sent_at + ttl,
        _ => SimTime::ZERO,
    }
}

/// `Message.isExpired()`: `expiration > 0 && now > expiration`.
pub fn is_expired(message: &MessageRef, now: SimTime) -> bool {
    message.expiration > SimTime::ZERO && now > message.expiration
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> SimTime {
        SimTime::from(SimDuration::from_millis(n))
    }

    fn message(expiration: SimTime) -> MessageRef {
        MessageRef {
            id: 1,
            message_id: 1,
            persistent: true,
            redelivery_counter: 0,
            sent_at: SimTime::ZERO,
            group: None,
            expiration,
            priority: 4,
        }
    }

    #[test]
    fn a10_1_expiration_is_send_time_plus_ttl_zero_means_never() {
        assert_eq!(
            expiration(ms(5), Some(SimDuration::from_millis(20))),
            ms(25)
        );
        assert_eq!(expiration(ms(5), None), SimTime::ZERO);
        assert_eq!(expiration(ms(5), Some(SimDuration::ZERO)), SimTime::ZERO);
    }

    #[test]
    fn a10_1_expired_only_strictly_after_the_expiration() {
        let m = message(ms(25));
        assert!(!is_expired(&m, ms(25)));
        assert!(is_expired(&m, ms(26)));
        assert!(!is_expired(&message(SimTime::ZERO), ms(1_000_000)));
    }

    #[test]
    fn a10_1_queue_drops_an_expired_head_even_while_consumers_are_full() {
        use crate::model::activemq::broker::{BrokerEffect, Queue};
        let mut q = Queue::new(true);
        let mut fx = Vec::new();
        q.add_subscription(0, 1, &mut fx);
        let m = |id, exp| MessageRef { id, ..message(exp) };
        q.enqueue(m(1, SimTime::ZERO), &mut fx);
        q.enqueue(m(2, ms(10)), &mut fx);
        q.enqueue(m(3, ms(50)), &mut fx);
        fx.clear();
        // At 20 ms the consumer is still full with 1: page-in drops 2, 3 waits.
        q.set_clock(ms(20));
        q.enqueue(m(4, SimTime::ZERO), &mut fx);
        assert_eq!(fx, vec![BrokerEffect::Expired { id: 2 }]);
        assert_eq!(q.waiting(), 2);
        // The sweep at 60 ms expires 3 (waiting, past 50 ms); 4 never expires.
        fx.clear();
        q.set_clock(ms(60));
        assert_eq!(q.expire_waiting(&mut fx), 1);
        assert_eq!(fx, vec![BrokerEffect::Expired { id: 3 }]);
        // An already expired message is expired at send.
        fx.clear();
        q.enqueue(m(5, ms(59)), &mut fx);
        assert_eq!(fx, vec![BrokerEffect::Expired { id: 5 }]);
    }

    /// Whole runs: zero latency, burst producer, 10 ms processing.
    mod runs {
        use super::super::*;
        use crate::model::config::{
            Arrival, BrokerConfig, ConsumerConfig, DurationDist, NetworkConfig, ProducerConfig,
            Scenario,
        };
        use crate::model::trace::{TraceKind, TraceRecord};
        use crate::model::{RunOutcome, run};

        fn scenario(ttl: SimDuration, consumer: ConsumerConfig) -> Scenario {
            Scenario {
                name: "t".into(),
                seed: 1,
                until: None,
                network: NetworkConfig {
                    latency: DurationDist::Constant(SimDuration::ZERO),
                },
                broker: BrokerConfig {
                    expire_messages_period: Some(SimDuration::from_secs(1)),
                    ..BrokerConfig::default()
                },
                producers: vec![ProducerConfig {
                    name: "p".into(),
                    messages: 5,
                    arrival: Arrival::Burst,
                    start_at: SimDuration::ZERO,
                    groups: None,
                    time_to_live: Some(ttl),
                    priority: 4,
                    send: Default::default(),
                }],
                consumers: vec![consumer],
            }
        }

        fn traced(s: &Scenario) -> (RunOutcome, Vec<TraceRecord>) {
            let mut trace: Vec<TraceRecord> = Vec::new();
            let out = run(s, Some(&mut trace)).expect("run");
            assert!(out.summary.conserves_messages());
            (out, trace)
        }

        #[test]
        fn a10_1_the_periodic_sweep_expires_waiting_messages() {
            // 5 messages at 0 s, TTL 500 ms, no consumer until 2.5 s. The sweep at 1 s expires
            // all 5 (1 s > 0.5 s); the consumer gets nothing. Sweeps stop once nothing else
            // can happen: the one at 2 s still sees the consumer's start ahead, the one at 3 s
            // does not.
            let mut c = ConsumerConfig::new("c");
            c.start_at = SimDuration::from_millis(2500);
            let (out, trace) = traced(&scenario(SimDuration::from_millis(500), c));
            assert_eq!(out.summary.expired, 5);
            assert_eq!(out.summary.processed, 0);
            assert_eq!(out.summary.acks.expired, 0);
            let times: Vec<SimTime> = trace
                .iter()
                .filter(|r| r.kind == TraceKind::Expired)
                .map(|r| r.time)
                .collect();
            assert_eq!(times, vec![SimTime::from(SimDuration::from_secs(1)); 5]);
            assert_eq!(out.summary.end_s, 3.0);
        }

        #[test]
        fn a2_10_without_the_consumer_expiry_check_expired_messages_are_processed() {
            // Prefetch 10, TTL 15 ms, 10 ms each: all 5 are dispatched at 0 s; 1 (taken at
            // 0 ms) and 2 (10 ms) are valid; 3, 4, 5 are taken at 20, 30, 40 ms, past 15 ms.
            let mut c = ConsumerConfig::new("c");
            c.prefetch = 10;
            c.processing = DurationDist::Constant(SimDuration::from_millis(10));
            let (with_check, _) = traced(&scenario(SimDuration::from_millis(15), c.clone()));
            assert_eq!(
                (with_check.summary.processed, with_check.summary.expired),
                (2, 3)
            );
            assert_eq!(with_check.summary.acks.expired, 3);
            c.consumer_expiry_check_enabled = false;
            let (without, _) = traced(&scenario(SimDuration::from_millis(15), c));
            assert_eq!((without.summary.processed, without.summary.expired), (5, 0));
            assert_eq!(without.summary.acks.expired, 0);
        }
    }
}
