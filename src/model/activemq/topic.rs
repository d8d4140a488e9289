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
    AckError, BrokerEffect, PrefetchSubscription, SubscriptionId,
};
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
            window: PrefetchSubscription::new(consumer, prefetch),
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
/// so an offline durable subscriber misses them.
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
            window: PrefetchSubscription::new(consumer, 0),
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
    /// reset. Returns how many copies were taken back.
    pub fn deactivate(&mut self) -> usize {
        self.active = None;
        self.window.extension = 0;
        let taken = self.window.dispatched.len();
        for mut m in self.window.dispatched.drain(..).rev() {
            m.redelivery_counter += 1;
            self.pending.push_front(m);
        }
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
                (consumer, d.deactivate(), peak)
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
                d.window.acknowledge(ack, applies, effects)?;
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
                d.window.end_transaction(ack, commit, applies, effects)?;
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
