//! Tests of the RocketMQ model: each rule on its own (allocation, ProcessQueue offsets and flow
//! control, delay levels, send-back), then small runs whose numbers were worked out by hand
//! from RocketMQ 4.9.7 before the run, with the arithmetic in a comment.
//!
//! Conventions of the run tests: message ids are 1-based in acceptance order; the network
//! latency is zero (every time is a sum of processing times, delays and timers), processing is
//! a constant 10 ms unless a test says otherwise, and the producer sends a burst at t = 0, one
//! message per queue round robin (message k is in queue (k − 1) mod queues).

use crate::engine::{SimDuration, SimTime};
use crate::metrics::RunSummary;
use crate::model::config::{
    Arrival, BrokerConfig, BrokerFlavor, ConsumerConfig, CrashConfig, CrashPoint, DurationDist,
    FailureConfig, NetworkConfig, ProducerConfig, Scenario,
};
use crate::model::producer::{SendConfig, SendFaults, SendPolicy};
use crate::model::trace::{TraceKind, TraceRecord};
use crate::model::{RunOutcome, run};

use super::QueueId;
use super::config::{ConsumeMode, MessageModel};
use super::offset_store::LocalOffsets;
use super::process_queue::{ProcessQueue, PulledMessage};
use super::rebalance::allocate_averagely;
use super::retry::{
    SendBackOutcome, broker_send_back, delay_of_level, orderly_suspend, total_retry_delay,
};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

pub(super) const fn ms(n: u64) -> SimDuration {
    SimDuration::from_millis(n)
}

pub(super) const fn secs(n: u64) -> SimDuration {
    SimDuration::from_secs(n)
}

pub(super) fn consumer(name: &str, replicas: u32) -> ConsumerConfig {
    let mut c = ConsumerConfig::new(name);
    c.replicas = replicas;
    c.processing = DurationDist::Constant(ms(10));
    c
}

/// `messages` sent as a burst at t = 0 to a topic of `queues` queues, zero latency.
pub(super) fn scenario(messages: u64, queues: u32, consumers: Vec<ConsumerConfig>) -> Scenario {
    let mut broker = BrokerConfig {
        flavor: BrokerFlavor::RocketMq,
        ..BrokerConfig::default()
    };
    broker.rocketmq.queues = queues;
    Scenario {
        name: "t".to_string(),
        seed: 7,
        until: None,
        network: NetworkConfig {
            latency: DurationDist::Constant(SimDuration::ZERO),
        },
        broker,
        producers: vec![ProducerConfig {
            name: "p".to_string(),
            messages,
            arrival: Arrival::Burst,
            start_at: SimDuration::ZERO,
            send: SendConfig {
                persistent: true,
                policy: SendPolicy::rocketmq_default(),
                faults: SendFaults::default(),
            },
            groups: None,
            time_to_live: None,
            priority: 4,
        }],
        consumers,
    }
}

fn poison(ids: &[u64]) -> FailureConfig {
    FailureConfig {
        probability: 0.0,
        poison: ids.to_vec(),
        ..FailureConfig::default()
    }
}

pub(super) fn run_traced(s: &Scenario) -> (RunOutcome, Vec<TraceRecord>) {
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

pub(super) fn times(trace: &[TraceRecord], kind: TraceKind) -> Vec<SimTime> {
    trace
        .iter()
        .filter(|r| r.kind == kind)
        .map(|r| r.time)
        .collect()
}

fn at_ms(n: u64) -> SimTime {
    SimTime::from(ms(n))
}

fn msg(offset: u64) -> PulledMessage {
    PulledMessage {
        id: offset as u32 + 1,
        queue_offset: offset,
        reconsume_times: 0,
        sent_at: SimTime::ZERO,
    }
}

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

/// AllocateMessageQueueAveragely: the first `queues mod consumers` consumers get one more,
/// contiguous runs; more consumers than queues leaves the last ones without a queue.
#[test]
fn b2_4_allocation_averagely() {
    let all = |q, n| {
        (0..n)
            .map(|i| allocate_averagely(q, n, i))
            .collect::<Vec<_>>()
    };
    // 4 / 3: mod 1 → consumer 0 gets 2 (0, 1), then 1 each from 2.
    assert_eq!(all(4, 3), vec![vec![0, 1], vec![2], vec![3]]);
    // 8 / 3: mod 2 → 3, 3 (0..=5), then 2 (6, 7).
    assert_eq!(all(8, 3), vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7]]);
    // 2 / 3: one each for the first two, none for the third.
    assert_eq!(all(2, 3), vec![vec![0], vec![1], vec![]]);
    assert_eq!(all(4, 1), vec![vec![0, 1, 2, 3]]);
}

