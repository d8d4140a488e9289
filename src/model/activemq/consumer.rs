//! One consumer instance: the application and the ActiveMQ client library under it
//! (`ActiveMQMessageConsumer`, "MC" in semantics.md), on its own connection and session.
//!
//! Where to find a rule:
//! - when each ack mode acknowledges: [`Consumer::after_message_is_consumed`] (A2.3–A2.5,
//!   A2.12) and [`Consumer::ack_later`] (A2.6);
//! - CLIENT / INDIVIDUAL / transacted application calls: [`Consumer::application_step`]
//!   (A2.7–A2.9);
//! - a listener that throws, `recover()`, `rollback()`: [`Consumer::on_processing_end`] and
//!   [`Consumer::rollback`] (A2.13, A3.2);
//! - receive() vs listener ordering: [`Consumer::deliver`] (A2.1);
//! - crashes: [`Consumer::crash`] (contract.md crash points, A5.2).

use crate::engine::{RngStreams, SimDuration, SimRng, SimTime};
use crate::model::activemq::ack::{AckType, MessageAck};
use crate::model::activemq::broker::SubscriptionId;
use crate::model::activemq::dispatch_selector::DispatchInfo;
use crate::model::activemq::expiry;
use crate::model::activemq::priority;
use crate::model::config::{
    AckMode, ConsumerConfig, CrashConfig, CrashPoint, DeliveryMode, FailureHandling, NetworkConfig,
    RedeliveryPolicy,
};
use crate::model::dist::DurationSampler;
use crate::model::message::{MessageId, MessageRef};
use crate::model::network::Link;
use crate::model::sim::{BrokerCommand, Ctx, Event};
use crate::model::trace::{TraceKind, TraceRecord};
use rand::RngExt;
use std::collections::VecDeque;

/// What the application is doing.
#[derive(Debug, Clone, Copy, PartialEq)]
enum AppState {
    /// Waiting for a message: the session thread is idle (listener) or the application is
    /// blocked in `receive()`.
    Idle,
    /// Processing a delivery since `started`; `fails` was decided when it started.
    Processing {
        message: MessageRef,
        fails: bool,
        started: SimTime,
    },
    /// Blocked in a synchronous `session.commit()` / `session.rollback()`.
    EndingTransaction,
}

/// Per-instance counters (a `consumers.csv` row is built from them).
#[derive(Debug, Clone, Default)]
pub struct ConsumerStats {
    pub processed: u64,
    pub duplicates: u64,
    pub deliveries: u64,
    pub redelivered: u64,
    pub acks_sent: u64,
    pub crashes: u64,
    /// Times a slow-consumer strategy aborted this instance's consumer (A8.3).
    pub aborted: u64,
    pub busy: SimDuration,
    pub idle_with_backlog: SimDuration,
}

/// A client's state as idle-with-backlog accounting sees it. It changes only when an event
/// touches the client, so the simulation keeps one per client and refreshes it then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BacklogView {
    /// Alive and waiting for a message.
    pub idle: bool,
    /// Messages wait in its buffer (arrived or rolled back, not yet handed over).
    pub buffered: bool,
    /// When the oldest message on its inbound link arrives (or arrived: until the client
    /// looks, an arrived message stays on the link).
    pub next_arrival: Option<SimTime>,
}

impl BacklogView {
    /// Messages wait in this client at `at`.
    pub fn waiting_at(&self, at: SimTime) -> bool {
        self.buffered || self.next_arrival.is_some_and(|t| t <= at)
    }
}

/// A consumer instance (`c-0`, `c-1`, …).
#[derive(Debug)]
pub struct Consumer {
    pub index: usize,
    pub name: String,
    // Configuration.
    ack_mode: AckMode,
    delivery: DeliveryMode,
    pub prefetch: u32,
    /// What its `ConsumerInfo` tells the queue's dispatch (priority, exclusive; A7.3, A7.5).
    pub dispatch_info: DispatchInfo,
    /// `optimizeAcknowledge` as MC computes it: the connection option AND an AUTO session.
    optimize_acknowledge: bool,
    /// MC.isAutoAcknowledgeBatch(): DUPS_OK on a topic (A2.4).
    auto_acknowledge_batch: bool,
    optimize_ack_timeout: SimDuration,
    ack_every: u32,
    commit_every: u32,
    processing: DurationSampler,
    failure_probability: f64,
    poison: Vec<MessageId>,
    handling: FailureHandling,
    crash: Option<CrashConfig>,
    pub start_at: SimDuration,
    policy: RedeliveryPolicy,
    rng_processing: SimRng,
    rng_failure: SimRng,
    /// Client → broker half of the connection.
    pub to_broker: Link,
    /// Broker → client half of the connection.
    pub to_client: Link,

    // Connection.
    alive: bool,
    /// Incremented at every (re)start; events of an older connection are ignored.
    generation: u32,
    /// The broker's subscription for each generation, once it has arrived.
    pub subscriptions: Vec<Option<SubscriptionId>>,

