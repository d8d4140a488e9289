//! The validated description of one simulation, as the model consumes it.
//!
//! These types know nothing of YAML: `crate::scenario` parses and validates a scenario file
//! into a [`Scenario`], applying ActiveMQ's defaults, and the model only ever sees values that
//! the real client would accept. Every default below is the real client's or broker's default,
//! with the `semantics.md` rule it comes from.

use crate::engine::SimDuration;
pub use crate::model::idempotence::IdempotentConfig;
pub use crate::model::producer::{SendConfig, SendFaults, SendPolicy};
pub use crate::model::rocketmq::config::{RocketMqBrokerConfig, RocketMqConsumerConfig};

/// ActiveMQ's `ActiveMQPrefetchPolicy` default for queue consumers (semantics.md A1.1).
pub const DEFAULT_QUEUE_PREFETCH: u32 = 1000;
/// `ActiveMQPrefetchPolicy.MAX_PREFETCH_SIZE`: every prefetch setter caps here (A1.1).
pub const MAX_PREFETCH: u32 = 32767;
/// `ActiveMQPrefetchPolicy` default for non-durable topic subscribers (A1.1).
pub const DEFAULT_TOPIC_PREFETCH: u32 = 32767;
/// `ActiveMQPrefetchPolicy` default for durable topic subscribers, and the `PolicyEntry`
/// value the stock `activemq.xml` resets an AUTO durable subscriber's 1000 to (A1.1, A1.3).
pub const DEFAULT_DURABLE_TOPIC_PREFETCH: u32 = 100;
/// `optimizeDurableTopicPrefetch`: what an AUTO session's durable subscriber asks for
/// (`optimizedMessageDispatch` default true, A1.2).
pub const OPTIMIZE_DURABLE_TOPIC_PREFETCH: u32 = 1000;
/// The stock `activemq.xml`'s `<constantPendingMessageLimitStrategy limit="1000"/>` for
/// `topic=">"` (A9.2).
pub const STOCK_TOPIC_PENDING_MESSAGE_LIMIT: u32 = 1000;
/// Most messages one run can accept: message ids are 32-bit broker sequence ids from 1.
pub const MAX_MESSAGES: u64 = u32::MAX as u64 - 1;
/// Most consumer instances (replicas included) in one run.
pub const MAX_CONSUMER_INSTANCES: u64 = 100_000;
/// `ActiveMQConnectionFactory.optimizeAcknowledgeTimeOut` default (A2.12).
pub const DEFAULT_OPTIMIZE_ACK_TIMEOUT: SimDuration = SimDuration::from_millis(300);

/// One simulation: who produces, who consumes, and how the broker behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Names the run and its default output directory.
    pub name: String,
    /// Root of every random stream of the run.
    pub seed: u64,
    /// Hard stop in simulated time; `None` runs until nothing more can happen.
    pub until: Option<SimDuration>,
    pub network: NetworkConfig,
    pub broker: BrokerConfig,
    pub producers: Vec<ProducerConfig>,
    pub consumers: Vec<ConsumerConfig>,
}

impl Scenario {
    /// Consumer instances in creation order, replicas expanded (`c-0`, `c-1`, …).
    pub fn consumer_instances(&self) -> impl Iterator<Item = (String, &ConsumerConfig)> {
        self.consumers
            .iter()
            .flat_map(|c| (0..c.replicas).map(move |i| (format!("{}-{}", c.name, i), c)))
    }

    /// Total number of consumer instances.
    pub fn consumer_instance_count(&self) -> usize {
        self.consumers.iter().map(|c| c.replicas as usize).sum()
    }

    /// Total number of messages the producers will send.
    pub fn total_messages(&self) -> u64 {
        self.producers.iter().map(|p| p.messages).sum()
    }
}

/// The client ↔ broker network.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkConfig {
    /// One-way delay of every command between a client and the broker. Each connection is a
    /// FIFO (TCP): a later command never overtakes an earlier one even when sampled shorter.
    pub latency: DurationDist,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            latency: DurationDist::Constant(SimDuration::from_micros(100)),
        }
    }
}

/// Which broker implementation's rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BrokerFlavor {
    #[default]
    ActiveMq,
    RocketMq,
}

