//! From the raw document to a [`Scenario`]: defaults (ActiveMQ's), ranges, the combinations
//! the real client rejects, and warnings for legal but suspicious settings.
//!
//! Precedence for consumer and redelivery settings: a field written in the scenario wins over
//! a `broker_url` `jms.*` option (the URI acts as the connection factory's defaults), which
//! wins over ActiveMQ's default.

use serde_saphyr::{Location, Spanned};

use super::broker_url::{UrlOptions, parse_broker_url};
use super::duration::{EXPECTED_DURATION, parse_duration};
use super::error::{Pos, ScenarioError, diag};
use super::raw::{
    Dur, Field, Flag, Num, RawArrival, RawBroker, RawConsumer, RawCrash, RawDestination, RawDist,
    RawFailures, RawProducer, RawRedelivery, RawScenario, RawSlowConsumer, RawSweep, Scalar,
    ScalarOr, Word,
};
use super::{GridValue, LoadedScenario, SweepSpec, Warning};
use crate::engine::SimDuration;
use crate::model::activemq::dispatch_selector::MAX_CONSUMER_PRIORITY;
use crate::model::activemq::expiry::DEFAULT_EXPIRE_MESSAGES_PERIOD;
use crate::model::activemq::groups::MAX_GROUPS;
use crate::model::activemq::priority::{DEFAULT_PRIORITY, MAX_PRIORITY as MAX_JMS_PRIORITY};
use crate::model::config::{
    AbortSlowConsumer, AckMode, Arrival, BrokerConfig, BrokerFlavor, ConsumerConfig, CrashConfig,
    CrashPoint, DEFAULT_MAX_TIME_SINCE_LAST_ACK, DEFAULT_OPTIMIZE_ACK_TIMEOUT,
    DEFAULT_QUEUE_PREFETCH, DeliveryMode, DurationDist, FailureConfig, FailureHandling,
    MAX_CONSUMER_INSTANCES, MAX_MESSAGES, MAX_PREFETCH, NetworkConfig, ProducerConfig,
    RedeliveryPolicy, Scenario, SlowConsumerStrategy,
};
use crate::model::config::{
    DEFAULT_DURABLE_TOPIC_PREFETCH, DEFAULT_TOPIC_PREFETCH, DestinationConfig,
    OPTIMIZE_DURABLE_TOPIC_PREFETCH, STOCK_TOPIC_PENDING_MESSAGE_LIMIT, SubscriptionKind,
    TopicPolicy,
};

mod queue_only;
mod send;
#[cfg(test)]
mod send_tests;

type R<T> = Result<T, ScenarioError>;

/// The RocketMQ fields, validated in their own file as a child of this module.
#[path = "rocketmq.rs"]
mod rocketmq;

/// Validates a raw document (see the module documentation of `raw` for how a sweep patches it
/// first). `origin` is the file name used in messages.
pub(crate) fn validate(raw: &Spanned<RawScenario>, origin: &str) -> R<LoadedScenario> {
    let mut cx = Ctx {
        origin,
        warnings: Vec::new(),
    };
    let scenario = cx.scenario(&raw.value, &raw.referenced)?;
    let sweep = match &raw.value.sweep {
        Some(s) => Some(cx.sweep(&s.value)?),
        None => None,
    };
    Ok(LoadedScenario {
        scenario,
        sweep,
        warnings: cx.warnings,
    })
}

/// Where the URL's options came from, for errors and warnings they cause.
struct Url {
    opts: UrlOptions,
    loc: Location,
}

struct Ctx<'a> {
    origin: &'a str,
    warnings: Vec<Warning>,
}

