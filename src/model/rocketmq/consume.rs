//! The consume services: the pool of `consumeThreadMin` threads,
//! `ConsumeMessageConcurrentlyService` (B3.1, B4) and `ConsumeMessageOrderlyService` (B5).

use crate::engine::{SimDuration, SimTime};
use crate::model::config::CrashPoint;
use crate::model::trace::{TraceKind, TraceRecord};
use rand::RngExt;

use super::QueueId;
use super::config::MessageModel;
use super::event::Event;
use super::instance::{Running, Task};
use super::process_queue::PulledMessage;
use super::retry::{CONCURRENT_DEFAULT_MAX_RECONSUME, orderly_suspend};
use super::sim::{DELIVERED, DROPPED, PROCESSED, World};

impl World<'_> {
    /// Hands a request to the consume pool (an unbounded FIFO queue in front of the threads).
    pub(super) fn submit(&mut self, consumer: usize, task: Task) {
        self.instances[consumer].pool.push_back(task);
        self.run_pool(consumer);
    }

    /// Free threads take requests in order.
    fn run_pool(&mut self, consumer: usize) {
        loop {
            let inst = &mut self.instances[consumer];
            if inst.busy_threads >= inst.cfg.consume_thread_min {
                return;
            }
            let Some(task) = inst.pool.pop_front() else {
                return;
            };
            self.start_task(consumer, task);
        }
    }

    fn free_thread(&mut self, consumer: usize) {
        self.instances[consumer].busy_threads -= 1;
        self.run_pool(consumer);
    }

    /// A free thread runs a request. A concurrent request of a dropped PQ is skipped
    /// (`ConsumeRequest.run` checks `isDropped` first); an orderly one takes the next batch
    /// of its queue, or ends if there is none.
    fn start_task(&mut self, consumer: usize, task: Task) {
        let (queue, pq, msgs, orderly) = match task {
            Task::Concurrent { queue, pq, msgs } => {
                if self.instances[consumer].pq_mut(queue, pq).is_none() {
                    return;
                }
                (queue, pq, msgs, false)
            }
            Task::Orderly { queue, pq } => {
                let inst = &mut self.instances[consumer];
                let batch = inst.cfg.consume_message_batch_max_size;
                let Some(p) = inst.pq_mut(queue, pq) else {
                    return;
                };
                let msgs = p.take(batch);
                if msgs.is_empty() {
                    p.orderly_busy = false;
                    return;
                }
                (queue, pq, msgs, true)
            }
        };
        self.instances[consumer].busy_threads += 1;
        self.begin_listener(consumer, queue, pq, msgs, orderly);
    }

    /// The listener gets the batch: every message is delivered; it processes them in order
    /// and returns RECONSUME_LATER / SUSPEND at the first one that fails.
    fn begin_listener(
        &mut self,
        consumer: usize,
        queue: QueueId,
        pq: u64,
        msgs: Vec<PulledMessage>,
        orderly: bool,
    ) {
        let now = self.now;
        let mut total = SimDuration::ZERO;
        let mut failed_at = None;
        let mut crash_at = None;
        for (i, m) in msgs.iter().enumerate() {
            let copy = self.copy_index(m.id, consumer);
            let redelivered = m.reconsume_times > 0 || self.copies[copy] & DELIVERED != 0;
            self.copies[copy] |= DELIVERED;
            self.totals.deliveries += 1;
            if redelivered {
                self.totals.redelivered += 1;
            }
            if queue == QueueId::Retry {
                self.totals.rocketmq.retry_deliveries += 1;
            }
            let inst = &mut self.instances[consumer];
            inst.stats.deliveries += 1;
            if redelivered {
                inst.stats.redelivered += 1;
            }
            inst.delivered_total += 1;
            if let Some(p) = inst.pq_mut(queue, pq) {
                p.mark_started(m.queue_offset, now);
            }
            self.trace(|t| TraceRecord {
                consumer: Some(consumer),
                message: Some(m.id),
                // reconsumeTimes; a re-consumption after an offset rollback (reconsumeTimes 0)
                // shows 1, so the trace's redelivered deliveries are the summary's.
                redelivery_counter: Some(if redelivered {
                    m.reconsume_times.max(1)
                } else {
                    0
                }),
                ..TraceRecord::new(t, TraceKind::Delivered)
            });
            if failed_at.is_some() {
                continue;
            }
            let inst = &mut self.instances[consumer];
            let d = inst.processing.sample(&mut inst.rng_processing);
            if let Some(CrashPoint::DuringProcessing(k)) = inst.crash.map(|c| c.point)
                && k == inst.delivered_total
                && !inst.crash_fired
            {
                inst.crash_fired = true;
                crash_at = Some(now + total + SimDuration::from_nanos(d.as_nanos() / 2));
            }
            total += d;
            let fails = inst.poison.binary_search(&m.id).is_ok()
                || (inst.failure_probability > 0.0
                    && inst.rng_failure.random::<f64>() < inst.failure_probability);
            if fails {
                failed_at = Some(i);
            }
        }
        let inst = &mut self.instances[consumer];
        let generation = inst.generation;
        if let Some(at) = crash_at {
            self.schedule(
                at,
                Event::Crash {
                    consumer,
                    generation: Some(generation),
                },
            );
        }
        self.next_task += 1;
        let task = self.next_task;
        self.instances[consumer].running.insert(
            task,
            Running {
                queue,
                pq,
                msgs,
                failed_at,
                orderly,
                started: now,
                ends: now + total,
            },
        );
        if !orderly {
            let timeout = self.instances[consumer].cfg.consume_timeout;
            let tick = self.next_cleaner_tick(consumer, now + timeout);
            self.arm_cleaner(consumer, tick);
        }
        self.schedule(
            now + total,
            Event::ConsumeEnds {
                consumer,
                generation,
                task,
            },
        );
    }

    /// The listener returned: side effects of the messages before the failure happened; a
    /// `crash.after_processed` point fires before the result is processed.
    pub(super) fn consume_ends(&mut self, consumer: usize, task: u64) {
        let now = self.now;
        let Some(r) = self.instances[consumer].running.remove(&task) else {
            return;
        };
        self.instances[consumer].stats.busy += now.saturating_since(r.started);
        let done = r.failed_at.unwrap_or(r.msgs.len());
        let mut crash = false;
        for m in &r.msgs[..done] {
            self.record_processed(consumer, m);
            let inst = &mut self.instances[consumer];
            if let Some(CrashPoint::AfterProcessed(k)) = inst.crash.map(|c| c.point)
                && inst.stats.processed == k
                && !inst.crash_fired
            {
                inst.crash_fired = true;
                crash = true;
            }
        }
        if let Some(i) = r.failed_at {
            let m = r.msgs[i];
            self.trace(|t| TraceRecord {
                consumer: Some(consumer),
                message: Some(m.id),
                redelivery_counter: Some(m.reconsume_times),
                ..TraceRecord::new(t, TraceKind::Failed)
            });
        }
        if crash {
            self.crash(consumer);
            return;
        }
        if self.instances[consumer].pq_mut(r.queue, r.pq).is_none() {
            // B2.4: the queue was given up while the listener ran: the result is discarded.
            self.free_thread(consumer);
            return;
        }
        if r.orderly {
            self.orderly_result(consumer, r);
        } else {
            self.concurrent_result(consumer, task, r);
        }
    }

    /// A message's listener call succeeded. An idempotent consumer (CLUSTERING only) skips
    /// the side effect of a message its store knows, keyed by the producer message
    /// ([`crate::model::idempotence`]), as in the ActiveMQ model: a re-consumption of a copy
    /// already processed counts only in `duplicates_suppressed`; a second stored copy of a
    /// producer message (a retry after a lost response, B1.6) is still handled once as a copy
    /// (counted in `processed`, never in `duplicates`) and in `duplicates_suppressed` too.
    fn record_processed(&mut self, consumer: usize, m: &PulledMessage) {
        let copy = self.copy_index(m.id, consumer);
        let skipped = self.idempotence.skips(consumer, u64::from(m.id), self.now);
        if skipped && self.copies[copy] & PROCESSED != 0 {
            return;
        }
        let duplicate = self.copies[copy] & PROCESSED != 0;
        self.copies[copy] |= PROCESSED;
        self.totals.processed += 1;
        self.totals.last_processed_at = self.now;
        if duplicate {
            self.totals.duplicates += 1;
        } else {
            self.totals
                .latency
                .record(self.now.saturating_since(m.sent_at).as_nanos());
        }
        let inst = &mut self.instances[consumer];
        inst.stats.processed += 1;
        if duplicate {
            inst.stats.duplicates += 1;
        }
        self.trace(|t| TraceRecord {
            consumer: Some(consumer),
            message: Some(m.id),
            redelivery_counter: Some(m.reconsume_times),
            ..TraceRecord::new(t, TraceKind::Processed)
        });
    }

    /// `ConsumeMessageConcurrentlyService.processConsumeResult` (B4.1–B4.5).
    fn concurrent_result(&mut self, consumer: usize, task: u64, r: Running) {
        if r.failed_at.is_none() {
            self.remove_and_commit(consumer, &r);
            self.free_thread(consumer);
            return;
        }
        match self.model {
            MessageModel::Broadcasting => {
                // B4.5: failures are dropped; the offset moves past them.
                for m in &r.msgs[r.failed_at.unwrap_or(0)..] {
                    let copy = self.copy_index(m.id, consumer);
                    self.copies[copy] |= DROPPED;
                }
                self.remove_and_commit(consumer, &r);
                self.free_thread(consumer);
            }
            MessageModel::Clustering => {
                // RECONSUME_LATER fails the whole batch: every message is sent back; the
                // consume thread waits for each answer (a synchronous RPC).
                let inst = &mut self.instances[consumer];
                let max = inst
                    .cfg
                    .max_reconsume_times
                    .unwrap_or(CONCURRENT_DEFAULT_MAX_RECONSUME);
                let generation = inst.generation;
                let mut answered = self.now;
                for &m in &r.msgs {
                    let inst = &mut self.instances[consumer];
                    let at = inst.to_broker.arrival(answered);
                    answered = inst.to_client.arrival(at);
                    *self.retry_pending.entry(m.id).or_insert(0) += 1;
                    self.schedule(
                        at,
                        Event::SendBackArrives {
                            msg: m,
                            max,
                            level: 0,
                        },
                    );
                }
                self.instances[consumer].running.insert(task, r);
                self.schedule(
                    answered,
                    Event::SendBackDone {
                        consumer,
                        generation,
                        task,
                    },
                );
            }
        }
    }

    /// The send-backs returned: the batch leaves the PQ and the offset may advance (B4.3),
    /// unless the PQ was dropped meanwhile.
    pub(super) fn send_back_done(&mut self, consumer: usize, task: u64) {
        let Some(r) = self.instances[consumer].running.remove(&task) else {
            return;
        };
        self.remove_and_commit(consumer, &r);
        self.free_thread(consumer);
    }

    /// `PQ.removeMessage` then `updateOffset(increaseOnly = true)` (B3.1).
    fn remove_and_commit(&mut self, consumer: usize, r: &Running) {
        let inst = &mut self.instances[consumer];
        let Some(p) = inst.pq_mut(r.queue, r.pq) else {
            return;
        };
        if let Some(offset) = p.remove(&r.msgs) {
            inst.offsets.update(r.queue, offset, true);
        }
    }

    /// `ConsumeMessageOrderlyService.processConsumeResult` with autoCommit (B5.2–B5.4).
    fn orderly_result(&mut self, consumer: usize, r: Running) {
        let now = self.now;
        let inst = &mut self.instances[consumer];
        let max = inst.cfg.max_reconsume_times.unwrap_or(u32::MAX);
        let suspend_for = orderly_suspend(inst.cfg.suspend_current_queue_time);
        let generation = inst.generation;
        let mut suspend = false;
        let mut again = r.msgs.clone();
        let mut to_dlq = Vec::new();
        if r.failed_at.is_some() {
            // checkReconsumeTimes: a message at the limit is sent to %RETRY% with its count,
            // where the broker dead-letters it; the others count one more local attempt.
            for m in &mut again {
                if m.reconsume_times >= max {
                    to_dlq.push(*m);
                } else {
                    suspend = true;
                    m.reconsume_times += 1;
                }
            }
        }
        for m in to_dlq {
            let at = self.instances[consumer].to_broker.arrival(now);
            *self.retry_pending.entry(m.id).or_insert(0) += 1;
            self.schedule(
                at,
                Event::SendBackArrives {
                    msg: m,
                    max,
                    level: 0,
                },
            );
        }
        let inst = &mut self.instances[consumer];
        let Some(p) = inst.pq_mut(r.queue, r.pq) else {
            self.free_thread(consumer);
            return;
        };
        if suspend {
            p.consume_again(&again);
            self.schedule(
                now + suspend_for,
                Event::OrderlyResume {
                    consumer,
                    generation,
                    queue: r.queue,
                    pq: r.pq,
                },
            );
            self.free_thread(consumer);
            return;
        }
        if let Some(offset) = p.commit() {
            inst.offsets.update(r.queue, offset, false);
        }
        // The same thread goes on with the queue's next batch.
        inst.busy_threads -= 1;
        self.start_task(
            consumer,
            Task::Orderly {
                queue: r.queue,
                pq: r.pq,
            },
        );
        self.run_pool(consumer);
    }
}

