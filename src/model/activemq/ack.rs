//! `org.apache.activemq.command.MessageAck`: the ack commands a consumer sends the broker.

use crate::model::message::MessageId;

/// `MessageAck` ack types, with the real wire values (semantics.md A2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum AckType {
    /// DELIVERED_ACK_TYPE = 0: "delivered, not yet acknowledged": widens the window.
    Delivered = 0,
    /// POISON_ACK_TYPE = 1: redeliveries exhausted, dead-letter the range.
    Poison = 1,
    /// STANDARD_ACK_TYPE = 2: consumed; the broker deletes the range.
    Standard = 2,
    /// REDELIVERED_ACK_TYPE = 3: informational; the broker ignores it (A3.3).
    Redelivered = 3,
    /// INDIVIDUAL_ACK_TYPE = 4: consumed, one message.
    Individual = 4,
    /// EXPIRED_ACK_TYPE = 6.
    Expired = 6,
}

impl AckType {
    pub fn as_str(self) -> &'static str {
        match self {
            AckType::Delivered => "delivered",
            AckType::Poison => "poison",
            AckType::Standard => "standard",
            AckType::Redelivered => "redelivered",
            AckType::Individual => "individual",
            AckType::Expired => "expired",
        }
    }
}

/// One ack command. Like the real `MessageAck` it names a range of the consumer's dispatched
/// list by its first and last message id plus a count; `first == None` means "from the head
/// of the dispatched list" (a `null` firstMessageId).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageAck {
    pub ack_type: AckType,
    pub first: Option<MessageId>,
    pub last: MessageId,
    pub count: u32,
    /// Sent inside a local transaction: a STANDARD ack then takes effect at commit (A6.2).
    pub in_transaction: bool,
}

impl MessageAck {
    /// An ack for the single message `id`.
    pub fn single(ack_type: AckType, id: MessageId) -> Self {
        Self {
            ack_type,
            first: Some(id),
            last: id,
            count: 1,
            in_transaction: false,
        }
    }
}