/// B3.1: removeMessage returns the smallest offset still in the PQ; queueOffsetMax + 1 once
/// empty; nothing (−1) if it was empty already.
#[test]
fn b3_1_offset_is_smallest_still_in_process_queue() {
    let mut pq = ProcessQueue::default();
    pq.put(&[msg(10), msg(11), msg(12)]);
    assert_eq!(
        pq.remove(&[msg(11)]),
        Some(10),
        "10 is still being consumed"
    );
    assert_eq!(pq.remove(&[msg(10)]), Some(12));
    assert_eq!(pq.remove(&[msg(12)]), Some(13), "empty: queueOffsetMax + 1");
    assert_eq!(pq.remove(&[msg(12)]), None, "already empty: no update");
}

/// B3.1: the in-memory offset only increases on concurrent commits; orderly sets it.
#[test]
fn b3_1_local_offset_increase_only() {
    let q = QueueId::Topic(0);
    let mut offsets = LocalOffsets::default();
    offsets.update(q, 5, true);
    offsets.update(q, 3, true);
    assert_eq!(offsets.read(q), Some(5));
    offsets.update(q, 3, false);
    assert_eq!(offsets.read(q), Some(3));
}

/// B2.2: strict `>` on the message count (1000) and, concurrently only, on the span (2000).
#[test]
fn b2_2_flow_control_thresholds_are_strict() {
    let mut pq = ProcessQueue::default();
    pq.put(&(0..1000).map(msg).collect::<Vec<_>>());
    assert!(!pq.must_wait(1000, 2000, true), "1000 is not above 1000");
    pq.put(&[msg(1000)]);
    assert!(pq.must_wait(1000, 2000, true), "1001 is");
    let mut sparse = ProcessQueue::default();
    sparse.put(&[msg(0), msg(2000)]);
    assert!(
        !sparse.must_wait(1000, 2000, true),
        "span 2000 is not above 2000"
    );
    sparse.put(&[msg(2001)]);
    assert!(sparse.must_wait(1000, 2000, true), "span 2001 is");
    assert!(
        !sparse.must_wait(1000, 2000, false),
        "orderly ignores the span"
    );
}

/// B4.6: the delay table, clamped at level 18.
#[test]
fn b4_6_delay_levels() {
    assert_eq!(delay_of_level(1), secs(1));
    assert_eq!(delay_of_level(3), secs(10));
    assert_eq!(delay_of_level(5), secs(60));
    assert_eq!(delay_of_level(14), secs(600));
    assert_eq!(delay_of_level(18), secs(7200));
    assert_eq!(delay_of_level(25), secs(7200), "clamped to 18");
}

/// B4.2, B4.7: level 3 + reconsumeTimes; the 17th failed consumption (reconsumeTimes 16) is
/// dead-lettered; the 16 retries wait 10s+30s+(1..=10)m+20m+30m+1h+2h = 4h45m40s.
#[test]
fn b4_7_sixteen_retries_then_dlq_after_4h45m40s() {
    assert_eq!(
        broker_send_back(0, 16),
        SendBackOutcome::Retry {
            level: 3,
            delay: secs(10),
            reconsume_times: 1
        }
    );
    assert_eq!(
        broker_send_back(15, 16),
        SendBackOutcome::Retry {
            level: 18,
            delay: secs(7200),
            reconsume_times: 16
        }
    );
    assert_eq!(broker_send_back(16, 16), SendBackOutcome::DeadLetter);
    assert_eq!(total_retry_delay(16), secs(4 * 3600 + 45 * 60 + 40));
    assert_eq!(broker_send_back(0, 0), SendBackOutcome::DeadLetter);
}

/// B5.3: the suspend time is clamped to [10 ms, 30 s].
#[test]
fn b5_3_suspend_time_clamped() {
    assert_eq!(orderly_suspend(ms(1)), ms(10));
    assert_eq!(orderly_suspend(secs(1)), secs(1));
    assert_eq!(orderly_suspend(secs(60)), secs(30));
}

// ---------------------------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------------------------

/// 12 messages over 4 queues (3 each) to 3 instances: c-0 owns queues 0 and 1 (6 messages),
/// c-1 queue 2, c-2 queue 3 (3 each). All three register at t = 0 before anyone rebalances.
#[test]
fn b2_4_group_shares_queues_averagely() {
    let out = run_traced(&scenario(12, 4, vec![consumer("c", 3)])).0;
    let processed: Vec<u64> = out.consumers.iter().map(|c| c.processed).collect();
    assert_eq!(processed, vec![6, 3, 3]);
    assert_eq!(out.summary.duplicates, 0);
}

/// B3.2: offsets are persisted first at 10 s, then every 5 s. 8 messages over 4 queues, all
/// done at 10 ms; the pulls that follow are held by the broker and carry offset 0 (not sent):
/// nothing reaches the broker before 10 s. At 10 s the 5 queues (4 + %RETRY%) are committed,
/// at 15 s again (the 10 s commits were still on their way when the timer re-armed), then
/// the run is quiescent; the rebalance timer (0 s, 20 s) ends the run at 20 s. (The holds of
/// the pulls sent at 0 s end at the 15 s check, which runs first, the run already quiescent:
/// they stay held, no re-pull.)
#[test]
fn b3_2_offsets_persist_at_10s_then_every_5s() {
    let s = scenario(8, 4, vec![consumer("c", 1)]);
    let out = run_traced(&s).0;
    assert_eq!(out.summary.rocketmq.offset_commits, 10);
    assert_eq!(out.summary.end_s, 20.0);
    assert_eq!(out.summary.processed, 8);
    assert_eq!(out.summary.makespan_s, 0.010);
}