impl World<'_> {
    /// The first tick of the cleaner's fixed-rate timer (every `consume_timeout` from the
    /// process start) strictly after `t`.
    fn next_cleaner_tick(&self, consumer: usize, t: SimTime) -> SimTime {
        let inst = &self.instances[consumer];
        let period = inst.cfg.consume_timeout.as_nanos();
        let since = t.saturating_since(inst.started_at).as_nanos();
        inst.started_at + SimDuration::from_nanos((since / period + 1) * period)
    }

    /// Schedules the cleaner tick at `tick` if a concurrent listener still runs then.
    fn arm_cleaner(&mut self, consumer: usize, tick: SimTime) {
        let inst = &mut self.instances[consumer];
        let needed = inst.running.values().any(|r| !r.orderly && r.ends > tick);
        if !needed || !inst.cleaner_ticks.insert(tick) {
            return;
        }
        let generation = inst.generation;
        self.schedule(
            tick,
            Event::CleanExpired {
                consumer,
                generation,
            },
        );
    }

    /// `ProcessQueue.cleanExpiredMsg` for every PQ of the instance (B4.8): up to 16 head
    /// messages whose listener started more than `consume_timeout` ago are sent back at delay
    /// level 3 and leave the PQ, while their listener still runs. The real client does this
    /// in BROADCASTING too, where no instance consumes `%RETRY%`: the copy sent back stays
    /// there. The cleaner's own send is
    /// not modelled as taking time.
    pub(super) fn clean_expired(&mut self, consumer: usize) {
        let now = self.now;
        let inst = &mut self.instances[consumer];
        inst.cleaner_ticks.remove(&now);
        let timeout = inst.cfg.consume_timeout;
        let max = inst
            .cfg
            .max_reconsume_times
            .unwrap_or(CONCURRENT_DEFAULT_MAX_RECONSUME);
        let mut expired = Vec::new();
        for (_, p) in inst.pqs.values_mut() {
            for _ in 0..p.count().min(16) {
                let Some(m) = p.expired_head(now, timeout) else {
                    break;
                };
                p.remove(&[m]);
                expired.push(m);
            }
        }
        let next = self.next_cleaner_tick(consumer, now);
        self.arm_cleaner(consumer, next);
        for m in expired {
            if self.model == MessageModel::Broadcasting {
                // Nobody will consume the copy in %RETRY%: unless the running listener
                // completes, this instance's copy is lost.
                let copy = self.copy_index(m.id, consumer);
                self.copies[copy] |= DROPPED;
            }
            let at = self.instances[consumer].to_broker.arrival(now);
            *self.retry_pending.entry(m.id).or_insert(0) += 1;
            self.schedule(
                at,
                Event::SendBackArrives {
                    msg: m,
                    max,
                    level: 3,
                },
            );
        }
    }
}
