//! The producer side of a send, broker-agnostic: send policies, injected network/broker
//! faults, retries, and the producer's own view of every message it sent.
//!
//! A [`Producer`] is a state machine driven by [`ProducerEvent`]s that the simulation routes
//! to it: an attempt reaching the broker, the broker's reply (or a transport error) reaching
//! the producer, a send timeout. The broker model (ActiveMQ's queue, RocketMQ's commit log)
//! only answers one question per attempt — was it stored ([`BrokerVerdict`]) — so the same
//! producer serves both simulators.
//!
//! Rules (semantics.md):
//! - A11.1: ActiveMQ — a persistent non-transacted send is synchronous, a non-persistent one
//!   asynchronous (no response). The JMS client never retries a send itself: a failed sync
//!   send throws `JMSException` (a transport failure) or `RequestTimedOutIOException` (after
//!   `sendTimeout`, default 0 = wait forever, `ActiveMQConnection.syncSendPacket`). Only two
//!   things resend: the application (a new `send()` call, so a NEW JMSMessageID — the broker
//!   cannot tell it from a new message) and `FailoverTransport`, which re-sends its in-flight
//!   requests after reconnecting with the SAME MessageId (`initialReconnectDelay` 10 ms,
//!   doubling up to `maxReconnectDelay` 30 s, unlimited attempts).
//! - B1.1/B1.3: RocketMQ SYNC — up to 1 + `retryTimesWhenSendFailed` (2) attempts that share
//!   one `sendMsgTimeout` (3000 ms) budget counted from the `send()` call; an attempt starts
//!   only while budget is left, so a full response timeout ends the send.
//! - B1.4: ASYNC — the remoting layer retries up to `retryTimesWhenSendAsyncFailed` (2) times
//!   on a transport failure or timeout, with the remaining budget.
//! - B1.5: ONEWAY — one attempt, no result, no retry.
//! - B1.6: a retry re-sends the same message; if the earlier attempt was stored but its
//!   response was lost, the broker holds two copies (a duplicate at the source).
//!
//! Simplification: the arrival process is the application's `send()` calls, and sends do not
//! wait for one another (as with one sending thread per message); a blocking sync producer
//! would space its sends by at least one round trip.

use std::collections::{BTreeMap, VecDeque};

use rand::RngExt;

use crate::engine::{SimDuration, SimRng, SimTime};
use crate::model::dist::DurationSampler;
use crate::model::network::Link;

/// `ActiveMQConnectionFactory`'s `FailoverTransport.initialReconnectDelay` (10 ms).
pub const FAILOVER_INITIAL_RECONNECT_DELAY: SimDuration = SimDuration::from_millis(10);
/// `FailoverTransport.maxReconnectDelay` (30 s); the delay doubles up to it
/// (`useExponentialBackOff` true, `backOffMultiplier` 2).
pub const FAILOVER_MAX_RECONNECT_DELAY: SimDuration = SimDuration::from_secs(30);
/// `DefaultMQProducer.sendMsgTimeout` (B1.1).
pub const ROCKETMQ_SEND_TIMEOUT: SimDuration = SimDuration::from_millis(3000);
/// `retryTimesWhenSendFailed` and `retryTimesWhenSendAsyncFailed` (B1.1).
pub const ROCKETMQ_RETRIES: u32 = 2;

/// How a producer sends and what it does when a send goes wrong.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SendPolicy {
    /// ActiveMQ synchronous send (the default for persistent messages, A11.1).
    ActiveMqSync {
        /// `sendTimeout`; `None` is the real 0: wait for the response forever.
        send_timeout: Option<SimDuration>,
        /// Application-level resends after a `JMSException`: each is a new `send()` with a
        /// new JMSMessageID. The real client does none (0).
        retries: u32,
        /// `failover:` transport: a transport failure is hidden from the application, the
        /// request is re-sent with the same MessageId after reconnecting.
        failover: bool,
    },
    /// ActiveMQ asynchronous send (non-persistent default, or `useAsyncSend`): no response;
    /// the application never learns whether the broker got it.
    ActiveMqAsync,
    /// RocketMQ `send(msg)` (B1.3).
    RocketMqSync { timeout: SimDuration, retries: u32 },
    /// RocketMQ `send(msg, callback)` (B1.4).
    RocketMqAsync { timeout: SimDuration, retries: u32 },
    /// RocketMQ `sendOneway(msg)` (B1.5).
    RocketMqOneway,
}

impl SendPolicy {
    /// ActiveMQ's default for a message of this delivery mode (A11.1).
    pub fn activemq_default(persistent: bool) -> Self {
        if persistent {
            SendPolicy::ActiveMqSync {
                send_timeout: None,
                retries: 0,
                failover: false,
            }
        } else {
            SendPolicy::ActiveMqAsync
        }
    }

    /// RocketMQ's default (SYNC, 3000 ms, 2 retries; B1.1).
    pub fn rocketmq_default() -> Self {
        SendPolicy::RocketMqSync {
            timeout: ROCKETMQ_SEND_TIMEOUT,
            retries: ROCKETMQ_RETRIES,
        }
    }

    /// Whether the producer waits for (or is called back with) the broker's answer.
    pub fn expects_response(self) -> bool {
        !matches!(self, SendPolicy::ActiveMqAsync | SendPolicy::RocketMqOneway)
    }
}

