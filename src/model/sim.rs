//! One run of an ActiveMQ queue or topic scenario: producers, the broker destination and the
//! consumer instances, wired together through the engine's event queue.

mod broker_crash;
#[cfg(test)]
mod send_tests;

use crate::engine::{EventQueue, RngStreams, SimDuration, SimRng, SimTime};
use crate::metrics::{AckCounts, ConsumerSummary, LatencyHistogram, RunSummary, jain_fairness};
use crate::model::activemq::ack::{AckType, MessageAck};
use crate::model::activemq::broker::{AckError, BrokerEffect, Queue, SubscriptionId};
use crate::model::activemq::consumer::{BacklogView, Consumer};
use crate::model::activemq::destination::Destination;
use crate::model::activemq::expiry;
use crate::model::activemq::groups::GroupId;
use crate::model::activemq::slow_consumer::{SlowConsumerMonitor, TopicAbortMonitor};
use crate::model::activemq::topic::Topic;
use crate::model::config::{BrokerFlavor, CrashConfig, CrashPoint, Scenario};
use crate::model::dist::{ArrivalSampler, DurationSampler};
use crate::model::idempotence::IdempotentConsumers;
use crate::model::ledger::{self, MessageLedger};
use crate::model::message::{MessageId, MessageRef};
use crate::model::network::Link;
use crate::model::producer::{
    self, BrokerVerdict, Fault, ProducerEvent, ProducerEventKind, SendCounts,
};
use crate::model::trace::{TraceKind, TraceRecord, TraceSink};

/// A command from a client to the broker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BrokerCommand {
    Ack(MessageAck),
    /// `MessagePull` of a prefetch-0 `receive()`.
    Pull,
    /// COMMIT (with the transacted STANDARD ack sent just before it, if any) or ROLLBACK.
    EndTransaction {
        ack: Option<MessageAck>,
        commit: bool,
    },
    /// The TCP connection closed under a dead process.
    ConnectionDropped,
    /// `RemoveInfo` of a consumer the client closed, with its `lastDeliveredSequenceId`
    /// (A5.3).
    RemoveConsumer {
        last_delivered: Option<MessageId>,
    },
}

/// Everything that can happen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    /// A send attempt reaches the broker, or its answer, transport error or timeout reaches
    /// the producer ([`crate::model::producer`]).
    Producer(ProducerEvent),
    /// The broker process dies (`broker.crash.at`, A11.4).
    BrokerCrashes {
        restart_after: SimDuration,
    },
    /// A new broker process has recovered the store and accepts connections again.
    BrokerRestarts,
    /// A consumer process starts or restarts.
    ConsumerStarts {
        consumer: usize,
    },
    /// Its `ConsumerInfo` reaches the broker.
    SubscriptionArrives {
        consumer: usize,
        generation: u32,
    },
    /// A dispatched message reaches a client that was waiting for one.
    InboundDue {
        consumer: usize,
        generation: u32,
    },
    /// A client command reaches the broker.
    ToBroker {
        consumer: usize,
        generation: u32,
        command: BrokerCommand,
    },
    /// The broker's answer to a COMMIT / ROLLBACK reaches the client.
    TransactionDone {
        consumer: usize,
        generation: u32,
        committed: bool,
    },
    ProcessingEnds {
        consumer: usize,
        generation: u32,
    },
    RedeliveryDue {
        consumer: usize,
        generation: u32,
    },
    /// `generation: None` for `crash.at` (whatever connection is alive then).
    Crash {
        consumer: usize,
        generation: Option<u32>,
    },
    /// A run of the configured slow-consumer strategy's periodic task (A8.3, A8.4).
    SlowConsumerCheck,
    /// A slow-consumer abort reaches the client: `ConsumerControl(close)`, or the failure of
    /// its connection with `abortConnection` (A8.3).
    BrokerClosesConsumer {
        consumer: usize,
        generation: u32,
        connection_failed: bool,
    },
    /// One second after an abort the broker removes the subscription itself, as if its
    /// connection had dropped, in case the client did not answer (A8.3).
    ForcedRemove {
        subscription: SubscriptionId,
    },
    /// The queue's periodic `expireMessages` task (A10.1).
    ExpireMessages,
}

impl Event {
    /// The consumer instance this event is about, if any.
    fn consumer(&self) -> Option<usize> {
        match *self {
            Event::Producer(_)
            | Event::BrokerCrashes { .. }
            | Event::BrokerRestarts
            | Event::SlowConsumerCheck
            | Event::ExpireMessages
            | Event::ForcedRemove { .. } => None,
            Event::ConsumerStarts { consumer }
            | Event::SubscriptionArrives { consumer, .. }
            | Event::InboundDue { consumer, .. }
            | Event::ToBroker { consumer, .. }
            | Event::TransactionDone { consumer, .. }
            | Event::ProcessingEnds { consumer, .. }
            | Event::RedeliveryDue { consumer, .. }
            | Event::BrokerClosesConsumer { consumer, .. }
            | Event::Crash { consumer, .. } => Some(consumer),
        }
    }

    /// Whether this event could still let a consumer make progress: not a new message, and
    /// not a left-over timer of a connection that has died since it was scheduled.
    fn can_unblock_consumers(&self, consumers: &[Consumer]) -> bool {
        let current = |consumer: usize, generation: u32| consumers[consumer].is_current(generation);
        match *self {
            Event::Producer(_) => false,
            Event::InboundDue {
                consumer,
                generation,
            }
            | Event::ProcessingEnds {
                consumer,
                generation,
            }
            | Event::RedeliveryDue {
                consumer,
                generation,
            }
            | Event::TransactionDone {
                consumer,
                generation,
                ..
            }
            | Event::SubscriptionArrives {
                consumer,
                generation,
            } => current(consumer, generation),
            Event::Crash {
                consumer,
                generation: Some(generation),
            } => current(consumer, generation),
            // Commands already on the wire still reach the broker (a connection drop frees
            // messages); starts and crash.at can change who holds what.
            Event::ToBroker { .. }
            | Event::ConsumerStarts { .. }
            | Event::Crash { .. }
            | Event::BrokerCrashes { .. }
            | Event::BrokerRestarts => true,
            // An abort or a removal hands the consumer's messages to the others.
            Event::SlowConsumerCheck
            | Event::BrokerClosesConsumer { .. }
            | Event::ForcedRemove { .. } => true,
            // Expiring waiting messages never lets a consumer progress.
            Event::ExpireMessages => false,
        }
    }
}

