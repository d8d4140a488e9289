//! The broker side: the topic's queues and the group's `%RETRY%` queue (commit logs with
//! long-polling pulls), committed offsets, membership, and the send-back decision (B4.2).

use std::collections::BTreeMap;

use crate::engine::{SimDuration, SimTime};
use crate::model::message::MessageId;
use crate::model::trace::{TraceKind, TraceRecord};

use super::QueueId;
use super::broker_crash::next_tick;
use super::config::{BROKER_MAX_TRANSFER_COUNT, MessageModel};
use super::event::Event;
use super::offset_store::BrokerOffsets;
use super::process_queue::PulledMessage;
use super::retry::{SendBackOutcome, broker_send_back_at_level};
use super::sim::{DEAD_LETTERED, World};

/// One message as the broker stores it in a queue.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stored {
    pub id: MessageId,
    pub reconsume_times: u32,
    pub sent_at: SimTime,
}

/// `DefaultMQPushConsumerImpl.BROKER_SUSPEND_MAX_TIME_MILLIS`, sent in every pull as its
/// `suspendTimeoutMillis`: how long the broker may hold an empty pull (B2.3).
pub(super) const BROKER_SUSPEND_MAX: SimDuration = SimDuration::from_secs(15);
/// `PullRequestHoldService.run` checks its held pulls every 5 s (long polling enabled), from
/// the broker's start.
pub(super) const HOLD_CHECK_INTERVAL: SimDuration = SimDuration::from_secs(5);

/// A pull the broker holds until a message arrives or its suspend time is up (long polling).
#[derive(Debug, Clone, Copy)]
pub(super) struct HeldPull {
    pub consumer: usize,
    pub generation: u32,
    pub pq: u64,
    pub offset: u64,
    /// When the client sent it (its response timeout counts from there).
    pub sent_at: SimTime,
    /// Names the pull to its expiry (`Event::HoldExpires`); 0 until it is held.
    pub serial: u64,
}

#[derive(Debug, Default)]
pub(super) struct BrokerQueue {
    pub log: Vec<Stored>,
    pub held: Vec<HeldPull>,
}

/// The broker: the topic's queues, the group's retry queue, committed offsets, membership.
#[derive(Debug, Default)]
pub(super) struct Broker {
    pub topic: Vec<BrokerQueue>,
    pub retry: BrokerQueue,
    pub offsets: BrokerOffsets,
    /// Registered instances of the group, sorted by client id (the instance name), with the
    /// generation of the process that registered.
    pub members: BTreeMap<(String, usize), u32>,
    /// The process is down (`broker.crash`).
    pub down: bool,
    /// It has crashed once (clients must register again before they pull).
    pub crashed: bool,
    /// The offsets as last written to disk (`ConsumerOffsetManager.persist()`).
    pub flushed: BrokerOffsets,
    /// When the current broker process started: its `PullRequestHoldService` checks at
    /// `started_at + 5 s, + 10 s, …`.
    pub started_at: SimTime,
    /// The last serial given to a held pull.
    pub last_hold: u64,
}

impl Broker {
    pub fn queue(&mut self, q: QueueId) -> &mut BrokerQueue {
        match q {
            QueueId::Topic(i) => &mut self.topic[i as usize],
            QueueId::Retry => &mut self.retry,
        }
    }
}

