//! Which consumers of a queue may take a message, and in what order they are asked
//! (semantics.md A7.3–A7.5): `Queue.addToConsumerList` / `orderedCompare` (consumer priority),
//! the round-robin rotation of `Queue.doActualDispatch`, and `QueueDispatchSelector` with the
//! exclusive-consumer rules of `Queue.addSubscription` / `removeSubscription`.

use crate::model::activemq::broker::SubscriptionId;

/// `ConsumerInfo.priority` of the highest priority (`Byte.MAX_VALUE`): an exclusive consumer
/// with it always takes over (A7.5).
pub const MAX_CONSUMER_PRIORITY: u8 = 127;

/// The `ConsumerInfo` attributes that steer queue dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DispatchInfo {
    /// `consumer.priority` (0..=127, default 0).
    pub priority: u8,
    /// `consumer.exclusive` (default false).
    pub exclusive: bool,
}

/// `Queue.addToConsumerList` with `useConsumerPriority` (default true): the list stays sorted
/// by priority, highest first, and a consumer joins (or, after taking a message, re-joins) at
/// the end of its priority band — `Collections.sort` with `orderedCompare` is stable (A7.3,
/// A7.4).
pub fn add_to_consumer_list(
    list: &mut Vec<SubscriptionId>,
    id: SubscriptionId,
    priority_of: impl Fn(SubscriptionId) -> u8,
) {
    let p = priority_of(id);
    // Equal priorities (the usual case) rejoin at the very end: no search needed.
    if list.last().is_none_or(|&s| priority_of(s) >= p) {
        list.push(id);
        return;
    }
    let at = list.partition_point(|&s| priority_of(s) >= p);
    list.insert(at, id);
}

/// `QueueDispatchSelector`: while an exclusive consumer exists, only it may take messages.
#[derive(Debug, Clone, Default)]
pub struct QueueDispatchSelector {
    exclusive: Option<SubscriptionId>,
}

impl QueueDispatchSelector {
    /// `canSelect`: no exclusive consumer, or this is it.
    pub fn can_select(&self, id: SubscriptionId) -> bool {
        self.exclusive.is_none_or(|e| e == id)
    }

    /// `isExclusiveConsumer`: the exclusive consumer is never rotated (A7.4).
    pub fn is_exclusive_consumer(&self, id: SubscriptionId) -> bool {
        self.exclusive == Some(id)
    }

    pub fn exclusive_consumer(&self) -> Option<SubscriptionId> {
        self.exclusive
    }

    /// `Queue.addSubscription`: the first exclusive consumer wins; a later one replaces it only
    /// with a higher priority, or with priority 127 (A7.5).
    pub fn on_added(
        &mut self,
        id: SubscriptionId,
        info: DispatchInfo,
        info_of: impl Fn(SubscriptionId) -> DispatchInfo,
    ) {
        if !info.exclusive {
            return;
        }
        match self.exclusive {
            None => self.exclusive = Some(id),
            Some(current) => {
                if info.priority == MAX_CONSUMER_PRIORITY
                    || info.priority > info_of(current).priority
                {
                    self.exclusive = Some(id);
                }
            }
        }
    }

