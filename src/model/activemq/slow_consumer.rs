//! The broker's slow-consumer strategies on a queue (semantics.md A8.3, A8.4).
//!
//! `AbortSlowConsumerStrategy` reacts to the subscription's slow flag, which
//! `PrefetchSubscription.dispatchPending` raises only when the subscription's *own* pending
//! list holds messages while `countBeforeFull() ≤ 0` (A8.1). A queue hands a message to a
//! subscription only after checking `!isFull()` (`Queue.doActualDispatch`), and `add()` then
//! dispatches it at once, so a queue subscription's pending list is never left holding a
//! message and the flag is never raised by dispatch: the strategy's timer, which starts at the
//! first slow event, never starts. ActiveMQ's own tests of this strategy
//! (`AbortSlowConsumer0Test`, `AbortSlowConsumer1Test`) run on topics only. The model therefore
//! schedules nothing for `Abort` on a queue ([`SlowConsumerMonitor::new`] returns `None`).
//!
//! `AbortSlowAckConsumerStrategy` does work on queues: its timer starts with the broker and
//! every `checkPeriod` it looks at the time since each subscription's last consuming ack
//! (`QueueSubscription.acknowledge` sets it for STANDARD, INDIVIDUAL and POISON acks and at
//! subscription creation; DELIVERED, REDELIVERED and EXPIRED acks leave it alone). The entry
//! bookkeeping (`SlowConsumerEntry.markCount` / `slowCount`) and the abort test
//! `markCount·checkPeriod ≥ maxSlowDuration || slowCount ≥ maxSlowCount` are the base class's.

use crate::engine::{SimDuration, SimTime};
use crate::model::activemq::ack::{AckType, MessageAck};
use crate::model::activemq::broker::{Queue, SubscriptionId};
use crate::model::config::{AbortSlowConsumer, SlowConsumerStrategy};
use std::collections::BTreeMap;

/// `SlowConsumerEntry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct SlowConsumerEntry {
    mark_count: u64,
    slow_count: u64,
}

/// One subscription as the strategy sees it.
#[derive(Debug, Clone, Copy)]
struct Tracked {
    /// `AbstractSubscription.lastAckTime`.
    last_ack_at: SimTime,
    /// `AbstractSubscription.isSlowConsumer()`.
    slow: bool,
}

/// What one check decided.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckOutcome {
    /// Subscriptions to abort now, in id order.
    pub abort: Vec<SubscriptionId>,
}

/// `AbortSlowAckConsumerStrategy` watching one queue.
#[derive(Debug)]
pub struct SlowConsumerMonitor {
    abort: AbortSlowConsumer,
    max_time_since_last_ack: SimDuration,
    ignore_idle_consumers: bool,
    tracked: Vec<Option<Tracked>>,
    entries: BTreeMap<SubscriptionId, SlowConsumerEntry>,
}

impl SlowConsumerMonitor {
    /// The monitor for `strategy`, or `None` when no check can ever abort anything: no
    /// strategy, `Abort` on a queue (see the module comment), `maxTimeSinceLastAck < 0`
    /// (`run()` returns at once), or neither abort criterion set.
    pub fn new(strategy: &SlowConsumerStrategy) -> Option<Self> {
        match *strategy {
            SlowConsumerStrategy::None | SlowConsumerStrategy::Abort(_) => None,
            SlowConsumerStrategy::AbortSlowAck {
                abort,
                max_time_since_last_ack,
                ignore_idle_consumers,
            } => {
                let can_abort = abort.max_slow_duration.is_some() || abort.max_slow_count.is_some();
                Some(Self {
                    abort,
                    max_time_since_last_ack: max_time_since_last_ack.filter(|_| can_abort)?,
                    ignore_idle_consumers,
                    tracked: Vec::new(),
                    entries: BTreeMap::new(),
                })
            }
        }
    }

    /// `Scheduler.executePeriodically(this, checkPeriod)`: a `java.util.Timer` task whose first
    /// run is one period after the broker starts, then every period.
    pub fn check_period(&self) -> SimDuration {
        self.abort.check_period
    }

    /// Whether the abort (A8.3) closes the consumer or fails its whole connection.
    pub fn abort_connection(&self) -> bool {
        self.abort.abort_connection
    }

