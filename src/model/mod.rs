//! Models of brokers and their clients. Nothing here knows YAML, CSV or plotting: a
//! [`config::Scenario`] goes in, a [`RunOutcome`] (and optionally a trace) comes out.

pub mod activemq;
pub mod config;
pub mod dist;
pub mod idempotence;
pub mod ledger;
pub mod message;
pub mod network;
pub mod producer;
pub mod rocketmq;
pub mod sim;
pub mod trace;

pub use sim::{DEFAULT_HORIZON, RunOutcome, SimError, run};
