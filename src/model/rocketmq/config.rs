//! RocketMQ 4.9.7 push-consumer and topic settings, as the model consumes them (validated by
//! `crate::scenario::rocketmq`). Every default is `DefaultMQPushConsumer`'s (semantics.md B2.1).

use crate::engine::SimDuration;

/// `MixAll.DEFAULT_CONSUMER_GROUP`: the group of a `DefaultMQPushConsumer` built without one.
pub const DEFAULT_GROUP: &str = "DEFAULT_CONSUMER";
/// `DefaultMQProducer.defaultTopicQueueNums`: the queues of a topic the producer auto-creates.
pub const DEFAULT_TOPIC_QUEUES: u32 = 4;
/// The broker's `maxTransferCountOnMessageInMemory`: one pull returns at most 32 messages
/// whatever `pullBatchSize` asks for (B2.1).
pub const BROKER_MAX_TRANSFER_COUNT: u32 = 32;

/// `ConsumeMessageConcurrentlyService` or `ConsumeMessageOrderlyService` (B3, B5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConsumeMode {
    #[default]
    Concurrently,
    Orderly,
}

/// `MessageModel` (B2.1): CLUSTERING shares the queues among the group, BROADCASTING gives
/// every instance every queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MessageModel {
    #[default]
    Clustering,
    Broadcasting,
}

/// The RocketMQ fields of one consumer entry (`DefaultMQPushConsumer`'s, snake_case).
#[derive(Debug, Clone, PartialEq)]
pub struct RocketMqConsumerConfig {
    /// `consumerGroup`: instances of one group share the topic's queues.
    pub group: String,
    pub consume_mode: ConsumeMode,
    pub message_model: MessageModel,
    /// `pullBatchSize` (B2.1); the broker caps one answer at [`BROKER_MAX_TRANSFER_COUNT`].
    pub pull_batch_size: u32,
    /// `consumeMessageBatchMaxSize`: messages per listener call.
    pub consume_message_batch_max_size: u32,
    /// `pullThresholdForQueue`: the ProcessQueue message count above which pulls wait (B2.2).
    pub pull_threshold_for_queue: u32,
    /// `consumeConcurrentlyMaxSpan`: the ProcessQueue offset span above which pulls wait.
    pub consume_concurrently_max_span: u32,
    /// `maxReconsumeTimes`; `None` is the real −1 (16 concurrently, unlimited orderly, B4.2, B5.3).
    pub max_reconsume_times: Option<u32>,
    /// `persistConsumerOffsetInterval` (B3.2).
    pub persist_consumer_offset_interval: SimDuration,
    /// `consumeThreadMin`: the size of the consume pool (B2.1: never more threads than this).
    pub consume_thread_min: u32,
    /// `consumeThreadMax`: only checked against the minimum (the pool's queue is unbounded).
    pub consume_thread_max: u32,
    /// `suspendCurrentQueueTimeMillis` (B5.3).
    pub suspend_current_queue_time: SimDuration,
    /// `consumeTimeout` (whole minutes): messages consumed longer are sent back (B4.8).
    pub consume_timeout: SimDuration,
}

impl Default for RocketMqConsumerConfig {
    fn default() -> Self {
        Self {
            group: DEFAULT_GROUP.to_string(),
            consume_mode: ConsumeMode::Concurrently,
            message_model: MessageModel::Clustering,
            pull_batch_size: 32,
            consume_message_batch_max_size: 1,
            pull_threshold_for_queue: 1000,
            consume_concurrently_max_span: 2000,
            max_reconsume_times: None,
            persist_consumer_offset_interval: SimDuration::from_secs(5),
            consume_thread_min: 20,
            consume_thread_max: 20,
            suspend_current_queue_time: SimDuration::from_secs(1),
            consume_timeout: SimDuration::from_secs(15 * 60),
        }
    }
}

/// The RocketMQ broker side of a scenario: the one topic the producers send to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RocketMqBrokerConfig {
    /// Read/write queues of the topic.
    pub queues: u32,
}

impl Default for RocketMqBrokerConfig {
    fn default() -> Self {
        Self {
            queues: DEFAULT_TOPIC_QUEUES,
        }
    }
}
