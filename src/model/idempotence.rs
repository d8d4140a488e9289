//! An idempotent consumer's processed-id store, broker-agnostic.
//!
//! The application keeps the ids of the messages it has processed and skips the side effect
//! of a message whose id is already there. The key is the PRODUCER's message identity (a
//! business id the producer sets once and keeps across its retries), not the broker's copy:
//! it catches a redelivery of the same copy and a second copy stored by a producer retry
//! (semantics.md B1.6) alike. (ActiveMQ's JMSMessageID would miss the latter: an application
//! re-send gets a new one, A11.1.)
//!
//! One store serves every instance of a `consumers:` entry, as an external database shared by
//! the replicas would; it is updated together with the side effect (one transaction, as with
//! a unique constraint), so the check and the insert happen when a processing completes.
//! Bounded like real ones: `capacity` entries, the oldest inserted evicted first (as an LRU
//! cache such as Camel's `MemoryIdempotentRepository`, default 1000), and an optional `ttl`
//! after which an entry no longer counts (a cleanup job deleting old rows).

use std::collections::{HashMap, VecDeque};

use crate::engine::{SimDuration, SimTime};

/// The producer's identity of a message: (producer index, its message number).
pub type MessageKey = (u32, u64);

/// `MemoryIdempotentRepository`'s default cache size.
pub const DEFAULT_CAPACITY: usize = 1000;

/// The configuration of a consumer entry's store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdempotentConfig {
    pub capacity: usize,
    /// `None`: entries never expire.
    pub ttl: Option<SimDuration>,
}

impl Default for IdempotentConfig {
    fn default() -> Self {
        Self {
            capacity: DEFAULT_CAPACITY,
            ttl: None,
        }
    }
}

/// A bounded processed-id store.
#[derive(Debug, Clone)]
pub struct IdempotentStore {
    config: IdempotentConfig,
    /// Key → when it was inserted.
    entries: HashMap<MessageKey, SimTime>,
    /// Insertion order, for eviction and expiry.
    order: VecDeque<(MessageKey, SimTime)>,
}

impl IdempotentStore {
    pub fn new(config: IdempotentConfig) -> Self {
        Self {
            config,
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// A processing of `key` completes at `now`: returns `true` if the key is already in the
    /// store (skip the side effect), else records it and returns `false`.
    pub fn seen_or_insert(&mut self, key: MessageKey, now: SimTime) -> bool {
        self.expire(now);
        if self.entries.contains_key(&key) {
            return true;
        }
        if self.config.capacity == 0 {
            return false;
        }
        while self.entries.len() >= self.config.capacity {
            let Some((old, _)) = self.order.pop_front() else {
                break;
            };
            self.entries.remove(&old);
        }
        self.entries.insert(key, now);
        self.order.push_back((key, now));
        false
    }

    /// Drops entries older than the TTL.
    fn expire(&mut self, now: SimTime) {
        let Some(ttl) = self.config.ttl else {
            return;
        };
        while let Some(&(key, at)) = self.order.front() {
            if now.saturating_since(at) < ttl {
                break;
            }
            self.order.pop_front();
            self.entries.remove(&key);
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The idempotent consumers of a run: each `consumers:` entry's store (if it has one), which
/// entry each consumer instance belongs to, and the producer key of every stored message.
#[derive(Debug, Default)]
pub struct IdempotentConsumers {
    stores: Vec<Option<IdempotentStore>>,
    entry_of: Vec<usize>,
    /// Key of each stored message, by its 1-based sequence id − 1; empty when no entry is
    /// idempotent.
    keys: Vec<MessageKey>,
    enabled: bool,
    /// Side effects skipped because the store knew the message.
    pub suppressed: u64,
}

impl IdempotentConsumers {
    /// `entries`: each consumer entry's store configuration and replica count, in order.
    pub fn new(entries: impl IntoIterator<Item = (Option<IdempotentConfig>, usize)>) -> Self {
        let mut this = Self::default();
        for (i, (config, replicas)) in entries.into_iter().enumerate() {
            this.enabled |= config.is_some();
            this.stores.push(config.map(IdempotentStore::new));
            this.entry_of.extend(std::iter::repeat_n(i, replicas));
        }
        this
    }

    /// The broker stored message `id` (1, 2, 3 … in storing order) for producer key `key`.
    pub fn record_stored(&mut self, id: u64, key: MessageKey) {
        if self.enabled {
            debug_assert_eq!(id, self.keys.len() as u64 + 1, "stored in id order");
            self.keys.push(key);
        }
    }

    /// Consumer instance `consumer` completes processing message `id` at `now`: whether its
    /// entry's store already knew the message, so the side effect is skipped.
    pub fn skips(&mut self, consumer: usize, id: u64, now: SimTime) -> bool {
        let Some(store) = self.stores[self.entry_of[consumer]].as_mut() else {
            return false;
        };
        let seen = store.seen_or_insert(self.keys[id as usize - 1], now);
        if seen {
            self.suppressed += 1;
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> SimTime {
        SimTime::from_nanos(ms * 1_000_000)
    }

    #[test]
    fn a_key_is_seen_the_second_time() {
        let mut s = IdempotentStore::new(IdempotentConfig::default());
        assert!(!s.seen_or_insert((0, 7), at(0)));
        assert!(s.seen_or_insert((0, 7), at(1)));
        assert!(
            !s.seen_or_insert((1, 7), at(2)),
            "another producer's message 7"
        );
        assert_eq!(s.len(), 2);
    }

    /// Capacity 2: inserting a, b, c evicts a (the oldest); b and c are still known.
    #[test]
    fn capacity_evicts_the_oldest_insertion() {
        let mut s = IdempotentStore::new(IdempotentConfig {
            capacity: 2,
            ttl: None,
        });
        for k in 0..3 {
            assert!(!s.seen_or_insert((0, k), at(k)));
        }
        assert_eq!(s.len(), 2);
        assert!(s.seen_or_insert((0, 1), at(10)));
        assert!(s.seen_or_insert((0, 2), at(10)));
        // a was forgotten: it counts as new again (and evicts b, the oldest now).
        assert!(!s.seen_or_insert((0, 0), at(11)));
        assert!(!s.seen_or_insert((0, 1), at(12)));
    }

    /// TTL 100 ms: an entry inserted at 0 is known at 99 ms and forgotten at 100 ms.
    #[test]
    fn ttl_forgets_old_entries() {
        let mut s = IdempotentStore::new(IdempotentConfig {
            capacity: 10,
            ttl: Some(SimDuration::from_millis(100)),
        });
        assert!(!s.seen_or_insert((0, 0), at(0)));
        assert!(!s.seen_or_insert((0, 1), at(50)));
        assert!(s.seen_or_insert((0, 0), at(99)));
        assert!(!s.seen_or_insert((0, 0), at(100)));
        // Key 1 (inserted at 50) is still known at 149 ms.
        assert!(s.seen_or_insert((0, 1), at(149)));
    }

    #[test]
    fn capacity_zero_remembers_nothing() {
        let mut s = IdempotentStore::new(IdempotentConfig {
            capacity: 0,
            ttl: None,
        });
        assert!(!s.seen_or_insert((0, 0), at(0)));
        assert!(!s.seen_or_insert((0, 0), at(1)));
        assert!(s.is_empty());
    }
}
