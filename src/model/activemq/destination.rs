//! The destination of a run, a queue or a topic, behind one interface for the simulation
//! loop: it accepts published messages, takes subscriptions and acks, and says what it holds.

use crate::engine::SimTime;
use crate::model::activemq::ack::MessageAck;
use crate::model::activemq::broker::{AckError, BrokerEffect, Queue, SubscriptionId};
use crate::model::activemq::dispatch_selector::DispatchInfo;
use crate::model::activemq::topic::Topic;
use crate::model::config::{DestinationConfig, Scenario, SubscriptionKind};
use crate::model::ledger::MessageLedger;
use crate::model::message::{MessageId, MessageRef};

#[derive(Debug)]
pub enum Destination {
    Queue(Queue),
    Topic(Topic),
}

impl Destination {
    pub fn new(scenario: &Scenario) -> Self {
        let use_ext = scenario.broker.use_prefetch_extension;
        match scenario.broker.destination {
            DestinationConfig::Queue => Destination::Queue(
                Queue::new(use_ext).with_prioritized_messages(scenario.broker.prioritized_messages),
            ),
            DestinationConfig::Topic(policy) => {
                let kinds = scenario
                    .consumer_instances()
                    .map(|(_, c)| c.subscription.unwrap_or(SubscriptionKind::NonDurable))
                    .collect();
                Destination::Topic(Topic::new(policy, use_ext, kinds))
            }
        }
    }

    /// `send`: the broker accepts message `message_id`. A queue holds it once, under that id;
    /// a topic makes one copy per subscriber, each registered in the ledger under its own id.
    pub fn accept(
        &mut self,
        message: MessageRef,
        ledger: &mut MessageLedger,
        effects: &mut Vec<BrokerEffect>,
    ) {
        match self {
            Destination::Queue(q) => {
                let id: MessageId = ledger.accept();
                debug_assert_eq!(id, message.message_id, "queue ids are the sequence ids");
                q.enqueue(MessageRef { id, ..message }, effects);
            }
            Destination::Topic(t) => t.publish(message, ledger, effects),
        }
    }

    /// The queue, for the rules that exist only on queues (consumer priority, exclusive
    /// consumers, groups, expiry, slow-consumer strategies; validation refuses them on a
    /// topic).
    pub fn as_queue(&self) -> Option<&Queue> {
        match self {
            Destination::Queue(q) => Some(q),
            Destination::Topic(_) => None,
        }
    }

    pub fn as_queue_mut(&mut self) -> Option<&mut Queue> {
        match self {
            Destination::Queue(q) => Some(q),
            Destination::Topic(_) => None,
        }
    }

    /// The broker's clock, for the queue's expiry checks (A10.1).
    pub fn set_clock(&mut self, now: SimTime) {
        if let Destination::Queue(q) = self {
            q.set_clock(now);
        }
    }

    /// A `ConsumerInfo` arrives. `info` (priority, exclusive) steers queue dispatch only.
    pub fn add_subscription(
        &mut self,
        consumer: usize,
        prefetch: u32,
        info: DispatchInfo,
        effects: &mut Vec<BrokerEffect>,
    ) -> SubscriptionId {
        match self {
            Destination::Queue(q) => q.add_subscription_with(consumer, prefetch, info, effects),
            Destination::Topic(t) => t.add_subscription(consumer, prefetch, effects),
        }
    }

    pub fn remove_subscription_on_connection_drop(
        &mut self,
        id: SubscriptionId,
        effects: &mut Vec<BrokerEffect>,
    ) -> usize {
        match self {
            Destination::Queue(q) => q.remove_subscription_on_connection_drop(id, effects),
            Destination::Topic(t) => t.remove_subscription_on_connection_drop(id, effects),
        }
    }

    pub fn pull(&mut self, id: SubscriptionId, effects: &mut Vec<BrokerEffect>) {
        match self {
            Destination::Queue(q) => q.pull(id, effects),
            Destination::Topic(t) => t.pull(id, effects),
        }
    }

    pub fn acknowledge(
        &mut self,
        id: SubscriptionId,
        ack: &MessageAck,
        effects: &mut Vec<BrokerEffect>,
    ) -> Result<(), AckError> {
        match self {
            Destination::Queue(q) => q.acknowledge(id, ack, effects),
            Destination::Topic(t) => t.acknowledge(id, ack, effects),
        }
    }

    pub fn end_transaction(
        &mut self,
        id: SubscriptionId,
        ack: Option<&MessageAck>,
        commit: bool,
        effects: &mut Vec<BrokerEffect>,
    ) -> Result<(), AckError> {
        match self {
            Destination::Queue(q) => q.end_transaction(id, ack, commit, effects),
            Destination::Topic(t) => t.end_transaction(id, ack, commit, effects),
        }
    }

    /// Messages (copies, on a topic) waiting in the broker for a consumer.
    pub fn waiting(&self) -> usize {
        match self {
            Destination::Queue(q) => q.waiting(),
            Destination::Topic(t) => t.waiting(),
        }
    }

    pub fn peak_dispatched(&self, id: SubscriptionId) -> usize {
        match self {
            Destination::Queue(q) => q.peak_dispatched(id),
            Destination::Topic(t) => t.peak_dispatched(id),
        }
    }

    /// Every message (copy) the broker holds.
    pub fn held_messages(&self) -> Box<dyn Iterator<Item = &MessageRef> + '_> {
        match self {
            Destination::Queue(q) => Box::new(q.held_messages()),
            Destination::Topic(t) => Box::new(t.held_messages()),
        }
    }

    /// (missed, discarded) copies of a topic; zero on a queue.
    pub fn topic_counts(&self) -> (u64, u64) {
        match self {
            Destination::Queue(_) => (0, 0),
            Destination::Topic(t) => (t.missed, t.discarded()),
        }
    }
}