/// Faults injected into each attempt, each drawn independently from the producer's
/// `producer/<name>/faults` stream (no draw at all when every probability is 0).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SendFaults {
    /// The connection breaks while the request is on the wire: the broker never sees it and
    /// the producer's transport reports the failure when the reply would have come.
    pub request_loss: f64,
    /// The broker stores the message but the connection breaks before its response arrives:
    /// the producer's transport reports the failure when the reply would have come.
    pub response_loss: f64,
    /// The broker stores the message but answers `slow_delay` late (a stalled disk, a GC
    /// pause); a send timeout shorter than that gives up first. Replies on one connection
    /// stay in order, so later replies wait behind a slow one.
    pub slow_probability: f64,
    pub slow_delay: SimDuration,
}

impl SendFaults {
    fn any(&self) -> bool {
        self.request_loss > 0.0 || self.response_loss > 0.0 || self.slow_probability > 0.0
    }
}

/// A producer's send configuration as the model consumes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SendConfig {
    /// JMS `DeliveryMode.PERSISTENT`: whether a stored copy survives a broker crash (A11.4).
    pub persistent: bool,
    pub policy: SendPolicy,
    pub faults: SendFaults,
}

impl SendConfig {
    /// A short description for `acksim check`: the delivery mode, the send policy when it
    /// is not the flavor's default, and any fault.
    pub fn describe(&self) -> String {
        let mut parts = vec![if self.persistent {
            "persistent".to_string()
        } else {
            "non-persistent".to_string()
        }];
        parts.push(match self.policy {
            SendPolicy::ActiveMqSync {
                send_timeout,
                retries,
                failover,
            } => {
                let mut p = "sync send".to_string();
                if let Some(t) = send_timeout {
                    p.push_str(&format!(", timeout {t}"));
                }
                if retries > 0 {
                    p.push_str(&format!(", {retries} application resends"));
                }
                if failover {
                    p.push_str(", failover");
                }
                p
            }
            SendPolicy::ActiveMqAsync => "async send".to_string(),
            SendPolicy::RocketMqSync { timeout, retries } => {
                format!("SYNC send, {timeout} budget, {retries} retries")
            }
            SendPolicy::RocketMqAsync { timeout, retries } => {
                format!("ASYNC send, {timeout} budget, {retries} retries")
            }
            SendPolicy::RocketMqOneway => "ONEWAY send".to_string(),
        });
        let f = self.faults;
        for (label, p) in [
            ("request loss", f.request_loss),
            ("response loss", f.response_loss),
        ] {
            if p > 0.0 {
                parts.push(format!("{label} {p}"));
            }
        }
        if f.slow_probability > 0.0 {
            parts.push(format!(
                "slow broker {} by {}",
                f.slow_probability, f.slow_delay
            ));
        }
        parts.join(", ")
    }
}

impl SendConfig {
    /// An ActiveMQ producer's defaults for its delivery mode: a persistent send is
    /// synchronous, a non-persistent one asynchronous (A11.1); no faults.
    pub fn activemq(persistent: bool) -> Self {
        Self {
            persistent,
            policy: SendPolicy::activemq_default(persistent),
            faults: SendFaults::default(),
        }
    }
}

impl Default for SendConfig {
    /// ActiveMQ's defaults: persistent, synchronous, no faults.
    fn default() -> Self {
        Self::activemq(true)
    }
}

/// What happened to one attempt on its way, decided when it is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    RequestLost,
    ResponseLost,
    Slow(SimDuration),
}

/// What the broker did with an attempt that reached it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerVerdict {
    /// A new copy was stored.
    Stored,
    /// The broker recognised a re-sent message it already holds and did not store it again,
    /// but answered OK (ActiveMQ's producer audit, `ProducerBrokerExchange.canDispatch`).
    DuplicateSuppressed,
    /// The broker is down: the connection is refused; nothing stored.
    Unavailable,
    /// The request never reached it ([`Fault::RequestLost`]).
    NotReceived,
}

/// An event for one producer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProducerEvent {
    pub producer: usize,
    /// The producer's message number (0, 1, 2 … in `send()` order): the message's identity
    /// across retries, the key of an idempotent consumer.
    pub seq: u64,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub kind: ProducerEventKind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ProducerEventKind {
    /// The attempt reaches the broker (or, with [`Fault::RequestLost`], would have).
    /// `same_id`: a failover re-send carrying the MessageId of an earlier attempt, which an
    /// ActiveMQ broker can recognise (RocketMQ retries keep the msgId too, but its broker
    /// does not de-duplicate, so the RocketMQ producer never sets it).
    Arrives {
        fault: Fault,
        sent_at: SimTime,
        same_id: bool,
    },
    /// The broker's OK reaches the producer.
    Confirmed,
    /// The transport reports a failure (connection lost or refused).
    TransportError,
    /// The attempt's deadline passed without an answer.
    Timeout,
}

/// How a send ended, from the producer's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    InProgress,
    Confirmed,
    Failed,
    /// Async / oneway: the call returned, no result will ever come.
    Unconfirmed,
}

/// The producer-side counters of a run (`sent`, `send_*`, `lost_at_send` columns).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendCounts {
    pub sent: u64,
    pub attempts: u64,
    pub confirmed: u64,
    pub failed: u64,
    /// Failed sends whose last attempt timed out (a subset of `failed`).
    pub timed_out: u64,
    pub unconfirmed: u64,
    pub in_progress: u64,
    /// Stored copies beyond the first of one producer message.
    pub duplicates: u64,
    /// Re-sends the broker recognised and did not store again.
    pub resends_suppressed: u64,
    /// Messages the producer believes sent (confirmed, or async/oneway with no error) that
    /// the broker never stored.
    pub lost_at_send: u64,
}

