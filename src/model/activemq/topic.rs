//! The broker side of one ActiveMQ topic: `Topic.dispatch`, the non-durable
//! `TopicSubscription` and the `DurableTopicSubscription` (semantics.md A5.6, A6.1, A8.2, A9).
//!
//! Every subscriber gets its own copy of each message. A copy is what the broker dispatches,
//! what a client acknowledges and what the ledger gives a fate: each copy has its own id
//! ([`MessageRef::id`]), while [`MessageRef::message_id`] names the message it copies. A
//! subscriber that has no subscription on the broker when a message is published gets no copy:
//! it *missed* the message (a non-durable subscriber offline, any subscriber not yet
//! subscribed, a durable one offline for a NON_PERSISTENT message).
//!
//! As for the queue, the broker takes no time and reports what it did through
//! [`BrokerEffect`]s.

use crate::model::activemq::ack::{AckType, MessageAck};
use crate::model::activemq::broker::{
    AckError, BrokerEffect, PrefetchSubscription, Queue, SubscriptionId,
};
use crate::model::activemq::dispatch_selector::DispatchInfo;
use crate::model::config::{
    DEFAULT_DURABLE_TOPIC_PREFETCH, DEFAULT_TOPIC_PREFETCH, OPTIMIZE_DURABLE_TOPIC_PREFETCH,
    SubscriptionKind, TopicPolicy,
};
use crate::model::ledger::MessageLedger;
use crate::model::message::MessageRef;
use std::collections::VecDeque;

/// `PolicyEntry.configurePrefetch` (A1.3): with a policy entry for the topic, a subscription
/// whose prefetch equals a client default constant of its kind gets the policy's value
/// instead — `topicPrefetch` 32767 for a non-durable one, `durableTopicPrefetch` 100 for a
/// durable one asking 100 or `optimizeDurableTopicPrefetch` 1000 (the stock `activemq.xml`
/// sets neither, so they keep their defaults). Only the broker's copy of the prefetch changes:
/// the client keeps the one it asked for (and batches its acks on it, A2.6).
pub fn configure_prefetch(kind: SubscriptionKind, requested: u32, policy_entry: bool) -> u32 {
    if !policy_entry {
        return requested;
    }
    match kind {
        SubscriptionKind::NonDurable if requested == DEFAULT_TOPIC_PREFETCH => {
            DEFAULT_TOPIC_PREFETCH
        }
        SubscriptionKind::Durable
            if requested == DEFAULT_DURABLE_TOPIC_PREFETCH
                || requested == OPTIMIZE_DURABLE_TOPIC_PREFETCH =>
        {
            DEFAULT_DURABLE_TOPIC_PREFETCH
        }
        _ => requested,
    }
}

/// `TopicSubscription`: a non-durable subscriber, alive as long as its connection.
///
/// Its window is the [`PrefetchSubscription`] arithmetic with dispatched = dispatchedCount −
/// dequeueCount (A6.1): with `useTopicSubscriptionInflightStats` (default true) the broker
/// keeps the dispatched nodes and dequeues one per acknowledged node, so the list length is
/// exactly that difference.
#[derive(Debug, Clone)]
pub struct TopicSubscription {
    id: SubscriptionId,
    pub window: PrefetchSubscription,
    /// `matched`: copies that could not be dispatched at once, oldest first (A9.1).
    pub matched: VecDeque<MessageRef>,
    /// `maximumPendingMessages` L; `None` = −1, unlimited (A9.2).
    pending_limit: Option<u32>,
    /// Copies dropped by the pending limit (`discarded`).
    pub discarded: u64,
    /// `isSlowConsumer()`: matched grew beyond P (P > 1), cleared by a direct dispatch (A8.2).
    pub slow: bool,
    /// Largest dispatched-list length reached.
    pub peak: usize,
}

impl TopicSubscription {
    pub fn new(
        id: SubscriptionId,
        consumer: usize,
        prefetch: u32,
        pending_limit: Option<u32>,
    ) -> Self {
        Self {
            id,
            window: PrefetchSubscription::new(consumer, prefetch, DispatchInfo::default()),
            matched: VecDeque::new(),
            pending_limit,
            discarded: 0,
            slow: false,
            peak: 0,
        }
    }

    fn dispatch(&mut self, copy: MessageRef, effects: &mut Vec<BrokerEffect>) {
        dispatch_into(&mut self.window, self.id, copy, effects);
        self.peak = self.peak.max(self.window.dispatched.len());
    }

    /// `TopicSubscription.add` (A9.1, A9.3, A8.2): dispatched at once if the window has room
    /// and nothing is matched; otherwise appended to `matched`, the oldest evicted while
    /// `matched > L`, then as much of `matched` dispatched as the window takes. With L = 0
    /// a copy that cannot be dispatched at once is not kept at all.
    pub fn add(&mut self, copy: MessageRef, effects: &mut Vec<BrokerEffect>) {
        if !self.window.is_full() && self.matched.is_empty() {
            self.dispatch(copy, effects);
            self.slow = false;
            return;
        }
        let prefetch = self.window.prefetch as usize;
        if prefetch > 1 && self.matched.len() > prefetch {
            self.slow = true;
        }
        if self.pending_limit == Some(0) {
            self.discarded += 1;
            effects.push(BrokerEffect::Discarded { id: copy.id });
            return;
        }
        self.matched.push_back(copy);
        if let Some(limit) = self.pending_limit {
            while self.matched.len() > limit as usize {
                let oldest = self.matched.pop_front().expect("matched > limit ≥ 0");
                self.discard(oldest, effects);
            }
        }
        self.dispatch_matched(effects);
    }