/// Run-wide counters that consumers update directly.
#[derive(Debug, Default)]
pub struct Totals {
    pub deliveries: u64,
    pub redelivered: u64,
    pub processed: u64,
    pub duplicates: u64,
    pub dispatched: u64,
    pub acks: AckCounts,
    pub latency: LatencyHistogram,
    pub last_processed_at: SimTime,
    /// Consumers aborted by a slow-consumer strategy (A8.3).
    pub slow_consumer_aborts: u64,
}

/// What a model component may touch while it handles an event.
pub struct Ctx<'a, 't> {
    pub now: SimTime,
    events: &'a mut EventQueue<Event>,
    ledger: &'a mut MessageLedger,
    pub totals: &'a mut Totals,
    idempotence: &'a mut IdempotentConsumers,
    trace: &'a mut Option<&'t mut dyn TraceSink>,
}

impl Ctx<'_, '_> {
    pub fn schedule(&mut self, at: SimTime, event: Event) {
        debug_assert!(at >= self.now, "scheduling into the past");
        self.events.push(at, event);
    }

    /// Records a trace row, stamped now; `build` runs only when tracing is on.
    pub fn trace(&mut self, build: impl FnOnce(SimTime) -> TraceRecord) {
        if let Some(sink) = self.trace.as_deref_mut() {
            sink.record(&build(self.now));
        }
    }

    /// Consumer instance `consumer` completed a processing successfully. An idempotent
    /// consumer skips the side effect of a message its store knows
    /// ([`crate::model::idempotence`]): a redelivery of a copy already processed then counts
    /// nothing but `duplicates_suppressed`; a second stored copy of a producer message (a
    /// producer retry) is still handled once as a copy (its fate is processed, so it counts in
    /// `processed`, never in `duplicates`) and counts in `duplicates_suppressed` too.
    pub fn record_processed(&mut self, consumer: usize, message: &MessageRef) -> Completion {
        let skipped = self
            .idempotence
            .skips(consumer, u64::from(message.message_id), self.now);
        if skipped && self.ledger.flags(message.id) & ledger::PROCESSED != 0 {
            return Completion {
                counted: false,
                duplicate: false,
            };
        }
        let duplicate = self.ledger.mark(message.id, ledger::PROCESSED);
        self.totals.processed += 1;
        self.totals.last_processed_at = self.now;
        if duplicate {
            self.totals.duplicates += 1;
        } else {
            self.totals
                .latency
                .record(self.now.saturating_since(message.sent_at).as_nanos());
        }
        Completion {
            counted: true,
            duplicate,
        }
    }
}

/// How a successful processing counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// It counts in `processed` (false: an idempotent consumer skipped a repeat).
    pub counted: bool,
    /// The same stored copy had been processed before: a duplicate side effect.
    pub duplicate: bool,
}

/// A run failed in a way that means acksim itself is wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    #[error("the broker rejected an ack at {time}: {source}")]
    Ack { time: SimTime, source: AckError },
    #[error("message conservation violated: {0}")]
    Conservation(String),
    #[error("{0} is not modelled yet")]
    Unsupported(&'static str),
    /// The scenario loops without simulated time advancing (a bad scenario, not a bug).
    #[error(
        "the simulation makes no progress: {events} events at t = {time} without time advancing \
         (a message that always fails with zero redelivery delay, zero processing time and \
         unlimited redeliveries loops forever; give one of them a value)"
    )]
    NoProgress { time: SimTime, events: u64 },
}

/// The result of one run.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub summary: RunSummary,
    pub consumers: Vec<ConsumerSummary>,
    /// The run was cut by `until` (or, without one, by [`DEFAULT_HORIZON`]) with events still
    /// scheduled.
    pub cut_by_until: bool,
}

struct Producer {
    messages: u64,
    /// `send()` calls scheduled so far.
    sent: u64,
    /// Round-robin `JMSXGroupID`s (A7.6).
    groups: Option<u16>,
    /// `MessageProducer.timeToLive` (A10.1).
    time_to_live: Option<SimDuration>,
    /// `MessageProducer.priority` (A10.2).
    priority: u8,
    arrival: ArrivalSampler,
    rng: SimRng,
    /// The send protocol: attempts, faults, retries, the producer's view.
    send: producer::Producer,
}

/// The broker's state across a crash (A11.4).
#[derive(Debug, Default)]
struct BrokerProcess {
    down: bool,
    /// When the broker process last died.
    crashed_at: Option<SimTime>,
    /// Subscriptions with a smaller id belonged to a broker process that died.
    first_live_subscription: SubscriptionId,
    /// Consumer connections (consumer, generation) refused while the broker was down.
    refused: Vec<(usize, u32)>,
}

struct World<'t> {
    now: SimTime,
    events: EventQueue<Event>,
    /// The destination: a queue or a topic.
    queue: Destination,
    producers: Vec<Producer>,
    consumers: Vec<Consumer>,
    broker: BrokerProcess,
    idempotence: IdempotentConsumers,
    /// `PolicyEntry.persistJMSRedelivered`.
    persist_redelivered: bool,
    /// Owner (consumer, generation) of each subscription id.
    subscription_owner: Vec<(usize, u32)>,
    ledger: MessageLedger,
    /// Messages the broker accepted (on a topic the ledger counts copies instead).
    published: u64,
    totals: Totals,
    trace: Option<&'t mut dyn TraceSink>,
    effects: Vec<BrokerEffect>,
    /// Last time idle-with-backlog time was integrated.
    accounted_until: SimTime,
    /// Each consumer's [`BacklogView`], refreshed for the consumers an event touches.
    views: Vec<BacklogView>,
    /// Consumers the event being handled touched.
    touched: Vec<usize>,
    /// The configured slow-consumer strategy, when it can abort anything (A8).
    slow_consumers: Option<SlowConsumerMonitor>,
    /// AbortSlowConsumerStrategy on a topic; its task starts at the first slow subscription.
    topic_abort: Option<TopicAbortMonitor>,
    /// `expireMessagesPeriod`, when some producer sets a time to live (A10.1).
    expire_messages_period: Option<SimDuration>,
    /// Periodic broker tasks (slow-consumer check, expiry sweep) now scheduled: each keeps
    /// running only while something other than these tasks can still happen.
    periodic_tasks: usize,
}

