//! `ProcessQueue`: the messages a consumer has pulled from one queue and not yet finished
//! (semantics.md B2.2, B3.1, B5.2).

use std::collections::BTreeMap;

use crate::engine::{SimDuration, SimTime};
use crate::model::message::MessageId;

/// One message as the client holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PulledMessage {
    pub id: MessageId,
    /// Offset in its queue (the original topic's or `%RETRY%`'s).
    pub queue_offset: u64,
    /// `MessageExt.reconsumeTimes`.
    pub reconsume_times: u32,
    pub sent_at: SimTime,
}

/// A ProcessQueue: a TreeMap by offset (`msgTreeMap`), plus the orderly service's
/// `consumingMsgOrderlyTreeMap` of messages taken and not yet committed.
#[derive(Debug, Default)]
pub struct ProcessQueue {
    msgs: BTreeMap<u64, PulledMessage>,
    consuming: BTreeMap<u64, PulledMessage>,
    /// `queueOffsetMax`: the highest offset ever put.
    offset_max: Option<u64>,
    /// `PROPERTY_CONSUME_START_TIMESTAMP` of messages handed to a listener (B4.8).
    started: BTreeMap<u64, SimTime>,
    /// Orderly: a consume request for this queue is submitted or running.
    pub orderly_busy: bool,
}

impl ProcessQueue {
    /// `putMessage`; returns how many were new.
    pub fn put(&mut self, msgs: &[PulledMessage]) -> usize {
        let mut added = 0;
        for m in msgs {
            if self.msgs.insert(m.queue_offset, *m).is_none() {
                added += 1;
            }
            self.offset_max = Some(
                self.offset_max
                    .map_or(m.queue_offset, |o| o.max(m.queue_offset)),
            );
        }
        added
    }

    /// `msgCount`: messages held (orderly: including the ones being consumed).
    pub fn count(&self) -> usize {
        self.msgs.len() + self.consuming.len()
    }

    /// `getMaxSpan`: last key − first key of `msgTreeMap` (0 when empty).
    pub fn span(&self) -> u64 {
        match (self.msgs.first_key_value(), self.msgs.last_key_value()) {
            (Some((first, _)), Some((last, _))) => last - first,
            _ => 0,
        }
    }

    /// The flow-control test before a pull (B2.2): strict `>` on count, and for concurrent
    /// consumption on span.
    pub fn must_wait(&self, threshold: u32, max_span: u32, concurrently: bool) -> bool {
        self.count() > threshold as usize || (concurrently && self.span() > u64::from(max_span))
    }

    /// `removeMessage` (B3.1): the offset to commit — the smallest offset still held,
    /// `queueOffsetMax + 1` if now empty, `None` (−1) if it was empty already.
    pub fn remove(&mut self, msgs: &[PulledMessage]) -> Option<u64> {
        if self.msgs.is_empty() {
            return None;
        }
        for m in msgs {
            self.msgs.remove(&m.queue_offset);
            self.started.remove(&m.queue_offset);
        }
        match self.msgs.first_key_value() {
            Some((&first, _)) => Some(first),
            None => self.offset_max.map(|o| o + 1),
        }
    }

    /// Orderly `takeMessages(batch)`: moves up to `batch` head messages to the consuming map.
    pub fn take(&mut self, batch: u32) -> Vec<PulledMessage> {
        let mut taken = Vec::new();
        while taken.len() < batch as usize {
            let Some((offset, m)) = self.msgs.pop_first() else {
                break;
            };
            self.consuming.insert(offset, m);
            taken.push(m);
        }
        taken
    }

    /// Orderly `commit()` (B5.2): forgets the consumed messages; the offset to commit is the
    /// last one's + 1.
    pub fn commit(&mut self) -> Option<u64> {
        let last = self.consuming.last_key_value().map(|(&o, _)| o + 1);
        self.consuming.clear();
        last
    }

    /// Orderly `makeMessageToConsumeAgain`: the messages go back to the head, with the
    /// reconsume counts the caller has raised.
    pub fn consume_again(&mut self, msgs: &[PulledMessage]) {
        for m in msgs {
            self.consuming.remove(&m.queue_offset);
            self.msgs.insert(m.queue_offset, *m);
        }
    }

    /// The listener got the message at `now` (`ConsumeRequest.run` stamps every message).
    pub fn mark_started(&mut self, offset: u64, now: SimTime) {
        self.started.insert(offset, now);
    }

    /// `cleanExpiredMsg`'s test: the head message, if its consumption started more than
    /// `timeout` before `now` (strictly).
    pub fn expired_head(&self, now: SimTime, timeout: SimDuration) -> Option<PulledMessage> {
        let (&offset, m) = self.msgs.first_key_value()?;
        let started = *self.started.get(&offset)?;
        (now.saturating_since(started) > timeout).then_some(*m)
    }

    pub fn has_pending(&self) -> bool {
        !self.msgs.is_empty()
    }

    /// Every message held, for the end-of-run census.
    pub fn held(&self) -> impl Iterator<Item = &PulledMessage> {
        self.msgs.values().chain(self.consuming.values())
    }
}