    /// `Queue.removeSubscription`: when the exclusive consumer leaves, the first exclusive
    /// consumer of the remaining list with the highest priority takes over (A7.5).
    pub fn on_removed(
        &mut self,
        id: SubscriptionId,
        remaining: &[SubscriptionId],
        info_of: impl Fn(SubscriptionId) -> DispatchInfo,
    ) {
        if self.exclusive != Some(id) {
            return;
        }
        self.exclusive = None;
        let mut best: Option<(SubscriptionId, u8)> = None;
        for &s in remaining {
            let info = info_of(s);
            if info.exclusive && best.is_none_or(|(_, p)| info.priority > p) {
                best = Some((s, info.priority));
            }
        }
        self.exclusive = best.map(|(s, _)| s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimTime;
    use crate::model::activemq::ack::{AckType, MessageAck};
    use crate::model::activemq::broker::{BrokerEffect, Queue};
    use crate::model::message::{MessageId, MessageRef};

    fn msg(id: MessageId) -> MessageRef {
        MessageRef {
            id,
            message_id: id,
            persistent: true,
            redelivery_counter: 0,
            sent_at: SimTime::ZERO,
            group: None,
            expiration: SimTime::ZERO,
            priority: 4,
        }
    }

    fn dispatched(fx: &[BrokerEffect]) -> Vec<(SubscriptionId, MessageId)> {
        fx.iter()
            .filter_map(|e| match e {
                BrokerEffect::Dispatched {
                    subscription,
                    message,
                } => Some((*subscription, message.id)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a7_4_queue_higher_priority_fills_first_equal_ones_alternate() {
        // low (0, prefetch 2), high1 and high2 (5, prefetch 2): the two priority-5 consumers
        // alternate (1, 2, 3, 4) until both are full, then low gets 5 and 6.
        let mut q = Queue::new(true);
        let mut fx = Vec::new();
        let low = q.add_subscription_with(0, 2, info(0, false), &mut fx);
        let h1 = q.add_subscription_with(1, 2, info(5, false), &mut fx);
        let h2 = q.add_subscription_with(2, 2, info(5, false), &mut fx);
        for id in 1..=7 {
            q.enqueue(msg(id), &mut fx);
        }
        assert_eq!(
            dispatched(&fx),
            vec![(h1, 1), (h2, 2), (h1, 3), (h2, 4), (low, 5), (low, 6)]
        );
        // low acks 5: 7 goes to low, the only one with room.
        fx.clear();
        q.acknowledge(low, &MessageAck::single(AckType::Standard, 5), &mut fx)
            .unwrap();
        assert_eq!(dispatched(&fx), vec![(low, 7)]);
    }

    #[test]
    fn a7_5_queue_exclusive_consumer_gets_everything_and_is_not_rotated() {
        let mut q = Queue::new(true);
        let mut fx = Vec::new();
        let plain = q.add_subscription_with(0, 5, info(0, false), &mut fx);
        let ex = q.add_subscription_with(1, 2, info(0, true), &mut fx);
        for id in 1..=4 {
            q.enqueue(msg(id), &mut fx);
        }
        // plain has room but is never selected; ex is full after 2.
        assert_eq!(dispatched(&fx), vec![(ex, 1), (ex, 2)]);
        fx.clear();
        // ex's connection drops: plain is not exclusive, so no exclusive consumer remains and
        // plain gets everything: 1 and 2 first (redelivered), then 3 and 4.
        q.remove_subscription_on_connection_drop(ex, &mut fx);
        assert_eq!(
            dispatched(&fx),
            vec![(plain, 1), (plain, 2), (plain, 3), (plain, 4)]
        );
    }

    fn info(priority: u8, exclusive: bool) -> DispatchInfo {
        DispatchInfo {
            priority,
            exclusive,
        }
    }

    #[test]
    fn a7_3_list_is_sorted_by_priority_and_joins_at_the_end_of_its_band() {
        let prio = [0u8, 5, 0, 5, 9];
        let mut list = Vec::new();
        for id in 0..prio.len() {
            add_to_consumer_list(&mut list, id, |s| prio[s]);
        }
        assert_eq!(list, vec![4, 1, 3, 0, 2]);
        // Round robin: 1 took a message and re-joins behind 3, not behind 2.
        list.retain(|&s| s != 1);
        add_to_consumer_list(&mut list, 1, |s| prio[s]);
        assert_eq!(list, vec![4, 3, 1, 0, 2]);
    }

    #[test]
    fn a7_5_first_exclusive_wins_unless_a_later_one_has_higher_priority_or_127() {
        let infos = [
            info(5, true),
            info(5, true),
            info(0, false),
            info(6, true),
            info(127, true),
        ];
        let of = |s: SubscriptionId| infos[s];
        let mut sel = QueueDispatchSelector::default();
        sel.on_added(2, infos[2], of);
        assert_eq!(sel.exclusive_consumer(), None);
        assert!(sel.can_select(2));
        sel.on_added(0, infos[0], of);
        sel.on_added(1, infos[1], of);
        assert_eq!(sel.exclusive_consumer(), Some(0));
        assert!(!sel.can_select(1) && !sel.can_select(2) && sel.can_select(0));
        sel.on_added(3, infos[3], of);
        assert_eq!(sel.exclusive_consumer(), Some(3));
        sel.on_added(4, infos[4], of);
        assert_eq!(sel.exclusive_consumer(), Some(4));
        // A second 127 also takes over (the test is `== 127 ||`, not `>`).
        let mut sel2 = QueueDispatchSelector::default();
        let twin = [info(127, true), info(127, true)];
        sel2.on_added(0, twin[0], |s| twin[s]);
        sel2.on_added(1, twin[1], |s| twin[s]);
        assert_eq!(sel2.exclusive_consumer(), Some(1));
    }

    #[test]
    fn a7_5_takeover_goes_to_the_highest_priority_remaining_exclusive() {
        let infos = [info(3, true), info(1, true), info(2, false), info(1, true)];
        let of = |s: SubscriptionId| infos[s];
        let mut sel = QueueDispatchSelector::default();
        for (id, i) in infos.iter().enumerate() {
            sel.on_added(id, *i, of);
        }
        assert_eq!(sel.exclusive_consumer(), Some(0));
        // Removing a non-exclusive-owner changes nothing.
        sel.on_removed(1, &[0, 2, 3], of);
        assert_eq!(sel.exclusive_consumer(), Some(0));
        // 0 leaves: among 1 (prio 1) and 3 (prio 1) in list order, the first wins the tie;
        // the non-exclusive 2 is never chosen.
        sel.on_removed(0, &[2, 1, 3], of);
        assert_eq!(sel.exclusive_consumer(), Some(1));
        sel.on_removed(1, &[2, 3], of);
        assert_eq!(sel.exclusive_consumer(), Some(3));
        sel.on_removed(3, &[2], of);
        assert_eq!(sel.exclusive_consumer(), None);
        assert!(sel.can_select(2));
    }
}
