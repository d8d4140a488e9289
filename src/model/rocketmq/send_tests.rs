//! The RocketMQ producer wired to the topic (B1): send policies, injected faults, queue
//! selection per attempt, and the idempotent consumer. Conventions of `tests.rs`: zero latency,
//! a burst at t = 0, processing 10 ms; a fault probability of 1 makes every attempt fault.
//! With two queues and two instances c-0 owns queue 0 (and `%RETRY%`), c-1 queue 1.

use crate::model::config::{IdempotentConfig, Scenario};
use crate::model::producer::{SendFaults, SendPolicy};

use super::tests::{consumer, run_traced, scenario};

/// One message, two queues, two instances, every response lost.
fn lost_responses(policy: SendPolicy) -> Scenario {
    let mut s = scenario(1, 2, vec![consumer("c", 2)]);
    s.producers[0].send.policy = policy;
    s.producers[0].send.faults = SendFaults {
        response_loss: 1.0,
        ..SendFaults::default()
    };
    s
}

/// B1.3/B1.6: SYNC. Attempt 1 is stored (queue 0), its response lost; the transport error
/// comes back at once (elapsed 0 < 3000 ms) ⇒ attempt 2, stored in the next queue (1);
/// again ⇒ attempt 3, queue 0; its error ends the send (2 retries used): failed, not timed
/// out. 3 copies: c-0 consumes 2 (queue 0), c-1 one. Each copy is its own fate.
#[test]
fn b1_6_sync_retries_after_lost_responses_store_three_copies_in_turn() {
    let out = run_traced(&lost_responses(SendPolicy::rocketmq_default())).0;
    let s = &out.summary;
    assert_eq!(
        (
            s.send.sent,
            s.send.attempts,
            s.send.confirmed,
            s.send.failed
        ),
        (1, 3, 0, 1)
    );
    assert_eq!(
        (s.send.timed_out, s.send.duplicates, s.send.lost_at_send),
        (0, 2, 0)
    );
    assert_eq!(
        (s.produced, s.copies, s.processed, s.unique_processed),
        (3, 3, 3, 3)
    );
    assert_eq!(s.duplicates, 0);
    let per: Vec<u64> = out.consumers.iter().map(|c| c.processed).collect();
    assert_eq!(per, vec![2, 1]);
}

/// B1.4: ASYNC retries the same request, whose header names the first attempt's queue, so
/// all 3 copies land in queue 0 and c-1 gets none (the selection index still advances).
#[test]
fn b1_4_async_retries_go_to_the_first_attempts_queue() {
    let policy = SendPolicy::RocketMqAsync {
        timeout: crate::model::producer::ROCKETMQ_SEND_TIMEOUT,
        retries: 2,
    };
    let out = run_traced(&lost_responses(policy)).0;
    let s = &out.summary;
    assert_eq!(
        (
            s.send.attempts,
            s.send.failed,
            s.send.duplicates,
            s.produced
        ),
        (3, 1, 2, 3)
    );
    let per: Vec<u64> = out.consumers.iter().map(|c| c.processed).collect();
    assert_eq!(per, vec![3, 0]);
}

/// An idempotent consumer keyed by the producer message: of the 3 copies of the SYNC case
/// the first processing records the key, the other two are second copies of a known
/// message: their side effects are skipped (duplicates_suppressed 2), each copy's fate is
/// still processed (processed 3, duplicates 0).
#[test]
fn idempotent_consumer_skips_the_retry_copies_of_one_producer_message() {
    let mut s = lost_responses(SendPolicy::rocketmq_default());
    s.consumers[0].idempotent = Some(IdempotentConfig::default());
    let out = run_traced(&s).0;
    let s = &out.summary;
    assert_eq!(
        (s.produced, s.processed, s.unique_processed, s.duplicates),
        (3, 3, 3, 0)
    );
    assert_eq!(s.duplicates_suppressed, 2);
}

/// B1.5: ONEWAY, every request lost on the wire: nothing stored, no error ever reaches the
/// application ⇒ 3 unconfirmed sends, all 3 lost at the source; nothing to consume.
#[test]
fn b1_5_oneway_requests_lost_on_the_wire_are_lost_at_send() {
    let mut s = scenario(3, 2, vec![consumer("c", 1)]);
    s.producers[0].send.policy = SendPolicy::RocketMqOneway;
    s.producers[0].send.faults.request_loss = 1.0;
    let out = run_traced(&s).0;
    let s = &out.summary;
    assert_eq!(
        (
            s.send.sent,
            s.send.attempts,
            s.send.unconfirmed,
            s.send.lost_at_send
        ),
        (3, 3, 3, 3)
    );
    assert_eq!((s.produced, s.copies, s.processed), (0, 0, 0));
}

