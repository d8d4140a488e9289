//! A RocketMQ broker process crash and restart (`broker.crash: { at, restart_after }`), from
//! RocketMQ 4.9.7's source:
//!
//! - The commit log survives: with ASYNC_FLUSH a written message is in the page cache, which
//!   outlives the process (semantics.md B1.7: a process crash loses nothing stored).
//! - Sends during the outage find no broker: the connection is refused, SYNC / ASYNC attempts
//!   fail and are retried within the send's budget (B1.3, B1.4). A ONEWAY send fails too: the
//!   refused connection makes `NettyRemotingClient.invokeOneway` throw
//!   RemotingConnectException, which `DefaultMQProducerImpl.sendDefaultImpl` rethrows as
//!   MQClientException (`send_failed`). Only a ONEWAY request written before the broker died
//!   (on the wire at the crash) is lost without the application knowing (`lost_at_send`,
//!   B1.5). (A SYNC / ASYNC attempt on the wire at the crash is treated as refused; the real
//!   client would wait for its response until the budget ran out, then fail the send.)
//! - `ConsumerOffsetManager` keeps the group's committed offsets in memory and writes them to
//!   disk 10 s after the broker starts, then every `flushConsumerOffsetInterval` (5 s)
//!   (`BrokerController.initialize`, `BrokerConfig.flushConsumerOffsetInterval`); commits
//!   since the last write die with the process (B3.2). Only a reader of the broker's offset
//!   sees the loss: the clients keep their queues and in-memory offsets through the outage
//!   (the name server answers TOPIC_NOT_EXIST for the broker's only topic, which
//!   `MQClientInstance.updateTopicRouteInfoFromNameServer` ignores, keeping the old route;
//!   `findConsumerIdList` fails, so `RebalanceImpl` changes nothing) and re-commit their
//!   offsets on their next pull or persist; a consumer process (re)starting, or a queue
//!   moving, before that re-consumes from the older offset.
//! - Pulls: a pull the broker was holding (long polling) gets no answer; the connection's
//!   close is a FIN, which `NettyRemotingClient` does not treat as a failure of the pending
//!   requests (`failFast` runs only on a pipeline close), so the pull's `ResponseFuture` is
//!   failed by `scanResponseTable` (a 1 s timer from 3 s after the client starts) once
//!   `begin + CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND (30 s) + 1 s` has passed (`begin`: when
//!   the client sent it, its latest re-pull after the 15 s holds, `broker.rs`). Its
//!   `onException` and a refused connection alike re-pull after
//!   `pullTimeDelayMillsWhenException` (`DefaultMQPushConsumerImpl.pullMessage`): 1000 ms,
//!   the `ClientConfig` default the constructor copies over the field's own 3000.
//! - The restarted broker has no group members until each client's next heartbeat
//!   (`MQClientInstance`: 1 s after the client starts, then every `heartbeatBrokerInterval`
//!   30 s); until then a pull is answered SUBSCRIPTION_NOT_EXIST (`PullMessageProcessor`:
//!   no consumer group info, offset not stored), an exception for the client ⇒ 1000 ms.
//!   The new process's `PullRequestHoldService` checks its held pulls every 5 s from the
//!   restart.
//!   Offset commits and heartbeats reaching the dead broker are lost.
//!
//! Not modelled (validation refuses them with a broker crash): send-back of failed messages
//! during the outage (failing listeners) and orderly queue locks.

use crate::engine::{SimDuration, SimTime};
use crate::model::config::BrokerCrash;
use crate::model::trace::{TraceKind, TraceRecord};

use super::QueueId;
use super::broker::HeldPull;
use super::event::Event;
use super::sim::World;

