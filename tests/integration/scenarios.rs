//! Every shipped scenario produces the outcome its header comment promises.
//!
//! The numbers below are the "Expect:" lines of the files in `scenarios/`, computed by hand
//! from semantics.md; a change of the model that moves one of them must change the scenario's
//! explanation too.

use acksim::metrics::{ConsumerSummary, RunSummary};
use acksim::model::{RunOutcome, run};
use std::path::{Path, PathBuf};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn run_file(name: &str) -> RunOutcome {
    let path = scenarios_dir().join(name);
    let loaded = acksim::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    run(&loaded.scenario, None).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn consumer<'a>(out: &'a RunOutcome, name: &str) -> &'a ConsumerSummary {
    out.consumers
        .iter()
        .find(|c| c.consumer == name)
        .unwrap_or_else(|| panic!("no consumer {name}"))
}

/// (produced, processed, unique_processed, duplicates, lost, dlq, in_flight)
fn fates(s: &RunSummary) -> (u64, u64, u64, u64, u64, u64, u64) {
    (
        s.produced,
        s.processed,
        s.unique_processed,
        s.duplicates,
        s.lost,
        s.dlq,
        s.in_flight,
    )
}

fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
    (actual - expected).abs() <= tolerance
}

#[test]
fn quickstart_slow_consumer_crash_redelivers_what_it_held() {
    let out = run_file("quickstart.yaml");
    let s = &out.summary;
    assert_eq!(fates(s), (2000, 2001, 2000, 1, 0, 0, 0));
    assert_eq!(s.redelivered, 82);
    assert_eq!(consumer(&out, "slow-0").crashes, 1);
    assert_eq!(consumer(&out, "slow-0").max_unacked, 100);
    assert!(close(s.latency_p99_s, 1.8, 0.1), "p99 {}", s.latency_p99_s);
    assert!(consumer(&out, "fast-0").processed > 3 * consumer(&out, "slow-0").processed);
}

#[test]
fn crash_auto_listener_duplicates_the_processed_unacked_message() {
    let s = run_file("crash-auto-listener.yaml").summary;
    assert_eq!(fates(&s), (100, 101, 100, 1, 0, 0, 0));
    assert_eq!(s.redelivered, 10);
}

#[test]
fn crash_auto_receive_loses_the_message_acked_before_processing() {
    let s = run_file("crash-auto-receive.yaml").summary;
    assert_eq!(fates(&s), (100, 99, 99, 0, 1, 0, 0));
    assert_eq!(s.redelivered, 10);
}

#[test]
fn optimize_ack_batches_at_65_percent_and_replays_the_unacked_batch() {
    let s = run_file("optimize-ack-crash.yaml").summary;
    assert_eq!(fates(&s), (1000, 1010, 1000, 10, 0, 0, 0));
    assert_eq!(s.acks.standard, 15);
    assert_eq!(s.acks.total(), 15);
}

#[test]
fn client_never_acking_does_not_stall_with_prefetch_extension() {
    let out = run_file("client-never-acks.yaml");
    let s = &out.summary;
    assert_eq!(fates(s), (100, 100, 100, 0, 0, 0, 0));
    assert!(!s.stalled);
    assert_eq!((s.acks.standard, s.acks.delivered), (0, 20));
    assert_eq!(consumer(&out, "c-0").max_unacked, 100);
}

#[test]
fn client_never_acking_stalls_at_prefetch_without_extension() {
    let out = run_file("client-never-acks-no-extension.yaml");
    let s = &out.summary;
    assert_eq!(fates(s), (100, 10, 10, 0, 0, 0, 90));
    assert!(s.stalled);
    assert_eq!(s.acks.delivered, 2);
    assert_eq!(consumer(&out, "c-0").max_unacked, 10);
}

#[test]
fn dups_ok_on_a_queue_acks_every_message() {
    let s = run_file("dups-ok-queue.yaml").summary;
    assert_eq!(fates(&s), (200, 200, 200, 0, 0, 0, 0));
    assert_eq!((s.acks.standard, s.acks.delivered), (200, 0));
}

