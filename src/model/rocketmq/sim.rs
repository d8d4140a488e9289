//! One run of a RocketMQ scenario: producers, the broker's topic queues (and the group's
//! `%RETRY%` queue), the consumer instances' pull loops, ProcessQueues and consume pools, wired
//! through the engine's event queue.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::engine::{EventQueue, RngStreams, SimDuration, SimRng, SimTime};
use crate::metrics::{
    ConsumerSummary, LatencyHistogram, RocketMqCounts, RunSummary, jain_fairness,
};
use crate::model::config::{CrashConfig, CrashPoint, RocketMqConsumerConfig, Scenario};
use crate::model::dist::{ArrivalSampler, DurationSampler};
use crate::model::message::MessageId;
use crate::model::network::Link;
use crate::model::sim::{DEFAULT_HORIZON, RunOutcome, SimError};
use crate::model::trace::{TraceKind, TraceRecord, TraceSink};

use super::QueueId;
use super::config::{BROKER_MAX_TRANSFER_COUNT, ConsumeMode, MessageModel};
use super::offset_store::{BrokerOffsets, LocalOffsets};
use super::process_queue::{ProcessQueue, PulledMessage};
use super::rebalance::allocate_averagely;
use super::retry::{SendBackOutcome, broker_send_back};

/// `RebalanceService` waits this long between rebalances (B2.4).
pub(super) const REBALANCE_INTERVAL: SimDuration = SimDuration::from_secs(20);
/// `MQClientInstance.persistAllConsumerOffset` starts this long after the client (B3.2).
pub(super) const FIRST_PERSIST_DELAY: SimDuration = SimDuration::from_secs(10);
/// `PULL_TIME_DELAY_MILLS_WHEN_FLOW_CONTROL` (B2.2).
pub(super) const FLOW_CONTROL_DELAY: SimDuration = SimDuration::from_millis(50);

/// Everything that can happen.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Event {
    /// The next message of `producer` reaches the broker.
    MessageArrives { producer: usize, sent_at: SimTime },
    /// A consumer process starts or restarts.
    ConsumerStarts { consumer: usize },
    /// Its heartbeat reaches the broker: it joins the group.
    Registered { consumer: usize, generation: u32 },
    /// The broker saw the connection of a dead process close: it leaves the group.
    ConnectionDropped { consumer: usize, generation: u32 },
    /// `doRebalance`, woken by the 20 s timer (`epoch` current) or a notification (`None`).
    Rebalance {
        consumer: usize,
        generation: u32,
        epoch: Option<u64>,
    },
    /// The client pulls (again) for one of its ProcessQueues.
    PullDue {
        consumer: usize,
        generation: u32,
        queue: QueueId,
        pq: u64,
    },
    /// A pull request reaches the broker.
    PullArrives {
        consumer: usize,
        generation: u32,
        queue: QueueId,
        pq: u64,
        offset: u64,
        commit_offset: Option<u64>,
    },
    /// Found messages reach the client.
    PullResponse {
        consumer: usize,
        generation: u32,
        queue: QueueId,
        pq: u64,
        msgs: Vec<PulledMessage>,
    },
    /// A listener call returns.
    ConsumeEnds {
        consumer: usize,
        generation: u32,
        task: u64,
    },
    /// The synchronous send-back of a failed batch returned to the consume thread.
    SendBackDone {
        consumer: usize,
        generation: u32,
        task: u64,
    },
    /// A send-back (or the orderly service's DLQ send) reaches the broker.
    SendBackArrives { msg: PulledMessage, max: u32 },
    /// A delayed retry leaves `SCHEDULE_TOPIC_XXXX` for `%RETRY%<group>`.
    RetryDue { msg: PulledMessage },
    /// An orderly queue's suspension ends.
    OrderlyResume {
        consumer: usize,
        generation: u32,
        queue: QueueId,
        pq: u64,
    },
    /// `persistAllConsumerOffset`.
    PersistOffsets { consumer: usize, generation: u32 },
    /// An UPDATE_CONSUMER_OFFSET reaches the broker.
    OffsetCommitArrives { queue: QueueId, offset: u64 },
    /// `generation: None` for `crash.at`.
    Crash {
        consumer: usize,
        generation: Option<u32>,
    },
}

/// One message as the broker stores it in a queue.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stored {
    pub id: MessageId,
    pub reconsume_times: u32,
    pub sent_at: SimTime,
}

/// A pull the broker holds until a message arrives (long polling).
#[derive(Debug, Clone, Copy)]
pub(super) struct HeldPull {
    consumer: usize,
    generation: u32,
    pq: u64,
    offset: u64,
}

