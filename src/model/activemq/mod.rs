//! ActiveMQ 5.17: the broker's queue and topic dispatch and the JMS client's acknowledgement rules
//! (semantics.md section A).

pub mod ack;
pub mod broker;
pub mod consumer;
pub mod destination;
pub mod dispatch_selector;
pub mod expiry;
pub mod groups;
pub mod priority;
mod redelivery;
pub mod slow_consumer;
pub mod topic;

#[cfg(test)]
mod tests;