    /// `TopicSubscription.discard`: counted as dequeued and handed to
    /// `sendToDeadLetterQueue`, which keeps a PERSISTENT message (→ `ActiveMQ.DLQ`) and drops a
    /// NON_PERSISTENT one (`processNonPersistent=false`, A4.2, A9.3).
    fn discard(&mut self, copy: MessageRef, effects: &mut Vec<BrokerEffect>) {
        self.discarded += 1;
        effects.push(if copy.persistent {
            BrokerEffect::DeadLettered { id: copy.id }
        } else {
            BrokerEffect::Discarded { id: copy.id }
        });
    }

    /// `TopicSubscription.dispatchMatched`: oldest first while the window has room.
    fn dispatch_matched(&mut self, effects: &mut Vec<BrokerEffect>) {
        while !self.window.is_full() {
            let Some(copy) = self.matched.pop_front() else {
                return;
            };
            self.dispatch(copy, effects);
        }
    }

    /// Removes the dispatched nodes an ack names (`updateStatsOnAck` with in-flight stats):
    /// from `first` (or the head) through `last`, or to the end of the list if `last` is not
    /// there; nothing if `first` is not there. Unlike a queue, the count is not checked.
    fn remove_range(&mut self, ack: &MessageAck) -> Vec<MessageRef> {
        let dispatched = &mut self.window.dispatched;
        let start = match ack.first {
            None => Some(0),
            Some(first) => dispatched.iter().position(|m| m.id == first),
        };
        let Some(start) = start else {
            return Vec::new();
        };
        let end = dispatched
            .iter()
            .skip(start)
            .position(|m| m.id == ack.last)
            .map_or(dispatched.len(), |i| start + i + 1);
        dispatched.drain(start..end).collect()
    }

    /// `TopicSubscription.acknowledge`, then `dispatchMatched()`. STANDARD / INDIVIDUAL
    /// remove their range, one extension step per node; POISON also contracts by its count
    /// and, the subscription being non-durable, the copies are simply gone (no DLQ on this
    /// path); DELIVERED widens the window; REDELIVERED does nothing.
    pub fn acknowledge(
        &mut self,
        ack: &MessageAck,
        extension_applies: bool,
        effects: &mut Vec<BrokerEffect>,
    ) -> Result<(), AckError> {
        let contract = |w: &mut PrefetchSubscription, n: usize| {
            if extension_applies {
                w.extension = w.extension.saturating_sub(n as u32);
            }
        };
        match ack.ack_type {
            AckType::Standard | AckType::Individual => {
                let removed = self.remove_range(ack);
                contract(&mut self.window, removed.len());
                effects.extend(removed.iter().map(|m| BrokerEffect::Consumed { id: m.id }));
            }
            AckType::Poison => {
                let removed = self.remove_range(ack);
                contract(&mut self.window, removed.len() + ack.count as usize);
                effects.extend(removed.iter().map(|m| BrokerEffect::Discarded { id: m.id }));
            }
            AckType::Delivered => {
                if extension_applies {
                    self.window.extension = self.window.extension.saturating_add(ack.count);
                }
            }
            AckType::Redelivered => return Ok(()),
            AckType::Expired => {
                return Err(AckError::Unmatched {
                    ack: *ack,
                    reason: "message expiry is not modelled on topics",
                });
            }
        }
        self.dispatch_matched(effects);
        Ok(())
    }

    /// The end of a local transaction whose STANDARD ack is `ack` (`updateStatsOnAck`'s
    /// synchronization): a commit contracts the extension by the ack's count and removes the
    /// range; a rollback only contracts.
    pub fn end_transaction(
        &mut self,
        ack: &MessageAck,
        commit: bool,
        extension_applies: bool,
        effects: &mut Vec<BrokerEffect>,
    ) {
        if extension_applies {
            self.window.extension = self.window.extension.saturating_sub(ack.count);
        }
        if commit {
            let removed = self.remove_range(ack);
            effects.extend(removed.iter().map(|m| BrokerEffect::Consumed { id: m.id }));
        }
        self.dispatch_matched(effects);
    }

    /// The connection is gone: a non-durable subscription's dispatched and matched copies are
    /// discarded (A5.6). Returns how many.
    pub fn close(self, effects: &mut Vec<BrokerEffect>) -> usize {
        let copies = self.window.dispatched.into_iter().chain(self.matched);
        let before = effects.len();
        effects.extend(copies.map(|m| BrokerEffect::Discarded { id: m.id }));
        effects.len() - before
    }
}

/// `DurableTopicSubscription`: a `PrefetchSubscription` whose pending messages outlive its
/// connection (A5.6). While offline it takes no new copies itself (`add` returns when
/// inactive); the store keeps every PERSISTENT message for it and `Topic.activate` recovers
/// them, which the model folds into one `pending` list. NON_PERSISTENT messages are not stored,
/// so an offline durable subscriber misses them, and loses those it held when it went offline.
#[derive(Debug, Clone)]
pub struct DurableTopicSubscription {
    pub window: PrefetchSubscription,
    /// Copies not yet dispatched, oldest first (the durable cursor).
    pub pending: VecDeque<MessageRef>,
    /// The broker subscription of the current connection; `None` while offline.
    pub active: Option<SubscriptionId>,
    /// Largest dispatched-list length reached during the current activation.
    pub peak: usize,
}

impl DurableTopicSubscription {
    pub fn new(consumer: usize) -> Self {
        Self {
            window: PrefetchSubscription::new(consumer, 0, DispatchInfo::default()),
            pending: VecDeque::new(),
            active: None,
            peak: 0,
        }
    }

    /// Whether a message published now gets a copy for this subscription.
    pub fn takes(&self, persistent: bool) -> bool {
        self.active.is_some() || persistent
    }