/// B3.3: one thread, processing 300 ms, 100 messages in one queue (all pulled at t = 0, then
/// the pull is held; its 15 s hold ends at 15 s, after the crash, so nothing is piggybacked).
/// Message k completes at 0.3·k s. At the 10 s
/// persist 33 are done → committed offset 33. The crash at 13 s (43 done, the 44th half
/// processed) loses the in-memory offset 43; the restart at 14 s resumes at offset 33 and
/// re-consumes messages 34..=43 (10 duplicates) and 44 (delivered before, never processed).
/// 67 messages from 14 s: the last completes at 14 + 67·0.3 = 34.1 s.
#[test]
fn b3_3_crash_reconsumes_from_last_persisted_offset() {
    let mut c = consumer("c", 1);
    c.processing = DurationDist::Constant(ms(300));
    c.rocketmq.consume_thread_min = 1;
    c.crash = Some(CrashConfig {
        point: CrashPoint::At(secs(13)),
        restart_after: Some(secs(1)),
    });
    let out = run_traced(&scenario(100, 1, vec![c])).0;
    let s = &out.summary;
    assert_eq!(
        (s.processed, s.unique_processed, s.duplicates),
        (110, 100, 10)
    );
    assert_eq!((s.deliveries, s.redelivered), (44 + 67, 11));
    assert_eq!((s.lost, s.in_flight), (0, 0));
    assert!((s.makespan_s - 34.1).abs() < 1e-9, "{}", s.makespan_s);
    assert_eq!(out.consumers[0].crashes, 1);
}

/// Same run, crash right after the 43rd processing (12.9 s): same window, offset 33 → 10
/// duplicates; the 44th was never delivered before.
#[test]
fn b3_3_crash_after_processed_reconsumes_window() {
    let mut c = consumer("c", 1);
    c.processing = DurationDist::Constant(ms(300));
    c.rocketmq.consume_thread_min = 1;
    c.crash = Some(CrashConfig {
        point: CrashPoint::AfterProcessed(43),
        restart_after: Some(secs(1)),
    });
    let s = summary_of(&scenario(100, 1, vec![c]));
    assert_eq!((s.processed, s.duplicates, s.redelivered), (110, 10, 10));
    // Restart at 13.9 s: 67 messages → 13.9 + 20.1 = 34.0 s.
    assert!((s.makespan_s - 34.0).abs() < 1e-9, "{}", s.makespan_s);
}

/// B2.4: c-1 joins at 1 s and takes queue 1 from c-0, which is processing message 2 (3 s
/// each). c-0's result at 3 s is discarded (no offset update); c-1 pulls queue 1 from its
/// committed offset 0 and processes message 2 again, 1 s → 4 s: one duplicate.
#[test]
fn b2_4_lost_queue_is_reconsumed_by_new_owner() {
    let mut c0 = consumer("a", 1);
    c0.processing = DurationDist::Constant(secs(3));
    let mut c1 = consumer("b", 1);
    c1.processing = DurationDist::Constant(secs(3));
    c1.start_at = secs(1);
    let out = run_traced(&scenario(2, 2, vec![c0, c1])).0;
    let s = &out.summary;
    assert_eq!((s.processed, s.unique_processed, s.duplicates), (3, 2, 1));
    assert_eq!(s.redelivered, 1);
    assert_eq!(s.makespan_s, 4.0);
    let processed: Vec<u64> = out.consumers.iter().map(|c| c.processed).collect();
    assert_eq!(processed, vec![2, 1]);
}

/// B4.2, B4.7: a message that always fails: attempt 0 at 0 s, retry k delivered 10 ms after
/// the previous failure plus level (k + 2)'s delay; the 17th failure (reconsumeTimes 16) goes
/// to %DLQ% at 17 × 10 ms + 4h45m40s = 17140.17 s.
#[test]
fn b4_7_reconsume_later_reaches_dlq_after_16_retries() {
    let mut c = consumer("c", 1);
    c.failures = poison(&[1]);
    let (out, trace) = run_traced(&scenario(1, 1, vec![c]));
    let s = &out.summary;
    assert_eq!((s.deliveries, s.redelivered, s.processed), (17, 16, 0));
    assert_eq!(s.rocketmq.retry_deliveries, 16);
    assert_eq!(s.rocketmq.sent_back, 17);
    assert_eq!((s.dlq, s.lost, s.in_flight), (1, 0, 0));
    assert_eq!(
        times(&trace, TraceKind::DeadLettered),
        vec![SimTime::from(secs(17140) + ms(170))]
    );
    let delivered = times(&trace, TraceKind::Delivered);
    assert_eq!(delivered[1], SimTime::from(secs(10) + ms(10)), "level 3");
    assert_eq!(delivered[2], SimTime::from(secs(40) + ms(20)), "level 4");
}

