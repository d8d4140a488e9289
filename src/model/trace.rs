//! The event trace: one record per model event, enough to explain a run.

use crate::engine::SimTime;
use crate::model::activemq::ack::AckType;
use crate::model::message::MessageId;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceKind {
    /// A message reached the broker and was accepted.
    Accepted,
    /// A consumer's subscription reached the broker.
    Subscribed,
    /// The broker dispatched a message to a consumer.
    Dispatched,
    /// The client handed a message to the application (onMessage / receive returned it).
    Delivered,
    /// Processing completed successfully (a side effect happened).
    Processed,
    /// Processing failed.
    Failed,
    /// The client sent an ack command.
    AckSent,
    /// The broker received an ack command.
    AckReceived,
    /// The broker could not correlate an ack with the messages dispatched to that consumer and
    /// ignored it (the real client gets a `ConnectionError`).
    AckRejected,
    /// A pull request (prefetch 0) reached the broker.
    Pull,
    /// A transacted session committed (the broker applied it).
    Committed,
    /// A session rolled back (rollback, recover or a listener exception): local redelivery.
    RolledBack,
    /// Rolled-back messages became deliverable again after the redelivery delay.
    RedeliveryDue,
    /// The broker sent a message to the dead-letter queue.
    DeadLettered,
    /// The broker dropped a topic subscriber's copy (pending limit, a closed non-durable
    /// subscription, or a non-persistent copy of a durable subscription going offline).
    Discarded,
    /// A consumer process died.
    Crashed,
    /// The broker saw a consumer's connection drop and took its messages back.
    ConnectionDropped,
    /// A consumer process started (first start or restart).
    Started,
    /// A non-persistent message died with the broker process (A11.4).
    LostInBrokerCrash,
    /// The broker process died.
    BrokerCrashed,
    /// A new broker process recovered the store and accepts connections.
    BrokerRestarted,
    /// A slow-consumer strategy aborted a consumer (A8.3): `ConsumerControl(close)` sent, or
    /// its connection failed with `abortConnection`.
    SlowConsumerAborted,
    /// The broker removed a closed consumer's subscription (`RemoveInfo`, A5.3) and took its
    /// messages back.
    ConsumerRemoved,
    /// A message expired (TTL) in the broker or on arrival at a client (A10.1).
    Expired,
}

impl TraceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TraceKind::Accepted => "accepted",
            TraceKind::Subscribed => "subscribed",
            TraceKind::Dispatched => "dispatched",
            TraceKind::Delivered => "delivered",
            TraceKind::Processed => "processed",
            TraceKind::Failed => "failed",
            TraceKind::AckSent => "ack_sent",
            TraceKind::AckReceived => "ack_received",
            TraceKind::AckRejected => "ack_rejected",
            TraceKind::Pull => "pull",
            TraceKind::Committed => "committed",
            TraceKind::Discarded => "discarded",
            TraceKind::RolledBack => "rolled_back",
            TraceKind::RedeliveryDue => "redelivery_due",
            TraceKind::DeadLettered => "dead_lettered",
            TraceKind::Crashed => "crashed",
            TraceKind::ConnectionDropped => "connection_dropped",
            TraceKind::Started => "started",
            TraceKind::LostInBrokerCrash => "lost_in_broker_crash",
            TraceKind::BrokerCrashed => "broker_crashed",
            TraceKind::BrokerRestarted => "broker_restarted",
            TraceKind::SlowConsumerAborted => "slow_consumer_aborted",
            TraceKind::ConsumerRemoved => "consumer_removed",
            TraceKind::Expired => "expired",
        }
    }
}

/// One trace row. `message` is the (last) message concerned; for an ack, `first_message` and
/// `count` describe its range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceRecord {
    pub time: SimTime,
    pub kind: TraceKind,
    /// Consumer instance index, in [`crate::model::config::Scenario::consumer_instances`] order.
    pub consumer: Option<usize>,
    pub message: Option<MessageId>,
    pub first_message: Option<MessageId>,
    pub count: Option<u32>,
    pub ack_type: Option<AckType>,
    pub redelivery_counter: Option<u32>,
}

impl TraceRecord {
    pub fn new(time: SimTime, kind: TraceKind) -> Self {
        Self {
            time,
            kind,
            consumer: None,
            message: None,
            first_message: None,
            count: None,
            ack_type: None,
            redelivery_counter: None,
        }
    }
}

/// Where trace records go (the CSV writer in `report`, or a test's `Vec`).
pub trait TraceSink {
    fn record(&mut self, record: &TraceRecord);
}

impl TraceSink for Vec<TraceRecord> {
    fn record(&mut self, record: &TraceRecord) {
        self.push(*record);
    }
}