#[derive(Debug, Default)]
pub(super) struct BrokerQueue {
    pub log: Vec<Stored>,
    held: Vec<HeldPull>,
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
}

impl Broker {
    pub fn queue(&mut self, q: QueueId) -> &mut BrokerQueue {
        match q {
            QueueId::Topic(i) => &mut self.topic[i as usize],
            QueueId::Retry => &mut self.retry,
        }
    }
}

/// What a consume-pool thread runs.
#[derive(Debug, Clone)]
pub(super) enum Task {
    /// `ConsumeMessageConcurrentlyService.ConsumeRequest`.
    Concurrent {
        queue: QueueId,
        pq: u64,
        msgs: Vec<PulledMessage>,
    },
    /// `ConsumeMessageOrderlyService.ConsumeRequest`: consumes the queue while it has messages.
    Orderly { queue: QueueId, pq: u64 },
}

/// A listener call under way.
#[derive(Debug, Clone)]
pub(super) struct Running {
    pub queue: QueueId,
    pub pq: u64,
    pub msgs: Vec<PulledMessage>,
    /// Index in `msgs` of the message that failed (the listener returned RECONSUME_LATER /
    /// SUSPEND there); `None` = CONSUME_SUCCESS.
    pub failed_at: Option<usize>,
    pub orderly: bool,
    pub started: SimTime,
}

#[derive(Debug, Default)]
pub(super) struct Stats {
    pub processed: u64,
    pub duplicates: u64,
    pub deliveries: u64,
    pub redelivered: u64,
    pub busy: SimDuration,
    pub crashes: u64,
    pub max_pq: u64,
}

/// One consumer instance (`DefaultMQPushConsumer` in its own process).
pub(super) struct Instance {
    pub index: usize,
    pub name: String,
    pub cfg: RocketMqConsumerConfig,
    pub crash: Option<CrashConfig>,
    pub processing: DurationSampler,
    pub rng_processing: SimRng,
    pub rng_failure: SimRng,
    pub failure_probability: f64,
    pub poison: Vec<MessageId>,
    pub to_broker: Link,
    pub to_client: Link,
    pub alive: bool,
    /// Incremented at every start; events of an older process are ignored.
    pub generation: u32,
    pub rebalance_epoch: u64,
    pub pqs: BTreeMap<QueueId, (u64, ProcessQueue)>,
    pub offsets: LocalOffsets,
    /// Each PQ's `PullRequest.nextOffset`.
    pub pull_offsets: BTreeMap<QueueId, u64>,
    /// BROADCASTING's `LocalFileOffsetStore` file: survives a crash (B3.4).
    pub offset_file: BrokerOffsets,
    pub pool: VecDeque<Task>,
    pub busy_threads: u32,
    pub running: BTreeMap<u64, Running>,
    /// Deliveries of this instance (all its processes), for `crash.during_processing`.
    pub delivered_total: u64,
    /// The crash point fires at most once per instance.
    pub crash_fired: bool,
    pub stats: Stats,
}

impl Instance {
    pub fn is_current(&self, generation: u32) -> bool {
        self.alive && self.generation == generation
    }

    pub fn pq_mut(&mut self, queue: QueueId, pq: u64) -> Option<&mut ProcessQueue> {
        match self.pqs.get_mut(&queue) {
            Some((serial, p)) if *serial == pq => Some(p),
            _ => None,
        }
    }

    fn idle(&self) -> bool {
        self.pool.is_empty()
            && self.running.is_empty()
            && self.pqs.values().all(|(_, p)| p.count() == 0)
    }
}

struct Producer {
    messages: u64,
    sent: u64,
    arrival: ArrivalSampler,
    rng: SimRng,
    link: Link,
}

/// Run-wide counters.
#[derive(Debug, Default)]
pub(super) struct Totals {
    pub deliveries: u64,
    pub redelivered: u64,
    pub processed: u64,
    pub duplicates: u64,
    pub latency: LatencyHistogram,
    pub last_processed_at: SimTime,
    pub rocketmq: RocketMqCounts,
    /// Messages the broker put into `%DLQ%<group>`.
    pub dead_lettered: u64,
    /// Messages the broker returned in pull answers.
    pub pulled: u64,
}

/// Fate flags of one message copy (one per message in CLUSTERING, one per message and
/// instance in BROADCASTING).
pub(super) const PROCESSED: u8 = 1;
pub(super) const DEAD_LETTERED: u8 = 2;
pub(super) const DROPPED: u8 = 4;
pub(super) const DELIVERED: u8 = 8;