/// B4.2: max_reconsume_times 2 → 3 consumptions, then DLQ: 0 → 10.01 s → 40.02 s, DLQ at
/// 40.03 s.
#[test]
fn b4_2_max_reconsume_times_bounds_retries() {
    let mut c = consumer("c", 1);
    c.failures = poison(&[1]);
    c.rocketmq.max_reconsume_times = Some(2);
    let (out, trace) = run_traced(&scenario(1, 1, vec![c]));
    assert_eq!((out.summary.deliveries, out.summary.dlq), (3, 1));
    assert_eq!(
        times(&trace, TraceKind::DeadLettered),
        vec![SimTime::from(secs(40) + ms(30))]
    );
}

/// B5.2–B5.4: orderly, max_reconsume_times 2, message 1 of 3 always fails: attempts at 0,
/// 1.01 s, 2.02 s (each suspends the queue 1 s after its 10 ms), the third failure sends it
/// to the DLQ and commits; messages 2 and 3 follow at 2.04 s and 2.05 s.
#[test]
fn b5_orderly_suspends_then_dlq_after_max_plus_one() {
    let mut c = consumer("c", 1);
    c.failures = poison(&[1]);
    c.rocketmq.consume_mode = ConsumeMode::Orderly;
    c.rocketmq.max_reconsume_times = Some(2);
    let (out, trace) = run_traced(&scenario(3, 1, vec![c]));
    let s = &out.summary;
    assert_eq!((s.deliveries, s.redelivered, s.processed), (5, 2, 2));
    assert_eq!((s.dlq, s.rocketmq.sent_back), (1, 1));
    assert_eq!(
        times(&trace, TraceKind::Delivered),
        vec![at_ms(0), at_ms(1010), at_ms(2020), at_ms(2030), at_ms(2040)]
    );
    assert_eq!(s.makespan_s, 2.05);
}

/// B5.4: by default orderly retries forever, 1 s apart, blocking the queue: until 10 s
/// there are 10 attempts (at 0, 1.01, …, 9.09 s) and nothing is processed.
#[test]
fn b5_4_orderly_default_retries_forever() {
    let mut c = consumer("c", 1);
    c.failures = poison(&[1]);
    c.rocketmq.consume_mode = ConsumeMode::Orderly;
    let mut s = scenario(3, 1, vec![c]);
    s.until = Some(secs(10));
    let out = run_traced(&s).0;
    assert!(out.cut_by_until);
    let s = &out.summary;
    assert_eq!(
        (s.deliveries, s.processed, s.in_flight, s.dlq),
        (10, 0, 3, 0)
    );
}

/// B2.2: the count check is strict before a pull of 32, so with threshold 32 the PQ reaches
/// 32 + 32 = 64 (one thread of 1 s keeps it there until the run is cut). The consumer starts
/// at 1 s, when all 200 messages are stored, so every pull returns a full 32.
#[test]
fn b2_2_process_queue_reaches_threshold_plus_32() {
    let mut c = consumer("c", 1);
    c.processing = DurationDist::Constant(secs(1));
    c.rocketmq.consume_thread_min = 1;
    c.rocketmq.pull_threshold_for_queue = 32;
    c.start_at = secs(1);
    let mut s = scenario(200, 1, vec![c]);
    s.until = Some(secs(5));
    let out = run_traced(&s).0;
    assert_eq!(out.consumers[0].max_unacked, 64);
    // The span check stops at the first batch: offsets 0..=31 span 31 > 10.
    let mut c = consumer("c", 1);
    c.processing = DurationDist::Constant(secs(1));
    c.rocketmq.consume_thread_min = 1;
    c.rocketmq.consume_concurrently_max_span = 10;
    c.start_at = secs(1);
    let mut s = scenario(200, 1, vec![c]);
    s.until = Some(secs(5));
    assert_eq!(run_traced(&s).0.consumers[0].max_unacked, 32);
}

/// B4.5: BROADCASTING: each of 2 instances consumes all 4 messages; message 2 fails on both
/// and is dropped: 8 copies, 6 processed, 2 lost, nothing sent back.
#[test]
fn b4_5_broadcasting_drops_failures_per_copy() {
    let mut c = consumer("c", 2);
    c.failures = poison(&[2]);
    c.rocketmq.message_model = MessageModel::Broadcasting;
    let out = run_traced(&scenario(4, 2, vec![c])).0;
    let s = &out.summary;
    assert_eq!((s.produced, s.copies), (4, 8));
    assert_eq!((s.processed, s.unique_processed, s.duplicates), (6, 6, 0));
    assert_eq!(
        (s.lost, s.dlq, s.in_flight, s.rocketmq.sent_back),
        (2, 0, 0, 0)
    );
    let processed: Vec<u64> = out.consumers.iter().map(|c| c.processed).collect();
    assert_eq!(processed, vec![3, 3]);
}