    /// A new connection subscribes again under the same name: the window starts afresh with
    /// the new consumer's prefetch and the kept copies are dispatched.
    pub fn activate(&mut self, id: SubscriptionId, prefetch: u32, effects: &mut Vec<BrokerEffect>) {
        self.active = Some(id);
        self.window.prefetch = prefetch;
        self.window.extension = 0;
        self.peak = 0;
        self.dispatch_pending(effects);
    }

    /// `DurableTopicSubscription.deactivate` after a connection drop
    /// (`LAST_DELIVERED_UNKNOWN`, A5.2, A5.6): every dispatched, unacknowledged copy gets
    /// `redeliveryCounter++` and returns to the head of `pending` in order; the extension is
    /// reset. Only the store outlives the connection (the cursor is stopped and recovers from
    /// the store on the next activation), so NON_PERSISTENT copies, dispatched or pending, are
    /// discarded. Returns how many dispatched copies were taken back.
    pub fn deactivate(&mut self, effects: &mut Vec<BrokerEffect>) -> usize {
        self.active = None;
        self.window.extension = 0;
        let taken = self.window.dispatched.len();
        for mut m in self.window.dispatched.drain(..).rev() {
            m.redelivery_counter += 1;
            self.pending.push_front(m);
        }
        self.pending.retain(|m| {
            if !m.persistent {
                effects.push(BrokerEffect::Discarded { id: m.id });
            }
            m.persistent
        });
        taken
    }

    /// `PrefetchSubscription.add` → pending, then dispatch if active.
    pub fn add(&mut self, copy: MessageRef, effects: &mut Vec<BrokerEffect>) {
        self.pending.push_back(copy);
        self.dispatch_pending(effects);
    }

    /// `dispatchPending`, only while active.
    pub fn dispatch_pending(&mut self, effects: &mut Vec<BrokerEffect>) {
        let Some(id) = self.active else { return };
        while !self.window.is_full() {
            let Some(copy) = self.pending.pop_front() else {
                return;
            };
            dispatch_into(&mut self.window, id, copy, effects);
            self.peak = self.peak.max(self.window.dispatched.len());
        }
    }
}

/// One dispatch through a window: onto the dispatched list, one pull credit used with
/// prefetch 0 (A1.5).
fn dispatch_into(
    window: &mut PrefetchSubscription,
    subscription: SubscriptionId,
    message: MessageRef,
    effects: &mut Vec<BrokerEffect>,
) {
    window.dispatched.push_back(message);
    if window.prefetch == 0 {
        window.extension = window.extension.saturating_sub(1);
    }
    effects.push(BrokerEffect::Dispatched {
        subscription,
        message,
    });
}

/// What a broker subscription id refers to.
#[derive(Debug, Clone)]
enum Subscription {
    NonDurable(TopicSubscription),
    /// The durable subscription of this consumer instance, while this id is its connection.
    Durable {
        consumer: usize,
    },
    /// Closed or deactivated, with the peak of dispatched copies it reached.
    Gone {
        peak: usize,
    },
}

/// One ActiveMQ topic: its subscribers, one per consumer instance.
#[derive(Debug)]
pub struct Topic {
    policy: TopicPolicy,
    use_prefetch_extension: bool,
    /// How each consumer instance subscribes.
    kinds: Vec<SubscriptionKind>,
    /// Every broker subscription ever made, by id.
    subscriptions: Vec<Subscription>,
    /// Each consumer instance's live subscription.
    live: Vec<Option<SubscriptionId>>,
    /// Each consumer instance's durable subscription, once it has subscribed.
    durable: Vec<Option<DurableTopicSubscription>>,
    /// Copies subscribers did not get because they had no subscription then.
    pub missed: u64,
    /// Copies dropped by a pending-message limit, over closed subscriptions too.
    discarded_closed: u64,
}

impl Topic {
    pub fn new(
        policy: TopicPolicy,
        use_prefetch_extension: bool,
        kinds: Vec<SubscriptionKind>,
    ) -> Self {
        let n = kinds.len();
        Self {
            policy,
            use_prefetch_extension,
            kinds,
            subscriptions: Vec::new(),
            live: vec![None; n],
            durable: vec![None; n],
            missed: 0,
            discarded_closed: 0,
        }
    }

    /// Copies dropped by the pending-message limit (A9.3).
    pub fn discarded(&self) -> u64 {
        self.discarded_closed
            + self
                .subscriptions
                .iter()
                .map(|s| match s {
                    Subscription::NonDurable(t) => t.discarded,
                    _ => 0,
                })
                .sum::<u64>()
    }

    /// `Topic.dispatch`: a published message becomes one copy per subscriber that has a
    /// subscription (or, durable and offline, a store entry), each with its own ledger id.
    /// `message.id` is ignored.
    pub fn publish(
        &mut self,
        message: MessageRef,
        ledger: &mut MessageLedger,
        effects: &mut Vec<BrokerEffect>,
    ) {
        for consumer in 0..self.kinds.len() {
            let takes = match self.kinds[consumer] {
                SubscriptionKind::NonDurable => self.live[consumer].is_some(),
                SubscriptionKind::Durable => self.durable[consumer]
                    .as_ref()
                    .is_some_and(|d| d.takes(message.persistent)),
            };
            if !takes {
                self.missed += 1;
                continue;
            }
            let copy = MessageRef {
                id: ledger.accept(),
                ..message
            };
            match self.kinds[consumer] {
                SubscriptionKind::NonDurable => {
                    let id = self.live[consumer].expect("checked above");
                    if let Subscription::NonDurable(t) = &mut self.subscriptions[id] {
                        t.add(copy, effects);
                    }
                }
                SubscriptionKind::Durable => self.durable[consumer]
                    .as_mut()
                    .expect("checked above")
                    .add(copy, effects),
            }
        }
    }

