//! The scenario file as written: serde structs mirroring the YAML, every field optional and
//! wrapped in [`Spanned`] so that validation can point at the line and column of a bad value.
//!
//! These structs check only the *shape* of the document (which keys exist, mapping vs list vs
//! single value); every value judgement (ranges, units, enum spellings, defaults,
//! combinations) is made by [`super::validate::validate`], which sees exactly what the user
//! wrote (`None` = not written), so it can apply defaults, let explicit fields win over
//! `broker_url` options, and warn about fields that have no effect.
//!
//! # Overrides (sweeps)
//!
//! A sweep cell is the base document with some fields replaced. Apply it to the raw document,
//! *before* validation, with [`apply_override`]: `path` is the dotted path of a grid key
//! (`consumers.*.prefetch`, `broker.redelivery.maximum_redeliveries`, `consumers.0.crash.at`,
//! `consumers.*.processing.mean`), where `*` means every element of a list and a number one
//! element. The value replaces the field as if it had been written in the file (absent
//! intermediate mappings are created); validation then applies exactly the same rules, and a
//! bad value is reported at the position given to `apply_override` (the grid key's). So a sweep
//! does, per cell:
//!
//! ```text
//! let base = parse_raw(text, origin)?;           // once
//! let mut cell = base.clone();
//! for (path, value) in overrides { apply_override(&mut cell, path, value, key_location, origin)?; }
//! let loaded = validate(&cell, origin)?;          // errors and warnings as for a file
//! ```
//!
//! ([`super::validate_with_overrides`] does exactly this.)

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_saphyr::{Location, Spanned};

use super::GridValue;
use super::error::{Pos, ScenarioError, diag};

/// A field as written: `None` when absent (or `null`), else the value and where it is.
pub(crate) type Field<T> = Option<Spanned<T>>;

/// A single YAML value, before it is interpreted for a particular field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Null => f.write_str("null"),
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(x) => write!(f, "{}", GridValue::Float(*x)),
            Scalar::Str(s) => f.write_str(s),
        }
    }
}

impl From<&GridValue> for Scalar {
    fn from(v: &GridValue) -> Self {
        match v {
            GridValue::Bool(b) => Scalar::Bool(*b),
            GridValue::Int(i) => Scalar::Int(i128::from(*i)),
            GridValue::Float(x) => Scalar::Float(*x),
            GridValue::Str(s) => Scalar::Str(s.clone()),
        }
    }
}

struct ScalarVisitor(&'static str);

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Int(i128::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Int(i128::from(v)))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Scalar, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Scalar, E> {
        Ok(i128::try_from(v).map_or(Scalar::Float(v as f64), Scalar::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Str(v))
    }
}

/// Single-value field types. They all accept any scalar (the validator interprets it, so that
/// `until: 5` gets "a duration needs a unit" rather than a type error); they differ only in
/// what a type error (a list or mapping where a value belongs) says was expected.
macro_rules! scalar_types {
    ($($(#[$meta:meta])* $name:ident => $expecting:literal;)*) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub(crate) struct $name(pub(crate) Scalar);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(ScalarVisitor($expecting)).map($name)
            }
        }

        impl FromGrid for $name {
            fn from_grid(v: &GridValue) -> Self {
                $name(Scalar::from(v))
            }
        }
    )*};
}

scalar_types! {
    /// A number (integer or float).
    Num => "a number";
    /// A duration literal such as `250ms`.
    Dur => "a duration with a unit, e.g. `250ms`";
    /// `true` or `false`.
    Flag => "true or false";
    /// A word or name.
    Word => "a single word or name";
}

/// What a mapping form of a [`ScalarOr`] says it expected.
pub(crate) trait MapForm {
    const EXPECTING: &'static str;
}

/// A field that is either a single value (a bare duration for a distribution, a word for
/// `slow_consumer: none`) or a mapping.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ScalarOr<M> {
    Scalar(Scalar),
    Map(M),
}

impl<M: Default> Default for ScalarOr<M> {
    fn default() -> Self {
        ScalarOr::Map(M::default())
    }
}