/// consumeThreadMin is the pool size: 40 messages of 1 s on one queue with the default 20
/// threads take 2 s, with 10 threads 4 s.
#[test]
fn b2_1_consume_thread_min_is_the_pool_size() {
    let run_with = |threads| {
        let mut c = consumer("c", 1);
        c.processing = DurationDist::Constant(secs(1));
        c.rocketmq.consume_thread_min = threads;
        summary_of(&scenario(40, 1, vec![c])).makespan_s
    };
    assert_eq!(run_with(20), 2.0);
    assert_eq!(run_with(10), 4.0);
}

/// Same seed, same outputs; random failures and processing times stay conserved.
#[test]
fn random_runs_are_deterministic_and_conserve() {
    let mut c = consumer("c", 3);
    c.processing = DurationDist::Exponential { mean: ms(20) };
    c.failures.probability = 0.2;
    c.crash = Some(CrashConfig {
        point: CrashPoint::At(secs(3)),
        restart_after: Some(secs(2)),
    });
    let mut s = scenario(300, 4, vec![c]);
    s.producers[0].arrival = Arrival::Exponential { rate: 100.0 };
    s.network.latency = DurationDist::Exponential { mean: ms(1) };
    let a = summary_of(&s);
    let b = summary_of(&s);
    assert_eq!(
        (a.processed, a.duplicates, a.dlq, a.end_s),
        (b.processed, b.duplicates, b.dlq, b.end_s)
    );
    assert_eq!(a.unique_processed, 300);
    assert!(a.rocketmq.sent_back > 0);
}

/// Crash while processing the 3rd delivery (one thread, 100 ms each): delivered at 0.2 s, the
/// process dies at 0.25 s with 2 processed and nothing persisted (first persist at 10 s). The
/// restart at 1.25 s resumes at offset 0: all 5 again (2 duplicates), done at 1.75 s.
#[test]
fn b3_3_crash_during_processing_before_first_persist_replays_everything() {
    let mut c = consumer("c", 1);
    c.processing = DurationDist::Constant(ms(100));
    c.rocketmq.consume_thread_min = 1;
    c.crash = Some(CrashConfig {
        point: CrashPoint::DuringProcessing(3),
        restart_after: Some(secs(1)),
    });
    let s = summary_of(&scenario(5, 1, vec![c]));
    assert_eq!((s.processed, s.unique_processed, s.duplicates), (7, 5, 2));
    assert_eq!((s.deliveries, s.redelivered), (8, 3));
    assert_eq!(s.makespan_s, 1.75);
}

/// B3.2: the offset rides on every pull. One message every 100 ms, 10 ms each: every arrival
/// answers the held pull and the next pull carries the offset of everything done before it.
/// Message 51 arrives at 5.0 s; the pull sent then commits offset 50; the crash at 5.05 s
/// loses only message 51's commit, so the restart (6.05 s) re-consumes 1 message, not the 51
/// a 10 s persist alone would replay.
#[test]
fn b3_2_offset_piggybacked_on_pulls_narrows_the_crash_window() {
    let mut c = consumer("c", 1);
    c.crash = Some(CrashConfig {
        point: CrashPoint::At(ms(5050)),
        restart_after: Some(secs(1)),
    });
    let mut s = scenario(100, 1, vec![c]);
    s.producers[0].arrival = Arrival::Constant { interval: ms(100) };
    let s = summary_of(&s);
    assert_eq!(
        (s.processed, s.unique_processed, s.duplicates),
        (101, 100, 1)
    );
    assert_eq!(s.redelivered, 1);
}

/// The setup of `rocketmq-crash-reconsume-window.yaml` with a 60 s persist interval: 100
/// messages in one queue, one thread, 300 ms each, latency 1 ms (not zero: this test says
/// otherwise), crash at `crash_ms`, restart 1 s later.
fn long_poll_window(crash_ms: u64, persist: SimDuration) -> RunSummary {
    let mut c = consumer("c", 1);
    c.processing = DurationDist::Constant(ms(300));
    c.rocketmq.consume_thread_min = 1;
    c.rocketmq.persist_consumer_offset_interval = persist;
    c.crash = Some(CrashConfig {
        point: CrashPoint::At(ms(crash_ms)),
        restart_after: Some(secs(1)),
    });
    let mut s = scenario(100, 1, vec![c]);
    s.network.latency = DurationDist::Constant(ms(1));
    summary_of(&s)
}

