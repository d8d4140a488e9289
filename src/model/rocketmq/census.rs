//! The end-of-run census: one fate per message copy.

use super::QueueId;
use super::config::MessageModel;
use super::sim::{DEAD_LETTERED, DROPPED, PROCESSED, World};

impl World<'_> {
    /// Classifies every copy: processed; else still to be consumed (at or after its queue's
    /// committed offset, in a live ProcessQueue, or a retry on its way); else dead-lettered;
    /// else lost (committed past without being processed: a dropped BROADCASTING copy).
    pub(super) fn census(&self) -> Census {
        let mut pending = vec![false; self.copies.len()];
        let per = self.copies_per_message();
        let mut mark = |copy: usize| pending[copy] = true;
        match self.model {
            MessageModel::Clustering => {
                let queues = self
                    .broker
                    .topic
                    .iter()
                    .enumerate()
                    .map(|(i, q)| (QueueId::Topic(i as u32), q))
                    .chain(std::iter::once((QueueId::Retry, &self.broker.retry)));
                for (id, q) in queues {
                    let from = self.broker.offsets.read(id) as usize;
                    for s in q.log.iter().skip(from) {
                        mark(s.id as usize - 1);
                    }
                }
                for &id in self.retry_pending.keys() {
                    mark(id as usize - 1);
                }
                for inst in self.instances.iter().filter(|i| i.alive) {
                    for (_, p) in inst.pqs.values() {
                        for m in p.held() {
                            mark(m.id as usize - 1);
                        }
                    }
                }
            }
            MessageModel::Broadcasting => {
                for inst in &self.instances {
                    for (qi, q) in self.broker.topic.iter().enumerate() {
                        let id = QueueId::Topic(qi as u32);
                        let from = if inst.alive {
                            inst.offsets.read(id).unwrap_or(inst.offset_file.read(id))
                        } else {
                            inst.offset_file.read(id)
                        } as usize;
                        for s in q.log.iter().skip(from) {
                            mark((s.id as usize - 1) * per + inst.index);
                        }
                    }
                    if inst.alive {
                        for (_, p) in inst.pqs.values() {
                            for m in p.held() {
                                mark((m.id as usize - 1) * per + inst.index);
                            }
                        }
                    }
                }
            }
        }
        let mut census = Census::default();
        for (copy, &flags) in self.copies.iter().enumerate() {
            if flags & PROCESSED != 0 {
                census.unique_processed += 1;
            } else if pending[copy] {
                census.in_flight += 1;
            } else if flags & DEAD_LETTERED != 0 {
                census.dlq += 1;
            } else {
                census.lost += 1;
                if flags & DROPPED == 0 {
                    census.lost_unexplained += 1;
                }
            }
        }
        census
    }
}

#[derive(Debug, Default)]
pub(super) struct Census {
    pub unique_processed: u64,
    pub lost: u64,
    pub dlq: u64,
    pub in_flight: u64,
    /// Lost copies no rule dropped (a BROADCASTING failure is the only one): a model bug.
    pub lost_unexplained: u64,
}
