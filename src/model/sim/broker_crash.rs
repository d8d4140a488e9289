//! The ActiveMQ broker process crashing and restarting (semantics.md A11.4).
//!
//! KahaDB syncs every journal write (`journalDiskSyncStrategy=ALWAYS`), so a persistent
//! message whose synchronous send returned is in the store; non-persistent messages lived
//! only in the dead process's memory. What the store does not hold either: subscriptions,
//! the dispatched lists and, with `persistJMSRedelivered=false` (the default), redelivery
//! counters — the recovered messages wait again in store order and a message that was
//! dispatched and not acknowledged comes back with JMSRedelivered=false. Acks on the wire
//! when the process died are lost, so messages already processed are delivered again.
//! Every client connection drops with the process; the consumers reconnect (as a failover
//! transport does) once the new process accepts connections.

use super::{BrokerProcess, Ctx};
use crate::model::activemq::broker::Queue;
use crate::model::activemq::consumer::Consumer;
use crate::model::ledger;
use crate::model::trace::{TraceKind, TraceRecord};

/// The broker process dies now.
pub(super) fn crash(
    ctx: &mut Ctx,
    queue: &mut Queue,
    consumers: &mut [Consumer],
    broker: &mut BrokerProcess,
    persist_redelivered: bool,
    restart_at: crate::engine::SimTime,
) {
    broker.down = true;
    ctx.trace(|t| TraceRecord::new(t, TraceKind::BrokerCrashed));
    let persistent = broker.persistent.as_deref().unwrap_or(&[]);
    let lost = queue.recover_after_crash(
        |m| persistent.get(m.id as usize - 1).copied().unwrap_or(true),
        persist_redelivered,
    );
    for id in lost {
        ctx.ledger.mark(id, ledger::LOST_IN_CRASH);
        ctx.trace(|t| TraceRecord {
            message: Some(id),
            ..TraceRecord::new(t, TraceKind::LostInBrokerCrash)
        });
    }
    broker.first_live_subscription = queue.subscription_count();
    for c in consumers.iter_mut() {
        c.lose_connection(ctx, restart_at);
    }
}

/// The new broker process accepts connections. A consumer that (re)started during the
/// outage had its connection refused; it reconnects now.
pub(super) fn restart(ctx: &mut Ctx, consumers: &mut [Consumer], broker: &mut BrokerProcess) {
    broker.down = false;
    ctx.trace(|t| TraceRecord::new(t, TraceKind::BrokerRestarted));
    for c in consumers.iter_mut() {
        if c.is_alive() && c.subscriptions.last().is_some_and(Option::is_none) {
            let now = ctx.now;
            c.lose_connection(ctx, now);
        }
    }
}
