//! Consumer offsets: the client's in-memory `RemoteBrokerOffsetStore` and the broker's
//! `ConsumerOffsetManager` (semantics.md B3).

use std::collections::BTreeMap;

use super::QueueId;
use super::config::MessageModel;
use super::event::Event;
use super::sim::World;

/// The client's `offsetTable`: lost when the process dies (B3.3).
#[derive(Debug, Default)]
pub struct LocalOffsets {
    table: BTreeMap<QueueId, u64>,
}

impl LocalOffsets {
    /// `updateOffset(mq, offset, increaseOnly)`.
    pub fn update(&mut self, queue: QueueId, offset: u64, increase_only: bool) {
        let slot = self.table.entry(queue).or_insert(offset);
        if !increase_only || offset > *slot {
            *slot = offset;
        }
    }

    /// `readOffset(mq, READ_FROM_MEMORY)`.
    pub fn read(&self, queue: QueueId) -> Option<u64> {
        self.table.get(&queue).copied()
    }

    /// `removeOffset(mq)` after the queue is given up.
    pub fn remove(&mut self, queue: QueueId) -> Option<u64> {
        self.table.remove(&queue)
    }

    pub fn iter(&self) -> impl Iterator<Item = (QueueId, u64)> + '_ {
        self.table.iter().map(|(&q, &o)| (q, o))
    }
}

/// The broker's committed offsets of the group: an UPDATE_CONSUMER_OFFSET overwrites (it is
/// not increase-only, so a stale owner can move an offset back).
#[derive(Debug, Default, Clone)]
pub struct BrokerOffsets {
    table: BTreeMap<QueueId, u64>,
}

impl BrokerOffsets {
    pub fn commit(&mut self, queue: QueueId, offset: u64) {
        self.table.insert(queue, offset);
    }

    /// `queryConsumerOffset`: a group with no offset yet starts at 0 while the queue's first
    /// message is still in memory (`ConsumerManageProcessor.queryConsumerOffset`), which is
    /// always the case here.
    pub fn read(&self, queue: QueueId) -> u64 {
        self.table.get(&queue).copied().unwrap_or(0)
    }
}

impl World<'_> {
    /// Sends an UPDATE_CONSUMER_OFFSET (CLUSTERING) or writes the local offset file.
    pub(super) fn commit_offset(&mut self, consumer: usize, queue: QueueId, offset: u64) {
        match self.model {
            MessageModel::Clustering => {
                let at = self.instances[consumer].to_broker.arrival(self.now);
                self.schedule(at, Event::OffsetCommitArrives { queue, offset });
            }
            MessageModel::Broadcasting => {
                self.totals.rocketmq.offset_commits += 1;
                self.instances[consumer].offset_file.commit(queue, offset);
            }
        }
    }

    /// `persistAllConsumerOffset`: every allocated queue's in-memory offset (B3.2).
    pub(super) fn persist_all(&mut self, consumer: usize) {
        let inst = &self.instances[consumer];
        let offsets: Vec<(QueueId, u64)> = inst
            .offsets
            .iter()
            .filter(|(q, _)| inst.pqs.contains_key(q))
            .collect();
        for (q, o) in offsets {
            self.commit_offset(consumer, q, o);
        }
    }
}