impl Producer {
    /// The `JMSXGroupID` of the producer's message number `seq`: groups in turn (a retried
    /// send is the same message, so it keeps its group).
    fn group_of(&self, seq: u64) -> Option<GroupId> {
        self.groups
            .filter(|&n| n > 0)
            .map(|n| GroupId::new((seq % u64::from(n)) as u16))
    }
}

/// Where a run without `until` stops: 30 simulated days. Only a scenario that never settles
/// (e.g. unlimited redeliveries of a message that always fails) gets that far.
pub const DEFAULT_HORIZON: SimDuration = SimDuration::from_secs(30 * 24 * 3600);

/// How many events may run at one simulated instant before the run is declared stuck: a
/// burst of every message with zero latency and processing is legitimate, an endless
/// zero-time loop (zero redelivery delay and zero processing time, unlimited redeliveries)
/// is not.
pub(crate) fn events_per_instant_limit(scenario: &Scenario) -> u64 {
    let size = scenario.total_messages() + scenario.consumer_instance_count() as u64;
    size.saturating_mul(64).saturating_add(1_000_000)
}

/// Runs `scenario` to the end (or to `until`), writing trace rows to `trace` if given.
pub fn run(scenario: &Scenario, trace: Option<&mut dyn TraceSink>) -> Result<RunOutcome, SimError> {
    if scenario.broker.flavor == BrokerFlavor::RocketMq {
        return crate::model::rocketmq::run(scenario, trace);
    }
    let wall = std::time::Instant::now();
    let mut world = World::new(scenario, trace);
    let until = SimTime::from(scenario.until.unwrap_or(DEFAULT_HORIZON));
    let instant_limit = events_per_instant_limit(scenario);
    let mut executed: u64 = 0;
    let mut at_this_instant: u64 = 0;
    let mut cut_by_until = false;
    while let Some(t) = world.events.peek_time() {
        if t > until {
            cut_by_until = true;
            break;
        }
        let (t, event) = world.events.pop().expect("peeked");
        at_this_instant = if t == world.now {
            at_this_instant + 1
        } else {
            1
        };
        if at_this_instant > instant_limit {
            return Err(SimError::NoProgress {
                time: t,
                events: at_this_instant,
            });
        }
        world.advance_to(t);
        world.handle(event)?;
        world.refresh_views();
        executed += 1;
    }
    let end = if cut_by_until { until } else { world.now };
    world.advance_to(end);
    for c in &mut world.consumers {
        c.charge_unfinished_processing(end);
    }
    world.finish(
        scenario,
        executed,
        cut_by_until,
        wall.elapsed().as_secs_f64(),
    )
}