    /// Whether a later check could still abort one of the queue's subscriptions (otherwise the
    /// periodic task need not run again unless something else happens).
    pub fn may_abort(&self, queue: &Queue) -> bool {
        queue
            .subscriptions()
            .any(|(_, s)| !self.ignore_idle_consumers || !s.dispatched.is_empty())
    }

    /// A subscription was created: its last-ack clock starts now.
    pub fn on_subscribed(&mut self, sub: SubscriptionId, now: SimTime) {
        if self.tracked.len() <= sub {
            self.tracked.resize(sub + 1, None);
        }
        self.tracked[sub] = Some(Tracked {
            last_ack_at: now,
            slow: false,
        });
    }

    /// The broker applied `ack` (outside a transaction) to `sub`: consuming acks restart the
    /// clock (A8.4).
    pub fn on_ack(&mut self, sub: SubscriptionId, ack: &MessageAck, now: SimTime) {
        if matches!(
            ack.ack_type,
            AckType::Standard | AckType::Individual | AckType::Poison
        ) {
            self.acked(sub, now);
        }
    }

    /// A transaction committed its acked messages (`QueueSubscription.acknowledge` runs per
    /// node at commit).
    pub fn acked(&mut self, sub: SubscriptionId, now: SimTime) {
        if let Some(Some(t)) = self.tracked.get_mut(sub) {
            t.last_ack_at = now;
        }
    }

    /// `dispatchPending()` ran for `sub` (after every matched ack and every dispatch to it):
    /// with room left it clears the slow flag.
    pub fn on_dispatch_pending(&mut self, sub: SubscriptionId, has_room: bool) {
        if let Some(Some(t)) = self.tracked.get_mut(sub)
            && has_room
        {
            t.slow = false;
        }
    }

    /// The subscription is gone (`destroy()` clears the flag; the entry is dropped at the next
    /// run because the flag is clear).
    pub fn on_removed(&mut self, sub: SubscriptionId) {
        if let Some(slot) = self.tracked.get_mut(sub) {
            *slot = None;
        }
    }

    /// One `AbortSlowAckConsumerStrategy.run()` at `now` over the queue's live subscriptions.
    pub fn check(&mut self, now: SimTime, queue: &Queue) -> CheckOutcome {
        let abort = self.abort;
        // Already-tracked entries are marked again; those no longer flagged slow are dropped.
        let tracked = &self.tracked;
        self.entries.retain(|&sub, entry| {
            if abort.max_slow_duration.is_some() {
                entry.mark_count += 1;
            }
            tracked.get(sub).copied().flatten().is_some_and(|t| t.slow)
        });
        // updateSlowConsumersList.
        for (sub, subscription) in queue.subscriptions() {
            let Some(Some(t)) = self.tracked.get_mut(sub) else {
                continue;
            };
            if self.ignore_idle_consumers && subscription.dispatched.is_empty() {
                self.entries.remove(&sub);
                continue;
            }
            if now.saturating_since(t.last_ack_at) > self.max_time_since_last_ack {
                match self.entries.get_mut(&sub) {
                    None => {
                        t.slow = true;
                        self.entries.insert(
                            sub,
                            SlowConsumerEntry {
                                mark_count: 1,
                                slow_count: 0,
                            },
                        );
                    }
                    Some(entry) => {
                        if abort.max_slow_count.is_some() {
                            entry.slow_count += 1;
                        }
                    }
                }
            } else {
                self.entries.remove(&sub);
            }
        }
        // abortAllQualifiedSlowConsumers.
        let period = abort.check_period.as_nanos() as u128;
        let due = |e: &SlowConsumerEntry| {
            abort
                .max_slow_duration
                .is_some_and(|d| e.mark_count as u128 * period >= d.as_nanos() as u128)
                || abort.max_slow_count.is_some_and(|c| e.slow_count >= c)
        };
        let aborted: Vec<SubscriptionId> = self
            .entries
            .iter()
            .filter(|(_, e)| due(e))
            .map(|(&s, _)| s)
            .collect();
        for s in &aborted {
            self.entries.remove(s);
        }
        CheckOutcome { abort: aborted }
    }
}

