//! Scenario-level tests of the ActiveMQ model: small runs whose every number was worked out by
//! hand from the real client and broker (ActiveMQ 5.17.2) before the run, with the arithmetic
//! in a comment and the `semantics.md` rule in the test's name; then property tests over
//! random small scenarios.
//!
//! Conventions of the hand-computed tests: message ids are 1-based in acceptance order; unless
//! a test says otherwise the network latency is zero (so every time is a sum of processing
//! times and redelivery delays), processing is a constant 10 ms and the producer sends a burst
//! at t = 0. With zero latency, events at the same instant run in the order they were
//! scheduled.
//!
//! Where these tests once caught the model disagreeing with ActiveMQ 5.17.2, the comment
//! above the test cites the source lines that settle it; the test now pins the fix.

use crate::engine::{SimDuration, SimTime};
use crate::metrics::RunSummary;
use crate::model::activemq::ack::AckType;
use crate::model::config::{
    AckMode, Arrival, BrokerConfig, ConsumerConfig, CrashConfig, CrashPoint, DeliveryMode,
    DurationDist, FailureConfig, FailureHandling, NetworkConfig, ProducerConfig, RedeliveryPolicy,
    Scenario,
};
use crate::model::message::MessageId;
use crate::model::trace::{TraceKind, TraceRecord};
use crate::model::{RunOutcome, run};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const fn ms(n: u64) -> SimDuration {
    SimDuration::from_millis(n)
}

const fn us(n: u64) -> SimDuration {
    SimDuration::from_micros(n)
}

/// An instant `n` microseconds after the start (for exact comparisons with trace times).
const fn at_us(n: u64) -> SimTime {
    SimTime::from_nanos(n * 1_000)
}

const fn at_ms(n: u64) -> SimTime {
    SimTime::from_nanos(n * 1_000_000)
}

/// A consumer group with one instance, 10 ms constant processing.
fn consumer(
    name: &str,
    ack_mode: AckMode,
    delivery: DeliveryMode,
    prefetch: u32,
) -> ConsumerConfig {
    let mut c = ConsumerConfig::new(name);
    c.ack_mode = ack_mode;
    c.delivery = delivery;
    c.prefetch = prefetch;
    c.processing = DurationDist::Constant(ms(10));
    c
}

fn listener(ack_mode: AckMode, prefetch: u32) -> ConsumerConfig {
    consumer("c", ack_mode, DeliveryMode::Listener, prefetch)
}

fn receiver(ack_mode: AckMode, prefetch: u32) -> ConsumerConfig {
    consumer("c", ack_mode, DeliveryMode::Receive, prefetch)
}

/// `messages` sent as a burst at t = 0, zero network latency, default broker.
fn scenario(messages: u64, consumers: Vec<ConsumerConfig>) -> Scenario {
    Scenario {
        name: "t".to_string(),
        seed: 7,
        until: Some(SimDuration::from_secs(3600)),
        network: NetworkConfig {
            latency: DurationDist::Constant(SimDuration::ZERO),
        },
        broker: BrokerConfig::default(),
        producers: vec![ProducerConfig {
            name: "p".to_string(),
            messages,
            arrival: Arrival::Burst,
            start_at: SimDuration::ZERO,
            send: Default::default(),
            groups: None,
            time_to_live: None,
            priority: 4,
        }],
        consumers,
    }
}

fn with_latency(mut s: Scenario, latency: SimDuration) -> Scenario {
    s.network.latency = DurationDist::Constant(latency);
    s
}

fn crash(point: CrashPoint, restart_after: Option<SimDuration>) -> Option<CrashConfig> {
    Some(CrashConfig {
        point,
        restart_after,
    })
}

fn poison(ids: &[u64], handling: FailureHandling) -> FailureConfig {
    FailureConfig {
        probability: 0.0,
        poison: ids.to_vec(),
        handling,
    }
}

fn run_traced(s: &Scenario) -> (RunOutcome, Vec<TraceRecord>) {
    let mut trace: Vec<TraceRecord> = Vec::new();
    let out = run(s, Some(&mut trace)).expect("the run must not fail");
    assert!(
        out.summary.conserves_messages(),
        "conservation: {:?}",
        out.summary
    );
    (out, trace)
}

fn summary_of(s: &Scenario) -> RunSummary {
    run_traced(s).0.summary
}

fn of_kind(trace: &[TraceRecord], kind: TraceKind) -> impl Iterator<Item = &TraceRecord> {
    trace.iter().filter(move |r| r.kind == kind)
}

/// (message, redelivery counter, time) of every delivery to the application of `consumer`.
fn deliveries(trace: &[TraceRecord], consumer: usize) -> Vec<(MessageId, u32, SimTime)> {
    of_kind(trace, TraceKind::Delivered)
        .filter(|r| r.consumer == Some(consumer))
        .map(|r| (r.message.unwrap(), r.redelivery_counter.unwrap(), r.time))
        .collect()
}

fn delivered_ids(trace: &[TraceRecord], consumer: usize) -> Vec<MessageId> {
    deliveries(trace, consumer)
        .into_iter()
        .map(|d| d.0)
        .collect()
}

/// Times at which `message` was handed to an application.
fn delivery_times(trace: &[TraceRecord], message: MessageId) -> Vec<SimTime> {
    of_kind(trace, TraceKind::Delivered)
        .filter(|r| r.message == Some(message))
        .map(|r| r.time)
        .collect()
}

/// (first, last, count, time) of every ack of `ack_type` the broker applied.
fn acks(
    trace: &[TraceRecord],
    ack_type: AckType,
) -> Vec<(Option<MessageId>, MessageId, u32, SimTime)> {
    of_kind(trace, TraceKind::AckReceived)
        .filter(|r| r.ack_type == Some(ack_type))
        .map(|r| {
            (
                r.first_message,
                r.message.unwrap(),
                r.count.unwrap(),
                r.time,
            )
        })
        .collect()
}

fn ack_counts(trace: &[TraceRecord], ack_type: AckType) -> Vec<u32> {
    acks(trace, ack_type).into_iter().map(|a| a.2).collect()
}

fn range(ids: std::ops::RangeInclusive<MessageId>) -> Vec<MessageId> {
    ids.collect()
}

// ---------------------------------------------------------------------------------------------
// 1. AUTO: listener vs receive, crashes (A2.1, A2.3, A5.2)
// ---------------------------------------------------------------------------------------------

#[test]
fn a2_3_auto_listener_crash_after_k_redelivers_k_as_a_duplicate() {
    // 10 messages, prefetch 1000: all dispatched at once. The listener acks each message after
    // onMessage returns (A2.3). Crash right after the 4th processing, before its ack: acks for
    // 1..3 reached the broker; 4..10 are unacked and come back with counter 1 (A5.2) to the
    // restarted process. processed = 4 + 7 = 11, unique 10, duplicates 1 (message 4);
    // deliveries 4 + 7 = 11, redelivered 7; STANDARD acks 3 + 7 = 10; dispatched 10 + 7 = 17.
    let mut c = listener(AckMode::Auto, 1000);
    c.crash = crash(
        CrashPoint::AfterProcessed(4),
        Some(SimDuration::from_secs(1)),
    );
    let s = with_latency(scenario(10, vec![c]), us(100));
    let (out, trace) = run_traced(&s);
    let r = &out.summary;
    assert_eq!(
        (r.deliveries, r.redelivered, r.processed, r.unique_processed),
        (11, 7, 11, 10)
    );
    assert_eq!((r.duplicates, r.lost, r.in_flight, r.dlq), (1, 0, 0, 0));
    assert_eq!(
        (r.acks.standard, r.acks.total(), r.dispatched),
        (10, 10, 17)
    );
    assert_eq!(out.consumers[0].crashes, 1);
    // The restarted process sees 4..10, each flagged redelivered with counter 1.
    let d = deliveries(&trace, 0);
    assert_eq!(
        d[..4].iter().map(|x| (x.0, x.1)).collect::<Vec<_>>(),
        vec![(1, 0), (2, 0), (3, 0), (4, 0)]
    );
    assert_eq!(
        d[4..].iter().map(|x| (x.0, x.1)).collect::<Vec<_>>(),
        (4..=10).map(|i| (i, 1)).collect::<Vec<_>>()
    );
}

#[test]
fn a2_1_auto_receive_crash_after_k_no_duplicate() {
    // receive() runs BMC + AMC before returning: the ack of message 4 is sent before it is
    // processed (A2.1, A2.3) and reaches the broker before the connection drop (FIFO link).
    // Only 5..10 come back (counter 1): processed 4 + 6 = 10, no duplicate, no loss.
    let mut c = receiver(AckMode::Auto, 1000);
    c.crash = crash(
        CrashPoint::AfterProcessed(4),
        Some(SimDuration::from_secs(1)),
    );
    let s = with_latency(scenario(10, vec![c]), us(100));
    let (out, trace) = run_traced(&s);
    let r = &out.summary;
    assert_eq!(
        (r.deliveries, r.redelivered, r.processed, r.unique_processed),
        (10, 6, 10, 10)
    );
    assert_eq!((r.duplicates, r.lost, r.in_flight), (0, 0, 0));
    assert_eq!(r.acks.standard, 10);
    let d = deliveries(&trace, 0);
    assert_eq!(
        d[4..].iter().map(|x| (x.0, x.1)).collect::<Vec<_>>(),
        (5..=10).map(|i| (i, 1)).collect::<Vec<_>>()
    );
}

#[test]
fn a2_3_auto_listener_crash_during_k_redelivers_k_without_loss() {
    // Dies halfway through message 4: 1..3 acked, 4..10 redelivered (counter 1).
    // processed 3 + 7 = 10, deliveries 4 + 7 = 11, no duplicate, no loss.
    let mut c = listener(AckMode::Auto, 1000);
    c.crash = crash(
        CrashPoint::DuringProcessing(4),
        Some(SimDuration::from_secs(1)),
    );
    let s = with_latency(scenario(10, vec![c]), us(100));
    let (out, trace) = run_traced(&s);
    let r = &out.summary;
    assert_eq!(
        (r.deliveries, r.redelivered, r.processed, r.unique_processed),
        (11, 7, 10, 10)
    );
    assert_eq!(
        (r.duplicates, r.lost, r.in_flight, r.acks.standard),
        (0, 0, 0, 10)
    );
    assert_eq!(
        delivered_ids(&trace, 0),
        [range(1..=4), range(4..=10)].concat()
    );
}

#[test]
fn a2_1_auto_receive_crash_during_k_loses_k() {
    // receive() acked message 4 before the application started on it; the process dies halfway:
    // message 4 is gone without ever being processed (lost 1). 5..10 come back (counter 1).
    // processed 3 + 6 = 9, deliveries 4 + 6 = 10, STANDARD acks 4 + 6 = 10.
    let mut c = receiver(AckMode::Auto, 1000);
    c.crash = crash(
        CrashPoint::DuringProcessing(4),
        Some(SimDuration::from_secs(1)),
    );
    let s = with_latency(scenario(10, vec![c]), us(100));
    let (out, trace) = run_traced(&s);
    let r = &out.summary;
    assert_eq!(
        (r.deliveries, r.redelivered, r.processed, r.unique_processed),
        (10, 6, 9, 9)
    );
    assert_eq!(
        (r.duplicates, r.lost, r.in_flight, r.acks.standard),
        (0, 1, 0, 10)
    );
    assert_eq!(
        delivered_ids(&trace, 0),
        [range(1..=4), range(5..=10)].concat()
    );
}

