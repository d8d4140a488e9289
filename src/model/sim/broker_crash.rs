//! The ActiveMQ broker process crashing and restarting (semantics.md A11.4).
//!
//! KahaDB syncs every journal write (`journalDiskSyncStrategy=ALWAYS`), so a persistent
//! message whose synchronous send returned is in the store; non-persistent messages lived
//! only in the dead process's memory. What the store does not hold either: subscriptions,
//! the dispatched lists and, with `persistJMSRedelivered=false` (the default), redelivery
//! counters — the recovered messages wait again in store order and a message that was
//! dispatched and not acknowledged comes back with JMSRedelivered=false. Acks on the wire
//! when the process died are lost, so messages already processed are delivered again.
//! Every client connection drops with the process; a listener call in progress still
//! completes (its side effect happens, its ack is lost); the consumers reconnect (as a
//! failover transport does) once the new process accepts connections.

use super::{BrokerProcess, Ctx};
use crate::model::activemq::broker::BrokerEffect;
use crate::model::activemq::consumer::Consumer;
use crate::model::activemq::destination::Destination;
use crate::model::ledger;
use crate::model::trace::{TraceKind, TraceRecord};

/// The broker process dies now.
pub(super) fn crash(
    ctx: &mut Ctx,
    destination: &mut Destination,
    consumers: &mut [Consumer],
    broker: &mut BrokerProcess,
    persist_redelivered: bool,
    restart_at: crate::engine::SimTime,
    effects: &mut Vec<BrokerEffect>,
) {
    broker.down = true;
    broker.crashed_at = Some(ctx.now);
    ctx.trace(|t| TraceRecord::new(t, TraceKind::BrokerCrashed));
    broker.first_live_subscription = match destination {
        Destination::Queue(queue) => {
            let lost = queue.recover_after_crash(|m| m.persistent, persist_redelivered);
            for id in lost {
                ctx.ledger.mark(id, ledger::LOST_IN_CRASH);
                ctx.trace(|t| TraceRecord {
                    message: Some(id),
                    ..TraceRecord::new(t, TraceKind::LostInBrokerCrash)
                });
            }
            queue.subscription_count()
        }
        Destination::Topic(topic) => {
            // The dropped copies leave as `Discarded` effects (their fate: lost).
            topic.recover_after_crash(persist_redelivered, effects);
            topic.subscription_count()
        }
    };
    for c in consumers.iter_mut() {
        c.lose_connection(ctx, restart_at);
    }
}

/// The new broker process accepts connections. A consumer that (re)started during the
/// outage and had its connection refused reconnects now.
pub(super) fn restart(ctx: &mut Ctx, consumers: &mut [Consumer], broker: &mut BrokerProcess) {
    broker.down = false;
    ctx.trace(|t| TraceRecord::new(t, TraceKind::BrokerRestarted));
    for (consumer, generation) in std::mem::take(&mut broker.refused) {
        let c = &mut consumers[consumer];
        if c.is_current(generation) {
            let now = ctx.now;
            c.lose_connection(ctx, now);
        }
    }
}

#[cfg(test)]
mod tests {
    //! Hand-computed broker crashes (A11.4). Zero or constant latency, constant processing.
    use crate::engine::SimDuration;
    use crate::metrics::RunSummary;
    use crate::model::config::{
        AckMode, Arrival, BrokerConfig, BrokerCrash, ConsumerConfig, DurationDist, NetworkConfig,
        ProducerConfig, Scenario, SendConfig, SendPolicy,
    };
    use crate::model::sim::run;

    fn ms(n: u64) -> SimDuration {
        SimDuration::from_millis(n)
    }

    fn producer(name: &str, messages: u64, arrival: Arrival, persistent: bool) -> ProducerConfig {
        ProducerConfig {
            name: name.to_string(),
            messages,
            arrival,
            start_at: SimDuration::ZERO,
            send: SendConfig {
                persistent,
                policy: SendPolicy::activemq_default(persistent),
                ..SendConfig::default()
            },
            groups: None,
            time_to_live: None,
            priority: 4,
        }
    }

