//! Idle time with a backlog elsewhere (the `idle_with_backlog_s` columns) for RocketMQ.
//!
//! An instance is idle when it is alive and none of its consume threads runs a listener. A
//! backlog elsewhere is a message it could not take although it waits: a consume request in
//! another instance's pool (an orderly queue suspended after a failure does not count: its
//! messages wait for the queue, not for a thread), or messages stored in a queue beyond what its live owner has pulled (including
//! answers still on the wire, and queues no live instance owns). Queue allocation makes this
//! RocketMQ's typical imbalance: an instance with fewer queues idles while another's back up.

use crate::engine::SimTime;

use super::QueueId;
use super::sim::World;

impl World<'_> {
    /// Charges `[accounted_until, t)` to every idle instance that sees a backlog elsewhere.
    /// Nothing changes between two events, so the state at the start holds for the interval.
    pub(super) fn charge_idle_with_backlog(&mut self, t: SimTime) {
        let from = self.accounted_until;
        self.accounted_until = t;
        if t <= from
            || !self
                .instances
                .iter()
                .any(|i| i.alive && i.busy_threads == 0)
        {
            return;
        }
        let waiting: Vec<bool> = self
            .instances
            .iter()
            .map(|i| i.alive && !i.pool.is_empty())
            .collect();
        let broker_waiting = self.broker_backlog();
        let dt = t.saturating_since(from);
        for (index, inst) in self.instances.iter_mut().enumerate() {
            let elsewhere =
                broker_waiting || waiting.iter().enumerate().any(|(j, &w)| w && j != index);
            if inst.alive && inst.busy_threads == 0 && elsewhere {
                inst.stats.idle_with_backlog += dt;
            }
        }
    }

    /// Whether a stored message waits beyond what its queue's live owners have pulled.
    fn broker_backlog(&self) -> bool {
        let queues = self
            .broker
            .topic
            .iter()
            .enumerate()
            .map(|(i, q)| (QueueId::Topic(i as u32), q.log.len() as u64))
            .chain(std::iter::once((
                QueueId::Retry,
                self.broker.retry.log.len() as u64,
            )));
        queues.into_iter().any(|(queue, stored)| {
            let pulled = self
                .instances
                .iter()
                .filter(|i| i.alive && i.pqs.contains_key(&queue))
                .filter_map(|i| i.pull_offsets.get(&queue).copied())
                .max();
            pulled.is_none_or(|p| stored > p) && stored > self.census_floor(queue)
        })
    }

    /// Below this offset a queue's messages are consumed for good (the committed offset in
    /// CLUSTERING; BROADCASTING counts every stored message).
    fn census_floor(&self, queue: QueueId) -> u64 {
        match self.model {
            super::config::MessageModel::Clustering => self.broker.offsets.read(queue),
            super::config::MessageModel::Broadcasting => 0,
        }
    }
}
