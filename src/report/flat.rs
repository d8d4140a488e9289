//! The validated scenario as flat `key=value` lines (Java `.properties` syntax), for tools
//! outside acksim — the conformance driver reads it to run the very same scenario on a real
//! broker, with every default already applied and replicas expanded. Durations are integer
//! nanoseconds (`*_ns` keys); distributions are `kind:parameters` with nanosecond values.

use crate::engine::SimDuration;
use crate::model::config::{
    AckMode, Arrival, BrokerFlavor, CrashPoint, DestinationConfig, DurationDist, FailureHandling,
    Scenario, SlowConsumerStrategy,
};
use crate::model::producer::SendPolicy;
use std::fmt::Write;

/// Renders `scenario` as properties lines, keys in a fixed order.
pub fn scenario_properties(scenario: &Scenario) -> String {
    let mut out = String::new();
    let mut put = |key: &str, value: String| {
        let _ = writeln!(out, "{key}={value}");
    };
    put("name", scenario.name.clone());
    put("seed", scenario.seed.to_string());
    put("until_ns", scenario.until.map_or(String::new(), ns));
    put("network.latency", dist(&scenario.network.latency));
    let b = &scenario.broker;
    put(
        "broker.flavor",
        match b.flavor {
            BrokerFlavor::ActiveMq => "activemq",
            BrokerFlavor::RocketMq => "rocketmq",
        }
        .into(),
    );
    put(
        "broker.slow_consumer",
        match b.slow_consumer {
            SlowConsumerStrategy::None => "none",
            SlowConsumerStrategy::Abort(_) => "abort",
            SlowConsumerStrategy::AbortSlowAck { .. } => "abort_slow_ack",
        }
        .into(),
    );
    put(
        "broker.crash",
        b.crash
            .map_or("none".into(), |c| format!("at:{}", ns(c.at))),
    );
    put(
        "broker.crash.restart_after_ns",
        b.crash.map_or(String::new(), |c| ns(c.restart_after)),
    );
    put(
        "broker.persist_jms_redelivered",
        b.persist_jms_redelivered.to_string(),
    );
    put(
        "broker.expire_messages_period_ns",
        b.expire_messages_period.map_or("0".into(), ns),
    );
    put(
        "broker.prioritized_messages",
        b.prioritized_messages.to_string(),
    );
    put(
        "broker.use_prefetch_extension",
        b.use_prefetch_extension.to_string(),
    );
    match b.destination {
        DestinationConfig::Queue => put("broker.destination.kind", "queue".into()),
        DestinationConfig::Topic(policy) => {
            put("broker.destination.kind", "topic".into());
            put(
                "broker.destination.policy_entry",
                policy.policy_entry.to_string(),
            );
            put(
                "broker.destination.pending_message_limit",
                policy
                    .pending_message_limit
                    .map_or("-1".into(), |l| l.to_string()),
            );
        }
    }
    let r = &b.redelivery;
    put(
        "broker.redelivery.maximum_redeliveries",
        r.maximum_redeliveries
            .map_or("-1".into(), |m| m.to_string()),
    );
    put(
        "broker.redelivery.initial_redelivery_delay_ns",
        ns(r.initial_redelivery_delay),
    );
    put(
        "broker.redelivery.redelivery_delay_ns",
        ns(r.redelivery_delay),
    );
    put(
        "broker.redelivery.use_exponential_backoff",
        r.use_exponential_backoff.to_string(),
    );
    put(
        "broker.redelivery.backoff_multiplier",
        r.backoff_multiplier.to_string(),
    );
    put(
        "broker.redelivery.maximum_redelivery_delay_ns",
        r.maximum_redelivery_delay.map_or("-1".into(), ns),
    );
    put("producers.count", scenario.producers.len().to_string());
    for (i, p) in scenario.producers.iter().enumerate() {
        let key = |k: &str| format!("producers.{i}.{k}");
        put(&key("name"), p.name.clone());
        put(&key("messages"), p.messages.to_string());
        put(&key("arrival"), arrival(&p.arrival));
        put(&key("start_at_ns"), ns(p.start_at));
        put(&key("persistent"), p.send.persistent.to_string());
        let (mode, timeout, retries, failover) = match p.send.policy {
            SendPolicy::ActiveMqSync {
                send_timeout,
                retries,
                failover,
            } => ("sync", send_timeout, retries, failover),
            SendPolicy::ActiveMqAsync => ("async", None, 0, false),
            SendPolicy::RocketMqSync { timeout, retries } => {
                ("sync", Some(timeout), retries, false)
            }
            SendPolicy::RocketMqAsync { timeout, retries } => {
                ("async", Some(timeout), retries, false)
            }
            SendPolicy::RocketMqOneway => ("oneway", None, 0, false),
        };
        put(&key("send.mode"), mode.into());
        put(&key("send.timeout_ns"), timeout.map_or("0".into(), ns));
        put(&key("send.retries"), retries.to_string());
        put(&key("send.failover"), failover.to_string());
        let f = &p.send.faults;
        put(&key("faults.request_loss"), f.request_loss.to_string());
        put(&key("faults.response_loss"), f.response_loss.to_string());
        put(
            &key("faults.slow_broker.probability"),
            f.slow_probability.to_string(),
        );
        put(&key("faults.slow_broker.delay_ns"), ns(f.slow_delay));
        put(
            &key("groups"),
            p.groups.map_or("0".into(), |g| g.to_string()),
        );
        put(
            &key("time_to_live_ns"),
            p.time_to_live.map_or("0".into(), ns),
        );
        put(&key("priority"), p.priority.to_string());
    }
    put(
        "consumers.count",
        scenario.consumer_instance_count().to_string(),
    );
    for (i, (name, c)) in scenario.consumer_instances().enumerate() {
        let key = |k: &str| format!("consumers.{i}.{k}");
        put(&key("name"), name);
        put(&key("ack_mode"), c.ack_mode.as_str().to_string());
        put(
            &key("transacted"),
            (c.ack_mode == AckMode::Transacted).to_string(),
        );
        put(&key("delivery"), c.delivery.as_str().to_string());
        put(&key("prefetch"), c.prefetch.to_string());
        put(&key("optimize_ack"), c.optimize_ack.to_string());
        put(&key("optimize_ack_timeout_ns"), ns(c.optimize_ack_timeout));
        put(&key("ack_every"), c.ack_every.to_string());
        put(&key("commit_every"), c.commit_every.to_string());
        put(&key("processing"), dist(&c.processing));
        put(
            &key("failures.probability"),
            c.failures.probability.to_string(),
        );
        let poison: Vec<String> = c.failures.poison.iter().map(u64::to_string).collect();
        put(&key("failures.poison"), poison.join(","));
        put(
            &key("failures.handling"),
            handling(c.failures.handling).to_string(),
        );
        let (crash, restart) = match &c.crash {
            None => ("none".to_string(), String::new()),
            Some(crash) => (
                crash_point(&crash.point),
                crash.restart_after.map_or(String::new(), ns),
            ),
        };
        put(&key("crash"), crash);
        put(&key("crash.restart_after_ns"), restart);
        put(&key("start_at_ns"), ns(c.start_at));
        put(&key("priority"), c.priority.to_string());
        put(&key("exclusive"), c.exclusive.to_string());
        put(
            &key("idempotent"),
            c.idempotent.map_or("none".into(), |i| {
                format!(
                    "capacity:{}:ttl_ns:{}",
                    i.capacity,
                    i.ttl.map_or("0".into(), ns)
                )
            }),
        );
        put(
            &key("consumer_expiry_check_enabled"),
            c.consumer_expiry_check_enabled.to_string(),
        );
        put(
            &key("message_priority_supported"),
            c.message_priority_supported.to_string(),
        );
        if let Some(kind) = c.subscription {
            put(&key("subscription"), kind.as_str().to_string());
        }
    }
    out
}

