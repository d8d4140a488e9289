//! Hand-computed runs of the producer side and the idempotent consumer through the whole
//! ActiveMQ simulation.

use crate::engine::SimDuration;
use crate::metrics::RunSummary;
use crate::model::config::{
    AckMode, Arrival, BrokerConfig, ConsumerConfig, CrashConfig, CrashPoint, DurationDist,
    IdempotentConfig, NetworkConfig, ProducerConfig, Scenario, SendConfig, SendFaults, SendPolicy,
};
use crate::model::sim::run;

fn ms(n: u64) -> SimDuration {
    SimDuration::from_millis(n)
}

fn scenario(producer: ProducerConfig, consumer: ConsumerConfig) -> Scenario {
    Scenario {
        name: "send".to_string(),
        seed: 5,
        until: Some(SimDuration::from_secs(3600)),
        network: NetworkConfig {
            latency: DurationDist::Constant(SimDuration::from_micros(100)),
        },
        broker: BrokerConfig::default(),
        producers: vec![producer],
        consumers: vec![consumer],
    }
}

fn producer(messages: u64, arrival: Arrival, send: SendConfig) -> ProducerConfig {
    ProducerConfig {
        name: "p".to_string(),
        messages,
        arrival,
        start_at: SimDuration::ZERO,
        send,
        groups: None,
        time_to_live: None,
        priority: 4,
    }
}

/// crash-auto-listener: 100 messages, prefetch 10, dies after processing 37 (ack not sent),
/// restarts 1 s later; 37 is redelivered.
fn crashing_consumer(idempotent: Option<IdempotentConfig>) -> Scenario {
    let mut c = ConsumerConfig::new("c");
    c.ack_mode = AckMode::Auto;
    c.prefetch = 10;
    c.crash = Some(CrashConfig {
        point: CrashPoint::AfterProcessed(37),
        restart_after: Some(SimDuration::from_secs(1)),
    });
    c.idempotent = idempotent;
    scenario(producer(100, Arrival::Burst, SendConfig::default()), c)
}

fn summary(s: &Scenario) -> RunSummary {
    run(s, None).expect("run").summary
}

#[test]
fn without_a_store_the_redelivery_repeats_the_side_effect() {
    let r = summary(&crashing_consumer(None));
    assert_eq!(
        (r.processed, r.duplicates, r.duplicates_suppressed),
        (101, 1, 0)
    );
}

/// Message 37 is processed at about 37 × 5 ms and redelivered more than 1 s later: a 500 ms
/// TTL has forgotten it, so the side effect repeats; capacity 0 remembers nothing.
#[test]
fn a_store_that_forgot_the_id_does_not_suppress() {
    for config in [
        IdempotentConfig {
            capacity: 1000,
            ttl: Some(ms(500)),
        },
        IdempotentConfig {
            capacity: 0,
            ttl: None,
        },
    ] {
        let r = summary(&crashing_consumer(Some(config)));
        assert_eq!(
            (r.processed, r.duplicates, r.duplicates_suppressed),
            (101, 1, 0)
        );
    }
}

/// Capacity 1 still suppresses: the last id stored before the crash is 37.
#[test]
fn capacity_one_remembers_the_last_processed_id() {
    let config = IdempotentConfig {
        capacity: 1,
        ttl: None,
    };
    let r = summary(&crashing_consumer(Some(config)));
    assert_eq!(
        (r.processed, r.duplicates, r.duplicates_suppressed),
        (100, 0, 1)
    );
}

/// Producer-retry duplicates (every response lost, one application resend): 10 messages
/// stored twice. Two replicas share one store: the second copy of each message is
/// recognised whichever replica gets it. Each copy is still handled once (processed 20,
/// duplicates 0); 10 side effects are skipped.
#[test]
fn a_shared_store_catches_duplicates_at_the_source() {
    let send = SendConfig {
        persistent: true,
        policy: SendPolicy::ActiveMqSync {
            send_timeout: None,
            retries: 1,
            failover: false,
        },
        faults: SendFaults {
            response_loss: 1.0,
            ..SendFaults::default()
        },
    };
    let mut c = ConsumerConfig::new("c");
    c.replicas = 2;
    c.prefetch = 1;
    c.processing = DurationDist::Constant(ms(1));
    c.idempotent = Some(IdempotentConfig::default());
    let s = scenario(
        producer(10, Arrival::Constant { interval: ms(10) }, send),
        c,
    );
    let r = summary(&s);
    assert_eq!((r.produced, r.send.duplicates, r.send.failed), (20, 10, 10));
    assert_eq!((r.processed, r.unique_processed, r.duplicates), (20, 20, 0));
    assert_eq!(r.duplicates_suppressed, 10);
}