impl SendCounts {
    /// The counters of two producers together.
    pub fn plus(&self, o: &SendCounts) -> SendCounts {
        SendCounts {
            sent: self.sent + o.sent,
            attempts: self.attempts + o.attempts,
            confirmed: self.confirmed + o.confirmed,
            failed: self.failed + o.failed,
            timed_out: self.timed_out + o.timed_out,
            unconfirmed: self.unconfirmed + o.unconfirmed,
            in_progress: self.in_progress + o.in_progress,
            duplicates: self.duplicates + o.duplicates,
            resends_suppressed: self.resends_suppressed + o.resends_suppressed,
            lost_at_send: self.lost_at_send + o.lost_at_send,
        }
    }

    /// Producer-side conservation: every send is confirmed, failed, unconfirmed or still in
    /// progress.
    pub fn conserves_sends(&self) -> bool {
        self.sent == self.confirmed + self.failed + self.unconfirmed + self.in_progress
    }
}

/// An attempt waiting for its answer.
#[derive(Debug, Clone, Copy)]
struct OpenSend {
    /// When the application first called `send()` (RocketMQ's budget starts here).
    sent_at: SimTime,
    /// When the current `send()` call started: an ActiveMQ application resend is a new
    /// call with its own `sendTimeout`; a failover re-send is not.
    call_started: SimTime,
    attempt: u32,
}

/// A producer's connection to the broker.
#[derive(Debug)]
pub struct Wire {
    /// First attempts, in `send()` order (FIFO).
    pub to_broker: Link,
    /// Replies (FIFO: a slow reply holds back the later ones).
    pub to_producer: Link,
    /// Latency of a retry or re-send. It travels on its own: after a transport failure it
    /// goes over a new connection (failover, RocketMQ's channel), and it must not queue
    /// behind first attempts the simulation has already planned for later sends.
    pub retry_latency: DurationSampler,
    pub retry_rng: SimRng,
}

/// The state of one producer.
#[derive(Debug)]
pub struct Producer {
    index: usize,
    config: SendConfig,
    faults_rng: SimRng,
    to_broker: Link,
    to_producer: Link,
    retry_latency: DurationSampler,
    retry_rng: SimRng,
    open: BTreeMap<u64, OpenSend>,
    /// Whether nothing outside the producer can fail a reply: the broker never crashes in
    /// this run (set by the simulation).
    certain_replies: bool,
    /// Replies that nothing can stop (a first attempt stored with no fault, arriving before
    /// any deadline): (arrival time, seq), in arrival order since the reply link is FIFO.
    /// They are counted as they come due instead of costing an event each.
    certain: VecDeque<(SimTime, u64)>,
    /// The `seq` of the next `send()`.
    next_seq: u64,
    outcomes: Vec<Outcome>,
    /// Stored copies of each message.
    copies: Vec<u32>,
    counts: SendCounts,
}

/// Something the simulation must schedule for the producer.
pub type Scheduled = (SimTime, ProducerEvent);

impl Producer {
    pub fn new(index: usize, config: SendConfig, faults_rng: SimRng, wire: Wire) -> Self {
        Self {
            index,
            config,
            faults_rng,
            to_broker: wire.to_broker,
            to_producer: wire.to_producer,
            retry_latency: wire.retry_latency,
            retry_rng: wire.retry_rng,
            open: BTreeMap::new(),
            certain_replies: false,
            certain: VecDeque::new(),
            next_seq: 0,
            outcomes: Vec::new(),
            copies: Vec::new(),
            counts: SendCounts::default(),
        }
    }

    /// Declares that no broker crash can stop a reply in this run, so a reply that no
    /// injected fault or deadline can affect needs no event of its own.
    pub fn with_certain_replies(mut self, certain: bool) -> Self {
        self.certain_replies = certain;
        self
    }

    pub fn config(&self) -> &SendConfig {
        &self.config
    }

    /// The application will call `send()` for its next message at `sent_at`: the first
    /// attempt travels to the broker. The send is registered (counted in `sent`) when that
    /// attempt reaches the broker's end of the wire, so a run cut by `until` counts no send
    /// that had not happened yet.
    pub fn send(&mut self, sent_at: SimTime) -> Scheduled {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.attempt(seq, 1, sent_at, sent_at, false)
    }

    /// Registers a send whose first attempt just arrived.
    fn register(&mut self, seq: u64, sent_at: SimTime, open: bool) {
        debug_assert_eq!(
            seq,
            self.outcomes.len() as u64,
            "first attempts arrive in order"
        );
        let expects_response = self.config.policy.expects_response();
        self.outcomes.push(if expects_response {
            Outcome::InProgress
        } else {
            Outcome::Unconfirmed
        });
        self.copies.push(0);
        self.counts.sent += 1;
        if expects_response && open {
            self.open.insert(
                seq,
                OpenSend {
                    sent_at,
                    call_started: sent_at,
                    attempt: 1,
                },
            );
        }
    }

    fn attempt(
        &mut self,
        seq: u64,
        attempt: u32,
        now: SimTime,
        sent_at: SimTime,
        same_id: bool,
    ) -> Scheduled {
        let fault = self.sample_fault();
        let at = if attempt == 1 {
            self.to_broker.arrival(now)
        } else {
            now + self.retry_latency.sample(&mut self.retry_rng)
        };
        let kind = ProducerEventKind::Arrives {
            fault,
            sent_at,
            same_id,
        };
        (at, self.event(seq, attempt, kind))
    }