/// AUTO, DUPS_OK and INDIVIDUAL roll back a throwing listener: 7 deliveries, then the DLQ.
#[test]
fn listener_throws_redelivers_locally_then_dead_letters() {
    for file in [
        "listener-throws-auto.yaml",
        "listener-throws-dups-ok.yaml",
        "listener-throws-individual.yaml",
    ] {
        let s = run_file(file).summary;
        assert_eq!(fates(&s), (10, 9, 9, 0, 0, 1, 0), "{file}");
        assert_eq!((s.deliveries, s.redelivered), (16, 6), "{file}");
        assert_eq!((s.acks.redelivered, s.acks.poison), (5, 1), "{file}");
        let consumed = s.acks.standard + s.acks.individual;
        assert_eq!(consumed, 9, "{file}");
        assert!(close(s.makespan_s, 6.08, 0.01), "{file}: {}", s.makespan_s);
    }
}

/// CLIENT and transacted treat a throwing listener as consumed: the message is lost.
#[test]
fn listener_throws_loses_the_message_in_client_and_transacted_mode() {
    for file in [
        "listener-throws-client.yaml",
        "listener-throws-transacted.yaml",
    ] {
        let s = run_file(file).summary;
        assert_eq!(fates(&s), (10, 9, 9, 0, 1, 0, 0), "{file}");
        assert_eq!((s.deliveries, s.redelivered), (10, 0), "{file}");
        assert_eq!((s.acks.standard, s.acks.poison), (9, 0), "{file}");
    }
}

#[test]
fn poison_message_reaches_the_dlq_after_seven_deliveries_with_backoff() {
    let s = run_file("poison-to-dlq.yaml").summary;
    assert_eq!(fates(&s), (5, 4, 4, 0, 0, 1, 0));
    assert_eq!((s.deliveries, s.redelivered), (11, 6));
    assert_eq!((s.acks.poison, s.acks.redelivered), (1, 5));
    // Delays 1 + 2 + 4 + 8 + 16 + 32 s = 63 s before the last messages are processed.
    assert!(close(s.makespan_s, 63.05, 0.05), "{}", s.makespan_s);
}

#[test]
fn prefetch_1000_deals_the_backlog_evenly_whatever_the_speed() {
    let out = run_file("unequal-consumers-prefetch-1000.yaml");
    for name in ["fast-0", "medium-0", "slow-0"] {
        assert_eq!(consumer(&out, name).processed, 200, "{name}");
    }
    let s = &out.summary;
    assert_eq!(s.jain_fairness, 1.0);
    assert!(close(s.makespan_s, 2.0, 0.01), "{}", s.makespan_s);
    assert!(
        close(s.idle_with_backlog_s, 2.6, 0.05),
        "{}",
        s.idle_with_backlog_s
    );
}

#[test]
fn prefetch_1_sends_work_where_there_is_capacity() {
    let out = run_file("unequal-consumers-prefetch-1.yaml");
    let counts: Vec<u64> = ["fast-0", "medium-0", "slow-0"]
        .iter()
        .map(|n| consumer(&out, n).processed)
        .collect();
    assert_eq!(counts, vec![366, 155, 79]);
    let s = &out.summary;
    assert!(close(s.makespan_s, 0.81, 0.01), "{}", s.makespan_s);
    assert!(
        close(s.idle_with_backlog_s, 0.12, 0.01),
        "{}",
        s.idle_with_backlog_s
    );
    assert!(close(s.jain_fairness, 0.73, 0.01), "{}", s.jain_fairness);
}

/// Every scenario in `scenarios/` loads, states what to expect, and is checked above or in
/// `tune.rs` (the benchmark workload is exercised by `acksim bench`).
#[test]
fn every_shipped_scenario_documents_and_is_tested() {
    // The shipped tune scenario is tested with the other `acksim tune` tests.
    let this_file = [include_str!("scenarios.rs"), include_str!("tune.rs")].concat();
    let mut names: Vec<String> = std::fs::read_dir(scenarios_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 15, "{names:?}");
    for name in names {
        let text = std::fs::read_to_string(scenarios_dir().join(&name)).unwrap();
        acksim::scenario::load(&scenarios_dir().join(&name)).unwrap_or_else(|e| panic!("{e}"));
        if name == "bench-1m.yaml" {
            continue;
        }
        assert!(text.contains("# Expect:"), "{name} has no '# Expect:' line");
        assert!(
            this_file.contains(&format!("\"{name}\"")),
            "{name} is not tested here"
        );
    }
}

