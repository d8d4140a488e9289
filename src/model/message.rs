//! Messages as the broker and clients hold them.

use crate::engine::SimTime;
use crate::model::activemq::groups::GroupId;

/// The broker's sequence id of a message: 1, 2, 3 … in the order the broker accepted them.
pub type MessageId = u32;

/// A reference to a message, as held in a dispatch list or a client's buffer. Each holder has
/// its own copy of the redelivery counter, as in ActiveMQ: the broker's counter rises when a
/// consumer is lost (A5.2), a client's copy when its session rolls back (A3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageRef {
    /// The id the broker and the ledger track this reference by: on a queue the message's
    /// sequence id, on a topic the id of this subscriber's copy (every subscriber gets its own
    /// copy, semantics.md A9; see `activemq::topic`).
    pub id: MessageId,
    /// The broker sequence id of the message itself (equal to `id` on a queue).
    pub message_id: MessageId,
    /// JMS delivery mode PERSISTENT (the JMS default) or NON_PERSISTENT.
    pub persistent: bool,
    pub redelivery_counter: u32,
    /// When the producer sent it (the start of its end-to-end latency).
    pub sent_at: SimTime,
    /// Its `JMSXGroupID`, if the producer sets one (A7.6).
    pub group: Option<GroupId>,
    /// `JMSExpiration`: 0 (`SimTime::ZERO`) = never, as in JMS (A10.1).
    pub expiration: SimTime,
    /// `JMSPriority` (0..=9, default 4); it orders nothing unless enabled (A10.2).
    pub priority: u8,
}

impl MessageRef {
    /// `Message.isRedelivered()`: JMSRedelivered ⇔ redeliveryCounter > 0 (A5.4).
    pub fn is_redelivered(&self) -> bool {
        self.redelivery_counter > 0
    }
}