impl<'t> World<'t> {
    fn new(scenario: &Scenario, trace: Option<&'t mut dyn TraceSink>) -> Self {
        let streams = RngStreams::new(scenario.seed);
        let latency = DurationSampler::new(&scenario.network.latency);
        let mut events = EventQueue::with_capacity(1024);
        let producers = scenario
            .producers
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut producer = Producer {
                    messages: p.messages,
                    sent: 0,
                    groups: p.groups,
                    time_to_live: p.time_to_live,
                    priority: p.priority,
                    arrival: ArrivalSampler::new(&p.arrival),
                    rng: streams.stream(&format!("producer/{}/arrival", p.name)),
                    send: producer::Producer::new(
                        i,
                        p.send,
                        streams.stream(&format!("producer/{}/faults", p.name)),
                        producer::Wire {
                            to_broker: Link::new(
                                latency.clone(),
                                streams.stream(&format!("producer/{}/network", p.name)),
                            ),
                            to_producer: Link::new(
                                latency.clone(),
                                streams.stream(&format!("producer/{}/responses", p.name)),
                            ),
                            retry_latency: latency.clone(),
                            retry_rng: streams.stream(&format!("producer/{}/retries", p.name)),
                        },
                    )
                    .with_certain_replies(scenario.broker.crash.is_none()),
                };
                if producer.messages > 0 {
                    let (at, first) = producer.send.send(SimTime::from(p.start_at));
                    producer.sent = 1;
                    events.push(at, Event::Producer(first));
                }
                producer
            })
            .collect();
        let consumer_count = scenario.consumer_instance_count();
        let consumers: Vec<Consumer> = scenario
            .consumer_instances()
            .enumerate()
            .map(|(i, (name, cfg))| {
                Consumer::new(
                    i,
                    name,
                    cfg,
                    &scenario.network,
                    scenario.broker.redelivery,
                    &streams,
                )
            })
            .collect();
        for (i, (_, cfg)) in scenario.consumer_instances().enumerate() {
            events.push(
                SimTime::from(cfg.start_at),
                Event::ConsumerStarts { consumer: i },
            );
            if let Some(CrashConfig {
                point: CrashPoint::At(t),
                ..
            }) = cfg.crash
            {
                events.push(
                    SimTime::from(t),
                    Event::Crash {
                        consumer: i,
                        generation: None,
                    },
                );
            }
        }
        if let Some(crash) = scenario.broker.crash {
            let at = SimTime::from(crash.at);
            events.push(
                at,
                Event::BrokerCrashes {
                    restart_after: crash.restart_after,
                },
            );
            events.push(at + crash.restart_after, Event::BrokerRestarts);
        }
        let slow_consumers = SlowConsumerMonitor::new(&scenario.broker.slow_consumer);
        if let Some(m) = &slow_consumers {
            // The strategy's timer starts with the broker (A8.4).
            events.push(SimTime::ZERO + m.check_period(), Event::SlowConsumerCheck);
        }
        let mut periodic_tasks = usize::from(slow_consumers.is_some());
        let expire_messages_period = scenario
            .broker
            .expire_messages_period
            .filter(|_| scenario.producers.iter().any(|p| p.time_to_live.is_some()));
        if let Some(period) = expire_messages_period {
            events.push(SimTime::ZERO + period, Event::ExpireMessages);
            periodic_tasks += 1;
        }
        let capacity = usize::try_from(scenario.total_messages())
            .unwrap_or(usize::MAX)
            .min(1 << 26);
        Self {
            now: SimTime::ZERO,
            events,
            queue: Destination::new(scenario),
            producers,
            consumers,
            broker: BrokerProcess::default(),
            persist_redelivered: scenario.broker.persist_jms_redelivered,
            idempotence: IdempotentConsumers::new(
                scenario
                    .consumers
                    .iter()
                    .map(|c| (c.idempotent, c.replicas as usize)),
            ),
            subscription_owner: Vec::new(),
            ledger: MessageLedger::with_capacity(capacity),
            published: 0,
            totals: Totals::default(),
            trace,
            effects: Vec::new(),
            accounted_until: SimTime::ZERO,
            views: vec![BacklogView::default(); consumer_count],
            touched: Vec::new(),
            slow_consumers,
            topic_abort: if scenario.broker.destination.is_topic() {
                TopicAbortMonitor::new(&scenario.broker.slow_consumer)
            } else {
                None
            },
            expire_messages_period,
            periodic_tasks,
        }
    }

    /// Integrates idle-with-backlog time over `[accounted_until, t)`, then moves the clock.
    ///
    /// Within the interval no event changes the broker or any application; the only change is
    /// dispatched messages reaching busy consumers' buffers (the lazy inbound link), which can
    /// only switch "backlog elsewhere" on. So an idle consumer is charged from the start of
    /// the interval if a message already waits in the broker or in another consumer's buffer,
    /// else from the first such arrival. (Busy time is charged when a processing ends.)
    fn advance_to(&mut self, t: SimTime) {
        let from = self.accounted_until;
        if t > from {
            debug_assert!(
                self.consumers
                    .iter()
                    .zip(&self.views)
                    .all(|(c, v)| c.backlog_view() == *v),
                "a backlog view was not refreshed"
            );
            // A topic subscriber can only consume its own copies: no other consumer's
            // backlog is work it could have taken, so topics charge none.
            let is_queue = matches!(self.queue, Destination::Queue(_));
            if is_queue && self.views.iter().any(|v| v.idle) {
                self.charge_idle_with_backlog(from, t);
            }
            self.accounted_until = t;
        }
        self.now = t;
    }

    fn charge_idle_with_backlog(&mut self, from: SimTime, t: SimTime) {
        let broker_waiting = self.queue.waiting() > 0;
        let waiting = self.views.iter().filter(|v| v.waiting_at(from)).count();
        // The two earliest arrivals after `from`, with their consumers, so each consumer can
        // find the earliest one elsewhere.
        let mut earliest: [Option<(SimTime, usize)>; 2] = [None, None];
        if !broker_waiting {
            for (i, v) in self.views.iter().enumerate() {
                let Some(at) = v.next_arrival.filter(|&at| at > from && at < t) else {
                    continue;
                };
                if earliest[0].is_none_or(|(e, _)| at < e) {
                    earliest[1] = earliest[0];
                    earliest[0] = Some((at, i));
                } else if earliest[1].is_none_or(|(e, _)| at < e) {
                    earliest[1] = Some((at, i));
                }
            }
        }
        for (i, v) in self.views.iter().enumerate() {
            if !v.idle {
                continue;
            }
            let since = if broker_waiting || waiting > usize::from(v.waiting_at(from)) {
                Some(from)
            } else {
                earliest
                    .iter()
                    .flatten()
                    .find(|&&(_, j)| j != i)
                    .map(|&(at, _)| at)
            };
            if let Some(since) = since {
                self.consumers[i].stats.idle_with_backlog += t - since;
            }
        }
    }

    /// Re-reads the backlog views of the consumers the last event touched.
    fn refresh_views(&mut self) {
        for &c in &self.touched {
            self.views[c] = self.consumers[c].backlog_view();
        }
        self.touched.clear();
    }

    fn handle(&mut self, event: Event) -> Result<(), SimError> {
        let World {
            now,
            events,
            queue,
            producers,
            consumers,
            ledger,
            published,
            totals,
            trace,
            effects,
            subscription_owner,
            touched,
            broker,
            persist_redelivered,
            idempotence,
            slow_consumers,
            topic_abort,
            expire_messages_period,
            periodic_tasks,
            ..
        } = self;
        let persist_redelivered = *persist_redelivered;
        queue.set_clock(*now);
        touched.extend(event.consumer());
        let mut ctx = Ctx {
            now: *now,
            events,
            ledger,
            totals,
            trace,
            idempotence,
        };
        match event {
            Event::Producer(ev) => {
                let p = &mut producers[ev.producer];
                let ProducerEventKind::Arrives {
                    fault,
                    sent_at,
                    same_id,
                } = ev.kind
                else {
                    for (at, next) in p.send.on_event(ctx.now, &ev) {
                        ctx.schedule(at, Event::Producer(next));
                    }
                    return Ok(());
                };
                let verdict = if fault == Fault::RequestLost {
                    BrokerVerdict::NotReceived
                } else if broker.down {
                    // A fire-and-forget send written no later than the instant the broker died
                    // was already on the wire: the client saw no error and the bytes died with
                    // the process. A later one meets a connection the client knows has failed
                    // (`ActiveMQConnection.checkClosedOrFailed` throws), and a sync send's
                    // pending request fails with the transport (A11.1, A11.4).
                    let on_the_wire = broker.crashed_at.is_some_and(|c| sent_at <= c);
                    if on_the_wire && !p.send.config().policy.expects_response() {
                        BrokerVerdict::NotReceived
                    } else {
                        BrokerVerdict::Unavailable
                    }
                } else if same_id && p.send.config().persistent && p.send.copies_of(ev.seq) > 0 {
                    // A failover re-send of a persistent message the store already holds:
                    // `ProducerBrokerExchange.canDispatch` drops it (the producer audit is
                    // on for a reconnected connection), the response is still sent.
                    BrokerVerdict::DuplicateSuppressed
                } else {
                    *published += 1;
                    let id = *published as MessageId;
                    let message = MessageRef {
                        id,
                        message_id: id,
                        persistent: p.send.config().persistent,
                        redelivery_counter: 0,
                        sent_at,
                        group: p.group_of(ev.seq),
                        expiration: expiry::expiration(sent_at, p.time_to_live),
                        priority: p.priority,
                    };
                    ctx.trace(|t| TraceRecord {
                        message: Some(id),
                        ..TraceRecord::new(t, TraceKind::Accepted)
                    });
                    ctx.idempotence
                        .record_stored(u64::from(id), (ev.producer as u32, ev.seq));
                    queue.accept(message, ctx.ledger, effects);
                    BrokerVerdict::Stored
                };
                if ev.attempt == 1 && p.sent < p.messages {
                    let next_send = sent_at + p.arrival.next_gap(&mut p.rng);
                    let (at, next) = p.send.send(next_send);
                    p.sent += 1;
                    ctx.schedule(at, Event::Producer(next));
                }
                for (at, next) in p.send.on_broker_verdict(ctx.now, &ev, verdict) {
                    ctx.schedule(at, Event::Producer(next));
                }
            }
            Event::BrokerCrashes { restart_after } => {
                touched.extend(0..consumers.len());
                let restart_at = ctx.now + restart_after;
                broker_crash::crash(
                    &mut ctx,
                    queue,
                    consumers,
                    broker,
                    persist_redelivered,
                    restart_at,
                    effects,
                );
            }
            Event::BrokerRestarts => {
                touched.extend(0..consumers.len());
                broker_crash::restart(&mut ctx, consumers, broker);
            }
            Event::ConsumerStarts { consumer } => consumers[consumer].start(&mut ctx),
            Event::SubscriptionArrives {
                consumer,
                generation,
            } => {
                if broker.down {
                    // Refused: the client retries when the broker is back (BrokerRestarts).
                    broker.refused.push((consumer, generation));
                    return Ok(());
                }
                let c = &mut consumers[consumer];
                if c.subscriptions[generation as usize].is_none() {
                    let id = queue.add_subscription(consumer, c.prefetch, c.dispatch_info, effects);
                    debug_assert_eq!(id, subscription_owner.len());
                    subscription_owner.push((consumer, generation));
                    c.subscriptions[generation as usize] = Some(id);
                    if let Some(m) = slow_consumers {
                        m.on_subscribed(id, ctx.now);
                    }
                    ctx.trace(|t| TraceRecord {
                        consumer: Some(consumer),
                        ..TraceRecord::new(t, TraceKind::Subscribed)
                    });
                }
            }
            Event::InboundDue {
                consumer,
                generation,
            } => consumers[consumer].on_inbound_due(&mut ctx, generation),
            Event::ToBroker {
                consumer,
                generation,
                command,
            } => {
                let Some(sub) = consumers[consumer].subscriptions[generation as usize] else {
                    return Ok(());
                };
                if broker.down || sub < broker.first_live_subscription {
                    // Sent to a broker process that is dead: an ack in flight is lost (A11.4).
                    return Ok(());
                }
                if consumers[consumer].is_closed(generation)
                    && queue
                        .as_queue()
                        .is_some_and(|q| q.subscription(sub).is_none())
                {
                    // A command of a consumer the broker has already removed after an abort:
                    // the real broker answers it with an exception and changes nothing.
                    return Ok(());
                }
                broker_command(
                    &mut ctx,
                    queue,
                    &mut consumers[consumer],
                    generation,
                    sub,
                    command,
                    effects,
                )?;
                if let (Some(m), Some(queue)) = (slow_consumers.as_mut(), queue.as_queue()) {
                    slow_consumer_sees_command(m, queue, sub, &command, ctx.now);
                }
            }
            Event::TransactionDone {
                consumer,
                generation,
                committed,
            } => consumers[consumer].on_transaction_done(&mut ctx, generation, committed),
            Event::ProcessingEnds {
                consumer,
                generation,
            } => consumers[consumer].on_processing_end(&mut ctx, generation),
            Event::RedeliveryDue {
                consumer,
                generation,
            } => consumers[consumer].on_redelivery_due(&mut ctx, generation),
            Event::Crash {
                consumer,
                generation,
            } => consumers[consumer].on_crash(&mut ctx, generation),
            Event::SlowConsumerCheck => {
                let other_tasks = *periodic_tasks - 1;
                let rescheduled = match (slow_consumers.as_mut(), topic_abort.as_mut(), &mut *queue)
                {
                    (Some(m), _, Destination::Queue(queue)) => slow_consumer_check(
                        &mut ctx,
                        m,
                        queue,
                        consumers,
                        subscription_owner,
                        effects,
                        other_tasks,
                    ),
                    (_, Some(m), Destination::Topic(topic)) => topic_slow_consumer_check(
                        &mut ctx,
                        m,
                        topic,
                        consumers,
                        subscription_owner,
                        effects,
                        other_tasks,
                    ),
                    _ => false,
                };
                if !rescheduled {
                    *periodic_tasks -= 1;
                }
            }
            Event::BrokerClosesConsumer {
                consumer,
                generation,
                connection_failed,
            } => consumers[consumer].on_broker_close(&mut ctx, generation, connection_failed),
            Event::ExpireMessages => {
                let Some(queue) = queue.as_queue_mut() else {
                    return Ok(());
                };
                queue.expire_waiting(effects);
                // The task runs for the broker's life; the model stops it once no waiting
                // message can expire and nothing else can happen.
                let other_tasks = *periodic_tasks - 1;
                if let Some(period) = *expire_messages_period
                    && (ctx.events.len() > other_tasks || queue.has_expiring_waiting())
                {
                    ctx.schedule(ctx.now + period, Event::ExpireMessages);
                } else {
                    *periodic_tasks -= 1;
                }
            }
            Event::ForcedRemove { subscription } => {
                if let Some(queue) = queue
                    .as_queue_mut()
                    .filter(|q| q.subscription(subscription).is_some())
                {
                    let taken = queue.remove_subscription_on_connection_drop(subscription, effects);
                    let consumer = subscription_owner[subscription].0;
                    ctx.trace(|t| TraceRecord {
                        consumer: Some(consumer),
                        count: Some(taken as u32),
                        ..TraceRecord::new(t, TraceKind::ConsumerRemoved)
                    });
                }
                if let Destination::Topic(topic) = &mut *queue
                    && topic.live_subscriptions().any(|s| s == subscription)
                {
                    let taken = topic.remove_subscription_on_connection_drop(subscription, effects);
                    let consumer = subscription_owner[subscription].0;
                    ctx.trace(|t| TraceRecord {
                        consumer: Some(consumer),
                        count: Some(taken as u32),
                        ..TraceRecord::new(t, TraceKind::ConsumerRemoved)
                    });
                }
                if let Some(m) = slow_consumers {
                    m.on_removed(subscription);
                }
            }
        }
        if let (Some(m), Some(queue)) = (slow_consumers.as_mut(), queue.as_queue()) {
            for effect in effects.iter() {
                if let BrokerEffect::Dispatched { subscription, .. } = *effect {
                    let room = queue
                        .subscription(subscription)
                        .is_some_and(|s| !s.is_full());
                    m.on_dispatch_pending(subscription, room);
                }
            }
        }
        apply_broker_effects(&mut ctx, effects, consumers, subscription_owner, touched);
        // `slowConsumer()` for every topic subscription flagged slow by this event (A8.2).
        if let (Some(m), Destination::Topic(topic)) = (topic_abort.as_mut(), &*queue) {
            for sub in topic.live_subscriptions() {
                if m.observe(sub, topic.is_slow(sub)) {
                    ctx.schedule(ctx.now + m.check_period(), Event::SlowConsumerCheck);
                    *periodic_tasks += 1;
                }
            }
        }
        Ok(())
    }

    fn finish(
        mut self,
        scenario: &Scenario,
        executed: u64,
        cut_by_until: bool,
        wall_s: f64,
    ) -> Result<RunOutcome, SimError> {
        // Replies whose outcome was certain arrive unless `until` cut the run first.
        let settle_by =
            cut_by_until.then(|| SimTime::from(scenario.until.unwrap_or(DEFAULT_HORIZON)));
        for p in &mut self.producers {
            p.send.settle(settle_by);
        }
        let census = census(&self.ledger, &self.queue, &self.consumers)?;
        let waiting = self.queue.waiting()
            + self
                .consumers
                .iter()
                .map(Consumer::undelivered)
                .sum::<usize>();
        let mut remaining = self.events;
        let progress_possible = std::iter::from_fn(|| remaining.pop())
            .any(|(_, e)| e.can_unblock_consumers(&self.consumers));
        let stalled = waiting > 0 && !progress_possible;

        let totals = &self.totals;
        let makespan_s = totals.last_processed_at.as_secs_f64();
        let processed_counts: Vec<u64> = self.consumers.iter().map(|c| c.stats.processed).collect();
        let percentile = |q| {
            totals
                .latency
                .percentile(q)
                .map_or(0.0, |ns| ns as f64 / 1e9)
        };
        let end = if cut_by_until {
            scenario.until.map(SimTime::from).unwrap_or(self.now)
        } else {
            self.now
        };
        let (missed, discarded) = self.queue.topic_counts();
        let summary = RunSummary {
            scenario: scenario.name.clone(),
            seed: scenario.seed,
            produced: self.published,
            copies: self.ledger.accepted(),
            missed,
            discarded,
            dispatched: totals.dispatched,
            deliveries: totals.deliveries,
            redelivered: totals.redelivered,
            processed: totals.processed,
            unique_processed: census.unique_processed,
            duplicates: totals.duplicates,
            lost: census.lost,
            dlq: census.dlq,
            expired: census.expired,
            in_flight: census.in_flight,
            acks: totals.acks,
            rocketmq: Default::default(),
            stalled,
            slow_consumer_aborts: totals.slow_consumer_aborts,
            idle_with_backlog_s: self
                .consumers
                .iter()
                .fold(SimDuration::ZERO, |sum, c| sum + c.stats.idle_with_backlog)
                .as_secs_f64(),
            jain_fairness: jain_fairness(&processed_counts),
            makespan_s,
            throughput: if makespan_s > 0.0 {
                totals.processed as f64 / makespan_s
            } else {
                0.0
            },
            latency_p50_s: percentile(0.5),
            latency_p99_s: percentile(0.99),
            end_s: end.as_secs_f64(),
            events: executed,
            wall_s,
            duplicates_suppressed: self.idempotence.suppressed,
            send: self
                .producers
                .iter()
                .map(|p| p.send.counts())
                .fold(SendCounts::default(), |a, b| a.plus(&b)),
        };
        producer::check_sends(self.producers.iter().map(|p| &p.send), summary.produced)
            .map_err(SimError::Conservation)?;
        // The census classifies each message once, so its fates add up by construction; what
        // can fail are the counts kept independently while the run went on: stored copies
        // the producers counted vs accepted (`check_sends`), first processings counted as they
        // happened vs messages the ledger marks processed, and on a topic copies made plus
        // copies missed vs one per (message, subscriber).
        let first_processings = totals.processed - totals.duplicates;
        let owed = match self.queue {
            Destination::Queue(_) => summary.produced,
            Destination::Topic(_) => summary.produced * self.consumers.len() as u64,
        };
        if !summary.conserves_messages()
            || first_processings != summary.unique_processed
            || summary.copies + summary.missed != owed
        {
            return Err(SimError::Conservation(format!(
                "copies {} (+ missed {} of {owed} owed) of produced {} != \
                 unique_processed {} (first processings {first_processings}) + lost {} + dlq {} \
                 + expired {} + in_flight {}",
                summary.copies,
                summary.missed,
                summary.produced,
                summary.unique_processed,
                summary.lost,
                summary.dlq,
                summary.expired,
                summary.in_flight,
            )));
        }
        let consumers = self
            .consumers
            .iter()
            .map(|c| ConsumerSummary {
                consumer: c.name.clone(),
                processed: c.stats.processed,
                duplicates: c.stats.duplicates,
                deliveries: c.stats.deliveries,
                redelivered: c.stats.redelivered,
                acks_sent: c.stats.acks_sent,
                max_unacked: c
                    .subscriptions
                    .iter()
                    .flatten()
                    .map(|&s| self.queue.peak_dispatched(s) as u64)
                    .max()
                    .unwrap_or(0),
                idle_with_backlog_s: c.stats.idle_with_backlog.as_secs_f64(),
                busy_s: c.stats.busy.as_secs_f64(),
                crashes: c.stats.crashes,
                aborted: c.stats.aborted,
            })
            .collect();
        Ok(RunOutcome {
            summary,
            consumers,
            cut_by_until,
        })
    }
}

