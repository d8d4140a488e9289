//! The RocketMQ fields of a scenario (`broker.flavor: rocketmq`): `DefaultMQPushConsumer`'s
//! settings in snake_case with its defaults and `checkConfig` ranges (semantics.md B2.1), the
//! topic's queue count, and the fields that belong to the other flavor only.
//!
//! A child module of `validate`, so it uses the same error helpers.

use serde_saphyr::{Location, Spanned};

use super::super::raw::{RawBroker, RawConsumer, RawProducer};
use super::{Ctx, R};
use crate::model::config::{BrokerConfig, BrokerFlavor, ConsumerConfig};
use crate::model::rocketmq::config::{
    ConsumeMode, MessageModel, RocketMqBrokerConfig, RocketMqConsumerConfig,
};

/// `checkConfig`: consumeThreadMin/Max ∈ [1, 1000].
const THREADS: (i128, i128) = (1, 1000);
/// `checkConfig`: pullBatchSize and consumeMessageBatchMaxSize ∈ [1, 1024].
const BATCH: (i128, i128) = (1, 1024);
/// `checkConfig`: pullThresholdForQueue and consumeConcurrentlyMaxSpan ∈ [1, 65535].
const THRESHOLD: (i128, i128) = (1, 65535);
/// Queues of one topic (`TopicConfig` read/write queue numbers).
const QUEUES: (i128, i128) = (1, 1024);

/// The consumer fields that only ActiveMQ has, with where each was written.
fn activemq_consumer_fields(c: &RawConsumer) -> Vec<(&'static str, Location)> {
    [
        ("ack_mode", c.ack_mode.as_ref().map(|f| f.referenced)),
        ("delivery", c.delivery.as_ref().map(|f| f.referenced)),
        ("prefetch", c.prefetch.as_ref().map(|f| f.referenced)),
        (
            "optimize_ack",
            c.optimize_ack.as_ref().map(|f| f.referenced),
        ),
        (
            "optimize_ack_timeout",
            c.optimize_ack_timeout.as_ref().map(|f| f.referenced),
        ),
        ("ack_every", c.ack_every.as_ref().map(|f| f.referenced)),
        (
            "commit_every",
            c.commit_every.as_ref().map(|f| f.referenced),
        ),
        (
            "failures.handling",
            c.failures
                .as_ref()
                .and_then(|f| f.value.handling.as_ref().map(|h| h.referenced)),
        ),
        (
            "subscription",
            c.subscription.as_ref().map(|f| f.referenced),
        ),
        ("priority", c.priority.as_ref().map(|f| f.referenced)),
        ("exclusive", c.exclusive.as_ref().map(|f| f.referenced)),
        (
            "message_priority_supported",
            c.message_priority_supported.as_ref().map(|f| f.referenced),
        ),
        (
            "consumer_expiry_check_enabled",
            c.consumer_expiry_check_enabled
                .as_ref()
                .map(|f| f.referenced),
        ),
    ]
    .into_iter()
    .filter_map(|(n, l)| l.map(|l| (n, l)))
    .collect()
}

/// The consumer fields that only RocketMQ has, with where each was written.
fn rocketmq_consumer_fields(c: &RawConsumer) -> Vec<(&'static str, Location)> {
    [
        ("group", c.group.as_ref().map(|f| f.referenced)),
        (
            "consume_mode",
            c.consume_mode.as_ref().map(|f| f.referenced),
        ),
        (
            "message_model",
            c.message_model.as_ref().map(|f| f.referenced),
        ),
        (
            "pull_batch_size",
            c.pull_batch_size.as_ref().map(|f| f.referenced),
        ),
        (
            "consume_message_batch_max_size",
            c.consume_message_batch_max_size
                .as_ref()
                .map(|f| f.referenced),
        ),
        (
            "pull_threshold_for_queue",
            c.pull_threshold_for_queue.as_ref().map(|f| f.referenced),
        ),
        (
            "consume_concurrently_max_span",
            c.consume_concurrently_max_span
                .as_ref()
                .map(|f| f.referenced),
        ),
        (
            "max_reconsume_times",
            c.max_reconsume_times.as_ref().map(|f| f.referenced),
        ),
        (
            "persist_consumer_offset_interval",
            c.persist_consumer_offset_interval
                .as_ref()
                .map(|f| f.referenced),
        ),
        (
            "consume_thread_min",
            c.consume_thread_min.as_ref().map(|f| f.referenced),
        ),
        (
            "consume_thread_max",
            c.consume_thread_max.as_ref().map(|f| f.referenced),
        ),
        (
            "suspend_current_queue_time",
            c.suspend_current_queue_time.as_ref().map(|f| f.referenced),
        ),
        (
            "consume_timeout",
            c.consume_timeout.as_ref().map(|f| f.referenced),
        ),
    ]
    .into_iter()
    .filter_map(|(n, l)| l.map(|l| (n, l)))
    .collect()
}