/// `ConsumerOffsetManager.persist()` runs first this long after the broker starts.
pub(super) const FIRST_OFFSET_FLUSH: SimDuration = SimDuration::from_secs(10);
/// `BrokerConfig.flushConsumerOffsetInterval`.
pub(super) const OFFSET_FLUSH_INTERVAL: SimDuration = SimDuration::from_secs(5);
/// `DefaultMQPushConsumerImpl.CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND`: a pull's response
/// timeout.
pub(super) const PULL_RESPONSE_TIMEOUT: SimDuration = SimDuration::from_secs(30);
/// `scanResponseTable` fails a future only once its timeout plus this margin has passed.
pub(super) const SCAN_MARGIN: SimDuration = SimDuration::from_secs(1);
/// `NettyRemotingClient.start`: the scan timer's first run and period.
pub(super) const SCAN_FIRST: SimDuration = SimDuration::from_secs(3);
pub(super) const SCAN_PERIOD: SimDuration = SimDuration::from_secs(1);
/// `ClientConfig.pullTimeDelayMillsWhenException`.
pub(super) const PULL_DELAY_WHEN_EXCEPTION: SimDuration = SimDuration::from_millis(1000);
/// `MQClientInstance.startScheduledTask`: heartbeats 1 s after the start, then every
/// `heartbeatBrokerInterval`.
pub(super) const FIRST_HEARTBEAT: SimDuration = SimDuration::from_secs(1);
pub(super) const HEARTBEAT_INTERVAL: SimDuration = SimDuration::from_secs(30);

/// The first tick of the timer `first, first + period, …` (counted from `origin`) at or
/// after `t`.
pub(super) fn next_tick(
    origin: SimTime,
    first: SimDuration,
    period: SimDuration,
    t: SimTime,
) -> SimTime {
    let start = origin + first;
    if t <= start {
        return start;
    }
    let since = t.saturating_since(start).as_nanos();
    let p = period.as_nanos();
    start + SimDuration::from_nanos(since.div_ceil(p) * p)
}

impl World<'_> {
    /// Schedules the crash, the restart and the offset flushes that precede the crash.
    pub(super) fn schedule_broker_crash(&mut self, crash: BrokerCrash) {
        let at = SimTime::from(crash.at);
        self.broker_crash_at = Some(at);
        self.schedule(at, Event::BrokerCrashes);
        self.schedule(at + crash.restart_after, Event::BrokerRestarts);
        self.lifecycle_pending += 2;
        let first = SimTime::ZERO + FIRST_OFFSET_FLUSH;
        if first < at {
            self.schedule(first, Event::BrokerFlushesOffsets);
        }
    }

    /// `ConsumerOffsetManager.persist()`; the next one only if it comes before the crash
    /// (later ones cannot matter: one crash per run).
    pub(super) fn flush_offsets(&mut self) {
        self.broker.flushed = self.broker.offsets.clone();
        let next = self.now + OFFSET_FLUSH_INTERVAL;
        if self.broker_crash_at.is_some_and(|c| next < c) {
            self.schedule(next, Event::BrokerFlushesOffsets);
        }
    }

    pub(super) fn broker_crashes(&mut self) {
        self.lifecycle_pending -= 1;
        self.broker.down = true;
        self.broker.crashed = true;
        self.broker.offsets = self.broker.flushed.clone();
        self.broker.members.clear();
        self.trace(|t| TraceRecord::new(t, TraceKind::BrokerCrashed));
        let queues: Vec<QueueId> = (0..self.queues)
            .map(QueueId::Topic)
            .chain(std::iter::once(QueueId::Retry))
            .collect();
        for q in queues {
            for h in std::mem::take(&mut self.broker.queue(q).held) {
                self.held_pull_times_out(q, h);
            }
        }
    }

    /// A held pull's future fails at the first scan after `sent + 30 s + 1 s`; the client
    /// pulls again 1000 ms later. The pull held at the crash is the client's latest: every
    /// earlier one was answered (a message, or PULL_NOT_FOUND at the end of its 15 s hold,
    /// `World::hold_expires`) and followed by a new pull at once, so its `sent_at` is when the
    /// client last re-pulled.
    fn held_pull_times_out(&mut self, queue: QueueId, h: HeldPull) {
        let inst = &self.instances[h.consumer];
        if !inst.is_current(h.generation) {
            return;
        }
        let fails = next_tick(
            inst.started_at,
            SCAN_FIRST,
            SCAN_PERIOD,
            h.sent_at + PULL_RESPONSE_TIMEOUT + SCAN_MARGIN,
        );
        self.schedule(
            fails + PULL_DELAY_WHEN_EXCEPTION,
            Event::PullDue {
                consumer: h.consumer,
                generation: h.generation,
                queue,
                pq: h.pq,
            },
        );
    }

    /// The broker is back: every live client registers at its next heartbeat.
    pub(super) fn broker_restarts(&mut self) {
        self.lifecycle_pending -= 1;
        self.broker.down = false;
        // The new process's PullRequestHoldService checks every 5 s from now.
        self.broker.started_at = self.now;
        self.trace(|t| TraceRecord::new(t, TraceKind::BrokerRestarted));
        let now = self.now;
        for i in 0..self.instances.len() {
            let inst = &mut self.instances[i];
            if !inst.alive {
                continue;
            }
            let beat = next_tick(inst.started_at, FIRST_HEARTBEAT, HEARTBEAT_INTERVAL, now);
            let generation = inst.generation;
            self.schedule(
                beat,
                Event::Heartbeat {
                    consumer: i,
                    generation,
                },
            );
        }
    }

    /// The client's periodic heartbeat leaves for the broker (only the first one after a
    /// broker restart is simulated: the others change nothing).
    pub(super) fn heartbeat(&mut self, consumer: usize, generation: u32) {
        let inst = &mut self.instances[consumer];
        if !inst.is_current(generation) {
            return;
        }
        let at = inst.to_broker.arrival(self.now);
        self.schedule(
            at,
            Event::Registered {
                consumer,
                generation,
            },
        );
    }

    /// A pull the broker cannot serve (down: connection refused; restarted and the client
    /// not registered yet: SUBSCRIPTION_NOT_EXIST): the client learns it one trip later and
    /// pulls again 1000 ms after that. A piggybacked offset is not stored.
    pub(super) fn pull_fails(&mut self, consumer: usize, generation: u32, queue: QueueId, pq: u64) {
        let at = self.instances[consumer].to_client.arrival(self.now);
        self.schedule(
            at + PULL_DELAY_WHEN_EXCEPTION,
            Event::PullDue {
                consumer,
                generation,
                queue,
                pq,
            },
        );
    }

    /// Whether a pull reaching the broker now is refused.
    pub(super) fn pull_refused(&self, consumer: usize) -> bool {
        self.broker.down
            || (self.broker.crashed
                && !self
                    .broker
                    .members
                    .contains_key(&(self.instances[consumer].name.clone(), consumer)))
    }
}