/// Random faults on every attempt (20 % each), a 50 ms sendTimeout, 2 application resends:
/// the producer-side counters still add up, and a sync send is never lost at the send.
#[test]
fn producer_counters_add_up_under_random_faults() {
    let send = SendConfig {
        persistent: true,
        policy: SendPolicy::ActiveMqSync {
            send_timeout: Some(ms(50)),
            retries: 2,
            failover: false,
        },
        faults: SendFaults {
            request_loss: 0.2,
            response_loss: 0.2,
            slow_probability: 0.2,
            slow_delay: ms(100),
        },
    };
    let s = scenario(
        producer(500, Arrival::Constant { interval: ms(1) }, send),
        ConsumerConfig::new("c"),
    );
    let r = summary(&s);
    let c = r.send;
    assert_eq!(c.sent, 500);
    assert_eq!(
        c.sent,
        c.confirmed + c.failed + c.unconfirmed + c.in_progress
    );
    // Messages stored at least once = produced − duplicates: every confirmed one, plus
    // failed ones whose store happened (their response was lost or late).
    let stored_messages = r.produced - c.duplicates;
    assert!(stored_messages >= c.confirmed && stored_messages <= c.sent);
    assert!(c.duplicates > 0 && c.failed > 0 && c.timed_out > 0);
    assert_eq!(c.unconfirmed, 0);
    assert_eq!(
        c.lost_at_send, 0,
        "a sync send is confirmed only after a store"
    );
}

/// Random faults, a broker crash and failover re-sends: the same seed gives the same run.
#[test]
fn faults_and_crash_are_deterministic_per_seed() {
    let send = SendConfig {
        persistent: true,
        policy: SendPolicy::ActiveMqSync {
            send_timeout: None,
            retries: 0,
            failover: true,
        },
        faults: SendFaults {
            request_loss: 0.1,
            response_loss: 0.1,
            slow_probability: 0.1,
            slow_delay: ms(20),
        },
    };
    let mut s = scenario(
        producer(300, Arrival::Exponential { rate: 2000.0 }, send),
        ConsumerConfig::new("c"),
    );
    s.broker.crash = Some(crate::model::config::BrokerCrash {
        at: ms(50),
        restart_after: ms(30),
    });
    let strip = |mut r: RunSummary| {
        r.wall_s = 0.0;
        r
    };
    let a = strip(summary(&s));
    assert_eq!(a, strip(summary(&s)));
    assert!(a.send.resends_suppressed > 0 && a.send.attempts > a.send.sent);
    s.seed += 1;
    assert_ne!(a.send, strip(summary(&s)).send);
}

/// Fault-free sync sends with no broker crash: each reply is certain, so it is counted when
/// it comes due instead of being an event. 3 persistent messages at 0, 10 and 20 ms, 100 µs
/// each way: replies due at 0.2, 10.2 and 20.2 ms. A run cut at 20.15 ms has confirmed two
/// and has one in progress; an uncut run confirms all three, and no reply costs an event
/// (3 arrivals + 3 dispatches reaching the idle consumer + 3 processing ends + 3 acks at the
/// broker + the consumer's start and subscription = 14 events).
#[test]
fn certain_replies_are_confirmed_when_due_without_events() {
    let p = producer(
        3,
        Arrival::Constant { interval: ms(10) },
        SendConfig::default(),
    );
    let mut c = ConsumerConfig::new("c");
    c.processing = DurationDist::Constant(ms(1));
    let mut s = scenario(p, c);
    s.until = None;
    let full = summary(&s);
    assert_eq!(
        (full.send.sent, full.send.confirmed, full.send.in_progress),
        (3, 3, 0)
    );
    assert_eq!(full.events, 14);
    s.until = Some(SimDuration::from_micros(20_150));
    let cut = summary(&s);
    assert_eq!(
        (cut.send.sent, cut.send.confirmed, cut.send.in_progress),
        (3, 2, 1)
    );
}