#[test]
fn a5_2_auto_listener_crash_without_restart_leaves_the_rest_waiting() {
    // No restart and no other consumer: 4..10 wait in the broker (counter 1) forever.
    // Message 4 was processed (so it is not in flight); in_flight = 6 (5..10); stalled.
    let mut c = listener(AckMode::Auto, 1000);
    c.crash = crash(CrashPoint::AfterProcessed(4), None);
    let s = with_latency(scenario(10, vec![c]), us(100));
    let (out, trace) = run_traced(&s);
    let r = &out.summary;
    assert_eq!(
        (r.processed, r.unique_processed, r.in_flight, r.lost),
        (4, 4, 6, 0)
    );
    assert_eq!((r.acks.standard, r.dispatched), (3, 10));
    assert!(r.stalled);
    let dropped: Vec<_> = of_kind(&trace, TraceKind::ConnectionDropped)
        .map(|r| r.count)
        .collect();
    assert_eq!(dropped, vec![Some(7)]);
}

#[test]
fn a5_2_a7_7_surviving_consumer_gets_the_redeliveries_with_counter_one() {
    // 6 messages wait before anyone subscribes (consumers start at 1 ms). `a` subscribes first
    // and, with prefetch 10, takes all 6 (A7.7); `b` gets nothing. `a` processes 1 (1..11 ms)
    // and 2 (11..21 ms) and dies before acking 2. The broker hands 2..6, counter 1, to `b`,
    // which processes them at 21..71 ms. processed a 2 + b 5 = 7, duplicates 1 (message 2),
    // redelivered 5, STANDARD acks 1 + 5 = 6, makespan 71 ms.
    let mut a = consumer("a", AckMode::Auto, DeliveryMode::Listener, 10);
    a.start_at = ms(1);
    a.crash = crash(CrashPoint::AfterProcessed(2), None);
    let mut b = consumer("b", AckMode::Auto, DeliveryMode::Listener, 10);
    b.start_at = ms(1);
    let (out, trace) = run_traced(&scenario(6, vec![a, b]));
    let r = &out.summary;
    assert_eq!(
        (out.consumers[0].processed, out.consumers[1].processed),
        (2, 5)
    );
    assert_eq!(
        (r.processed, r.unique_processed, r.duplicates, r.redelivered),
        (7, 6, 1, 5)
    );
    assert_eq!((r.acks.standard, r.lost, r.in_flight), (6, 0, 0));
    assert_eq!(r.makespan_s, 0.071);
    let b_deliveries: Vec<_> = deliveries(&trace, 1)
        .into_iter()
        .map(|d| (d.0, d.1, d.2))
        .collect();
    let expected: Vec<_> = (2..=6)
        .map(|i| (i, 1, at_ms(21 + 10 * (i as u64 - 2))))
        .collect();
    assert_eq!(b_deliveries, expected);
    assert_eq!(
        (out.consumers[1].redelivered, out.consumers[1].duplicates),
        (5, 1)
    );
}

#[test]
fn a5_5_local_rollbacks_are_not_counted_by_the_broker() {
    // Message 1 always throws. Generation 1: deliveries at 0, 1010, 2020, 3030 ms (counters
    // 0..3, REDELIVERED acks at failures 2, 3, 4); the process dies at 3.5 s during the delay.
    // The broker's copy still has counter 0 -> +1 for the lost connection (A5.2, A5.5).
    // The restart at 4.5 s receives it with counter 1 (not 4) and needs 6 more failures:
    // deliveries at 4500, 5510, ..., 9550 ms (counters 1..6), REDELIVERED acks at the first 5
    // failures (pre-increment counter > 0 each time), POISON at 9560 ms.
    // deliveries 4 + 6 = 10, redelivered 3 + 6 = 9, REDELIVERED acks 3 + 5 = 8.
    let mut c = listener(AckMode::Auto, 10);
    c.failures = poison(&[1], FailureHandling::Throw);
    c.crash = crash(CrashPoint::At(ms(3500)), Some(ms(1000)));
    let (out, trace) = run_traced(&scenario(1, vec![c]));
    let d: Vec<_> = deliveries(&trace, 0)
        .into_iter()
        .map(|d| (d.1, d.2))
        .collect();
    let mut expected: Vec<_> = (0..4u64).map(|k| (k as u32, at_ms(1010 * k))).collect();
    expected.extend((0..6u64).map(|k| (k as u32 + 1, at_ms(4500 + 1010 * k))));
    assert_eq!(d, expected);
    let r = &out.summary;
    assert_eq!(
        (
            r.deliveries,
            r.redelivered,
            r.acks.redelivered,
            r.acks.poison,
            r.dlq
        ),
        (10, 9, 8, 1, 1)
    );
    assert_eq!(acks(&trace, AckType::Poison)[0].3, at_ms(9560));
}

// ---------------------------------------------------------------------------------------------
// 2. optimizeAcknowledge (A2.12, C1, C3)
// ---------------------------------------------------------------------------------------------

fn optimized(prefetch: u32) -> ConsumerConfig {
    let mut c = listener(AckMode::Auto, prefetch);
    c.optimize_ack = true;
    c.processing = DurationDist::Constant(ms(1));
    c
}

#[test]
fn a2_12_optimize_ack_one_standard_ack_per_7_consumed_at_prefetch_10() {
    // ackCounter + deliveredCounter >= 0.65 * 10 = 6.5 -> one STANDARD ack per 7 consumed.
    // Processing 1 ms, so even 76 messages finish long before the 300 ms timeout (never hit).
    // N messages -> floor(N / 7) acks of 7; the last N mod 7 (at most 6) stay unacked: the
    // idle consumer never re-evaluates the condition (A2.12, C1).
    for (n, expected_acks) in [(6u64, 0u64), (7, 1), (13, 1), (70, 10), (76, 10)] {
        let s = with_latency(scenario(n, vec![optimized(10)]), us(100));
        let (out, trace) = run_traced(&s);
        let r = &out.summary;
        assert_eq!(r.acks.standard, expected_acks, "N = {n}");
        assert_eq!(r.acks.total(), expected_acks, "N = {n}");
        assert!(
            ack_counts(&trace, AckType::Standard)
                .iter()
                .all(|&c| c == 7),
            "N = {n}"
        );
        assert_eq!(
            (r.processed, r.unique_processed, r.in_flight),
            (n, n, 0),
            "N = {n}"
        );
        // Unacked at the end: N - 7 * acks (up to 6), still in the broker's dispatched list.
        let acked: u64 = ack_counts(&trace, AckType::Standard)
            .iter()
            .map(|&c| c as u64)
            .sum();
        assert_eq!(n - acked, n % 7, "N = {n}");
    }
}

#[test]
fn a2_12_optimize_ack_timeout_is_only_checked_when_a_message_is_consumed() {
    // A slow producer: one message every 400 ms, timeout 300 ms, latency 100 us, 1 ms work.
    // Message k reaches the broker at send + 0.1 ms, the client at + 0.2 ms, and is consumed
    // at + 1.2 ms.
    //
    // Producer starting at 400 ms: message 1 is consumed at 401.2 ms >= 0 (consumer created) +
    // 300 ms -> acked alone; each next one 400 ms later is past the previous ack + 300 ms ->
    // every message is acked on its own: 5 acks of 1.
    let mut s = with_latency(scenario(5, vec![optimized(10)]), us(100));
    s.producers[0].arrival = Arrival::Constant { interval: ms(400) };
    s.producers[0].start_at = ms(400);
    let (out, trace) = run_traced(&s);
    assert_eq!(out.summary.acks.standard, 5);
    let times: Vec<_> = acks(&trace, AckType::Standard)
        .iter()
        .map(|a| (a.2, a.3))
        .collect();
    // ack k is sent at 400k + 1.2 ms and applied 0.1 ms later.
    let expected: Vec<_> = (1..=5u64)
        .map(|k| (1, at_us(400_000 * k + 1_300)))
        .collect();
    assert_eq!(times, expected);

    // Producer starting at 0: message 1 is consumed at 1.2 ms < 300 ms and ackCounter 1 < 6.5:
    // no ack, and no timer fires later. Message 2 (consumed at 401.2 ms) takes 1 and 2 in one
    // ack; then one ack each: 4 acks, counts [2, 1, 1, 1].
    s.producers[0].start_at = SimDuration::ZERO;
    let (out, trace) = run_traced(&s);
    assert_eq!(out.summary.acks.standard, 4);
    assert_eq!(ack_counts(&trace, AckType::Standard), vec![2, 1, 1, 1]);
}

#[test]
fn a2_12_a5_2_optimize_ack_crash_after_37_redelivers_exactly_36_to_45() {
    // Prefetch 10, optimizeAck, 50 messages, 1 ms each, latency 100 us; dies right after the
    // 37th processing (before its AMC). Acks went out after consumption 7, 14, 21, 28, 35:
    // 5 STANDARD acks covering 1..35, each 7 long. Each ack frees 7 slots of the 10-message
    // window (STANDARD acks contract the extension to 0), so after the 5th ack (applied at
    // ~35.9 ms, well before the crash at ~37.8 ms) the broker holds 36..45. Those 10 come
    // back with counter 1; 46..50 were never dispatched to the dead process.
    //
    // The restarted consumer takes 36..45 (redeliveries first, A5.1) then 46..50: 15 messages,
    // acks after its 7th and 14th (36..42, 43..49), message 50 stays unacked. Totals:
    // STANDARD 5 + 2 = 7, processed 37 + 15 = 52, duplicates 2 (36, 37), redelivered 10.
    let mut c = optimized(10);
    c.crash = crash(
        CrashPoint::AfterProcessed(37),
        Some(SimDuration::from_secs(1)),
    );
    let s = with_latency(scenario(50, vec![c]), us(100));
    let (out, trace) = run_traced(&s);
    let r = &out.summary;
    let dropped_at = of_kind(&trace, TraceKind::ConnectionDropped)
        .next()
        .unwrap()
        .time;
    let before: Vec<_> = acks(&trace, AckType::Standard)
        .into_iter()
        .filter(|a| a.3 < dropped_at)
        .map(|a| (a.0, a.1, a.2))
        .collect();
    assert_eq!(
        before,
        vec![
            (Some(1), 7, 7),
            (Some(8), 14, 7),
            (Some(15), 21, 7),
            (Some(22), 28, 7),
            (Some(29), 35, 7)
        ]
    );
    let redispatched: Vec<_> = of_kind(&trace, TraceKind::Dispatched)
        .filter(|r| r.redelivery_counter == Some(1))
        .map(|r| r.message.unwrap())
        .collect();
    assert_eq!(redispatched, range(36..=45));
    let dropped: Vec<_> = of_kind(&trace, TraceKind::ConnectionDropped)
        .map(|r| r.count)
        .collect();
    assert_eq!(dropped, vec![Some(10)]);
    assert_eq!(
        (
            r.acks.standard,
            r.processed,
            r.unique_processed,
            r.duplicates
        ),
        (7, 52, 50, 2)
    );
    assert_eq!(
        (
            r.deliveries,
            r.redelivered,
            r.dispatched,
            r.lost,
            r.in_flight
        ),
        (52, 10, 60, 0, 0)
    );
    let after: Vec<_> = acks(&trace, AckType::Standard)
        .into_iter()
        .filter(|a| a.3 > dropped_at)
        .map(|a| (a.0, a.1, a.2))
        .collect();
    assert_eq!(after, vec![(Some(36), 42, 7), (Some(43), 49, 7)]);
}

