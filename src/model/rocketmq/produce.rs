//! The RocketMQ producers: the broker-agnostic send protocol of [`crate::model::producer`]
//! (SYNC / ASYNC / ONEWAY with their retries and one `sendMsgTimeout` budget, injected
//! faults, semantics.md B1.1–B1.6) wired to the RocketMQ broker's topic queues.
//!
//! Queue selection (`TopicPublishInfo.selectOneMessageQueue`, latency fault tolerance off by
//! default): every attempt advances the producer's `sendWhichQueue` index. A retry passes the
//! last broker's name, so the index is advanced once per queue looking for another broker
//! and, with the single broker modelled here, once more by the fallback: `queues + 1` steps,
//! i.e. the next queue. A SYNC retry (`DefaultMQProducerImpl.sendDefaultImpl`) is sent to
//! that queue; an ASYNC retry (`MQClientAPIImpl.onExceptionImpl`) selects too (advancing the
//! index) but re-sends the same request, whose header names the first attempt's queue. The
//! index starts at 0 (the real `ThreadLocalIndex` starts at a random value) and advances when
//! the attempt reaches the broker: attempts reach it in the order they were made, except that
//! a retry may overtake first attempts already on the wire.
//!
//! The broker never recognises a re-sent message (B1.6): every attempt it receives while up
//! is stored, so a retry after a lost response stores a second copy (`send_duplicates`).

use crate::engine::{EventQueue, RngStreams, SimRng, SimTime};
use crate::model::config::Scenario;
use crate::model::dist::{ArrivalSampler, DurationSampler};
use crate::model::message::MessageId;
use crate::model::network::Link;
use crate::model::producer::{
    self, BrokerVerdict, Fault, ProducerEvent, ProducerEventKind, Scheduled, SendCounts, SendPolicy,
};
use crate::model::sim::SimError;
use crate::model::trace::{TraceKind, TraceRecord};

use super::QueueId;
use super::broker::Stored;
use super::event::Event;
use super::sim::World;

/// One producer of the run.
pub(super) struct Producer {
    messages: u64,
    /// `send()` calls scheduled so far.
    sent: u64,
    /// First attempts that reached the broker's end of the wire (`send()` calls that have
    /// happened).
    arrived: u64,
    arrival: ArrivalSampler,
    rng: SimRng,
    /// The send protocol: attempts, faults, retries, the producer's view.
    send: producer::Producer,
    /// `sendWhichQueue`: advanced by every attempt.
    send_which_queue: u64,
    /// The queue of each message's first attempt, where an ASYNC retry goes.
    first_queue: Vec<u32>,
}

impl Producer {
    /// Every `send()` call has happened.
    pub(super) fn all_sent(&self) -> bool {
        self.arrived == self.messages
    }
}

/// The producers of `scenario`, with their first sends scheduled. Stream labels are the
/// ActiveMQ simulation's: `producer/<name>/{arrival,faults,network,responses,retries}`.
pub(super) fn producers(
    scenario: &Scenario,
    streams: &RngStreams,
    latency: &DurationSampler,
    events: &mut EventQueue<Event>,
) -> Vec<Producer> {
    scenario
        .producers
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let label = |what: &str| format!("producer/{}/{what}", p.name);
            let mut producer = Producer {
                messages: p.messages,
                sent: 0,
                arrived: 0,
                arrival: ArrivalSampler::new(&p.arrival),
                rng: streams.stream(&label("arrival")),
                send: producer::Producer::new(
                    i,
                    p.send,
                    streams.stream(&label("faults")),
                    producer::Wire {
                        to_broker: Link::new(latency.clone(), streams.stream(&label("network"))),
                        to_producer: Link::new(
                            latency.clone(),
                            streams.stream(&label("responses")),
                        ),
                        retry_latency: latency.clone(),
                        retry_rng: streams.stream(&label("retries")),
                    },
                ),
                send_which_queue: 0,
                first_queue: Vec::new(),
            };
            if producer.messages > 0 {
                let (at, first) = producer.send.send(SimTime::from(p.start_at));
                producer.sent = 1;
                events.push(at, Event::Producer(first));
            }
            producer
        })
        .collect()
}