/// B2.3, B3.2: the broker holds an empty pull at most 15 s, answering it at its first 5 s
/// check (from the broker's start at 0) at or after arrival + 15 s; the client re-pulls at
/// once and that pull commits its in-memory offset. Latency 1 ms: heartbeat 1 ms, rebalance
/// 2 ms, the four pulls (32, 32, 32, 4) reach the broker at 3, 5, 7, 9 ms; message k
/// completes at 0.004 + 0.3·k s, so n(t) = ⌊(t − 0.004) / 0.3⌋ are done at t. The next pull
/// reaches the broker at 0.011 s and is held: 0.011 + 15 = 15.011 s, so the checks at 5, 10,
/// 15 s keep it and the 20 s check answers it. The answer reaches the client at 20.001 s
/// (n = 66: the 66th completes at 19.804 s, the 67th at 20.104 s); the re-pull stores 66 at
/// 20.002 s. The persists come at 10 s (n = 33, stored 10.001 s) and 70 s.
/// - crash at 19.95 s: n = 66 done, committed 33 ⇒ 33 duplicates (no re-pull at 15.011 s);
/// - crash at 20.05 s: n = 66, committed 66 ⇒ 0 duplicates;
/// - crash at 25.05 s: n = 83 (the 84th, delivered at 24.904 s, is cut short), committed 66
///   ⇒ 17 duplicates (holding the pull forever left 33 committed: 50). The restart (26.05 s)
///   registers at 26.051 s, rebalances at 26.052 s, reads 66 and gets 67..100 at 26.054 s:
///   34 deliveries, 67..83 again and 84 redelivered; done at 26.054 + 34 × 0.3 = 36.254 s.
#[test]
fn b2_3_held_pull_answered_after_15s_and_its_re_pull_commits_the_offset() {
    let minute = secs(60);
    let s = long_poll_window(19_950, minute);
    assert_eq!((s.processed, s.duplicates), (133, 33));
    let s = long_poll_window(20_050, minute);
    assert_eq!((s.processed, s.duplicates, s.redelivered), (100, 0, 1));
    let s = long_poll_window(25_050, minute);
    assert_eq!(
        (s.processed, s.unique_processed, s.duplicates, s.lost),
        (117, 100, 17, 0)
    );
    assert_eq!((s.deliveries, s.redelivered), (84 + 34, 18));
    assert!((s.makespan_s - 36.254).abs() < 1e-9, "{}", s.makespan_s);
}

/// Same, persist every 3 s (10, 13, 16, 19, 22 s), crash at 21 s: n(21) = 69. The persist
/// at 19 s stored n = 63, the re-pull at 20.002 s 66 ⇒ 3 duplicates (6 without it).
#[test]
fn b3_2_a_long_poll_re_pull_commits_between_persists() {
    let s = long_poll_window(21_000, secs(3));
    assert_eq!((s.processed, s.duplicates, s.lost), (103, 3, 0));
}

/// The hold service of a restarted broker checks every 5 s from its own start. Zero latency,
/// one queue, one thread, 1 s per message, persist every 60 s (10 s, 70 s). Message 1 is sent
/// at 0 s, message 2 at 5 s. The broker dies at 1.5 s and is back at 2.5 s: the pull held
/// since 0 s (offset 1, no commit: in-memory offset 0) dies with it; its future fails at the
/// first scan (3 s + k·1 s) at or after 0 + 31 s = 31 s and the client pulls again at 32 s
/// (registered again by its heartbeat at 31 s). The persist at 10 s stored offset 1 (message
/// 1 done at 1 s). At 32 s the pull gets message 2 (done at 33 s) and the re-pull, carrying
/// 1, is held from 32 s: 32 + 15 = 47 s, the new broker's checks are at 2.5 + 5·k s, so it is
/// answered at 47.5 s and the next pull stores 2. The consumer dies at 48.5 s and restarts
/// at 49 s: it resumes at 2, no duplicate. (Checks counted from 0 s would answer at 50 s:
/// offset 1, message 2 consumed twice.)
#[test]
fn b2_3_a_restarted_broker_times_holds_from_its_own_start() {
    let mut c = consumer("c", 1);
    c.processing = DurationDist::Constant(secs(1));
    c.rocketmq.consume_thread_min = 1;
    c.rocketmq.persist_consumer_offset_interval = secs(60);
    c.crash = Some(CrashConfig {
        point: CrashPoint::At(ms(48_500)),
        restart_after: Some(ms(500)),
    });
    let mut s = scenario(2, 1, vec![c]);
    s.producers[0].arrival = Arrival::Constant { interval: secs(5) };
    s.broker.crash = Some(crate::model::config::BrokerCrash {
        at: ms(1500),
        restart_after: secs(1),
    });
    let s = summary_of(&s);
    assert_eq!(
        (s.produced, s.processed, s.duplicates, s.lost),
        (2, 2, 0, 0)
    );
    assert_eq!(s.makespan_s, 33.0);
}

// ---------------------------------------------------------------------------------------------
// Random small scenarios
// ---------------------------------------------------------------------------------------------

mod properties {
    use proptest::prelude::*;
    use proptest::test_runner::Config;

    use super::*;

    fn arb_crash() -> impl Strategy<Value = Option<CrashConfig>> {
        let point = prop_oneof![
            (1u64..20).prop_map(CrashPoint::AfterProcessed),
            (1u64..20).prop_map(CrashPoint::DuringProcessing),
            (0u64..3000).prop_map(|t| CrashPoint::At(ms(t))),
        ];
        let restart = prop_oneof![Just(None), (0u64..3000).prop_map(|t| Some(ms(t)))];
        prop_oneof![
            2 => Just(None),
            1 => (point, restart).prop_map(|(point, restart_after)| Some(CrashConfig { point, restart_after })),
        ]
    }