    fn scenario(
        latency: SimDuration,
        crash: (SimDuration, SimDuration),
        producers: Vec<ProducerConfig>,
        consumer: ConsumerConfig,
    ) -> Scenario {
        Scenario {
            name: "crash".to_string(),
            seed: 1,
            until: Some(SimDuration::from_secs(3600)),
            network: NetworkConfig {
                latency: DurationDist::Constant(latency),
            },
            broker: BrokerConfig {
                crash: Some(BrokerCrash {
                    at: crash.0,
                    restart_after: crash.1,
                }),
                ..BrokerConfig::default()
            },
            producers,
            consumers: vec![consumer],
        }
    }

    fn summary(s: &Scenario) -> RunSummary {
        run(s, None).expect("run").summary
    }

    /// 5 non-persistent (async) and 3 persistent messages at t = 0; the broker dies at 1 s,
    /// before the consumer starts (10 s): the 5 non-persistent die with it, the 3 persistent
    /// are processed after the restart.
    #[test]
    fn non_persistent_messages_die_with_the_broker() {
        let mut c = ConsumerConfig::new("c");
        c.start_at = SimDuration::from_secs(10);
        let s = scenario(
            SimDuration::ZERO,
            (ms(1000), ms(1000)),
            vec![
                producer("np", 5, Arrival::Burst, false),
                producer("p", 3, Arrival::Burst, true),
            ],
            c,
        );
        let r = summary(&s);
        assert_eq!((r.produced, r.lost, r.unique_processed), (8, 5, 3));
        assert_eq!((r.in_flight, r.duplicates), (0, 0));
        assert_eq!(
            (r.send.sent, r.send.confirmed, r.send.unconfirmed),
            (8, 3, 5)
        );
        // They were stored: lost in the broker, not at the send.
        assert_eq!(r.send.lost_at_send, 0);
    }

    /// Two persistent messages processed (0–100 ms, 100–200 ms) by a client-ack consumer that
    /// never acknowledges. The broker dies at 1 s and is back at 2 s: both come back from
    /// the store with counter 0, so they are delivered again WITHOUT the redelivered flag
    /// and processed again (2.0–2.1 s, 2.1–2.2 s): 2 duplicates, 0 redelivered.
    #[test]
    fn unacked_persistent_messages_return_without_the_redelivered_flag() {
        let mut c = ConsumerConfig::new("c");
        c.ack_mode = AckMode::Client;
        c.ack_every = 0;
        c.processing = DurationDist::Constant(ms(100));
        let build = |persist| {
            let mut s = scenario(
                SimDuration::ZERO,
                (ms(1000), ms(1000)),
                vec![producer("p", 2, Arrival::Burst, true)],
                c.clone(),
            );
            s.broker.persist_jms_redelivered = persist;
            s
        };
        let r = summary(&build(false));
        assert_eq!((r.deliveries, r.redelivered, r.processed), (4, 0, 4));
        // Still unacknowledged at the end, but processed: their fate is "processed".
        assert_eq!((r.unique_processed, r.duplicates, r.in_flight), (2, 2, 0));
        assert!((r.makespan_s - 2.2).abs() < 1e-9);
        // persistJMSRedelivered=true: the store was rewritten with counter 1 before the
        // first dispatch, so both come back flagged.
        let r = summary(&build(true));
        assert_eq!((r.deliveries, r.redelivered, r.duplicates), (4, 2, 2));
    }