/// The broker applies one client command.
fn broker_command(
    ctx: &mut Ctx,
    queue: &mut Destination,
    consumer: &mut Consumer,
    generation: u32,
    sub: SubscriptionId,
    command: BrokerCommand,
    effects: &mut Vec<BrokerEffect>,
) -> Result<(), SimError> {
    let index = consumer.index;
    match command {
        BrokerCommand::Ack(ack) => apply_ack(ctx, queue, index, sub, &ack, effects)?,
        BrokerCommand::Pull => {
            ctx.trace(|t| TraceRecord {
                consumer: Some(index),
                ..TraceRecord::new(t, TraceKind::Pull)
            });
            queue.pull(sub, effects);
        }
        BrokerCommand::EndTransaction { ack, commit } => {
            if let Some(ack) = &ack {
                count_ack(ctx, index, ack);
            }
            let result = queue.end_transaction(sub, ack.as_ref(), commit, effects);
            reject_or_fail(ctx, index, ack.as_ref(), result)?;
            if commit {
                ctx.trace(|t| TraceRecord {
                    consumer: Some(index),
                    ..TraceRecord::new(t, TraceKind::Committed)
                });
            }
            let at = consumer.to_client.arrival(ctx.now);
            ctx.schedule(
                at,
                Event::TransactionDone {
                    consumer: index,
                    generation,
                    committed: commit,
                },
            );
        }
        BrokerCommand::ConnectionDropped => {
            let taken = queue.remove_subscription_on_connection_drop(sub, effects);
            ctx.trace(|t| TraceRecord {
                consumer: Some(index),
                count: Some(taken as u32),
                ..TraceRecord::new(t, TraceKind::ConnectionDropped)
            });
        }
        BrokerCommand::RemoveConsumer { last_delivered } => {
            // Only the queue's slow-consumer abort closes a consumer; on a topic a close
            // would leave it as a connection drop does (A5.6).
            let taken = match queue {
                Destination::Queue(q) => {
                    q.remove_subscription_on_close(sub, last_delivered, effects)
                }
                Destination::Topic(_) => queue.remove_subscription_on_connection_drop(sub, effects),
            };
            ctx.trace(|t| TraceRecord {
                consumer: Some(index),
                message: last_delivered,
                count: Some(taken as u32),
                ..TraceRecord::new(t, TraceKind::ConsumerRemoved)
            });
        }
    }
    Ok(())
}