impl World<'_> {
    /// Stores a message in a queue and answers the pulls held on it.
    pub(super) fn append(&mut self, queue: QueueId, stored: Stored) {
        let q = self.broker.queue(queue);
        q.log.push(stored);
        let held = std::mem::take(&mut q.held);
        for h in held {
            if !self.answer_pull(queue, h) {
                self.broker.queue(queue).held.push(h);
            }
        }
    }

    /// A pull finds nothing (PULL_NOT_FOUND with the suspend flag): `PullMessageProcessor`
    /// hands it to `PullRequestHoldService.suspendPullRequest`, stamped with the broker's
    /// clock (the suspend timestamp) and the pull's `suspendTimeoutMillis`, 15 s. A message
    /// arriving answers it at once (`notifyMessageArriving`, [`Self::append`]). Otherwise the
    /// service, which wakes every 5 s from the broker's start (`run`: `waitForRunning(5000)`;
    /// nothing wakes it earlier), answers it at the first check with `now ≥ suspend
    /// timestamp + 15 s` (`notifyMessageArriving` → `executeRequestWhenWakeup`: PULL_NOT_FOUND,
    /// suspension no longer allowed): [`Self::hold_expires`] then. So an empty pull is held
    /// 15..20 s, not forever (semantics.md B2.3: "the broker long-polls ≤15 s").
    pub(super) fn hold_pull(&mut self, queue: QueueId, mut h: HeldPull) {
        self.broker.last_hold += 1;
        h.serial = self.broker.last_hold;
        let expires = next_tick(
            self.broker.started_at,
            HOLD_CHECK_INTERVAL,
            HOLD_CHECK_INTERVAL,
            self.now + BROKER_SUSPEND_MAX,
        );
        self.schedule(
            expires,
            Event::HoldExpires {
                queue,
                serial: h.serial,
            },
        );
        self.broker.queue(queue).held.push(h);
    }

    /// The hold service's check finds pull `serial` past its suspend time: the broker answers
    /// PULL_NOT_FOUND (offset unchanged: OFFSET_OVERFLOW_ONE's next begin offset is the
    /// request's), and the client pulls again at once with its in-memory offset, which the
    /// broker stores ([`Self::pulled_nothing`]). That re-pull is why the expiry matters: it
    /// commits the offset (semantics.md B3.2: "piggybacked on every pull"), and with no new
    /// message it is the only pull there is, so without it a consumer that has pulled
    /// everything commits only by its periodic persist.
    ///
    /// Nothing if the pull was answered meanwhile (a message arrived), if the broker
    /// process it reached has died (its held pulls died with it, `broker_crashes`), or if its
    /// client process is gone (the answer goes to a closed connection). And nothing once the
    /// run is quiescent: then the pull stays held, because re-pulling could change nothing
    /// (no message can come, the broker holds every final offset) and would keep the run
    /// from ending.
    pub(super) fn hold_expires(&mut self, queue: QueueId, serial: u64) {
        let held = &self.broker.queue(queue).held;
        let Some(i) = held.iter().position(|h| h.serial == serial) else {
            return;
        };
        if self.quiescent() {
            return;
        }
        let h = self.broker.queue(queue).held.remove(i);
        let inst = &mut self.instances[h.consumer];
        if !inst.is_current(h.generation) {
            return;
        }
        let at = inst.to_client.arrival(self.now);
        self.schedule(
            at,
            Event::PullNotFound {
                consumer: h.consumer,
                generation: h.generation,
                queue,
                pq: h.pq,
                offset: h.offset,
            },
        );
    }

    /// Answers a pull if its queue has messages at or after its offset; returns whether it did.
    pub(super) fn answer_pull(&mut self, queue: QueueId, h: HeldPull) -> bool {
        let inst = &self.instances[h.consumer];
        let batch = inst.cfg.pull_batch_size.min(BROKER_MAX_TRANSFER_COUNT) as usize;
        let log = &self.broker.queue(queue).log;
        if (h.offset as usize) >= log.len() {
            return false;
        }
        let msgs: Vec<PulledMessage> = log[h.offset as usize..]
            .iter()
            .take(batch)
            .enumerate()
            .map(|(i, s)| PulledMessage {
                id: s.id,
                queue_offset: h.offset + i as u64,
                reconsume_times: s.reconsume_times,
                sent_at: s.sent_at,
            })
            .collect();
        let at = self.instances[h.consumer].to_client.arrival(self.now);
        self.totals.pulled += msgs.len() as u64;
        self.trace(|t| TraceRecord {
            consumer: Some(h.consumer),
            message: msgs.last().map(|m| m.id),
            first_message: msgs.first().map(|m| m.id),
            count: Some(msgs.len() as u32),
            ..TraceRecord::new(t, TraceKind::Dispatched)
        });
        self.schedule(
            at,
            Event::PullResponse {
                consumer: h.consumer,
                generation: h.generation,
                queue,
                pq: h.pq,
                msgs,
            },
        );
        true
    }

    /// A send-back reaches the broker (B4.2).
    pub(super) fn broker_send_back(&mut self, msg: PulledMessage, max: u32, level: u32) {
        self.totals.rocketmq.sent_back += 1;
        match broker_send_back_at_level(msg.reconsume_times, max, level) {
            SendBackOutcome::DeadLetter => {
                self.settle_retry(msg.id);
                self.totals.dead_lettered += 1;
                // In BROADCASTING only the expired-message cleaner sends back; the instance's
                // copy is settled by its own listener, so no copy is dead-lettered.
                if self.model == MessageModel::Clustering {
                    let i = self.copy_index(msg.id, 0);
                    self.copies[i] |= DEAD_LETTERED;
                }
                self.trace(|t| TraceRecord {
                    message: Some(msg.id),
                    redelivery_counter: Some(msg.reconsume_times),
                    ..TraceRecord::new(t, TraceKind::DeadLettered)
                });
            }
            SendBackOutcome::Retry {
                delay,
                reconsume_times,
                ..
            } => {
                let retried = PulledMessage {
                    reconsume_times,
                    ..msg
                };
                self.schedule(self.now + delay, Event::RetryDue { msg: retried });
            }
        }
    }

    /// A send-back or delayed retry of `id` is no longer on its way.
    pub(super) fn settle_retry(&mut self, id: MessageId) {
        if let Some(n) = self.retry_pending.get_mut(&id) {
            *n -= 1;
            if *n == 0 {
                self.retry_pending.remove(&id);
            }
        }
    }
}