    // ActiveMQMessageConsumer state.
    /// Dispatched messages on their way to this client, or arrived and not yet looked at,
    /// with their arrival times. The broker → client link is FIFO, so the client only needs
    /// to look at them when it is waiting for a message (a wake-up is scheduled then) or when
    /// it finishes what it was doing; busy consumers cost no event per arrival.
    inbound: VecDeque<(SimTime, MessageRef)>,
    /// The earliest scheduled wake-up for an inbound message, if any.
    wake_at: Option<SimTime>,
    /// `unconsumedMessages`: prefetched, not yet handed to the application.
    unconsumed: VecDeque<MessageRef>,
    /// `unconsumedMessages.isRunning()`: false while a rollback's redelivery delay runs.
    running: bool,
    /// Rolled-back messages waiting for the redelivery delay (`pendingSessionRedelivery`).
    redelivery_pending: Vec<MessageRef>,
    /// `deliveredMessages`, oldest first.
    delivered: VecDeque<MessageRef>,
    /// `deliveredCounter` (an `int` that can go negative in the real client).
    delivered_counter: i64,
    /// `ackCounter` (optimizeAcknowledge).
    ack_counter: i64,
    /// `pendingAck`.
    pending_ack: Option<MessageAck>,
    /// `optimizeAckTimestamp`.
    optimize_ack_timestamp: SimTime,
    /// `redeliveryDelay`: the last delay used, input to the next back-off step.
    redelivery_delay: SimDuration,
    /// A prefetch-0 `receive()` has a MessagePull outstanding.
    pull_outstanding: bool,
    /// `lastDeliveredSequenceId`: the last message `beforeMessageIsConsumed` saw; a clean
    /// close's `RemoveInfo` carries it (A2.11, A5.3).
    last_delivered: Option<MessageId>,
    /// `consumerExpiryCheckEnabled` (A2.10).
    expiry_check: bool,
    /// `messagePrioritySupported`: the buffer is a `SimplePriorityMessageDispatchChannel`
    /// (A10.2).
    priority_buffer: bool,
    /// The broker closed this consumer (`ConsumerControl(close)` or a failed connection,
    /// A8.3): the process lives on, but its consumer takes and acknowledges nothing more.
    closed: bool,

    // Application state.
    app: AppState,
    processed_since_ack: u32,
    individual_to_ack: Vec<MessageId>,
    processed_since_commit: u32,
    /// Deliveries to the application since the instance was created (crash point counting).
    deliveries_total: u64,
    /// Successful processings since the instance was created (crash point counting).
    processed_total: u64,
    crash_fired: bool,
    /// A listener call still running on a connection the broker lost (generation, message,
    /// fails, started): it completes, its side effect happens, its ack goes nowhere.
    orphan: Option<(u32, MessageRef, bool, SimTime)>,

    pub stats: ConsumerStats,
}

impl Consumer {
    pub fn new(
        index: usize,
        name: String,
        cfg: &ConsumerConfig,
        network: &NetworkConfig,
        policy: RedeliveryPolicy,
        streams: &RngStreams,
    ) -> Self {
        let latency = DurationSampler::new(&network.latency);
        let mut poison: Vec<MessageId> = cfg
            .failures
            .poison
            .iter()
            .filter_map(|&id| MessageId::try_from(id).ok())
            .collect();
        poison.sort_unstable();
        Self {
            index,
            ack_mode: cfg.ack_mode,
            delivery: cfg.delivery,
            prefetch: cfg.prefetch,
            dispatch_info: DispatchInfo {
                priority: cfg.priority,
                exclusive: cfg.exclusive,
            },
            optimize_acknowledge: cfg.optimize_ack && cfg.ack_mode == AckMode::Auto,
            auto_acknowledge_batch: cfg.ack_mode == AckMode::DupsOk && cfg.subscription.is_some(),
            optimize_ack_timeout: cfg.optimize_ack_timeout,
            ack_every: cfg.ack_every,
            commit_every: cfg.commit_every,
            processing: DurationSampler::new(&cfg.processing),
            failure_probability: cfg.failures.probability,
            poison,
            handling: cfg.failures.handling,
            crash: cfg.crash,
            start_at: cfg.start_at,
            policy,
            rng_processing: streams.stream(&format!("consumer/{name}/processing")),
            rng_failure: streams.stream(&format!("consumer/{name}/failure")),
            to_broker: Link::new(
                latency.clone(),
                streams.stream(&format!("connection/{name}/to_broker")),
            ),
            to_client: Link::new(
                latency,
                streams.stream(&format!("connection/{name}/to_client")),
            ),
            name,
            alive: false,
            generation: 0,
            subscriptions: Vec::new(),
            inbound: VecDeque::new(),
            wake_at: None,
            unconsumed: VecDeque::new(),
            running: false,
            redelivery_pending: Vec::new(),
            delivered: VecDeque::new(),
            delivered_counter: 0,
            ack_counter: 0,
            pending_ack: None,
            optimize_ack_timestamp: SimTime::ZERO,
            redelivery_delay: SimDuration::ZERO,
            pull_outstanding: false,
            last_delivered: None,
            expiry_check: cfg.consumer_expiry_check_enabled,
            priority_buffer: cfg.message_priority_supported,
            closed: false,
            app: AppState::Idle,
            processed_since_ack: 0,
            individual_to_ack: Vec::new(),
            processed_since_commit: 0,
            deliveries_total: 0,
            processed_total: 0,
            crash_fired: false,
            orphan: None,
            stats: ConsumerStats::default(),
        }
    }

