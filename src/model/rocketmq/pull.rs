//! The push consumer's pull loop: flow control, pulls carrying the offset, and what a found
//! or a not-found answer (after the broker's 15 s hold, `broker.rs`) does (semantics.md B2.2,
//! B2.3, B3.2).

use super::QueueId;
use super::config::{ConsumeMode, MessageModel};
use super::event::Event;
use super::instance::Task;
use super::process_queue::PulledMessage;
use super::sim::{FLOW_CONTROL_DELAY, World};

impl World<'_> {
    /// `pullMessage`: flow control (B2.2), then a pull carrying the in-memory offset.
    pub(super) fn pull(&mut self, consumer: usize, queue: QueueId, pq: u64) {
        let concurrently = self.mode == ConsumeMode::Concurrently;
        let inst = &mut self.instances[consumer];
        let (threshold, span) = (
            inst.cfg.pull_threshold_for_queue,
            inst.cfg.consume_concurrently_max_span,
        );
        let Some((_, p)) = inst.pqs.get(&queue).filter(|(s, _)| *s == pq) else {
            return;
        };
        if p.must_wait(threshold, span, concurrently) {
            let generation = inst.generation;
            self.schedule(
                self.now + FLOW_CONTROL_DELAY,
                Event::PullDue {
                    consumer,
                    generation,
                    queue,
                    pq,
                },
            );
            return;
        }
        let next = inst.pull_offsets.get(&queue).copied().unwrap_or(0);
        self.send_pull(consumer, queue, pq, next);
    }

    pub(super) fn send_pull(&mut self, consumer: usize, queue: QueueId, pq: u64, offset: u64) {
        let inst = &mut self.instances[consumer];
        inst.pull_offsets.insert(queue, offset);
        let commit_offset = match self.model {
            MessageModel::Clustering => inst.offsets.read(queue).filter(|&o| o > 0),
            MessageModel::Broadcasting => None,
        };
        let generation = inst.generation;
        let at = inst.to_broker.arrival(self.now);
        self.schedule(
            at,
            Event::PullArrives {
                consumer,
                generation,
                queue,
                pq,
                offset,
                commit_offset,
                sent_at: self.now,
            },
        );
    }

    /// PULL_NOT_FOUND after the broker's hold (`PullCallback.onSuccess`, NO_NEW_MSG):
    /// `correctTagsOffset` (an empty ProcessQueue sets the in-memory offset to the next
    /// offset, increase-only), then `executePullRequestImmediately`: the new pull carries the
    /// in-memory offset (B2.3, B3.2). A dropped ProcessQueue stops (`pullMessage` returns).
    pub(super) fn pulled_nothing(&mut self, consumer: usize, queue: QueueId, pq: u64, offset: u64) {
        let inst = &mut self.instances[consumer];
        let Some(p) = inst.pq_mut(queue, pq) else {
            return;
        };
        if p.count() == 0 {
            inst.offsets.update(queue, offset, true);
        }
        self.pull(consumer, queue, pq);
    }

    /// Found messages: into the PQ, consume requests to the pool, and pull again at once.
    pub(super) fn pulled(
        &mut self,
        consumer: usize,
        queue: QueueId,
        pq: u64,
        msgs: Vec<PulledMessage>,
    ) {
        let orderly = self.mode == ConsumeMode::Orderly;
        let inst = &mut self.instances[consumer];
        let batch = inst.cfg.consume_message_batch_max_size as usize;
        let Some(p) = inst.pq_mut(queue, pq) else {
            return;
        };
        p.put(&msgs);
        let count = p.count() as u64;
        let start_orderly = orderly && !p.orderly_busy;
        if start_orderly {
            p.orderly_busy = true;
        }
        inst.stats.max_pq = inst.stats.max_pq.max(count);
        if let Some(last) = msgs.last() {
            inst.pull_offsets.insert(queue, last.queue_offset + 1);
        }
        if orderly {
            if start_orderly {
                self.submit(consumer, Task::Orderly { queue, pq });
            }
        } else {
            for chunk in msgs.chunks(batch) {
                self.submit(
                    consumer,
                    Task::Concurrent {
                        queue,
                        pq,
                        msgs: chunk.to_vec(),
                    },
                );
            }
        }
        self.pull(consumer, queue, pq);
    }
}