    fn arb_consumer(
        i: usize,
        mode: ConsumeMode,
        model: MessageModel,
    ) -> impl Strategy<Value = ConsumerConfig> {
        (
            1u32..3,
            0u64..30,
            0.0f64..0.4,
            proptest::collection::vec(1u64..30, 0..2),
            arb_crash(),
            prop_oneof![Just(None), (0u32..3).prop_map(Some)],
            1u32..4,
            1u32..3,
            prop_oneof![Just(1000u32), 1u32..40],
            0u64..500,
            prop::bool::weighted(0.2),
        )
            .prop_map(
                move |(
                    replicas,
                    proc_ms,
                    p,
                    poison,
                    crash,
                    max,
                    threads,
                    batch,
                    threshold,
                    start,
                    slow,
                )| {
                    let mut c = consumer(&format!("c{i}"), replicas);
                    c.processing = DurationDist::Exponential { mean: ms(proc_ms) };
                    if slow {
                        // Listeners of tens of seconds against a 1 min consume_timeout (B4.8).
                        c.processing = DurationDist::Exponential {
                            mean: ms(proc_ms * 2000),
                        };
                        c.rocketmq.consume_timeout = secs(60);
                    }
                    c.failures = FailureConfig {
                        probability: p,
                        poison,
                        ..FailureConfig::default()
                    };
                    c.crash = crash;
                    c.start_at = ms(start);
                    c.rocketmq.consume_mode = mode;
                    c.rocketmq.message_model = model;
                    c.rocketmq.max_reconsume_times = max;
                    c.rocketmq.consume_thread_min = threads;
                    c.rocketmq.consume_message_batch_max_size = batch;
                    c.rocketmq.pull_threshold_for_queue = threshold;
                    c
                },
            )
    }

    fn arb_scenario() -> impl Strategy<Value = Scenario> {
        let mode = prop_oneof![Just(ConsumeMode::Concurrently), Just(ConsumeMode::Orderly)];
        let model = prop_oneof![
            3 => Just(MessageModel::Clustering),
            1 => Just(MessageModel::Broadcasting),
        ];
        (mode, model)
            .prop_map(|(mode, model)| match model {
                MessageModel::Broadcasting => (ConsumeMode::Concurrently, model),
                MessageModel::Clustering => (mode, model),
            })
            .prop_flat_map(|(mode, model)| {
                (
                    0u64..40,
                    1u32..6,
                    0u64..3,
                    any::<u64>(),
                    arb_consumer(0, mode, model),
                    proptest::option::of(arb_consumer(1, mode, model)),
                )
            })
            .prop_map(|(messages, queues, latency_ms, seed, c0, c1)| {
                let mut s = scenario(messages, queues, std::iter::once(c0).chain(c1).collect());
                s.seed = seed;
                s.until = Some(secs(2 * 3600));
                s.network.latency = DurationDist::Exponential {
                    mean: ms(latency_ms),
                };
                s.producers[0].arrival = Arrival::Exponential { rate: 200.0 };
                s
            })
    }

    proptest! {
        #![proptest_config(Config { cases: 500, failure_persistence: None, ..Config::default() })]

        /// Conservation holds (the run checks it), the counts add up, and CLUSTERING never
        /// loses a message: every offset advances only past processed or sent-back messages.
        #[test]
        fn random_small_scenarios_keep_every_invariant(s in arb_scenario()) {
            let out = run(&s, None);
            prop_assert!(out.is_ok(), "run failed: {:?}", out.err());
            let out = out.unwrap();
            let sum = &out.summary;
            prop_assert!(sum.conserves_messages(), "{:?}", sum);
            prop_assert!(sum.processed <= sum.deliveries);
            prop_assert!(sum.redelivered <= sum.deliveries);
            prop_assert_eq!(sum.duplicates, sum.processed - sum.unique_processed);
            prop_assert_eq!(out.consumers.iter().map(|c| c.processed).sum::<u64>(), sum.processed);
            prop_assert_eq!(out.consumers.iter().map(|c| c.deliveries).sum::<u64>(), sum.deliveries);
            let model = s.consumers[0].rocketmq.message_model;
            if model == MessageModel::Clustering {
                prop_assert_eq!(sum.lost, 0, "{:?}", sum);
                prop_assert_eq!(sum.copies, sum.produced);
            } else {
                prop_assert_eq!(sum.dlq, 0);
                prop_assert_eq!(sum.rocketmq.retry_deliveries, 0);
            }
            let survivor = s.consumers.iter().any(|c| c.crash.is_none_or(|k| k.restart_after.is_some()));
            if !out.cut_by_until && survivor && model == MessageModel::Clustering {
                prop_assert_eq!(sum.in_flight, 0, "{:?}", sum);
            }
            let again = run(&s, None).unwrap().summary;
            prop_assert_eq!((again.processed, again.deliveries, again.events), (sum.processed, sum.deliveries, sum.events));
        }
    }
}

