//! Message expiry on a queue (semantics.md A10.1, A2.10).
//!
//! A producer with a `timeToLive` stamps `JMSExpiration = send time + timeToLive`
//! (`ActiveMQSession.send`); `Message.isExpired()` is `expiration > 0 && now > expiration`.
//! Expired messages are never delivered to an application. The model checks:
//! - at `Queue.send`: an already expired message is expired instead of enqueued;
//! - when the queue's dispatch reaches the message (page-in / `dispatchPending`): expired and
//!   removed instead of dispatched (the real broker also checks at page-in while consumers are
//!   full; the model checks a message when it reaches the head of the waiting messages);
//! - every `expireMessagesPeriod` (default 30 s): every waiting, undispatched message
//!   (`Queue.expireMessages` → `doBrowse` skips messages locked by a subscription; the real
//!   sweep browses at most `maxExpirePageSize` = 400 unexpired messages, the model all);
//! - at the client (`consumerExpiryCheckEnabled`, default true): a message expired when the
//!   application would take it is not delivered; the client sends an EXPIRED ack for it and the
//!   broker removes it from the dispatched list (A6.2). For `receive()` the real client also
//!   checks when the message arrives; the model checks when the application takes it.
//!
//! The broker sends an expired persistent message to `ActiveMQ.DLQ` (`processExpired=true`,
//! A4.2). Its fate in the census is still **expired**: `dlq` counts messages dead-lettered by a
//! POISON ack (contract.md), `expired` those discarded by TTL without being processed; the
//! DLQ copy of an expired message is a by-product of its expiry, not a separate fate.

use crate::engine::{SimDuration, SimTime};
use crate::model::message::MessageRef;

/// `PolicyEntry.expireMessagesPeriod` default.
pub const DEFAULT_EXPIRE_MESSAGES_PERIOD: SimDuration = SimDuration::from_secs(30);

/// `JMSExpiration` of a message sent at `sent_at` with `time_to_live` (`None` or zero: never
/// expires, stored as 0 as in JMS).
pub fn expiration(sent_at: SimTime, time_to_live: Option<SimDuration>) -> SimTime {
    match time_to_live {
        Some(ttl) if !ttl.is_zero() => sent_at + ttl,
        _ => SimTime::ZERO,
    }
}

/// `Message.isExpired()`: `expiration > 0 && now > expiration`.
pub fn is_expired(message: &MessageRef, now: SimTime) -> bool {
    message.expiration > SimTime::ZERO && now > message.expiration
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> SimTime {
        SimTime::from(SimDuration::from_millis(n))
    }

    fn message(expiration: SimTime) -> MessageRef {
        MessageRef {
            id: 1,
            redelivery_counter: 0,
            sent_at: SimTime::ZERO,
            group: None,
            expiration,
        }
    }

    #[test]
    fn a10_1_expiration_is_send_time_plus_ttl_zero_means_never() {
        assert_eq!(
            expiration(ms(5), Some(SimDuration::from_millis(20))),
            ms(25)
        );
        assert_eq!(expiration(ms(5), None), SimTime::ZERO);
        assert_eq!(expiration(ms(5), Some(SimDuration::ZERO)), SimTime::ZERO);
    }

    #[test]
    fn a10_1_expired_only_strictly_after_the_expiration() {
        let m = message(ms(25));
        assert!(!is_expired(&m, ms(25)));
        assert!(is_expired(&m, ms(26)));
        assert!(!is_expired(&message(SimTime::ZERO), ms(1_000_000)));
    }
}
