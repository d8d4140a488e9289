//! One run of a RocketMQ scenario: producers, the broker's topic queues (and the group's
//! `%RETRY%` queue), the consumer instances' pull loops, ProcessQueues and consume pools, wired
//! through the engine's event queue.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::engine::{EventQueue, RngStreams, SimDuration, SimTime};
use crate::metrics::{
    ConsumerSummary, LatencyHistogram, RocketMqCounts, RunSummary, jain_fairness,
};
use crate::model::config::{CrashConfig, CrashPoint, Scenario};
use crate::model::dist::DurationSampler;
use crate::model::idempotence::IdempotentConsumers;
use crate::model::message::MessageId;
use crate::model::network::Link;
use crate::model::sim::{DEFAULT_HORIZON, RunOutcome, SimError, events_per_instant_limit};
use crate::model::trace::{TraceKind, TraceRecord, TraceSink};

use super::QueueId;
use super::broker::{Broker, BrokerQueue, HeldPull, Stored};
use super::config::{ConsumeMode, MessageModel};
use super::event::Event;
use super::instance::{Instance, Stats, Task};
use super::offset_store::{BrokerOffsets, LocalOffsets};
use super::produce::{self, Producer};

/// `RebalanceService` waits this long between rebalances (B2.4).
pub(super) const REBALANCE_INTERVAL: SimDuration = SimDuration::from_secs(20);
/// `MQClientInstance.persistAllConsumerOffset` starts this long after the client (B3.2).
pub(super) const FIRST_PERSIST_DELAY: SimDuration = SimDuration::from_secs(10);
/// `PULL_TIME_DELAY_MILLS_WHEN_FLOW_CONTROL` (B2.2).
pub(super) const FLOW_CONTROL_DELAY: SimDuration = SimDuration::from_millis(50);

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
/// Given up by a rule without processing: a BROADCASTING failure (B4.5), or a BROADCASTING
/// copy the expired-message cleaner sent to `%RETRY%`, which no broadcasting instance reads.
pub(super) const DROPPED: u8 = 4;
pub(super) const DELIVERED: u8 = 8;

pub(super) struct World<'t> {
    pub(super) now: SimTime,
    pub(super) events: EventQueue<Event>,
    pub(super) broker: Broker,
    pub(super) producers: Vec<Producer>,
    /// Producer events scheduled and not yet run, timeouts aside.
    pub(super) producer_events_pending: u64,
    /// The idempotent consumers' stores, keyed by the producer message.
    pub(super) idempotence: IdempotentConsumers,
    pub(super) instances: Vec<Instance>,
    pub(super) model: MessageModel,
    pub(super) mode: ConsumeMode,
    pub(super) queues: u32,
    /// Flags per copy, index `copy_index`.
    pub(super) copies: Vec<u8>,
    /// Send-backs on the wire and delayed retries, per message id (they are still in flight).
    pub(super) retry_pending: BTreeMap<MessageId, u32>,
    /// ConsumerStarts / Crash events not yet run.
    pub(super) lifecycle_pending: u64,
    pub(super) accepted: u64,
    /// When the broker crashes (`broker.crash.at`), if it does.
    pub(super) broker_crash_at: Option<SimTime>,
    /// Idle-with-backlog time is charged up to here.
    pub(super) accounted_until: SimTime,
    pub(super) next_serial: u64,
    pub(super) next_task: u64,
    pub(super) totals: Totals,
    pub(super) trace: Option<&'t mut dyn TraceSink>,
}