/// Broker-side configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerConfig {
    pub flavor: BrokerFlavor,
    /// The consumers' `RedeliveryPolicy` (it is a client-side object in ActiveMQ, A3.1; the
    /// scenario sets it once for every consumer, as a connection factory would).
    pub redelivery: RedeliveryPolicy,
    /// `PolicyEntry.usePrefetchExtension` (default true): whether DELIVERED acks widen the
    /// dispatch window (A6.2).
    pub use_prefetch_extension: bool,
    pub slow_consumer: SlowConsumerStrategy,
    /// The RocketMQ topic (flavor `rocketmq` only).
    pub rocketmq: RocketMqBrokerConfig,
    /// The one destination every producer sends to and every consumer consumes from.
    pub destination: DestinationConfig,
    /// A broker process crash and restart (A11.4); `None` = the broker never fails.
    pub crash: Option<BrokerCrash>,
    /// `PolicyEntry.persistJMSRedelivered` (default false): whether the redelivery counter is
    /// written to the store, so it survives a broker restart (A11.4).
    pub persist_jms_redelivered: bool,
    /// `PolicyEntry.expireMessagesPeriod` (default 30 s); `None` (0) = no periodic sweep
    /// (A10.1).
    pub expire_messages_period: Option<SimDuration>,
    /// `PolicyEntry.prioritizedMessages` (default false): dispatch by JMSPriority (A10.2).
    pub prioritized_messages: bool,
}

/// The broker process dies at `at` and a new one has recovered its store `restart_after`
/// later (A11.4).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BrokerCrash {
    pub at: SimDuration,
    pub restart_after: SimDuration,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        Self {
            flavor: BrokerFlavor::ActiveMq,
            redelivery: RedeliveryPolicy::default(),
            use_prefetch_extension: true,
            slow_consumer: SlowConsumerStrategy::None,
            rocketmq: RocketMqBrokerConfig::default(),
            destination: DestinationConfig::default(),
            crash: None,
            persist_jms_redelivered: false,
            expire_messages_period: Some(SimDuration::from_secs(30)),
            prioritized_messages: false,
        }
    }
}

/// The destination of a run: a queue (each message to one consumer) or a topic (each
/// subscriber its own copy, semantics.md A9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DestinationConfig {
    #[default]
    Queue,
    Topic(TopicPolicy),
}

impl DestinationConfig {
    pub fn is_topic(&self) -> bool {
        matches!(self, DestinationConfig::Topic(_))
    }
}

/// What the broker's `PolicyEntry` for the topic says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicPolicy {
    /// A `<policyEntry topic=">">` matches the topic, as in the stock `activemq.xml` Debian
    /// ships: it resets client-default prefetches to the policy's (an AUTO durable subscriber's
    /// 1000 becomes 100, A1.3).
    pub policy_entry: bool,
    /// The `pendingMessageLimitStrategy` limit L of non-durable subscriptions (A9.2); `None`
    /// is the real `-1` (no strategy: nothing is ever discarded).
    pub pending_message_limit: Option<u32>,
}

impl Default for TopicPolicy {
    /// The stock `activemq.xml`: a policy entry for `topic=">"` with a constant pending
    /// limit of 1000.
    fn default() -> Self {
        Self {
            policy_entry: true,
            pending_message_limit: Some(STOCK_TOPIC_PENDING_MESSAGE_LIMIT),
        }
    }
}

/// How a consumer subscribes to a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubscriptionKind {
    /// `session.createConsumer(topic)`: exists only while connected (A5.6).
    #[default]
    NonDurable,
    /// `session.createDurableSubscriber(topic, name)`: the broker keeps its messages while it
    /// is offline (A5.6).
    Durable,
}

impl SubscriptionKind {
    /// The scenario-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionKind::NonDurable => "non_durable",
            SubscriptionKind::Durable => "durable",
        }
    }
}

/// `PolicyEntry.slowConsumerStrategy` (semantics.md A8; default none, A8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SlowConsumerStrategy {
    #[default]
    None,
    /// `AbortSlowConsumerStrategy` (A8.3). On a queue it never acts: see
    /// `model::activemq::slow_consumer`.
    Abort(AbortSlowConsumer),
    /// `AbortSlowAckConsumerStrategy` (A8.4): the same abort rule, fed by the time since each
    /// subscription's last consuming ack.
    AbortSlowAck {
        abort: AbortSlowConsumer,
        /// `maxTimeSinceLastAck` (default 30 s); `None` is the real `-1` (checks do nothing).
        max_time_since_last_ack: Option<SimDuration>,
        /// `ignoreIdleConsumers` (default true): skip subscriptions with nothing dispatched.
        ignore_idle_consumers: bool,
    },
}