    /// A consumer's `ConsumerInfo` arrived: a new non-durable subscription, or the
    /// (re)activation of its durable one. `prefetch` is what the client asked for; the
    /// window uses it after [`configure_prefetch`].
    pub fn add_subscription(
        &mut self,
        consumer: usize,
        prefetch: u32,
        effects: &mut Vec<BrokerEffect>,
    ) -> SubscriptionId {
        let prefetch = configure_prefetch(self.kinds[consumer], prefetch, self.policy.policy_entry);
        let id = self.subscriptions.len();
        self.live[consumer] = Some(id);
        match self.kinds[consumer] {
            SubscriptionKind::NonDurable => {
                let limit = self.policy.pending_message_limit;
                self.subscriptions
                    .push(Subscription::NonDurable(TopicSubscription::new(
                        id, consumer, prefetch, limit,
                    )));
            }
            SubscriptionKind::Durable => {
                self.subscriptions.push(Subscription::Durable { consumer });
                self.durable[consumer]
                    .get_or_insert_with(|| DurableTopicSubscription::new(consumer))
                    .activate(id, prefetch, effects);
            }
        }
        id
    }

    /// The subscription's connection dropped: a non-durable subscription is closed and its
    /// copies discarded, a durable one deactivated keeping them (A5.6). Returns how many
    /// dispatched-or-matched copies were discarded or taken back.
    pub fn remove_subscription_on_connection_drop(
        &mut self,
        id: SubscriptionId,
        effects: &mut Vec<BrokerEffect>,
    ) -> usize {
        let Some(slot) = self.subscriptions.get_mut(id) else {
            return 0;
        };
        let (consumer, taken, peak) = match std::mem::replace(slot, Subscription::Gone { peak: 0 })
        {
            Subscription::NonDurable(t) => {
                self.discarded_closed += t.discarded;
                let (consumer, peak) = (t.window.consumer, t.peak);
                (consumer, t.close(effects), peak)
            }
            Subscription::Durable { consumer } => {
                let d = self.durable[consumer]
                    .as_mut()
                    .expect("durable subscription");
                let peak = d.peak;
                (consumer, d.deactivate(effects), peak)
            }
            gone @ Subscription::Gone { .. } => {
                *slot = gone;
                return 0;
            }
        };
        self.subscriptions[id] = Subscription::Gone { peak };
        if self.live[consumer] == Some(id) {
            self.live[consumer] = None;
        }
        taken
    }

    /// An ack from subscription `id`'s consumer.
    pub fn acknowledge(
        &mut self,
        id: SubscriptionId,
        ack: &MessageAck,
        effects: &mut Vec<BrokerEffect>,
    ) -> Result<(), AckError> {
        let use_ext = self.use_prefetch_extension;
        match self.subscriptions.get_mut(id) {
            Some(Subscription::NonDurable(t)) => {
                let applies = use_ext && t.window.prefetch != 0;
                t.acknowledge(ack, applies, effects)
            }
            Some(Subscription::Durable { consumer }) => {
                let d = self.durable[*consumer]
                    .as_mut()
                    .expect("durable subscription");
                let applies = use_ext && d.window.prefetch != 0;
                Queue::acknowledge_window(&mut d.window, ack, applies, effects)?;
                d.dispatch_pending(effects);
                Ok(())
            }
            _ => Err(AckError::UnknownSubscription(id)),
        }
    }

    /// COMMIT or ROLLBACK of a transaction whose STANDARD ack is `ack`.
    pub fn end_transaction(
        &mut self,
        id: SubscriptionId,
        ack: Option<&MessageAck>,
        commit: bool,
        effects: &mut Vec<BrokerEffect>,
    ) -> Result<(), AckError> {
        let Some(ack) = ack else { return Ok(()) };
        match self.subscriptions.get_mut(id) {
            Some(Subscription::NonDurable(t)) => {
                let applies = self.use_prefetch_extension && t.window.prefetch != 0;
                t.end_transaction(ack, commit, applies, effects);
                Ok(())
            }
            Some(Subscription::Durable { consumer }) => {
                let d = self.durable[*consumer]
                    .as_mut()
                    .expect("durable subscription");
                let applies = self.use_prefetch_extension && d.window.prefetch != 0;
                Queue::end_transaction_window(&mut d.window, ack, commit, applies, effects)?;
                d.dispatch_pending(effects);
                Ok(())
            }
            _ => Err(AckError::UnknownSubscription(id)),
        }
    }

    /// `pullMessage` of a prefetch-0 `receive()`: one credit, then dispatch (A1.5).
    pub fn pull(&mut self, id: SubscriptionId, effects: &mut Vec<BrokerEffect>) {
        match self.subscriptions.get_mut(id) {
            Some(Subscription::NonDurable(t)) if t.window.prefetch == 0 => {
                t.window.extension = 1;
                t.dispatch_matched(effects);
            }
            Some(Subscription::Durable { consumer }) => {
                let d = self.durable[*consumer]
                    .as_mut()
                    .expect("durable subscription");
                if d.window.prefetch == 0 {
                    d.window.extension = 1;
                    d.dispatch_pending(effects);
                }
            }
            _ => {}
        }
    }

    /// The window of subscription `id`, while it is live.
    pub fn window(&self, id: SubscriptionId) -> Option<&PrefetchSubscription> {
        match self.subscriptions.get(id)? {
            Subscription::NonDurable(t) => Some(&t.window),
            Subscription::Durable { consumer } => {
                self.durable[*consumer].as_ref().map(|d| &d.window)
            }
            Subscription::Gone { .. } => None,
        }
    }