/// Runs a `flavor: rocketmq` scenario to the end (or to `until`).
pub fn run(scenario: &Scenario, trace: Option<&mut dyn TraceSink>) -> Result<RunOutcome, SimError> {
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
        world.charge_idle_with_backlog(t);
        world.now = t;
        world.handle(event);
        executed += 1;
    }
    let end = if cut_by_until { until } else { world.now };
    world.charge_idle_with_backlog(end);
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
        let producers = produce::producers(scenario, &streams, &latency, &mut events);
        let producer_events_pending = producers.len() as u64
            - scenario
                .producers
                .iter()
                .filter(|p| p.messages == 0)
                .count() as u64;
        let idempotence = IdempotentConsumers::new(
            scenario
                .consumers
                .iter()
                .map(|c| (c.idempotent, c.replicas as usize)),
        );
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
                    started_at: SimTime::ZERO,
                    cleaner_ticks: BTreeSet::new(),
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
        let mut world = Self {
            now: SimTime::ZERO,
            events,
            broker: Broker {
                topic: (0..queues).map(|_| BrokerQueue::default()).collect(),
                ..Broker::default()
            },
            producers,
            producer_events_pending,
            idempotence,
            instances,
            model: first.0,
            mode: first.1,
            queues,
            copies: Vec::new(),
            retry_pending: BTreeMap::new(),
            lifecycle_pending,
            accepted: 0,
            broker_crash_at: None,
            accounted_until: SimTime::ZERO,
            next_serial: 0,
            next_task: 0,
            totals: Totals::default(),
            trace,
        };
        if let Some(crash) = scenario.broker.crash {
            world.schedule_broker_crash(crash);
        }
        world
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
    pub(super) fn copies_per_message(&self) -> usize {
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
            Event::Producer(ev) => self.producer_event(ev),
            Event::ConsumerStarts { consumer } => self.start(consumer),
            Event::Registered {
                consumer,
                generation,
            } => {
                // A heartbeat reaching a dead broker is lost.
                if self.instances[consumer].is_current(generation) && !self.broker.down {
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
                sent_at,
            } => {
                if self.pull_refused(consumer) {
                    self.pull_fails(consumer, generation, queue, pq);
                    return;
                }
                if let Some(o) = commit_offset {
                    self.broker.offsets.commit(queue, o);
                }
                let held = HeldPull {
                    consumer,
                    generation,
                    pq,
                    offset,
                    sent_at,
                    serial: 0,
                };
                if !self.answer_pull(queue, held) {
                    self.hold_pull(queue, held);
                }
            }
            Event::HoldExpires { queue, serial } => self.hold_expires(queue, serial),
            Event::PullNotFound {
                consumer,
                generation,
                queue,
                pq,
                offset,
            } => {
                if self.instances[consumer].is_current(generation) {
                    self.pulled_nothing(consumer, queue, pq, offset);
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
            Event::SendBackArrives { msg, max, level } => self.broker_send_back(msg, max, level),
            Event::CleanExpired {
                consumer,
                generation,
            } => {
                if self.instances[consumer].is_current(generation) {
                    self.clean_expired(consumer);
                }
            }
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
            Event::OffsetCommitArrives { .. } if self.broker.down => {}
            Event::OffsetCommitArrives { queue, offset } => {
                self.totals.rocketmq.offset_commits += 1;
                self.broker.offsets.commit(queue, offset);
            }
            Event::BrokerCrashes => self.broker_crashes(),
            Event::BrokerRestarts => self.broker_restarts(),
            Event::BrokerFlushesOffsets => self.flush_offsets(),
            Event::Heartbeat {
                consumer,
                generation,
            } => self.heartbeat(consumer, generation),
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

    fn start(&mut self, consumer: usize) {
        self.lifecycle_pending -= 1;
        let now = self.now;
        let inst = &mut self.instances[consumer];
        inst.generation += 1;
        inst.alive = true;
        inst.started_at = now;
        inst.cleaner_ticks.clear();
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

    /// Nothing more can happen without a timer: every message sent, no retry on its way, every
    /// live instance idle, every queue's committed offset at its end, no start or crash to come.
    /// Periodic timers stop re-arming then, so a finished run ends.
    pub(super) fn quiescent(&self) -> bool {
        self.sends_settled()
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
            missed: 0,
            discarded: 0,
            slow_consumer_aborts: 0,
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
            idle_with_backlog_s: self
                .instances
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
            send: self.send_counts(),
        };
        self.check_sends()?;
        let first_processings = totals.processed - totals.duplicates;
        if !summary.conserves_messages()
            || first_processings != summary.unique_processed
            || totals.dead_lettered < summary.dlq
            || census.lost_unexplained > 0
        {
            return Err(SimError::Conservation(format!(
                "copies {copies} of produced {} != unique_processed {} (first \
                 processings {first_processings}) + lost {} ({} never dropped) + dlq {} \
                 (dead-lettered {}) + in_flight {}",
                summary.produced,
                summary.unique_processed,
                summary.lost,
                census.lost_unexplained,
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
                idle_with_backlog_s: c.stats.idle_with_backlog.as_secs_f64(),
                busy_s: c.stats.busy.as_secs_f64(),
                crashes: c.stats.crashes,
                aborted: 0,
            })
            .collect();
        Ok(RunOutcome {
            summary,
            consumers,
            cut_by_until,
        })
    }
}