/// The settings `AbortSlowConsumerStrategy` and its subclass share, with their defaults (A8.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortSlowConsumer {
    /// `maxSlowCount` (default −1 = `None`, off).
    pub max_slow_count: Option<u64>,
    /// `maxSlowDuration` (default 30 s); `None` is the real `-1` (off).
    pub max_slow_duration: Option<SimDuration>,
    /// `checkPeriod` (default 30 s).
    pub check_period: SimDuration,
    /// `abortConnection` (default false): fail the whole connection instead of closing the
    /// consumer.
    pub abort_connection: bool,
}

impl Default for AbortSlowConsumer {
    fn default() -> Self {
        Self {
            max_slow_count: None,
            max_slow_duration: Some(SimDuration::from_secs(30)),
            check_period: SimDuration::from_secs(30),
            abort_connection: false,
        }
    }
}

/// `AbortSlowAckConsumerStrategy.maxTimeSinceLastAck` default (A8.4).
pub const DEFAULT_MAX_TIME_SINCE_LAST_ACK: SimDuration = SimDuration::from_secs(30);

/// ActiveMQ's client-side `RedeliveryPolicy` (semantics.md A3.1), with its defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RedeliveryPolicy {
    /// Redeliveries allowed before a POISON ack; `None` is the real `-1` (unlimited).
    pub maximum_redeliveries: Option<u32>,
    pub initial_redelivery_delay: SimDuration,
    pub redelivery_delay: SimDuration,
    pub use_exponential_backoff: bool,
    pub backoff_multiplier: f64,
    /// `maximumRedeliveryDelay`; `None` is the real `-1` (no cap).
    pub maximum_redelivery_delay: Option<SimDuration>,
}

impl Default for RedeliveryPolicy {
    fn default() -> Self {
        Self {
            maximum_redeliveries: Some(6),
            initial_redelivery_delay: SimDuration::from_secs(1),
            redelivery_delay: SimDuration::from_secs(1),
            use_exponential_backoff: false,
            backoff_multiplier: 5.0,
            maximum_redelivery_delay: None,
        }
    }
}

/// One producer: how many messages it sends and when.
#[derive(Debug, Clone, PartialEq)]
pub struct ProducerConfig {
    pub name: String,
    pub messages: u64,
    pub arrival: Arrival,
    /// When the producer sends its first message (bursts send everything at this instant).
    pub start_at: SimDuration,
    /// Delivery mode, send policy and injected faults.
    pub send: SendConfig,
    /// Message groups: the k-th message (from 0) gets `JMSXGroupID` number `k mod groups`
    /// (1..=1024); `None` sets no group (A7.6).
    pub groups: Option<u16>,
    /// `MessageProducer.setTimeToLive`: `JMSExpiration = send time + time_to_live`; `None`
    /// (the default 0) never expires (A10.1).
    pub time_to_live: Option<SimDuration>,
    /// `MessageProducer.setPriority`: the JMSPriority of every message (0..=9, default 4,
    /// A10.2).
    pub priority: u8,
}

/// When a producer sends: the gaps between consecutive sends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrival {
    /// Poisson process: exponential gaps with this rate (messages per second).
    Exponential { rate: f64 },
    /// A fixed gap between sends.
    Constant { interval: SimDuration },
    /// Every message at `start_at`.
    Burst,
}

/// JMS session acknowledge mode (`ActiveMQSession`, semantics.md A2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AckMode {
    Auto,
    Client,
    DupsOk,
    Transacted,
    Individual,
}

impl AckMode {
    /// The scenario-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AckMode::Auto => "auto",
            AckMode::Client => "client",
            AckMode::DupsOk => "dups_ok",
            AckMode::Transacted => "transacted",
            AckMode::Individual => "individual",
        }
    }
}

/// How the application takes messages from its consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryMode {
    /// `MessageListener.onMessage`, called by the session thread.
    Listener,
    /// A loop around synchronous `MessageConsumer.receive()`.
    Receive,
}

impl DeliveryMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryMode::Listener => "listener",
            DeliveryMode::Receive => "receive",
        }
    }
}