    /// Latency 10 ms. The message is stored at 10 ms, dispatched at 10, processed 20–25 ms;
    /// its AUTO ack leaves at 25 ms and would arrive at 35 ms, but the broker dies at 30 ms:
    /// the ack is lost. Restart at 130 ms: the consumer reconnects (subscription at
    /// 140 ms), gets the message again (150 ms), processes it (155 ms) and its ack arrives.
    #[test]
    fn an_ack_in_flight_is_lost_and_the_message_processed_twice() {
        let s = scenario(
            ms(10),
            (ms(30), ms(100)),
            vec![producer("p", 1, Arrival::Burst, true)],
            ConsumerConfig::new("c"),
        );
        let r = summary(&s);
        assert_eq!((r.produced, r.processed, r.duplicates), (1, 2, 1));
        assert_eq!((r.unique_processed, r.in_flight, r.redelivered), (1, 0, 0));
        assert_eq!(r.acks.standard, 1);
        assert!((r.makespan_s - 0.155).abs() < 1e-9);
        assert_eq!(r.send.confirmed, 1);
    }

    /// Sends every 500 ms from 0 (6 messages), zero latency, broker down [1 s, 2 s): the
    /// sends at 1.0 and 1.5 s meet a dead broker. Async non-persistent: the one written at
    /// the instant of the crash is lost at the send (the application sees nothing), the one
    /// at 1.5 s throws (the client knows the connection failed), and the 2 stored before the
    /// crash die with it. Sync persistent: both sends fail (the application knows), the 2
    /// stored survive.
    #[test]
    fn sends_during_the_outage() {
        let every = Arrival::Constant { interval: ms(500) };
        let mut c = ConsumerConfig::new("c");
        c.start_at = SimDuration::from_secs(3);
        let run_with = |persistent| {
            summary(&scenario(
                SimDuration::ZERO,
                (ms(1000), ms(1000)),
                vec![producer("p", 6, every, persistent)],
                c.clone(),
            ))
        };
        let r = run_with(false);
        assert_eq!(
            (r.send.sent, r.send.unconfirmed, r.send.lost_at_send),
            (6, 5, 1)
        );
        assert_eq!(r.send.failed, 1);
        assert_eq!((r.produced, r.lost, r.unique_processed), (4, 2, 2));
        let r = run_with(true);
        assert_eq!((r.send.sent, r.send.confirmed, r.send.failed), (6, 4, 2));
        assert_eq!(
            (r.send.lost_at_send, r.produced, r.unique_processed),
            (0, 4, 4)
        );
    }

    /// A consumer that starts during the outage (1.5 s) is refused and connects when the
    /// broker is back (2 s): it processes the 3 persistent messages then, 5 ms each.
    #[test]
    fn a_consumer_refused_during_the_outage_connects_after_the_restart() {
        let mut c = ConsumerConfig::new("c");
        c.start_at = ms(1500);
        let s = scenario(
            SimDuration::ZERO,
            (ms(1000), ms(1000)),
            vec![producer("p", 3, Arrival::Burst, true)],
            c,
        );
        let r = summary(&s);
        assert_eq!((r.unique_processed, r.in_flight, r.lost), (3, 0, 0));
        assert!((r.makespan_s - 2.015).abs() < 1e-9, "{}", r.makespan_s);
    }

    /// One persistent message, zero latency, 100 ms processing started at 0. The broker dies
    /// at 50 ms: the listener call still completes at 100 ms (side effect), but its ack has no
    /// connection. Back at 150 ms, the message comes again (counter 0) and is processed
    /// again, 150–250 ms, and acknowledged.
    #[test]
    fn a_processing_in_progress_completes_and_its_message_comes_back() {
        let mut c = ConsumerConfig::new("c");
        c.processing = DurationDist::Constant(ms(100));
        let s = scenario(
            SimDuration::ZERO,
            (ms(50), ms(100)),
            vec![producer("p", 1, Arrival::Burst, true)],
            c,
        );
        let r = summary(&s);
        assert_eq!((r.processed, r.duplicates, r.redelivered), (2, 1, 0));
        assert_eq!((r.acks.standard, r.in_flight), (1, 0));
        assert!((r.makespan_s - 0.25).abs() < 1e-9, "{}", r.makespan_s);
    }
}