impl World<'_> {
    /// A producer event fires: an attempt reaches the broker (which stores it unless the
    /// request was lost on the wire or the broker is down, `super::broker_crash`), or an
    /// answer, transport error or timeout reaches the producer.
    pub(super) fn producer_event(&mut self, ev: ProducerEvent) {
        if !matches!(ev.kind, ProducerEventKind::Timeout) {
            self.producer_events_pending -= 1;
        }
        let ProducerEventKind::Arrives { fault, sent_at, .. } = ev.kind else {
            let out = self.producers[ev.producer].send.on_event(self.now, &ev);
            self.schedule_producer(out);
            return;
        };
        let queues = u64::from(self.queues);
        let p = &mut self.producers[ev.producer];
        let selected = (p.send_which_queue % queues) as u32;
        p.send_which_queue += 1;
        if ev.attempt == 1 {
            p.arrived += 1;
            p.first_queue.push(selected);
            if p.sent < p.messages {
                let next_send = sent_at + p.arrival.next_gap(&mut p.rng);
                let (at, next) = p.send.send(next_send);
                p.sent += 1;
                self.schedule_producer(vec![(at, next)]);
            }
        }
        let p = &self.producers[ev.producer];
        let queue = match p.send.config().policy {
            SendPolicy::RocketMqAsync { .. } => p.first_queue[ev.seq as usize],
            _ => selected,
        };
        let verdict = if fault == Fault::RequestLost {
            BrokerVerdict::NotReceived
        } else if self.broker.down && self.broker_crash_at.is_some_and(|c| sent_at < c) {
            // Written to the connection before the broker died: lost with the process, the
            // client saw no error (a SYNC/ASYNC one is answered like a refused one here; the
            // real client would wait for its response until the budget ran out).
            if self.producers[ev.producer].send.config().policy == SendPolicy::RocketMqOneway {
                BrokerVerdict::NotReceived
            } else {
                BrokerVerdict::Unavailable
            }
        } else if self.broker.down {
            BrokerVerdict::Unavailable
        } else {
            self.store(ev, QueueId::Topic(queue), sent_at);
            BrokerVerdict::Stored
        };
        let out = self.producers[ev.producer]
            .send
            .on_broker_verdict(self.now, &ev, verdict);
        self.schedule_producer(out);
    }

    /// The broker stores a producer's attempt: a new message (a retry's second copy too).
    fn store(&mut self, ev: ProducerEvent, queue: QueueId, sent_at: SimTime) {
        self.accepted += 1;
        let id = self.accepted as MessageId;
        let n = self.copies_per_message();
        self.copies.extend(std::iter::repeat_n(0, n));
        self.idempotence
            .record_stored(u64::from(id), (ev.producer as u32, ev.seq));
        self.trace(|t| TraceRecord {
            message: Some(id),
            ..TraceRecord::new(t, TraceKind::Accepted)
        });
        self.append(
            queue,
            Stored {
                id,
                reconsume_times: 0,
                sent_at,
            },
        );
    }

    /// Schedules what the send protocol asks for, except a timeout that an answer scheduled
    /// in the same step will beat: the answer ends the attempt (confirmed, or failed and
    /// retried or given up), so the timeout would find nothing to do. Leaving it out keeps
    /// a finished run from ending `sendMsgTimeout` after its last send.
    fn schedule_producer(&mut self, out: Vec<Scheduled>) {
        let answered_before = |seq: u64, attempt: u32, at: SimTime| {
            out.iter().any(|&(t, e)| {
                e.seq == seq
                    && e.attempt == attempt
                    && t < at
                    && matches!(
                        e.kind,
                        ProducerEventKind::Confirmed | ProducerEventKind::TransportError
                    )
            })
        };
        let keep: Vec<Scheduled> = out
            .iter()
            .copied()
            .filter(|&(at, e)| {
                !(e.kind == ProducerEventKind::Timeout && answered_before(e.seq, e.attempt, at))
            })
            .collect();
        for (at, e) in keep {
            if e.kind != ProducerEventKind::Timeout {
                self.producer_events_pending += 1;
            }
            self.schedule(at, Event::Producer(e));
        }
    }

    /// Every `send()` call has happened and no attempt or answer is on its way (a pending
    /// timeout alone cannot change anything: an open send always has its answer scheduled).
    pub(super) fn sends_settled(&self) -> bool {
        self.producer_events_pending == 0 && self.producers.iter().all(Producer::all_sent)
    }

    /// The producers' view, summed.
    pub(super) fn send_counts(&self) -> SendCounts {
        self.producers
            .iter()
            .map(|p| p.send.counts())
            .fold(SendCounts::default(), |a, b| a.plus(&b))
    }

    /// Producer-side conservation ([`producer::check_sends`]).
    pub(super) fn check_sends(&self) -> Result<(), SimError> {
        producer::check_sends(self.producers.iter().map(|p| &p.send), self.accepted)
            .map_err(SimError::Conservation)
    }
}