/// `AbortSlowConsumerStrategy` watching a topic's subscriptions (A8.2, A8.3). A topic
/// subscription is flagged slow on its own: a non-durable one when `matched` grows beyond its
/// prefetch, a durable one when copies wait in its pending cursor while its window is full.
/// Each flagging is a `slowConsumer()` call: the first starts the periodic task
/// (`executePeriodically`, first run one period later), a new subscription gets an entry and
/// one already tracked a `slowCount++` (with `maxSlowCount` set). Each run marks every entry
/// (with `maxSlowDuration` set), drops those no longer slow and aborts those still slow with
/// `markCount·checkPeriod ≥ maxSlowDuration` or `slowCount ≥ maxSlowCount`.
#[derive(Debug)]
pub struct TopicAbortMonitor {
    abort: AbortSlowConsumer,
    task_started: bool,
    /// The slow flag last seen per subscription, to find the flaggings.
    was_slow: Vec<bool>,
    entries: BTreeMap<SubscriptionId, SlowConsumerEntry>,
}

impl TopicAbortMonitor {
    /// The monitor for `strategy` on a topic, or `None` when it can never abort anything (no
    /// `Abort` strategy, or neither limit set: `slowConsumer()` returns at once).
    pub fn new(strategy: &SlowConsumerStrategy) -> Option<Self> {
        match *strategy {
            SlowConsumerStrategy::Abort(abort)
                if abort.max_slow_duration.is_some() || abort.max_slow_count.is_some() =>
            {
                Some(Self {
                    abort,
                    task_started: false,
                    was_slow: Vec::new(),
                    entries: BTreeMap::new(),
                })
            }
            _ => None,
        }
    }

    pub fn check_period(&self) -> SimDuration {
        self.abort.check_period
    }

    pub fn abort_connection(&self) -> bool {
        self.abort.abort_connection
    }

    /// The subscription's current slow flag. Returns true when this is the first flagging of
    /// the run, which starts the periodic task.
    pub fn observe(&mut self, sub: SubscriptionId, slow: bool) -> bool {
        if self.was_slow.len() <= sub {
            self.was_slow.resize(sub + 1, false);
        }
        let flagged = slow && !self.was_slow[sub];
        self.was_slow[sub] = slow;
        if !flagged {
            return false;
        }
        match self.entries.get_mut(&sub) {
            None => {
                self.entries.insert(sub, SlowConsumerEntry::default());
            }
            Some(entry) => {
                if self.abort.max_slow_count.is_some() {
                    entry.slow_count += 1;
                }
            }
        }
        !std::mem::replace(&mut self.task_started, true)
    }