/// What the slow-consumer strategy learns from a client command the broker just applied:
/// consuming acks restart the subscription's last-ack clock, every matched ack runs
/// `dispatchPending()` (clearing the slow flag if there is room), removals end tracking (A8).
fn slow_consumer_sees_command(
    monitor: &mut SlowConsumerMonitor,
    queue: &Queue,
    sub: SubscriptionId,
    command: &BrokerCommand,
    now: SimTime,
) {
    match command {
        BrokerCommand::Ack(ack) => monitor.on_ack(sub, ack, now),
        BrokerCommand::EndTransaction {
            ack: Some(_),
            commit: true,
        } => monitor.acked(sub, now),
        BrokerCommand::EndTransaction { .. } | BrokerCommand::Pull => {}
        BrokerCommand::ConnectionDropped | BrokerCommand::RemoveConsumer { .. } => {
            monitor.on_removed(sub);
            return;
        }
    }
    let room = queue.subscription(sub).is_some_and(|s| !s.is_full());
    monitor.on_dispatch_pending(sub, room);
}

/// A slow-consumer strategy aborts subscription `sub` (A8.3): `ConsumerControl(close)` to the
/// client and the broker's forced removal one second later; with `abortConnection` the broker
/// fails the connection instead, so the subscription goes at once (`remove`), as on a
/// connection drop (A5.2), and the client learns of it one latency later.
fn abort_subscription(
    ctx: &mut Ctx,
    sub: SubscriptionId,
    connection_failed: bool,
    consumers: &mut [Consumer],
    subscription_owner: &[(usize, u32)],
    remove: impl FnOnce() -> usize,
) {
    let (consumer, generation) = subscription_owner[sub];
    ctx.totals.slow_consumer_aborts += 1;
    ctx.trace(|t| TraceRecord {
        consumer: Some(consumer),
        ..TraceRecord::new(t, TraceKind::SlowConsumerAborted)
    });
    if connection_failed {
        let taken = remove();
        ctx.trace(|t| TraceRecord {
            consumer: Some(consumer),
            count: Some(taken as u32),
            ..TraceRecord::new(t, TraceKind::ConnectionDropped)
        });
    } else {
        ctx.schedule(
            ctx.now + FORCED_REMOVE_DELAY,
            Event::ForcedRemove { subscription: sub },
        );
    }
    let at = consumers[consumer].to_client.arrival(ctx.now);
    ctx.schedule(
        at,
        Event::BrokerClosesConsumer {
            consumer,
            generation,
            connection_failed,
        },
    );
}