struct ScalarOrVisitor<M>(PhantomData<M>);

macro_rules! forward_scalar {
    ($($method:ident($ty:ty);)*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            ScalarVisitor("").$method(v).map(ScalarOr::Scalar)
        }
    )*};
}

impl<'de, M: Deserialize<'de> + MapForm> Visitor<'de> for ScalarOrVisitor<M> {
    type Value = ScalarOr<M>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(M::EXPECTING)
    }
    forward_scalar! {
        visit_bool(bool);
        visit_i64(i64);
        visit_u64(u64);
        visit_i128(i128);
        visit_u128(u128);
        visit_f64(f64);
        visit_str(&str);
        visit_string(String);
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(ScalarOr::Scalar(Scalar::Null))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        M::deserialize(de::value::MapAccessDeserializer::new(map)).map(ScalarOr::Map)
    }
}

impl<'de, M: Deserialize<'de> + MapForm> Deserialize<'de> for ScalarOr<M> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarOrVisitor(PhantomData))
    }
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a scenario mapping (`name:`, `producers:`, `consumers:`, ...)"
)]
pub(crate) struct RawScenario {
    pub name: Field<String>,
    pub seed: Field<Num>,
    pub until: Field<Dur>,
    pub network: Field<RawNetwork>,
    pub broker: Field<RawBroker>,
    pub producers: Field<Vec<Spanned<RawProducer>>>,
    pub consumers: Field<Vec<Spanned<RawConsumer>>>,
    pub broker_url: Field<String>,
    pub sweep: Field<RawSweep>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with `latency`")]
pub(crate) struct RawNetwork {
    pub latency: Field<ScalarOr<RawDist>>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a broker mapping")]
pub(crate) struct RawBroker {
    pub flavor: Field<Word>,
    pub redelivery: Field<RawRedelivery>,
    pub use_prefetch_extension: Field<Flag>,
    pub slow_consumer: Field<ScalarOr<RawSlowConsumer>>,
    /// RocketMQ: the topic's queue count.
    pub queues: Field<Num>,
    pub destination: Field<RawDestination>,
    pub crash: Field<RawBrokerCrash>,
    pub persist_jms_redelivered: Field<Flag>,
    pub expire_messages_period: Field<Dur>,
    pub prioritized_messages: Field<Flag>,
}

/// `broker.destination`: a queue (default) or a topic and its `PolicyEntry`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a destination mapping (`kind:`, `policy_entry:`, `pending_message_limit:`)"
)]
pub(crate) struct RawDestination {
    pub kind: Field<Word>,
    pub policy_entry: Field<Flag>,
    pub pending_message_limit: Field<Num>,
}

/// `broker.crash`: the broker process dies and restarts (semantics.md A11.4).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a broker crash mapping (`at:`, `restart_after:`)"
)]
pub(crate) struct RawBrokerCrash {
    pub at: Field<Dur>,
    pub restart_after: Field<Dur>,
}

/// ActiveMQ's `RedeliveryPolicy`, snake_case.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a redelivery policy mapping")]
pub(crate) struct RawRedelivery {
    pub maximum_redeliveries: Field<Num>,
    pub initial_redelivery_delay: Field<Dur>,
    pub redelivery_delay: Field<Dur>,
    pub use_exponential_backoff: Field<Flag>,
    pub backoff_multiplier: Field<Num>,
    pub maximum_redelivery_delay: Field<Dur>,
}

/// `PolicyEntry.slowConsumerStrategy` as a mapping; parsed so the "not modelled yet" error can
/// be precise, with the fields of ActiveMQ's two strategies (semantics.md A8.3, A8.4).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "`none` or a slow consumer strategy mapping"
)]
pub(crate) struct RawSlowConsumer {
    pub strategy: Field<Word>,
    pub max_slow_count: Field<Num>,
    pub max_slow_duration: Field<Dur>,
    pub check_period: Field<Dur>,
    pub abort_connection: Field<Flag>,
    pub ignore_network_consumers: Field<Flag>,
    pub max_time_since_last_ack: Field<Dur>,
    pub ignore_idle_consumers: Field<Flag>,
}