    pub fn is_alive(&self) -> bool {
        self.alive
    }

    /// Whether `generation` is the connection of a live process.
    pub fn is_current(&self, generation: u32) -> bool {
        self.alive && generation == self.generation
    }

    /// Charges the busy time of a processing cut short (by a crash or the end of the run);
    /// call once per cut.
    pub fn charge_unfinished_processing(&mut self, now: SimTime) {
        if let AppState::Processing { started, .. } = self.app
            && self.alive
        {
            self.stats.busy += now - started;
        }
    }

    /// The application is waiting for a message (for idle-with-backlog time).
    pub fn is_idle(&self) -> bool {
        self.alive && !self.closed && matches!(self.app, AppState::Idle)
    }

    /// What idle-with-backlog accounting needs to know about this client (see
    /// [`BacklogView`]).
    pub fn backlog_view(&self) -> BacklogView {
        if !self.alive || self.closed {
            return BacklogView::default();
        }
        BacklogView {
            idle: self.is_idle(),
            buffered: !self.unconsumed.is_empty() || !self.redelivery_pending.is_empty(),
            next_arrival: self.inbound.front().map(|&(at, _)| at),
        }
    }

    /// Messages held by this client and not yet handed to the application, on the wire or
    /// arrived.
    pub fn undelivered(&self) -> usize {
        if self.alive {
            self.inbound.len() + self.unconsumed.len() + self.redelivery_pending.len()
        } else {
            0
        }
    }