/// One run of AbortSlowConsumerStrategy's periodic task on a topic (A8.3). Once started the
/// real task runs for the broker's life; the model stops it (returning false) when nothing
/// other than the `other_tasks` periodic tasks can happen any more.
fn topic_slow_consumer_check(
    ctx: &mut Ctx,
    monitor: &mut TopicAbortMonitor,
    topic: &mut Topic,
    consumers: &mut [Consumer],
    subscription_owner: &[(usize, u32)],
    effects: &mut Vec<BrokerEffect>,
    other_tasks: usize,
) -> bool {
    let aborted = monitor.check(|s| topic.is_slow(s));
    let connection_failed = monitor.abort_connection();
    for sub in aborted {
        abort_subscription(
            ctx,
            sub,
            connection_failed,
            consumers,
            subscription_owner,
            || topic.remove_subscription_on_connection_drop(sub, effects),
        );
    }
    let more = ctx.events.len() > other_tasks || !effects.is_empty();
    if more {
        ctx.schedule(ctx.now + monitor.check_period(), Event::SlowConsumerCheck);
    }
    more
}

/// One run of the slow-consumer strategy's periodic task (A8.3, A8.4). Each abort sends
/// `ConsumerControl(close)` to the client and schedules the broker's forced removal one second
/// later; with `abortConnection` the broker fails the connection instead: the subscription goes
/// at once, as on a connection drop (A5.2), and the client learns of it one latency later.
/// The task reschedules itself (returning true) while anything other than the
/// `other_tasks` periodic tasks can still happen.
fn slow_consumer_check(
    ctx: &mut Ctx,
    monitor: &mut SlowConsumerMonitor,
    queue: &mut Queue,
    consumers: &mut [Consumer],
    subscription_owner: &[(usize, u32)],
    effects: &mut Vec<BrokerEffect>,
    other_tasks: usize,
) -> bool {
    let outcome = monitor.check(ctx.now, queue);
    let connection_failed = monitor.abort_connection();
    for sub in outcome.abort {
        abort_subscription(
            ctx,
            sub,
            connection_failed,
            consumers,
            subscription_owner,
            || queue.remove_subscription_on_connection_drop(sub, effects),
        );
        if connection_failed {
            monitor.on_removed(sub);
        }
    }
    let more = ctx.events.len() > other_tasks || !effects.is_empty() || monitor.may_abort(queue);
    if more {
        ctx.schedule(ctx.now + monitor.check_period(), Event::SlowConsumerCheck);
    }
    more
}

/// `AbortSlowConsumerStrategy.abortSubscription`: the broker's own `RemoveInfo` follows the
/// `ConsumerControl(close)` after 1000 ms (A8.3).
const FORCED_REMOVE_DELAY: SimDuration = SimDuration::from_millis(1000);

