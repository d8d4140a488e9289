//! The broker side of one ActiveMQ queue: `Queue` dispatch and `PrefetchSubscription`
//! windows (semantics.md A5, A6, A7).
//!
//! The broker is modelled as taking no time: every command is applied, and every dispatch it
//! triggers is made, at the instant the command arrives. It reports what it did through
//! [`BrokerEffect`]s; it knows nothing about clients, networks or metrics.

use crate::engine::SimTime;
use crate::model::activemq::ack::{AckType, MessageAck};
use crate::model::activemq::dispatch_selector::{
    DispatchInfo, QueueDispatchSelector, add_to_consumer_list,
};
use crate::model::activemq::expiry::is_expired;
use crate::model::activemq::groups::MessageGroupOwners;
use crate::model::activemq::priority;
use crate::model::message::{MessageId, MessageRef};
use std::collections::VecDeque;

/// Index of a subscription (one per consumer connection; a restarted consumer gets a new one).
pub type SubscriptionId = usize;

/// Something the broker did that the rest of the model must react to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerEffect {
    /// A message was dispatched to a subscription (it travels to the consumer now).
    Dispatched {
        subscription: SubscriptionId,
        message: MessageRef,
    },
    /// A consuming ack deleted the message from the store.
    Consumed { id: MessageId },
    /// A POISON ack sent the message to the DLQ (`ActiveMQ.DLQ`, A4.1).
    DeadLettered { id: MessageId },
    /// A topic subscription dropped its copy without delivery or DLQ (A5.6, A9.3).
    Discarded { id: MessageId },
    /// The message expired in the broker or was EXPIRED-acked by a client (A10.1).
    Expired { id: MessageId },
}

/// Why an ack could not be applied. The real broker answers such an ack with a JMSException
/// (a `ConnectionError` to the client for an async ack) and changes nothing; the model rejects it
/// the same way (see `sim::reject_or_fail`). It happens when an application acknowledges a
/// message its session has already rolled back for local redelivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    #[error("ack for subscription {0} that does not exist")]
    UnknownSubscription(SubscriptionId),
    #[error("unmatched acknowledge {ack:?}: {reason}")]
    Unmatched {
        ack: MessageAck,
        reason: &'static str,
    },
}

/// `PrefetchSubscription`: one consumer's window on the queue.
#[derive(Debug, Clone)]
pub struct PrefetchSubscription {
    /// The consumer instance this subscription belongs to.
    pub consumer: usize,
    pub prefetch: u32,
    /// `prefetchExtension`.
    pub extension: u32,
    /// Dispatched and not yet acknowledged, in dispatch order.
    pub dispatched: VecDeque<MessageRef>,
    /// Consumer priority and exclusivity (A7.3, A7.5).
    pub info: DispatchInfo,
}

impl PrefetchSubscription {
    pub(crate) fn new(consumer: usize, prefetch: u32, info: DispatchInfo) -> Self {
        Self {
            consumer,
            prefetch,
            extension: 0,
            dispatched: VecDeque::new(),
            info,
        }
    }

    /// `PrefetchSubscription.isFull()`: `dispatched − ext ≥ P`, or with prefetch 0 `ext == 0`
    /// (A6.1, A1.5).
    pub fn is_full(&self) -> bool {
        if self.prefetch == 0 {
            self.extension == 0
        } else {
            self.dispatched.len() as u64 >= self.prefetch as u64 + self.extension as u64
        }
    }

    /// Position of `id` in the dispatched list, searched from the newest end: the message an
    /// ack names last is almost always among the most recently dispatched, while the list can
    /// grow without bound (A6.3), so this keeps every ack O(window) instead of O(list).
    fn position(&self, id: MessageId) -> Option<usize> {
        self.dispatched.iter().rposition(|m| m.id == id)
    }

    /// The contiguous dispatched range an ack names: from `first` (or the head) to `last`.
    fn range(&self, ack: &MessageAck) -> Result<std::ops::Range<usize>, AckError> {
        let unmatched = |reason| AckError::Unmatched { ack: *ack, reason };
        let end = self
            .position(ack.last)
            .ok_or(unmatched("last message not dispatched"))?;
        let start = match ack.first {
            None => 0,
            Some(first) => self
                .dispatched
                .range(..=end)
                .rposition(|m| m.id == first)
                .ok_or(unmatched("first message not dispatched before the last"))?,
        };
        Ok(start..end + 1)
    }
}