/// B2.4: a death is a membership change too. a owns queue 0 (messages 1, 3), b queue 1
/// (2, 4), 1 s each. b dies at 0.5 s for good; the broker sees its connection close and
/// notifies a, which takes queue 1 from its committed offset 0 and processes 2 and 4
/// (delivered to b before: redelivered) from 0.5 s to 1.5 s.
#[test]
fn b2_4_a_dead_consumers_queues_move_to_the_survivor() {
    let mut a = consumer("a", 1);
    a.processing = DurationDist::Constant(secs(1));
    let mut b = consumer("b", 1);
    b.processing = DurationDist::Constant(secs(1));
    b.crash = Some(CrashConfig {
        point: CrashPoint::At(ms(500)),
        restart_after: None,
    });
    let out = run_traced(&scenario(4, 2, vec![a, b])).0;
    let s = &out.summary;
    assert_eq!((s.processed, s.unique_processed, s.in_flight), (4, 4, 0));
    assert_eq!(s.redelivered, 2);
    assert_eq!(s.makespan_s, 1.5);
    let processed: Vec<u64> = out.consumers.iter().map(|c| c.processed).collect();
    assert_eq!(processed, vec![4, 0]);
}

/// Queue allocation leaves instances unevenly loaded: 3 queues for 2 instances ⇒ a owns
/// queues 0 and 1 (messages 1, 2, 4, 5), b queue 2 (3, 6); one thread, 1 s each. b is done
/// at 2 s; from 2 s to 3 s a still has a request waiting in its pool (its last one starts at
/// 3 s): b is idle with a backlog elsewhere for 1 s, a never.
#[test]
fn idle_with_backlog_counts_allocation_imbalance() {
    let mut c = consumer("c", 2);
    c.processing = DurationDist::Constant(secs(1));
    c.rocketmq.consume_thread_min = 1;
    let out = run_traced(&scenario(6, 3, vec![c])).0;
    let idle: Vec<f64> = out
        .consumers
        .iter()
        .map(|c| c.idle_with_backlog_s)
        .collect();
    assert_eq!(idle, vec![0.0, 1.0]);
    assert_eq!(out.summary.idle_with_backlog_s, 1.0);
    assert_eq!(out.summary.makespan_s, 4.0);
}

/// A dead instance's queue waits in the broker until the survivor is told. Latency 10 ms:
/// the messages are stored at 0.01 s, the heartbeats arrive at 0.01 s, the rebalances run at
/// 0.02 s, the pull answers arrive at 0.04 s: a is idle while stored messages wait for
/// 0.01 → 0.04 s (0.03 s). b takes 10 s for message 2 and dies at 0.5 s for good; the broker
/// sees the connection close at 0.51 s, a rebalances at 0.52 s and its answer for queue 1
/// arrives at 0.54 s: idle with backlog 0.5 → 0.54 s (0.04 s). 0.07 s in all.
#[test]
fn idle_with_backlog_counts_a_dead_owners_queue() {
    let a = consumer("a", 1);
    let mut b = consumer("b", 1);
    b.processing = DurationDist::Constant(secs(10));
    b.crash = Some(CrashConfig {
        point: CrashPoint::At(ms(500)),
        restart_after: None,
    });
    let mut s = scenario(2, 2, vec![a, b]);
    s.network.latency = DurationDist::Constant(ms(10));
    let out = run_traced(&s).0;
    assert_eq!(out.consumers[0].idle_with_backlog_s, 0.07);
    assert_eq!(out.summary.makespan_s, 0.55);
    assert_eq!(out.summary.processed, 2);
}

/// B4.8: consume_timeout 5m, max_reconsume_times 1, one message whose listener takes 20 min.
/// The cleaner runs at 5, 10, 15, 20 … min and needs strictly more than 5 min: at 10 min the
/// original (started at 0) is sent back at level 3 (rt 0 → retry at 10m10s with rt 1) and
/// leaves the PQ; the original still completes at 20 min. The retry copy, delivered at
/// 10m10s, is expired at 20 min (9m50s) and sent back with rt 1 ≥ 1 ⇒ %DLQ%; it too
/// completes, at 30m10s: a duplicate. 2 send-backs, 2 deliveries, 1 duplicate.
#[test]
fn b4_8_expired_consumption_is_sent_back_while_running() {
    let mut c = consumer("c", 1);
    c.processing = DurationDist::Constant(secs(20 * 60));
    c.rocketmq.consume_timeout = secs(5 * 60);
    c.rocketmq.max_reconsume_times = Some(1);
    let (out, trace) = run_traced(&scenario(1, 1, vec![c]));
    let s = &out.summary;
    assert_eq!((s.deliveries, s.processed, s.duplicates), (2, 2, 1));
    assert_eq!((s.rocketmq.sent_back, s.rocketmq.retry_deliveries), (2, 1));
    assert_eq!((s.dlq, s.lost, s.in_flight), (0, 0, 0));
    assert_eq!(
        times(&trace, TraceKind::Delivered),
        vec![SimTime::ZERO, SimTime::from(secs(610))]
    );
    assert_eq!(
        times(&trace, TraceKind::DeadLettered),
        vec![SimTime::from(secs(1200))]
    );
    assert_eq!(s.makespan_s, 1810.0);
}