    fn event(&self, seq: u64, attempt: u32, kind: ProducerEventKind) -> ProducerEvent {
        ProducerEvent {
            producer: self.index,
            seq,
            attempt,
            kind,
        }
    }

    fn sample_fault(&mut self) -> Fault {
        let f = self.config.faults;
        if !f.any() {
            return Fault::None;
        }
        let rng = &mut self.faults_rng;
        if rng.random::<f64>() < f.request_loss {
            Fault::RequestLost
        } else if rng.random::<f64>() < f.response_loss {
            Fault::ResponseLost
        } else if rng.random::<f64>() < f.slow_probability {
            Fault::Slow(f.slow_delay)
        } else {
            Fault::None
        }
    }

    /// The deadline of a `send()` call started at `call_started` of a message first sent at
    /// `sent_at`.
    fn deadline(&self, sent_at: SimTime, call_started: SimTime) -> Option<SimTime> {
        match self.config.policy {
            SendPolicy::ActiveMqSync { send_timeout, .. } => send_timeout.map(|t| call_started + t),
            SendPolicy::RocketMqSync { timeout, .. }
            | SendPolicy::RocketMqAsync { timeout, .. } => Some(sent_at + timeout),
            SendPolicy::ActiveMqAsync | SendPolicy::RocketMqOneway => None,
        }
    }

    /// An attempt reached the broker (now) and the broker decided `verdict`: what travels
    /// back, and the attempt's timeout. Records a stored copy.
    pub fn on_broker_verdict(
        &mut self,
        now: SimTime,
        event: &ProducerEvent,
        verdict: BrokerVerdict,
    ) -> Vec<Scheduled> {
        let ProducerEventKind::Arrives { fault, sent_at, .. } = event.kind else {
            return Vec::new();
        };
        self.settle(Some(now));
        // The reply and when it reaches the producer, drawn once from the FIFO reply link.
        let reply = self
            .config
            .policy
            .expects_response()
            .then(|| match (verdict, fault) {
                (BrokerVerdict::NotReceived | BrokerVerdict::Unavailable, _)
                | (_, Fault::ResponseLost) => (
                    self.to_producer.arrival(now),
                    ProducerEventKind::TransportError,
                ),
                (_, Fault::Slow(delay)) => (
                    self.to_producer.arrival(now + delay),
                    ProducerEventKind::Confirmed,
                ),
                _ => (self.to_producer.arrival(now), ProducerEventKind::Confirmed),
            });
        // A first attempt's timeout starts at `sent_at`; a retry's is scheduled when the
        // retry is made (`retry_or_fail`).
        let deadline = if event.attempt == 1 {
            self.deadline(sent_at, sent_at)
        } else {
            None
        };
        // A reply nothing can stop (no injected fault, no broker crash in the run, due before
        // the deadline — a timeout at the same instant would run first) makes the outcome
        // certain: it is confirmed when it comes due (`settle`), without an event of its own
        // or a timeout.
        let certain = self.certain_replies
            && event.attempt == 1
            && fault == Fault::None
            && verdict == BrokerVerdict::Stored
            && matches!(reply, Some((at, ProducerEventKind::Confirmed))
                if deadline.is_none_or(|d| at < d));
        if event.attempt == 1 {
            self.register(event.seq, sent_at, !certain);
        }
        self.counts.attempts += 1;
        match verdict {
            BrokerVerdict::Stored => {
                let c = &mut self.copies[event.seq as usize];
                if *c > 0 {
                    self.counts.duplicates += 1;
                }
                *c += 1;
            }
            BrokerVerdict::DuplicateSuppressed => self.counts.resends_suppressed += 1,
            BrokerVerdict::Unavailable | BrokerVerdict::NotReceived => {}
        }
        let Some((at, kind)) = reply else {
            // A fire-and-forget send to a broker known to be down fails visibly: RocketMQ's
            // `invokeOneway` throws RemotingConnectException, rethrown by `sendDefaultImpl` as
            // MQClientException; ActiveMQ's session finds its connection failed and throws.
            // (A request written before the broker died is lost silently: the simulations
            // answer `NotReceived` for it.)
            if !self.config.policy.expects_response() && verdict == BrokerVerdict::Unavailable {
                self.finish(event.seq, Outcome::Failed, false);
            }
            return Vec::new();
        };
        if certain {
            self.certain.push_back((at, event.seq));
            return Vec::new();
        }
        let mut out = Vec::with_capacity(2);
        if let Some(d) = deadline {
            out.push((
                d.max(now),
                self.event(event.seq, 1, ProducerEventKind::Timeout),
            ));
        }
        out.push((at, self.event(event.seq, event.attempt, kind)));
        out
    }

    /// An answer, transport error or timeout reached the producer. Stale events (of an
    /// attempt already answered or superseded) are ignored. Returns what to schedule.
    pub fn on_event(&mut self, now: SimTime, event: &ProducerEvent) -> Vec<Scheduled> {
        let Some(open) = self.open.get(&event.seq).copied() else {
            return Vec::new();
        };
        if open.attempt != event.attempt {
            return Vec::new();
        }
        match event.kind {
            ProducerEventKind::Confirmed => {
                self.finish(event.seq, Outcome::Confirmed, false);
                Vec::new()
            }
            ProducerEventKind::TransportError => self.retry_or_fail(now, event.seq, open, false),
            ProducerEventKind::Timeout => self.retry_or_fail(now, event.seq, open, true),
            ProducerEventKind::Arrives { .. } => Vec::new(),
        }
    }

