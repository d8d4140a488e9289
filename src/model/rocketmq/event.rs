//! The events of a RocketMQ run.

use crate::engine::SimTime;
use crate::model::producer::ProducerEvent;

use super::QueueId;
use super::process_queue::PulledMessage;

/// Everything that can happen.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Event {
    /// A producer's send attempt reaches the broker, or an answer, transport error or
    /// timeout reaches the producer.
    Producer(ProducerEvent),
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
    /// A pull request (sent at `sent_at`) reaches the broker.
    PullArrives {
        consumer: usize,
        generation: u32,
        queue: QueueId,
        pq: u64,
        offset: u64,
        commit_offset: Option<u64>,
        sent_at: SimTime,
    },
    /// `PullRequestHoldService`'s check finds held pull `serial` past its suspend time.
    HoldExpires { queue: QueueId, serial: u64 },
    /// PULL_NOT_FOUND (NO_NEW_MSG) for a pull from `offset` reaches the client.
    PullNotFound {
        consumer: usize,
        generation: u32,
        queue: QueueId,
        pq: u64,
        offset: u64,
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
    /// `level` 0 = `3 + reconsumeTimes`.
    SendBackArrives {
        msg: PulledMessage,
        max: u32,
        level: u32,
    },
    /// A delayed retry leaves `SCHEDULE_TOPIC_XXXX` for `%RETRY%<group>`.
    RetryDue { msg: PulledMessage },
    /// An orderly queue's suspension ends.
    OrderlyResume {
        consumer: usize,
        generation: u32,
        queue: QueueId,
        pq: u64,
    },
    /// `cleanExpireMsg`, every `consume_timeout` (concurrent consumption, B4.8).
    CleanExpired { consumer: usize, generation: u32 },
    /// `persistAllConsumerOffset`.
    PersistOffsets { consumer: usize, generation: u32 },
    /// An UPDATE_CONSUMER_OFFSET reaches the broker.
    OffsetCommitArrives { queue: QueueId, offset: u64 },
    /// The broker process dies (`broker.crash.at`).
    BrokerCrashes,
    /// A new broker process has recovered the store.
    BrokerRestarts,
    /// `ConsumerOffsetManager.persist()`.
    BrokerFlushesOffsets,
    /// A client's periodic heartbeat is sent (the first after a broker restart).
    Heartbeat { consumer: usize, generation: u32 },
    /// `generation: None` for `crash.at`.
    Crash {
        consumer: usize,
        generation: Option<u32>,
    },
}