    /// One `run()`: the subscriptions to abort now, in id order.
    pub fn check(&mut self, is_slow: impl Fn(SubscriptionId) -> bool) -> Vec<SubscriptionId> {
        let abort = self.abort;
        let period = abort.check_period.as_nanos() as u128;
        let mut aborted = Vec::new();
        self.entries.retain(|&sub, entry| {
            if abort.max_slow_duration.is_some() {
                entry.mark_count += 1;
            }
            if !is_slow(sub) {
                return false;
            }
            let due = abort
                .max_slow_duration
                .is_some_and(|d| entry.mark_count as u128 * period >= d.as_nanos() as u128)
                || abort.max_slow_count.is_some_and(|c| entry.slow_count >= c);
            if due {
                aborted.push(sub);
            }
            !due
        });
        aborted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::activemq::broker::BrokerEffect;
    use crate::model::message::MessageRef;

    const NONE: Vec<SubscriptionId> = Vec::new();

    fn secs(n: u64) -> SimTime {
        SimTime::from(SimDuration::from_secs(n))
    }

    fn slow_ack(abort: AbortSlowConsumer, ignore_idle: bool) -> SlowConsumerMonitor {
        SlowConsumerMonitor::new(&SlowConsumerStrategy::AbortSlowAck {
            abort,
            max_time_since_last_ack: Some(SimDuration::from_secs(30)),
            ignore_idle_consumers: ignore_idle,
        })
        .expect("a monitor")
    }

    /// A queue with one subscription (prefetch 10) holding `messages` dispatched messages.
    fn queue_with(messages: u32) -> (Queue, SubscriptionId) {
        let mut q = Queue::new(true);
        let mut fx: Vec<BrokerEffect> = Vec::new();
        let s = q.add_subscription(0, 10, &mut fx);
        for id in 1..=messages {
            q.enqueue(MessageRef::new(id, SimTime::ZERO), &mut fx);
        }
        (q, s)
    }

    #[test]
    fn a8_3_abort_on_a_queue_and_no_strategy_schedule_nothing() {
        assert!(SlowConsumerMonitor::new(&SlowConsumerStrategy::None).is_none());
        let abort = SlowConsumerStrategy::Abort(AbortSlowConsumer::default());
        assert!(SlowConsumerMonitor::new(&abort).is_none());
        // maxTimeSinceLastAck = -1: run() returns at once.
        let off = SlowConsumerStrategy::AbortSlowAck {
            abort: AbortSlowConsumer::default(),
            max_time_since_last_ack: None,
            ignore_idle_consumers: true,
        };
        assert!(SlowConsumerMonitor::new(&off).is_none());
    }

    #[test]
    fn a8_4_defaults_abort_at_the_first_check_past_30s_without_an_ack() {
        // Subscribed at t = 0, never acks, holds 1 message. Check at 30 s: 30 - 0 = 30 is not
        // > 30, nothing. Check at 60 s: 60 > 30 -> entry with markCount 1; 1 * 30 s >= 30 s
        // -> aborted in the same run.
        let (q, s) = queue_with(1);
        let mut m = slow_ack(AbortSlowConsumer::default(), true);
        m.on_subscribed(s, SimTime::ZERO);
        assert_eq!(m.check(secs(30), &q).abort, NONE);
        assert_eq!(m.check(secs(60), &q).abort, vec![s]);
    }

    #[test]
    fn a8_4_delivered_acks_do_not_count_consuming_acks_do() {
        let (q, s) = queue_with(1);
        let mut m = slow_ack(AbortSlowConsumer::default(), true);
        m.on_subscribed(s, SimTime::ZERO);
        // A DELIVERED ack at 20 s leaves the clock at 0: aborted at 60 s.
        m.on_ack(s, &MessageAck::single(AckType::Delivered, 1), secs(20));
        // A STANDARD ack at 35 s restarts it: 60 - 35 = 25 <= 30 at the 60 s check;
        // 90 - 35 = 55 > 30 at 90 s.
        m.on_ack(s, &MessageAck::single(AckType::Standard, 1), secs(35));
        assert_eq!(m.check(secs(60), &q).abort, NONE);
        assert_eq!(m.check(secs(90), &q).abort, vec![s]);
    }

    #[test]
    fn a8_4_idle_consumers_are_ignored_unless_configured() {
        let (q, s) = queue_with(0);
        let mut ignoring = slow_ack(AbortSlowConsumer::default(), true);
        ignoring.on_subscribed(s, SimTime::ZERO);
        assert_eq!(ignoring.check(secs(60), &q).abort, NONE);
        let mut strict = slow_ack(AbortSlowConsumer::default(), false);
        strict.on_subscribed(s, SimTime::ZERO);
        assert_eq!(strict.check(secs(60), &q).abort, vec![s]);
    }

    #[test]
    fn a8_3_mark_count_times_period_must_reach_max_slow_duration() {
        // checkPeriod 10 s, maxSlowDuration 25 s, maxTimeSinceLastAck 30 s. Checks at 10, 20,
        // 30: 30 - 0 is not > 30. At 40: new entry, markCount 1 (10 s < 25 s). At 50: marked
        // again (2: 20 s < 25 s) - the flag stays raised because no dispatchPending with room
        // ran. At 60: 3 -> 30 s >= 25 s: aborted.
        let abort = AbortSlowConsumer {
            check_period: SimDuration::from_secs(10),
            max_slow_duration: Some(SimDuration::from_secs(25)),
            ..AbortSlowConsumer::default()
        };
        let (q, s) = queue_with(1);
        let mut m = slow_ack(abort, true);
        m.on_subscribed(s, SimTime::ZERO);
        for t in [10, 20, 30, 40, 50] {
            assert_eq!(m.check(secs(t), &q).abort, NONE, "t = {t}");
        }
        assert_eq!(m.check(secs(60), &q).abort, vec![s]);
    }

    #[test]
    fn a8_3_a_cleared_flag_restarts_the_mark_count() {
        // As above, but at 45 s the broker dispatches with room (flag cleared): the entry
        // (markCount 1) is dropped at 50 s and re-created with markCount 1; 60 s: 2; 70 s: 3
        // -> aborted at 70 s instead of 60 s.
        let abort = AbortSlowConsumer {
            check_period: SimDuration::from_secs(10),
            max_slow_duration: Some(SimDuration::from_secs(25)),
            ..AbortSlowConsumer::default()
        };
        let (q, s) = queue_with(1);
        let mut m = slow_ack(abort, true);
        m.on_subscribed(s, SimTime::ZERO);
        for t in [10, 20, 30, 40] {
            assert_eq!(m.check(secs(t), &q).abort, NONE);
        }
        m.on_dispatch_pending(s, true);
        for t in [50, 60] {
            assert_eq!(m.check(secs(t), &q).abort, NONE, "t = {t}");
        }
        assert_eq!(m.check(secs(70), &q).abort, vec![s]);
    }

    #[test]
    fn a8_3_max_slow_count_counts_checks_after_the_first() {
        // maxSlowDuration off, maxSlowCount 2: detected at 60 s (slowCount 0), slow() at 90 s
        // (1) and 120 s (2 >= 2): aborted at 120 s.
        let abort = AbortSlowConsumer {
            max_slow_duration: None,
            max_slow_count: Some(2),
            ..AbortSlowConsumer::default()
        };
        let (q, s) = queue_with(1);
        let mut m = slow_ack(abort, true);
        m.on_subscribed(s, SimTime::ZERO);
        for t in [30, 60, 90] {
            assert_eq!(m.check(secs(t), &q).abort, NONE, "t = {t}");
        }
        assert_eq!(m.check(secs(120), &q).abort, vec![s]);
    }

    /// Whole runs: zero latency; `stuck` (100 s per message) and `worker` (100 ms), both AUTO
    /// listeners with prefetch 10; 20 messages at 1 s alternate between them (A7.4).
    mod runs {
        use super::*;
        use crate::model::config::{
            Arrival, BrokerConfig, ConsumerConfig, DurationDist, NetworkConfig, ProducerConfig,
            Scenario,
        };
        use crate::model::{RunOutcome, run};

        fn scenario(strategy: SlowConsumerStrategy) -> Scenario {
            let consumer = |name: &str, processing: SimDuration| {
                let mut c = ConsumerConfig::new(name);
                c.prefetch = 10;
                c.processing = DurationDist::Constant(processing);
                c
            };
            Scenario {
                name: "t".into(),
                seed: 1,
                until: None,
                network: NetworkConfig {
                    latency: DurationDist::Constant(SimDuration::ZERO),
                },
                broker: BrokerConfig {
                    slow_consumer: strategy,
                    ..BrokerConfig::default()
                },
                producers: vec![ProducerConfig {
                    name: "p".into(),
                    messages: 20,
                    arrival: Arrival::Burst,
                    start_at: SimDuration::from_secs(1),
                    groups: None,
                    time_to_live: None,
                    priority: 4,
                    send: Default::default(),
                }],
                consumers: vec![
                    consumer("stuck", SimDuration::from_secs(100)),
                    consumer("worker", SimDuration::from_millis(100)),
                ],
            }
        }

        fn outcome(s: &Scenario) -> RunOutcome {
            let out = run(s, None).expect("run");
            assert!(out.summary.conserves_messages());
            out
        }

        #[test]
        fn a8_3_abort_connection_drops_the_connection_and_redelivers_everything() {
            // Check at 60 s aborts stuck (60 s without an ack). abortConnection: the broker
            // removes it as on a connection drop (A5.2): all 10 it holds, 1 (in onMessage)
            // included, get counter 1 and go to worker (done by 61 s). No deliverAcks, no
            // RemoveInfo. stuck's onMessage returns at 101 s: 1 is processed twice.
            let strategy = SlowConsumerStrategy::AbortSlowAck {
                abort: AbortSlowConsumer {
                    abort_connection: true,
                    ..AbortSlowConsumer::default()
                },
                max_time_since_last_ack: Some(SimDuration::from_secs(30)),
                ignore_idle_consumers: true,
            };
            let out = outcome(&scenario(strategy));
            let s = &out.summary;
            assert_eq!(
                (s.processed, s.unique_processed, s.duplicates, s.redelivered),
                (21, 20, 1, 10)
            );
            assert_eq!((s.acks.standard, s.slow_consumer_aborts), (20, 1));
            assert_eq!(
                (out.consumers[0].processed, out.consumers[0].aborted),
                (1, 1)
            );
            assert_eq!(out.consumers[0].acks_sent, 0);
            assert_eq!(out.consumers[1].processed, 20);
            assert_eq!(s.end_s, 120.0);
        }

        #[test]
        fn periodic_tasks_do_not_keep_each_other_alive() {
            // Defaults plus a 1 h time to live (so the expiry sweep runs too, every 30 s like
            // the check). stuck is aborted at 60 s (ConsumerControl close: it acks 1, 3-19 go
            // to worker), its onMessage returns at 101 s. At 120 s neither task sees anything
            // but the other: both stop, and the run ends at 120 s, not at the 30-day horizon.
            let mut s = scenario(SlowConsumerStrategy::AbortSlowAck {
                abort: AbortSlowConsumer::default(),
                max_time_since_last_ack: Some(SimDuration::from_secs(30)),
                ignore_idle_consumers: true,
            });
            s.producers[0].time_to_live = Some(SimDuration::from_secs(3600));
            let out = outcome(&s);
            let sum = &out.summary;
            assert_eq!(
                (sum.processed, sum.expired, sum.slow_consumer_aborts),
                (20, 0, 1)
            );
            assert_eq!((sum.redelivered, sum.acks.standard), (0, 20));
            assert!(!out.cut_by_until);
            assert_eq!(sum.end_s, 120.0);
        }

        #[test]
        fn a8_3_abort_strategy_never_aborts_a_queue_consumer() {
            // No slow event on a queue: stuck keeps its 10 and processes them one per 100 s,
            // the last ending at 1 s + 10 x 100 s = 1001 s.
            let out = outcome(&scenario(SlowConsumerStrategy::Abort(
                AbortSlowConsumer::default(),
            )));
            let s = &out.summary;
            assert_eq!((s.processed, s.slow_consumer_aborts), (20, 0));
            assert_eq!(
                (out.consumers[0].processed, out.consumers[1].processed),
                (10, 10)
            );
            assert_eq!(s.makespan_s, 1001.0);
        }
    }

    fn topic_abort(abort: AbortSlowConsumer) -> TopicAbortMonitor {
        TopicAbortMonitor::new(&SlowConsumerStrategy::Abort(abort)).expect("a monitor")
    }

    /// A8.3 on a topic: the first flagging starts the task (and only the first); an entry
    /// still slow at a run is aborted when markCount x checkPeriod reaches maxSlowDuration
    /// (defaults 30 s / 30 s: the first run); one no longer slow is dropped.
    #[test]
    fn a8_3_topic_abort_at_the_first_run_after_being_flagged() {
        let mut m = topic_abort(AbortSlowConsumer::default());
        assert!(m.observe(0, true), "the first slow event starts the task");
        assert!(!m.observe(0, true), "still slow: no new flagging");
        assert!(!m.observe(1, true), "the task runs already");
        m.observe(1, false);
        assert_eq!(m.check(|s| s == 0), vec![0]);
        assert_eq!(m.check(|_| true), NONE, "both entries are gone");
    }

    /// maxSlowDuration 90 s with the 30 s period: aborted at the third run still slow.
    /// maxSlowCount 2 (duration off): every new flagging of a tracked subscription counts.
    #[test]
    fn a8_3_topic_abort_after_max_slow_duration_or_count() {
        let mut m = topic_abort(AbortSlowConsumer {
            max_slow_duration: Some(SimDuration::from_secs(90)),
            ..AbortSlowConsumer::default()
        });
        m.observe(3, true);
        assert_eq!(m.check(|_| true), NONE);
        assert_eq!(m.check(|_| true), NONE);
        assert_eq!(m.check(|_| true), vec![3]);

        let mut m = topic_abort(AbortSlowConsumer {
            max_slow_duration: None,
            max_slow_count: Some(2),
            ..AbortSlowConsumer::default()
        });
        m.observe(0, true);
        assert_eq!(m.check(|_| true), NONE, "slowCount 0");
        for _ in 0..2 {
            m.observe(0, false);
            m.observe(0, true);
        }
        assert_eq!(m.check(|_| true), vec![0], "slowCount 2");
    }

    #[test]
    fn a8_3_topic_abort_without_limits_does_nothing() {
        let off = AbortSlowConsumer {
            max_slow_duration: None,
            max_slow_count: None,
            ..AbortSlowConsumer::default()
        };
        assert!(TopicAbortMonitor::new(&SlowConsumerStrategy::Abort(off)).is_none());
        assert!(TopicAbortMonitor::new(&SlowConsumerStrategy::None).is_none());
    }
}
