//! acksim: a deterministic discrete-event simulator of how message brokers and their
//! consumers acknowledge messages.
//!
//! Data flows one way: a scenario file is parsed and validated by [`scenario`] into a
//! [`model::config::Scenario`]; [`model`] runs it on the [`engine`] and produces the
//! [`metrics`] that [`report`] writes. Only [`scenario`] knows YAML and only [`report`] knows
//! CSV; the engine knows nothing of brokers.
//!
//! Running a scenario from Rust: an AUTO listener with prefetch 10 dies right after processing
//! its 37th message, before its ack leaves; after the restart that message is processed again.
//!
//! ```
//! let text = r#"
//! name: demo
//! producers:
//!   - { messages: 100, arrival: { dist: burst } }
//! consumers:
//!   - { prefetch: 10, crash: { after_processed: 37, restart_after: 1s } }
//! "#;
//! let loaded = acksim::scenario::parse_str(text, "demo.yaml")?;
//! let outcome = acksim::model::run(&loaded.scenario, None)?;
//! let summary = &outcome.summary;
//! assert_eq!((summary.processed, summary.duplicates, summary.lost), (101, 1, 0));
//! assert!(summary.conserves_messages());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod bench;
pub mod engine;
pub mod metrics;
pub mod model;
pub mod report;
pub mod scenario;
pub mod sweep;
pub mod tune;
