//! One consumer instance: its ProcessQueues, offsets, consume pool and statistics.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::engine::{SimDuration, SimRng, SimTime};
use crate::model::config::{CrashConfig, RocketMqConsumerConfig};
use crate::model::dist::DurationSampler;
use crate::model::message::MessageId;
use crate::model::network::Link;

use super::QueueId;
use super::offset_store::{BrokerOffsets, LocalOffsets};
use super::process_queue::{ProcessQueue, PulledMessage};

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
    /// When the listener returns.
    pub ends: SimTime,
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
    pub idle_with_backlog: SimDuration,
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
    /// When this process started (the cleaner's fixed-rate timer counts from it).
    pub started_at: SimTime,
    /// Scheduled ticks of the expired-message cleaner (B4.8). A tick can only find something
    /// if a listener runs across it longer than `consume_timeout`, so only such ticks are
    /// scheduled (the others would change nothing but the run's end time).
    pub cleaner_ticks: BTreeSet<SimTime>,
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

    pub(super) fn idle(&self) -> bool {
        self.pool.is_empty()
            && self.running.is_empty()
            && self.pqs.values().all(|(_, p)| p.count() == 0)
    }
}
