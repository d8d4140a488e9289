//! JMSPriority ordering (semantics.md A10.2). Both sides are FIFO by default; priority
//! matters only where it is switched on:
//! - the broker with `PolicyEntry.prioritizedMessages=true`: the store cursor and the dispatch
//!   pending lists (`PrioritizedPendingList`) hand out the highest priority first, FIFO within a
//!   priority; redeliveries and never-dispatched messages are merged by priority, redeliveries
//!   first within one (`QueueDispatchPendingList.iterator`);
//! - the client with `ActiveMQConnection.messagePrioritySupported=true`: the prefetch buffer is a
//!   `SimplePriorityMessageDispatchChannel` (one list per priority, highest first), and a
//!   rolled-back message returns to the head of its own priority's list (`enqueueFirst`).

use crate::model::message::MessageRef;
use std::collections::VecDeque;

/// `Message.DEFAULT_PRIORITY`.
pub const DEFAULT_PRIORITY: u8 = 4;
/// JMS priorities are 0..=9.
pub const MAX_PRIORITY: u8 = 9;

/// Appends `message` at the end of its priority band in a list kept highest priority first.
pub fn insert_last(list: &mut VecDeque<MessageRef>, message: MessageRef) {
    let at = list.partition_point(|m| m.priority >= message.priority);
    list.insert(at, message);
}

/// Puts `message` at the head of its priority band (`enqueueFirst`).
pub fn insert_first(list: &mut VecDeque<MessageRef>, message: MessageRef) {
    let at = list.partition_point(|m| m.priority > message.priority);
    list.insert(at, message);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimTime;

    fn m(id: u32, priority: u8) -> MessageRef {
        MessageRef {
            id,
            message_id: id,
            persistent: true,
            redelivery_counter: 0,
            sent_at: SimTime::ZERO,
            group: None,
            expiration: SimTime::ZERO,
            priority,
        }
    }

    fn ids(list: &VecDeque<MessageRef>) -> Vec<u32> {
        list.iter().map(|m| m.id).collect()
    }

    #[test]
    fn a10_2_highest_priority_first_fifo_within_a_priority() {
        let mut list = VecDeque::new();
        for (id, p) in [(1, 4), (2, 9), (3, 4), (4, 0), (5, 9)] {
            insert_last(&mut list, m(id, p));
        }
        assert_eq!(ids(&list), vec![2, 5, 1, 3, 4]);
    }

    #[test]
    fn a10_2_enqueue_first_goes_to_the_head_of_its_own_priority() {
        let mut list = VecDeque::new();
        for (id, p) in [(1, 9), (2, 4), (3, 4)] {
            insert_last(&mut list, m(id, p));
        }
        insert_first(&mut list, m(7, 4));
        assert_eq!(ids(&list), vec![1, 7, 2, 3]);
    }

    #[test]
    fn a10_2_prioritized_queue_merges_redeliveries_and_pending_by_priority() {
        use crate::model::activemq::broker::{BrokerEffect, Queue};
        let mut q = Queue::new(true).with_prioritized_messages(true);
        let mut fx = Vec::new();
        let a = q.add_subscription(0, 2, &mut fx);
        for (id, p) in [(1, 4), (2, 4), (3, 9), (4, 0), (5, 4)] {
            q.enqueue(m(id, p), &mut fx);
        }
        // a holds 1 and 2; its connection drops: they wait as redeliveries (priority 4).
        q.remove_subscription_on_connection_drop(a, &mut fx);
        fx.clear();
        q.add_subscription(1, 10, &mut fx);
        let order: Vec<u32> = fx
            .iter()
            .filter_map(|e| match e {
                BrokerEffect::Dispatched { message, .. } => Some(message.id),
                _ => None,
            })
            .collect();
        // 9 first; within 4 the redeliveries 1, 2 before the never-dispatched 5; then 0.
        assert_eq!(order, vec![3, 1, 2, 5, 4]);
    }

    #[test]
    fn a10_2_the_client_priority_buffer_reorders_what_has_arrived() {
        use crate::engine::SimDuration;
        use crate::model::config::{
            Arrival, BrokerConfig, ConsumerConfig, DurationDist, NetworkConfig, ProducerConfig,
            Scenario,
        };
        use crate::model::run;
        use crate::model::trace::{TraceKind, TraceRecord};
        // FIFO broker, zero latency; bulk (1) and urgent (9) send 5 each at 1 s, interleaved
        // (bulk odd ids, urgent even). Prefetch 10, messagePrioritySupported. The consumer
        // first looks at its buffer after 1, 2 and 3 have arrived (its wake-up for 1 is
        // queued behind the arrivals of 2 and 3): it takes 2. When 2 is done, 1 and 3-10 wait
        // in the buffer: 4, 6, 8, 10, then 1, 3, 5, 7, 9.
        let producer = |name: &str, priority| ProducerConfig {
            name: name.into(),
            messages: 5,
            arrival: Arrival::Burst,
            start_at: SimDuration::from_secs(1),
            groups: None,
            time_to_live: None,
            priority,
            send: Default::default(),
        };
        let mut c = ConsumerConfig::new("c");
        c.prefetch = 10;
        c.processing = DurationDist::Constant(SimDuration::from_millis(10));
        c.message_priority_supported = true;
        let s = Scenario {
            name: "t".into(),
            seed: 1,
            until: None,
            network: NetworkConfig {
                latency: DurationDist::Constant(SimDuration::ZERO),
            },
            broker: BrokerConfig::default(),
            producers: vec![producer("bulk", 1), producer("urgent", 9)],
            consumers: vec![c],
        };
        let mut trace: Vec<TraceRecord> = Vec::new();
        run(&s, Some(&mut trace)).expect("run");
        let order: Vec<u32> = trace
            .iter()
            .filter(|r| r.kind == TraceKind::Delivered)
            .filter_map(|r| r.message)
            .collect();
        assert_eq!(order, vec![2, 4, 6, 8, 10, 1, 3, 5, 7, 9]);
    }
}