/// One ActiveMQ queue and its subscriptions.
#[derive(Debug)]
pub struct Queue {
    /// Never-dispatched messages, FIFO (the store cursor).
    pending: VecDeque<MessageRef>,
    /// `QueueDispatchPendingList.redeliveredWaitingDispatch`: messages taken back from a lost
    /// consumer; dispatched before any never-dispatched message (A5.1).
    redelivered_waiting: VecDeque<MessageRef>,
    /// Every subscription ever made, by id; `None` once removed.
    subscriptions: Vec<Option<PrefetchSubscription>>,
    /// The consumer list in dispatch order; rotated for round robin (A7.4).
    consumer_list: Vec<SubscriptionId>,
    /// Largest dispatched-list length each subscription reached (kept after removal).
    peak_dispatched: Vec<usize>,
    /// `PolicyEntry.usePrefetchExtension`.
    use_prefetch_extension: bool,
    /// The exclusive consumer, if any (A7.5).
    selector: QueueDispatchSelector,
    /// Message group owners (A7.6).
    groups: MessageGroupOwners,
    /// The simulated time of the command being applied, for expiry checks (A10.1).
    now: SimTime,
    /// `PolicyEntry.prioritizedMessages`: waiting messages ordered by JMSPriority (A10.2).
    prioritized: bool,
}

/// Which waiting list a message comes from, and the positions reached in each, while one
/// dispatch pass walks the waiting messages.
#[derive(Debug, Clone, Copy, Default)]
struct WaitingCursor {
    redelivered: usize,
    pending: usize,
}

impl Queue {
    pub fn new(use_prefetch_extension: bool) -> Self {
        Self {
            pending: VecDeque::new(),
            redelivered_waiting: VecDeque::new(),
            subscriptions: Vec::new(),
            consumer_list: Vec::new(),
            peak_dispatched: Vec::new(),
            use_prefetch_extension,
            selector: QueueDispatchSelector::default(),
            groups: MessageGroupOwners::default(),
            now: SimTime::ZERO,
            prioritized: false,
        }
    }

    /// `prioritizedMessages` on: both waiting lists are kept highest JMSPriority first and
    /// are merged by priority when dispatching (A10.2).
    pub fn with_prioritized_messages(mut self, prioritized: bool) -> Self {
        self.prioritized = prioritized;
        self
    }

    /// Appends to a waiting list: at its end, or at the end of its priority band.
    fn push_waiting(prioritized: bool, list: &mut VecDeque<MessageRef>, message: MessageRef) {
        if prioritized {
            priority::insert_last(list, message);
        } else {
            list.push_back(message);
        }
    }

    /// Messages waiting in the broker for a consumer (not dispatched).
    pub fn waiting(&self) -> usize {
        self.pending.len() + self.redelivered_waiting.len()
    }

    /// Subscriptions ever made (the next subscription's id).
    pub fn subscription_count(&self) -> usize {
        self.subscriptions.len()
    }

    /// Largest number of unacknowledged messages subscription `id` ever held.
    pub fn peak_dispatched(&self, id: SubscriptionId) -> usize {
        self.peak_dispatched.get(id).copied().unwrap_or(0)
    }

    pub fn subscription(&self, id: SubscriptionId) -> Option<&PrefetchSubscription> {
        self.subscriptions.get(id).and_then(|s| s.as_ref())
    }