    /// Every message this client holds (buffered, delivered-unacked, being processed).
    pub fn held_messages(&self) -> impl Iterator<Item = MessageId> + '_ {
        let processing = match self.app {
            AppState::Processing { message, .. } if self.alive => Some(message.id),
            _ => None,
        };
        self.inbound
            .iter()
            .map(|(_, m)| m)
            .chain(self.unconsumed.iter())
            .chain(self.redelivery_pending.iter())
            .chain(self.delivered.iter())
            .map(|m| m.id)
            .chain(processing)
    }

    fn trace(&self, ctx: &mut Ctx, kind: TraceKind, message: Option<&MessageRef>) {
        let consumer = Some(self.index);
        ctx.trace(|t| TraceRecord {
            consumer,
            message: message.map(|m| m.id),
            redelivery_counter: message.map(|m| m.redelivery_counter),
            ..TraceRecord::new(t, kind)
        });
    }

    /// Sends a command to the broker over this connection (FIFO after earlier commands).
    fn send(&mut self, ctx: &mut Ctx, command: BrokerCommand) {
        let ack = match &command {
            BrokerCommand::Ack(ack) | BrokerCommand::EndTransaction { ack: Some(ack), .. } => {
                Some(*ack)
            }
            _ => None,
        };
        if let Some(ack) = ack {
            self.stats.acks_sent += 1;
            let consumer = Some(self.index);
            ctx.trace(|t| TraceRecord {
                consumer,
                message: Some(ack.last),
                first_message: ack.first,
                count: Some(ack.count),
                ack_type: Some(ack.ack_type),
                ..TraceRecord::new(t, TraceKind::AckSent)
            });
        }
        let at = self.to_broker.arrival(ctx.now);
        ctx.schedule(
            at,
            Event::ToBroker {
                consumer: self.index,
                generation: self.generation,
                command,
            },
        );
    }

    fn send_ack(&mut self, ctx: &mut Ctx, ack: MessageAck) {
        self.send(ctx, BrokerCommand::Ack(ack));
    }

    /// The process starts (first start or restart): a new connection, session and consumer
    /// whose `ConsumerInfo` travels to the broker.
    pub fn start(&mut self, ctx: &mut Ctx) {
        if self.alive {
            return;
        }
        self.alive = true;
        self.generation = self.subscriptions.len() as u32;
        self.subscriptions.push(None);
        self.inbound.clear();
        self.wake_at = None;
        self.unconsumed.clear();
        self.redelivery_pending.clear();
        self.delivered.clear();
        self.delivered_counter = 0;
        self.ack_counter = 0;
        self.pending_ack = None;
        self.optimize_ack_timestamp = ctx.now;
        self.redelivery_delay = SimDuration::ZERO;
        self.pull_outstanding = false;
        self.last_delivered = None;
        self.closed = false;
        self.running = true;
        self.app = AppState::Idle;
        self.processed_since_ack = 0;
        self.individual_to_ack.clear();
        self.processed_since_commit = 0;
        self.trace(ctx, TraceKind::Started, None);
        let at = self.to_broker.arrival(ctx.now);
        ctx.schedule(
            at,
            Event::SubscriptionArrives {
                consumer: self.index,
                generation: self.generation,
            },
        );
        self.try_deliver(ctx);
    }

    /// The broker dispatched a message to this client's connection `generation`: it travels
    /// the broker → client link.
    pub fn on_dispatched(&mut self, ctx: &mut Ctx, generation: u32, message: MessageRef) {
        if !self.is_current(generation) || self.closed {
            // The process that was to receive it is dead, or its consumer closed; the broker
            // takes it back when it sees the connection drop or the consumer's removal.
            return;
        }
        let at = self.to_client.arrival(ctx.now);
        self.inbound.push_back((at, message));
        if self.is_waiting_for_messages() && self.unconsumed.is_empty() {
            self.wake_up_at(ctx, at);
        }
    }

    /// A dispatched message has arrived while this client was waiting for one.
    pub fn on_inbound_due(&mut self, ctx: &mut Ctx, generation: u32) {
        if !self.is_current(generation) {
            return;
        }
        if self.wake_at == Some(ctx.now) {
            self.wake_at = None;
        }
        self.try_deliver(ctx);
    }

    fn is_waiting_for_messages(&self) -> bool {
        self.alive && self.running && self.app == AppState::Idle
    }

    /// Schedules a wake-up at `at` unless an earlier one is already pending.
    fn wake_up_at(&mut self, ctx: &mut Ctx, at: SimTime) {
        if self.wake_at.is_some_and(|w| w <= at) {
            return;
        }
        self.wake_at = Some(at);
        ctx.schedule(
            at,
            Event::InboundDue {
                consumer: self.index,
                generation: self.generation,
            },
        );
    }

    /// Messages that have arrived by now move into `unconsumedMessages`, in arrival order.
    fn take_arrived(&mut self, now: SimTime) {
        while let Some(&(at, message)) = self.inbound.front() {
            if at > now {
                break;
            }
            self.inbound.pop_front();
            if self.priority_buffer {
                priority::insert_last(&mut self.unconsumed, message);
            } else {
                self.unconsumed.push_back(message);
            }
            if self.prefetch == 0 {
                self.pull_outstanding = false;
            }
        }
    }

    /// Hands the next buffered message to the application if it is waiting for one.
    fn try_deliver(&mut self, ctx: &mut Ctx) {
        if self.closed {
            return;
        }
        self.take_arrived(ctx.now);
        while self.alive && self.app == AppState::Idle {
            // receive() with prefetch 0 first asks the broker for one message when nothing is
            // buffered (MC.sendPullCommand, A1.5) - also while a redelivery delay has the
            // consumer stopped: the pull goes out before receive() blocks.
            if self.delivery == DeliveryMode::Receive
                && self.prefetch == 0
                && self.unconsumed.is_empty()
                && !self.pull_outstanding
            {
                self.pull_outstanding = true;
                self.send(ctx, BrokerCommand::Pull);
            }
            if !self.running {
                return;
            }
            let Some(message) = self.unconsumed.pop_front() else {
                // Still waiting: wake up when the next dispatched message arrives.
                if let Some(&(at, _)) = self.inbound.front() {
                    self.wake_up_at(ctx, at);
                }
                return;
            };
            // An expired message is not given to the application: BMC records it as the last
            // delivered, AMC(expired) sends an EXPIRED ack for it alone and forgets it (A2.10).
            if self.expiry_check && expiry::is_expired(&message, ctx.now) {
                self.last_delivered = Some(message.id);
                self.trace(ctx, TraceKind::Expired, Some(&message));
                self.send_ack(ctx, MessageAck::single(AckType::Expired, message.id));
                continue;
            }
            // preDispatchCheck, transacted sessions only (A3.4): a message whose counter
            // already exceeds the policy is POISON-acked without reaching the application.
            if self.ack_mode == AckMode::Transacted
                && self.policy.is_exceeded(message.redelivery_counter)
            {
                self.send_ack(ctx, MessageAck::single(AckType::Poison, message.id));
                continue;
            }
            self.deliver(ctx, message);
        }
    }

    /// One delivery to the application (A2.1): `beforeMessageIsConsumed`, then with
    /// `receive()` `afterMessageIsConsumed` at once — before the application sees the message
    /// — then processing. A listener's AMC runs only when `onMessage` returns
    /// ([`Self::on_processing_end`]).
    fn deliver(&mut self, ctx: &mut Ctx, message: MessageRef) {
        self.stats.deliveries += 1;
        self.deliveries_total += 1;
        ctx.totals.deliveries += 1;
        if message.is_redelivered() {
            self.stats.redelivered += 1;
            ctx.totals.redelivered += 1;
        }
        self.trace(ctx, TraceKind::Delivered, Some(&message));
        self.before_message_is_consumed(ctx, message);
        if self.delivery == DeliveryMode::Receive {
            self.after_message_is_consumed(ctx, message);
        }
        let duration = self.processing.sample(&mut self.rng_processing);
        let fails = self.poison.binary_search(&message.message_id).is_ok()
            || (self.failure_probability > 0.0
                && self.rng_failure.random::<f64>() < self.failure_probability);
        self.app = AppState::Processing {
            message,
            fails,
            started: ctx.now,
        };
        if self.pending_crash() == Some(CrashPoint::DuringProcessing(self.deliveries_total)) {
            ctx.schedule(
                ctx.now + duration.half(),
                Event::Crash {
                    consumer: self.index,
                    generation: Some(self.generation),
                },
            );
        }
        ctx.schedule(
            ctx.now + duration,
            Event::ProcessingEnds {
                consumer: self.index,
                generation: self.generation,
            },
        );
    }

    /// MC.beforeMessageIsConsumed (A2.2): track the delivery — except DUPS_OK on a topic,
    /// which tracks nothing; a transacted session also calls `ackLater(DELIVERED)`.
    fn before_message_is_consumed(&mut self, ctx: &mut Ctx, message: MessageRef) {
        if !self.auto_acknowledge_batch {
            self.delivered.push_back(message);
        }
        self.last_delivered = Some(message.id);
        if self.ack_mode == AckMode::Transacted {
            self.ack_later(ctx, message, AckType::Delivered);
        }
    }

    /// MC.afterMessageIsConsumed: the rule for when each ack mode acknowledges.
    ///
    /// - DUPS_OK on a topic (`isAutoAcknowledgeBatch`): `ackLater(STANDARD)`, so one STANDARD
    ///   ack per ⌈0.5·P⌉ messages, covering the range since the last one (A2.4, C3).
    /// - AUTO and DUPS_OK on a queue (`isAutoAcknowledgeEach`): one STANDARD ack for all
    ///   delivered messages (A2.3) — DUPS_OK on a queue is *not* batched (C3); with
    ///   optimizeAcknowledge (AUTO only) the ack waits until `ackCounter + deliveredCounter ≥
    ///   0.65·P` or, evaluated only now, the timeout has passed since the last one (A2.12).
    /// - CLIENT / INDIVIDUAL: `ackLater(DELIVERED)` if the application has not acknowledged
    ///   the message yet (A2.5).
    /// - Transacted: nothing (A2.9).
    fn after_message_is_consumed(&mut self, ctx: &mut Ctx, message: MessageRef) {
        match self.ack_mode {
            AckMode::Transacted => {}
            AckMode::DupsOk if self.auto_acknowledge_batch => {
                self.ack_later(ctx, message, AckType::Standard);
            }
            AckMode::Auto | AckMode::DupsOk => {
                if self.delivered.is_empty() {
                    return;
                }
                if self.optimize_acknowledge {
                    self.ack_counter += 1;
                    let threshold = self.prefetch as f64 * 0.65;
                    let timed_out = !self.optimize_ack_timeout.is_zero()
                        && ctx.now >= self.optimize_ack_timestamp + self.optimize_ack_timeout;
                    if (self.ack_counter + self.delivered_counter) as f64 >= threshold || timed_out
                    {
                        let ack = self.ack_for_all_delivered(AckType::Standard);
                        self.delivered.clear();
                        self.ack_counter = 0;
                        self.send_ack(ctx, ack);
                        self.optimize_ack_timestamp = ctx.now;
                    }
                } else {
                    let ack = self.ack_for_all_delivered(AckType::Standard);
                    self.delivered.clear();
                    self.send_ack(ctx, ack);
                }
            }
            AckMode::Client | AckMode::Individual => {
                if self.delivered.iter().rev().any(|m| m.id == message.id) {
                    self.ack_later(ctx, message, AckType::Delivered);
                }
            }
        }
    }

    /// MC.makeAckForAllDeliveredMessages: one ack covering `deliveredMessages`.
    fn ack_for_all_delivered(&self, ack_type: AckType) -> MessageAck {
        let first = self
            .delivered
            .front()
            .expect("callers check for delivered messages");
        let last = self
            .delivered
            .back()
            .expect("callers check for delivered messages");
        MessageAck {
            ack_type,
            first: Some(first.id),
            last: last.id,
            count: self.delivered.len() as u32,
            in_transaction: false,
        }
    }

    /// MC.ackLater (A2.6): count the delivery and keep a pending ack; send it once
    /// `deliveredCounter + ackCounter ≥ 0.5·P` (so with P ≤ 2, every message). A pending ack
    /// of another type is sent first unless it is a DELIVERED ack, which is dropped.
    fn ack_later(&mut self, ctx: &mut Ctx, message: MessageRef, ack_type: AckType) {
        self.delivered_counter += 1;
        let mut ack = MessageAck {
            ack_type,
            first: None,
            last: message.id,
            count: self.delivered_counter.max(0) as u32,
            in_transaction: self.ack_mode == AckMode::Transacted,
        };
        match self.pending_ack.take() {
            None => ack.first = Some(message.id),
            Some(old) if old.ack_type == ack_type => ack.first = old.first,
            Some(old) => {
                if old.ack_type != AckType::Delivered {
                    self.send_ack(ctx, old);
                }
            }
        }
        if 0.5 * self.prefetch as f64 <= (self.delivered_counter + self.ack_counter) as f64 {
            self.send_ack(ctx, ack);
            self.delivered_counter = 0;
        } else {
            self.pending_ack = Some(ack);
        }
    }

    /// `Message.acknowledge()` in CLIENT mode = `session.acknowledge()` (A2.7): one STANDARD
    /// ack for everything delivered; the pending ack is discarded.
    fn acknowledge(&mut self, ctx: &mut Ctx) {
        if self.delivered.is_empty() {
            return;
        }
        let ack = self.ack_for_all_delivered(AckType::Standard);
        self.pending_ack = None;
        self.send_ack(ctx, ack);
        self.delivered_counter = (self.delivered_counter - self.delivered.len() as i64).max(0);
        self.delivered.clear();
    }

    /// `Message.acknowledge()` in INDIVIDUAL mode (A2.8): an INDIVIDUAL ack for that message
    /// only; `deliveredCounter` is unchanged.
    fn acknowledge_individual(&mut self, ctx: &mut Ctx, id: MessageId) {
        self.send_ack(ctx, MessageAck::single(AckType::Individual, id));
        if let Some(pos) = self.delivered.iter().rposition(|m| m.id == id) {
            self.delivered.remove(pos);
        }
    }

    /// `session.commit()` / `session.rollback()` (`TransactionContext`, A2.9): `beforeEnd`
    /// calls MC.acknowledge(), which sends one transacted STANDARD ack for all delivered
    /// messages and lowers `deliveredCounter` (the list itself is kept until the outcome is
    /// known); then the synchronous COMMIT or ROLLBACK, the application blocked until the
    /// broker answers ([`Self::on_transaction_done`]).
    fn end_transaction(&mut self, ctx: &mut Ctx, commit: bool) {
        let ack = if self.delivered.is_empty() {
            None
        } else {
            let mut ack = self.ack_for_all_delivered(AckType::Standard);
            ack.in_transaction = true;
            self.pending_ack = None;
            self.delivered_counter = (self.delivered_counter - self.delivered.len() as i64).max(0);
            Some(ack)
        };
        self.app = AppState::EndingTransaction;
        self.send(ctx, BrokerCommand::EndTransaction { ack, commit });
    }

    /// The broker answered a COMMIT or ROLLBACK.
    pub fn on_transaction_done(&mut self, ctx: &mut Ctx, generation: u32, committed: bool) {
        if !self.is_current(generation) {
            return;
        }
        if committed {
            // MC.commit(): forget the delivered messages; the back-off restarts.
            self.delivered.clear();
            self.redelivery_delay = SimDuration::ZERO;
        } else {
            self.rollback(ctx);
        }
        self.app = AppState::Idle;
        self.try_deliver(ctx);
    }

    /// MC.rollback (A3.2): triggered by `session.rollback()`, `session.recover()` and
    /// listener exceptions in AUTO / DUPS_OK / INDIVIDUAL. Every delivered message's counter
    /// rises; past `maximumRedeliveries` the whole list is POISON-acked (→ DLQ), otherwise it
    /// returns to the head of this consumer's buffer after the redelivery delay, the consumer
    /// paused meanwhile.
    fn rollback(&mut self, ctx: &mut Ctx) {
        if self.optimize_acknowledge {
            // Consumed-but-not-yet-acked messages are dropped from the delivered list (the
            // real loop re-reads the shrinking size each turn). They stay in the broker's
            // dispatched list, outside any later ack range, until the connection closes.
            let mut i = 0;
            while (i as usize) < self.delivered.len() && i < self.ack_counter {
                self.delivered.pop_front();
                i += 1;
            }
        }
        let Some(newest) = self.delivered.back().copied() else {
            return;
        };
        let previous_counter = newest.redelivery_counter;
        self.redelivery_delay = if previous_counter > 0 {
            self.policy.next_redelivery_delay(self.redelivery_delay)
        } else {
            self.policy.initial_redelivery_delay
        };
        for m in self.delivered.iter_mut() {
            m.redelivery_counter += 1;
        }
        let ack_range = |ack_type, delivered: &VecDeque<MessageRef>| MessageAck {
            ack_type,
            first: delivered.front().map(|m| m.id),
            last: newest.id,
            count: delivered.len() as u32,
            in_transaction: false,
        };
        let count = Some(self.delivered.len() as u32);
        let consumer = Some(self.index);
        ctx.trace(|t| TraceRecord {
            consumer,
            message: Some(newest.id),
            count,
            redelivery_counter: Some(previous_counter + 1),
            ..TraceRecord::new(t, TraceKind::RolledBack)
        });
        self.delivered_counter -= self.delivered.len() as i64;
        if self.policy.is_exceeded(newest.redelivery_counter + 1) {
            let ack = ack_range(AckType::Poison, &self.delivered);
            self.send_ack(ctx, ack);
            self.redelivery_delay = SimDuration::ZERO;
            self.delivered.clear();
        } else {
            if previous_counter > 0 {
                let ack = ack_range(AckType::Redelivered, &self.delivered);
                self.send_ack(ctx, ack);
            }
            self.redelivery_pending.extend(self.delivered.drain(..));
            // The messages return through the session's executor (`session.redispatch`), so
            // even with no delay they are delivered only after the current onMessage / recover
            // call has returned: always through an event, at `now` when the delay is zero.
            self.running = false;
            ctx.schedule(
                ctx.now + self.redelivery_delay,
                Event::RedeliveryDue {
                    consumer: self.index,
                    generation: self.generation,
                },
            );
        }
    }

    /// The redelivery delay has passed: rolled-back messages go back to the head of the buffer
    /// and delivery resumes.
    pub fn on_redelivery_due(&mut self, ctx: &mut Ctx, generation: u32) {
        if !self.is_current(generation) {
            return;
        }
        self.trace(ctx, TraceKind::RedeliveryDue, None);
        for m in self.redelivery_pending.drain(..).rev() {
            if self.priority_buffer {
                priority::insert_first(&mut self.unconsumed, m);
            } else {
                self.unconsumed.push_front(m);
            }
        }
        self.running = true;
        self.try_deliver(ctx);
    }

    /// `onMessage` returned (or threw), or the processing after `receive()` finished.
    pub fn on_processing_end(&mut self, ctx: &mut Ctx, generation: u32) {
        if let Some((g, message, fails, started)) = self.orphan
            && g == generation
            && !self.is_current(generation)
        {
            self.orphan = None;
            self.stats.busy += ctx.now - started;
            if !fails {
                let completion = ctx.record_processed(self.index, &message);
                self.stats.processed += u64::from(completion.counted);
                self.stats.duplicates += u64::from(completion.duplicate);
                self.trace(ctx, TraceKind::Processed, Some(&message));
            }
            return;
        }
        if !self.is_current(generation) {
            return;
        }
        let AppState::Processing {
            message,
            fails,
            started,
        } = self.app
        else {
            return;
        };
        self.stats.busy += ctx.now - started;
        self.app = AppState::Idle;
        if self.closed {
            // onMessage returned on a closed consumer: the side effect happened, but
            // afterMessageIsConsumed and acknowledge() find the consumer closed and do nothing.
            if !fails {
                self.count_processed(ctx, message);
            }
            return;
        }
        if fails {
            self.trace(ctx, TraceKind::Failed, Some(&message));
            self.on_failure(ctx, message);
        } else {
            self.count_processed(ctx, message);
            if self.pending_crash() == Some(CrashPoint::AfterProcessed(self.processed_total)) {
                self.crash(ctx);
                return;
            }
            self.application_step(ctx, message);
            if self.app == AppState::EndingTransaction {
                return;
            }
            if self.delivery == DeliveryMode::Listener {
                self.after_message_is_consumed(ctx, message);
            }
        }
        if self.app == AppState::Idle {
            self.try_deliver(ctx);
        }
    }

    /// A processing completed successfully: count it and record its side effect.
    fn count_processed(&mut self, ctx: &mut Ctx, message: MessageRef) {
        self.processed_total += 1;
        let completion = ctx.record_processed(self.index, &message);
        self.stats.processed += u64::from(completion.counted);
        self.stats.duplicates += u64::from(completion.duplicate);
        self.trace(ctx, TraceKind::Processed, Some(&message));
    }

    /// Whether the broker closed this instance's consumer on connection `generation`.
    pub fn is_closed(&self, generation: u32) -> bool {
        self.closed && generation == self.generation
    }

    /// The broker's abort reached this client (A8.3). `ConsumerControl(close)`
    /// (`connection_failed == false`): `ActiveMQSession.close(consumerId)` → MC.close →
    /// dispose, non-transacted: `deliverAcks()` — AUTO / DUPS_OK on a queue acknowledge every
    /// delivered message (the one in `onMessage` included), other modes send a pending ack
    /// only if it is STANDARD (A2.11) — then the buffered messages are dropped and a
    /// `RemoveInfo` carrying `lastDeliveredSequenceId` goes to the broker. With
    /// `abortConnection` the connection has already failed: nothing more is sent. Either way a
    /// listener still in `onMessage` finishes, and nothing more is delivered.
    pub fn on_broker_close(&mut self, ctx: &mut Ctx, generation: u32, connection_failed: bool) {
        if !self.is_current(generation) || self.closed {
            return;
        }
        if !connection_failed && self.ack_mode != AckMode::Transacted {
            let ack = match self.ack_mode {
                AckMode::Auto | AckMode::DupsOk if !self.delivered.is_empty() => {
                    Some(self.ack_for_all_delivered(AckType::Standard))
                }
                _ => self.pending_ack.filter(|a| a.ack_type == AckType::Standard),
            };
            if let Some(ack) = ack {
                self.send_ack(ctx, ack);
            }
        }
        self.pending_ack = None;
        self.delivered.clear();
        self.inbound.clear();
        self.wake_at = None;
        self.unconsumed.clear();
        self.redelivery_pending.clear();
        self.closed = true;
        self.stats.aborted += 1;
        if !connection_failed {
            let last_delivered = self.last_delivered;
            self.send(ctx, BrokerCommand::RemoveConsumer { last_delivered });
        }
    }

    /// What the application does after processing a message successfully (inside
    /// `onMessage`, or after `receive()` returned): CLIENT acknowledges every `ack_every`,
    /// INDIVIDUAL acknowledges each of the last `ack_every` messages, a transacted session
    /// commits every `commit_every`.
    fn application_step(&mut self, ctx: &mut Ctx, message: MessageRef) {
        match self.ack_mode {
            AckMode::Client => {
                self.processed_since_ack += 1;
                if self.ack_every > 0 && self.processed_since_ack >= self.ack_every {
                    self.processed_since_ack = 0;
                    self.acknowledge(ctx);
                }
            }
            AckMode::Individual => {
                self.individual_to_ack.push(message.id);
                if self.ack_every > 0 && self.individual_to_ack.len() >= self.ack_every as usize {
                    for id in std::mem::take(&mut self.individual_to_ack) {
                        self.acknowledge_individual(ctx, id);
                    }
                }
            }
            AckMode::Transacted => {
                self.processed_since_commit += 1;
                if self.commit_every > 0 && self.processed_since_commit >= self.commit_every {
                    self.processed_since_commit = 0;
                    self.end_transaction(ctx, true);
                }
            }
            AckMode::Auto | AckMode::DupsOk => {}
        }
    }

    /// A processing attempt failed (A2.13).
    fn on_failure(&mut self, ctx: &mut Ctx, message: MessageRef) {
        match (self.handling, self.delivery) {
            // The application calls session.rollback() (transacted; validated) and starts
            // counting its next transaction afresh.
            (FailureHandling::Rollback, _) => {
                self.restart_batch();
                self.end_transaction(ctx, false);
            }
            // The application calls session.recover(): a local rollback, no broker command.
            // A listener then returns normally; its AMC finds nothing left to acknowledge.
            (FailureHandling::Recover, delivery) => {
                self.restart_batch();
                self.rollback(ctx);
                if delivery == DeliveryMode::Listener {
                    self.after_message_is_consumed(ctx, message);
                }
            }
            // The exception escapes onMessage: MC.dispatch catches it.
            (FailureHandling::Throw, DeliveryMode::Listener) => match self.ack_mode {
                // DUPS_OK on a topic tracked nothing, so MC.rollback has nothing to redeliver:
                // the failed message is covered by the next batch's range if one is pending,
                // else it stays unacknowledged (A2.13).
                AckMode::DupsOk if self.auto_acknowledge_batch => {}
                AckMode::Auto | AckMode::DupsOk | AckMode::Individual => self.rollback(ctx),
                // CLIENT / transacted: as if the listener succeeded; no redelivery.
                AckMode::Client | AckMode::Transacted => {
                    self.after_message_is_consumed(ctx, message)
                }
            },
            // With receive() no client code sees the exception: the application moves on.
            (FailureHandling::Throw, DeliveryMode::Receive) => {}
        }
    }

    /// The application rolled back or recovered its session itself: what it had processed
    /// since its last acknowledge / commit will be delivered again, so its next batch starts
    /// from zero. (A listener exception the client rolls back silently leaves the application
    /// unaware, and its counts as they are.)
    fn restart_batch(&mut self) {
        self.processed_since_ack = 0;
        self.processed_since_commit = 0;
        self.individual_to_ack.clear();
    }

    /// The crash point still to come (each fires at most once per instance).
    fn pending_crash(&self) -> Option<CrashPoint> {
        self.crash.filter(|_| !self.crash_fired).map(|c| c.point)
    }

    /// A scheduled crash (`crash.at`, or halfway through the K-th processing).
    pub fn on_crash(&mut self, ctx: &mut Ctx, generation: Option<u32>) {
        let due = match generation {
            Some(g) => self.is_current(g),
            None => self.alive,
        };
        if due && !self.crash_fired {
            self.crash(ctx);
        }
    }

    /// The broker died under this client's connection (A11.4): the session and its buffers
    /// are gone and the broker will not hear about it (it is down). A processing in progress
    /// runs to its end — its side effect happens — but its ack has no connection to go to.
    /// The client reconnects with a new consumer at `reconnect_at`.
    pub fn lose_connection(&mut self, ctx: &mut Ctx, reconnect_at: SimTime) {
        if !self.alive {
            return;
        }
        if let AppState::Processing {
            message,
            fails,
            started,
        } = self.app
        {
            self.orphan = Some((self.generation, message, fails, started));
        }
        self.trace(ctx, TraceKind::ConnectionDropped, None);
        self.forget_connection();
        ctx.schedule(
            reconnect_at,
            Event::ConsumerStarts {
                consumer: self.index,
            },
        );
    }

    /// The connection is gone with everything the client held for it: buffered and delivered
    /// messages, the pending ack, the application's place.
    fn forget_connection(&mut self) {
        self.alive = false;
        self.running = false;
        self.app = AppState::Idle;
        self.inbound.clear();
        self.wake_at = None;
        self.unconsumed.clear();
        self.redelivery_pending.clear();
        self.delivered.clear();
        self.pending_ack = None;
    }

    /// The process dies (SIGKILL): all client state is gone, nothing more is sent, and the
    /// broker sees the connection drop after the commands already on the wire (A5.2).
    fn crash(&mut self, ctx: &mut Ctx) {
        self.crash_fired = true;
        self.stats.crashes += 1;
        self.charge_unfinished_processing(ctx.now);
        self.trace(ctx, TraceKind::Crashed, None);
        self.send(ctx, BrokerCommand::ConnectionDropped);
        self.forget_connection();
        if let Some(CrashConfig {
            restart_after: Some(after),
            ..
        }) = self.crash
        {
            ctx.schedule(
                ctx.now + after,
                Event::ConsumerStarts {
                    consumer: self.index,
                },
            );
        }
    }
}