    /// Confirms the certain replies due by `until` (all of them with `None`: the run ended
    /// with nothing left to happen, so they arrive).
    pub fn settle(&mut self, until: Option<SimTime>) {
        while let Some(&(at, seq)) = self.certain.front() {
            if until.is_some_and(|u| at > u) {
                break;
            }
            self.certain.pop_front();
            self.outcomes[seq as usize] = Outcome::Confirmed;
            self.counts.confirmed += 1;
        }
    }

    fn finish(&mut self, seq: u64, outcome: Outcome, timed_out: bool) {
        self.open.remove(&seq);
        self.outcomes[seq as usize] = outcome;
        match outcome {
            Outcome::Confirmed => self.counts.confirmed += 1,
            Outcome::Failed => {
                self.counts.failed += 1;
                if timed_out {
                    self.counts.timed_out += 1;
                }
            }
            Outcome::InProgress | Outcome::Unconfirmed => {}
        }
    }

    /// The policy's reaction to a failed attempt (module doc: A11.1, B1.3, B1.4).
    fn retry_or_fail(
        &mut self,
        now: SimTime,
        seq: u64,
        open: OpenSend,
        timed_out: bool,
    ) -> Vec<Scheduled> {
        let next = open.attempt + 1;
        let mut same_id = false;
        let mut call_started = open.call_started;
        let retry_at = match self.config.policy {
            SendPolicy::ActiveMqSync { failover: true, .. } if !timed_out => {
                // FailoverTransport reconnects with exponential back-off and re-sends the
                // tracked request; the application never sees the failure.
                let mut delay = FAILOVER_INITIAL_RECONNECT_DELAY;
                for _ in 1..open.attempt {
                    delay = (delay + delay).min(FAILOVER_MAX_RECONNECT_DELAY);
                }
                same_id = true;
                Some(now + delay)
            }
            SendPolicy::ActiveMqSync { retries, .. } => {
                // The application's new send() call: new MessageId, new sendTimeout.
                call_started = now;
                (open.attempt <= retries).then_some(now)
            }
            SendPolicy::RocketMqSync { timeout, retries }
            | SendPolicy::RocketMqAsync { timeout, retries } => {
                let budget_left = now.saturating_since(open.sent_at) < timeout;
                (open.attempt <= retries && budget_left).then_some(now)
            }
            SendPolicy::ActiveMqAsync | SendPolicy::RocketMqOneway => None,
        };
        let Some(at) = retry_at else {
            self.finish(seq, Outcome::Failed, timed_out);
            return Vec::new();
        };
        self.open.insert(
            seq,
            OpenSend {
                sent_at: open.sent_at,
                call_started,
                attempt: next,
            },
        );
        let mut out = vec![self.attempt(seq, next, at, open.sent_at, same_id)];
        if let Some(d) = self.deadline(open.sent_at, call_started) {
            out.push((d.max(at), self.event(seq, next, ProducerEventKind::Timeout)));
        }
        out
    }

    /// The final counters; sends still open count as in progress.
    pub fn counts(&self) -> SendCounts {
        let mut c = self.counts;
        c.in_progress = (self.open.len() + self.certain.len()) as u64;
        c.lost_at_send = self
            .outcomes
            .iter()
            .zip(&self.copies)
            .filter(|&(o, &n)| matches!(o, Outcome::Confirmed | Outcome::Unconfirmed) && n == 0)
            .count() as u64;
        c.unconfirmed = self
            .outcomes
            .iter()
            .filter(|&&o| o == Outcome::Unconfirmed)
            .count() as u64;
        c
    }

    /// Stored copies of message `seq` so far.
    pub fn copies_of(&self, seq: u64) -> u32 {
        self.copies.get(seq as usize).copied().unwrap_or(0)
    }

    /// A message confirmed to the producer with no stored copy (a bug of the model), if any.
    pub fn confirmed_without_copy(&self) -> Option<u64> {
        self.outcomes
            .iter()
            .zip(&self.copies)
            .position(|(&o, &n)| o == Outcome::Confirmed && n == 0)
            .map(|i| i as u64)
    }

    /// Stored copies of all its messages so far.
    pub fn stored_copies(&self) -> u64 {
        self.copies.iter().map(|&c| u64::from(c)).sum()
    }
}