impl MapForm for RawSlowConsumer {
    const EXPECTING: &'static str =
        "`none` or a mapping such as `{strategy: abort, max_slow_duration: 30s}`";
}

/// A duration distribution written as a mapping (`{dist: normal, mean: 5ms, std: 1ms}`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a distribution mapping")]
pub(crate) struct RawDist {
    pub dist: Field<Word>,
    pub value: Field<Dur>,
    pub mean: Field<Dur>,
    pub min: Field<Dur>,
    pub max: Field<Dur>,
    pub std: Field<Dur>,
    pub scale: Field<Dur>,
    pub shape: Field<Num>,
}

impl MapForm for RawDist {
    const EXPECTING: &'static str =
        "a duration like `5ms` or a distribution mapping like `{dist: exponential, mean: 5ms}`";
}

/// A producer's arrival process written as a mapping (`{dist: exponential, rate: 1000}`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an arrival mapping")]
pub(crate) struct RawArrival {
    pub dist: Field<Word>,
    pub rate: Field<Num>,
    pub interval: Field<Dur>,
}

impl MapForm for RawArrival {
    const EXPECTING: &'static str = "an arrival mapping like `{dist: exponential, rate: 1000}` or a constant interval like `1ms`";
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a producer mapping (`messages:`, `arrival:`, ...)"
)]
pub(crate) struct RawProducer {
    pub name: Field<String>,
    pub messages: Field<Num>,
    pub arrival: Field<ScalarOr<RawArrival>>,
    pub start_at: Field<Dur>,
    pub persistent: Field<Flag>,
    pub send: Field<RawSend>,
    pub faults: Field<RawSendFaults>,
    pub groups: Field<Num>,
    pub time_to_live: Field<Dur>,
    pub priority: Field<Num>,
}

/// A producer's send policy (`{mode: sync, timeout: 3s, retries: 2}`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a send mapping (`mode:`, `timeout:`, `retries:`, `failover:`)"
)]
pub(crate) struct RawSend {
    pub mode: Field<Word>,
    pub timeout: Field<Dur>,
    pub retries: Field<Num>,
    pub failover: Field<Flag>,
}

/// Faults injected into a producer's sends.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a faults mapping (`request_loss:`, `response_loss:`, `slow_broker:`)"
)]
pub(crate) struct RawSendFaults {
    pub request_loss: Field<Num>,
    pub response_loss: Field<Num>,
    pub slow_broker: Field<RawSlowBroker>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a slow broker mapping (`probability:`, `delay:`)"
)]
pub(crate) struct RawSlowBroker {
    pub probability: Field<Num>,
    pub delay: Field<Dur>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a consumer mapping (`ack_mode:`, `prefetch:`, ...)"
)]
pub(crate) struct RawConsumer {
    pub name: Field<String>,
    pub replicas: Field<Num>,
    pub ack_mode: Field<Word>,
    pub delivery: Field<Word>,
    pub prefetch: Field<Num>,
    pub optimize_ack: Field<Flag>,
    pub optimize_ack_timeout: Field<Dur>,
    pub ack_every: Field<Num>,
    pub commit_every: Field<Num>,
    pub processing: Field<ScalarOr<RawDist>>,
    pub failures: Field<RawFailures>,
    pub crash: Field<RawCrash>,
    pub start_at: Field<Dur>,
    // RocketMQ `DefaultMQPushConsumer` fields (validated by `super::rocketmq`).
    pub group: Field<String>,
    pub consume_mode: Field<Word>,
    pub message_model: Field<Word>,
    pub pull_batch_size: Field<Num>,
    pub consume_message_batch_max_size: Field<Num>,
    pub pull_threshold_for_queue: Field<Num>,
    pub consume_concurrently_max_span: Field<Num>,
    pub max_reconsume_times: Field<Num>,
    pub persist_consumer_offset_interval: Field<Dur>,
    pub consume_thread_min: Field<Num>,
    pub consume_thread_max: Field<Num>,
    pub suspend_current_queue_time: Field<Dur>,
    pub consume_timeout: Field<Dur>,
    pub subscription: Field<Word>,
    pub idempotent: Field<RawIdempotent>,
    pub priority: Field<Num>,
    pub exclusive: Field<Flag>,
    pub consumer_expiry_check_enabled: Field<Flag>,
    pub message_priority_supported: Field<Flag>,
}

