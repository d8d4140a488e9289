//! The RocketMQ parts of the text report (a child of `text`, sharing its helpers).

use crate::metrics::RunSummary;
use crate::model::config::{BrokerConfig, ConsumerConfig};
use crate::model::rocketmq::config::{ConsumeMode, MessageModel};

use super::{crash, dist, instances};

/// `c-0, c-1: group G, clustering, concurrently, max_reconsume_times 16 (−1), …`.
pub(super) fn consumer(c: &ConsumerConfig) -> String {
    let r = &c.rocketmq;
    let model = match r.message_model {
        MessageModel::Clustering => "clustering",
        MessageModel::Broadcasting => "broadcasting",
    };
    let (mode, retries) = match (r.consume_mode, r.max_reconsume_times) {
        (ConsumeMode::Concurrently, None) => ("concurrently", "16 retries then %DLQ%".to_string()),
        (ConsumeMode::Concurrently, Some(n)) => ("concurrently", format!("{n} retries then %DLQ%")),
        (ConsumeMode::Orderly, None) => ("orderly", "unlimited local retries".to_string()),
        (ConsumeMode::Orderly, Some(n)) => ("orderly", format!("{n} local retries then %DLQ%")),
    };
    let mut parts = vec![
        format!("group {}", r.group),
        model.to_string(),
        mode.to_string(),
        format!("{} consume threads", r.consume_thread_min),
        format!(
            "pull batch {}, listener batch {}",
            r.pull_batch_size, r.consume_message_batch_max_size
        ),
        format!("processing {}", dist(&c.processing)),
    ];
    let f = &c.failures;
    if f.probability > 0.0 || !f.poison.is_empty() {
        let mut what = Vec::new();
        if f.probability > 0.0 {
            what.push(format!("{}% of attempts", f.probability * 100.0));
        }
        if !f.poison.is_empty() {
            let ids: Vec<String> = f.poison.iter().map(u64::to_string).collect();
            what.push(format!("poison messages {}", ids.join(" ")));
        }
        let handling = match r.message_model {
            MessageModel::Broadcasting => "are dropped".to_string(),
            MessageModel::Clustering => retries,
        };
        parts.push(format!(
            "returns RECONSUME_LATER for {} ({handling})",
            what.join(" and ")
        ));
    }
    parts.extend(crash(c));
    if !c.start_at.is_zero() {
        parts.push(format!("starts at {}", c.start_at));
    }
    if let Some(i) = c.idempotent {
        let ttl = i.ttl.map_or(String::new(), |t| format!(", ttl {t}"));
        parts.push(format!("idempotent (store of {}{ttl})", i.capacity));
    }
    format!("{}: {}", instances(c), parts.join(", "))
}

pub(super) fn broker(b: &BrokerConfig) -> String {
    let crash = b.crash.map_or(String::new(), |c| {
        format!(
            "; the broker process crashes at {} and is back {} later",
            c.at, c.restart_after
        )
    });
    format!(
        "RocketMQ broker: one topic of {} queues, offsets persisted by the consumers{crash}",
        b.rocketmq.queues
    )
}

/// The RocketMQ counters, for the run summary.
pub(super) fn counts(s: &RunSummary) -> String {
    let r = &s.rocketmq;
    format!(
        "offset commits {} · sent back {} · retry deliveries {}",
        r.offset_commits, r.sent_back, r.retry_deliveries
    )
}