/// Producer-side conservation, checked at the end of every run: each producer's sends are
/// confirmed, failed, unconfirmed or in progress; a confirmed send has a stored copy; and the
/// stored copies the producers counted are the `accepted` messages of the broker. Returns
/// what is violated.
pub fn check_sends<'a>(
    producers: impl IntoIterator<Item = &'a Producer>,
    accepted: u64,
) -> Result<(), String> {
    let mut stored = 0;
    for (i, p) in producers.into_iter().enumerate() {
        let c = p.counts();
        if !c.conserves_sends() {
            return Err(format!(
                "producer {i}: sent {} != confirmed {} + failed {} + unconfirmed {} + in progress {}",
                c.sent, c.confirmed, c.failed, c.unconfirmed, c.in_progress
            ));
        }
        if let Some(seq) = p.confirmed_without_copy() {
            return Err(format!(
                "producer {i}: message {seq} was confirmed but never stored"
            ));
        }
        stored += p.stored_copies();
    }
    if stored != accepted {
        return Err(format!(
            "the producers count {stored} stored copies, the broker accepted {accepted}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Hand-computed send protocols. Latency is a constant 1 ms each way; the "network" of
    //! the harness overrides each attempt's fault from a script so every case is exact.
    use super::*;
    use crate::engine::{EventQueue, RngStreams};
    use crate::model::config::DurationDist;
    use crate::model::dist::DurationSampler;

    const MS: u64 = 1_000_000;

    fn t(ms: u64) -> SimTime {
        SimTime::from_nanos(ms * MS)
    }

    fn wire(lat: &DurationSampler, streams: &RngStreams) -> Wire {
        Wire {
            to_broker: Link::new(lat.clone(), streams.stream("a")),
            to_producer: Link::new(lat.clone(), streams.stream("b")),
            retry_latency: lat.clone(),
            retry_rng: streams.stream("c"),
        }
    }

    struct Harness {
        p: Producer,
        queue: EventQueue<ProducerEvent>,
        /// Fault of the 1st, 2nd … attempt to reach the broker; `None` afterwards.
        script: Vec<Fault>,
        arrivals: usize,
        /// The broker is down during [from, to).
        down: Option<(SimTime, SimTime)>,
        /// When each attempt reached the broker, and the verdict.
        log: Vec<(SimTime, BrokerVerdict)>,
        end: SimTime,
    }

    impl Harness {
        fn new(policy: SendPolicy, persistent: bool, script: Vec<Fault>) -> Self {
            let streams = RngStreams::new(1);
            let lat = DurationSampler::new(&DurationDist::Constant(SimDuration::from_millis(1)));
            let config = SendConfig {
                persistent,
                policy,
                faults: SendFaults::default(),
            };
            Self {
                p: Producer::new(0, config, streams.stream("f"), wire(&lat, &streams)),
                queue: EventQueue::new(),
                script,
                arrivals: 0,
                down: None,
                log: Vec::new(),
                end: SimTime::ZERO,
            }
        }

        /// Sends one message at `at` and runs until nothing is left; the broker side is
        /// the ActiveMQ sim's rule (a failover re-send of a stored persistent message is
        /// suppressed).
        fn send_at(&mut self, at: SimTime) -> &mut Self {
            let (when, ev) = self.p.send(at);
            self.queue.push(when, ev);
            while let Some((now, mut ev)) = self.queue.pop() {
                self.end = now;
                let next = if let ProducerEventKind::Arrives {
                    sent_at, same_id, ..
                } = ev.kind
                {
                    let fault = self
                        .script
                        .get(self.arrivals)
                        .copied()
                        .unwrap_or(Fault::None);
                    self.arrivals += 1;
                    ev.kind = ProducerEventKind::Arrives {
                        fault,
                        sent_at,
                        same_id,
                    };
                    let down = self.down.is_some_and(|(a, b)| now >= a && now < b);
                    let verdict = if fault == Fault::RequestLost {
                        BrokerVerdict::NotReceived
                    } else if down {
                        BrokerVerdict::Unavailable
                    } else if same_id && self.p.config().persistent && self.p.copies_of(ev.seq) > 0
                    {
                        BrokerVerdict::DuplicateSuppressed
                    } else {
                        BrokerVerdict::Stored
                    };
                    self.log.push((now, verdict));
                    self.p.on_broker_verdict(now, &ev, verdict)
                } else {
                    self.p.on_event(now, &ev)
                };
                for (at, e) in next {
                    self.queue.push(at, e);
                }
            }
            self
        }

        fn counts(&self) -> SendCounts {
            let c = self.p.counts();
            assert!(c.conserves_sends());
            c
        }
    }

    fn rocketmq_sync() -> SendPolicy {
        SendPolicy::rocketmq_default()
    }

    #[test]
    fn defaults_are_the_real_clients() {
        assert_eq!(
            SendPolicy::activemq_default(true),
            SendPolicy::ActiveMqSync {
                send_timeout: None,
                retries: 0,
                failover: false
            }
        );
        assert_eq!(
            SendPolicy::activemq_default(false),
            SendPolicy::ActiveMqAsync
        );
        assert_eq!(
            rocketmq_sync(),
            SendPolicy::RocketMqSync {
                timeout: SimDuration::from_millis(3000),
                retries: 2
            }
        );
    }

    #[test]
    fn a_clean_sync_send_is_confirmed_after_one_round_trip() {
        let mut h = Harness::new(rocketmq_sync(), true, vec![]);
        h.send_at(t(0));
        let c = h.counts();
        assert_eq!(
            (c.sent, c.attempts, c.confirmed, c.duplicates),
            (1, 1, 1, 0)
        );
        // Arrives at 1 ms, the OK reaches the producer at 2 ms; the 3000 ms timeout that
        // follows is stale and changes nothing.
        assert_eq!(h.log, vec![(t(1), BrokerVerdict::Stored)]);
        assert_eq!(h.p.copies_of(0), 1);
    }

    /// B1.3: a broker slower than the whole budget: attempt 1 times out at 3000 ms, the
    /// elapsed time equals the budget, so no retry: failed (timed out) with 1 stored copy.
    #[test]
    fn rocketmq_sync_timeout_uses_the_whole_budget() {
        let mut h = Harness::new(
            rocketmq_sync(),
            true,
            vec![Fault::Slow(SimDuration::from_millis(5000))],
        );
        h.send_at(t(0));
        let c = h.counts();
        assert_eq!(
            (c.attempts, c.failed, c.timed_out, c.confirmed),
            (1, 1, 1, 0)
        );
        assert_eq!(h.p.copies_of(0), 1);
        assert_eq!(c.duplicates, 0);
        // The late OK (1 + 5000 + 1 ms) is ignored.
        assert_eq!(h.end, t(5002));
    }

    /// B1.3/B1.6: a lost response is a fast transport failure (at 2 ms): budget is left, so
    /// attempt 2 re-sends the same message, which is stored again: 2 copies, confirmed.
    #[test]
    fn rocketmq_sync_retry_after_a_lost_response_stores_twice() {
        let mut h = Harness::new(rocketmq_sync(), true, vec![Fault::ResponseLost]);
        h.send_at(t(0));
        let c = h.counts();
        assert_eq!((c.attempts, c.confirmed, c.failed), (2, 1, 0));
        assert_eq!(h.p.copies_of(0), 2);
        assert_eq!(c.duplicates, 1);
        assert_eq!(
            h.log,
            vec![(t(1), BrokerVerdict::Stored), (t(3), BrokerVerdict::Stored)]
        );
    }

    /// Every response lost: attempts at 0, 2 and 4 ms (each error 1 ms after the store),
    /// three copies, and after the third attempt the send fails (retries = 2).
    #[test]
    fn rocketmq_sync_gives_up_after_three_attempts() {
        let lost = vec![Fault::ResponseLost; 3];
        let mut h = Harness::new(rocketmq_sync(), true, lost);
        h.send_at(t(0));
        let c = h.counts();
        assert_eq!((c.attempts, c.failed, c.timed_out), (3, 1, 0));
        assert_eq!((h.p.copies_of(0), c.duplicates, c.lost_at_send), (3, 2, 0));
        let times: Vec<SimTime> = h.log.iter().map(|&(at, _)| at).collect();
        assert_eq!(times, vec![t(1), t(3), t(5)]);
    }

    /// B1.4: two lost requests (transport failures at 2 and 4 ms) are retried; the third
    /// attempt is stored and confirmed: one copy.
    #[test]
    fn rocketmq_async_retries_transport_failures_with_the_remaining_budget() {
        let policy = SendPolicy::RocketMqAsync {
            timeout: SimDuration::from_millis(3000),
            retries: 2,
        };
        let mut h = Harness::new(policy, true, vec![Fault::RequestLost, Fault::RequestLost]);
        h.send_at(t(0));
        let c = h.counts();
        // Attempts reach the broker's side at 1, 3, 5 ms; the 3rd is stored.
        assert_eq!((c.attempts, c.confirmed), (3, 1));
        assert_eq!((h.p.copies_of(0), c.duplicates), (1, 0));
    }

    /// B1.5: one attempt, no result, no retry: a lost request is lost at the source.
    #[test]
    fn rocketmq_oneway_loses_a_lost_request_silently() {
        let mut h = Harness::new(SendPolicy::RocketMqOneway, true, vec![Fault::RequestLost]);
        h.send_at(t(0));
        let c = h.counts();
        assert_eq!((c.sent, c.attempts, c.unconfirmed), (1, 1, 1));
        assert_eq!((c.confirmed, c.failed, c.lost_at_send), (0, 0, 1));
    }

    /// A11.1: the JMS client never retries: a lost response fails the send, yet the
    /// broker has the message (not lost at send, no duplicate).
    #[test]
    fn activemq_sync_does_not_retry() {
        let mut h = Harness::new(
            SendPolicy::activemq_default(true),
            true,
            vec![Fault::ResponseLost],
        );
        h.send_at(t(0));
        let c = h.counts();
        assert_eq!((c.attempts, c.failed, c.confirmed), (1, 1, 0));
        assert_eq!((h.p.copies_of(0), c.lost_at_send), (1, 0));
    }

    /// An application that resends after the JMSException makes a new message (new
    /// JMSMessageID): the broker stores it again.
    #[test]
    fn activemq_application_resend_stores_twice() {
        let policy = SendPolicy::ActiveMqSync {
            send_timeout: None,
            retries: 1,
            failover: false,
        };
        let mut h = Harness::new(policy, true, vec![Fault::ResponseLost]);
        h.send_at(t(0));
        let c = h.counts();
        assert_eq!((c.attempts, c.confirmed, c.duplicates), (2, 1, 1));
        assert_eq!(h.p.copies_of(0), 2);
    }

    /// Failover re-sends the same MessageId after reconnecting (10 ms); the broker's
    /// producer audit drops it: one copy, confirmed, one suppressed re-send.
    #[test]
    fn activemq_failover_resend_is_suppressed_by_the_producer_audit() {
        let policy = SendPolicy::ActiveMqSync {
            send_timeout: None,
            retries: 0,
            failover: true,
        };
        let mut h = Harness::new(policy, true, vec![Fault::ResponseLost]);
        h.send_at(t(0));
        let c = h.counts();
        assert_eq!((c.attempts, c.confirmed, c.duplicates), (2, 1, 0));
        assert_eq!(c.resends_suppressed, 1);
        assert_eq!(h.p.copies_of(0), 1);
        // Stored at 1 ms, error at 2 ms, re-sent at 12 ms, reaches the broker at 13 ms.
        assert_eq!(
            h.log,
            vec![
                (t(1), BrokerVerdict::Stored),
                (t(13), BrokerVerdict::DuplicateSuppressed)
            ]
        );
    }

    /// With failover AND a sendTimeout, a timeout is not a transport failure: failover does
    /// not re-send, the application does — a new send() with a new MessageId, which the
    /// audit cannot recognise. Slow broker (1 s) vs 500 ms: attempt 1 is stored at 1 ms and
    /// times out at 500 ms; the resend is stored at 501 ms, but the connection answers in
    /// order, so its OK queues behind the slow one (1002 ms) and the resend times out too at
    /// 1000 ms: failed, with two copies stored.
    #[test]
    fn activemq_application_resend_after_a_timeout_is_not_suppressed_even_with_failover() {
        let policy = SendPolicy::ActiveMqSync {
            send_timeout: Some(SimDuration::from_millis(500)),
            retries: 1,
            failover: true,
        };
        let mut h = Harness::new(policy, true, vec![Fault::Slow(SimDuration::from_secs(1))]);
        h.send_at(t(0));
        let c = h.counts();
        assert_eq!((c.confirmed, c.failed, c.timed_out), (0, 1, 1));
        assert_eq!((c.duplicates, c.resends_suppressed), (1, 0));
        assert_eq!(
            h.log,
            vec![
                (t(1), BrokerVerdict::Stored),
                (t(501), BrokerVerdict::Stored)
            ]
        );
    }

    /// The audit only covers persistent messages: a non-persistent sync send re-sent by
    /// failover is stored twice.
    #[test]
    fn activemq_failover_resend_of_a_non_persistent_message_duplicates() {
        let policy = SendPolicy::ActiveMqSync {
            send_timeout: None,
            retries: 0,
            failover: true,
        };
        let mut h = Harness::new(policy, false, vec![Fault::ResponseLost]);
        h.send_at(t(0));
        let c = h.counts();
        assert_eq!((c.confirmed, c.duplicates, c.resends_suppressed), (1, 1, 0));
    }

    /// Failover keeps re-sending while the broker is down, backing off 10, 20, 40 … ms.
    #[test]
    fn activemq_failover_backs_off_until_the_broker_is_back() {
        let policy = SendPolicy::ActiveMqSync {
            send_timeout: None,
            retries: 0,
            failover: true,
        };
        let mut h = Harness::new(policy, true, vec![]);
        h.down = Some((t(0), t(50)));
        h.send_at(t(0));
        // Refused at 1 ms (error at 2), re-sent at 12 → 13 (error 14), at 34 → 35 (error
        // 36), at 76 → 77: the broker is back, stored.
        let times: Vec<SimTime> = h.log.iter().map(|&(at, _)| at).collect();
        assert_eq!(times, vec![t(1), t(13), t(35), t(77)]);
        assert_eq!(h.counts().confirmed, 1);
    }

    /// sendTimeout: a slow broker beyond it fails the send (RequestTimedOutIOException),
    /// yet the message is stored.
    #[test]
    fn activemq_send_timeout_fails_a_stored_message() {
        let policy = SendPolicy::ActiveMqSync {
            send_timeout: Some(SimDuration::from_millis(500)),
            retries: 0,
            failover: false,
        };
        let mut h = Harness::new(policy, true, vec![Fault::Slow(SimDuration::from_secs(1))]);
        h.send_at(t(0));
        let c = h.counts();
        assert_eq!((c.failed, c.timed_out, c.lost_at_send), (1, 1, 0));
        assert_eq!(h.p.copies_of(0), 1);
    }

    /// A11.1: an async send to a broker the client knows is down throws (the connection has
    /// failed), so the application sees it; nothing is lost at the source. (An async send
    /// already on the wire when the broker dies is the silent loss: the simulation answers
    /// `NotReceived` for it, see `sim::broker_crash` tests.)
    #[test]
    fn activemq_async_send_to_a_known_dead_broker_fails() {
        let mut h = Harness::new(SendPolicy::ActiveMqAsync, false, vec![]);
        h.down = Some((t(0), t(10)));
        h.send_at(t(0));
        h.send_at(t(20));
        let c = h.counts();
        assert_eq!(
            (c.sent, c.unconfirmed, c.failed, c.lost_at_send),
            (2, 1, 1, 0)
        );
        assert_eq!((h.p.copies_of(0), h.p.copies_of(1)), (0, 1));
    }

    #[test]
    fn describe_names_mode_policy_and_faults() {
        assert_eq!(SendConfig::default().describe(), "persistent, sync send");
        let c = SendConfig {
            persistent: false,
            policy: SendPolicy::rocketmq_default(),
            faults: SendFaults {
                response_loss: 0.5,
                slow_probability: 0.1,
                slow_delay: SimDuration::from_secs(5),
                ..SendFaults::default()
            },
        };
        assert_eq!(
            c.describe(),
            "non-persistent, SYNC send, 3s budget, 2 retries, response loss 0.5, slow broker 0.1 by 5s"
        );
    }

    #[test]
    fn fault_probabilities_one_and_zero_are_certain() {
        let streams = RngStreams::new(3);
        let lat = DurationSampler::new(&DurationDist::Constant(SimDuration::ZERO));
        let mk = |faults| {
            Producer::new(
                0,
                SendConfig {
                    persistent: true,
                    policy: SendPolicy::RocketMqOneway,
                    faults,
                },
                streams.stream("f"),
                wire(&lat, &streams),
            )
        };
        let mut lost = mk(SendFaults {
            request_loss: 1.0,
            ..SendFaults::default()
        });
        let mut slow = mk(SendFaults {
            slow_probability: 1.0,
            slow_delay: SimDuration::from_millis(7),
            ..SendFaults::default()
        });
        for _ in 0..20 {
            let (_, e) = lost.send(SimTime::ZERO);
            assert!(matches!(
                e.kind,
                ProducerEventKind::Arrives {
                    fault: Fault::RequestLost,
                    ..
                }
            ));
            let (_, e) = slow.send(SimTime::ZERO);
            assert!(matches!(
                e.kind,
                ProducerEventKind::Arrives {
                    fault: Fault::Slow(d),
                    ..
                } if d == SimDuration::from_millis(7)
            ));
        }
    }
}