/// An idempotent consumer's processed-id store (`{capacity: 1000, ttl: 1h}`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an idempotent store mapping (`capacity:`, `ttl:`)"
)]
pub(crate) struct RawIdempotent {
    pub capacity: Field<Num>,
    pub ttl: Field<Dur>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a failures mapping (`probability:`, `handling:`, `poison:`)"
)]
pub(crate) struct RawFailures {
    pub probability: Field<Num>,
    pub handling: Field<Word>,
    pub poison: Field<Vec<Spanned<Num>>>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a crash mapping (`after_processed:`, `during_processing:` or `at:`)"
)]
pub(crate) struct RawCrash {
    pub after_processed: Field<Num>,
    pub during_processing: Field<Num>,
    pub at: Field<Dur>,
    pub restart_after: Field<Dur>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a sweep mapping (`replicates:`, `grid:`)"
)]
pub(crate) struct RawSweep {
    pub replicates: Field<Num>,
    pub grid: Field<RawGrid>,
}

/// `sweep.grid`: dotted path → list of values, in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RawGrid(pub Vec<GridEntry>);

/// One grid key (with its location) and its list of values.
pub(crate) type GridEntry = (Spanned<String>, Spanned<Vec<Spanned<GridScalar>>>);

scalar_types! {
    /// One value of a sweep grid list.
    GridScalar => "a single value (a number, a word or true/false)";
}

impl<'de> Deserialize<'de> for RawGrid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct GridVisitor;
        impl<'de> Visitor<'de> for GridVisitor {
            type Value = RawGrid;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a mapping of dotted paths to lists, e.g. `consumers.*.prefetch: [1, 10, 100]`",
                )
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawGrid, E> {
                Ok(RawGrid::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawGrid, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(RawGrid(entries))
            }
        }
        d.deserialize_any(GridVisitor)
    }
}

// ---------------------------------------------------------------------------------------------
// Overrides
// ---------------------------------------------------------------------------------------------

/// Why an override path could not be applied: (what is wrong, what was expected).
type PatchError = (String, String);

/// Converts a grid value into a single-value field.
pub(crate) trait FromGrid {
    fn from_grid(v: &GridValue) -> Self;
}