#[cfg(test)]
mod tests {
    //! Runs: zero latency, one queue, 20 messages sent one a second from t = 0 (message k at
    //! k s, k = 0..19), one consumer (started at 0) taking 100 ms per message; the broker dies
    //! at 12.5 s and is back at 17.5 s. Sends at 13..17 s find it down (5); 0..12 and 18, 19
    //! are stored (15, offsets 0..14). Message k (k ≤ 12) is pulled at once by the held pull,
    //! done at k + 0.1 s; the re-pull sent at k s carries offset k, so the broker's offset is
    //! 9 when it writes its offsets at 10 s (before anything else at 10 s) and 12 at the
    //! crash, which takes it back to 9. The pull sent at 12 s (offset 13) is held when the
    //! broker dies: its future fails at the first scan (3 s + k·1 s) at or after
    //! 12 + 30 + 1 = 43 s, the client pulls again at 44 s. Heartbeats at 1 + 30k s: the
    //! restarted broker knows the consumer again at 31 s. The client's own persist at 20 s
    //! restores offset 13 (the one at 15 s was lost). At 44 s the pull gets 18 and 19, done at
    //! 44.1 s.
    use super::*;
    use crate::model::config::{Arrival, BrokerCrash, CrashConfig, CrashPoint, Scenario};
    use crate::model::producer::SendPolicy;
    use crate::model::rocketmq::tests::{consumer, ms, run_traced, scenario, secs};

    fn outage(policy: SendPolicy) -> Scenario {
        let mut c = consumer("c", 1);
        c.processing = crate::model::config::DurationDist::Constant(ms(100));
        let mut s = scenario(20, 1, vec![c]);
        s.producers[0].arrival = Arrival::Constant { interval: secs(1) };
        s.producers[0].send.policy = policy;
        s.broker.crash = Some(BrokerCrash {
            at: ms(12_500),
            restart_after: secs(5),
        });
        s
    }

    /// SYNC: each send during the outage fails 3 times at once (connection refused, budget
    /// untouched): 5 failed sends, 15 + 3·5 = 30 attempts; nothing is lost at the source.
    #[test]
    fn sync_sends_fail_during_the_outage_and_the_stuck_pull_resumes_at_44s() {
        let out = run_traced(&outage(SendPolicy::rocketmq_default())).0;
        let s = &out.summary;
        assert_eq!(
            (
                s.send.sent,
                s.send.attempts,
                s.send.confirmed,
                s.send.failed
            ),
            (20, 30, 15, 5)
        );
        assert_eq!(s.send.lost_at_send, 0);
        assert_eq!(
            (s.produced, s.processed, s.duplicates, s.lost),
            (15, 15, 0, 0)
        );
        assert_eq!(s.makespan_s, 44.1);
    }