    /// Every broker subscription id handed out so far (a crash makes them all stale).
    pub fn subscription_count(&self) -> usize {
        self.subscriptions.len()
    }

    /// The broker process died and a new one recovered the store (A11.4, A5.6): no
    /// subscription outlives the process. A non-durable subscription's copies lived only in
    /// its memory and are dropped (lost to it). A durable subscription is kept by the store:
    /// its persistent copies, dispatched or pending, wait for it in store order with their
    /// redelivery counter reset (1 for a copy ever dispatched when `persistJMSRedelivered`),
    /// and its non-persistent copies are dropped. Returns the copies dropped.
    pub fn recover_after_crash(
        &mut self,
        persist_redelivered: bool,
        effects: &mut Vec<BrokerEffect>,
    ) -> usize {
        let live: Vec<SubscriptionId> = self.live_subscriptions().collect();
        let dropped: usize = live
            .into_iter()
            .map(|id| match self.subscriptions[id] {
                Subscription::NonDurable(_) => {
                    self.remove_subscription_on_connection_drop(id, effects)
                }
                _ => {
                    self.remove_subscription_on_connection_drop(id, effects);
                    0
                }
            })
            .sum();
        for d in self.durable.iter_mut().flatten() {
            d.pending.retain(|m| {
                if !m.persistent {
                    effects.push(BrokerEffect::Discarded { id: m.id });
                }
                m.persistent
            });
            d.pending.make_contiguous().sort_by_key(|m| m.id);
            for m in &mut d.pending {
                m.redelivery_counter = u32::from(persist_redelivered && m.redelivery_counter > 0);
            }
        }
        dropped
    }

    /// `isSlowConsumer()` of subscription `id` (A8.1, A8.2): a non-durable one's flag, raised
    /// when `matched` grew beyond its prefetch; a durable one while copies wait in its pending
    /// cursor and its window is full (`PrefetchSubscription.dispatchPending` raises the flag
    /// then and clears it once it can dispatch). A closed subscription is not slow.
    pub fn is_slow(&self, id: SubscriptionId) -> bool {
        match self.subscriptions.get(id) {
            Some(Subscription::NonDurable(t)) => t.slow,
            Some(Subscription::Durable { consumer }) => {
                self.durable[*consumer].as_ref().is_some_and(|d| {
                    d.active == Some(id) && d.window.is_full() && !d.pending.is_empty()
                })
            }
            _ => false,
        }
    }

