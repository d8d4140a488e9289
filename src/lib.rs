//! acksim: a deterministic discrete-event simulator of how message brokers and their
//! consumers acknowledge messages.
//!
//! Data flows one way: a scenario file is parsed and validated by [`scenario`] into a
//! [`model::config::Scenario`]; [`model`] runs it on the [`engine`] and produces the
//! [`metrics`] that [`report`] writes. Only [`scenario`] knows YAML and only [`report`] knows
//! CSV; the engine knows nothing of brokers.

pub mod bench;
pub mod engine;
pub mod metrics;
pub mod model;
pub mod report;
pub mod scenario;
