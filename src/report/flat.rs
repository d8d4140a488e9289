//! The validated scenario as flat `key=value` lines (Java `.properties` syntax), for tools
//! outside acksim — the conformance driver reads it to run the very same scenario on a real
//! broker, with every default already applied and replicas expanded. Durations are integer
//! nanoseconds (`*_ns` keys); distributions are `kind:parameters` with nanosecond values.

use crate::engine::SimDuration;
use crate::model::config::{
    AckMode, Arrival, CrashPoint, DestinationConfig, DurationDist, FailureHandling, Scenario,
};
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
        ] {
            assert!(flat.lines().any(|l| l == line), "missing {line} in\n{flat}");
        }
    }
}