/// A group of identical consumer instances (`replicas` of them), each on its own connection
/// and session.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerConfig {
    pub name: String,
    pub replicas: u32,
    pub ack_mode: AckMode,
    pub delivery: DeliveryMode,
    /// The consumer's prefetch size; 0 = pull mode (receive only, A1.5).
    pub prefetch: u32,
    /// `connection.optimizeAcknowledge` — effective only in AUTO mode (A2.12).
    pub optimize_ack: bool,
    pub optimize_ack_timeout: SimDuration,
    /// CLIENT / INDIVIDUAL: the application acknowledges after every n processed; 0 = never.
    pub ack_every: u32,
    /// Transacted: the application commits after every n processed; 0 = never.
    pub commit_every: u32,
    pub processing: DurationDist,
    pub failures: FailureConfig,
    pub crash: Option<CrashConfig>,
    pub start_at: SimDuration,
    /// The RocketMQ push-consumer settings (flavor `rocketmq` only).
    pub rocketmq: RocketMqConsumerConfig,
    /// How it subscribes when the destination is a topic; `None` on a queue.
    pub subscription: Option<SubscriptionKind>,
    /// An idempotent consumer's processed-id store, shared by the entry's replicas.
    pub idempotent: Option<IdempotentConfig>,
    /// `consumer.priority` (0..=127, default 0): higher-priority consumers are asked first
    /// (A7.3).
    pub priority: u8,
    /// `consumer.exclusive` (default false): one exclusive consumer gets every message (A7.5).
    pub exclusive: bool,
    /// `ActiveMQConnection.consumerExpiryCheckEnabled` (default true): expired messages are
    /// not given to the application but EXPIRED-acked (A2.10).
    pub consumer_expiry_check_enabled: bool,
    /// `ActiveMQConnection.messagePrioritySupported` (default false): the prefetch buffer
    /// delivers the highest JMSPriority first (A10.2).
    pub message_priority_supported: bool,
}

impl ConsumerConfig {
    /// A consumer with every field at its default, for tests and programmatic scenarios.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            replicas: 1,
            ack_mode: AckMode::Auto,
            delivery: DeliveryMode::Listener,
            prefetch: DEFAULT_QUEUE_PREFETCH,
            optimize_ack: false,
            optimize_ack_timeout: DEFAULT_OPTIMIZE_ACK_TIMEOUT,
            ack_every: 1,
            commit_every: 1,
            processing: DurationDist::Constant(SimDuration::from_millis(5)),
            failures: FailureConfig::default(),
            crash: None,
            start_at: SimDuration::ZERO,
            rocketmq: RocketMqConsumerConfig::default(),
            subscription: None,
            idempotent: None,
            priority: 0,
            exclusive: false,
            consumer_expiry_check_enabled: true,
            message_priority_supported: false,
        }
    }
}

/// Processing failures of a consumer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FailureConfig {
    /// Probability that one processing attempt fails.
    pub probability: f64,
    /// Broker sequence ids (1-based, in acceptance order) whose processing always fails:
    /// poison messages.
    pub poison: Vec<u64>,
    pub handling: FailureHandling,
}

/// What happens when processing fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailureHandling {
    /// The exception escapes the listener; the real client's per-mode rule applies (A2.13).
    /// With `receive()` nothing in the client sees it: the application moves on.
    #[default]
    Throw,
    /// The application calls `session.rollback()` (transacted sessions only).
    Rollback,
    /// The application calls `session.recover()` (non-transacted sessions only).
    Recover,
}

/// When a consumer process dies, and whether it comes back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CrashConfig {
    pub point: CrashPoint,
    /// Delay before a new process reconnects; `None` = it never comes back.
    pub restart_after: Option<SimDuration>,
}

/// The instant a consumer process dies (each fires at most once per instance).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CrashPoint {
    /// Right after its K-th successful processing completes, before anything else (an ack
    /// included) happens.
    AfterProcessed(u64),
    /// While processing its K-th delivery (halfway through that processing).
    DuringProcessing(u64),
    /// At this simulated time.
    At(SimDuration),
}

/// A distribution of durations (processing times, network latency).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DurationDist {
    Constant(SimDuration),
    Exponential {
        mean: SimDuration,
    },
    Uniform {
        min: SimDuration,
        max: SimDuration,
    },
    /// Samples below zero are clamped to zero.
    Normal {
        mean: SimDuration,
        std: SimDuration,
    },
    /// Parameterised by the mean and standard deviation of the duration itself.
    LogNormal {
        mean: SimDuration,
        std: SimDuration,
    },
    Pareto {
        scale: SimDuration,
        shape: f64,
    },
}