/// Without faults every SYNC send is confirmed once and stored once, one queue after the
/// other (4 messages over 2 queues: 2 each).
#[test]
fn b1_3_clean_sync_sends_are_confirmed_and_stored_once() {
    let out = run_traced(&scenario(4, 2, vec![consumer("c", 2)])).0;
    let s = &out.summary;
    assert_eq!(
        (
            s.send.sent,
            s.send.attempts,
            s.send.confirmed,
            s.send.duplicates
        ),
        (4, 4, 4, 0)
    );
    assert_eq!(s.produced, 4);
    let per: Vec<u64> = out.consumers.iter().map(|c| c.processed).collect();
    assert_eq!(per, vec![2, 2]);
}

mod property {
    //! Random small runs with every send policy, random faults, an optional broker crash and
    //! consumer crash: the run's own checks (copy conservation, producer-side conservation,
    //! stored copies = produced) hold, CLUSTERING loses nothing, runs are deterministic.
    use proptest::prelude::*;
    use proptest::test_runner::Config;

    use crate::model::config::{
        Arrival, BrokerCrash, CrashConfig, CrashPoint, DurationDist, IdempotentConfig, Scenario,
    };
    use crate::model::producer::{ROCKETMQ_SEND_TIMEOUT, SendFaults, SendPolicy};
    use crate::model::rocketmq::config::MessageModel;
    use crate::model::rocketmq::tests::{consumer, ms, scenario, secs};
    use crate::model::run;

    fn arb_policy() -> impl Strategy<Value = SendPolicy> {
        prop_oneof![
            Just(SendPolicy::rocketmq_default()),
            (0u32..3).prop_map(|retries| SendPolicy::RocketMqAsync {
                timeout: ROCKETMQ_SEND_TIMEOUT,
                retries
            }),
            Just(SendPolicy::RocketMqOneway),
        ]
    }

    fn arb_scenario() -> impl Strategy<Value = Scenario> {
        let p = prop_oneof![Just(0.0), Just(0.3), Just(1.0)];
        (
            (0u64..30, 1u32..4, 0u64..3, any::<u64>(), 1u32..3),
            (arb_policy(), p.clone(), p.clone(), p),
            (
                proptest::option::of((0u64..4000, 0u64..4000)),
                proptest::option::of((0u64..3000, proptest::option::of(0u64..2000))),
                any::<bool>(),
                any::<bool>(),
            ),
        )
            .prop_map(
                |(
                    (messages, queues, latency, seed, replicas),
                    (policy, request_loss, response_loss, slow),
                    (broker_crash, consumer_crash, broadcasting, idempotent),
                )| {
                    let mut c = consumer("c", replicas);
                    if broadcasting {
                        c.rocketmq.message_model = MessageModel::Broadcasting;
                    } else if idempotent {
                        c.idempotent = Some(IdempotentConfig::default());
                    }
                    c.crash = consumer_crash.map(|(at, restart)| CrashConfig {
                        point: CrashPoint::At(ms(at)),
                        restart_after: restart.map(ms),
                    });
                    let mut s = scenario(messages, queues, vec![c]);
                    s.seed = seed;
                    s.until = Some(secs(2 * 3600));
                    s.network.latency = DurationDist::Exponential { mean: ms(latency) };
                    s.producers[0].arrival = Arrival::Exponential { rate: 20.0 };
                    s.producers[0].send.policy = policy;
                    s.producers[0].send.faults = SendFaults {
                        request_loss,
                        response_loss,
                        slow_probability: slow,
                        slow_delay: ms(4000),
                    };
                    s.broker.crash = broker_crash.map(|(at, after)| BrokerCrash {
                        at: ms(at),
                        restart_after: ms(after),
                    });
                    s
                },
            )
    }

    proptest! {
        #![proptest_config(Config { cases: 300, failure_persistence: None, ..Config::default() })]

        #[test]
        fn random_sends_faults_and_broker_crashes_keep_every_invariant(s in arb_scenario()) {
            let out = run(&s, None);
            prop_assert!(out.is_ok(), "run failed: {:?}", out.err());
            let out = out.unwrap();
            let sum = &out.summary;
            prop_assert!(sum.send.conserves_sends(), "{:?}", sum.send);
            prop_assert_eq!(sum.send.sent, s.producers[0].messages);
            // Stored copies: at least one per confirmed or unconfirmed send not lost at the
            // source, plus the extra copies.
            let c = &sum.send;
            prop_assert!(sum.produced >= c.confirmed + c.unconfirmed - c.lost_at_send + c.duplicates, "{:?}", c);
            prop_assert_eq!(sum.duplicates, sum.processed - sum.unique_processed);
            let clustering = s.consumers[0].rocketmq.message_model == MessageModel::Clustering;
            if clustering {
                prop_assert_eq!(sum.lost, 0, "{:?}", sum);
            }
            let survivor = s.consumers[0].crash.is_none_or(|k| k.restart_after.is_some());
            if !out.cut_by_until && survivor && clustering {
                prop_assert_eq!(sum.in_flight, 0, "{:?}", sum);
            }
            let again = run(&s, None).unwrap().summary;
            prop_assert_eq!((again.processed, again.send, again.events), (sum.processed, sum.send, sum.events));
        }
    }
}