#[test]
fn prefetch_sweep_trades_balance_for_idle_time() {
    use std::sync::atomic::AtomicBool;
    let path = scenarios_dir().join("sweep-prefetch-balance.yaml");
    let plan = acksim::sweep::SweepPlan::load(&path, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((plan.cells.len(), plan.replicates), (4, 5));
    let runs: Vec<u64> = (0..plan.total_runs()).collect();
    let records = acksim::sweep::execute(&plan, &runs, 2, &AtomicBool::new(false), &|| {})
        .unwrap_or_else(|e| panic!("{e}"));
    // (makespan, idle_with_backlog, jain) means per cell, prefetch 1, 10, 100, 1000.
    let means: Vec<(f64, f64, f64)> = records
        .chunks(5)
        .map(|cell| {
            let mean =
                |f: fn(&RunSummary) -> f64| cell.iter().map(|r| f(&r.summary)).sum::<f64>() / 5.0;
            (
                mean(|s| s.makespan_s),
                mean(|s| s.idle_with_backlog_s),
                mean(|s| s.jain_fairness),
            )
        })
        .collect();
    let (first, last) = (means[0], means[3]);
    assert!(
        close(first.0, 0.8, 0.1) && close(last.0, 2.0, 0.15),
        "{means:?}"
    );
    assert!(
        close(first.1, 0.1, 0.1) && close(last.1, 2.6, 0.2),
        "{means:?}"
    );
    assert!(
        close(first.2, 0.7, 0.1) && close(last.2, 1.0, 0.01),
        "{means:?}"
    );
    assert!(
        means.windows(2).all(|w| w[0].1 < w[1].1 + 0.05),
        "{means:?}"
    );
}

/// Runs every run of a shipped sweep (2 threads) and returns the summaries in run order.
fn sweep_runs(file: &str) -> (acksim::sweep::SweepPlan, Vec<RunSummary>) {
    use std::sync::atomic::AtomicBool;
    let plan = acksim::sweep::SweepPlan::load(&scenarios_dir().join(file), None)
        .unwrap_or_else(|e| panic!("{e}"));
    let runs: Vec<u64> = (0..plan.total_runs()).collect();
    let records = acksim::sweep::execute(&plan, &runs, 2, &AtomicBool::new(false), &|| {})
        .unwrap_or_else(|e| panic!("{e}"));
    (plan, records.into_iter().map(|r| r.summary).collect())
}

/// Cells in grid order: prefetch [1, 10, 100, 1000] x optimize_ack [false, true] x ack_mode
/// [auto, dups_ok, client], 5 replicates each.
#[test]
fn crash_duplicates_sweep_follows_each_modes_ack_rule() {
    let (plan, runs) = sweep_runs("sweep-crash-duplicates.yaml");
    assert_eq!((plan.cells.len(), plan.replicates), (24, 5));
    for (cell, replicates) in runs.chunks(5).enumerate() {
        let (prefetch, optimize, mode) =
            ([1, 10, 100, 1000][cell / 6], cell / 3 % 2 == 1, cell % 3);
        let duplicates: Vec<u64> = replicates.iter().map(|s| s.duplicates).collect();
        let expected: Option<u64> = match (mode, optimize, prefetch) {
            (0, true, 1) => Some(1),
            (0, true, 10) => Some(6),
            (0, true, _) => None,
            (0 | 1, _, _) => Some(1),
            _ => Some(10),
        };
        match expected {
            Some(n) => assert!(
                duplicates.iter().all(|&d| d == n),
                "cell {cell}: {duplicates:?}"
            ),
            None => assert!(
                duplicates.iter().all(|&d| (1..=65).contains(&d)),
                "cell {cell}: {duplicates:?}"
            ),
        }
        assert!(replicates.iter().all(|s| s.lost == 0), "cell {cell}");
    }
}

/// Cells: ack_every [1, 5, 20, 100] x prefetch [1, 10, 50, 200], 3 replicates.
#[test]
fn client_ack_stalls_sweep_stalls_exactly_where_ack_every_exceeds_prefetch() {
    let (plan, runs) = sweep_runs("sweep-client-ack-stalls.yaml");
    assert_eq!((plan.cells.len(), plan.replicates), (16, 3));
    for (cell, replicates) in runs.chunks(3).enumerate() {
        let (ack_every, prefetch) = ([1, 5, 20, 100][cell / 4], [1, 10, 50, 200][cell % 4]);
        for s in replicates {
            assert_eq!(s.stalled, ack_every > prefetch, "cell {cell}");
            let processed = if ack_every > prefetch { prefetch } else { 500 };
            assert_eq!(s.processed, processed, "cell {cell}");
        }
    }
}

#[test]
fn topic_durable_subscriber_keeps_what_the_non_durable_one_misses_while_offline() {
    let out = run_file("topic-durable-vs-nondurable-offline.yaml");
    let s = &out.summary;
    assert_eq!((s.produced, s.copies, s.missed), (10, 16, 4));
    assert_eq!(fates(s), (10, 16, 16, 0, 0, 0, 0));
    assert_eq!(consumer(&out, "durable-0").processed, 10);
    assert_eq!(consumer(&out, "live-0").processed, 6);
    assert_eq!(consumer(&out, "durable-0").max_unacked, 4);
}

#[test]
fn topic_dups_ok_acks_every_half_prefetch_and_a_crash_replays_the_open_batch() {
    let out = run_file("topic-dups-ok-batching.yaml");
    let s = &out.summary;
    assert_eq!((s.produced, s.copies, s.missed), (230, 460, 0));
    assert_eq!(fates(s), (230, 480, 460, 20, 0, 0, 0));
    assert_eq!(
        (s.redelivered, s.acks.standard, s.acks.total()),
        (100, 4, 4)
    );
    let durable = consumer(&out, "durable-0");
    assert_eq!((durable.processed, durable.duplicates), (250, 20));
    assert_eq!((durable.max_unacked, durable.acks_sent), (100, 4));
    let live = consumer(&out, "live-0");
    assert_eq!(
        (live.processed, live.max_unacked, live.acks_sent),
        (230, 230, 0)
    );
}

#[test]
fn topic_pending_limit_dead_letters_persistent_and_drops_non_persistent_copies() {
    let s = run_file("topic-pending-limit-discard.yaml").summary;
    assert_eq!((s.produced, s.copies, s.discarded), (20, 20, 13));
    assert_eq!(fates(&s), (20, 7, 7, 0, 5, 8, 0));
}

#[test]
fn producer_retry_duplicates_are_counted_at_the_source() {
    let s = run_file("producer-retry-duplicates.yaml").summary;
    let send = &s.send;
    assert_eq!(
        (send.sent, send.attempts, send.failed, send.confirmed),
        (10, 20, 10, 0)
    );
    assert_eq!((send.duplicates, send.lost_at_send), (10, 0));
    assert_eq!(fates(&s), (20, 20, 20, 0, 0, 0, 0));
}

#[test]
fn broker_crash_loses_the_non_persistent_messages_it_held() {
    let s = run_file("broker-crash-nonpersistent-loss.yaml").summary;
    let send = &s.send;
    assert_eq!((send.sent, send.confirmed, send.unconfirmed), (20, 10, 10));
    assert_eq!(send.lost_at_send, 0);
    assert_eq!(fates(&s), (20, 16, 16, 0, 4, 0, 0));
}

#[test]
fn broker_crash_redelivers_unacked_persistent_messages_without_the_flag() {
    let s = run_file("broker-crash-persistent-redelivery.yaml").summary;
    assert_eq!(fates(&s), (8, 11, 8, 3, 0, 0, 0));
    assert_eq!((s.redelivered, s.send.confirmed), (0, 8));
}

#[test]
fn async_sends_during_a_broker_outage_are_lost_at_the_source() {
    let s = run_file("producer-async-send-broker-outage.yaml").summary;
    let send = &s.send;
    assert_eq!(
        (send.sent, send.confirmed, send.failed, send.unconfirmed),
        (12, 4, 3, 5)
    );
    assert_eq!(send.lost_at_send, 1);
    assert_eq!(fates(&s), (8, 6, 6, 0, 2, 0, 0));
}

#[test]
fn idempotent_consumer_suppresses_the_redelivered_side_effect() {
    let s = run_file("idempotent-consumer.yaml").summary;
    assert_eq!(fates(&s), (100, 100, 100, 0, 0, 0, 0));
    assert_eq!((s.duplicates_suppressed, s.redelivered), (1, 10));
}

#[test]
fn failover_hides_a_broker_outage_from_a_sync_producer() {
    let s = run_file("producer-failover-broker-outage.yaml").summary;
    let send = &s.send;
    assert_eq!((send.sent, send.confirmed, send.failed), (6, 6, 0));
    assert_eq!((send.duplicates, send.lost_at_send), (0, 0));
    assert_eq!(send.attempts, 19);
    assert_eq!(fates(&s), (6, 6, 6, 0, 0, 0, 0));
}

#[test]
fn slow_consumer_abort_hands_the_stuck_consumers_prefetch_to_the_other() {
    let out = run_file("slow-consumer-abort.yaml");
    let s = &out.summary;
    assert_eq!(fates(s), (20, 20, 20, 0, 0, 0, 0));
    assert_eq!(s.redelivered, 0);
    assert_eq!((s.acks.standard, s.acks.total()), (20, 20));
    assert_eq!(s.slow_consumer_aborts, 1);
    let stuck = consumer(&out, "stuck-0");
    assert_eq!((stuck.processed, stuck.aborted), (1, 1));
    assert_eq!(consumer(&out, "worker-0").processed, 19);
    assert_eq!(consumer(&out, "worker-0").aborted, 0);
    assert!(close(s.makespan_s, 101.0002, 1e-9), "{}", s.makespan_s);
    assert!(close(s.end_s, 120.0, 1e-9), "{}", s.end_s);
}

#[test]
fn slow_ack_consumer_abort_ignores_delivered_acks_and_redelivers_everything() {
    let out = run_file("slow-ack-consumer-abort.yaml");
    let s = &out.summary;
    assert_eq!(fates(s), (50, 100, 50, 50, 0, 0, 0));
    assert_eq!(s.redelivered, 50);
    assert_eq!((s.acks.delivered, s.acks.standard), (10, 50));
    assert_eq!(s.slow_consumer_aborts, 1);
    assert_eq!(consumer(&out, "lazy-0").aborted, 1);
    assert_eq!(consumer(&out, "backup-0").processed, 50);
    assert!(close(s.end_s, 90.0, 1e-9), "{}", s.end_s);
}

#[test]
fn priority_dispatch_fills_the_higher_priority_consumer_first() {
    let out = run_file("priority-dispatch.yaml");
    let s = &out.summary;
    assert_eq!(fates(s), (30, 30, 30, 0, 0, 0, 0));
    assert_eq!(consumer(&out, "high-0").processed, 18);
    assert_eq!(consumer(&out, "low-0").processed, 12);
    assert!(close(s.makespan_s, 1.396, 1e-9), "{}", s.makespan_s);
}

#[test]
fn exclusive_consumer_failover_hands_everything_to_the_standby() {
    let out = run_file("exclusive-consumer-failover.yaml");
    let s = &out.summary;
    assert_eq!(fates(s), (30, 30, 30, 0, 0, 0, 0));
    assert_eq!(s.redelivered, 10);
    assert_eq!(consumer(&out, "primary-0").processed, 10);
    assert_eq!(consumer(&out, "standby-0").processed, 20);
    assert!(close(s.makespan_s, 1.305, 1e-9), "{}", s.makespan_s);
}

#[test]
fn message_groups_stay_with_their_owner_and_move_when_it_leaves() {
    let out = run_file("message-groups.yaml");
    let s = &out.summary;
    assert_eq!(fates(s), (30, 30, 30, 0, 0, 0, 0));
    assert_eq!(s.redelivered, 5);
    assert_eq!(consumer(&out, "a-0").processed, 10);
    assert_eq!(consumer(&out, "b-0").processed, 15);
    assert_eq!(consumer(&out, "c-0").processed, 5);
    assert!(close(s.makespan_s, 1.155, 1e-9), "{}", s.makespan_s);
}

#[test]
fn message_ttl_expiry_in_the_broker_and_at_the_client() {
    let s = run_file("message-ttl-expiry.yaml").summary;
    assert_eq!(fates(&s), (20, 4, 4, 0, 0, 0, 0));
    assert_eq!(s.expired, 16);
    assert_eq!(
        (s.acks.expired, s.acks.standard, s.acks.total()),
        (9, 4, 13)
    );
    assert!(close(s.makespan_s, 1.4, 1e-9), "{}", s.makespan_s);
    assert!(close(s.end_s, 30.0, 1e-9), "{}", s.end_s);
}

/// Message ids in the order the application got them.
fn delivery_order(scenario: &acksim::model::config::Scenario) -> (RunOutcome, Vec<u32>) {
    use acksim::model::trace::{TraceKind, TraceRecord};
    let mut trace: Vec<TraceRecord> = Vec::new();
    let out = run(scenario, Some(&mut trace)).expect("run");
    let order = trace
        .iter()
        .filter(|r| r.kind == TraceKind::Delivered)
        .filter_map(|r| r.message)
        .collect();
    (out, order)
}

#[test]
fn message_priority_dispatches_the_highest_priority_first_when_enabled() {
    let path = scenarios_dir().join("message-priority.yaml");
    let mut scenario = acksim::scenario::load(&path)
        .unwrap_or_else(|e| panic!("{e}"))
        .scenario;
    let (out, order) = delivery_order(&scenario);
    assert_eq!(fates(&out.summary), (10, 10, 10, 0, 0, 0, 0));
    assert_eq!(order, vec![1, 2, 4, 6, 8, 10, 3, 5, 7, 9]);
    assert!(close(out.summary.makespan_s, 1.1, 1e-9));
    scenario.broker.prioritized_messages = false;
    let (_, fifo) = delivery_order(&scenario);
    assert_eq!(fifo, (1..=10).collect::<Vec<u32>>());
}

#[test]
fn rocketmq_crash_reconsumes_from_the_last_persisted_offset() {
    let out = run_file("rocketmq-crash-reconsume-window.yaml");
    let s = &out.summary;
    assert_eq!(fates(s), (100, 110, 100, 10, 0, 0, 0));
    assert_eq!((s.deliveries, s.redelivered), (111, 11));
    assert!(close(s.makespan_s, 34.104, 1e-9), "{}", s.makespan_s);
    assert_eq!(consumer(&out, "c-0").crashes, 1);
}

#[test]
fn rocketmq_reconsume_later_reaches_dlq_after_16_retries_and_4h45m40s() {
    let path = scenarios_dir().join("rocketmq-reconsume-later-dlq.yaml");
    let loaded = acksim::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut trace: Vec<acksim::model::trace::TraceRecord> = Vec::new();
    let out = run(&loaded.scenario, Some(&mut trace)).unwrap_or_else(|e| panic!("{e}"));
    let s = &out.summary;
    assert_eq!(fates(s), (5, 4, 4, 0, 0, 1, 0));
    assert_eq!((s.deliveries, s.redelivered), (21, 16));
    assert_eq!(
        (s.rocketmq.retry_deliveries, s.rocketmq.sent_back),
        (16, 17)
    );
    let dlq: Vec<u64> = trace
        .iter()
        .filter(|r| r.kind == acksim::model::trace::TraceKind::DeadLettered)
        .map(|r| r.time.as_nanos())
        .collect();
    let first_delivery_ms = 4;
    let per_attempt_ms = 12;
    let delays_s = 4 * 3600 + 45 * 60 + 40;
    let expected_ns = (first_delivery_ms + 16 * per_attempt_ms + 11 + delays_s * 1000) * 1_000_000;
    assert_eq!(dlq, vec![expected_ns], "dead-lettered at 17140.207 s");
}

#[test]
fn rocketmq_orderly_suspends_its_queue_then_dead_letters() {
    let s = run_file("rocketmq-orderly-suspend.yaml").summary;
    assert_eq!(fates(&s), (6, 5, 5, 0, 0, 1, 0));
    assert_eq!((s.deliveries, s.redelivered), (9, 3));
    assert_eq!((s.rocketmq.sent_back, s.rocketmq.retry_deliveries), (1, 0));
    assert!(close(s.makespan_s, 3.064, 1e-9), "{}", s.makespan_s);
}

#[test]
fn rocketmq_broadcasting_counts_one_fate_per_copy() {
    let out = run_file("rocketmq-broadcasting.yaml");
    let s = &out.summary;
    assert_eq!(s.copies, 16);
    assert_eq!(fates(s), (8, 21, 14, 7, 2, 0, 0));
    assert_eq!(
        (s.deliveries, s.redelivered, s.rocketmq.sent_back),
        (24, 8, 0)
    );
    assert_eq!(consumer(&out, "a-0").processed, 7);
    assert_eq!(consumer(&out, "b-0").processed, 14);
    assert!(s.conserves_messages());
}

#[test]
fn rocketmq_scenarios_are_refused_by_prefetch_tuning() {
    let path = scenarios_dir().join("rocketmq-orderly-suspend.yaml");
    let loaded = acksim::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let e = acksim::tune::TunePlan::new(loaded.scenario, Some(100.0), None, 1)
        .expect_err("tune must refuse a RocketMQ scenario");
    assert!(e.is_bad_input(), "{e}");
    assert!(e.to_string().contains("has none"), "{e}");
}

/// Cells: persist_consumer_offset_interval [1s, 3s, 5s], 2 replicates.
#[test]
fn rocketmq_persist_interval_sweep_sets_the_crash_window() {
    let (plan, runs) = sweep_runs("sweep-rocketmq-persist-interval.yaml");
    assert_eq!((plan.cells.len(), plan.replicates), (3, 2));
    for (cell, replicates) in runs.chunks(2).enumerate() {
        let duplicates = [3, 6, 16][cell];
        for s in replicates {
            assert_eq!(
                fates(s),
                (100, 100 + duplicates, 100, duplicates, 0, 0, 0),
                "cell {cell}"
            );
        }
    }
}

#[test]
fn rocketmq_sync_retries_store_copies_an_idempotent_consumer_skips() {
    let out = run_file("rocketmq-sync-retry-idempotent.yaml");
    let s = &out.summary;
    let send = &s.send;
    assert_eq!(
        (
            send.sent,
            send.attempts,
            send.confirmed,
            send.failed,
            send.timed_out
        ),
        (4, 12, 0, 4, 0)
    );
    assert_eq!((send.duplicates, send.lost_at_send), (8, 0));
    assert_eq!(fates(s), (12, 12, 12, 0, 0, 0, 0));
    assert_eq!(s.duplicates_suppressed, 8);
    assert_eq!(consumer(&out, "c-0").processed, 6);
    assert_eq!(consumer(&out, "c-1").processed, 6);
}

#[test]
fn rocketmq_oneway_broker_crash_loses_sends_and_reconsumes_unflushed_offsets() {
    let out = run_file("rocketmq-oneway-broker-crash.yaml");
    let s = &out.summary;
    let send = &s.send;
    assert_eq!(
        (send.sent, send.attempts, send.failed, send.unconfirmed),
        (20, 20, 5, 15)
    );
    assert_eq!(send.lost_at_send, 1);
    assert_eq!(fates(s), (14, 17, 14, 3, 0, 0, 0));
    assert_eq!((s.redelivered, s.deliveries), (3, 17));
    assert!(close(s.makespan_s, 19.104, 1e-9), "{}", s.makespan_s);
    assert_eq!(consumer(&out, "c-0").crashes, 1);
}

#[test]
fn topic_slow_consumer_abort_closes_the_hung_subscriber_at_the_first_check() {
    let out = run_file("topic-slow-consumer-abort.yaml");
    let s = &out.summary;
    assert_eq!(
        (s.produced, s.copies, s.slow_consumer_aborts),
        (100, 200, 1)
    );
    assert_eq!(fates(s), (100, 101, 101, 0, 99, 0, 0));
    assert_eq!(s.acks.standard, 101);
    assert!(
        close(s.makespan_s, 60.01, 1e-9),
        "makespan {}",
        s.makespan_s
    );
    let stuck = consumer(&out, "stuck-0");
    assert_eq!((stuck.processed, stuck.aborted), (1, 1));
    assert_eq!(consumer(&out, "fast-0").processed, 100);
}

#[test]
fn topic_broker_crash_keeps_the_durable_subscription_and_drops_the_non_durable_one() {
    let out = run_file("topic-broker-crash.yaml");
    let s = &out.summary;
    assert_eq!((s.produced, s.copies), (10, 20));
    assert_eq!(fates(s), (10, 15, 14, 1, 6, 0, 0));
    assert_eq!(s.redelivered, 0);
    assert_eq!(consumer(&out, "durable-0").processed, 11);
    assert_eq!(consumer(&out, "live-0").processed, 4);
}