    /// The live subscriptions, in id order.
    pub fn live_subscriptions(&self) -> impl Iterator<Item = SubscriptionId> + '_ {
        self.subscriptions
            .iter()
            .enumerate()
            .filter(|(_, s)| !matches!(s, Subscription::Gone { .. }))
            .map(|(id, _)| id)
    }

    /// The non-durable subscription `id`, while it is live.
    pub fn topic_subscription(&self, id: SubscriptionId) -> Option<&TopicSubscription> {
        match self.subscriptions.get(id)? {
            Subscription::NonDurable(t) => Some(t),
            _ => None,
        }
    }

    /// Largest number of unacknowledged copies subscription `id` ever held.
    pub fn peak_dispatched(&self, id: SubscriptionId) -> usize {
        match self.subscriptions.get(id) {
            Some(Subscription::NonDurable(t)) => t.peak,
            Some(Subscription::Durable { consumer }) => {
                self.durable[*consumer].as_ref().map_or(0, |d| d.peak)
            }
            Some(Subscription::Gone { peak }) => *peak,
            None => 0,
        }
    }

    /// Copies waiting in the broker for a subscriber (matched, or pending for a durable one,
    /// online or not).
    pub fn waiting(&self) -> usize {
        let matched: usize = self
            .subscriptions
            .iter()
            .map(|s| match s {
                Subscription::NonDurable(t) => t.matched.len(),
                _ => 0,
            })
            .sum();
        let pending: usize = self.durable.iter().flatten().map(|d| d.pending.len()).sum();
        matched + pending
    }

    /// Every copy the broker holds: matched, pending, or dispatched and unacknowledged.
    pub fn held_messages(&self) -> impl Iterator<Item = &MessageRef> {
        let live = self.subscriptions.iter().flat_map(|s| match s {
            Subscription::NonDurable(t) => Some(t.window.dispatched.iter().chain(t.matched.iter())),
            _ => None,
        });
        let durable = self
            .durable
            .iter()
            .flatten()
            .map(|d| d.window.dispatched.iter().chain(d.pending.iter()));
        live.chain(durable).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{SimDuration, SimTime};
    use crate::metrics::RunSummary;
    use crate::model::config::{
        AckMode, Arrival, BrokerConfig, ConsumerConfig, DestinationConfig, DurationDist,
        FailureConfig, NetworkConfig, ProducerConfig, Scenario,
    };
    use crate::model::message::MessageId;
    use crate::model::run;

    fn copy(id: MessageId, persistent: bool) -> MessageRef {
        MessageRef {
            persistent,
            ..MessageRef::new(id, SimTime::ZERO)
        }
    }

    fn dispatched(effects: &[BrokerEffect]) -> Vec<MessageId> {
        crate::model::activemq::broker::dispatches(effects)
            .into_iter()
            .map(|(_, id)| id)
            .collect()
    }

    fn ids(list: &VecDeque<MessageRef>) -> Vec<MessageId> {
        list.iter().map(|m| m.id).collect()
    }

    fn standard(first: MessageId, last: MessageId, count: u32) -> MessageAck {
        MessageAck {
            ack_type: AckType::Standard,
            first: Some(first),
            last,
            count,
            in_transaction: false,
        }
    }

    #[test]
    fn a1_3_the_stock_policy_entry_resets_client_default_prefetches() {
        use SubscriptionKind::{Durable, NonDurable};
        // AUTO durable asks optimizeDurableTopicPrefetch 1000 → durableTopicPrefetch 100.
        assert_eq!(configure_prefetch(Durable, 1000, true), 100);
        assert_eq!(configure_prefetch(Durable, 100, true), 100);
        assert_eq!(configure_prefetch(NonDurable, 32767, true), 32767);
        // A prefetch that is no default constant is kept; without a policy entry, everything.
        assert_eq!(configure_prefetch(Durable, 10, true), 10);
        assert_eq!(configure_prefetch(Durable, 1000, false), 1000);
        assert_eq!(configure_prefetch(NonDurable, 1000, true), 1000);
    }

    #[test]
    fn a9_3_matched_beyond_the_limit_evicts_the_oldest_persistent_to_the_dlq() {
        // P = 2, L = 3: 1, 2 dispatched; 3, 4, 5 matched; 6 evicts 3, 7 evicts 4.
        let mut t = TopicSubscription::new(0, 0, 2, Some(3));
        let mut fx = Vec::new();
        for i in 1..=7 {
            t.add(copy(i, i != 7 && i != 4), &mut fx);
        }
        assert_eq!(dispatched(&fx), vec![1, 2]);
        assert_eq!(ids(&t.matched), vec![5, 6, 7]);
        assert_eq!(t.discarded, 2);
        // 3 is persistent → DLQ; 4 is not → dropped.
        let fates: Vec<_> = fx
            .iter()
            .filter(|e| !matches!(e, BrokerEffect::Dispatched { .. }))
            .copied()
            .collect();
        assert_eq!(
            fates,
            vec![
                BrokerEffect::DeadLettered { id: 3 },
                BrokerEffect::Discarded { id: 4 }
            ]
        );
    }

    #[test]
    fn a9_3_limit_zero_drops_what_cannot_be_dispatched_at_once() {
        let mut t = TopicSubscription::new(0, 0, 1, Some(0));
        let mut fx = Vec::new();
        for i in 1..=3 {
            t.add(copy(i, true), &mut fx);
        }
        assert_eq!(dispatched(&fx), vec![1]);
        assert!(t.matched.is_empty());
        // Not kept at all, so not handed to the DLQ even though persistent.
        assert_eq!(
            fx[1..],
            [
                BrokerEffect::Discarded { id: 2 },
                BrokerEffect::Discarded { id: 3 }
            ]
        );
    }

    #[test]
    fn a9_1_without_a_strategy_nothing_is_discarded() {
        let mut t = TopicSubscription::new(0, 0, 1, None);
        let mut fx = Vec::new();
        for i in 1..=50 {
            t.add(copy(i, false), &mut fx);
        }
        assert_eq!((t.matched.len(), t.discarded), (49, 0));
    }

    #[test]
    fn a8_2_topic_subscriber_is_slow_once_matched_exceeds_prefetch() {
        // P = 2: 1, 2 dispatched; when 6 arrives matched holds 3, 4, 5 (3 > 2) → slow.
        let mut t = TopicSubscription::new(0, 0, 2, None);
        let mut fx = Vec::new();
        for i in 1..=5 {
            t.add(copy(i, true), &mut fx);
        }
        assert!(!t.slow);
        t.add(copy(6, true), &mut fx);
        assert!(t.slow);
    }

    #[test]
    fn a6_1_topic_window_is_dispatched_minus_dequeued_plus_extension() {
        // P = 3: 1-3 dispatched, 4-6 matched.
        let mut t = TopicSubscription::new(0, 0, 3, None);
        let mut fx = Vec::new();
        for i in 1..=6 {
            t.add(copy(i, true), &mut fx);
        }
        assert_eq!(dispatched(&fx), vec![1, 2, 3]);
        // STANDARD 1..2 dequeues two nodes → room for 4 and 5.
        fx.clear();
        t.acknowledge(&standard(1, 2, 2), true, &mut fx).unwrap();
        assert_eq!(dispatched(&fx), vec![4, 5]);
        assert_eq!(ids(&t.window.dispatched), vec![3, 4, 5]);
        // DELIVERED(1) widens the window by one without dequeuing: 6 goes out.
        fx.clear();
        let delivered = MessageAck::single(AckType::Delivered, 3);
        t.acknowledge(&delivered, true, &mut fx).unwrap();
        assert_eq!((dispatched(&fx), t.window.extension), (vec![6], 1));
        // The topic does not check the count: STANDARD 3..5 "count 1" still removes 3 nodes,
        // contracting the extension by one each (floor 0).
        fx.clear();
        t.acknowledge(&standard(3, 5, 1), true, &mut fx).unwrap();
        assert_eq!(ids(&t.window.dispatched), vec![6]);
        assert_eq!(t.window.extension, 0);
    }

    #[test]
    fn a5_6_a_closed_non_durable_subscription_discards_its_copies() {
        let mut t = TopicSubscription::new(0, 0, 2, None);
        let mut fx = Vec::new();
        for i in 1..=5 {
            t.add(copy(i, true), &mut fx);
        }
        fx.clear();
        assert_eq!(t.close(&mut fx), 5);
        assert!(
            fx.iter()
                .all(|e| matches!(e, BrokerEffect::Discarded { .. }))
        );
    }

    #[test]
    fn a5_6_durable_keeps_and_counts_unacked_on_reconnect_and_offline_skips_non_persistent() {
        let mut topic = Topic::new(
            TopicPolicy {
                policy_entry: false,
                pending_message_limit: None,
            },
            true,
            vec![SubscriptionKind::Durable],
        );
        let mut ledger = MessageLedger::with_capacity(8);
        let mut fx = Vec::new();
        // Published before the durable subscription exists: missed.
        topic.publish(copy(1, true), &mut ledger, &mut fx);
        let first = topic.add_subscription(0, 2, &mut fx);
        for m in 2..=4 {
            topic.publish(copy(m, true), &mut ledger, &mut fx);
        }
        // A non-persistent message published while online: copy 4, pending.
        topic.publish(copy(7, false), &mut ledger, &mut fx);
        // Copies 1, 2, 3 (of messages 2, 3, 4): 1 and 2 dispatched, 3 pending.
        assert_eq!(dispatched(&fx), vec![1, 2]);
        fx.clear();
        assert_eq!(
            topic.remove_subscription_on_connection_drop(first, &mut fx),
            2
        );
        // The non-persistent copy 4 does not outlive the connection.
        assert_eq!(fx, vec![BrokerEffect::Discarded { id: 4 }]);
        // Offline: a persistent message is kept (copy 5), a non-persistent one missed.
        topic.publish(copy(5, true), &mut ledger, &mut fx);
        topic.publish(copy(6, false), &mut ledger, &mut fx);
        assert_eq!((topic.missed, ledger.accepted()), (2, 5));
        fx.clear();
        let second = topic.add_subscription(0, 10, &mut fx);
        let back: Vec<(MessageId, MessageId, u32)> = fx
            .iter()
            .filter_map(|e| match e {
                BrokerEffect::Dispatched { message, .. } => {
                    Some((message.id, message.message_id, message.redelivery_counter))
                }
                _ => None,
            })
            .collect();
        // The two unacked copies come back first with redeliveryCounter 1.
        assert_eq!(back, vec![(1, 2, 1), (2, 3, 1), (3, 4, 0), (5, 5, 0)]);
        assert_eq!(topic.peak_dispatched(first), 2);
        assert_eq!(topic.peak_dispatched(second), 4);
    }

    #[test]
    fn a9_a_non_durable_subscriber_gets_copies_only_while_subscribed() {
        let mut topic = Topic::new(
            TopicPolicy::default(),
            true,
            vec![SubscriptionKind::NonDurable, SubscriptionKind::NonDurable],
        );
        let mut ledger = MessageLedger::with_capacity(8);
        let mut fx = Vec::new();
        let a = topic.add_subscription(0, 5, &mut fx);
        topic.publish(copy(1, true), &mut ledger, &mut fx);
        let b = topic.add_subscription(1, 5, &mut fx);
        topic.publish(copy(2, true), &mut ledger, &mut fx);
        // Message 1 → copy 1 to a (b missed it); message 2 → copies 2 (a) and 3 (b).
        let to: Vec<(SubscriptionId, MessageId, MessageId)> = fx
            .iter()
            .filter_map(|e| match e {
                BrokerEffect::Dispatched {
                    subscription,
                    message,
                } => Some((*subscription, message.id, message.message_id)),
                _ => None,
            })
            .collect();
        assert_eq!(to, vec![(a, 1, 1), (a, 2, 2), (b, 3, 2)]);
        assert_eq!((topic.missed, ledger.accepted()), (1, 3));
    }

    /// One producer bursting `messages` at 1 ms, zero latency, 10 ms processing, a topic
    /// without a pending limit.
    fn topic_scenario(messages: u64, consumers: Vec<ConsumerConfig>) -> Scenario {
        Scenario {
            name: "t".to_string(),
            seed: 7,
            until: None,
            network: NetworkConfig {
                latency: DurationDist::Constant(SimDuration::ZERO),
            },
            broker: BrokerConfig {
                destination: DestinationConfig::Topic(TopicPolicy {
                    policy_entry: true,
                    pending_message_limit: None,
                }),
                ..BrokerConfig::default()
            },
            producers: vec![ProducerConfig {
                name: "p".to_string(),
                messages,
                arrival: Arrival::Burst,
                start_at: SimDuration::from_millis(1),
                send: Default::default(),
                groups: None,
                time_to_live: None,
                priority: 4,
            }],
            consumers,
        }
    }

    fn subscriber(name: &str, ack_mode: AckMode, prefetch: u32) -> ConsumerConfig {
        let mut c = ConsumerConfig::new(name);
        c.ack_mode = ack_mode;
        c.prefetch = prefetch;
        c.processing = DurationDist::Constant(SimDuration::from_millis(10));
        c.subscription = Some(SubscriptionKind::NonDurable);
        c
    }

    fn summary(s: &Scenario) -> RunSummary {
        run(s, None).unwrap().summary
    }

    #[test]
    fn a2_4_dups_ok_on_a_topic_acks_every_half_prefetch_and_auto_every_message() {
        // DUPS_OK, P = 10: STANDARD acks after 5, 10, 15, 20, 25 messages → 5 acks.
        // AUTO, P = 10: one per message → 25. Each subscriber its own copy: 50 copies.
        let s = topic_scenario(
            25,
            vec![
                subscriber("dups", AckMode::DupsOk, 10),
                subscriber("auto", AckMode::Auto, 10),
            ],
        );
        let r = summary(&s);
        assert_eq!((r.produced, r.copies, r.unique_processed), (25, 50, 50));
        assert_eq!((r.acks.standard, r.acks.total()), (5 + 25, 30));
        assert!(r.conserves_messages());
    }

    #[test]
    fn a2_6_dups_ok_topic_with_prefetch_three_acks_every_two_messages() {
        // P = 3: threshold 0.5·3 = 1.5 → an ack every 2 messages; 5 messages → acks after 2
        // and 4, the 5th stays pending (no close).
        let s = topic_scenario(5, vec![subscriber("c", AckMode::DupsOk, 3)]);
        assert_eq!(summary(&s).acks.standard, 2);
    }

    #[test]
    fn a2_13_a_throwing_dups_ok_topic_listener_is_never_redelivered() {
        // P = 4 → an ack every 2. 1, 2 ok → ack [1..2]; 3 throws (nothing tracked, no
        // rollback); 4, 5 ok → ack [4..5], which does not cover 3; 6 ok, pending.
        // Copy 3 stays dispatched and unprocessed: in flight.
        let mut c = subscriber("c", AckMode::DupsOk, 4);
        c.failures = FailureConfig {
            poison: vec![3],
            ..FailureConfig::default()
        };
        let r = summary(&topic_scenario(6, vec![c]));
        assert_eq!((r.deliveries, r.redelivered, r.processed), (6, 0, 5));
        assert_eq!((r.acks.standard, r.acks.poison), (2, 0));
        assert_eq!((r.unique_processed, r.in_flight), (5, 1));
    }

    #[test]
    fn a1_3_an_auto_durable_subscriber_is_windowed_at_100_by_the_stock_policy_entry() {
        // The client asks 1000 (AUTO durable, A1.2); the policy entry resets the broker's copy
        // to 100, so at most 100 of the 300 copies are ever unacknowledged. Without a policy
        // entry the window is 1000 and all 300 go out at once.
        for (policy_entry, window) in [(true, 100), (false, 300)] {
            let mut c = subscriber("d", AckMode::Auto, 1000);
            c.subscription = Some(SubscriptionKind::Durable);
            let mut s = topic_scenario(300, vec![c]);
            s.broker.destination = DestinationConfig::Topic(TopicPolicy {
                policy_entry,
                pending_message_limit: None,
            });
            let out = run(&s, None).unwrap();
            assert_eq!(
                out.consumers[0].max_unacked, window,
                "policy {policy_entry}"
            );
            assert_eq!(out.summary.acks.standard, 300);
        }
    }

    #[test]
    fn a2_13_a_dups_ok_batch_spanning_a_failure_is_consumed_on_a_topic_but_rejected_when_durable() {
        // P = 4 → an ack every 2; 6 copies, 1-4 dispatched at once. 1 ok (pending [1]);
        // 2 throws, untracked; 3 ok → STANDARD first 1, last 3, count 2.
        // Non-durable: TopicSubscription checks no count, so [1..3] removes 2 as well (the
        // never-processed copy 2 is gone: lost); 5 and 6 follow; 4, 5 → [4..5]; 6 pending.
        // 5 processed, 2 acks.
        // Durable: PrefetchSubscription's assertAckMatchesDispatched finds 3 nodes for count 2
        // and rejects the ack; nothing is removed, so the window stays full at 1-4: 4 is
        // processed (pending [4]) and 5, 6 are never dispatched. 3 processed, 1 ack; 2, 5, 6
        // in flight and the subscriber stalled.
        for (kind, processed, standard, lost, in_flight, rejected, stalled) in [
            (SubscriptionKind::NonDurable, 5, 2, 1, 0, 0, false),
            (SubscriptionKind::Durable, 3, 1, 0, 3, 1, true),
        ] {
            let mut c = subscriber("c", AckMode::DupsOk, 4);
            c.subscription = Some(kind);
            c.failures = FailureConfig {
                poison: vec![2],
                ..FailureConfig::default()
            };
            let r = summary(&topic_scenario(6, vec![c]));
            assert_eq!(
                (r.processed, r.acks.standard, r.lost, r.in_flight),
                (processed, standard, lost, in_flight),
                "{kind:?}"
            );
            assert_eq!(
                (r.acks.rejected, r.stalled),
                (rejected, stalled),
                "{kind:?}"
            );
        }
    }

    /// A8.1, A8.3 on a durable subscription: 100 copies at 1 ms, a window of 10 and a listener
    /// that hangs for 60 s: copies wait in its pending cursor while the window is full, so it
    /// is slow at once; the strategy's first run (30.001 s) aborts it. The close acknowledges
    /// the message in onMessage (AUTO) and deactivates the subscription: the 99 other copies
    /// stay in the store for it (in flight), unlike a non-durable one's, which are dropped.
    #[test]
    fn a8_3_a_slow_durable_subscriber_is_aborted_and_keeps_its_copies() {
        use crate::model::config::{AbortSlowConsumer, SlowConsumerStrategy};
        let mut stuck = subscriber("stuck", AckMode::Auto, 10);
        stuck.subscription = Some(SubscriptionKind::Durable);
        stuck.processing = DurationDist::Constant(SimDuration::from_secs(60));
        let mut s = topic_scenario(
            100,
            vec![subscriber("fast", AckMode::Auto, 1000), stuck.clone()],
        );
        s.broker.slow_consumer = SlowConsumerStrategy::Abort(AbortSlowConsumer::default());
        let r = summary(&s);
        assert_eq!((r.copies, r.slow_consumer_aborts), (200, 1));
        assert_eq!(
            (r.processed, r.unique_processed, r.lost, r.in_flight),
            (101, 101, 0, 99)
        );
        // TopicSubscription.add clears the flag only on a direct dispatch: a subscriber with
        // prefetch 10 that fell behind in the burst (matched 90 > 10) and caught up within
        // 1 s is still flagged 30 s later, with no message since, and is aborted too. Its
        // copies were all processed and acknowledged, so nothing is lost.
        s.consumers[0].prefetch = 10;
        let r = summary(&s);
        assert_eq!(r.slow_consumer_aborts, 2);
        assert_eq!(
            (r.processed, r.unique_processed, r.lost, r.in_flight),
            (101, 101, 0, 99)
        );
    }
}