fn ns(d: SimDuration) -> String {
    d.as_nanos().to_string()
}

fn dist(d: &DurationDist) -> String {
    match d {
        DurationDist::Constant(v) => format!("constant:{}", ns(*v)),
        DurationDist::Exponential { mean } => format!("exponential:{}", ns(*mean)),
        DurationDist::Uniform { min, max } => format!("uniform:{}:{}", ns(*min), ns(*max)),
        DurationDist::Normal { mean, std } => format!("normal:{}:{}", ns(*mean), ns(*std)),
        DurationDist::LogNormal { mean, std } => format!("lognormal:{}:{}", ns(*mean), ns(*std)),
        DurationDist::Pareto { scale, shape } => format!("pareto:{}:{shape}", ns(*scale)),
    }
}

fn arrival(a: &Arrival) -> String {
    match a {
        Arrival::Exponential { rate } => format!("exponential:{rate}"),
        Arrival::Constant { interval } => format!("constant:{}", ns(*interval)),
        Arrival::Burst => "burst".to_string(),
    }
}

fn handling(h: FailureHandling) -> &'static str {
    match h {
        FailureHandling::Throw => "throw",
        FailureHandling::Rollback => "rollback",
        FailureHandling::Recover => "recover",
    }
}

fn crash_point(p: &CrashPoint) -> String {
    match p {
        CrashPoint::AfterProcessed(k) => format!("after_processed:{k}"),
        CrashPoint::DuringProcessing(k) => format!("during_processing:{k}"),
        CrashPoint::At(t) => format!("at:{}", ns(*t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_replicas_and_applies_defaults() {
        let text = "name: f\nproducers:\n  - { messages: 7, arrival: { dist: burst } }\n\
                    consumers:\n  - { name: w, replicas: 2, ack_mode: client, ack_every: 3,\n      \
                    crash: { after_processed: 4, restart_after: 1s } }\n";
        let s = crate::scenario::parse_str(text, "f.yaml").unwrap().scenario;
        let flat = scenario_properties(&s);
        for line in [
            "name=f",
            "network.latency=constant:100000",
            "broker.redelivery.maximum_redeliveries=6",
            "producers.0.messages=7",
            "producers.0.arrival=burst",
            "consumers.count=2",
            "consumers.1.name=w-1",
            "consumers.1.ack_mode=client",
            "consumers.1.prefetch=1000",
            "consumers.1.ack_every=3",
            "consumers.1.processing=constant:5000000",
            "consumers.1.crash=after_processed:4",
            "consumers.1.crash.restart_after_ns=1000000000",
            "consumers.1.optimize_ack_timeout_ns=300000000",
            "broker.flavor=activemq",
            "broker.slow_consumer=none",
            "broker.crash=none",
            "producers.0.send.mode=sync",
            "producers.0.time_to_live_ns=0",
            "producers.0.priority=4",
            "consumers.1.priority=0",
            "consumers.1.exclusive=false",
            "consumers.1.idempotent=none",
        ] {
            assert!(flat.lines().any(|l| l == line), "missing {line} in\n{flat}");
        }
    }

    /// The settings the conformance driver must see to reproduce, or refuse, a case.
    #[test]
    fn prints_the_queue_features_and_the_producer_side() {
        let text = "name: f\nbroker:\n  crash: { at: 2s, restart_after: 1s }\n  prioritized_messages: true\n\
                    producers:\n  - { messages: 7, groups: 3, time_to_live: 500ms, priority: 7,\n      \
                    send: { mode: sync, timeout: 1s, retries: 2 }, faults: { response_loss: 0.25 } }\n\
                    consumers:\n  - { priority: 5, exclusive: true, idempotent: { capacity: 10 } }\n";
        let s = crate::scenario::parse_str(text, "f.yaml").unwrap().scenario;
        let flat = scenario_properties(&s);
        for line in [
            "broker.crash=at:2000000000",
            "broker.crash.restart_after_ns=1000000000",
            "broker.prioritized_messages=true",
            "producers.0.groups=3",
            "producers.0.time_to_live_ns=500000000",
            "producers.0.priority=7",
            "producers.0.send.timeout_ns=1000000000",
            "producers.0.send.retries=2",
            "producers.0.faults.response_loss=0.25",
            "consumers.0.priority=5",
            "consumers.0.exclusive=true",
        ] {
            assert!(flat.lines().any(|l| l == line), "missing {line} in\n{flat}");
        }
        assert!(
            flat.lines()
                .any(|l| l.starts_with("consumers.0.idempotent=capacity:10"))
        );
    }
}
