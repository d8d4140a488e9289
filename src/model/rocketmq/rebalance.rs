//! Rebalancing (B2.4): `AllocateMessageQueueAveragely` shares a topic's queues among the
//! CLUSTERING group; each instance rebalances every 20 s and when the broker notifies a
//! membership change; a queue it loses is dropped, one it gains starts pulling.

use std::collections::BTreeSet;

use super::QueueId;
use super::config::MessageModel;
use super::event::Event;
use super::process_queue::ProcessQueue;
use super::sim::{REBALANCE_INTERVAL, World};

/// The queue indices (of a topic with `queues` queues, sorted) that consumer `index` of
/// `consumers` (the group's client ids, sorted) owns: the first `queues mod consumers`
/// consumers get one queue more, each a contiguous run; with more consumers than queues the
/// last ones get none.
pub fn allocate_averagely(queues: u32, consumers: usize, index: usize) -> Vec<u32> {
    if consumers == 0 || index >= consumers {
        return Vec::new();
    }
    let q = queues as usize;
    let m = q % consumers;
    let average = if q <= consumers {
        1
    } else if m > 0 && index < m {
        q / consumers + 1
    } else {
        q / consumers
    };
    let start = if m > 0 && index < m {
        index * average
    } else {
        index * average + m
    };
    let range = average.min(q.saturating_sub(start));
    (0..range).map(|i| ((start + i) % q) as u32).collect()
}

impl World<'_> {
    /// The broker's `NOTIFY_CONSUMER_IDS_CHANGED` to every member: each rebalances when it
    /// arrives (the starter's heartbeat answer arrives at the same time: it rebalances then).
    pub(super) fn notify_group(&mut self) {
        let now = self.now;
        let members: Vec<usize> = self.broker.members.keys().map(|&(_, c)| c).collect();
        for c in members {
            let inst = &mut self.instances[c];
            if !inst.alive {
                continue;
            }
            let at = inst.to_client.arrival(now);
            let generation = inst.generation;
            self.schedule(
                at,
                Event::Rebalance {
                    consumer: c,
                    generation,
                    epoch: None,
                },
            );
        }
    }

    /// `RebalanceImpl.doRebalance` for the topic and (CLUSTERING) the retry topic, then the
    /// next timer 20 s later (a wake-up restarts the wait).
    pub(super) fn rebalance(&mut self, consumer: usize) {
        // `findConsumerIdList` fails while the broker is down and while its restarted
        // process has no member yet: `rebalanceByTopic` then keeps every queue.
        let no_members = self.broker.down || self.broker.members.is_empty();
        if self.model == MessageModel::Clustering && self.broker.crashed && no_members {
            self.rearm_rebalance(consumer);
            return;
        }
        let wanted: BTreeSet<QueueId> = match self.model {
            MessageModel::Broadcasting => (0..self.queues).map(QueueId::Topic).collect(),
            MessageModel::Clustering => {
                let n = self.broker.members.len();
                match self.broker.members.keys().position(|&(_, c)| c == consumer) {
                    Some(index) => allocate_averagely(self.queues, n, index)
                        .into_iter()
                        .map(QueueId::Topic)
                        .chain(
                            allocate_averagely(1, n, index)
                                .into_iter()
                                .map(|_| QueueId::Retry),
                        )
                        .collect(),
                    None => BTreeSet::new(),
                }
            }
        };
        let held: Vec<QueueId> = self.instances[consumer].pqs.keys().copied().collect();
        for q in held.iter().filter(|q| !wanted.contains(q)) {
            self.drop_queue(consumer, *q);
        }
        for q in wanted.iter().filter(|q| !held.contains(q)) {
            self.add_queue(consumer, *q);
        }
        self.rearm_rebalance(consumer);
    }

    /// The 20 s timer (a wake-up restarts the wait).
    fn rearm_rebalance(&mut self, consumer: usize) {
        let inst = &mut self.instances[consumer];
        inst.rebalance_epoch += 1;
        let epoch = inst.rebalance_epoch;
        let generation = inst.generation;
        if !self.quiescent() {
            self.schedule(
                self.now + REBALANCE_INTERVAL,
                Event::Rebalance {
                    consumer,
                    generation,
                    epoch: Some(epoch),
                },
            );
        }
    }

    /// `removeUnnecessaryMessageQueue`: the PQ is dropped (its in-flight results will be
    /// discarded, B2.4), its offset persisted and forgotten.
    pub(super) fn drop_queue(&mut self, consumer: usize, queue: QueueId) {
        let inst = &mut self.instances[consumer];
        inst.pqs.remove(&queue);
        inst.pull_offsets.remove(&queue);
        if let Some(offset) = inst.offsets.remove(queue) {
            self.commit_offset(consumer, queue, offset);
        }
    }

    /// A new PQ starts pulling at the stored offset (`computePullFromWhere`).
    pub(super) fn add_queue(&mut self, consumer: usize, queue: QueueId) {
        let offset = match self.model {
            MessageModel::Clustering => self.broker.offsets.read(queue),
            MessageModel::Broadcasting => self.instances[consumer].offset_file.read(queue),
        };
        self.next_serial += 1;
        let serial = self.next_serial;
        let inst = &mut self.instances[consumer];
        inst.offsets.update(queue, offset, false);
        inst.pqs.insert(queue, (serial, ProcessQueue::default()));
        self.send_pull(consumer, queue, serial, offset);
    }
}
