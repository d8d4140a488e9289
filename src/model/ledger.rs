//! The fate of every accepted message, one byte each. On a topic the ledger tracks copies
//! instead — one entry per (message, subscriber), each with its own id (`activemq::topic`) —
//! so every fate below is a copy's.
//!
//! contract.md: every accepted message ends a run with exactly one fate — processed (at least
//! once), lost, dead-lettered or expired without ever being processed, or still in flight.
//! The ledger records the facts those fates are derived from; the end-of-run census in
//! [`crate::model::sim`] checks them against where the messages physically are.

use crate::model::message::MessageId;

/// Processed successfully at least once.
pub const PROCESSED: u8 = 1 << 0;
/// Removed from the broker by a consuming ack (STANDARD / INDIVIDUAL, committed).
pub const CONSUMED: u8 = 1 << 1;
/// Sent to the dead-letter queue.
pub const DEAD_LETTERED: u8 = 1 << 2;
/// Discarded by TTL.
pub const EXPIRED: u8 = 1 << 3;

/// Dropped by the broker without delivery or DLQ: a topic subscription's copy discarded by its
/// pending-message limit, closed with its non-durable subscription, or non-persistent and held
/// for a durable subscription that went offline (semantics.md A5.6, A9.3).
pub const DISCARDED: u8 = 1 << 4;
/// Held only in the memory of a broker process that crashed (non-persistent, A11.4).
pub const LOST_IN_CRASH: u8 = 1 << 5;

/// The flags that mean the broker no longer holds the message.
pub const REMOVED: u8 = CONSUMED | DEAD_LETTERED | EXPIRED | DISCARDED | LOST_IN_CRASH;

#[derive(Debug, Default)]
pub struct MessageLedger {
    /// Index = message id; slot 0 is unused (ids start at 1).
    flags: Vec<u8>,
}

impl MessageLedger {
    pub fn with_capacity(messages: usize) -> Self {
        let mut flags = Vec::with_capacity(messages + 1);
        flags.push(0);
        Self { flags }
    }

    /// Registers the next accepted message and returns its id.
    pub fn accept(&mut self) -> MessageId {
        let id = self.flags.len() as MessageId;
        self.flags.push(0);
        id
    }

    pub fn accepted(&self) -> u64 {
        (self.flags.len() - 1) as u64
    }

    pub fn flags(&self, id: MessageId) -> u8 {
        self.flags[id as usize]
    }

    /// Sets `flag`; returns whether it was already set.
    pub fn mark(&mut self, id: MessageId, flag: u8) -> bool {
        let slot = &mut self.flags[id as usize];
        let had = *slot & flag != 0;
        *slot |= flag;
        had
    }

    /// Every accepted id with its flags.
    pub fn iter(&self) -> impl Iterator<Item = (MessageId, u8)> + '_ {
        self.flags
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, &f)| (i as MessageId, f))
    }
}
