//! The RocketMQ 4.9.7 model (`broker.flavor: rocketmq`): one topic with N queues, one
//! consumer group of push consumers (CLUSTERING or BROADCASTING; concurrent or orderly),
//! offsets, send-back to `%RETRY%<group>` and `%DLQ%<group>` (semantics.md B2–B5).
//!
//! It shares the engine, the ledger and the output types with the ActiveMQ model, so the CLI,
//! sweeps and CSV writers treat both alike.

mod broker;
mod broker_crash;
mod census;
pub mod config;
mod consume;
mod event;
mod idle;
mod instance;
pub mod offset_store;
pub mod process_queue;
mod produce;
mod pull;
pub mod rebalance;
pub mod retry;
#[cfg(test)]
mod send_tests;
mod sim;
#[cfg(test)]
mod tests;

pub use sim::run;

/// A message queue of the group's subscriptions: one of the topic's queues, or the group's
/// single `%RETRY%<group>` queue (the group auto-subscribes it, B4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QueueId {
    Topic(u32),
    Retry,
}