fn apply_ack(
    ctx: &mut Ctx,
    queue: &mut Destination,
    consumer: usize,
    sub: SubscriptionId,
    ack: &MessageAck,
    effects: &mut Vec<BrokerEffect>,
) -> Result<(), SimError> {
    count_ack(ctx, consumer, ack);
    let result = queue.acknowledge(sub, ack, effects);
    reject_or_fail(ctx, consumer, Some(ack), result)
}

/// The broker received an ack command: count it by type and trace it.
fn count_ack(ctx: &mut Ctx, consumer: usize, ack: &MessageAck) {
    let counts = &mut ctx.totals.acks;
    match ack.ack_type {
        AckType::Standard => counts.standard += 1,
        AckType::Delivered => counts.delivered += 1,
        AckType::Individual => counts.individual += 1,
        AckType::Redelivered => counts.redelivered += 1,
        AckType::Poison => counts.poison += 1,
        AckType::Expired => counts.expired += 1,
    }
    ctx.trace(|t| TraceRecord {
        consumer: Some(consumer),
        message: Some(ack.last),
        first_message: ack.first,
        count: Some(ack.count),
        ack_type: Some(ack.ack_type),
        ..TraceRecord::new(t, TraceKind::AckReceived)
    });
}

/// An ack the broker cannot correlate with its dispatched list changes nothing: the real
/// broker ignores an uncorrelated INDIVIDUAL ack and answers the others' JMSException with a
/// `ConnectionError` to the client (`TransportConnection.serviceException`), keeping the
/// connection. An ack for a subscription that does not exist is a bug of the model.
fn reject_or_fail(
    ctx: &mut Ctx,
    consumer: usize,
    ack: Option<&MessageAck>,
    result: Result<(), AckError>,
) -> Result<(), SimError> {
    match result {
        Ok(()) => Ok(()),
        Err(AckError::Unmatched { .. }) => {
            ctx.totals.acks.rejected += 1;
            let ack = ack.copied();
            ctx.trace(|t| TraceRecord {
                consumer: Some(consumer),
                message: ack.map(|a| a.last),
                first_message: ack.and_then(|a| a.first),
                count: ack.map(|a| a.count),
                ack_type: ack.map(|a| a.ack_type),
                ..TraceRecord::new(t, TraceKind::AckRejected)
            });
            Ok(())
        }
        Err(source) => Err(SimError::Ack {
            time: ctx.now,
            source,
        }),
    }
}

/// Routes what the broker did: dispatches travel to their consumer, removals go to the ledger.
fn apply_broker_effects(
    ctx: &mut Ctx,
    effects: &mut Vec<BrokerEffect>,
    consumers: &mut [Consumer],
    subscription_owner: &[(usize, u32)],
    touched: &mut Vec<usize>,
) {
    for effect in effects.drain(..) {
        match effect {
            BrokerEffect::Dispatched {
                subscription,
                message,
            } => {
                let (consumer, generation) = subscription_owner[subscription];
                ctx.totals.dispatched += 1;
                ctx.trace(|t| TraceRecord {
                    consumer: Some(consumer),
                    message: Some(message.id),
                    redelivery_counter: Some(message.redelivery_counter),
                    ..TraceRecord::new(t, TraceKind::Dispatched)
                });
                consumers[consumer].on_dispatched(ctx, generation, message);
                touched.push(consumer);
            }
            BrokerEffect::Consumed { id } => {
                ctx.ledger.mark(id, ledger::CONSUMED);
            }
            BrokerEffect::Discarded { id } => {
                ctx.ledger.mark(id, ledger::DISCARDED);
                ctx.trace(|t| TraceRecord {
                    message: Some(id),
                    ..TraceRecord::new(t, TraceKind::Discarded)
                });
            }
            BrokerEffect::Expired { id } => {
                ctx.ledger.mark(id, ledger::EXPIRED);
                ctx.trace(|t| TraceRecord {
                    message: Some(id),
                    ..TraceRecord::new(t, TraceKind::Expired)
                });
            }
            BrokerEffect::DeadLettered { id } => {
                ctx.ledger.mark(id, ledger::DEAD_LETTERED);
                ctx.trace(|t| TraceRecord {
                    message: Some(id),
                    ..TraceRecord::new(t, TraceKind::DeadLettered)
                });
            }
        }
    }
}

/// Fates of all accepted messages at the end of a run.
struct Census {
    unique_processed: u64,
    lost: u64,
    dlq: u64,
    expired: u64,
    in_flight: u64,
}

/// Classifies every accepted message by its fate and checks the bookkeeping against where the
/// messages physically are: the broker holds each message at most once, never one it has
/// removed, and every message it no longer holds was removed for a recorded reason.
fn census(
    ledger: &MessageLedger,
    queue: &Destination,
    consumers: &[Consumer],
) -> Result<Census, SimError> {
    const IN_BROKER: u8 = 1;
    const IN_CLIENT: u8 = 2;
    let n = ledger.accepted() as usize;
    let mut place = vec![0u8; n + 1];
    let bad =
        |id: MessageId, what: &str| Err(SimError::Conservation(format!("message {id} {what}")));
    for m in queue.held_messages() {
        let slot = &mut place[m.id as usize];
        if *slot & IN_BROKER != 0 {
            return bad(m.id, "is held twice by the broker");
        }
        *slot |= IN_BROKER;
    }
    for c in consumers.iter().filter(|c| c.is_alive()) {
        for id in c.held_messages() {
            place[id as usize] |= IN_CLIENT;
        }
    }
    let mut census = Census {
        unique_processed: 0,
        lost: 0,
        dlq: 0,
        expired: 0,
        in_flight: 0,
    };
    for (id, flags) in ledger.iter() {
        let here = place[id as usize];
        let removed = flags & ledger::REMOVED != 0;
        if here & IN_BROKER != 0 && removed {
            return bad(id, "is still held by the broker after being removed");
        }
        if here & IN_BROKER == 0 && !removed {
            return bad(
                id,
                "left the broker without being acknowledged, dead-lettered or expired",
            );
        }
        if flags & ledger::PROCESSED != 0 {
            census.unique_processed += 1;
        } else if here != 0 {
            census.in_flight += 1;
        } else if flags & ledger::DEAD_LETTERED != 0 {
            census.dlq += 1;
        } else if flags & ledger::EXPIRED != 0 {
            census.expired += 1;
        } else {
            census.lost += 1;
        }
    }
    Ok(census)
}