#[test]
fn c1_c3_optimize_ack_is_ignored_outside_auto() {
    // optimizeAcknowledge needs an AUTO_ACKNOWLEDGE session (MC constructor, A2.12):
    // DUPS_OK on a queue acks each message (C3), CLIENT acks as the application says.
    // 20 messages, prefetch 10, optimize_ack on.
    let mut dups = optimized(10);
    dups.ack_mode = AckMode::DupsOk;
    let r = summary_of(&with_latency(scenario(20, vec![dups]), us(100)));
    assert_eq!((r.acks.standard, r.acks.total()), (20, 20));

    let mut client = optimized(10);
    client.ack_mode = AckMode::Client;
    client.ack_every = 1;
    let r = summary_of(&with_latency(scenario(20, vec![client]), us(100)));
    assert_eq!(
        (r.acks.standard, r.acks.delivered, r.acks.total()),
        (20, 0, 20)
    );

    // Control: AUTO with optimize_ack -> floor(20 / 7) = 2 acks.
    let r = summary_of(&with_latency(scenario(20, vec![optimized(10)]), us(100)));
    assert_eq!(r.acks.standard, 2);
}

#[test]
fn a3_2_a2_12_optimize_ack_rollback_keeps_consumed_messages_out_of_the_redelivery() {
    // MC.rollback with optimizeAcknowledge removes consumed-but-unacked messages from
    // deliveredMessages first: `for (i = 0; i < deliveredMessages.size() && i < ackCounter;
    // i++) removeLast()` (the size shrinks as i grows).
    // Prefetch 10, 5 messages, message 5 always throws. 1..4 consumed (ackCounter 4 < 6.5, no
    // ack); 5 fails at 50 ms: delivered [1..5], the loop removes 1, 2, 3 (i = 0, 1, 2; at
    // i = 3 the size is 2) -> 4 and 5 are rolled back (counter 1), due at 1050 ms.
    // 4 is processed again (1050..1060, a duplicate); its AMC: ackCounter 5, but the timeout
    // has passed (1060 >= 0 + 300) -> STANDARD ack for [4] alone. 5 then fails 6 more times
    // (1 s apart) -> POISON [5] at the 7th failure. 1, 2, 3 are never acknowledged.
    // deliveries 5 + 1 + 6 = 12, redelivered 1 + 6 = 7, processed 5, duplicates 1, dlq 1,
    // STANDARD 1, REDELIVERED 5 (rollbacks 2..6), POISON 1.
    let mut c = optimized(10);
    c.processing = DurationDist::Constant(ms(10));
    c.failures = poison(&[5], FailureHandling::Throw);
    let (out, trace) = run_traced(&scenario(5, vec![c]));
    let r = &out.summary;
    assert_eq!(
        (
            r.deliveries,
            r.redelivered,
            r.processed,
            r.duplicates,
            r.dlq
        ),
        (12, 7, 5, 1, 1)
    );
    assert_eq!(
        (r.acks.standard, r.acks.redelivered, r.acks.poison),
        (1, 5, 1)
    );
    assert_eq!(
        acks(&trace, AckType::Standard)
            .iter()
            .map(|a| (a.0, a.1, a.2))
            .collect::<Vec<_>>(),
        vec![(Some(4), 4, 1)]
    );
    assert_eq!(delivery_times(&trace, 4), vec![at_ms(30), at_ms(1050)]);
    assert_eq!(
        delivery_times(&trace, 5),
        vec![
            at_ms(40),
            at_ms(1060),
            at_ms(2070),
            at_ms(3080),
            at_ms(4090),
            at_ms(5100),
            at_ms(6110)
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// 3. DELIVERED acks and the window (A2.6, A6.2, A6.3, C2)
// ---------------------------------------------------------------------------------------------

#[test]
fn a2_6_a6_3_client_that_never_acknowledges_widens_its_window_and_does_not_stall() {
    // CLIENT listener, ack_every 0, prefetch 10, 30 messages, 1 ms each, latency 100 us.
    // ackLater(DELIVERED) per consumed message; sent when deliveredCounter >= 0.5 * 10 = 5,
    // then reset: one DELIVERED(5) per 5 consumed -> 30 / 5 = 6. Each widens the window by 5
    // without removing anything, so all 30 get dispatched (max_unacked 30 > prefetch 10) and
    // processed; nothing is ever acknowledged, yet nothing stalls (C2).
    let mut c = listener(AckMode::Client, 10);
    c.ack_every = 0;
    c.processing = DurationDist::Constant(ms(1));
    let s = with_latency(scenario(30, vec![c]), us(100));
    let (out, trace) = run_traced(&s);
    let r = &out.summary;
    assert_eq!(
        (r.acks.delivered, r.acks.standard, r.acks.total()),
        (6, 0, 6)
    );
    assert_eq!(ack_counts(&trace, AckType::Delivered), vec![5; 6]);
    assert_eq!(
        (r.processed, r.unique_processed, r.in_flight, r.lost),
        (30, 30, 0, 0)
    );
    assert_eq!(out.consumers[0].max_unacked, 30);
    assert!(!r.stalled);
}

#[test]
fn a6_2_client_that_never_acknowledges_stalls_at_prefetch_without_extension() {
    // Same, with PolicyEntry.usePrefetchExtension=false: DELIVERED acks change nothing, the
    // window stays at 10. The 10 are processed (DELIVERED after the 5th and 10th), then nothing
    // more can ever be dispatched: stalled, 20 in flight.
    let mut c = listener(AckMode::Client, 10);
    c.ack_every = 0;
    c.processing = DurationDist::Constant(ms(1));
    let mut s = with_latency(scenario(30, vec![c]), us(100));
    s.broker.use_prefetch_extension = false;
    let (out, _) = run_traced(&s);
    let r = &out.summary;
    assert!(r.stalled);
    assert_eq!(
        (r.processed, r.in_flight, r.acks.delivered, r.dispatched),
        (10, 20, 2, 10)
    );
    assert_eq!(out.consumers[0].max_unacked, 10);
}

#[test]
fn a2_6_delivered_ack_threshold_is_half_the_prefetch() {
    // CLIENT, never acknowledges, 6 messages: a DELIVERED ack when deliveredCounter >= 0.5 * P.
    // P = 1 (0.5) and P = 2 (1.0): every message -> 6; P = 3 (1.5): every 2nd -> 3;
    // P = 10 (5): after the 5th only -> 1.
    for (prefetch, expected) in [(1u32, 6u64), (2, 6), (3, 3), (10, 1)] {
        let mut c = listener(AckMode::Client, prefetch);
        c.ack_every = 0;
        let r = summary_of(&scenario(6, vec![c]));
        assert_eq!(r.acks.delivered, expected, "prefetch {prefetch}");
        assert_eq!(r.processed, 6, "prefetch {prefetch}");
    }
}

// ---------------------------------------------------------------------------------------------
// 4. CLIENT and INDIVIDUAL acknowledge (A2.5, A2.7, A2.8)
// ---------------------------------------------------------------------------------------------

#[test]
fn a2_7_client_acknowledge_every_3_is_one_cumulative_standard_ack() {
    // CLIENT listener, ack_every 3, prefetch 10, 10 messages: acknowledge() after 3, 6, 9 ->
    // floor(10 / 3) = 3 STANDARD acks of 3; message 10 is processed but never acknowledged.
    // No DELIVERED ack: messages 1, 2 of each triple raise deliveredCounter to 2 < 5, and
    // acknowledge() resets it to max(0, 2 - 3) = 0.
    let mut c = listener(AckMode::Client, 10);
    c.ack_every = 3;
    let (out, trace) = run_traced(&scenario(10, vec![c]));
    let r = &out.summary;
    assert_eq!(
        (r.acks.standard, r.acks.delivered, r.acks.total()),
        (3, 0, 3)
    );
    assert_eq!(
        acks(&trace, AckType::Standard)
            .iter()
            .map(|a| (a.0, a.1, a.2))
            .collect::<Vec<_>>(),
        vec![(Some(1), 3, 3), (Some(4), 6, 3), (Some(7), 9, 3)]
    );
    assert_eq!((r.processed, r.unique_processed, r.in_flight), (10, 10, 0));
}

#[test]
fn a2_6_a2_7_client_acknowledge_every_3_with_prefetch_4_sends_delivered_in_between() {
    // Prefetch 4: threshold 0.5 * 4 = 2. Per triple: 1st -> deliveredCounter 1 (pending),
    // 2nd -> 2 >= 2 -> DELIVERED(2), counter 0; 3rd -> acknowledge() STANDARD(3), counter
    // max(0, 0 - 3) = 0. 9 messages -> 3 STANDARD + 3 DELIVERED.
    let mut c = listener(AckMode::Client, 4);
    c.ack_every = 3;
    let (out, trace) = run_traced(&scenario(9, vec![c]));
    let r = &out.summary;
    assert_eq!((r.acks.standard, r.acks.delivered), (3, 3));
    assert_eq!(ack_counts(&trace, AckType::Delivered), vec![2, 2, 2]);
    assert_eq!(ack_counts(&trace, AckType::Standard), vec![3, 3, 3]);
    assert_eq!(r.processed, 9);
}

#[test]
fn a2_5_client_receive_sends_delivered_before_processing_listener_does_not() {
    // CLIENT, ack_every 1, prefetch 2 (threshold 1), 5 messages.
    // receive(): AMC runs inside receive() while the message is still unacked ->
    // ackLater(DELIVERED) -> DELIVERED(1) per message, then the application's STANDARD:
    // 5 + 5. Listener: the application acknowledges inside onMessage, so AMC finds the message
    // gone from deliveredMessages -> no DELIVERED ack: 5 STANDARD only.
    let mut c = receiver(AckMode::Client, 2);
    c.ack_every = 1;
    let r = summary_of(&scenario(5, vec![c]));
    assert_eq!((r.acks.delivered, r.acks.standard), (5, 5));
    let mut c = listener(AckMode::Client, 2);
    c.ack_every = 1;
    let r = summary_of(&scenario(5, vec![c]));
    assert_eq!((r.acks.delivered, r.acks.standard), (0, 5));
}

#[test]
fn a2_8_individual_acknowledge_sends_one_individual_ack_per_message() {
    // Prefetch 1000. ack_every 1: 10 INDIVIDUAL acks (each inside onMessage, so AMC finds
    // nothing to ackLater). ack_every 3: after 3, 6, 9 -> 9 INDIVIDUAL acks, message 10 never
    // acknowledged; messages 1, 2 of each triple and 10 go through ackLater(DELIVERED), but
    // deliveredCounter only reaches 7 < 0.5 * 1000 -> no DELIVERED ack. No STANDARD ack.
    let mut c = listener(AckMode::Individual, 1000);
    c.ack_every = 1;
    let r = summary_of(&scenario(10, vec![c.clone()]));
    assert_eq!(
        (r.acks.individual, r.acks.standard, r.acks.delivered),
        (10, 0, 0)
    );
    c.ack_every = 3;
    let r = summary_of(&scenario(10, vec![c]));
    assert_eq!(
        (r.acks.individual, r.acks.standard, r.acks.delivered),
        (9, 0, 0)
    );
    assert_eq!((r.processed, r.in_flight), (10, 0));
}

#[test]
fn a2_8_individual_acknowledge_leaves_the_delivered_counter_alone() {
    // INDIVIDUAL, ack_every 2, prefetch 10, 10 messages. Odd messages are still unacked at
    // their AMC -> ackLater(DELIVERED); even ones acknowledge themselves and their predecessor
    // inside onMessage. MC.acknowledge(md) does not touch deliveredCounter, so it climbs
    // 1, 2, 3, 4, 5 at messages 1, 3, 5, 7, 9 -> one DELIVERED ack first 1, last 9, count 5.
    let mut c = listener(AckMode::Individual, 10);
    c.ack_every = 2;
    let (out, trace) = run_traced(&scenario(10, vec![c]));
    let r = &out.summary;
    assert_eq!(
        (r.acks.individual, r.acks.delivered, r.acks.standard),
        (10, 1, 0)
    );
    assert_eq!(
        acks(&trace, AckType::Delivered)
            .iter()
            .map(|a| (a.0, a.1, a.2))
            .collect::<Vec<_>>(),
        vec![(Some(1), 9, 5)]
    );
}

// Real ActiveMQ 5.17.2: an INDIVIDUAL application that acknowledges, in a batch, messages
// processed before a rollback makes the broker drop messages the client still holds for
// redelivery (MC.acknowledge(md) sends INDIVIDUAL for md whatever state md is in). A later
// REDELIVERED or POISON ack whose first message is gone does not correlate:
//     PrefetchSubscription.java:321-343  (REDELIVERED) if (!callDispatchMatched)
//                                        throw new JMSException("Could not correlate ...")
//     PrefetchSubscription.java:344-383  (POISON) same; nothing is removed if the first
//                                        message is not found
// Both acks are sent lazily (MC.rollback l. 1279, 1293 `session.sendAck(ack, true)` ->
// ActiveMQSession.sendAck l. 2246 asyncSendPacket), so the broker's exception goes through
// TransportConnection.service l. 359-361 -> serviceException l. 306-320: logged and sent to
// the client as an async ConnectionError; the connection and the consumer carry on.
// The model used to tolerate only an unmatched INDIVIDUAL ack and abort the run with
// SimError::Ack for the others; it now rejects them (counted in acks_rejected) and goes on.
#[test]
fn a3_3_an_uncorrelated_redelivered_ack_is_rejected_not_fatal() {
    // INDIVIDUAL listener, ack_every 3, prefetch 10, message 3 always throws, default policy.
    // Round 1: 1, 2 ok; 3 fails -> rollback [1, 2, 3] (counters 1).
    // Round 2: 1 ok -> the application acknowledges its three: 1, 2 (still pending local
    //   redelivery!) and 1 again (unmatched, ignored). 2 ok, 3 fails -> rollback [2, 3] ->
    //   REDELIVERED 2..3: 2 is gone from the broker -> rejected.
    // Round 3: 2 ok, 3 fails -> rollback [2, 3] -> REDELIVERED rejected again.
    // Round 4: 2 ok -> the application acknowledges 2, 2, 2 (all unmatched); 3 fails ->
    //   rollback [3], REDELIVERED [3] (matched). Rounds 5, 6: 3 alone; round 7: POISON [3].
    // deliveries 3 + 3 + 2 + 2 + 1 + 1 + 1 = 13, processed 6 (1, 2, 1, 2, 2, 2), duplicates 4,
    // dlq 1, INDIVIDUAL 6, REDELIVERED 5, POISON 1. Rejected: the REDELIVERED acks of rounds
    // 2 and 3, the second INDIVIDUAL for 1 (round 2) and the three for 2 (round 4) -> 6.
    let mut c = listener(AckMode::Individual, 10);
    c.ack_every = 3;
    c.failures = poison(&[3], FailureHandling::Throw);
    let (out, trace) = run_traced(&scenario(3, vec![c]));
    let r = &out.summary;
    assert_eq!(r.acks.rejected, 6);
    let rejected: Vec<_> = of_kind(&trace, TraceKind::AckRejected)
        .map(|r| (r.ack_type.unwrap(), r.first_message, r.message.unwrap()))
        .collect();
    assert_eq!(
        rejected,
        vec![
            (AckType::Individual, Some(1), 1),
            (AckType::Redelivered, Some(2), 3),
            (AckType::Redelivered, Some(2), 3),
            (AckType::Individual, Some(2), 2),
            (AckType::Individual, Some(2), 2),
            (AckType::Individual, Some(2), 2),
        ]
    );
    assert_eq!(
        (
            r.deliveries,
            r.processed,
            r.unique_processed,
            r.duplicates,
            r.dlq
        ),
        (13, 6, 2, 4, 1)
    );
    assert_eq!(
        (
            r.acks.individual,
            r.acks.redelivered,
            r.acks.poison,
            r.acks.delivered
        ),
        (6, 5, 1, 0)
    );
}

// ---------------------------------------------------------------------------------------------
// 5. DUPS_OK on a queue (A2.3, C3)
// ---------------------------------------------------------------------------------------------

#[test]
fn c3_dups_ok_on_a_queue_acks_every_message() {
    // isAutoAcknowledgeEach: DUPS_OK on a queue takes the AUTO path, one STANDARD ack per
    // message, for the listener and for receive().
    for c in [
        listener(AckMode::DupsOk, 1000),
        receiver(AckMode::DupsOk, 1000),
    ] {
        let (out, trace) = run_traced(&scenario(10, vec![c]));
        assert_eq!(
            (out.summary.acks.standard, out.summary.acks.total()),
            (10, 10)
        );
        assert_eq!(ack_counts(&trace, AckType::Standard), vec![1; 10]);
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Listener throws (A2.13, A3.1, A3.2)
// ---------------------------------------------------------------------------------------------

#[test]
fn a2_13_a3_2_throwing_listener_redelivers_locally_then_poisons_after_7_deliveries() {
    // One message that always throws, prefetch 10, processing 10 ms, zero latency, default
    // policy (max 6, 1 s delays). MC.rollback per failure k = 1..7: counter k-1 -> k; delay
    // initial 1 s (k = 1) or redeliveryDelay 1 s; REDELIVERED ack when the pre-increment
    // counter was > 0 (k = 2..6: 5 acks); at k = 7 the counter 7 > 6 -> one POISON ack.
    // Delivery k at (k-1) * 1010 ms with counter k-1; POISON at 6070 ms.
    // AUTO, DUPS_OK (on a queue) and INDIVIDUAL all roll back (MC.dispatch catch block).
    for mode in [AckMode::Auto, AckMode::DupsOk, AckMode::Individual] {
        let mut c = listener(mode, 10);
        c.failures = poison(&[1], FailureHandling::Throw);
        let (out, trace) = run_traced(&scenario(1, vec![c]));
        let r = &out.summary;
        assert_eq!(
            (r.deliveries, r.redelivered, r.processed, r.dlq, r.lost),
            (7, 6, 0, 1, 0),
            "{mode:?}"
        );
        assert_eq!(
            (
                r.acks.poison,
                r.acks.redelivered,
                r.acks.standard,
                r.acks.individual
            ),
            (1, 5, 0, 0),
            "{mode:?}"
        );
        let d: Vec<_> = deliveries(&trace, 0)
            .into_iter()
            .map(|d| (d.1, d.2))
            .collect();
        let expected: Vec<_> = (0..7u64).map(|k| (k as u32, at_ms(1010 * k))).collect();
        assert_eq!(d, expected, "{mode:?}");
        let p = acks(&trace, AckType::Poison);
        assert_eq!(
            (p[0].0, p[0].1, p[0].2, p[0].3),
            (Some(1), 1, 1, at_ms(6070)),
            "{mode:?}"
        );
        // REDELIVERED acks at the failures 2..6: 1020, 2030, 3040, 4050, 5060 ms.
        let times: Vec<_> = acks(&trace, AckType::Redelivered)
            .iter()
            .map(|a| a.3)
            .collect();
        assert_eq!(
            times,
            (2..=6u64)
                .map(|k| at_ms(1010 * k - 1000))
                .collect::<Vec<_>>(),
            "{mode:?}"
        );
    }
}

#[test]
fn a3_2_the_consumer_is_stopped_during_the_redelivery_delay() {
    // Message 1 always throws, message 2 is fine. unconsumedMessages.stop() holds message 2
    // in the buffer for the whole cycle: it is delivered only after the POISON at 6070 ms and
    // processed at 6080 ms.
    let mut c = listener(AckMode::Auto, 10);
    c.failures = poison(&[1], FailureHandling::Throw);
    let (out, trace) = run_traced(&scenario(2, vec![c]));
    assert_eq!(delivery_times(&trace, 2), vec![at_ms(6070)]);
    assert_eq!(out.summary.makespan_s, 6.08);
    assert_eq!(
        (
            out.summary.processed,
            out.summary.dlq,
            out.summary.acks.standard
        ),
        (1, 1, 1)
    );
}

#[test]
fn a3_1_exponential_back_off_multiplies_each_delay() {
    // maximumRedeliveries 3, useExponentialBackOff, multiplier 5: delays 1 s (initial),
    // 5 s, 25 s; the 4th failure takes the counter to 4 > 3 -> POISON.
    // Deliveries at 0, 10 + 1000 = 1010, 1020 + 5000 = 6020, 6030 + 25000 = 31030 ms;
    // POISON at 31040 ms; REDELIVERED acks at failures 2 and 3.
    let mut c = listener(AckMode::Auto, 10);
    c.failures = poison(&[1], FailureHandling::Throw);
    let mut s = scenario(1, vec![c]);
    s.broker.redelivery = RedeliveryPolicy {
        maximum_redeliveries: Some(3),
        use_exponential_backoff: true,
        ..RedeliveryPolicy::default()
    };
    let (out, trace) = run_traced(&s);
    assert_eq!(
        delivery_times(&trace, 1),
        vec![at_ms(0), at_ms(1010), at_ms(6020), at_ms(31030)]
    );
    assert_eq!(acks(&trace, AckType::Poison)[0].3, at_ms(31040));
    let r = &out.summary;
    assert_eq!(
        (
            r.deliveries,
            r.redelivered,
            r.acks.redelivered,
            r.acks.poison,
            r.dlq
        ),
        (4, 3, 2, 1, 1)
    );
}

#[test]
fn a3_2_first_redelivery_uses_the_initial_delay() {
    // initialRedeliveryDelay 100 ms, redeliveryDelay 2 s, max 2: failure 1 (counter 0) waits
    // 100 ms, failure 2 (counter 1) waits 2 s, failure 3 -> counter 3 > 2 -> POISON.
    // Deliveries at 0, 110, 2120 ms; POISON at 2130 ms.
    let mut c = listener(AckMode::Auto, 10);
    c.failures = poison(&[1], FailureHandling::Throw);
    let mut s = scenario(1, vec![c]);
    s.broker.redelivery = RedeliveryPolicy {
        maximum_redeliveries: Some(2),
        initial_redelivery_delay: ms(100),
        redelivery_delay: ms(2000),
        ..RedeliveryPolicy::default()
    };
    let (out, trace) = run_traced(&s);
    assert_eq!(
        delivery_times(&trace, 1),
        vec![at_ms(0), at_ms(110), at_ms(2120)]
    );
    assert_eq!(acks(&trace, AckType::Poison)[0].3, at_ms(2130));
    assert_eq!(
        (out.summary.acks.redelivered, out.summary.deliveries),
        (1, 3)
    );
}

#[test]
fn a2_13_client_listener_that_throws_loses_the_message_at_the_next_acknowledge() {
    // CLIENT, ack_every 1, message 2 throws: MC.dispatch calls AMC as if it succeeded
    // (ackLater DELIVERED, pending, prefetch 10) and delivers message 3, whose acknowledge()
    // covers 2 and 3. No redelivery: message 2 is lost. STANDARD acks [1], [2..3].
    let mut c = listener(AckMode::Client, 10);
    c.ack_every = 1;
    c.failures = poison(&[2], FailureHandling::Throw);
    let (out, trace) = run_traced(&scenario(3, vec![c]));
    let r = &out.summary;
    assert_eq!(
        (r.deliveries, r.redelivered, r.processed, r.lost, r.dlq),
        (3, 0, 2, 1, 0)
    );
    assert_eq!((r.acks.standard, r.acks.delivered), (2, 0));
    assert_eq!(
        acks(&trace, AckType::Standard)
            .iter()
            .map(|a| (a.0, a.1, a.2))
            .collect::<Vec<_>>(),
        vec![(Some(1), 1, 1), (Some(2), 3, 2)]
    );
}

#[test]
fn a2_13_transacted_listener_that_throws_commits_the_failed_message() {
    // Transacted, commit_every 1, message 2 throws: AMC does nothing in a transaction, no
    // redelivery; the commit after message 3 acks 2 and 3 -> message 2 lost.
    let mut c = listener(AckMode::Transacted, 10);
    c.commit_every = 1;
    c.failures = poison(&[2], FailureHandling::Throw);
    let (out, trace) = run_traced(&scenario(3, vec![c]));
    let r = &out.summary;
    assert_eq!(
        (r.deliveries, r.redelivered, r.processed, r.lost),
        (3, 0, 2, 1)
    );
    assert_eq!(ack_counts(&trace, AckType::Standard), vec![1, 2]);
    assert_eq!(of_kind(&trace, TraceKind::Committed).count(), 2);
}

#[test]
fn a2_1_receive_failures_are_invisible_to_the_client() {
    // receive() + an exception in the application: no client code sees it.
    // AUTO / DUPS_OK: the ack went out inside receive() -> message 2 lost, 3 STANDARD acks.
    for mode in [AckMode::Auto, AckMode::DupsOk] {
        let mut c = receiver(mode, 10);
        c.failures = poison(&[2], FailureHandling::Throw);
        let r = summary_of(&scenario(3, vec![c]));
        assert_eq!(
            (
                r.deliveries,
                r.redelivered,
                r.processed,
                r.lost,
                r.acks.standard
            ),
            (3, 0, 2, 1, 3),
            "{mode:?}"
        );
    }
    // CLIENT, ack_every 1: message 2 stays in deliveredMessages; the acknowledge() after 3
    // covers it -> lost.
    let mut c = receiver(AckMode::Client, 10);
    c.ack_every = 1;
    c.failures = poison(&[2], FailureHandling::Throw);
    let r = summary_of(&scenario(3, vec![c]));
    assert_eq!((r.processed, r.lost, r.acks.standard), (2, 1, 2));
    // INDIVIDUAL, ack_every 1: nobody ever acknowledges message 2 -> it stays in flight.
    let mut c = receiver(AckMode::Individual, 10);
    c.ack_every = 1;
    c.failures = poison(&[2], FailureHandling::Throw);
    let r = summary_of(&scenario(3, vec![c]));
    assert_eq!(
        (r.processed, r.lost, r.in_flight, r.acks.individual),
        (2, 0, 1, 2)
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Transacted sessions (A2.2, A2.9, A3.2, A3.4)
// ---------------------------------------------------------------------------------------------

#[test]
fn a2_9_transacted_commit_every_3_one_standard_ack_per_commit() {
    // commit_every 3, prefetch 10, 10 messages, 1 ms each, latency 100 us. Commits after 3, 6,
    // 9 -> 3 STANDARD (tx) acks of 3; message 10 processed, never committed. DELIVERED: BMC
    // ackLater per delivery, deliveredCounter reaches 3 < 5 and the commit resets it -> none.
    // The commit blocks the session for a round trip: message 3 is processed at
    // 0.2 + 3 * 1 = 3.2 ms, COMMIT applied at 3.3 ms, the answer back at 3.4 ms, when
    // message 4 is delivered.
    let mut c = listener(AckMode::Transacted, 10);
    c.commit_every = 3;
    c.processing = DurationDist::Constant(ms(1));
    let s = with_latency(scenario(10, vec![c]), us(100));
    let (out, trace) = run_traced(&s);
    let r = &out.summary;
    assert_eq!(
        (r.acks.standard, r.acks.delivered, r.acks.total()),
        (3, 0, 3)
    );
    assert_eq!(ack_counts(&trace, AckType::Standard), vec![3, 3, 3]);
    let committed: Vec<_> = of_kind(&trace, TraceKind::Committed)
        .map(|r| r.time)
        .collect();
    assert_eq!(committed[0], at_us(3_300));
    assert_eq!(delivery_times(&trace, 4), vec![at_us(3_400)]);
    assert_eq!(committed.len(), 3);
    assert_eq!((r.processed, r.unique_processed, r.in_flight), (10, 10, 0));
}

#[test]
fn a2_6_a2_9_transacted_sends_delivered_acks_at_half_the_prefetch() {
    // Prefetch 4 (threshold 2), commit_every 3, 9 messages: per transaction BMC of the 2nd
    // message sends DELIVERED(2); the 3rd leaves a pending DELIVERED that the commit discards.
    // -> 3 DELIVERED + 3 STANDARD.
    let mut c = listener(AckMode::Transacted, 4);
    c.commit_every = 3;
    let (out, trace) = run_traced(&scenario(9, vec![c]));
    assert_eq!(
        (out.summary.acks.standard, out.summary.acks.delivered),
        (3, 3)
    );
    assert_eq!(ack_counts(&trace, AckType::Delivered), vec![2, 2, 2]);
}

#[test]
fn a6_3_transacted_session_that_never_commits_keeps_widening_its_window() {
    // commit_every 0, prefetch 10, 30 messages: DELIVERED(5) per 5 deliveries -> 6, all 30
    // dispatched (max_unacked 30), no stall. Without the prefetch extension: 10 processed,
    // stalled with 20 in flight.
    let mut c = listener(AckMode::Transacted, 10);
    c.commit_every = 0;
    let (out, _) = run_traced(&scenario(30, vec![c.clone()]));
    let r = &out.summary;
    assert_eq!((r.acks.delivered, r.acks.standard, r.processed), (6, 0, 30));
    assert_eq!(out.consumers[0].max_unacked, 30);
    assert!(!r.stalled);
    let mut s = scenario(30, vec![c]);
    s.broker.use_prefetch_extension = false;
    let (out, _) = run_traced(&s);
    assert!(out.summary.stalled);
    assert_eq!((out.summary.processed, out.summary.in_flight), (10, 20));
}

/// Transacted listener, never commits, message 3 makes the application call
/// `session.rollback()`.
fn transacted_rollback_scenario(messages: u64, max_redeliveries: u32) -> Scenario {
    let mut c = listener(AckMode::Transacted, 10);
    c.commit_every = 0;
    c.failures = poison(&[3], FailureHandling::Rollback);
    let mut s = scenario(messages, vec![c]);
    s.broker.redelivery.maximum_redeliveries = Some(max_redeliveries);
    s
}

#[test]
fn a3_2_transacted_rollback_redelivers_the_whole_transaction() {
    // 3 messages, no commit, message 3 -> session.rollback(). Each round delivers 1, 2, 3
    // (10 ms each); the rollback (zero latency) rolls back [1, 2, 3]: every counter +1, 1 s
    // delay -> round k starts at (k-1) * 1030 ms. Round 7: counter 6 -> 7 > 6 -> POISON
    // [1..3] at 6210 ms. Messages 1 and 2 are processed 7 times each (processed 14, unique 2,
    // duplicates 12) — then dead-lettered anyway; 3 is the only never-processed DLQ message.
    // deliveries 21, redelivered 18, REDELIVERED acks 5 (rounds 2..6), POISON 1,
    // DELIVERED 0 (deliveredCounter never reaches 5).
    let (out, trace) = run_traced(&transacted_rollback_scenario(3, 6));
    let r = &out.summary;
    assert_eq!(
        (r.deliveries, r.redelivered, r.processed, r.unique_processed),
        (21, 18, 14, 2)
    );
    assert_eq!((r.duplicates, r.dlq, r.lost, r.in_flight), (12, 1, 0, 0));
    assert_eq!(
        (r.acks.redelivered, r.acks.poison, r.acks.delivered),
        (5, 1, 0)
    );
    assert_eq!(
        delivery_times(&trace, 1),
        (0..7u64).map(|k| at_ms(1030 * k)).collect::<Vec<_>>()
    );
    let p = acks(&trace, AckType::Poison);
    assert_eq!(
        (p[0].0, p[0].1, p[0].2, p[0].3),
        (Some(1), 3, 3, at_ms(6210))
    );
    assert_eq!(of_kind(&trace, TraceKind::DeadLettered).count(), 3);
}

// Real ActiveMQ 5.17.2: ActiveMQSession.rollback() -> TransactionContext.rollback(), which
// calls beforeEnd() *before* sending ROLLBACK:
//     TransactionContext.java:272  try { beforeEnd(); } ...
//     TransactionContext.java:281  TransactionInfo info = new TransactionInfo(..., ROLLBACK);
// beforeEnd() runs the consumer's synchronization registered in MC.registerSync():
//     ActiveMQMessageConsumer.java:1091  public void beforeEnd() { ... } else { acknowledge(); }
// and MC.acknowledge() (line 1125) sends a STANDARD ack with the transaction id for all
// deliveredMessages, sets pendingAck = null and deliveredCounter = max(0, deliveredCounter -
// size). Only then does afterRollback() -> MC.rollback() run, which subtracts the size again
// (line 1301 `deliveredCounter -= deliveredMessages.size()`), leaving it at -size.
// So each rollback of a non-empty transaction is one more STANDARD ack at the broker (applied
// in the transaction, undone by the ROLLBACK: PrefetchSubscription.registerRemoveSync
// afterRollback -> contractPrefetchExtension(1) per node). The model used to send ROLLBACK
// alone.
#[test]
fn a3_2_transacted_rollback_sends_a_transacted_standard_ack_before_rollback() {
    // Same run as above: 7 rollbacks, each preceded by STANDARD(tx) [1..3].
    let (out, trace) = run_traced(&transacted_rollback_scenario(3, 6));
    assert_eq!(out.summary.acks.standard, 7);
    assert_eq!(ack_counts(&trace, AckType::Standard), vec![3; 7]);
}

#[test]
fn a2_6_transacted_rollback_leaves_the_delivered_counter_at_minus_size() {
    // max redeliveries 0, 10 messages, prefetch 10 (DELIVERED threshold 5). Round 1: BMC 1, 2, 3
    // -> deliveredCounter 3 (no DELIVERED). Message 3 -> rollback:
    //   real: beforeEnd acknowledge(): STANDARD(tx) [1..3], counter max(0, 3 - 3) = 0;
    //         MC.rollback: counter 1 > 0 -> POISON [1..3], counter 0 - 3 = -3.
    //         Messages 4..10 take it to 4 < 5 -> no DELIVERED ack.
    //   (the model used to: no STANDARD; counter 3 - 3 = 0; DELIVERED(5) at message 8.)
    // Real: STANDARD 1, DELIVERED 0, POISON 1.
    let (out, _) = run_traced(&transacted_rollback_scenario(10, 0));
    let r = &out.summary;
    assert_eq!((r.acks.poison, r.dlq, r.processed), (1, 1, 9));
    assert_eq!((r.acks.standard, r.acks.delivered), (1, 0));
}

#[test]
fn a3_4_pre_dispatch_check_poisons_a_transacted_redelivery_without_delivering_it() {
    // maximumRedeliveries 0. A transacted consumer (commit_every 1) processes message 1 and
    // dies before committing: the broker takes 1, 2, 3 back with counter 1 (A5.2). After the
    // restart each arrives with counter 1 > 0 -> MC.redeliveryExceeded (transacted only) ->
    // POISON ack, never delivered. Message 1 was processed (it counts as processed); 2 and 3
    // are dead-lettered unprocessed: dlq 2, POISON acks 3, deliveries 1, no STANDARD ack.
    let mut c = listener(AckMode::Transacted, 10);
    c.commit_every = 1;
    c.crash = crash(
        CrashPoint::AfterProcessed(1),
        Some(SimDuration::from_secs(1)),
    );
    let mut s = scenario(3, vec![c]);
    s.broker.redelivery.maximum_redeliveries = Some(0);
    let (out, trace) = run_traced(&s);
    let r = &out.summary;
    assert_eq!(
        (r.deliveries, r.processed, r.dlq, r.lost, r.in_flight),
        (1, 1, 2, 0, 0)
    );
    assert_eq!((r.acks.poison, r.acks.standard, r.dispatched), (3, 0, 6));
    assert_eq!(
        acks(&trace, AckType::Poison)
            .iter()
            .map(|a| (a.0, a.1, a.2))
            .collect::<Vec<_>>(),
        vec![(Some(1), 1, 1), (Some(2), 2, 1), (Some(3), 3, 1)]
    );
}

#[test]
fn a3_4_non_transacted_consumers_get_exceeded_messages_and_poison_on_first_failure() {
    // Same crash with AUTO: no preDispatchCheck outside transactions. The restarted consumer
    // gets 1, 2, 3 with counter 1 and processes them: processed 1 + 3 = 4, duplicate 1.
    let mut c = listener(AckMode::Auto, 10);
    c.crash = crash(
        CrashPoint::AfterProcessed(1),
        Some(SimDuration::from_secs(1)),
    );
    let mut s = scenario(3, vec![c.clone()]);
    s.broker.redelivery.maximum_redeliveries = Some(0);
    let r = summary_of(&s);
    assert_eq!(
        (
            r.deliveries,
            r.redelivered,
            r.processed,
            r.duplicates,
            r.dlq,
            r.acks.poison
        ),
        (4, 3, 4, 1, 0, 0)
    );
    // If message 2 throws, its first rollback takes the counter 1 -> 2 > 0: POISON at once,
    // no REDELIVERED ack, no delay. processed 1 (gen 1) + 1, 3 = 3, dlq 1.
    c.failures = poison(&[2], FailureHandling::Throw);
    let mut s = scenario(3, vec![c]);
    s.broker.redelivery.maximum_redeliveries = Some(0);
    let r = summary_of(&s);
    assert_eq!(
        (r.deliveries, r.processed, r.unique_processed, r.dlq),
        (4, 3, 2, 1)
    );
    assert_eq!((r.acks.poison, r.acks.redelivered), (1, 0));
}

// ---------------------------------------------------------------------------------------------
// 8. session.recover() in CLIENT mode (A3.2)
// ---------------------------------------------------------------------------------------------

/// With no redelivery delay the rolled-back messages still come back through the session's
/// executor (`session.redispatch`), i.e. after `onMessage` has returned: the failed delivery's
/// afterMessageIsConsumed must not see (and acknowledge) its own redelivered copy.
/// `idle_with_backlog_s` charges an idle consumer only while a message waits in the broker or
/// in another consumer's buffer - never for messages still on the wire.
#[test]
fn idle_with_backlog_counts_waiting_messages_not_messages_on_the_wire() {
    // Prefetch 1000, fast (1 ms) and slow (10 ms), 4 messages at 1 ms after both subscribed,
    // zero latency: round robin gives fast 1 and 3, slow 2 and 4. Fast is done at 3 ms while
    // message 4 waits in slow's buffer until 11 ms: 8 ms of idle-with-backlog, all fast's.
    let mut fast = consumer("fast", AckMode::Auto, DeliveryMode::Listener, 1000);
    fast.processing = DurationDist::Constant(ms(1));
    let mut slow = consumer("slow", AckMode::Auto, DeliveryMode::Listener, 1000);
    slow.processing = DurationDist::Constant(ms(10));
    let mut s = scenario(4, vec![fast, slow]);
    s.producers[0].start_at = ms(1);
    let out = run_traced(&s).0;
    assert_eq!(out.summary.idle_with_backlog_s, 0.008);
    assert_eq!(out.consumers[0].idle_with_backlog_s, 0.008);
    assert_eq!(out.consumers[1].idle_with_backlog_s, 0.0);

    // Low load, long wire: one message every 100 ms, 10 ms each way, prefetch 1. Nothing ever
    // waits, although a message is always on the wire to someone.
    let mut a = listener(AckMode::Auto, 1);
    a.replicas = 2;
    let mut s = scenario(10, vec![a]);
    s.network.latency = DurationDist::Constant(ms(10));
    s.producers[0].arrival = Arrival::Constant { interval: ms(100) };
    assert_eq!(run_traced(&s).0.summary.idle_with_backlog_s, 0.0);
}

#[test]
fn a3_2_zero_redelivery_delay_redelivers_after_on_message_returns() {
    // AUTO listener, message 1 always fails, delays 0, maximumRedeliveries 2: deliveries at
    // 0, 10, 20 ms (counters 0, 1, 2); the 3rd rollback takes the counter to 3 > 2 -> POISON.
    // REDELIVERED at the 2nd rollback only. Then message 2 is processed and acknowledged.
    for handling in [FailureHandling::Throw, FailureHandling::Recover] {
        let mut c = listener(AckMode::Auto, 10);
        c.failures = poison(&[1], handling);
        let mut s = scenario(2, vec![c]);
        s.broker.redelivery.maximum_redeliveries = Some(2);
        s.broker.redelivery.initial_redelivery_delay = SimDuration::ZERO;
        s.broker.redelivery.redelivery_delay = SimDuration::ZERO;
        let (out, trace) = run_traced(&s);
        let r = &out.summary;
        assert_eq!(
            (r.deliveries, r.redelivered, r.processed, r.dlq, r.lost),
            (4, 2, 1, 1, 0),
            "{handling:?}"
        );
        assert_eq!(
            (r.acks.standard, r.acks.redelivered, r.acks.poison),
            (1, 1, 1),
            "{handling:?}"
        );
        assert_eq!(
            delivery_times(&trace, 1),
            vec![at_ms(0), at_ms(10), at_ms(20)],
            "{handling:?}"
        );
    }
}

#[test]
fn a3_2_client_recover_redelivers_what_was_delivered_since_the_last_acknowledge() {
    // CLIENT listener, ack_every 2, message 4 -> session.recover(). 1, 2 processed,
    // acknowledge() [1, 2]; 3 processed (not yet acknowledged); 4 fails at 40 ms -> recover
    // rolls back [3, 4] (counters 1), due 1040 ms, and the application restarts its batch.
    // Every round then processes 3 again (a duplicate, the batch's 1st message, so never
    // acknowledged) and fails on 4 -> recover [3, 4] again, 1 s later each time; from the 2nd
    // rollback on with a REDELIVERED [3, 4]. At the 7th failure the counters pass 6 and the
    // POISON ack covers [3, 4]: the already-processed message 3 is dead-lettered with 4.
    // deliveries 4 + 6 x 2 = 16, redelivered 12, processed 3 + 6 = 9, duplicates 6, dlq 1 (3
    // counts as processed), STANDARD [1..2] only, REDELIVERED 5, POISON 1 of count 2.
    let mut c = listener(AckMode::Client, 10);
    c.ack_every = 2;
    c.failures = poison(&[4], FailureHandling::Recover);
    let (out, trace) = run_traced(&scenario(4, vec![c]));
    let r = &out.summary;
    assert_eq!(
        (
            r.deliveries,
            r.redelivered,
            r.processed,
            r.duplicates,
            r.dlq
        ),
        (16, 12, 9, 6, 1)
    );
    assert_eq!(
        (
            r.acks.standard,
            r.acks.redelivered,
            r.acks.poison,
            r.acks.delivered
        ),
        (1, 5, 1, 0)
    );
    assert_eq!(
        acks(&trace, AckType::Standard)
            .iter()
            .map(|a| (a.0, a.1, a.2))
            .collect::<Vec<_>>(),
        vec![(Some(1), 2, 2)]
    );
    assert_eq!(
        acks(&trace, AckType::Poison)
            .iter()
            .map(|a| (a.0, a.1, a.2))
            .collect::<Vec<_>>(),
        vec![(Some(3), 4, 2)]
    );
    // Each round: 10 ms for 3, 10 ms for 4, then the 1 s redelivery delay.
    let rounds: Vec<SimTime> = (0..7).map(|k| at_ms(20 + 1020 * k)).collect();
    assert_eq!(delivery_times(&trace, 3), rounds);
}

#[test]
fn a3_2_client_recover_without_acknowledge_redelivers_everything_delivered() {
    // ack_every 0, message 2 -> recover(): every round re-delivers [1, 2] (1020 ms apart);
    // at the 7th failure POISON [1, 2]. Message 1 processed 7 times (duplicates 6), message 2
    // dead-lettered. deliveries 14, redelivered 12, REDELIVERED 5, POISON 1.
    let mut c = listener(AckMode::Client, 10);
    c.ack_every = 0;
    c.failures = poison(&[2], FailureHandling::Recover);
    let (out, trace) = run_traced(&scenario(2, vec![c]));
    let r = &out.summary;
    assert_eq!(
        (
            r.deliveries,
            r.redelivered,
            r.processed,
            r.duplicates,
            r.dlq
        ),
        (14, 12, 7, 6, 1)
    );
    assert_eq!(
        (
            r.acks.redelivered,
            r.acks.poison,
            r.acks.standard,
            r.acks.delivered
        ),
        (5, 1, 0, 0)
    );
    assert_eq!(
        delivery_times(&trace, 1),
        (0..7u64).map(|k| at_ms(1020 * k)).collect::<Vec<_>>()
    );
    let p = acks(&trace, AckType::Poison);
    assert_eq!((p[0].0, p[0].1, p[0].2), (Some(1), 2, 2));
}

// ---------------------------------------------------------------------------------------------
// 9. Prefetch 0: pull (A1.5)
// ---------------------------------------------------------------------------------------------

#[test]
fn a1_5_prefetch_0_receive_gets_one_message_per_pull() {
    // AUTO receive, prefetch 0, 5 messages, latency 100 us: each receive() pulls one message;
    // the ack (sent inside receive()) is applied before the next pull. dispatched = deliveries
    // = 5, at most one unacked, 5 pulls.
    let s = with_latency(scenario(5, vec![receiver(AckMode::Auto, 0)]), us(100));
    let (out, trace) = run_traced(&s);
    let r = &out.summary;
    assert_eq!(
        (r.dispatched, r.deliveries, r.processed, r.acks.standard),
        (5, 5, 5, 5)
    );
    assert_eq!(out.consumers[0].max_unacked, 1);
    // Five pulls got a message; the application's 6th receive() blocks with a pull armed.
    assert_eq!(of_kind(&trace, TraceKind::Pull).count(), 6);
    // Message 2 is pulled when message 1's processing ends (0.2 + 10 ms), dispatched 0.1 ms
    // later and delivered at 10.4 ms.
    assert_eq!(delivery_times(&trace, 2), vec![at_us(10_400)]);
}

#[test]
fn a1_5_prefetch_0_second_consumer_gets_work() {
    // Two prefetch-0 receivers, 4 messages, latency 100 us. At 0.1 ms both pulls arrive:
    // c-0's pull takes message 1; c-1's pull stays armed and takes message 2 when it arrives.
    // Both finish at 10.2 ms and pull again: c-0 gets 3, c-1 gets 4.
    let mut c = receiver(AckMode::Auto, 0);
    c.replicas = 2;
    let s = with_latency(scenario(4, vec![c]), us(100));
    let (out, trace) = run_traced(&s);
    assert_eq!(
        (out.consumers[0].processed, out.consumers[1].processed),
        (2, 2)
    );
    assert_eq!(delivered_ids(&trace, 0), vec![1, 3]);
    assert_eq!(delivered_ids(&trace, 1), vec![2, 4]);
    assert_eq!((out.summary.dispatched, out.summary.deliveries), (4, 4));
}

// Real ActiveMQ 5.17.2, ActiveMQMessageConsumer:
//     receive():            sendPullCommand(0); MessageDispatch md = dequeue(-1);   (l. 581-582)
//     sendPullCommand():    if (info.getCurrentPrefetchSize() == 0 && unconsumedMessages.isEmpty())
//                               { ... session.asyncSendPacket(messagePull); }        (l. 907-911)
//     rollback():           unconsumedMessages.stop(); the rolled-back dispatches wait in a
//                           local `pendingSessionRedelivery` list for redeliveryDelay
//                           (l. 1296-1357), they are not in unconsumedMessages.
// So after a recover()/rollback() the application's next receive() finds the channel empty
// and sends a MessagePull *during* the redelivery delay; the broker dispatches the next message
// to this consumer at once (it then waits in the stopped channel behind the rolled-back one).
// The model used to send no pull while the consumer was stopped, so the next message was
// dispatched only after the rolled-back one was resolved (at 1020 ms below).
#[test]
fn a1_5_prefetch_0_receive_pulls_the_next_message_during_the_redelivery_delay() {
    // CLIENT receive, prefetch 0, message 1 -> recover(), max 1 redelivery, zero latency.
    // Message 1 fails at 10 ms; the application's next receive() pulls at once, so message 2
    // is dispatched at 10 ms (the model: only after the POISON at 1020 ms).
    let mut c = receiver(AckMode::Client, 0);
    c.ack_every = 1;
    c.failures = poison(&[1], FailureHandling::Recover);
    let mut s = scenario(2, vec![c]);
    s.broker.redelivery.maximum_redeliveries = Some(1);
    let (_, trace) = run_traced(&s);
    let dispatched_2: Vec<_> = of_kind(&trace, TraceKind::Dispatched)
        .filter(|r| r.message == Some(2))
        .map(|r| r.time)
        .collect();
    assert_eq!(dispatched_2, vec![at_ms(10)]);
}

// ---------------------------------------------------------------------------------------------
// 10. Consumer selection: hoarding vs balance (A7.2, A7.4, A7.7)
// ---------------------------------------------------------------------------------------------

/// fast (10 ms), mid (23 ms), slow (37 ms), all starting at `start`, 12 messages at t = 0.
fn three_unequal(prefetch: u32, start: SimDuration) -> Scenario {
    let groups = [("fast", 10), ("mid", 23), ("slow", 37)]
        .into_iter()
        .map(|(name, work)| {
            let mut c = consumer(name, AckMode::Auto, DeliveryMode::Listener, prefetch);
            c.processing = DurationDist::Constant(ms(work));
            c.start_at = start;
            c
        })
        .collect();
    scenario(12, groups)
}

#[test]
fn a7_7_prefetch_1000_the_first_subscriber_hoards_the_backlog() {
    // The 12 messages wait; at 1 ms fast subscribes first and takes all 12 (prefetch 1000);
    // mid and slow never get any. makespan 1 + 12 * 10 = 121 ms, Jain 1/3.
    let (out, _) = run_traced(&three_unequal(1000, ms(1)));
    let counts: Vec<_> = out.consumers.iter().map(|c| c.processed).collect();
    assert_eq!(counts, vec![12, 0, 0]);
    assert_eq!(out.summary.makespan_s, 0.121);
    assert!((out.summary.jain_fairness - 1.0 / 3.0).abs() < 1e-12);
}

#[test]
fn a7_4_prefetch_1_distributes_by_speed() {
    // Prefetch 1: the subscriptions at 1 ms take 1 (fast), 2 (mid), 3 (slow). Then each ack
    // frees one slot and only that consumer has room, so the next message goes to whoever
    // finishes first (times after 1 ms): fast 10 -> 4, fast 20 -> 5, mid 23 -> 6,
    // fast 30 -> 7, slow 37 -> 8, fast 40 -> 9, mid 46 -> 10, fast 50 -> 11, fast 60 -> 12.
    // fast 7 (1,4,5,7,9,11,12), mid 3 (2,6,10), slow 2 (3,8); the last completion is slow's
    // message 8 at 1 + 74 = 75 ms.
    let (out, trace) = run_traced(&three_unequal(1, ms(1)));
    let counts: Vec<_> = out.consumers.iter().map(|c| c.processed).collect();
    assert_eq!(counts, vec![7, 3, 2]);
    assert_eq!(delivered_ids(&trace, 0), vec![1, 4, 5, 7, 9, 11, 12]);
    assert_eq!(delivered_ids(&trace, 1), vec![2, 6, 10]);
    assert_eq!(delivered_ids(&trace, 2), vec![3, 8]);
    assert_eq!(out.summary.makespan_s, 0.075);
}

#[test]
fn a7_4_prefetch_1000_messages_arriving_after_subscription_go_round_robin() {
    // All three subscribe at t = 0, the burst comes at 1 ms: every consumer has room, so the
    // broker alternates fast, mid, slow -> 4 each whatever the speed; slow finishes its 4th at
    // 1 + 4 * 37 = 149 ms.
    let mut s = three_unequal(1000, SimDuration::ZERO);
    s.producers[0].start_at = ms(1);
    let (out, trace) = run_traced(&s);
    let counts: Vec<_> = out.consumers.iter().map(|c| c.processed).collect();
    assert_eq!(counts, vec![4, 4, 4]);
    assert_eq!(delivered_ids(&trace, 2), vec![3, 6, 9, 12]);
    assert_eq!(out.summary.makespan_s, 0.149);
}

// ---------------------------------------------------------------------------------------------
// 11. Determinism
// ---------------------------------------------------------------------------------------------

fn random_scenario(seed: u64) -> Scenario {
    let mut a = consumer("a", AckMode::Auto, DeliveryMode::Listener, 5);
    a.replicas = 2;
    a.processing = DurationDist::Exponential { mean: ms(3) };
    a.failures = FailureConfig {
        probability: 0.2,
        poison: vec![],
        handling: FailureHandling::Throw,
    };
    a.crash = crash(CrashPoint::AfterProcessed(20), Some(ms(500)));
    let mut b = consumer("b", AckMode::Client, DeliveryMode::Receive, 3);
    b.ack_every = 2;
    b.processing = DurationDist::Exponential { mean: ms(5) };
    b.failures = FailureConfig {
        probability: 0.1,
        poison: vec![],
        handling: FailureHandling::Recover,
    };
    let mut s = scenario(200, vec![a, b]);
    s.seed = seed;
    s.network.latency = DurationDist::Exponential { mean: us(100) };
    s.producers[0].arrival = Arrival::Exponential { rate: 500.0 };
    s
}

#[test]
fn determinism_same_seed_gives_identical_summaries_and_traces() {
    let s = random_scenario(42);
    let (mut a, ta) = run_traced(&s);
    let (mut b, tb) = run_traced(&s);
    a.summary.wall_s = 0.0;
    b.summary.wall_s = 0.0;
    assert_eq!(a.summary, b.summary);
    assert_eq!(a.consumers, b.consumers);
    assert_eq!(ta, tb);
    assert!(a.summary.processed > 0 && a.summary.deliveries > a.summary.processed);
}

#[test]
fn determinism_another_seed_gives_another_run() {
    let (a, ta) = run_traced(&random_scenario(42));
    let (b, tb) = run_traced(&random_scenario(43));
    assert_ne!(ta, tb);
    assert_ne!(a.summary.makespan_s, b.summary.makespan_s);
    assert_eq!(a.summary.produced, b.summary.produced);
}

// ---------------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------------

mod properties {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestCaseError};
    use std::collections::{HashMap, HashSet};

    fn arb_mode() -> impl Strategy<Value = AckMode> {
        prop_oneof![
            Just(AckMode::Auto),
            Just(AckMode::Client),
            Just(AckMode::DupsOk),
            Just(AckMode::Transacted),
            Just(AckMode::Individual),
        ]
    }

    fn arb_duration(max_ms: u64) -> impl Strategy<Value = DurationDist> {
        prop_oneof![
            (0..=max_ms * 1000).prop_map(|u| DurationDist::Constant(us(u))),
            (1..=max_ms * 1000).prop_map(|u| DurationDist::Exponential { mean: us(u) }),
        ]
    }

    fn arb_crash() -> impl Strategy<Value = Option<CrashConfig>> {
        let point = prop_oneof![
            (1u64..=15).prop_map(CrashPoint::AfterProcessed),
            (1u64..=15).prop_map(CrashPoint::DuringProcessing),
            (0u64..=3000).prop_map(|t| CrashPoint::At(ms(t))),
        ];
        let restart = prop_oneof![Just(None), (0u64..=2000).prop_map(|t| Some(ms(t)))];
        prop_oneof![
            Just(None),
            (point, restart).prop_map(|(point, restart_after)| Some(CrashConfig {
                point,
                restart_after
            })),
        ]
    }

    prop_compose! {
        fn arb_group()(
            mode in arb_mode(),
            receive in any::<bool>(),
            prefetch in 0u32..=20,
            optimize_ack in any::<bool>(),
            optimize_timeout in prop_oneof![Just(0u64), 1u64..=500],
            every in 0u32..=5,
            probability in prop_oneof![Just(0.0), Just(1.0), 0.0f64..=1.0],
            poison in proptest::collection::vec(1u64..=60, 0..3),
            alternative_handling in any::<bool>(),
            crash in arb_crash(),
            replicas in 1u32..=2,
            processing in arb_duration(20),
            start_at in 0u64..=100,
        ) -> ConsumerConfig {
            let mut c = ConsumerConfig::new("g");
            c.ack_mode = mode;
            c.delivery = if receive { DeliveryMode::Receive } else { DeliveryMode::Listener };
            // A listener needs prefetch >= 1 (setMessageListener throws with prefetch 0).
            c.prefetch = if receive { prefetch } else { prefetch.max(1) };
            c.optimize_ack = optimize_ack;
            c.optimize_ack_timeout = ms(optimize_timeout);
            c.ack_every = every;
            c.commit_every = every;
            c.processing = processing;
            let handling = match (alternative_handling, mode) {
                (false, _) => FailureHandling::Throw,
                (true, AckMode::Transacted) => FailureHandling::Rollback,
                (true, _) => FailureHandling::Recover,
            };
            c.failures = FailureConfig { probability, poison, handling };
            c.crash = crash;
            c.replicas = replicas;
            c.start_at = ms(start_at);
            c
        }
    }

    prop_compose! {
        fn arb_scenario()(
            seed in any::<u64>(),
            groups in proptest::collection::vec(arb_group(), 1..=3),
            messages in 0u64..=60,
            arrival in prop_oneof![
                Just(Arrival::Burst),
                (0u64..=50).prop_map(|t| Arrival::Constant { interval: ms(t) }),
                (10.0f64..=2000.0).prop_map(|rate| Arrival::Exponential { rate }),
            ],
            latency_us in 0u64..=200,
            uniform_latency in any::<bool>(),
            max_redeliveries in prop_oneof![Just(None), (0u32..=6).prop_map(Some)],
            exponential in any::<bool>(),
            use_prefetch_extension in any::<bool>(),
        ) -> Scenario {
            let mut groups = groups;
            for (i, g) in groups.iter_mut().enumerate() {
                g.name = format!("g{i}");
            }
            let mut s = scenario(messages, groups);
            s.seed = seed;
            s.until = Some(SimDuration::from_secs(120));
            s.producers[0].arrival = arrival;
            s.network.latency = if uniform_latency {
                DurationDist::Uniform { min: SimDuration::ZERO, max: us(latency_us) }
            } else {
                DurationDist::Constant(us(latency_us))
            };
            s.broker.redelivery = RedeliveryPolicy {
                maximum_redeliveries: max_redeliveries,
                initial_redelivery_delay: ms(100),
                redelivery_delay: ms(500),
                use_exponential_backoff: exponential,
                backoff_multiplier: 2.0,
                maximum_redelivery_delay: Some(SimDuration::from_secs(5)),
            };
            s.broker.use_prefetch_extension = use_prefetch_extension;
            s
        }
    }

    /// Replays the trace, tracking each consumer instance's connections (generations): the
    /// client side from `Started`, the broker side from `Subscribed` to `ConnectionDropped`.
    fn check_trace(
        s: &Scenario,
        out: &RunOutcome,
        trace: &[TraceRecord],
    ) -> Result<(), TestCaseError> {
        let n = s.consumer_instance_count();
        let mut broker_gen = vec![-1i64; n];
        let mut broker_live = vec![false; n];
        let mut client_gen = vec![-1i64; n];
        // (generation, message) -> broker counter at dispatch.
        let mut dispatched: Vec<HashMap<(i64, MessageId), u32>> = vec![HashMap::new(); n];
        let mut delivered: Vec<HashSet<(i64, MessageId)>> = vec![HashSet::new(); n];
        for r in trace {
            match r.kind {
                TraceKind::Subscribed => {
                    let c = r.consumer.unwrap();
                    broker_gen[c] += 1;
                    broker_live[c] = true;
                }
                TraceKind::ConnectionDropped => {
                    let c = r.consumer.unwrap();
                    prop_assert!(broker_live[c], "drop of a dead subscription: {r:?}");
                    broker_live[c] = false;
                }
                TraceKind::Started => client_gen[r.consumer.unwrap()] += 1,
                TraceKind::Dispatched => {
                    let c = r.consumer.unwrap();
                    prop_assert!(
                        broker_live[c],
                        "dispatch to a consumer without a subscription: {r:?}"
                    );
                    dispatched[c].insert(
                        (broker_gen[c], r.message.unwrap()),
                        r.redelivery_counter.unwrap(),
                    );
                }
                TraceKind::Delivered => {
                    let c = r.consumer.unwrap();
                    let key = (client_gen[c], r.message.unwrap());
                    let at_dispatch = dispatched[c].get(&key);
                    prop_assert!(
                        at_dispatch.is_some(),
                        "delivered without a dispatch on this connection: {r:?}"
                    );
                    prop_assert!(
                        r.redelivery_counter.unwrap() >= *at_dispatch.unwrap(),
                        "client counter below the broker's: {r:?}"
                    );
                    delivered[c].insert(key);
                }
                TraceKind::Processed | TraceKind::Failed => {
                    let c = r.consumer.unwrap();
                    prop_assert!(
                        delivered[c].contains(&(client_gen[c], r.message.unwrap())),
                        "processed without a delivery: {r:?}"
                    );
                }
                TraceKind::AckReceived => {
                    let c = r.consumer.unwrap();
                    prop_assert!(broker_live[c], "ack on a dead subscription: {r:?}");
                    let g = broker_gen[c];
                    for id in [Some(r.message.unwrap()), r.first_message]
                        .into_iter()
                        .flatten()
                    {
                        prop_assert!(
                            dispatched[c].contains_key(&(g, id)),
                            "ack names message {id} never dispatched to this connection: {r:?}"
                        );
                    }
                }
                _ => {}
            }
        }
        let sum = &out.summary;
        let count = |k: TraceKind| of_kind(trace, k).count() as u64;
        prop_assert_eq!(sum.dispatched, count(TraceKind::Dispatched));
        prop_assert_eq!(sum.deliveries, count(TraceKind::Delivered));
        prop_assert_eq!(sum.processed, count(TraceKind::Processed));
        prop_assert_eq!(sum.acks.total(), count(TraceKind::AckReceived));
        prop_assert!(count(TraceKind::AckSent) >= sum.acks.total());
        let redelivered = of_kind(trace, TraceKind::Delivered)
            .filter(|r| r.redelivery_counter > Some(0))
            .count();
        prop_assert_eq!(sum.redelivered, redelivered as u64);
        let processed: HashSet<MessageId> = of_kind(trace, TraceKind::Processed)
            .map(|r| r.message.unwrap())
            .collect();
        prop_assert_eq!(sum.unique_processed, processed.len() as u64);
        let dead: HashSet<MessageId> = of_kind(trace, TraceKind::DeadLettered)
            .map(|r| r.message.unwrap())
            .collect();
        prop_assert_eq!(sum.dlq, dead.difference(&processed).count() as u64);
        Ok(())
    }

    proptest! {
        #![proptest_config(Config { cases: 2000, failure_persistence: None, ..Config::default() })]

        #[test]
        fn random_small_scenarios_keep_every_invariant(s in arb_scenario()) {
            let mut trace: Vec<TraceRecord> = Vec::new();
            let out = run(&s, Some(&mut trace));
            prop_assert!(out.is_ok(), "run failed: {:?}", out.err());
            let out = out.unwrap();
            let sum = &out.summary;
            prop_assert!(sum.conserves_messages(), "{:?}", sum);
            prop_assert_eq!(sum.produced, s.total_messages().min(sum.produced));
            prop_assert!(sum.processed <= sum.deliveries);
            prop_assert!(sum.redelivered <= sum.deliveries);
            prop_assert_eq!(sum.duplicates, sum.processed - sum.unique_processed);
            for c in &out.consumers {
                prop_assert!(c.processed <= c.deliveries, "{:?}", c);
                prop_assert!(c.redelivered <= c.deliveries, "{:?}", c);
                prop_assert!(c.duplicates <= c.processed, "{:?}", c);
            }
            prop_assert_eq!(out.consumers.iter().map(|c| c.processed).sum::<u64>(), sum.processed);
            prop_assert_eq!(out.consumers.iter().map(|c| c.deliveries).sum::<u64>(), sum.deliveries);
            // A faithful client sends only acks the broker can correlate, with one exception:
            // an INDIVIDUAL application acknowledging, in batches of 2 or more, messages that a
            // rollback has meanwhile taken back (see a3_3_an_uncorrelated_..._not_fatal).
            let stale_individual_acks = s.consumers.iter().any(|c| {
                c.ack_mode == AckMode::Individual
                    && c.ack_every >= 2
                    && (c.failures.probability > 0.0 || !c.failures.poison.is_empty())
            });
            if !stale_individual_acks {
                prop_assert_eq!(sum.acks.rejected, 0);
            }
            check_trace(&s, &out, &trace)?;
        }

        /// The same random scenarios on a topic: every subscriber's copy has exactly one fate
        /// (`copies = unique_processed + lost + dlq + expired + in_flight`), every copy was
        /// owed to a subscriber, and the trace agrees with the counters.
        #[test]
        fn random_small_topic_scenarios_conserve_every_copy(
            s in arb_scenario(),
            durable in proptest::collection::vec(any::<bool>(), 3),
            policy_entry in any::<bool>(),
            limit in prop_oneof![Just(None), (0u32..=5).prop_map(Some)],
            persistent in any::<bool>(),
            broker_crash in prop_oneof![Just(None), (1u64..300, 1u64..300).prop_map(Some)],
        ) {
            use crate::model::config::{BrokerCrash, DestinationConfig, SubscriptionKind, TopicPolicy};
            let mut s = s;
            s.broker.destination = DestinationConfig::Topic(TopicPolicy {
                policy_entry,
                pending_message_limit: limit,
            });
            for (c, d) in s.consumers.iter_mut().zip(durable) {
                c.subscription = Some(if d { SubscriptionKind::Durable } else { SubscriptionKind::NonDurable });
            }
            s.producers[0].send = crate::model::config::SendConfig::activemq(persistent);
            s.broker.crash = broker_crash.map(|(at, after)| BrokerCrash {
                at: SimDuration::from_millis(at),
                restart_after: SimDuration::from_millis(after),
            });
            let mut trace: Vec<TraceRecord> = Vec::new();
            let out = run(&s, Some(&mut trace));
            prop_assert!(out.is_ok(), "run failed: {:?}", out.err());
            let out = out.unwrap();
            let sum = &out.summary;
            prop_assert!(sum.conserves_messages(), "{:?}", sum);
            let subscribers = s.consumer_instance_count() as u64;
            prop_assert_eq!(sum.copies + sum.missed, sum.produced * subscribers);
            prop_assert!(sum.discarded <= sum.copies);
            prop_assert_eq!(sum.duplicates, sum.processed - sum.unique_processed);
            prop_assert_eq!(out.consumers.iter().map(|c| c.processed).sum::<u64>(), sum.processed);
            // The trace checker follows connections by consumer restarts; a broker crash
            // reconnects consumers without one, so only the conservation laws apply then.
            if s.broker.crash.is_none() {
                check_trace(&s, &out, &trace)?;
            }
        }
    }
}
