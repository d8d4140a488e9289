//! Message groups on a queue (semantics.md A7.6): `Queue.assignMessageGroup` with the default
//! `CachedMessageGroupMap`.
//!
//! A message with a `JMSXGroupID` and no `JMSXGroupSeq` (what a plain producer sends: the
//! sequence is 0) goes to the group's owner; a group without an owner is given to the first
//! consumer that could take the message (not full, allowed by the dispatch selector), which
//! becomes its owner. Every other consumer is refused the group's messages, even while the
//! owner is full. When the owner's subscription is removed its groups are freed
//! (`MessageGroupMap.removeConsumer`) and go to whoever takes their next message.
//!
//! The cached map is an LRU of 1024 groups; the scenario allows at most that many groups
//! ([`MAX_GROUPS`]), so no owner is ever evicted and the LRU order never matters.

use crate::model::activemq::broker::SubscriptionId;

/// `CachedMessageGroupMapFactory` default cache size.
pub const MAX_GROUPS: u16 = 1024;

/// A `JMSXGroupID`, as the index of the producer's group (`0..groups`). Stored off by one in a
/// `NonZeroU16`, so a message's `Option<GroupId>` takes two bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupId(std::num::NonZeroU16);

impl GroupId {
    /// Group number `index` (below [`MAX_GROUPS`]).
    pub fn new(index: u16) -> Self {
        debug_assert!(index < MAX_GROUPS);
        Self(std::num::NonZeroU16::MIN.saturating_add(index))
    }

    pub fn index(self) -> usize {
        usize::from(self.0.get() - 1)
    }
}

/// The owner of every group, and how many groups each subscription owns
/// (`ConsumerInfo.assignedGroupCount`, the tie-breaker of `orderedCompare`, A7.3).
#[derive(Debug, Clone, Default)]
pub struct MessageGroupOwners {
    owners: Vec<Option<SubscriptionId>>,
    assigned: Vec<u32>,
    /// Whether any group has ever been assigned (until then the tie-breaker is moot).
    used: bool,
}

impl MessageGroupOwners {
    /// `assignMessageGroup`: may `candidate` take a message of `group`? Assigns the group to
    /// it if the group has no owner.
    pub fn assign(&mut self, candidate: SubscriptionId, group: GroupId) -> bool {
        let g = group.index();
        if self.owners.len() <= g {
            self.owners.resize(g + 1, None);
        }
        match self.owners[g] {
            Some(owner) => owner == candidate,
            None => {
                self.owners[g] = Some(candidate);
                if self.assigned.len() <= candidate {
                    self.assigned.resize(candidate + 1, 0);
                }
                self.assigned[candidate] += 1;
                self.used = true;
                true
            }
        }
    }

    /// `MessageGroupMap.removeConsumer`: the leaving subscription's groups are freed.
    pub fn remove_consumer(&mut self, id: SubscriptionId) {
        for owner in &mut self.owners {
            if *owner == Some(id) {
                *owner = None;
            }
        }
    }

    pub fn owner(&self, group: GroupId) -> Option<SubscriptionId> {
        self.owners.get(group.index()).copied().flatten()
    }

    /// `getAssignedGroupCount`.
    pub fn assigned_groups(&self, id: SubscriptionId) -> u32 {
        self.assigned.get(id).copied().unwrap_or(0)
    }

    pub fn in_use(&self) -> bool {
        self.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimTime;
    use crate::model::activemq::ack::{AckType, MessageAck};
    use crate::model::activemq::broker::{BrokerEffect, Queue};
    use crate::model::message::{MessageId, MessageRef};

    fn grouped(id: MessageId, group: u16) -> MessageRef {
        let group = GroupId::new(group);
        MessageRef {
            group: Some(group),
            ..MessageRef::new(id, SimTime::ZERO)
        }
    }

    fn dispatched(fx: &[BrokerEffect]) -> Vec<(SubscriptionId, MessageId)> {
        crate::model::activemq::broker::dispatches(fx)
    }

    #[test]
    fn a7_6_queue_refuses_a_group_while_its_owner_is_full_and_passes_it_over() {
        // Prefetch 1 each. 1 (group 0) -> a, owner of 0, now full. 2 (group 0): b is refused,
        // a is full: it waits. 3 (group 1): 2 is passed over, b takes 3 and owns group 1.
        // a's ack of 1 frees it: 2 goes to a.
        let mut q = Queue::new(true);
        let mut fx = Vec::new();
        let a = q.add_subscription(0, 1, &mut fx);
        let b = q.add_subscription(1, 1, &mut fx);
        for (id, g) in [(1, 0), (2, 0), (3, 1)] {
            q.enqueue(grouped(id, g), &mut fx);
        }
        assert_eq!(dispatched(&fx), vec![(a, 1), (b, 3)]);
        assert_eq!(q.waiting(), 1);
        fx.clear();
        q.acknowledge(a, &MessageAck::single(AckType::Standard, 1), &mut fx)
            .unwrap();
        assert_eq!(dispatched(&fx), vec![(a, 2)]);
    }

    #[test]
    fn a7_6_queue_frees_the_groups_of_a_removed_owner() {
        let mut q = Queue::new(true);
        let mut fx = Vec::new();
        let a = q.add_subscription(0, 1, &mut fx);
        let b = q.add_subscription(1, 5, &mut fx);
        q.enqueue(grouped(1, 0), &mut fx);
        q.enqueue(grouped(2, 0), &mut fx);
        assert_eq!(dispatched(&fx), vec![(a, 1)]);
        fx.clear();
        // a's connection drops: 1 comes back first (counter 1), then 2; b owns group 0 now.
        q.remove_subscription_on_connection_drop(a, &mut fx);
        assert_eq!(dispatched(&fx), vec![(b, 1), (b, 2)]);
    }

    #[test]
    fn a7_6_first_candidate_owns_the_group_others_are_refused() {
        let mut g = MessageGroupOwners::default();
        assert!(!g.in_use());
        assert!(g.assign(1, GroupId::new(0)));
        assert!(!g.assign(0, GroupId::new(0)), "another consumer is refused");
        assert!(g.assign(1, GroupId::new(0)), "the owner keeps getting it");
        assert!(g.assign(0, GroupId::new(3)));
        assert_eq!(
            (
                g.owner(GroupId::new(0)),
                g.owner(GroupId::new(3)),
                g.owner(GroupId::new(1))
            ),
            (Some(1), Some(0), None)
        );
        assert_eq!((g.assigned_groups(0), g.assigned_groups(1)), (1, 1));
        assert!(g.in_use());
    }

    #[test]
    fn a7_6_groups_are_freed_when_the_owner_leaves() {
        let mut g = MessageGroupOwners::default();
        g.assign(1, GroupId::new(0));
        g.assign(1, GroupId::new(1));
        g.assign(2, GroupId::new(2));
        g.remove_consumer(1);
        assert_eq!(
            (
                g.owner(GroupId::new(0)),
                g.owner(GroupId::new(1)),
                g.owner(GroupId::new(2))
            ),
            (None, None, Some(2))
        );
        assert!(g.assign(2, GroupId::new(0)));
        assert_eq!(g.owner(GroupId::new(0)), Some(2));
        // The count is the real one: it is not lowered by removeConsumer.
        assert_eq!(g.assigned_groups(2), 2);
    }
}
