//! Settings that exist only for a queue destination. The topic model (semantics.md A9) has no
//! consumer priority, exclusive consumers, message groups (A7.3–A7.6), TTL (A10.1) or priority
//! dispatch (A10.2): rather than silently ignore them, a topic scenario that sets one is
//! refused at that field. (Of the slow-consumer strategies, a topic takes `abort`.)

use serde_saphyr::{Location, Spanned};

use super::super::raw::{RawBroker, RawConsumer, RawProducer};
use super::{Ctx, R};

/// The queue-only fields of one raw entry that are present, with where they are.
fn present(fields: &[(&'static str, Option<Location>)]) -> Option<(&'static str, Location)> {
    fields
        .iter()
        .find_map(|&(name, loc)| loc.map(|l| (name, l)))
}

fn at<T>(f: &Option<Spanned<T>>) -> Option<Location> {
    f.as_ref().map(|s| s.referenced)
}

impl Ctx<'_> {
    /// Refuses the first queue-only setting of a topic scenario.
    pub(super) fn refuse_queue_only_on_topic(
        &self,
        broker: Option<&RawBroker>,
        producers: &[&RawProducer],
        consumers: &[&RawConsumer],
    ) -> R<()> {
        let mut found = broker.and_then(|b| {
            present(&[
                (
                    "broker.expire_messages_period",
                    at(&b.expire_messages_period),
                ),
                ("broker.prioritized_messages", at(&b.prioritized_messages)),
            ])
        });
        for p in producers {
            found = found.or_else(|| {
                present(&[
                    ("time_to_live", at(&p.time_to_live)),
                    ("groups", at(&p.groups)),
                    ("priority", at(&p.priority)),
                ])
            });
        }
        for c in consumers {
            found = found.or_else(|| {
                present(&[
                    ("priority", at(&c.priority)),
                    ("exclusive", at(&c.exclusive)),
                    (
                        "message_priority_supported",
                        at(&c.message_priority_supported),
                    ),
                    (
                        "consumer_expiry_check_enabled",
                        at(&c.consumer_expiry_check_enabled),
                    ),
                ])
            });
        }
        match found {
            Some((name, loc)) => Err(self.err(
                &loc,
                format!("`{name}` is modelled for a queue destination only, not for a topic"),
                "`broker: {destination: {kind: queue}}`, or no such setting on a topic",
            )),
            None => Ok(()),
        }
    }
}