fn describe_choices(choices: &[&str]) -> String {
    choices
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Ctx<'_> {
    fn err(
        &self,
        loc: &Location,
        what: impl Into<String>,
        expected: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError::Invalid(diag(self.origin, Pos::from_location(loc), what, expected))
    }

    fn warn(&mut self, loc: &Location, message: String) {
        let pos = Pos::from_location(loc);
        self.warnings.push(Warning {
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.column),
            message,
        });
    }

    // ---- single values -------------------------------------------------------------------

    fn duration_of(&self, key: &str, s: &Scalar, loc: &Location) -> R<SimDuration> {
        let text = match s {
            Scalar::Str(t) => t.clone(),
            Scalar::Int(0) => return Ok(SimDuration::ZERO),
            Scalar::Float(x) if *x == 0.0 => return Ok(SimDuration::ZERO),
            Scalar::Int(_) | Scalar::Float(_) => s.to_string(),
            Scalar::Bool(_) | Scalar::Null => {
                return Err(self.err(
                    loc,
                    format!("{key}: `{s}` is not a duration"),
                    EXPECTED_DURATION,
                ));
            }
        };
        parse_duration(&text).map_err(|e| {
            self.err(
                loc,
                format!("{key}: {}", e.describe(&text)),
                EXPECTED_DURATION,
            )
        })
    }

    fn duration(&self, key: &str, f: &Spanned<Dur>) -> R<SimDuration> {
        self.duration_of(key, &f.value.0, &f.referenced)
    }

    fn opt_duration(&self, key: &str, f: &Field<Dur>) -> R<Option<SimDuration>> {
        f.as_ref().map(|f| self.duration(key, f)).transpose()
    }

    fn integer_of(&self, key: &str, s: &Scalar, loc: &Location, expected: &str) -> R<i128> {
        match s {
            Scalar::Int(i) => Ok(*i),
            Scalar::Float(x) if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e38 => {
                Ok(*x as i128)
            }
            Scalar::Str(t) if t.trim().parse::<i128>().is_ok() => Ok(t.trim().parse().unwrap_or(0)),
            _ => Err(self.err(loc, format!("{key}: `{s}` is not a whole number"), expected)),
        }
    }

    /// An integer field in `lo..=hi`.
    fn int_in(&self, key: &str, f: &Spanned<Num>, lo: i128, hi: i128) -> R<i128> {
        let expected = format!("an integer in {lo}..={hi}");
        let v = self.integer_of(key, &f.value.0, &f.referenced, &expected)?;
        if v < lo || v > hi {
            return Err(self.err(
                &f.referenced,
                format!("{key} {v} is out of range"),
                expected,
            ));
        }
        Ok(v)
    }

    fn u32_in(&self, key: &str, f: &Spanned<Num>, lo: u32) -> R<u32> {
        Ok(self.int_in(key, f, i128::from(lo), i128::from(u32::MAX))? as u32)
    }

    fn u64_in(&self, key: &str, f: &Spanned<Num>, lo: u64) -> R<u64> {
        Ok(self.int_in(key, f, i128::from(lo), i128::from(u64::MAX))? as u64)
    }

    fn float_of(&self, key: &str, s: &Scalar, loc: &Location) -> R<f64> {
        let v = match s {
            Scalar::Int(i) => Some(*i as f64),
            Scalar::Float(x) => Some(*x),
            Scalar::Str(t) => t.trim().parse::<f64>().ok(),
            _ => None,
        };
        match v {
            Some(x) if x.is_finite() => Ok(x),
            _ => Err(self.err(
                loc,
                format!("{key}: `{s}` is not a finite number"),
                "a number",
            )),
        }
    }

    fn flag(&self, key: &str, f: &Spanned<Flag>) -> R<bool> {
        match &f.value.0 {
            Scalar::Bool(b) => Ok(*b),
            Scalar::Str(t) if t.eq_ignore_ascii_case("true") => Ok(true),
            Scalar::Str(t) if t.eq_ignore_ascii_case("false") => Ok(false),
            other => Err(self.err(
                &f.referenced,
                format!("{key}: `{other}` is not a boolean"),
                "`true` or `false`",
            )),
        }
    }

    fn word<T: Copy>(&self, key: &str, f: &Spanned<Word>, choices: &[(&str, T)]) -> R<T> {
        let text = f.value.0.to_string();
        choices
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(text.trim()))
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
                self.err(
                    &f.referenced,
                    format!("unknown {key} `{text}`"),
                    format!("one of {}", describe_choices(&names)),
                )
            })
    }

    fn name(&self, key: &str, f: &Spanned<String>) -> R<String> {
        let n = &f.value;
        if n.trim().is_empty() {
            return Err(self.err(&f.referenced, format!("{key} is empty"), "a non-empty name"));
        }
        if n.chars().any(char::is_control) {
            return Err(self.err(
                &f.referenced,
                format!("{key} {n:?} contains a control character"),
                "a name of printable characters",
            ));
        }
        Ok(n.clone())
    }

    fn required<'f, T>(
        &self,
        f: &'f Field<T>,
        parent: &Location,
        what: &str,
        expected: &str,
    ) -> R<&'f Spanned<T>> {
        f.as_ref()
            .ok_or_else(|| self.err(parent, what.to_string(), expected.to_string()))
    }

    // ---- distributions -------------------------------------------------------------------

    fn duration_dist(&self, key: &str, f: &Spanned<ScalarOr<RawDist>>) -> R<DurationDist> {
        let m = match &f.value {
            ScalarOr::Scalar(s) => {
                return Ok(DurationDist::Constant(self.duration_of(
                    key,
                    s,
                    &f.referenced,
                )?));
            }
            ScalarOr::Map(m) => m,
        };
        const KINDS: &[(&str, &str)] = &[
            ("constant", "{dist: constant, value: 5ms}"),
            ("exponential", "{dist: exponential, mean: 5ms}"),
            ("uniform", "{dist: uniform, min: 1ms, max: 9ms}"),
            ("normal", "{dist: normal, mean: 5ms, std: 1ms}"),
            ("lognormal", "{dist: lognormal, mean: 5ms, std: 2ms}"),
            ("pareto", "{dist: pareto, scale: 1ms, shape: 1.5}"),
        ];
        let all: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
        let dist = self.required(
            &m.dist,
            &f.referenced,
            &format!("{key}: distribution mapping without `dist`"),
            &format!("`dist:` one of {}", describe_choices(&all)),
        )?;
        let choices: Vec<(&str, usize)> = KINDS
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (*k, i))
            .collect();
        let kind_index = self.word(&format!("{key} distribution"), dist, &choices)?;
        let (kind, example) = KINDS[kind_index];
        let needed: &[&str] = match kind {
            "constant" => &["value"],
            "exponential" => &["mean"],
            "uniform" => &["min", "max"],
            "normal" | "lognormal" => &["mean", "std"],
            _ => &["scale", "shape"],
        };
        let present: [(&str, Option<&Location>); 7] = [
            ("value", m.value.as_ref().map(|v| &v.referenced)),
            ("mean", m.mean.as_ref().map(|v| &v.referenced)),
            ("min", m.min.as_ref().map(|v| &v.referenced)),
            ("max", m.max.as_ref().map(|v| &v.referenced)),
            ("std", m.std.as_ref().map(|v| &v.referenced)),
            ("scale", m.scale.as_ref().map(|v| &v.referenced)),
            ("shape", m.shape.as_ref().map(|v| &v.referenced)),
        ];
        // Fields of another distribution first (a likely mix-up), then missing ones.
        for (field, loc) in present {
            if let Some(loc) = loc
                && !needed.contains(&field)
            {
                return Err(self.err(
                    loc,
                    format!("{key}: field `{field}` does not apply to a `{kind}` distribution"),
                    format!("only {} (e.g. `{example}`)", describe_choices(needed)),
                ));
            }
        }
        for (field, loc) in present {
            if loc.is_none() && needed.contains(&field) {
                return Err(self.err(
                    &dist.referenced,
                    format!("{key}: a `{kind}` distribution needs `{field}`"),
                    format!("`{example}`"),
                ));
            }
        }
        let d = |name: &str, v: &Field<Dur>| -> R<SimDuration> {
            match v {
                Some(v) => self.duration(&format!("{key}.{name}"), v),
                None => Ok(SimDuration::ZERO), // unreachable: checked above
            }
        };
        Ok(match kind {
            "constant" => DurationDist::Constant(d("value", &m.value)?),
            "exponential" => DurationDist::Exponential {
                mean: d("mean", &m.mean)?,
            },
            "uniform" => {
                let (min, max) = (d("min", &m.min)?, d("max", &m.max)?);
                if min > max {
                    let loc = m.max.as_ref().map_or(&dist.referenced, |v| &v.referenced);
                    return Err(self.err(
                        loc,
                        format!("{key}: uniform max {max} is below min {min}"),
                        "min ≤ max",
                    ));
                }
                DurationDist::Uniform { min, max }
            }
            "normal" => DurationDist::Normal {
                mean: d("mean", &m.mean)?,
                std: d("std", &m.std)?,
            },
            "lognormal" => {
                let mean = d("mean", &m.mean)?;
                if mean.is_zero() {
                    let loc = m.mean.as_ref().map_or(&dist.referenced, |v| &v.referenced);
                    return Err(self.err(
                        loc,
                        format!("{key}: lognormal mean is zero"),
                        "a mean > 0",
                    ));
                }
                DurationDist::LogNormal {
                    mean,
                    std: d("std", &m.std)?,
                }
            }
            _ => {
                let scale = d("scale", &m.scale)?;
                if scale.is_zero() {
                    let loc = m.scale.as_ref().map_or(&dist.referenced, |v| &v.referenced);
                    return Err(self.err(
                        loc,
                        format!("{key}: pareto scale is zero"),
                        "a scale > 0",
                    ));
                }
                let shape_field = m.shape.as_ref().map_or(&dist.referenced, |v| &v.referenced);
                let shape = match &m.shape {
                    Some(s) => self.float_of(&format!("{key}.shape"), &s.value.0, &s.referenced)?,
                    None => 0.0,
                };
                if shape <= 0.0 {
                    return Err(self.err(
                        shape_field,
                        format!("{key}: pareto shape {shape} is not positive"),
                        "a finite shape > 0",
                    ));
                }
                DurationDist::Pareto { scale, shape }
            }
        })
    }

    fn arrival(&self, f: &Spanned<ScalarOr<RawArrival>>) -> R<Arrival> {
        let m = match &f.value {
            ScalarOr::Scalar(s) => {
                return Ok(Arrival::Constant {
                    interval: self.duration_of("arrival", s, &f.referenced)?,
                });
            }
            ScalarOr::Map(m) => m,
        };
        const KINDS: &[&str] = &["exponential", "constant", "burst"];
        let dist = self.required(
            &m.dist,
            &f.referenced,
            "arrival mapping without `dist`",
            "`dist:` one of `exponential`, `constant`, `burst`",
        )?;
        let choices: Vec<(&str, &str)> = KINDS.iter().map(|k| (*k, *k)).collect();
        let kind = self.word("arrival distribution", dist, &choices)?;
        let rate = |this: &Self, r: &Spanned<Num>| -> R<f64> {
            let x = this.float_of("arrival.rate", &r.value.0, &r.referenced)?;
            if x <= 0.0 {
                return Err(this.err(
                    &r.referenced,
                    format!("arrival.rate {x} is not positive"),
                    "messages per second > 0",
                ));
            }
            Ok(x)
        };
        match kind {
            "exponential" => {
                if let Some(i) = &m.interval {
                    return Err(self.err(
                        &i.referenced,
                        "arrival: field `interval` does not apply to an `exponential` arrival",
                        "only `rate` (e.g. `{dist: exponential, rate: 1000}`)",
                    ));
                }
                let r = self.required(
                    &m.rate,
                    &dist.referenced,
                    "arrival: an `exponential` arrival needs `rate`",
                    "`{dist: exponential, rate: 1000}`",
                )?;
                Ok(Arrival::Exponential { rate: rate(self, r)? })
            }
            "constant" => match (&m.interval, &m.rate) {
                (Some(i), None) => Ok(Arrival::Constant {
                    interval: self.duration("arrival.interval", i)?,
                }),
                (None, Some(r)) => {
                    // The gap is 1/rate seconds, rounded to the nearest nanosecond.
                    let gap = SimDuration::from_secs_f64(1.0 / rate(self, r)?);
                    Ok(Arrival::Constant { interval: gap })
                }
                (Some(_), Some(r)) => Err(self.err(
                    &r.referenced,
                    "arrival: a `constant` arrival has both `interval` and `rate`",
                    "one of them (`{dist: constant, interval: 1ms}` or `{dist: constant, rate: 1000}`)",
                )),
                (None, None) => Err(self.err(
                    &dist.referenced,
                    "arrival: a `constant` arrival needs `interval` or `rate`",
                    "`{dist: constant, interval: 1ms}` or `{dist: constant, rate: 1000}`",
                )),
            },
            _ => {
                let extra = m.rate.as_ref().map(|r| ("rate", &r.referenced)).or(m
                    .interval
                    .as_ref()
                    .map(|i| ("interval", &i.referenced)));
                if let Some((field, loc)) = extra {
                    return Err(self.err(
                        loc,
                        format!("arrival: field `{field}` does not apply to a `burst` arrival"),
                        "`{dist: burst}` alone (every message at `start_at`)",
                    ));
                }
                Ok(Arrival::Burst)
            }
        }
    }

    // ---- the document --------------------------------------------------------------------

    fn scenario(&mut self, raw: &RawScenario, root: &Location) -> R<Scenario> {
        let name_field = self.required(
            &raw.name,
            root,
            "missing required field `name`",
            "`name: <scenario name>` at the top level",
        )?;
        let name = self.name("name", name_field)?;
        if name.contains(['/', '\\']) || name == "." || name == ".." {
            return Err(self.err(
                &name_field.referenced,
                format!("name {name:?} cannot be used as a directory name"),
                "a name without `/` or `\\` that is not `.` or `..`",
            ));
        }
        let seed = match &raw.seed {
            Some(s) => self.u64_in("seed", s, 0)?,
            None => 42,
        };
        let until = self.opt_duration("until", &raw.until)?;
        let network = match raw.network.as_ref().and_then(|n| n.value.latency.as_ref()) {
            Some(l) => NetworkConfig {
                latency: self.duration_dist("network.latency", l)?,
            },
            None => NetworkConfig::default(),
        };
        let url = match &raw.broker_url {
            Some(u) => Some(self.broker_url(u)?),
            None => None,
        };
        let broker = self.broker(raw.broker.as_ref(), url.as_ref())?;

        let producers_field = self.required(
            &raw.producers,
            root,
            "missing required field `producers`",
            "a `producers:` list with at least one producer",
        )?;
        if producers_field.value.is_empty() {
            return Err(self.err(
                &producers_field.referenced,
                "`producers` is empty",
                "at least one producer",
            ));
        }
        let unnamed = producers_field
            .value
            .iter()
            .filter(|p| p.value.name.is_none())
            .count();
        let mut producers = Vec::new();
        for (i, p) in producers_field.value.iter().enumerate() {
            let default_name = if unnamed > 1 {
                format!("p{i}")
            } else {
                "p".to_string()
            };
            producers.push(self.producer(&p.value, &p.referenced, default_name, broker.flavor)?);
        }
        self.unique_names(
            "producer",
            producers_field,
            |p| &p.name,
            producers.iter().map(|p| p.name.as_str()),
        )?;
        let total_messages: u64 = producers.iter().map(|p| p.messages).sum();
        if total_messages > MAX_MESSAGES {
            return Err(self.err(
                &producers_field.referenced,
                format!("the producers send {total_messages} messages in all"),
                format!("at most {MAX_MESSAGES} (message ids are 32-bit broker sequence ids)"),
            ));
        }

        let consumers_field = self.required(
            &raw.consumers,
            root,
            "missing required field `consumers`",
            "a `consumers:` list with at least one consumer",
        )?;
        if consumers_field.value.is_empty() {
            return Err(self.err(
                &consumers_field.referenced,
                "`consumers` is empty",
                "at least one consumer",
            ));
        }
        let unnamed = consumers_field
            .value
            .iter()
            .filter(|c| c.value.name.is_none())
            .count();
        let mut consumers = Vec::new();
        for (i, c) in consumers_field.value.iter().enumerate() {
            let default_name = if unnamed > 1 {
                format!("c{i}")
            } else {
                "c".to_string()
            };
            consumers.push(self.consumer(
                &c.value,
                &c.referenced,
                default_name,
                &broker,
                url.as_ref(),
            )?);
        }
        self.unique_names(
            "consumer",
            consumers_field,
            |c| &c.name,
            consumers.iter().map(|c| c.name.as_str()),
        )?;
        self.rocketmq_group(
            &broker,
            &consumers,
            consumers_field,
            raw.broker_url.as_ref(),
        )?;
        let instances: u64 = consumers.iter().map(|c| u64::from(c.replicas)).sum();
        if instances > MAX_CONSUMER_INSTANCES {
            return Err(self.err(
                &consumers_field.referenced,
                format!("{instances} consumer instances in all"),
                format!("at most {MAX_CONSUMER_INSTANCES}"),
            ));
        }
        if broker.flavor == BrokerFlavor::RocketMq {
            let raw_producers: Vec<_> = producers_field.value.iter().map(|p| &p.value).collect();
            self.refuse_jms_producer_fields(&raw_producers)?;
        }
        if broker.destination.is_topic() {
            let raw_producers: Vec<_> = producers_field.value.iter().map(|p| &p.value).collect();
            let raw_consumers: Vec<_> = consumers_field.value.iter().map(|c| &c.value).collect();
            self.refuse_queue_only_on_topic(
                raw.broker.as_ref().map(|b| &b.value),
                &raw_producers,
                &raw_consumers,
            )?;
        }
        // On a topic every subscriber may get its own copy, each with its own id.
        if broker.destination.is_topic()
            && u128::from(total_messages) * u128::from(instances) > u128::from(MAX_MESSAGES)
        {
            return Err(self.err(
                &consumers_field.referenced,
                format!(
                    "{total_messages} messages to {instances} topic subscribers make up to {} copies",
                    u128::from(total_messages) * u128::from(instances)
                ),
                format!("at most {MAX_MESSAGES} copies (copy ids are 32-bit)"),
            ));
        }

        Ok(Scenario {
            name,
            seed,
            until,
            network,
            broker,
            producers,
            consumers,
        })
    }

    fn unique_names<'n, T>(
        &self,
        what: &str,
        list: &Spanned<Vec<Spanned<T>>>,
        name_field: impl Fn(&T) -> &Field<String>,
        names: impl Iterator<Item = &'n str>,
    ) -> R<()> {
        let names: Vec<&str> = names.collect();
        for (i, n) in names.iter().enumerate() {
            if let Some(j) = names[..i].iter().position(|m| m == n) {
                let item = &list.value[i];
                let loc = name_field(&item.value)
                    .as_ref()
                    .map_or(&item.referenced, |f| &f.referenced);
                let first = Pos::from_location(&list.value[j].referenced)
                    .map_or(String::new(), |p| {
                        format!(" (first used at line {})", p.line)
                    });
                return Err(self.err(
                    loc,
                    format!("duplicate {what} name `{n}`{first}"),
                    format!("a distinct `name:` for every {what}"),
                ));
            }
        }
        Ok(())
    }

    fn broker_url(&mut self, u: &Spanned<String>) -> R<Url> {
        let opts = parse_broker_url(&u.value).map_err(|(what, expected)| {
            self.err(&u.referenced, format!("broker_url: {what}"), expected)
        })?;
        for w in &opts.warnings {
            self.warn(&u.referenced, w.clone());
        }
        Ok(Url {
            opts,
            loc: u.referenced,
        })
    }

    fn broker(&mut self, raw: Option<&Spanned<RawBroker>>, url: Option<&Url>) -> R<BrokerConfig> {
        let default = RawBroker::default();
        let b = raw.map_or(&default, |b| &b.value);
        let flavor = match &b.flavor {
            Some(f) => self.word(
                "broker flavor",
                f,
                &[
                    ("activemq", BrokerFlavor::ActiveMq),
                    ("rocketmq", BrokerFlavor::RocketMq),
                ],
            )?,
            None => BrokerFlavor::ActiveMq,
        };
        let rocketmq = self.rocketmq_broker(b, flavor)?;
        let redelivery = self.redelivery(b.redelivery.as_ref().map(|r| &r.value), url)?;
        let use_prefetch_extension = match &b.use_prefetch_extension {
            Some(f) => self.flag("use_prefetch_extension", f)?,
            None => true,
        };
        let destination = match &b.destination {
            Some(d) => self.destination(&d.value)?,
            None => DestinationConfig::Queue,
        };
        let slow_consumer = match &b.slow_consumer {
            Some(s) => self.slow_consumer(s, destination.is_topic())?,
            None => SlowConsumerStrategy::None,
        };
        let crash = match &b.crash {
            Some(c) => Some(self.broker_crash(c)?),
            None => None,
        };
        let persist_jms_redelivered = match &b.persist_jms_redelivered {
            Some(f) => self.flag("persist_jms_redelivered", f)?,
            None => false,
        };
        let expire_messages_period = match &b.expire_messages_period {
            Some(f) => Some(self.duration("expire_messages_period", f)?).filter(|p| !p.is_zero()),
            None => Some(DEFAULT_EXPIRE_MESSAGES_PERIOD),
        };
        let prioritized_messages = match &b.prioritized_messages {
            Some(f) => self.flag("prioritized_messages", f)?,
            None => false,
        };
        Ok(BrokerConfig {
            flavor,
            redelivery,
            use_prefetch_extension,
            slow_consumer,
            rocketmq,
            destination,
            crash,
            persist_jms_redelivered,
            expire_messages_period,
            prioritized_messages,
        })
    }

    /// `broker.destination`. A topic models the stock `activemq.xml` by default (a
    /// `policyEntry topic=">"` with a constant pending limit of 1000, semantics.md A1.3,
    /// A9.2); `policy_entry: false` is a broker without one (no limit unless given).
    fn destination(&self, d: &RawDestination) -> R<DestinationConfig> {
        let is_topic = match &d.kind {
            Some(k) => self.word("destination kind", k, &[("queue", false), ("topic", true)])?,
            None => false,
        };
        if !is_topic {
            if let Some(f) = d
                .policy_entry
                .as_ref()
                .map(|f| f.referenced)
                .or(d.pending_message_limit.as_ref().map(|f| f.referenced))
            {
                return Err(self.err(
                    &f,
                    "policy_entry and pending_message_limit apply to topics only",
                    "`kind: topic`, or no topic settings on a queue",
                ));
            }
            return Ok(DestinationConfig::Queue);
        }
        let policy_entry = match &d.policy_entry {
            Some(f) => self.flag("policy_entry", f)?,
            None => true,
        };
        let pending_message_limit = match &d.pending_message_limit {
            Some(f) => match &f.value.0 {
                Scalar::Str(t) if t.trim().eq_ignore_ascii_case("none") => None,
                Scalar::Int(-1) => None,
                _ => Some(self.int_in("pending_message_limit", f, 0, i128::from(u32::MAX))? as u32),
            },
            None if policy_entry => Some(STOCK_TOPIC_PENDING_MESSAGE_LIMIT),
            None => None,
        };
        Ok(DestinationConfig::Topic(TopicPolicy {
            policy_entry,
            pending_message_limit,
        }))
    }

    fn slow_consumer(
        &mut self,
        f: &Spanned<ScalarOr<RawSlowConsumer>>,
        on_topic: bool,
    ) -> R<SlowConsumerStrategy> {
        const EXPECTED: &str = "`none`, or a mapping `{strategy: abort | abort_slow_ack, ...}`";
        match &f.value {
            ScalarOr::Scalar(Scalar::Null) => Ok(SlowConsumerStrategy::None),
            ScalarOr::Scalar(Scalar::Str(s)) if s.trim().eq_ignore_ascii_case("none") => {
                Ok(SlowConsumerStrategy::None)
            }
            ScalarOr::Scalar(s) => Err(self.err(
                &f.referenced,
                format!("unknown slow_consumer `{s}`"),
                EXPECTED,
            )),
            ScalarOr::Map(m) => {
                let strategy = self.required(
                    &m.strategy,
                    &f.referenced,
                    "slow_consumer mapping without `strategy`",
                    "`strategy:` one of `none`, `abort`, `abort_slow_ack`",
                )?;
                #[derive(Clone, Copy, PartialEq)]
                enum Which {
                    None,
                    Abort,
                    AbortSlowAck,
                }
                let which = self.word(
                    "slow_consumer strategy",
                    strategy,
                    &[
                        ("none", Which::None),
                        ("abort", Which::Abort),
                        ("abort_slow_ack", Which::AbortSlowAck),
                    ],
                )?;
                if which != Which::AbortSlowAck {
                    for (key, set) in [
                        (
                            "max_time_since_last_ack",
                            m.max_time_since_last_ack.as_ref().map(|f| f.referenced),
                        ),
                        (
                            "ignore_idle_consumers",
                            m.ignore_idle_consumers.as_ref().map(|f| f.referenced),
                        ),
                    ] {
                        if let Some(loc) = set {
                            return Err(self.err(
                                &loc,
                                format!(
                                    "slow_consumer: `{key}` belongs to AbortSlowAckConsumerStrategy"
                                ),
                                "`strategy: abort_slow_ack` to use it",
                            ));
                        }
                    }
                }
                if which == Which::None {
                    return Ok(SlowConsumerStrategy::None);
                }
                let d = AbortSlowConsumer::default();
                let max_slow_count = match &m.max_slow_count {
                    Some(c) => match self.int_in("max_slow_count", c, -1, i128::from(i64::MAX))? {
                        n if n <= 0 => None,
                        n => Some(n as u64),
                    },
                    None => d.max_slow_count,
                };
                let max_slow_duration = match &m.max_slow_duration {
                    Some(f) => self.duration_or_off("max_slow_duration", f)?,
                    None => d.max_slow_duration,
                };
                let check_period = match &m.check_period {
                    Some(f) => {
                        let p = self.duration("check_period", f)?;
                        if p.is_zero() {
                            return Err(self.err(
                                &f.referenced,
                                "check_period 0: java.util.Timer rejects a non-positive period",
                                "a positive duration such as `30s`",
                            ));
                        }
                        p
                    }
                    None => d.check_period,
                };
                let abort_connection = match &m.abort_connection {
                    Some(f) => self.flag("abort_connection", f)?,
                    None => d.abort_connection,
                };
                if let Some(f) = &m.ignore_network_consumers {
                    // Validated for the user's sake; the model has no network consumers.
                    self.flag("ignore_network_consumers", f)?;
                }
                let abort = AbortSlowConsumer {
                    max_slow_count,
                    max_slow_duration,
                    check_period,
                    abort_connection,
                };
                if which == Which::Abort && on_topic {
                    return Ok(SlowConsumerStrategy::Abort(abort));
                }
                if which == Which::Abort {
                    self.warn(
                        &strategy.referenced,
                        "slow_consumer strategy `abort` never aborts a queue consumer: AbortSlowConsumerStrategy acts on the subscription's slow flag, which PrefetchSubscription.dispatchPending raises only with messages pending in the subscription, and a queue never leaves any there (semantics.md A8.1, A8.3); `abort_slow_ack` (AbortSlowAckConsumerStrategy) does abort queue consumers".to_string(),
                    );
                    return Ok(SlowConsumerStrategy::Abort(abort));
                }
                if on_topic {
                    return Err(self.err(
                        &strategy.referenced,
                        "slow_consumer strategy `abort_slow_ack` is modelled for a queue destination only",
                        "`strategy: abort` (AbortSlowConsumerStrategy) on a topic, or a queue destination",
                    ));
                }
                let max_time_since_last_ack = match &m.max_time_since_last_ack {
                    Some(f) => self.duration_or_off("max_time_since_last_ack", f)?,
                    None => Some(DEFAULT_MAX_TIME_SINCE_LAST_ACK),
                };
                let ignore_idle_consumers = match &m.ignore_idle_consumers {
                    Some(f) => self.flag("ignore_idle_consumers", f)?,
                    None => true,
                };
                Ok(SlowConsumerStrategy::AbortSlowAck {
                    abort,
                    max_time_since_last_ack,
                    ignore_idle_consumers,
                })
            }
        }
    }

    /// A duration where ActiveMQ's `-1` (any negative value) switches the rule off: `None`.
    fn duration_or_off(&self, key: &str, f: &Spanned<Dur>) -> R<Option<SimDuration>> {
        match &f.value.0 {
            Scalar::Int(n) if *n < 0 => Ok(None),
            Scalar::Float(x) if *x < 0.0 => Ok(None),
            _ => self.duration(key, f).map(Some),
        }
    }

    fn redelivery(&self, raw: Option<&RawRedelivery>, url: Option<&Url>) -> R<RedeliveryPolicy> {
        let default_raw = RawRedelivery::default();
        let r = raw.unwrap_or(&default_raw);
        let u = url.map(|u| &u.opts);
        let d = RedeliveryPolicy::default();
        let maximum_redeliveries = match &r.maximum_redeliveries {
            Some(m) => match self.int_in("maximum_redeliveries", m, -1, i128::from(i32::MAX))? {
                -1 => None,
                n => Some(n as u32),
            },
            None => u
                .and_then(|u| u.maximum_redeliveries)
                .unwrap_or(d.maximum_redeliveries),
        };
        let initial_redelivery_delay = self
            .opt_duration("initial_redelivery_delay", &r.initial_redelivery_delay)?
            .or(u.and_then(|u| u.initial_redelivery_delay))
            .unwrap_or(d.initial_redelivery_delay);
        let redelivery_delay = self
            .opt_duration("redelivery_delay", &r.redelivery_delay)?
            .or(u.and_then(|u| u.redelivery_delay))
            .unwrap_or(d.redelivery_delay);
        let use_exponential_backoff = match &r.use_exponential_backoff {
            Some(f) => self.flag("use_exponential_backoff", f)?,
            None => u
                .and_then(|u| u.use_exponential_backoff)
                .unwrap_or(d.use_exponential_backoff),
        };
        let backoff_multiplier = match &r.backoff_multiplier {
            Some(m) => {
                let x = self.float_of("backoff_multiplier", &m.value.0, &m.referenced)?;
                if x <= 0.0 {
                    return Err(self.err(
                        &m.referenced,
                        format!("backoff_multiplier {x} is not positive"),
                        "a number > 0, e.g. `5.0`",
                    ));
                }
                x
            }
            None => u
                .and_then(|u| u.backoff_multiplier)
                .unwrap_or(d.backoff_multiplier),
        };
        let maximum_redelivery_delay = match &r.maximum_redelivery_delay {
            Some(m) => match &m.value.0 {
                Scalar::Int(-1) => None,
                Scalar::Str(s) if s.trim() == "-1" => None,
                _ => Some(self.duration("maximum_redelivery_delay", m).map_err(|e| {
                    let what = e.diagnostic().map(|d| d.what.clone()).unwrap_or_default();
                    self.err(
                        &m.referenced,
                        what,
                        format!("-1 (no cap) or {EXPECTED_DURATION}"),
                    )
                })?),
            },
            None => u
                .and_then(|u| u.maximum_redelivery_delay)
                .unwrap_or(d.maximum_redelivery_delay),
        };
        Ok(RedeliveryPolicy {
            maximum_redeliveries,
            initial_redelivery_delay,
            redelivery_delay,
            use_exponential_backoff,
            backoff_multiplier,
            maximum_redelivery_delay,
        })
    }

    fn producer(
        &self,
        p: &RawProducer,
        at: &Location,
        default_name: String,
        flavor: BrokerFlavor,
    ) -> R<ProducerConfig> {
        let name = match &p.name {
            Some(n) => self.name("producer name", n)?,
            None => default_name,
        };
        let messages = self.required(
            &p.messages,
            at,
            &format!("producer `{name}` is missing required field `messages`"),
            "`messages: <count>`",
        )?;
        let messages = self.int_in("messages", messages, 0, i128::from(MAX_MESSAGES))? as u64;
        let arrival = match &p.arrival {
            Some(a) => self.arrival(a)?,
            None => Arrival::Exponential { rate: 1000.0 },
        };
        let start_at = self
            .opt_duration("start_at", &p.start_at)?
            .unwrap_or(SimDuration::ZERO);
        let send = self.send_config(p, at, &name, flavor)?;
        let time_to_live = self
            .opt_duration("time_to_live", &p.time_to_live)?
            .filter(|t| !t.is_zero());
        let priority = match &p.priority {
            Some(v) => self.int_in("priority", v, 0, i128::from(MAX_JMS_PRIORITY))? as u8,
            None => DEFAULT_PRIORITY,
        };
        let groups = match &p.groups {
            Some(g) => Some(self.int_in("groups", g, 1, i128::from(MAX_GROUPS))? as u16),
            None => None,
        };
        Ok(ProducerConfig {
            name,
            messages,
            arrival,
            start_at,
            send,
            groups,
            time_to_live,
            priority,
        })
    }

    fn prefetch(&self, f: &Spanned<Num>) -> R<u32> {
        let expected = format!("an integer in 0..={MAX_PREFETCH}");
        let v = self.integer_of("prefetch", &f.value.0, &f.referenced, &expected)?;
        if v < 0 {
            return Err(self.err(&f.referenced, format!("prefetch {v} is negative"), expected));
        }
        if v > i128::from(u32::MAX) {
            return Err(self.err(
                &f.referenced,
                format!("prefetch {v} does not even fit a 32-bit integer (ActiveMQ's prefetch is a Java int capped at {MAX_PREFETCH})"),
                expected,
            ));
        }
        if v > i128::from(MAX_PREFETCH) {
            return Err(self.err(
                &f.referenced,
                format!("prefetch {v} is above ActiveMQ's maximum prefetch {MAX_PREFETCH} (ActiveMQPrefetchPolicy.MAX_PREFETCH_SIZE)"),
                expected,
            ));
        }
        Ok(v as u32)
    }

    fn consumer(
        &mut self,
        c: &RawConsumer,
        at: &Location,
        default_name: String,
        broker: &BrokerConfig,
        url: Option<&Url>,
    ) -> R<ConsumerConfig> {
        let name = match &c.name {
            Some(n) => self.name("consumer name", n)?,
            None => default_name,
        };
        let rocketmq = self.rocketmq_consumer(c, broker.flavor, &name)?;
        let replicas = match &c.replicas {
            Some(r) => self.int_in("replicas", r, 1, i128::from(MAX_CONSUMER_INSTANCES))? as u32,
            None => 1,
        };
        let ack_mode = match &c.ack_mode {
            Some(m) => self.word(
                "ack_mode",
                m,
                &[
                    ("auto", AckMode::Auto),
                    ("client", AckMode::Client),
                    ("dups_ok", AckMode::DupsOk),
                    ("transacted", AckMode::Transacted),
                    ("individual", AckMode::Individual),
                ],
            )?,
            None => AckMode::Auto,
        };
        let delivery = match &c.delivery {
            Some(d) => self.word(
                "delivery",
                d,
                &[
                    ("listener", DeliveryMode::Listener),
                    ("receive", DeliveryMode::Receive),
                ],
            )?,
            None => DeliveryMode::Listener,
        };
        let subscription = match (&c.subscription, broker.destination.is_topic()) {
            (Some(f), false) => {
                return Err(self.err(
                    &f.referenced,
                    format!("consumer `{name}`: `subscription` applies to topic subscribers only"),
                    "`broker: {destination: {kind: topic}}`, or no `subscription` on a queue",
                ));
            }
            (Some(f), true) => Some(self.word(
                "subscription",
                f,
                &[
                    ("non_durable", SubscriptionKind::NonDurable),
                    ("durable", SubscriptionKind::Durable),
                ],
            )?),
            (None, true) => Some(SubscriptionKind::NonDurable),
            (None, false) => None,
        };
        // Explicit field > broker_url option > ActiveMQ default; remember where it came from.
        // The URL's `queuePrefetch` is for queues; a topic subscriber's client default is
        // ActiveMQPrefetchPolicy's for its kind (A1.1, A1.2; the broker's PolicyEntry may
        // replace it, `activemq::topic::configure_prefetch`).
        let url_prefetch = url
            .filter(|_| subscription.is_none())
            .and_then(|u| u.opts.queue_prefetch.map(|p| (p, u.loc)));
        let client_default = match subscription {
            None => DEFAULT_QUEUE_PREFETCH,
            Some(SubscriptionKind::NonDurable) => DEFAULT_TOPIC_PREFETCH,
            Some(SubscriptionKind::Durable) if ack_mode == AckMode::Auto => {
                OPTIMIZE_DURABLE_TOPIC_PREFETCH
            }
            Some(SubscriptionKind::Durable) => DEFAULT_DURABLE_TOPIC_PREFETCH,
        };
        let (prefetch, prefetch_loc, prefetch_from_url) = match (&c.prefetch, url_prefetch) {
            (Some(p), _) => (self.prefetch(p)?, Some(p.referenced), false),
            (None, Some((p, loc))) => (p, Some(loc), true),
            (None, None) => (client_default, None, false),
        };
        let url_opt_ack = url.and_then(|u| u.opts.optimize_ack.map(|v| (v, u.loc)));
        let (optimize_ack, optimize_ack_loc) = match (&c.optimize_ack, url_opt_ack) {
            (Some(f), _) => (self.flag("optimize_ack", f)?, f.referenced),
            (None, Some((v, loc))) => (v, loc),
            (None, None) => (false, *at),
        };
        let optimize_ack_timeout = self
            .opt_duration("optimize_ack_timeout", &c.optimize_ack_timeout)?
            .or(url.and_then(|u| u.opts.optimize_ack_timeout))
            .unwrap_or(DEFAULT_OPTIMIZE_ACK_TIMEOUT);
        let ack_every = match &c.ack_every {
            Some(f) => self.u32_in("ack_every", f, 0)?,
            None => 1,
        };
        let commit_every = match &c.commit_every {
            Some(f) => self.u32_in("commit_every", f, 0)?,
            None => 1,
        };
        let processing = match &c.processing {
            Some(p) => self.duration_dist("processing", p)?,
            None => DurationDist::Constant(SimDuration::from_millis(5)),
        };
        let failures = match &c.failures {
            Some(f) => self.failures(&f.value, ack_mode)?,
            None => FailureConfig::default(),
        };
        let crash = match &c.crash {
            Some(f) => Some(self.crash(&f.value, &f.referenced)?),
            None => None,
        };
        let start_at = self
            .opt_duration("start_at", &c.start_at)?
            .unwrap_or(SimDuration::ZERO);
        let idempotent = match &c.idempotent {
            Some(i) => Some(self.idempotent(&i.value)?),
            None => None,
        };
        let priority = match &c.priority {
            Some(p) => self.int_in("priority", p, 0, i128::from(MAX_CONSUMER_PRIORITY))? as u8,
            None => 0,
        };
        let exclusive = match &c.exclusive {
            Some(f) => self.flag("exclusive", f)?,
            None => false,
        };
        let consumer_expiry_check_enabled = match &c.consumer_expiry_check_enabled {
            Some(f) => self.flag("consumer_expiry_check_enabled", f)?,
            None => true,
        };
        let message_priority_supported = match &c.message_priority_supported {
            Some(f) => self.flag("message_priority_supported", f)?,
            None => false,
        };
        if let Some(f) = &c.message_priority_supported
            && message_priority_supported
            && ack_mode == AckMode::Transacted
        {
            return Err(self.err(
                &f.referenced,
                format!(
                    "consumer `{name}`: message_priority_supported with ack_mode transacted is not modelled: it switches on transactedIndividualAck (a transacted INDIVIDUAL ack per message instead of DELIVERED acks, ActiveMQMessageConsumer constructor)"
                ),
                "message_priority_supported: false for a transacted consumer, or another ack_mode",
            ));
        }

        // What the real client rejects.
        if delivery == DeliveryMode::Listener && prefetch == 0 {
            let loc = prefetch_loc
                .or(c.delivery.as_ref().map(|d| d.referenced))
                .unwrap_or(*at);
            let from = if prefetch_from_url {
                " (set by broker_url)"
            } else {
                ""
            };
            return Err(self.err(
                &loc,
                format!(
                    "consumer `{name}`: prefetch 0{from} with `delivery: listener`: ActiveMQMessageConsumer.setMessageListener throws JMSException \"Illegal prefetch size of zero. This setting is not supported for asynchronous consumers\""
                ),
                "a prefetch ≥ 1 for a listener, or `delivery: receive` (pull mode) for prefetch 0",
            ));
        }

        // Legal but suspicious.
        if optimize_ack && ack_mode != AckMode::Auto {
            self.warn(
                &optimize_ack_loc,
                format!(
                    "consumer `{name}`: optimize_ack has no effect with ack_mode `{}`: optimizeAcknowledge is only active in AUTO_ACKNOWLEDGE sessions, never in DUPS_OK (semantics.md A2.12)",
                    ack_mode.as_str()
                ),
            );
        }
        if let Some(f) = &c.ack_every
            && !matches!(ack_mode, AckMode::Client | AckMode::Individual)
        {
            self.warn(
                &f.referenced,
                format!(
                    "consumer `{name}`: ack_every has no effect with ack_mode `{}`: only client and individual consumers call acknowledge()",
                    ack_mode.as_str()
                ),
            );
        }
        if let Some(f) = &c.commit_every
            && ack_mode != AckMode::Transacted
        {
            self.warn(
                &f.referenced,
                format!(
                    "consumer `{name}`: commit_every has no effect with ack_mode `{}`: only transacted consumers commit",
                    ack_mode.as_str()
                ),
            );
        }
        if !broker.use_prefetch_extension && prefetch > 0 {
            let stall = match ack_mode {
                AckMode::Client | AckMode::Individual if ack_every == 0 || ack_every > prefetch => {
                    Some(("ack_every", ack_every, c.ack_every.as_ref()))
                }
                AckMode::Transacted if commit_every == 0 || commit_every > prefetch => {
                    Some(("commit_every", commit_every, c.commit_every.as_ref()))
                }
                _ => None,
            };
            if let Some((field, n, f)) = stall {
                let why = if n == 0 {
                    format!("{field} 0 never settles its messages")
                } else {
                    format!("{field} {n} is above its prefetch")
                };
                self.warn(
                    f.map_or(at, |f| &f.referenced),
                    format!(
                        "consumer `{name}` ({why}) will stall once {prefetch} messages are unacknowledged: the broker only widens the window on DELIVERED acks when use_prefetch_extension is on (semantics.md A6.3)"
                    ),
                );
            }
        }
        if let (
            Some(CrashConfig {
                point: CrashPoint::At(t),
                ..
            }),
            Some(raw_crash),
        ) = (&crash, &c.crash)
            && *t < start_at
        {
            let loc = raw_crash
                .value
                .at
                .as_ref()
                .map_or(raw_crash.referenced, |a| a.referenced);
            self.warn(
                &loc,
                format!("consumer `{name}`: crash.at {t} is before the consumer starts (start_at {start_at})"),
            );
        }

        Ok(ConsumerConfig {
            name,
            replicas,
            ack_mode,
            delivery,
            prefetch,
            optimize_ack,
            optimize_ack_timeout,
            ack_every,
            commit_every,
            processing,
            failures,
            crash,
            start_at,
            rocketmq,
            subscription,
            idempotent,
            priority,
            exclusive,
            consumer_expiry_check_enabled,
            message_priority_supported,
        })
    }

    fn failures(&self, f: &RawFailures, ack_mode: AckMode) -> R<FailureConfig> {
        let probability = match &f.probability {
            Some(p) => {
                let x = self.float_of("probability", &p.value.0, &p.referenced)?;
                if !(0.0..=1.0).contains(&x) {
                    return Err(self.err(
                        &p.referenced,
                        format!("probability {x} is out of range"),
                        "a probability in 0.0..=1.0",
                    ));
                }
                x
            }
            None => 0.0,
        };
        let handling = match &f.handling {
            Some(h) => {
                let handling = self.word(
                    "failure handling",
                    h,
                    &[
                        ("throw", FailureHandling::Throw),
                        ("rollback", FailureHandling::Rollback),
                        ("recover", FailureHandling::Recover),
                    ],
                )?;
                match (handling, ack_mode) {
                    (FailureHandling::Rollback, m) if m != AckMode::Transacted => {
                        return Err(self.err(
                            &h.referenced,
                            format!(
                                "`handling: rollback` in a non-transacted (`{}`) session: session.rollback() throws IllegalStateException \"Not a transacted session\"",
                                m.as_str()
                            ),
                            "`rollback` only with `ack_mode: transacted` (use `recover` or `throw` here)",
                        ));
                    }
                    (FailureHandling::Recover, AckMode::Transacted) => {
                        return Err(self.err(
                            &h.referenced,
                            "`handling: recover` in a transacted session: session.recover() throws IllegalStateException \"This session is transacted\"",
                            "`rollback` or `throw` with `ack_mode: transacted`",
                        ));
                    }
                    _ => handling,
                }
            }
            None => FailureHandling::Throw,
        };
        let mut poison = Vec::new();
        if let Some(list) = &f.poison {
            for id in &list.value {
                poison.push(self.u64_in("poison sequence id", id, 1)?);
            }
        }
        poison.sort_unstable();
        poison.dedup();
        Ok(FailureConfig {
            probability,
            poison,
            handling,
        })
    }

    fn crash(&self, c: &RawCrash, at: &Location) -> R<CrashConfig> {
        const EXPECTED: &str = "exactly one of `after_processed: K`, `during_processing: K` (K ≥ 1) or `at: <duration>`";
        let written: Vec<(&str, &Location)> = [
            (
                "after_processed",
                c.after_processed.as_ref().map(|f| &f.referenced),
            ),
            (
                "during_processing",
                c.during_processing.as_ref().map(|f| &f.referenced),
            ),
            ("at", c.at.as_ref().map(|f| &f.referenced)),
        ]
        .into_iter()
        .filter_map(|(n, l)| l.map(|l| (n, l)))
        .collect();
        match written.as_slice() {
            [] => return Err(self.err(at, "crash without a crash point", EXPECTED)),
            [(a, _), (b, loc), ..] => {
                return Err(self.err(loc, format!("crash has both `{a}` and `{b}`"), EXPECTED));
            }
            [_] => {}
        }
        let point = if let Some(k) = &c.after_processed {
            CrashPoint::AfterProcessed(self.u64_in("crash.after_processed", k, 1)?)
        } else if let Some(k) = &c.during_processing {
            CrashPoint::DuringProcessing(self.u64_in("crash.during_processing", k, 1)?)
        } else {
            match &c.at {
                Some(t) => CrashPoint::At(self.duration("crash.at", t)?),
                None => return Err(self.err(at, "crash without a crash point", EXPECTED)),
            }
        };
        Ok(CrashConfig {
            point,
            restart_after: self.opt_duration("crash.restart_after", &c.restart_after)?,
        })
    }

    fn sweep(&self, s: &RawSweep) -> R<SweepSpec> {
        let replicates = match &s.replicates {
            Some(r) => self.u32_in("sweep.replicates", r, 1)?,
            None => 1,
        };
        let mut grid = Vec::new();
        if let Some(g) = &s.grid {
            for (key, values) in &g.value.0 {
                if key.value.trim().is_empty() {
                    return Err(self.err(
                        &key.referenced,
                        "empty sweep grid key",
                        "a dotted path such as `consumers.*.prefetch`",
                    ));
                }
                if values.value.is_empty() {
                    return Err(self.err(
                        &values.referenced,
                        format!("sweep grid `{}` has no values", key.value),
                        "a non-empty list, e.g. `[1, 10, 100]`",
                    ));
                }
                let mut vs = Vec::new();
                for v in &values.value {
                    vs.push(match &v.value.0 {
                        Scalar::Bool(b) => GridValue::Bool(*b),
                        Scalar::Int(i) => GridValue::Int(i64::try_from(*i).map_err(|_| {
                            self.err(
                                &v.referenced,
                                format!("sweep value {i} does not fit a 64-bit integer"),
                                "an integer in i64 range",
                            )
                        })?),
                        Scalar::Float(x) => GridValue::Float(*x),
                        Scalar::Str(s) => GridValue::Str(s.clone()),
                        Scalar::Null => {
                            return Err(self.err(
                                &v.referenced,
                                "null sweep value",
                                "a number, a word or true/false",
                            ));
                        }
                    });
                }
                grid.push((key.value.clone(), vs));
            }
        }
        Ok(SweepSpec { replicates, grid })
    }
}