impl FromGrid for String {
    fn from_grid(v: &GridValue) -> Self {
        match v {
            GridValue::Str(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

/// A field that a dotted path can reach: sets itself, or walks into itself.
trait Slot {
    fn patch_slot(
        slot: &mut Option<Spanned<Self>>,
        rest: &[&str],
        value: &GridValue,
        at: Location,
    ) -> Result<(), PatchError>
    where
        Self: Sized;
}

/// A mapping whose fields dotted paths can reach.
trait Patch {
    const FIELDS: &'static [&'static str];
    fn patch(&mut self, path: &[&str], value: &GridValue, at: Location) -> Result<(), PatchError>;
}

fn set_leaf<T: FromGrid>(
    slot: &mut Option<Spanned<T>>,
    rest: &[&str],
    value: &GridValue,
    at: Location,
) -> Result<(), PatchError> {
    if let Some(first) = rest.first() {
        return Err((
            format!("this field holds a single value, so it has no field `{first}`"),
            "a path ending at this field".to_string(),
        ));
    }
    *slot = Some(Spanned::new(T::from_grid(value), at, at));
    Ok(())
}

macro_rules! leaf_slots {
    ($($ty:ty),*) => {$(
        impl Slot for $ty {
            fn patch_slot(
                slot: &mut Option<Spanned<Self>>,
                rest: &[&str],
                value: &GridValue,
                at: Location,
            ) -> Result<(), PatchError> {
                set_leaf(slot, rest, value, at)
            }
        }
    )*};
}

leaf_slots!(String, Num, Dur, Flag, Word);

macro_rules! mapping_slots {
    ($($ty:ident { $($field:ident),* $(,)? })*) => {$(
        impl Patch for $ty {
            const FIELDS: &'static [&'static str] = &[$(stringify!($field)),*];
            fn patch(&mut self, path: &[&str], value: &GridValue, at: Location) -> Result<(), PatchError> {
                let Some((head, rest)) = path.split_first() else {
                    return Err(whole_mapping(Self::FIELDS));
                };
                match *head {
                    $(stringify!($field) => Slot::patch_slot(&mut self.$field, rest, value, at),)*
                    other => Err(unknown_field(other, Self::FIELDS)),
                }
            }
        }

        impl Slot for $ty {
            fn patch_slot(
                slot: &mut Option<Spanned<Self>>,
                rest: &[&str],
                value: &GridValue,
                at: Location,
            ) -> Result<(), PatchError> {
                if rest.is_empty() {
                    return Err(whole_mapping(Self::FIELDS));
                }
                slot.get_or_insert_with(|| Spanned::new(Self::default(), at, at))
                    .value
                    .patch(rest, value, at)
            }
        }
    )*};
}

mapping_slots! {
    RawScenario { name, seed, until, network, broker, producers, consumers, broker_url, sweep }
    RawNetwork { latency }
    RawBroker {
        flavor, redelivery, use_prefetch_extension, slow_consumer, queues, destination, crash,
        persist_jms_redelivered, expire_messages_period, prioritized_messages,
    }
    RawDestination { kind, policy_entry, pending_message_limit }
    RawBrokerCrash { at, restart_after }
    RawRedelivery {
        maximum_redeliveries, initial_redelivery_delay, redelivery_delay,
        use_exponential_backoff, backoff_multiplier, maximum_redelivery_delay,
    }
    RawSlowConsumer {
        strategy, max_slow_count, max_slow_duration, check_period, abort_connection,
        ignore_network_consumers, max_time_since_last_ack, ignore_idle_consumers,
    }
    RawDist { dist, value, mean, min, max, std, scale, shape }
    RawArrival { dist, rate, interval }
    RawProducer {
        name, messages, arrival, start_at, persistent, send, faults, groups, time_to_live, priority,
    }
    RawSend { mode, timeout, retries, failover }
    RawSendFaults { request_loss, response_loss, slow_broker }
    RawSlowBroker { probability, delay }
    RawConsumer {
        name, replicas, ack_mode, delivery, prefetch, optimize_ack, optimize_ack_timeout,
        ack_every, commit_every, processing, failures, crash, start_at,
        group, consume_mode, message_model, pull_batch_size, consume_message_batch_max_size,
        pull_threshold_for_queue, consume_concurrently_max_span, max_reconsume_times,
        persist_consumer_offset_interval, consume_thread_min, consume_thread_max,
        suspend_current_queue_time, consume_timeout, subscription, idempotent, priority,
        exclusive, consumer_expiry_check_enabled, message_priority_supported,
    }
    RawIdempotent { capacity, ttl }
    RawFailures { probability, handling, poison }
    RawCrash { after_processed, during_processing, at, restart_after }
    RawSweep { replicates, grid }
}

impl Slot for RawGrid {
    fn patch_slot(
        _: &mut Option<Spanned<Self>>,
        _: &[&str],
        _: &GridValue,
        _: Location,
    ) -> Result<(), PatchError> {
        Err((
            "a sweep cannot override its own grid".to_string(),
            "a path to a scenario field".to_string(),
        ))
    }
}

/// `poison: [...]` overridden by one value becomes a one-element list.
impl Slot for Vec<Spanned<Num>> {
    fn patch_slot(
        slot: &mut Option<Spanned<Self>>,
        rest: &[&str],
        value: &GridValue,
        at: Location,
    ) -> Result<(), PatchError> {
        let mut one = None;
        set_leaf::<Num>(&mut one, rest, value, at)?;
        *slot = Some(Spanned::new(one.into_iter().collect(), at, at));
        Ok(())
    }
}

/// Lists of mappings (`producers`, `consumers`): `*` = every element, `N` = element N.
impl<T: Patch> Slot for Vec<Spanned<T>> {
    fn patch_slot(
        slot: &mut Option<Spanned<Self>>,
        rest: &[&str],
        value: &GridValue,
        at: Location,
    ) -> Result<(), PatchError> {
        let expected = || format!("`*` or an index, then a field: one of {}", list(T::FIELDS));
        let Some((head, rest)) = rest.split_first() else {
            return Err(("a whole list cannot be overridden".to_string(), expected()));
        };
        let Some(items) = slot.as_mut().map(|s| &mut s.value) else {
            return Err((
                "the file has no such list to override".to_string(),
                expected(),
            ));
        };
        if *head == "*" {
            return items
                .iter_mut()
                .try_for_each(|item| item.value.patch(rest, value, at));
        }
        match head.parse::<usize>() {
            Ok(i) if i < items.len() => items[i].value.patch(rest, value, at),
            Ok(i) => Err((
                format!(
                    "index {i} is beyond the {} elements of the list",
                    items.len()
                ),
                format!("an index below {}", items.len()),
            )),
            Err(_) => Err((format!("`{head}` is not an index"), expected())),
        }
    }
}

/// Distributions, arrival processes, `slow_consumer`: a path ending here replaces the whole
/// value by a single one (a bare duration = constant); a longer path sets a field of the
/// mapping form.
impl<M: Patch + Default> Slot for ScalarOr<M> {
    fn patch_slot(
        slot: &mut Option<Spanned<Self>>,
        rest: &[&str],
        value: &GridValue,
        at: Location,
    ) -> Result<(), PatchError> {
        if rest.is_empty() {
            *slot = Some(Spanned::new(ScalarOr::Scalar(Scalar::from(value)), at, at));
            return Ok(());
        }
        match &mut slot
            .get_or_insert_with(|| Spanned::new(ScalarOr::Map(M::default()), at, at))
            .value
        {
            ScalarOr::Map(m) => m.patch(rest, value, at),
            ScalarOr::Scalar(s) => Err((
                format!(
                    "this field is the single value `{s}` in the file, so it has no field `{}`",
                    rest[0]
                ),
                "a path ending at this field (replacing it whole), or the field written as a mapping in the file".to_string(),
            )),
        }
    }
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn whole_mapping(fields: &[&str]) -> PatchError {
    (
        "a whole mapping cannot be overridden".to_string(),
        format!("a path continuing to one of its fields: {}", list(fields)),
    )
}

fn unknown_field(name: &str, fields: &[&str]) -> PatchError {
    (
        format!("unknown field `{name}`"),
        format!("one of {}", list(fields)),
    )
}

/// Replaces the field at the dotted `path` of `raw` by `value`, as if the file had said so.
/// See the module documentation. Errors (unknown field, path into a single value, index out
/// of range) are reported at `at` (e.g. the grid key's location; `Location::UNKNOWN` for none).
pub(crate) fn apply_override(
    raw: &mut Spanned<RawScenario>,
    path: &str,
    value: &GridValue,
    at: Location,
    origin: &str,
) -> Result<(), ScenarioError> {
    let segments: Vec<&str> = path.split('.').map(str::trim).collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(ScenarioError::Invalid(diag(
            origin,
            Pos::from_location(&at),
            format!("sweep path `{path}` has an empty segment"),
            "a dotted path such as `consumers.*.prefetch`",
        )));
    }
    raw.value
        .patch(&segments, value, at)
        .map_err(|(what, expected)| {
            ScenarioError::Invalid(diag(
                origin,
                Pos::from_location(&at),
                format!("sweep path `{path}`: {what}"),
                expected,
            ))
        })
}