    /// Live subscriptions.
    pub fn subscriptions(&self) -> impl Iterator<Item = (SubscriptionId, &PrefetchSubscription)> {
        self.subscriptions
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i, s)))
    }

    /// Every message the broker holds: waiting, or dispatched and unacknowledged.
    pub fn held_messages(&self) -> impl Iterator<Item = &MessageRef> {
        self.pending
            .iter()
            .chain(self.redelivered_waiting.iter())
            .chain(self.subscriptions().flat_map(|(_, s)| s.dispatched.iter()))
    }

    /// The broker's clock: the time of the command about to be applied.
    pub fn set_clock(&mut self, now: SimTime) {
        self.now = now;
    }

    /// `Queue.send`: a message is accepted and dispatched if a consumer has room; one already
    /// expired is expired at once (A10.1).
    pub fn enqueue(&mut self, message: MessageRef, effects: &mut Vec<BrokerEffect>) {
        if is_expired(&message, self.now) {
            effects.push(BrokerEffect::Expired { id: message.id });
            return;
        }
        Self::push_waiting(self.prioritized, &mut self.pending, message);
        self.dispatch(effects);
    }

    /// `Queue.expireMessages` (every `expireMessagesPeriod`, A10.1): every waiting message
    /// that has expired is removed; dispatched ones (locked by a subscription) are left to
    /// their consumer. Returns how many expired.
    pub fn expire_waiting(&mut self, effects: &mut Vec<BrokerEffect>) -> usize {
        let now = self.now;
        let before = effects.len();
        for list in [&mut self.redelivered_waiting, &mut self.pending] {
            list.retain(|m| {
                let expired = is_expired(m, now);
                if expired {
                    effects.push(BrokerEffect::Expired { id: m.id });
                }
                !expired
            });
        }
        let expired = effects.len() - before;
        self.dispatch(effects);
        expired
    }

    /// Whether any waiting message carries an expiration (a later sweep could expire it).
    pub fn has_expiring_waiting(&self) -> bool {
        self.pending
            .iter()
            .chain(self.redelivered_waiting.iter())
            .any(|m| m.expiration > SimTime::ZERO)
    }

    /// `Queue.addSubscription` for a consumer with the default priority 0, not exclusive:
    /// it joins the end of the consumer list (A7.3).
    pub fn add_subscription(
        &mut self,
        consumer: usize,
        prefetch: u32,
        effects: &mut Vec<BrokerEffect>,
    ) -> SubscriptionId {
        self.add_subscription_with(consumer, prefetch, DispatchInfo::default(), effects)
    }

    /// `Queue.addSubscription`: the consumer joins the end of its priority band (A7.3) and may
    /// become the exclusive consumer (A7.5).
    pub fn add_subscription_with(
        &mut self,
        consumer: usize,
        prefetch: u32,
        info: DispatchInfo,
        effects: &mut Vec<BrokerEffect>,
    ) -> SubscriptionId {
        let id = self.subscriptions.len();
        self.subscriptions
            .push(Some(PrefetchSubscription::new(consumer, prefetch, info)));
        self.peak_dispatched.push(0);
        self.add_to_consumer_list(id);
        let subs = &self.subscriptions;
        self.selector.on_added(id, info, |s| Self::info_of(subs, s));
        self.dispatch(effects);
        id
    }

    fn info_of(subs: &[Option<PrefetchSubscription>], s: SubscriptionId) -> DispatchInfo {
        subs[s].as_ref().map_or(DispatchInfo::default(), |s| s.info)
    }

    /// Takes subscription `id` out of the queue: off the consumer list, and the exclusive
    /// role handed over if it had it (A7.5).
    fn take_subscription(&mut self, id: SubscriptionId) -> Option<PrefetchSubscription> {
        let sub = self.subscriptions.get_mut(id).and_then(Option::take)?;
        self.consumer_list.retain(|&s| s != id);
        let subs = &self.subscriptions;
        self.selector
            .on_removed(id, &self.consumer_list, |s| Self::info_of(subs, s));
        self.groups.remove_consumer(id);
        Some(sub)
    }

    /// `Queue.removeSubscription` after a connection drop (`LAST_DELIVERED_UNKNOWN`, A5.2):
    /// every unacknowledged message of the subscription, dispatched or merely prefetched, gets
    /// `redeliveryCounter++` and joins the redelivery list, ahead of never-dispatched
    /// messages (A5.1). Returns how many messages were taken back.
    pub fn remove_subscription_on_connection_drop(
        &mut self,
        id: SubscriptionId,
        effects: &mut Vec<BrokerEffect>,
    ) -> usize {
        let Some(sub) = self.take_subscription(id) else {
            return 0;
        };
        let taken = sub.dispatched.len();
        for mut m in sub.dispatched {
            m.redelivery_counter += 1;
            Self::push_waiting(self.prioritized, &mut self.redelivered_waiting, m);
        }
        self.dispatch(effects);
        taken
    }

    /// `Queue.removeSubscription` after a clean `RemoveInfo` from the client (A5.3): messages
    /// from the head of the dispatched list up to and including `last_delivered` (the last
    /// one handed to the application) get `redeliveryCounter++`; the later, merely prefetched
    /// ones do not; if `last_delivered` is not in the list, none do. All of them join the
    /// redelivery list (A5.1). Returns how many messages were taken back.
    pub fn remove_subscription_on_close(
        &mut self,
        id: SubscriptionId,
        last_delivered: Option<MessageId>,
        effects: &mut Vec<BrokerEffect>,
    ) -> usize {
        let Some(sub) = self.take_subscription(id) else {
            return 0;
        };
        let delivered_up_to = last_delivered
            .and_then(|last| sub.dispatched.iter().position(|m| m.id == last))
            .map_or(0, |pos| pos + 1);
        let taken = sub.dispatched.len();
        for (i, mut m) in sub.dispatched.into_iter().enumerate() {
            if i < delivered_up_to {
                m.redelivery_counter += 1;
            }
            Self::push_waiting(self.prioritized, &mut self.redelivered_waiting, m);
        }
        self.dispatch(effects);
        taken
    }

    /// The broker process died and a new one recovered the store (A11.4): every
    /// subscription is gone, and the messages that survive (`survives`: persistent ones,
    /// KahaDB having synced each journal write) wait again in store (sequence) order. The
    /// redelivery counter lives in memory: the store keeps the message as sent (counter 0),
    /// so by default a message that was dispatched and not acknowledged comes back with
    /// JMSRedelivered=false. With `persist_redelivered` (`persistJMSRedelivered`) the broker
    /// rewrote the stored message with counter 1 before its first dispatch
    /// (`RegionBroker.preProcessDispatch`), so every message ever dispatched comes back with
    /// counter 1. Returns the ids of the messages lost with the process (non-persistent).
    pub fn recover_after_crash(
        &mut self,
        survives: impl Fn(&MessageRef) -> bool,
        persist_redelivered: bool,
    ) -> Vec<MessageId> {
        let mut held: Vec<(MessageRef, bool)> = Vec::new();
        held.extend(
            self.pending
                .drain(..)
                .map(|m| (m, m.redelivery_counter > 0)),
        );
        held.extend(self.redelivered_waiting.drain(..).map(|m| (m, true)));
        for sub in self.subscriptions.iter_mut().filter_map(Option::take) {
            held.extend(sub.dispatched.into_iter().map(|m| (m, true)));
        }
        self.consumer_list.clear();
        held.sort_by_key(|(m, _)| m.id);
        let mut lost = Vec::new();
        for (mut m, dispatched) in held {
            if survives(&m) {
                m.redelivery_counter = u32::from(persist_redelivered && dispatched);
                self.pending.push_back(m);
            } else {
                lost.push(m.id);
            }
        }
        lost
    }

    /// `PrefetchSubscription.pullMessage` for a prefetch-0 consumer's `receive()`: the
    /// extension is set to the pull quantity (1) and a waiting message, if any, is dispatched;
    /// with no timeout the pull stays armed until one arrives (A1.5).
    pub fn pull(&mut self, id: SubscriptionId, effects: &mut Vec<BrokerEffect>) {
        if let Some(Some(sub)) = self.subscriptions.get_mut(id)
            && sub.prefetch == 0
        {
            sub.extension = 1;
            self.dispatch(effects);
        }
    }

    /// The live subscription an ack or transaction names, and whether its prefetch extension
    /// moves at all (`expand`/`contractPrefetchExtension` are no-ops with prefetch 0 or
    /// `usePrefetchExtension=false`, A6.2).
    fn acked_subscription(
        &mut self,
        id: SubscriptionId,
    ) -> Result<(&mut PrefetchSubscription, bool), AckError> {
        let use_ext = self.use_prefetch_extension;
        let sub = self
            .subscriptions
            .get_mut(id)
            .and_then(|s| s.as_mut())
            .ok_or(AckError::UnknownSubscription(id))?;
        let applies = use_ext && sub.prefetch != 0;
        Ok((sub, applies))
    }

    /// `PrefetchSubscription.acknowledge` (A6.2), then `wakeup()` + dispatch.
    pub fn acknowledge(
        &mut self,
        id: SubscriptionId,
        ack: &MessageAck,
        effects: &mut Vec<BrokerEffect>,
    ) -> Result<(), AckError> {
        let (sub, extension_applies) = self.acked_subscription(id)?;
        Self::acknowledge_window(sub, ack, extension_applies, effects)?;
        self.dispatch(effects);
        Ok(())
    }

    /// What `PrefetchSubscription.acknowledge` (A6.2) does to one window: which messages
    /// each ack type removes or dead-letters and how the extension moves
    /// (`extension_applies`: prefetch ≠ 0 and `usePrefetchExtension`). Shared with the
    /// durable topic subscription (`activemq::topic`); the caller dispatches afterwards.
    pub(crate) fn acknowledge_window(
        sub: &mut PrefetchSubscription,
        ack: &MessageAck,
        extension_applies: bool,
        effects: &mut Vec<BrokerEffect>,
    ) -> Result<(), AckError> {
        let contract = |sub: &mut PrefetchSubscription, n: u32| {
            if extension_applies {
                sub.extension = sub.extension.saturating_sub(n);
            }
        };
        match ack.ack_type {
            AckType::Standard => {
                let range = sub.range(ack)?;
                if ack.in_transaction {
                    return Err(AckError::Unmatched {
                        ack: *ack,
                        reason: "a transacted ack is applied by end_transaction",
                    });
                }
                // assertAckMatchesDispatched: outside a transaction the count must match.
                if range.len() != ack.count as usize {
                    return Err(AckError::Unmatched {
                        ack: *ack,
                        reason: "count differs from dispatched range",
                    });
                }
                let removed = range.len() as u32;
                effects.extend(
                    sub.dispatched
                        .drain(range)
                        .map(|m| BrokerEffect::Consumed { id: m.id }),
                );
                contract(sub, removed);
            }
            AckType::Individual => {
                let pos = sub.position(ack.last).ok_or(AckError::Unmatched {
                    ack: *ack,
                    reason: "message not dispatched",
                })?;
                let m = sub.dispatched.remove(pos).expect("position is in range");
                contract(sub, 1);
                effects.push(BrokerEffect::Consumed { id: m.id });
            }
            AckType::Delivered => {
                sub.position(ack.last).ok_or(AckError::Unmatched {
                    ack: *ack,
                    reason: "delivered ack for a message not dispatched",
                })?;
                if extension_applies {
                    sub.extension = sub.extension.saturating_add(ack.count);
                }
            }
            AckType::Poison => {
                let range = sub.range(ack)?;
                for m in sub.dispatched.drain(range) {
                    effects.push(BrokerEffect::DeadLettered { id: m.id });
                }
                contract(sub, 1);
            }
            AckType::Redelivered => {
                sub.range(ack)?;
            }
            AckType::Expired => {
                // Like POISON, but the range expires (A6.2).
                let range = sub.range(ack)?;
                for m in sub.dispatched.drain(range) {
                    effects.push(BrokerEffect::Expired { id: m.id });
                }
                contract(sub, 1);
            }
        }
        Ok(())
    }

    /// COMMIT or ROLLBACK of a local transaction whose STANDARD ack (sent by `beforeEnd`
    /// just before it) is `ack`. The transacted ack registered a synchronization per node
    /// (`registerRemoveSync`, A6.2): at commit each node is removed and the extension
    /// contracted by one; at rollback the extension is contracted by one per node and the
    /// messages stay dispatched (the client redelivers them locally).
    pub fn end_transaction(
        &mut self,
        id: SubscriptionId,
        ack: Option<&MessageAck>,
        commit: bool,
        effects: &mut Vec<BrokerEffect>,
    ) -> Result<(), AckError> {
        let (sub, extension_applies) = self.acked_subscription(id)?;
        if let Some(ack) = ack {
            Self::end_transaction_window(sub, ack, commit, extension_applies, effects)?;
        }
        self.dispatch(effects);
        Ok(())
    }

    /// What [`Self::end_transaction`] does to one window (shared with the durable topic
    /// subscription); the caller dispatches afterwards.
    pub(crate) fn end_transaction_window(
        sub: &mut PrefetchSubscription,
        ack: &MessageAck,
        commit: bool,
        extension_applies: bool,
        effects: &mut Vec<BrokerEffect>,
    ) -> Result<(), AckError> {
        // Inside a transaction only the ends of the range are checked, not the count.
        let range = sub.range(ack)?;
        let nodes = range.len() as u32;
        if commit {
            effects.extend(
                sub.dispatched
                    .drain(range)
                    .map(|m| BrokerEffect::Consumed { id: m.id }),
            );
        }
        if extension_applies {
            sub.extension = sub.extension.saturating_sub(nodes);
        }
        Ok(())
    }

    /// `Queue.doActualDispatch` (A7): each waiting message, redeliveries first, goes to the
    /// first consumer in the list that is not full, that the dispatch selector allows (the
    /// exclusive consumer, if one exists, A7.5) and that passes the message-group check
    /// (A7.6); the receiver then moves to the end of its priority band (round robin, A7.4)
    /// when there is more than one consumer and it is not the exclusive one. A message no
    /// candidate may take (its group's owner is full) is passed over and the next one tried.
    /// Stops when no consumer can take anything or nothing waits.
    ///
    /// The real broker looks at up to `maxPageSize` (200) paged-in messages per pass; the model
    /// looks at every waiting message, which differs only when more than 200 messages wait
    /// behind groups whose owners are full.
    fn dispatch(&mut self, effects: &mut Vec<BrokerEffect>) {
        let mut cursor = WaitingCursor::default();
        while let Some((from_redelivered, message)) = self.peek_waiting(cursor) {
            // Page-in (which needs a consumer) drops an expired message (A10.1).
            if !self.consumer_list.is_empty() && is_expired(&message, self.now) {
                self.take_waiting(cursor, from_redelivered);
                effects.push(BrokerEffect::Expired { id: message.id });
                continue;
            }
            let target = (0..self.consumer_list.len()).find(|&i| {
                let s = self.consumer_list[i];
                self.is_candidate(s) && message.group.is_none_or(|g| self.groups.assign(s, g))
            });
            let Some(pos) = target else {
                // Without a group the message was refused only because no consumer can take
                // anything now; with one, a later message of another group may still go.
                if message.group.is_none()
                    || !self.consumer_list.iter().any(|&s| self.is_candidate(s))
                {
                    return;
                }
                if from_redelivered {
                    cursor.redelivered += 1;
                } else {
                    cursor.pending += 1;
                }
                continue;
            };
            let message = self.take_waiting(cursor, from_redelivered);
            let id = self.consumer_list[pos];
            let sub = self.subscriptions[id]
                .as_mut()
                .expect("listed subscriptions are live");
            sub.dispatched.push_back(message);
            self.peak_dispatched[id] = self.peak_dispatched[id].max(sub.dispatched.len());
            if sub.prefetch == 0 {
                sub.extension = sub.extension.saturating_sub(1);
            }
            effects.push(BrokerEffect::Dispatched {
                subscription: id,
                message,
            });
            if self.consumer_list.len() > 1 && !self.selector.is_exclusive_consumer(id) {
                self.consumer_list.remove(pos);
                self.add_to_consumer_list(id);
            }
        }
    }

    /// Removes the waiting message `cursor` points at in the list it came from.
    fn take_waiting(&mut self, cursor: WaitingCursor, from_redelivered: bool) -> MessageRef {
        if from_redelivered {
            self.redelivered_waiting.remove(cursor.redelivered)
        } else {
            self.pending.remove(cursor.pending)
        }
        .expect("the cursor points at a waiting message")
    }

    /// The next waiting message to try from `cursor`, and whether it is a redelivery:
    /// redeliveries first (A5.1), or with `prioritizedMessages` the higher JMSPriority first,
    /// redeliveries first within a priority (A10.2).
    fn peek_waiting(&self, cursor: WaitingCursor) -> Option<(bool, MessageRef)> {
        let redelivered = self.redelivered_waiting.get(cursor.redelivered);
        let pending = self.pending.get(cursor.pending);
        match (redelivered, pending) {
            (Some(r), Some(p)) if self.prioritized && p.priority > r.priority => Some((false, *p)),
            (Some(r), _) => Some((true, *r)),
            (None, Some(p)) => Some((false, *p)),
            (None, None) => None,
        }
    }

    /// Not full and allowed by the dispatch selector.
    fn is_candidate(&self, s: SubscriptionId) -> bool {
        self.selector.can_select(s)
            && !self.subscriptions[s]
                .as_ref()
                .expect("listed subscriptions are live")
                .is_full()
    }

    /// `Queue.addToConsumerList` (A7.3): at the end of its priority band; once message groups
    /// are in use, `orderedCompare` also puts consumers owning fewer groups first within a
    /// band (`Collections.sort` of the whole list, stable).
    fn add_to_consumer_list(&mut self, id: SubscriptionId) {
        let subs = &self.subscriptions;
        add_to_consumer_list(&mut self.consumer_list, id, |s| {
            Self::info_of(subs, s).priority
        });
        if self.groups.in_use() {
            self.sort_consumer_list();
        }
    }

    fn sort_consumer_list(&mut self) {
        let subs = &self.subscriptions;
        let groups = &self.groups;
        self.consumer_list.sort_by_key(|&s| {
            (
                std::cmp::Reverse(Self::info_of(subs, s).priority),
                groups.assigned_groups(s),
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimTime;

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

    fn dispatched_to(effects: &[BrokerEffect]) -> Vec<(SubscriptionId, MessageId)> {
        effects
            .iter()
            .filter_map(|e| match e {
                BrokerEffect::Dispatched {
                    subscription,
                    message,
                } => Some((*subscription, message.id)),
                _ => None,
            })
            .collect()
    }

    fn ack(ack_type: AckType, first: MessageId, last: MessageId, count: u32) -> MessageAck {
        MessageAck {
            ack_type,
            first: Some(first),
            last,
            count,
            in_transaction: false,
        }
    }

    #[test]
    fn a7_equal_consumers_alternate_one_message_each() {
        let mut q = Queue::new(true);
        let mut fx = Vec::new();
        let a = q.add_subscription(0, 10, &mut fx);
        let b = q.add_subscription(1, 10, &mut fx);
        for i in 1..=4 {
            q.enqueue(msg(i), &mut fx);
        }
        assert_eq!(dispatched_to(&fx), vec![(a, 1), (b, 2), (a, 3), (b, 4)]);
    }

    #[test]
    fn a7_7_an_early_consumer_takes_a_full_prefetch_of_backlog() {
        let mut q = Queue::new(true);
        let mut fx = Vec::new();
        for i in 1..=5 {
            q.enqueue(msg(i), &mut fx);
        }
        let a = q.add_subscription(0, 3, &mut fx);
        let b = q.add_subscription(1, 3, &mut fx);
        assert_eq!(
            dispatched_to(&fx),
            vec![(a, 1), (a, 2), (a, 3), (b, 4), (b, 5)]
        );
    }

    #[test]
    fn a6_1_window_is_prefetch_plus_extension_minus_dispatched() {
        let mut q = Queue::new(true);
        let mut fx = Vec::new();
        let s = q.add_subscription(0, 2, &mut fx);
        for i in 1..=5 {
            q.enqueue(msg(i), &mut fx);
        }
        assert_eq!(dispatched_to(&fx).len(), 2);
        // DELIVERED(2) widens the window by 2 without removing anything (A6.2).
        fx.clear();
        q.acknowledge(s, &ack(AckType::Delivered, 2, 2, 2), &mut fx)
            .unwrap();
        assert_eq!(dispatched_to(&fx), vec![(s, 3), (s, 4)]);
        assert_eq!(q.subscription(s).unwrap().extension, 2);
        // STANDARD for 1..3 removes three nodes and contracts the extension by one each,
        // flooring at zero: window = 2 + 0 - 1 → one more message.
        fx.clear();
        q.acknowledge(s, &ack(AckType::Standard, 1, 3, 3), &mut fx)
            .unwrap();
        assert_eq!(q.subscription(s).unwrap().extension, 0);
        assert_eq!(dispatched_to(&fx), vec![(s, 5)]);
        assert_eq!(q.subscription(s).unwrap().dispatched.len(), 2);
    }

    #[test]
    fn a6_2_no_extension_when_the_policy_is_off() {
        let mut q = Queue::new(false);
        let mut fx = Vec::new();
        let s = q.add_subscription(0, 2, &mut fx);
        for i in 1..=4 {
            q.enqueue(msg(i), &mut fx);
        }
        fx.clear();
        q.acknowledge(s, &ack(AckType::Delivered, 2, 2, 2), &mut fx)
            .unwrap();
        assert!(dispatched_to(&fx).is_empty());
        assert!(q.subscription(s).unwrap().is_full());
    }

    #[test]
    fn a6_2_standard_ack_count_must_match_the_range() {
        let mut q = Queue::new(true);
        let mut fx = Vec::new();
        let s = q.add_subscription(0, 5, &mut fx);
        for i in 1..=3 {
            q.enqueue(msg(i), &mut fx);
        }
        let err = q.acknowledge(s, &ack(AckType::Standard, 1, 3, 2), &mut fx);
        assert!(matches!(err, Err(AckError::Unmatched { .. })));
    }

    #[test]
    fn a6_2_poison_dead_letters_the_range_and_contracts_once() {
        let mut q = Queue::new(true);
        let mut fx = Vec::new();
        let s = q.add_subscription(0, 3, &mut fx);
        for i in 1..=3 {
            q.enqueue(msg(i), &mut fx);
        }
        q.acknowledge(s, &ack(AckType::Delivered, 3, 3, 3), &mut fx)
            .unwrap();
        fx.clear();
        q.acknowledge(s, &ack(AckType::Poison, 1, 2, 2), &mut fx)
            .unwrap();
        assert_eq!(
            fx,
            vec![
                BrokerEffect::DeadLettered { id: 1 },
                BrokerEffect::DeadLettered { id: 2 }
            ]
        );
        assert_eq!(q.subscription(s).unwrap().extension, 2);
    }

    #[test]
    fn a3_3_redelivered_ack_changes_nothing() {
        let mut q = Queue::new(true);
        let mut fx = Vec::new();
        let s = q.add_subscription(0, 1, &mut fx);
        q.enqueue(msg(1), &mut fx);
        q.enqueue(msg(2), &mut fx);
        fx.clear();
        q.acknowledge(s, &ack(AckType::Redelivered, 1, 1, 1), &mut fx)
            .unwrap();
        assert!(fx.is_empty());
        assert_eq!(q.subscription(s).unwrap().dispatched.len(), 1);
    }

    #[test]
    fn a6_2_individual_ack_removes_one_node() {
        let mut q = Queue::new(true);
        let mut fx = Vec::new();
        let s = q.add_subscription(0, 3, &mut fx);
        for i in 1..=3 {
            q.enqueue(msg(i), &mut fx);
        }
        fx.clear();
        q.acknowledge(s, &MessageAck::single(AckType::Individual, 2), &mut fx)
            .unwrap();
        assert_eq!(fx, vec![BrokerEffect::Consumed { id: 2 }]);
        let ids: Vec<_> = q
            .subscription(s)
            .unwrap()
            .dispatched
            .iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, vec![1, 3]);
    }

    #[test]
    fn a5_2_connection_drop_increments_every_unacked_and_redelivers_first() {
        let mut q = Queue::new(true);
        let mut fx = Vec::new();
        let a = q.add_subscription(0, 2, &mut fx);
        for i in 1..=4 {
            q.enqueue(msg(i), &mut fx);
        }
        // a holds 1 and 2; 3 and 4 wait.
        fx.clear();
        let b = q.add_subscription(1, 1, &mut fx);
        assert_eq!(dispatched_to(&fx), vec![(b, 3)]);
        fx.clear();
        assert_eq!(q.remove_subscription_on_connection_drop(a, &mut fx), 2);
        // b is full; nothing moves yet. The redeliveries go first once b acks.
        assert!(fx.is_empty());
        q.acknowledge(b, &MessageAck::single(AckType::Standard, 3), &mut fx)
            .unwrap();
        let dispatched: Vec<MessageRef> = fx
            .iter()
            .filter_map(|e| match e {
                BrokerEffect::Dispatched { message, .. } => Some(*message),
                _ => None,
            })
            .collect();
        assert_eq!(dispatched.len(), 1);
        assert_eq!((dispatched[0].id, dispatched[0].redelivery_counter), (1, 1));
    }

    #[test]
    fn a5_3_clean_close_increments_only_up_to_the_last_delivered() {
        let mut q = Queue::new(true);
        let mut fx = Vec::new();
        let a = q.add_subscription(0, 3, &mut fx);
        for i in 1..=3 {
            q.enqueue(msg(i), &mut fx);
        }
        // a handed 1 and 2 to its application; 3 was only prefetched.
        assert_eq!(q.remove_subscription_on_close(a, Some(2), &mut fx), 3);
        fx.clear();
        let b = q.add_subscription(1, 5, &mut fx);
        let counters: Vec<(MessageId, u32)> = fx
            .iter()
            .filter_map(|e| match e {
                BrokerEffect::Dispatched { message, .. } => {
                    Some((message.id, message.redelivery_counter))
                }
                _ => None,
            })
            .collect();
        assert_eq!(counters, vec![(1, 1), (2, 1), (3, 0)]);
        assert!(q.subscription(b).is_some());
        // A last-delivered id that is not in the list increments nothing.
        let mut q = Queue::new(true);
        let c = q.add_subscription(0, 2, &mut fx);
        q.enqueue(msg(1), &mut fx);
        q.remove_subscription_on_close(c, Some(9), &mut fx);
        fx.clear();
        q.add_subscription(1, 2, &mut fx);
        assert!(matches!(
            fx[..],
            [BrokerEffect::Dispatched {
                message: MessageRef {
                    id: 1,
                    redelivery_counter: 0,
                    ..
                },
                ..
            }]
        ));
    }

    #[test]
    fn a1_5_prefetch_zero_dispatches_only_on_pull() {
        let mut q = Queue::new(true);
        let mut fx = Vec::new();
        let s = q.add_subscription(0, 0, &mut fx);
        q.enqueue(msg(1), &mut fx);
        q.enqueue(msg(2), &mut fx);
        assert!(fx.is_empty());
        q.pull(s, &mut fx);
        assert_eq!(dispatched_to(&fx), vec![(s, 1)]);
        assert!(q.subscription(s).unwrap().is_full());
        // A pull with nothing waiting stays armed.
        fx.clear();
        q.acknowledge(s, &MessageAck::single(AckType::Standard, 1), &mut fx)
            .unwrap();
        q.pull(s, &mut fx);
        q.pull(s, &mut fx);
        assert_eq!(dispatched_to(&fx), vec![(s, 2)]);
        fx.clear();
        q.acknowledge(s, &MessageAck::single(AckType::Standard, 2), &mut fx)
            .unwrap();
        q.pull(s, &mut fx);
        q.enqueue(msg(3), &mut fx);
        assert_eq!(dispatched_to(&fx), vec![(s, 3)]);
    }
}