    /// ONEWAY: the 5 sends into the outage find the connection refused and throw (failed);
    /// none was on the wire at the crash (zero latency), so nothing is lost at the source;
    /// the rest is the SYNC case.
    #[test]
    fn oneway_sends_refused_during_the_outage_fail() {
        let out = run_traced(&outage(SendPolicy::RocketMqOneway)).0;
        let s = &out.summary;
        let c = &s.send;
        assert_eq!(
            (c.sent, c.attempts, c.unconfirmed, c.failed, c.lost_at_send),
            (20, 20, 15, 5, 0)
        );
        assert_eq!((s.produced, s.processed, s.duplicates), (15, 15, 0));
        assert_eq!(s.makespan_s, 44.1);
    }

    /// The pull pending at the crash is the last re-send of a long poll: message 0 at 0 s is
    /// done at 0.1 s, the re-pull sent at 0 s is answered PULL_NOT_FOUND at the first 5 s
    /// check at or after 15 s (15 s) and sent again at once; its next answer (30 s) would come
    /// after the crash at 22 s. It fails at the first scan at or after 15 + 31 = 46 s, the client
    /// pulls again at 47 s and gets message 1 (sent at 40 s, the broker back at 23 s and the
    /// consumer registered again at its heartbeat at 31 s): done at 47.1 s. (Counting the
    /// timeout from the first send, 0 s, would have the client pull at 32 s and finish at
    /// 40.1 s.)
    #[test]
    fn a_long_poll_pending_at_the_crash_times_out_from_its_last_re_send() {
        let mut s = outage(SendPolicy::rocketmq_default());
        s.producers[0].messages = 2;
        s.producers[0].arrival = Arrival::Constant { interval: secs(40) };
        s.broker.crash = Some(BrokerCrash {
            at: secs(22),
            restart_after: secs(1),
        });
        let out = run_traced(&s).0;
        let s = &out.summary;
        assert_eq!((s.produced, s.processed, s.duplicates), (2, 2, 0));
        assert_eq!(s.makespan_s, 47.1);
    }

    /// The consumer process dies at 18.5 s, before anything re-committed its offset (the
    /// persist at 15 s reached the dead broker), and restarts at 19 s: its heartbeat
    /// registers it at once, it reads the broker's offset 9 (the flushed one) and pulls
    /// offsets 9..14 = messages 9..12 again and 18, 19 (stored at 18 s and at 19 s before the
    /// pull): 6 processings done at 19.1 s, 4 of them duplicates.
    #[test]
    fn lost_broker_offsets_are_reconsumed_by_a_consumer_restarting_after_the_restart() {
        let mut s = outage(SendPolicy::RocketMqOneway);
        s.consumers[0].crash = Some(CrashConfig {
            point: CrashPoint::At(ms(18_500)),
            restart_after: Some(ms(500)),
        });
        let out = run_traced(&s).0;
        let s = &out.summary;
        assert_eq!(
            (s.produced, s.processed, s.unique_processed, s.duplicates),
            (15, 19, 15, 4)
        );
        assert_eq!(
            (s.send.failed, s.send.lost_at_send, s.redelivered),
            (5, 0, 4)
        );
        assert_eq!(s.makespan_s, 19.1);
    }

    fn s(n: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(n)
    }

    #[test]
    fn next_tick_rounds_up_to_the_timer_grid() {
        let one = SimDuration::from_secs(1);
        let thirty = SimDuration::from_secs(30);
        // Heartbeats of a client started at 0: 1, 31, 61 s.
        assert_eq!(next_tick(s(0), one, thirty, s(0)), s(1));
        assert_eq!(next_tick(s(0), one, thirty, s(31)), s(31));
        assert_eq!(next_tick(s(0), one, thirty, s(32)), s(61));
        // Scan of a client started at 2 s: 5, 6, 7 … s; a pull sent at 12.5 s fails at 44 s.
        let fail = s(12) + SimDuration::from_millis(500) + SimDuration::from_secs(31);
        assert_eq!(next_tick(s(2), SimDuration::from_secs(3), one, fail), s(44));
    }
}