impl Ctx<'_> {
    /// The JMS message properties a RocketMQ producer does not have (JMSXGroupID,
    /// JMSExpiration, JMSPriority): refused rather than silently ignored.
    pub(super) fn refuse_jms_producer_fields(&self, producers: &[&RawProducer]) -> R<()> {
        for p in producers {
            let fields = [
                ("groups", p.groups.as_ref().map(|f| f.referenced)),
                (
                    "time_to_live",
                    p.time_to_live.as_ref().map(|f| f.referenced),
                ),
                ("priority", p.priority.as_ref().map(|f| f.referenced)),
            ];
            if let Some((name, Some(loc))) = fields.iter().find(|(_, l)| l.is_some()) {
                return Err(self.err(
                    loc,
                    format!("producer {name} is an ActiveMQ (JMS) setting, but the broker flavor is `rocketmq`"),
                    "RocketMQ producer settings: `send`, `faults`, `arrival`, `messages` (or `flavor: activemq`)",
                ));
            }
        }
        Ok(())
    }

    /// `broker.queues` (RocketMQ only) and the ActiveMQ-only broker fields under rocketmq.
    pub(super) fn rocketmq_broker(
        &self,
        b: &RawBroker,
        flavor: BrokerFlavor,
    ) -> R<RocketMqBrokerConfig> {
        match flavor {
            BrokerFlavor::ActiveMq => {
                if let Some(q) = &b.queues {
                    return Err(self.err(
                        &q.referenced,
                        "broker.queues is a RocketMQ topic setting; ActiveMQ queues have no partitions",
                        "no `queues:` with `flavor: activemq` (or `flavor: rocketmq`)",
                    ));
                }
                Ok(RocketMqBrokerConfig::default())
            }
            BrokerFlavor::RocketMq => {
                let activemq_only = [
                    ("redelivery", b.redelivery.as_ref().map(|f| f.referenced)),
                    (
                        "use_prefetch_extension",
                        b.use_prefetch_extension.as_ref().map(|f| f.referenced),
                    ),
                    (
                        "slow_consumer",
                        b.slow_consumer.as_ref().map(|f| f.referenced),
                    ),
                    ("destination", b.destination.as_ref().map(|f| f.referenced)),
                    (
                        "persist_jms_redelivered",
                        b.persist_jms_redelivered.as_ref().map(|f| f.referenced),
                    ),
                    (
                        "expire_messages_period",
                        b.expire_messages_period.as_ref().map(|f| f.referenced),
                    ),
                    (
                        "prioritized_messages",
                        b.prioritized_messages.as_ref().map(|f| f.referenced),
                    ),
                ];
                if let Some((name, Some(loc))) = activemq_only.iter().find(|(_, l)| l.is_some()) {
                    return Err(self.err(
                        loc,
                        format!("broker.{name} is an ActiveMQ setting, but the broker flavor is `rocketmq`"),
                        "RocketMQ settings: `broker.queues`, and on consumers `max_reconsume_times`, `consume_mode`, ... (or `flavor: activemq`)",
                    ));
                }
                let queues = match &b.queues {
                    Some(q) => self.int_in("broker.queues", q, QUEUES.0, QUEUES.1)? as u32,
                    None => RocketMqBrokerConfig::default().queues,
                };
                Ok(RocketMqBrokerConfig { queues })
            }
        }
    }

    /// A consumer entry's RocketMQ fields, with `checkConfig`'s ranges; under ActiveMQ they
    /// are errors, and under RocketMQ the ActiveMQ-only fields are.
    pub(super) fn rocketmq_consumer(
        &self,
        c: &RawConsumer,
        flavor: BrokerFlavor,
        name: &str,
    ) -> R<RocketMqConsumerConfig> {
        let defaults = RocketMqConsumerConfig::default();
        if flavor == BrokerFlavor::ActiveMq {
            if let Some((field, loc)) = rocketmq_consumer_fields(c).first() {
                return Err(self.err(
                    loc,
                    format!("consumer `{name}`: {field} is a RocketMQ push-consumer setting, but the broker flavor is `activemq`"),
                    "ActiveMQ consumer settings (`ack_mode`, `prefetch`, ...), or `broker.flavor: rocketmq`",
                ));
            }
            return Ok(defaults);
        }
        if let Some((field, loc)) = activemq_consumer_fields(c).first() {
            return Err(self.err(
                loc,
                format!("consumer `{name}`: {field} is an ActiveMQ (JMS) setting, but the broker flavor is `rocketmq`"),
                "RocketMQ push-consumer settings: `consume_mode`, `message_model`, `pull_batch_size`, `max_reconsume_times`, ... (a failure is RECONSUME_LATER, no `handling`)",
            ));
        }
        let int = |key: &str, f: &Option<Spanned<_>>, (lo, hi): (i128, i128), default: u32| {
            f.as_ref().map_or(Ok(default), |f| {
                self.int_in(key, f, lo, hi).map(|v| v as u32)
            })
        };
        let group = match &c.group {
            Some(g) => self.name("group", g)?,
            None => defaults.group.clone(),
        };
        let consume_mode = match &c.consume_mode {
            Some(m) => self.word(
                "consume_mode",
                m,
                &[
                    ("concurrently", ConsumeMode::Concurrently),
                    ("orderly", ConsumeMode::Orderly),
                ],
            )?,
            None => defaults.consume_mode,
        };
        let message_model = match &c.message_model {
            Some(m) => self.word(
                "message_model",
                m,
                &[
                    ("clustering", MessageModel::Clustering),
                    ("broadcasting", MessageModel::Broadcasting),
                ],
            )?,
            None => defaults.message_model,
        };
        if message_model == MessageModel::Broadcasting
            && let Some(i) = &c.idempotent
        {
            return Err(self.err(
                &i.referenced,
                format!("consumer `{name}`: an idempotent store shared by the replicas would skip every BROADCASTING copy after the first, but each instance must process every message"),
                "no `idempotent:` with `message_model: broadcasting` (or `message_model: clustering`)",
            ));
        }
        let consume_thread_min = int(
            "consume_thread_min",
            &c.consume_thread_min,
            THREADS,
            defaults.consume_thread_min,
        )?;
        let consume_thread_max = int(
            "consume_thread_max",
            &c.consume_thread_max,
            THREADS,
            defaults.consume_thread_max,
        )?;
        if consume_thread_min > consume_thread_max {
            let loc = c
                .consume_thread_min
                .as_ref()
                .or(c.consume_thread_max.as_ref())
                .map(|f| f.referenced)
                .unwrap_or(Location::UNKNOWN);
            return Err(self.err(
                &loc,
                format!("consumer `{name}`: consume_thread_min {consume_thread_min} is larger than consume_thread_max {consume_thread_max} (checkConfig rejects it)"),
                "consume_thread_min ≤ consume_thread_max (default 20; raise both)",
            ));
        }
        let max_reconsume_times = match &c.max_reconsume_times {
            Some(f) => match self.int_in("max_reconsume_times", f, -1, i128::from(i32::MAX))? {
                -1 => None,
                v => Some(v as u32),
            },
            None => None,
        };
        let persist_consumer_offset_interval = match &c.persist_consumer_offset_interval {
            Some(f) => {
                let d = self.duration("persist_consumer_offset_interval", f)?;
                if d.as_nanos() < 1_000_000 {
                    return Err(self.err(
                        &f.referenced,
                        format!("persist_consumer_offset_interval {d} is below 1ms"),
                        "a duration of at least 1ms (RocketMQ's timer counts milliseconds)",
                    ));
                }
                d
            }
            None => defaults.persist_consumer_offset_interval,
        };
        let suspend_current_queue_time = match &c.suspend_current_queue_time {
            Some(f) => self.duration("suspend_current_queue_time", f)?,
            None => defaults.suspend_current_queue_time,
        };
        let consume_timeout = match &c.consume_timeout {
            Some(f) => {
                let d = self.duration("consume_timeout", f)?;
                let minute = 60_000_000_000;
                if d.as_nanos() < minute || d.as_nanos() % minute != 0 {
                    return Err(self.err(
                        &f.referenced,
                        format!("consume_timeout {d} is not a whole number of minutes"),
                        "at least 1m, in whole minutes (consumeTimeout counts minutes)",
                    ));
                }
                d
            }
            None => defaults.consume_timeout,
        };
        Ok(RocketMqConsumerConfig {
            group,
            consume_mode,
            message_model,
            pull_batch_size: int(
                "pull_batch_size",
                &c.pull_batch_size,
                BATCH,
                defaults.pull_batch_size,
            )?,
            consume_message_batch_max_size: int(
                "consume_message_batch_max_size",
                &c.consume_message_batch_max_size,
                BATCH,
                defaults.consume_message_batch_max_size,
            )?,
            pull_threshold_for_queue: int(
                "pull_threshold_for_queue",
                &c.pull_threshold_for_queue,
                THRESHOLD,
                defaults.pull_threshold_for_queue,
            )?,
            consume_concurrently_max_span: int(
                "consume_concurrently_max_span",
                &c.consume_concurrently_max_span,
                THRESHOLD,
                defaults.consume_concurrently_max_span,
            )?,
            max_reconsume_times,
            persist_consumer_offset_interval,
            consume_thread_min,
            consume_thread_max,
            suspend_current_queue_time,
            consume_timeout,
        })
    }

    /// The model runs one consumer group on one topic: every entry must name the same group
    /// with the same message model and consume mode (a group whose members disagree is a
    /// misconfiguration RocketMQ only logs). Orderly BROADCASTING and `broker_url` (an
    /// ActiveMQ URI) are rejected.
    pub(super) fn rocketmq_group(
        &mut self,
        broker: &BrokerConfig,
        consumers: &[ConsumerConfig],
        list: &Spanned<Vec<Spanned<RawConsumer>>>,
        broker_url: Option<&Spanned<String>>,
    ) -> R<()> {
        if broker.flavor != BrokerFlavor::RocketMq {
            return Ok(());
        }
        if let Some(u) = broker_url {
            return Err(self.err(
                &u.referenced,
                "broker_url is an ActiveMQ connection URI, but the broker flavor is `rocketmq`",
                "no `broker_url` with `flavor: rocketmq` (set the consumer fields directly)",
            ));
        }
        let Some(first) = consumers.first() else {
            return Ok(());
        };
        let f = &first.rocketmq;
        for (c, raw) in consumers.iter().zip(&list.value).skip(1) {
            let r = &c.rocketmq;
            let mismatch = if r.group != f.group {
                Some((
                    "group",
                    format!("`{}` (the first consumer's is `{}`)", r.group, f.group),
                    raw.value.group.as_ref().map(|g| g.referenced),
                ))
            } else if r.message_model != f.message_model {
                Some((
                    "message_model",
                    "differs from the first consumer's".to_string(),
                    raw.value.message_model.as_ref().map(|g| g.referenced),
                ))
            } else if r.consume_mode != f.consume_mode {
                Some((
                    "consume_mode",
                    "differs from the first consumer's".to_string(),
                    raw.value.consume_mode.as_ref().map(|g| g.referenced),
                ))
            } else {
                None
            };
            if let Some((field, what, loc)) = mismatch {
                return Err(self.err(
                    &loc.unwrap_or(raw.referenced),
                    format!("consumer `{}`: {field} {what}: the model runs one consumer group, whose members share one subscription", c.name),
                    format!("the same `{field}` on every consumer entry (use `replicas` for more instances)"),
                ));
            }
        }
        if f.consume_mode == ConsumeMode::Orderly {
            for (c, raw) in consumers.iter().zip(&list.value) {
                if let (Some(_), Some(crash)) = (c.crash, &raw.value.crash) {
                    self.warn(
                        &crash.referenced,
                        format!("consumer `{}`: orderly queue locks are not modelled: after this crash the next owner takes its queues at once, while RocketMQ's broker keeps the dead client's lock until it expires (60 s, semantics.md B5.1)", c.name),
                    );
                }
            }
        }
        if broker.crash.is_some() {
            let failing = consumers.iter().zip(&list.value).find(|(c, _)| {
                c.failures.probability > 0.0
                    || !c.failures.poison.is_empty()
                    || f.consume_mode == ConsumeMode::Orderly
            });
            if let Some((c, raw)) = failing {
                return Err(self.err(
                    &raw.referenced,
                    format!("consumer `{}`: a RocketMQ broker crash is modelled for concurrent consumers whose listeners do not fail (send-back during the outage and orderly queue locks are not modelled)", c.name),
                    "no `failures:` and `consume_mode: concurrently` with `broker.crash`",
                ));
            }
        }
        if f.message_model == MessageModel::Broadcasting && f.consume_mode == ConsumeMode::Orderly {
            let loc = list.value[0]
                .value
                .consume_mode
                .as_ref()
                .map_or(list.value[0].referenced, |m| m.referenced);
            return Err(self.err(
                &loc,
                "orderly consumption with `message_model: broadcasting` is not modelled yet",
                "`consume_mode: concurrently` with broadcasting, or `message_model: clustering`",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_saphyr::Location;

    use crate::engine::SimDuration;
    use crate::model::rocketmq::config::{ConsumeMode, MessageModel, RocketMqConsumerConfig};
    use crate::scenario::{
        GridValue, LoadedScenario, ScenarioError, parse_raw, parse_str, validate_with_overrides,
    };

    const FILE: &str = "r.yaml";

    /// A RocketMQ scenario; `broker` and `consumer` are extra lines (already indented).
    fn doc(broker: &str, consumer: &str) -> String {
        format!(
            "name: t\nbroker:\n  flavor: rocketmq\n{broker}producers:\n  - messages: 10\nconsumers:\n  - name: c\n{consumer}"
        )
    }

    #[track_caller]
    fn ok(text: &str) -> LoadedScenario {
        parse_str(text, FILE).unwrap_or_else(|e| panic!("expected success, got:\n{e}"))
    }

    #[track_caller]
    fn assert_err(text: &str, line: usize, column: usize, fragments: &[&str]) {
        let e: ScenarioError = match parse_str(text, FILE) {
            Ok(l) => panic!("expected an error, got {l:?}"),
            Err(e) => e,
        };
        assert_eq!((e.line(), e.column()), (Some(line), Some(column)), "{e}");
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("{FILE}:{line}:{column}: ")),
            "{msg}"
        );
        for f in fragments {
            assert!(msg.contains(f), "{f:?} not in:\n{msg}");
        }
    }

    #[test]
    fn defaults_are_default_mq_push_consumers() {
        let s = ok(&doc("", "")).scenario;
        assert_eq!(s.broker.rocketmq.queues, 4);
        assert_eq!(s.consumers[0].rocketmq, RocketMqConsumerConfig::default());
        let d = RocketMqConsumerConfig::default();
        assert_eq!(
            (
                d.pull_batch_size,
                d.consume_message_batch_max_size,
                d.pull_threshold_for_queue,
                d.consume_concurrently_max_span,
                d.consume_thread_min,
                d.max_reconsume_times,
            ),
            (32, 1, 1000, 2000, 20, None)
        );
        assert_eq!(
            d.persist_consumer_offset_interval,
            SimDuration::from_secs(5)
        );
        assert_eq!(d.group, "DEFAULT_CONSUMER");
    }

    #[test]
    fn fields_are_read() {
        let s = ok(&doc(
            "  queues: 8\n",
            "    group: g\n    consume_mode: orderly\n    max_reconsume_times: 3\n    suspend_current_queue_time: 200ms\n    pull_batch_size: 16\n    consume_thread_min: 4\n",
        ))
        .scenario;
        let r = &s.consumers[0].rocketmq;
        assert_eq!(s.broker.rocketmq.queues, 8);
        assert_eq!(
            (r.group.as_str(), r.consume_mode, r.max_reconsume_times),
            ("g", ConsumeMode::Orderly, Some(3))
        );
        assert_eq!(r.suspend_current_queue_time, SimDuration::from_millis(200));
        assert_eq!((r.pull_batch_size, r.consume_thread_min), (16, 4));
        let b = ok(&doc(
            "",
            "    message_model: broadcasting\n    max_reconsume_times: -1\n",
        ))
        .scenario;
        assert_eq!(
            b.consumers[0].rocketmq.message_model,
            MessageModel::Broadcasting
        );
        assert_eq!(b.consumers[0].rocketmq.max_reconsume_times, None);
    }

    /// checkConfig's ranges (semantics.md B2.1).
    #[test]
    fn check_config_ranges() {
        assert_err(
            &doc("", "    pull_batch_size: 0\n"),
            8,
            22,
            &["pull_batch_size 0 is out of range", "1..=1024"],
        );
        assert_err(
            &doc("", "    pull_threshold_for_queue: 65536\n"),
            8,
            31,
            &["65536 is out of range", "1..=65535"],
        );
        assert_err(
            &doc("", "    consume_thread_min: 1001\n"),
            8,
            25,
            &["1..=1000"],
        );
        assert_err(
            &doc("", "    consume_thread_min: 30\n"),
            8,
            25,
            &["larger than consume_thread_max 20", "raise both"],
        );
        assert!(
            ok(&doc(
                "",
                "    consume_thread_min: 30\n    consume_thread_max: 30\n"
            ))
            .warnings
            .is_empty()
        );
        assert_err(
            &doc("", "    max_reconsume_times: -2\n"),
            8,
            26,
            &["out of range"],
        );
        assert_err(
            &doc("", "    consume_timeout: 90s\n"),
            8,
            22,
            &["not a whole number of minutes"],
        );
        assert_eq!(
            ok(&doc("", "    consume_timeout: 2m\n")).scenario.consumers[0]
                .rocketmq
                .consume_timeout,
            SimDuration::from_secs(120)
        );
        assert_err(
            &doc("  queues: 0\n", ""),
            4,
            11,
            &["broker.queues 0 is out of range"],
        );
    }

    #[test]
    fn fields_of_the_other_flavor_are_errors() {
        assert_err(
            &doc("", "    prefetch: 10\n"),
            8,
            15,
            &[
                "prefetch is an ActiveMQ (JMS) setting",
                "`max_reconsume_times`",
            ],
        );
        assert_err(
            &doc("", "    failures: { handling: throw }\n"),
            8,
            27,
            &["failures.handling is an ActiveMQ"],
        );
        assert_err(
            &doc("  redelivery: { maximum_redeliveries: 2 }\n", ""),
            4,
            15,
            &["broker.redelivery is an ActiveMQ setting"],
        );
        assert_err(
            "name: t\nproducers:\n  - messages: 10\nconsumers:\n  - consume_mode: orderly\n",
            5,
            19,
            &[
                "consume_mode is a RocketMQ push-consumer setting",
                "`broker.flavor: rocketmq`",
            ],
        );
        assert_err(
            "name: t\nbroker: { queues: 2 }\nproducers:\n  - messages: 10\nconsumers:\n  - {}\n",
            2,
            19,
            &["broker.queues is a RocketMQ topic setting"],
        );
    }

    #[test]
    fn one_group_one_subscription() {
        let text = format!("{}  - name: d\n    group: other\n", doc("", ""));
        assert_err(&text, 9, 12, &["group `other`", "one consumer group"]);
        let text = format!("{}  - name: d\n    consume_mode: orderly\n", doc("", ""));
        assert_err(&text, 9, 19, &["consume_mode differs"]);
        assert_err(
            &doc(
                "",
                "    message_model: broadcasting\n    consume_mode: orderly\n",
            ),
            9,
            19,
            &["not modelled yet"],
        );
    }

    #[test]
    fn orderly_crash_warns_that_locks_are_not_modelled() {
        let w = ok(&doc(
            "",
            "    consume_mode: orderly\n    crash: { at: 1s }\n",
        ))
        .warnings;
        assert_eq!(w.len(), 1);
        assert!(w[0].message.contains("locks are not modelled"), "{w:?}");
        assert_eq!((w[0].line, w[0].column), (Some(9), Some(12)));
    }

    #[test]
    fn sweep_paths_reach_the_new_fields() {
        let raw = parse_raw(&doc("", ""), FILE).expect("parses");
        let three = GridValue::Int(3);
        let queues = GridValue::Int(2);
        let loaded = validate_with_overrides(
            &raw,
            FILE,
            [
                ("consumers.*.max_reconsume_times", &three, Location::UNKNOWN),
                ("broker.queues", &queues, Location::UNKNOWN),
            ],
        )
        .expect("valid");
        assert_eq!(
            loaded.scenario.consumers[0].rocketmq.max_reconsume_times,
            Some(3)
        );
        assert_eq!(loaded.scenario.broker.rocketmq.queues, 2);
    }

    #[test]
    fn rocketmq_send_policies_and_an_idempotent_clustering_consumer_are_read() {
        let text = "name: t\nbroker:\n  flavor: rocketmq\nproducers:\n  - messages: 2\n    send: { mode: async, retries: 1 }\n  - name: q\n    messages: 1\n    send: { mode: oneway }\nconsumers:\n  - idempotent: { capacity: 5 }\n";
        let s = ok(text).scenario;
        assert_eq!(
            s.producers[0].send.policy,
            crate::model::producer::SendPolicy::RocketMqAsync {
                timeout: SimDuration::from_millis(3000),
                retries: 1
            }
        );
        assert_eq!(
            s.producers[1].send.policy,
            crate::model::producer::SendPolicy::RocketMqOneway
        );
        assert_eq!(s.consumers[0].idempotent.map(|i| i.capacity), Some(5));
    }

    #[test]
    fn an_idempotent_store_is_refused_in_broadcasting() {
        assert_err(
            &doc(
                "",
                "    message_model: broadcasting\n    idempotent: { capacity: 5 }\n",
            ),
            9,
            17,
            &[
                "consumer `c`: an idempotent store shared by the replicas",
                "no `idempotent:` with `message_model: broadcasting`",
            ],
        );
    }

    #[test]
    fn a_broker_crash_is_read_and_refused_with_failing_or_orderly_listeners() {
        let crash = "  crash: { at: 5s, restart_after: 2s }\n";
        let s = ok(&doc(crash, "")).scenario;
        assert_eq!(
            s.broker.crash.map(|c| (c.at, c.restart_after)),
            Some((SimDuration::from_secs(5), SimDuration::from_secs(2)))
        );
        for consumer in [
            "    failures: { probability: 0.1 }\n",
            "    consume_mode: orderly\n",
        ] {
            assert_err(
                &doc(crash, consumer),
                8,
                5,
                &[
                    "consumer `c`: a RocketMQ broker crash is modelled for concurrent consumers",
                    "no `failures:`",
                ],
            );
        }
    }

    #[test]
    fn jms_message_properties_and_queue_features_are_refused() {
        let text = "name: t\nbroker:\n  flavor: rocketmq\nproducers:\n  - messages: 10\n    time_to_live: 5s\nconsumers:\n  - name: c\n";
        assert_err(
            text,
            6,
            19,
            &["producer time_to_live is an ActiveMQ (JMS) setting"],
        );
        assert_err(
            &doc("", "    exclusive: true\n"),
            8,
            16,
            &["consumer `c`: exclusive is an ActiveMQ (JMS) setting"],
        );
        assert_err(
            &doc("  prioritized_messages: true\n", ""),
            4,
            25,
            &["broker.prioritized_messages is an ActiveMQ setting"],
        );
    }

    #[test]
    fn activemq_topic_fields_are_refused() {
        assert_err(
            &doc("  destination: { kind: topic }\n", ""),
            4,
            16,
            &["broker.destination is an ActiveMQ setting"],
        );
        assert_err(
            &doc("", "    subscription: durable\n"),
            8,
            19,
            &["consumer `c`: subscription is an ActiveMQ (JMS) setting"],
        );
    }
}
