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
        let idle = |i: &super::instance::Instance| i.alive && i.busy_threads == 0;
        if t <= from || !self.instances.iter().any(idle) {
            return;
        }
        let waiting = |i: &super::instance::Instance| i.alive && !i.pool.is_empty();
        let waiting_instances = self.instances.iter().filter(|i| waiting(i)).count();
        // Computed only if some idle instance sees no waiting pool elsewhere.
        let mut broker_waiting: Option<bool> = None;
        let dt = t.saturating_since(from);
        for index in 0..self.instances.len() {
            let inst = &self.instances[index];
            if !idle(inst) {
                continue;
            }
            let elsewhere = waiting_instances > usize::from(waiting(inst))
                || *broker_waiting.get_or_insert_with(|| self.broker_backlog());
            if elsewhere {
                self.instances[index].stats.idle_with_backlog += dt;
            }
        }
    }

    /// Whether a stored message waits beyond what its queue's live owners have pulled.
    fn broker_backlog(&self) -> bool {
        let slot = |q: QueueId| match q {
            QueueId::Topic(i) => i as usize,
            QueueId::Retry => self.broker.topic.len(),
        };
        let mut pulled: Vec<Option<u64>> = vec![None; self.broker.topic.len() + 1];
        for inst in self.instances.iter().filter(|i| i.alive) {
            for (&q, &offset) in &inst.pull_offsets {
                let p = &mut pulled[slot(q)];
                *p = Some(p.map_or(offset, |o| o.max(offset)));
            }
        }
        let stored = self
            .broker
            .topic
            .iter()
            .enumerate()
            .map(|(i, q)| (QueueId::Topic(i as u32), q.log.len() as u64))
            .chain(std::iter::once((
                QueueId::Retry,
                self.broker.retry.log.len() as u64,
            )));
        // BROADCASTING consumers do not subscribe to %RETRY%: nothing there waits for them.
        let broadcasting = self.model == super::config::MessageModel::Broadcasting;
        stored.into_iter().any(|(queue, stored)| {
            if broadcasting && queue == QueueId::Retry {
                return false;
            }
            pulled[slot(queue)].is_none_or(|p| stored > p) && stored > self.census_floor(queue)
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
