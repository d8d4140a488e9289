//! Producers' send settings (`persistent`, `send`, `faults`) and the broker's `crash`, with
//! the real clients' defaults (semantics.md A11.1, A11.4, B1).

use serde_saphyr::{Location, Spanned};

use super::super::raw::{Field, Num, RawBrokerCrash, RawIdempotent, RawProducer, RawSendFaults};
use super::{Ctx, R};
use crate::engine::SimDuration;
use crate::model::config::{
    BrokerCrash, BrokerFlavor, IdempotentConfig, SendConfig, SendFaults, SendPolicy,
};
use crate::model::producer::{ROCKETMQ_RETRIES, ROCKETMQ_SEND_TIMEOUT};

/// The send modes each broker's client offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Sync,
    Async,
    Oneway,
}

impl Ctx<'_> {
    pub(super) fn send_config(
        &self,
        p: &RawProducer,
        at: &Location,
        name: &str,
        flavor: BrokerFlavor,
    ) -> R<SendConfig> {
        let persistent = match &p.persistent {
            Some(f) => self.flag("persistent", f)?,
            None => true,
        };
        let send = p.send.as_ref().map(|s| &s.value);
        let mode = match send.and_then(|s| s.mode.as_ref()) {
            Some(m) => {
                let choices: &[(&str, Mode)] = match flavor {
                    BrokerFlavor::ActiveMq => &[("sync", Mode::Sync), ("async", Mode::Async)],
                    BrokerFlavor::RocketMq => &[
                        ("sync", Mode::Sync),
                        ("async", Mode::Async),
                        ("oneway", Mode::Oneway),
                    ],
                };
                Some((self.word("send mode", m, choices)?, m.referenced))
            }
            None => None,
        };
        let timeout = match send.and_then(|s| s.timeout.as_ref()) {
            Some(t) => Some(self.duration("send.timeout", t)?),
            None => None,
        };
        let retries = match send.and_then(|s| s.retries.as_ref()) {
            Some(r) => Some(self.u32_in("send.retries", r, 0)?),
            None => None,
        };
        let failover = match send.and_then(|s| s.failover.as_ref()) {
            Some(f) => Some((self.flag("send.failover", f)?, f.referenced)),
            None => None,
        };
        let policy = match flavor {
            BrokerFlavor::ActiveMq => {
                // A11.1: persistent ⇒ sync, non-persistent ⇒ async, unless told otherwise
                // (`alwaysSyncSend` / `useAsyncSend`).
                let sync = mode.map_or(persistent, |(m, _)| m == Mode::Sync);
                if sync {
                    SendPolicy::ActiveMqSync {
                        send_timeout: timeout.filter(|t| !t.is_zero()),
                        retries: retries.unwrap_or(0),
                        failover: failover.is_some_and(|(f, _)| f),
                    }
                } else {
                    let what = [
                        timeout.map(|_| "timeout"),
                        retries.map(|_| "retries"),
                        failover.filter(|(f, _)| *f).map(|_| "failover"),
                    ];
                    if let Some(field) = what.into_iter().flatten().next() {
                        let loc = p.send.as_ref().map_or(*at, |s| s.referenced);
                        return Err(self.err(
                            &loc,
                            format!(
                                "producer `{name}`: send.{field} does not apply to an asynchronous ActiveMQ send (no response is awaited, semantics.md A11.1)"
                            ),
                            "`send: {mode: sync, ...}` for a timeout, retries or failover",
                        ));
                    }
                    SendPolicy::ActiveMqAsync
                }
            }
            BrokerFlavor::RocketMq => {
                if let Some((_, loc)) = failover {
                    return Err(self.err(
                        &loc,
                        format!("producer `{name}`: send.failover is an ActiveMQ transport option"),
                        "`mode`, `timeout` and `retries` for a RocketMQ producer",
                    ));
                }
                let timeout = timeout.unwrap_or(ROCKETMQ_SEND_TIMEOUT);
                let retries = retries.unwrap_or(ROCKETMQ_RETRIES);
                match mode.map_or(Mode::Sync, |(m, _)| m) {
                    Mode::Sync => SendPolicy::RocketMqSync { timeout, retries },
                    Mode::Async => SendPolicy::RocketMqAsync { timeout, retries },
                    Mode::Oneway => SendPolicy::RocketMqOneway,
                }
            }
        };
        let faults = match &p.faults {
            Some(f) => self.send_faults(&f.value)?,
            None => SendFaults::default(),
        };
        Ok(SendConfig {
            persistent,
            policy,
            faults,
        })
    }

    fn probability(&self, key: &str, f: &Field<Num>) -> R<f64> {
        let Some(p) = f else {
            return Ok(0.0);
        };
        let x = self.float_of(key, &p.value.0, &p.referenced)?;
        if !(0.0..=1.0).contains(&x) {
            return Err(self.err(
                &p.referenced,
                format!("{key} {x} is out of range"),
                "a probability in 0.0..=1.0",
            ));
        }
        Ok(x)
    }

    fn send_faults(&self, f: &RawSendFaults) -> R<SendFaults> {
        let (slow_probability, slow_delay) = match &f.slow_broker {
            Some(s) => {
                let delay = self.required(
                    &s.value.delay,
                    &s.referenced,
                    "faults.slow_broker needs `delay`",
                    "`slow_broker: {probability: 0.1, delay: 5s}`",
                )?;
                (
                    self.probability("faults.slow_broker.probability", &s.value.probability)?,
                    self.duration("faults.slow_broker.delay", delay)?,
                )
            }
            None => (0.0, SimDuration::ZERO),
        };
        Ok(SendFaults {
            request_loss: self.probability("faults.request_loss", &f.request_loss)?,
            response_loss: self.probability("faults.response_loss", &f.response_loss)?,
            slow_probability,
            slow_delay,
        })
    }

    /// A consumer entry's `idempotent:` store (defaults: capacity 1000, no TTL).
    pub(super) fn idempotent(&self, i: &RawIdempotent) -> R<IdempotentConfig> {
        let default = IdempotentConfig::default();
        let capacity = match &i.capacity {
            Some(c) => self.int_in("idempotent.capacity", c, 0, i128::from(u32::MAX))? as usize,
            None => default.capacity,
        };
        let ttl = match &i.ttl {
            Some(t) => {
                let d = self.duration("idempotent.ttl", t)?;
                if d.is_zero() {
                    return Err(self.err(
                        &t.referenced,
                        "idempotent.ttl 0 would forget every id at once",
                        "a positive duration, or no `ttl` for entries that never expire",
                    ));
                }
                Some(d)
            }
            None => None,
        };
        Ok(IdempotentConfig { capacity, ttl })
    }

    pub(super) fn broker_crash(&self, c: &Spanned<RawBrokerCrash>) -> R<BrokerCrash> {
        let at = self.required(
            &c.value.at,
            &c.referenced,
            "broker.crash needs `at`",
            "`crash: {at: 5s, restart_after: 2s}`",
        )?;
        let restart_after = self.required(
            &c.value.restart_after,
            &c.referenced,
            "broker.crash needs `restart_after`",
            "`crash: {at: 5s, restart_after: 2s}` (the broker restarts after this delay)",
        )?;
        Ok(BrokerCrash {
            at: self.duration("broker.crash.at", at)?,
            restart_after: self.duration("broker.crash.restart_after", restart_after)?,
        })
    }
}
