//! ActiveMQ 5.17: the broker's queue dispatch and the JMS client's acknowledgement rules
//! (semantics.md section A).

pub mod ack;
pub mod broker;
pub mod consumer;
pub mod dispatch_selector;
pub mod expiry;
pub mod groups;
pub mod priority;
mod redelivery;
pub mod slow_consumer;

#[cfg(test)]
mod tests;
