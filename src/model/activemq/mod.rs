//! ActiveMQ 5.17: the broker's queue and topic dispatch and the JMS client's acknowledgement rules
//! (semantics.md section A).

pub mod ack;
pub mod broker;
pub mod consumer;
pub mod destination;
mod redelivery;
pub mod topic;

#[cfg(test)]
mod tests;