pub(super) struct World<'t> {
    pub now: SimTime,
    pub events: EventQueue<Event>,
    pub broker: Broker,
    producers: Vec<Producer>,
    pub instances: Vec<Instance>,
    pub model: MessageModel,
    pub mode: ConsumeMode,
    queues: u32,
    /// Flags per copy, index `copy_index`.
    pub copies: Vec<u8>,
    /// Send-backs on the wire and delayed retries, per message id (they are still in flight).
    pub retry_pending: BTreeMap<MessageId, u32>,
    /// ConsumerStarts / Crash events not yet run.
    lifecycle_pending: u64,
    accepted: u64,
    next_serial: u64,
    pub next_task: u64,
    pub totals: Totals,
    trace: Option<&'t mut dyn TraceSink>,
}

/// Runs a `flavor: rocketmq` scenario to the end (or to `until`).
pub fn run(scenario: &Scenario, trace: Option<&mut dyn TraceSink>) -> Result<RunOutcome, SimError> {
    let wall = std::time::Instant::now();
    let mut world = World::new(scenario, trace);
    let until = SimTime::from(scenario.until.unwrap_or(DEFAULT_HORIZON));
    let size = scenario.total_messages() + scenario.consumer_instance_count() as u64;
    let instant_limit = size.saturating_mul(64).saturating_add(1_000_000);
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
        world.now = t;
        world.handle(event);
        executed += 1;
    }
    let end = if cut_by_until { until } else { world.now };
    for inst in &mut world.instances {
        for r in inst.running.values() {
            if inst.alive {
                inst.stats.busy += end.saturating_since(r.started);
            }
        }
    }
    world.finish(
        scenario,
        executed,
        cut_by_until,
        end,
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
                    arrival: ArrivalSampler::new(&p.arrival),
                    rng: streams.stream(&format!("producer/{}/arrival", p.name)),
                    link: Link::new(
                        latency.clone(),
                        streams.stream(&format!("producer/{}/network", p.name)),
                    ),
                };
                if producer.messages > 0 {
                    let sent_at = SimTime::from(p.start_at);
                    let at = producer.link.arrival(sent_at);
                    events.push(
                        at,
                        Event::MessageArrives {
                            producer: i,
                            sent_at,
                        },
                    );
                }
                producer
            })
            .collect();
        let mut lifecycle_pending = 0;
        let instances: Vec<Instance> = scenario
            .consumer_instances()
            .enumerate()
            .map(|(i, (name, cfg))| {
                let mut poison: Vec<MessageId> = cfg
                    .failures
                    .poison
                    .iter()
                    .map(|&p| p as MessageId)
                    .collect();
                poison.sort_unstable();
                events.push(
                    SimTime::from(cfg.start_at),
                    Event::ConsumerStarts { consumer: i },
                );
                lifecycle_pending += 1;
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
                    lifecycle_pending += 1;
                }
                Instance {
                    index: i,
                    cfg: cfg.rocketmq.clone(),
                    crash: cfg.crash,
                    processing: DurationSampler::new(&cfg.processing),
                    rng_processing: streams.stream(&format!("consumer/{name}/processing")),
                    rng_failure: streams.stream(&format!("consumer/{name}/failure")),
                    failure_probability: cfg.failures.probability,
                    poison,
                    to_broker: Link::new(
                        latency.clone(),
                        streams.stream(&format!("connection/{name}/to_broker")),
                    ),
                    to_client: Link::new(
                        latency.clone(),
                        streams.stream(&format!("connection/{name}/to_client")),
                    ),
                    name,
                    alive: false,
                    generation: 0,
                    rebalance_epoch: 0,
                    pqs: BTreeMap::new(),
                    offsets: LocalOffsets::default(),
                    pull_offsets: BTreeMap::new(),
                    offset_file: BrokerOffsets::default(),
                    pool: VecDeque::new(),
                    busy_threads: 0,
                    running: BTreeMap::new(),
                    delivered_total: 0,
                    crash_fired: false,
                    stats: Stats::default(),
                }
            })
            .collect();
        let first = scenario
            .consumers
            .first()
            .map(|c| (c.rocketmq.message_model, c.rocketmq.consume_mode))
            .unwrap_or_default();
        let queues = scenario.broker.rocketmq.queues;
        Self {
            now: SimTime::ZERO,
            events,
            broker: Broker {
                topic: (0..queues).map(|_| BrokerQueue::default()).collect(),
                ..Broker::default()
            },
            producers,
            instances,
            model: first.0,
            mode: first.1,
            queues,
            copies: Vec::new(),
            retry_pending: BTreeMap::new(),
            lifecycle_pending,
            accepted: 0,
            next_serial: 0,
            next_task: 0,
            totals: Totals::default(),
            trace,
        }
    }

    pub fn schedule(&mut self, at: SimTime, event: Event) {
        debug_assert!(at >= self.now, "scheduling into the past");
        self.events.push(at, event);
    }

    pub fn trace(&mut self, build: impl FnOnce(SimTime) -> TraceRecord) {
        if let Some(sink) = self.trace.as_deref_mut() {
            sink.record(&build(self.now));
        }
    }

    /// Copies per message: 1 in CLUSTERING, one per instance in BROADCASTING.
    fn copies_per_message(&self) -> usize {
        match self.model {
            MessageModel::Clustering => 1,
            MessageModel::Broadcasting => self.instances.len(),
        }
    }

    /// The flag slot of message `id`'s copy for `consumer`.
    pub fn copy_index(&self, id: MessageId, consumer: usize) -> usize {
        let base = (id as usize - 1) * self.copies_per_message();
        match self.model {
            MessageModel::Clustering => base,
            MessageModel::Broadcasting => base + consumer,
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::MessageArrives { producer, sent_at } => self.produce(producer, sent_at),
            Event::ConsumerStarts { consumer } => self.start(consumer),
            Event::Registered {
                consumer,
                generation,
            } => {
                if self.instances[consumer].is_current(generation) {
                    let name = self.instances[consumer].name.clone();
                    self.broker.members.insert((name, consumer), generation);
                    self.notify_group();
                }
            }
            Event::ConnectionDropped {
                consumer,
                generation,
            } => {
                let key = (self.instances[consumer].name.clone(), consumer);
                // A restarted process may have registered again already: only the dead
                // process's registration goes.
                if self.broker.members.get(&key) == Some(&generation) {
                    self.broker.members.remove(&key);
                    self.notify_group();
                }
            }
            Event::Rebalance {
                consumer,
                generation,
                epoch,
            } => {
                let inst = &self.instances[consumer];
                if inst.is_current(generation) && epoch.is_none_or(|e| e == inst.rebalance_epoch) {
                    self.rebalance(consumer);
                }
            }
            Event::PullDue {
                consumer,
                generation,
                queue,
                pq,
            } => {
                if self.instances[consumer].is_current(generation) {
                    self.pull(consumer, queue, pq);
                }
            }
            Event::PullArrives {
                consumer,
                generation,
                queue,
                pq,
                offset,
                commit_offset,
            } => {
                if let Some(o) = commit_offset {
                    self.broker.offsets.commit(queue, o);
                }
                let held = HeldPull {
                    consumer,
                    generation,
                    pq,
                    offset,
                };
                if !self.answer_pull(queue, held) {
                    self.broker.queue(queue).held.push(held);
                }
            }
            Event::PullResponse {
                consumer,
                generation,
                queue,
                pq,
                msgs,
            } => {
                if self.instances[consumer].is_current(generation) {
                    self.pulled(consumer, queue, pq, msgs);
                }
            }
            Event::ConsumeEnds {
                consumer,
                generation,
                task,
            } => {
                if self.instances[consumer].is_current(generation) {
                    self.consume_ends(consumer, task);
                }
            }
            Event::SendBackDone {
                consumer,
                generation,
                task,
            } => {
                if self.instances[consumer].is_current(generation) {
                    self.send_back_done(consumer, task);
                }
            }
            Event::SendBackArrives { msg, max } => self.broker_send_back(msg, max),
            Event::RetryDue { msg } => {
                self.settle_retry(msg.id);
                let stored = Stored {
                    id: msg.id,
                    reconsume_times: msg.reconsume_times,
                    sent_at: msg.sent_at,
                };
                self.append(QueueId::Retry, stored);
            }
            Event::OrderlyResume {
                consumer,
                generation,
                queue,
                pq,
            } => {
                if self.instances[consumer].is_current(generation)
                    && self.instances[consumer].pq_mut(queue, pq).is_some()
                {
                    self.submit(consumer, Task::Orderly { queue, pq });
                }
            }
            Event::PersistOffsets {
                consumer,
                generation,
            } => {
                if self.instances[consumer].is_current(generation) {
                    self.persist_all(consumer);
                    if !self.quiescent() {
                        let at = self.now
                            + self.instances[consumer]
                                .cfg
                                .persist_consumer_offset_interval;
                        self.schedule(
                            at,
                            Event::PersistOffsets {
                                consumer,
                                generation,
                            },
                        );
                    }
                }
            }
            Event::OffsetCommitArrives { queue, offset } => {
                self.totals.rocketmq.offset_commits += 1;
                self.broker.offsets.commit(queue, offset);
            }
            Event::Crash {
                consumer,
                generation,
            } => {
                if generation.is_none() {
                    self.lifecycle_pending -= 1;
                }
                let inst = &self.instances[consumer];
                if generation.is_none_or(|g| inst.is_current(g)) && inst.alive {
                    self.crash(consumer);
                }
            }
        }
    }

    /// The only place messages enter the broker: the producer's next message is stored in
    /// the next queue, round robin (`selectOneMessageQueue` without a latency fault), then the
    /// producer's next send is scheduled from its `arrival`. The producer send protocol
    /// (B1) is not modelled here: every send is stored once.
    fn produce(&mut self, producer: usize, sent_at: SimTime) {
        let p = &mut self.producers[producer];
        let queue = QueueId::Topic((p.sent % u64::from(self.queues)) as u32);
        p.sent += 1;
        if p.sent < p.messages {
            let next_send = sent_at + p.arrival.next_gap(&mut p.rng);
            let at = p.link.arrival(next_send);
            self.schedule(
                at,
                Event::MessageArrives {
                    producer,
                    sent_at: next_send,
                },
            );
        }
        self.accepted += 1;
        let id = self.accepted as MessageId;
        let n = self.copies_per_message();
        self.copies.extend(std::iter::repeat_n(0, n));
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

    /// Stores a message in a queue and answers the pulls held on it.
    fn append(&mut self, queue: QueueId, stored: Stored) {
        let q = self.broker.queue(queue);
        q.log.push(stored);
        let held = std::mem::take(&mut q.held);
        for h in held {
            if !self.answer_pull(queue, h) {
                self.broker.queue(queue).held.push(h);
            }
        }
    }

    /// Answers a pull if its queue has messages at or after its offset; returns whether it did.
    fn answer_pull(&mut self, queue: QueueId, h: HeldPull) -> bool {
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

    fn start(&mut self, consumer: usize) {
        self.lifecycle_pending -= 1;
        let now = self.now;
        let inst = &mut self.instances[consumer];
        inst.generation += 1;
        inst.alive = true;
        let generation = inst.generation;
        let at = inst.to_broker.arrival(now);
        self.trace(|t| TraceRecord {
            consumer: Some(consumer),
            ..TraceRecord::new(t, TraceKind::Started)
        });
        self.schedule(
            at,
            Event::Registered {
                consumer,
                generation,
            },
        );
        self.schedule(
            now + FIRST_PERSIST_DELAY,
            Event::PersistOffsets {
                consumer,
                generation,
            },
        );
    }

    /// The broker's `NOTIFY_CONSUMER_IDS_CHANGED` to every member: each rebalances when it
    /// arrives (the starter's heartbeat answer arrives at the same time: it rebalances then).
    fn notify_group(&mut self) {
        let now = self.now;
        let members: Vec<usize> = self.broker.members.keys().map(|&(_, c)| c).collect();
        for c in members {
            let inst = &mut self.instances[c];
            if !inst.alive {
                continue;
            }
            let at = inst.to_client.arrival(now);
            let generation = inst.generation;
            self.schedule(
                at,
                Event::Rebalance {
                    consumer: c,
                    generation,
                    epoch: None,
                },
            );
        }
    }

    /// `RebalanceImpl.doRebalance` for the topic and (CLUSTERING) the retry topic, then the
    /// next timer 20 s later (a wake-up restarts the wait).
    fn rebalance(&mut self, consumer: usize) {
        let wanted: BTreeSet<QueueId> = match self.model {
            MessageModel::Broadcasting => (0..self.queues).map(QueueId::Topic).collect(),
            MessageModel::Clustering => {
                let n = self.broker.members.len();
                match self.broker.members.keys().position(|&(_, c)| c == consumer) {
                    Some(index) => allocate_averagely(self.queues, n, index)
                        .into_iter()
                        .map(QueueId::Topic)
                        .chain(
                            allocate_averagely(1, n, index)
                                .into_iter()
                                .map(|_| QueueId::Retry),
                        )
                        .collect(),
                    None => BTreeSet::new(),
                }
            }
        };
        let held: Vec<QueueId> = self.instances[consumer].pqs.keys().copied().collect();
        for q in held.iter().filter(|q| !wanted.contains(q)) {
            self.drop_queue(consumer, *q);
        }
        for q in wanted.iter().filter(|q| !held.contains(q)) {
            self.add_queue(consumer, *q);
        }
        let inst = &mut self.instances[consumer];
        inst.rebalance_epoch += 1;
        let epoch = inst.rebalance_epoch;
        let generation = inst.generation;
        if !self.quiescent() {
            self.schedule(
                self.now + REBALANCE_INTERVAL,
                Event::Rebalance {
                    consumer,
                    generation,
                    epoch: Some(epoch),
                },
            );
        }
    }

    /// `removeUnnecessaryMessageQueue`: the PQ is dropped (its in-flight results will be
    /// discarded, B2.4), its offset persisted and forgotten.
    pub(super) fn drop_queue(&mut self, consumer: usize, queue: QueueId) {
        let inst = &mut self.instances[consumer];
        inst.pqs.remove(&queue);
        if let Some(offset) = inst.offsets.remove(queue) {
            self.commit_offset(consumer, queue, offset);
        }
    }

    /// A new PQ starts pulling at the stored offset (`computePullFromWhere`).
    fn add_queue(&mut self, consumer: usize, queue: QueueId) {
        let offset = match self.model {
            MessageModel::Clustering => self.broker.offsets.read(queue),
            MessageModel::Broadcasting => self.instances[consumer].offset_file.read(queue),
        };
        self.next_serial += 1;
        let serial = self.next_serial;
        let inst = &mut self.instances[consumer];
        inst.offsets.update(queue, offset, false);
        inst.pqs.insert(queue, (serial, ProcessQueue::default()));
        self.send_pull(consumer, queue, serial, offset);
    }

    /// Sends an UPDATE_CONSUMER_OFFSET (CLUSTERING) or writes the local offset file.
    fn commit_offset(&mut self, consumer: usize, queue: QueueId, offset: u64) {
        match self.model {
            MessageModel::Clustering => {
                let at = self.instances[consumer].to_broker.arrival(self.now);
                self.schedule(at, Event::OffsetCommitArrives { queue, offset });
            }
            MessageModel::Broadcasting => {
                self.totals.rocketmq.offset_commits += 1;
                self.instances[consumer].offset_file.commit(queue, offset);
            }
        }
    }

    /// `persistAllConsumerOffset`: every allocated queue's in-memory offset (B3.2).
    fn persist_all(&mut self, consumer: usize) {
        let inst = &self.instances[consumer];
        let offsets: Vec<(QueueId, u64)> = inst
            .offsets
            .iter()
            .filter(|(q, _)| inst.pqs.contains_key(q))
            .collect();
        for (q, o) in offsets {
            self.commit_offset(consumer, q, o);
        }
    }

    /// `pullMessage`: flow control (B2.2), then a pull carrying the in-memory offset.
    fn pull(&mut self, consumer: usize, queue: QueueId, pq: u64) {
        let concurrently = self.mode == ConsumeMode::Concurrently;
        let inst = &mut self.instances[consumer];
        let (threshold, span) = (
            inst.cfg.pull_threshold_for_queue,
            inst.cfg.consume_concurrently_max_span,
        );
        let Some((_, p)) = inst.pqs.get(&queue).filter(|(s, _)| *s == pq) else {
            return;
        };
        if p.must_wait(threshold, span, concurrently) {
            let generation = inst.generation;
            self.schedule(
                self.now + FLOW_CONTROL_DELAY,
                Event::PullDue {
                    consumer,
                    generation,
                    queue,
                    pq,
                },
            );
            return;
        }
        let next = inst.pull_offsets.get(&queue).copied().unwrap_or(0);
        self.send_pull(consumer, queue, pq, next);
    }

    fn send_pull(&mut self, consumer: usize, queue: QueueId, pq: u64, offset: u64) {
        let inst = &mut self.instances[consumer];
        inst.pull_offsets.insert(queue, offset);
        let commit_offset = match self.model {
            MessageModel::Clustering => inst.offsets.read(queue).filter(|&o| o > 0),
            MessageModel::Broadcasting => None,
        };
        let generation = inst.generation;
        let at = inst.to_broker.arrival(self.now);
        self.schedule(
            at,
            Event::PullArrives {
                consumer,
                generation,
                queue,
                pq,
                offset,
                commit_offset,
            },
        );
    }

    /// Found messages: into the PQ, consume requests to the pool, and pull again at once.
    fn pulled(&mut self, consumer: usize, queue: QueueId, pq: u64, msgs: Vec<PulledMessage>) {
        let orderly = self.mode == ConsumeMode::Orderly;
        let inst = &mut self.instances[consumer];
        let batch = inst.cfg.consume_message_batch_max_size as usize;
        let Some(p) = inst.pq_mut(queue, pq) else {
            return;
        };
        p.put(&msgs);
        let count = p.count() as u64;
        let start_orderly = orderly && !p.orderly_busy;
        if start_orderly {
            p.orderly_busy = true;
        }
        inst.stats.max_pq = inst.stats.max_pq.max(count);
        if let Some(last) = msgs.last() {
            inst.pull_offsets.insert(queue, last.queue_offset + 1);
        }
        if orderly {
            if start_orderly {
                self.submit(consumer, Task::Orderly { queue, pq });
            }
        } else {
            for chunk in msgs.chunks(batch) {
                self.submit(
                    consumer,
                    Task::Concurrent {
                        queue,
                        pq,
                        msgs: chunk.to_vec(),
                    },
                );
            }
        }
        self.pull(consumer, queue, pq);
    }

    pub(super) fn crash(&mut self, consumer: usize) {
        let now = self.now;
        let inst = &mut self.instances[consumer];
        for r in inst.running.values() {
            inst.stats.busy += now.saturating_since(r.started);
        }
        inst.alive = false;
        inst.stats.crashes += 1;
        inst.pqs.clear();
        inst.offsets = LocalOffsets::default();
        inst.pull_offsets.clear();
        inst.pool.clear();
        inst.running.clear();
        inst.busy_threads = 0;
        let generation = inst.generation;
        let at = inst.to_broker.arrival(now);
        let restart = inst.crash.and_then(|c| c.restart_after);
        self.trace(|t| TraceRecord {
            consumer: Some(consumer),
            ..TraceRecord::new(t, TraceKind::Crashed)
        });
        self.schedule(
            at,
            Event::ConnectionDropped {
                consumer,
                generation,
            },
        );
        if let Some(after) = restart {
            self.lifecycle_pending += 1;
            self.schedule(now + after, Event::ConsumerStarts { consumer });
        }
    }

    /// A send-back reaches the broker (B4.2).
    fn broker_send_back(&mut self, msg: PulledMessage, max: u32) {
        self.totals.rocketmq.sent_back += 1;
        match broker_send_back(msg.reconsume_times, max) {
            SendBackOutcome::DeadLetter => {
                self.settle_retry(msg.id);
                self.totals.dead_lettered += 1;
                let i = self.copy_index(msg.id, 0);
                self.copies[i] |= DEAD_LETTERED;
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
    pub fn settle_retry(&mut self, id: MessageId) {
        if let Some(n) = self.retry_pending.get_mut(&id) {
            *n -= 1;
            if *n == 0 {
                self.retry_pending.remove(&id);
            }
        }
    }

    /// Nothing more can happen without a timer: every message sent, no retry on its way, every
    /// live instance idle, every queue's committed offset at its end, no start or crash to come.
    /// Periodic timers stop re-arming then, so a finished run ends.
    fn quiescent(&self) -> bool {
        self.producers.iter().all(|p| p.sent == p.messages)
            && self.retry_pending.is_empty()
            && self.lifecycle_pending == 0
            && self
                .instances
                .iter()
                .filter(|i| i.alive)
                .all(Instance::idle)
            && match self.model {
                MessageModel::Clustering => self
                    .broker
                    .topic
                    .iter()
                    .enumerate()
                    .map(|(i, q)| (QueueId::Topic(i as u32), q))
                    .chain(std::iter::once((QueueId::Retry, &self.broker.retry)))
                    .all(|(id, q)| self.broker.offsets.read(id) >= q.log.len() as u64),
                MessageModel::Broadcasting => self.instances.iter().filter(|i| i.alive).all(|i| {
                    self.broker.topic.iter().enumerate().all(|(q, log)| {
                        i.offset_file.read(QueueId::Topic(q as u32)) >= log.log.len() as u64
                    })
                }),
            }
    }

    fn finish(
        self,
        scenario: &Scenario,
        executed: u64,
        cut_by_until: bool,
        end: SimTime,
        wall_s: f64,
    ) -> Result<RunOutcome, SimError> {
        let census = self.census();
        let totals = &self.totals;
        let makespan_s = totals.last_processed_at.as_secs_f64();
        let processed_counts: Vec<u64> = self.instances.iter().map(|c| c.stats.processed).collect();
        let percentile = |q| {
            totals
                .latency
                .percentile(q)
                .map_or(0.0, |ns| ns as f64 / 1e9)
        };
        let stalled = !cut_by_until && census.in_flight > 0;
        let copies = self.copies.len() as u64;
        let summary = RunSummary {
            scenario: scenario.name.clone(),
            seed: scenario.seed,
            produced: self.accepted,
            copies,
            dispatched: totals.pulled,
            deliveries: totals.deliveries,
            redelivered: totals.redelivered,
            processed: totals.processed,
            unique_processed: census.unique_processed,
            duplicates: totals.duplicates,
            lost: census.lost,
            dlq: census.dlq,
            expired: 0,
            in_flight: census.in_flight,
            acks: Default::default(),
            rocketmq: totals.rocketmq,
            stalled,
            idle_with_backlog_s: 0.0,
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
        };
        let sent: u64 = self.producers.iter().map(|p| p.sent).sum();
        let first_processings = totals.processed - totals.duplicates;
        if !summary.conserves_messages()
            || sent != summary.produced
            || first_processings != summary.unique_processed
            || totals.dead_lettered < summary.dlq
        {
            return Err(SimError::Conservation(format!(
                "copies {copies} of produced {} (sent {sent}) != unique_processed {} (first \
                 processings {first_processings}) + lost {} + dlq {} (dead-lettered {}) + \
                 in_flight {}",
                summary.produced,
                summary.unique_processed,
                summary.lost,
                summary.dlq,
                totals.dead_lettered,
                summary.in_flight,
            )));
        }
        let consumers = self
            .instances
            .iter()
            .map(|c| ConsumerSummary {
                consumer: c.name.clone(),
                processed: c.stats.processed,
                duplicates: c.stats.duplicates,
                deliveries: c.stats.deliveries,
                redelivered: c.stats.redelivered,
                acks_sent: 0,
                max_unacked: c.stats.max_pq,
                idle_with_backlog_s: 0.0,
                busy_s: c.stats.busy.as_secs_f64(),
                crashes: c.stats.crashes,
            })
            .collect();
        Ok(RunOutcome {
            summary,
            consumers,
            cut_by_until,
        })
    }

    /// Classifies every copy: processed; else still to be consumed (at or after its queue's
    /// committed offset, in a live ProcessQueue, or a retry on its way); else dead-lettered;
    /// else lost (committed past without being processed: a BROADCASTING failure, B4.5).
    fn census(&self) -> Census {
        let mut pending = vec![false; self.copies.len()];
        let per = self.copies_per_message();
        let mut mark = |copy: usize| pending[copy] = true;
        match self.model {
            MessageModel::Clustering => {
                let queues = self
                    .broker
                    .topic
                    .iter()
                    .enumerate()
                    .map(|(i, q)| (QueueId::Topic(i as u32), q))
                    .chain(std::iter::once((QueueId::Retry, &self.broker.retry)));
                for (id, q) in queues {
                    let from = self.broker.offsets.read(id) as usize;
                    for s in q.log.iter().skip(from) {
                        mark(s.id as usize - 1);
                    }
                }
                for &id in self.retry_pending.keys() {
                    mark(id as usize - 1);
                }
                for inst in self.instances.iter().filter(|i| i.alive) {
                    for (_, p) in inst.pqs.values() {
                        for m in p.held() {
                            mark(m.id as usize - 1);
                        }
                    }
                }
            }
            MessageModel::Broadcasting => {
                for inst in &self.instances {
                    for (qi, q) in self.broker.topic.iter().enumerate() {
                        let id = QueueId::Topic(qi as u32);
                        let from = if inst.alive {
                            inst.offsets.read(id).unwrap_or(inst.offset_file.read(id))
                        } else {
                            inst.offset_file.read(id)
                        } as usize;
                        for s in q.log.iter().skip(from) {
                            mark((s.id as usize - 1) * per + inst.index);
                        }
                    }
                    if inst.alive {
                        for (_, p) in inst.pqs.values() {
                            for m in p.held() {
                                mark((m.id as usize - 1) * per + inst.index);
                            }
                        }
                    }
                }
            }
        }
        let mut census = Census::default();
        for (copy, &flags) in self.copies.iter().enumerate() {
            if flags & PROCESSED != 0 {
                census.unique_processed += 1;
            } else if pending[copy] {
                census.in_flight += 1;
            } else if flags & DEAD_LETTERED != 0 {
                census.dlq += 1;
            } else {
                census.lost += 1;
            }
        }
        census
    }
}

#[derive(Debug, Default)]
struct Census {
    unique_processed: u64,
    lost: u64,
    dlq: u64,
    in_flight: u64,
}
