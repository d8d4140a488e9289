//! `broker_url`: the `jms.*` options of an `ActiveMQConnectionFactory` broker URI.
//!
//! `ActiveMQConnectionFactory.setBrokerURL` reads the query options whose keys start with
//! `jms.` and sets them on the factory (via `IntrospectionSupport`); transport options (no
//! `jms.` prefix) are left to the transport. For a composite URI
//! (`failover:(tcp://a:61616,tcp://b:61616)?jms.x=y`, also nested:
//! `static:(failover:(tcp://a,tcp://b))?...`) only the outermost query counts
//! (`URISupport.parseComposite`); the components' own queries are transport options. A `jms.*`
//! key the factory has no setter for makes it throw `IllegalArgumentException` ("There are N
//! jms options that couldn't be set on the ConnectionFactory ... Unknown parameters=[...]"), and
//! so do we. Options the real factory accepts but the simulator does not model are ignored with
//! a warning. Prefetch values above 32767 are capped there, like the real setters
//! (`ActiveMQPrefetchPolicy.getMaxPrefetchLimit`), with a warning.

use crate::engine::SimDuration;
use crate::model::config::MAX_PREFETCH;

/// The factory settings the URI sets (each `None` when the URI does not set it).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct UrlOptions {
    pub optimize_ack: Option<bool>,
    pub optimize_ack_timeout: Option<SimDuration>,
    /// `prefetchPolicy.queuePrefetch`, else `prefetchPolicy.all`, capped at 32767.
    pub queue_prefetch: Option<u32>,
    pub maximum_redeliveries: Option<Option<u32>>,
    pub initial_redelivery_delay: Option<SimDuration>,
    pub redelivery_delay: Option<SimDuration>,
    pub use_exponential_backoff: Option<bool>,
    pub backoff_multiplier: Option<f64>,
    pub maximum_redelivery_delay: Option<Option<SimDuration>>,
    /// Legal but noteworthy: capped values, options accepted by the real factory but ignored here.
    pub warnings: Vec<String>,
}

/// (what is wrong, what was expected).
pub(crate) type UrlError = (String, String);

const URI_EXPECTED: &str = "an ActiveMQ broker URI such as `tcp://host:61616?jms.prefetchPolicy.queuePrefetch=100` or `failover:(tcp://a:61616,tcp://b:61616)?jms.optimizeAcknowledge=true`";

/// The `jms.` options the simulator models.
const MODELLED: &[&str] = &[
    "optimizeAcknowledge",
    "optimizeAcknowledgeTimeOut",
    "prefetchPolicy.queuePrefetch",
    "prefetchPolicy.all",
    "redeliveryPolicy.maximumRedeliveries",
    "redeliveryPolicy.initialRedeliveryDelay",
    "redeliveryPolicy.redeliveryDelay",
    "redeliveryPolicy.useExponentialBackOff",
    "redeliveryPolicy.backOffMultiplier",
    "redeliveryPolicy.maximumRedeliveryDelay",
];

/// Properties the real `ActiveMQConnectionFactory` (5.17/5.18) can set from `jms.*` options
/// but the simulator does not model: accepted and ignored, with a warning.
const KNOWN_UNMODELLED: &[&str] = &[
    "alwaysSessionAsync",
    "alwaysSyncSend",
    "auditDepth",
    "auditMaximumProducerNumber",
    "blobTransferPolicy.brokerUploadUrl",
    "blobTransferPolicy.bufferSize",
    "blobTransferPolicy.defaultUploadUrl",
    "blobTransferPolicy.uploadUrl",
    "checkForDuplicates",
    "clientID",
    "clientIDPrefix",
    "closeTimeout",
    "connectionIDPrefix",
    "connectResponseTimeout",
    "consumerExpiryCheckEnabled",
    "consumerFailoverRedeliveryWaitPeriod",
    "copyMessageOnSend",
    "disableTimeStampsByDefault",
    "dispatchAsync",
    "exclusiveConsumer",
    "maxThreadPoolSize",
    "messagePrioritySupported",
    "nestedMapAndListEnabled",
    "nonBlockingRedelivery",
    "objectMessageSerializationDefered",
    "optimizedAckScheduledAckInterval",
    "optimizedMessageDispatch",
    "password",
    "prefetchPolicy.durableTopicPrefetch",
    "prefetchPolicy.maximumPendingMessageLimit",
    "prefetchPolicy.optimizeDurableTopicPrefetch",
    "prefetchPolicy.queueBrowserPrefetch",
    "prefetchPolicy.topicPrefetch",
    "producerWindowSize",
    "redeliveryPolicy.collisionAvoidancePercent",
    "redeliveryPolicy.preDispatchCheck",
    "redeliveryPolicy.queue",
    "redeliveryPolicy.topic",
    "redeliveryPolicy.useCollisionAvoidance",
    "rmIdFromConnectionId",
    "sendAcksAsync",
    "sendTimeout",
    "statsEnabled",
    "transactedIndividualAck",
    "trustAllPackages",
    "trustedPackages",
    "useAsyncSend",
    "useCompression",
    "useDedicatedTaskRunner",
    "useRetroactiveConsumer",
    "userName",
    "warnAboutUnstartedConnectionTimeout",
    "watchTopicAdvisories",
];

/// Parses `url` and extracts its `jms.*` options.
pub(crate) fn parse_broker_url(url: &str) -> Result<UrlOptions, UrlError> {
    let query = outer_query(url.trim())?;
    let mut opts = UrlOptions::default();
    let mut unknown = Vec::new();
    let mut all_prefetch = None;
    for (key, value) in parse_query(query)? {
        let Some(option) = key.strip_prefix("jms.") else {
            continue; // a transport option
        };
        // IntrospectionSupport capitalises the first letter of each property to find the
        // setter, so `jms.OptimizeAcknowledge` works as well.
        let option = lower_first_letters(option);
        let Some(value) = value else {
            return Err((
                format!("option `{key}` has no value"),
                format!("`{key}=<value>`"),
            ));
        };
        let value = value.as_str();
        match option.as_str() {
            "optimizeAcknowledge" => opts.optimize_ack = Some(boolean(&key, value)?),
            "optimizeAcknowledgeTimeOut" => {
                opts.optimize_ack_timeout = Some(millis(&key, value)?);
            }
            "prefetchPolicy.queuePrefetch" => {
                opts.queue_prefetch = Some(prefetch(&key, value, &mut opts.warnings)?);
            }
            "prefetchPolicy.all" => {
                all_prefetch = Some(prefetch(&key, value, &mut opts.warnings)?);
            }
            "redeliveryPolicy.maximumRedeliveries" => {
                let n = java_int(&key, value)?;
                opts.maximum_redeliveries = Some(match n {
                    -1 => None,
                    n if n >= 0 => Some(n as u32),
                    _ => {
                        return Err((
                            format!("`{key}={value}` is negative"),
                            "-1 (unlimited) or a count ≥ 0".to_string(),
                        ));
                    }
                });
            }
            "redeliveryPolicy.initialRedeliveryDelay" => {
                opts.initial_redelivery_delay = Some(millis(&key, value)?);
            }
            "redeliveryPolicy.redeliveryDelay" => {
                opts.redelivery_delay = Some(millis(&key, value)?);
            }
            "redeliveryPolicy.useExponentialBackOff" => {
                opts.use_exponential_backoff = Some(boolean(&key, value)?);
            }
            "redeliveryPolicy.backOffMultiplier" => {
                let m: f64 = value.trim().parse().map_err(|_| {
                    (
                        format!("`{key}={value}` is not a number"),
                        "a number such as `5.0`".to_string(),
                    )
                })?;
                if !(m.is_finite() && m > 0.0) {
                    return Err((
                        format!("`{key}={value}` is not a positive finite number"),
                        "a number > 0 such as `5.0`".to_string(),
                    ));
                }
                opts.backoff_multiplier = Some(m);
            }
            "redeliveryPolicy.maximumRedeliveryDelay" => {
                opts.maximum_redelivery_delay = Some(if value.trim() == "-1" {
                    None
                } else {
                    Some(millis(&key, value)?)
                });
            }
            other if KNOWN_UNMODELLED.contains(&other) => opts.warnings.push(format!(
                "broker_url option `{key}` is accepted by ActiveMQConnectionFactory but not modelled by the simulator; it is ignored"
            )),
            _ => unknown.push(key),
        }
    }
    if !unknown.is_empty() {
        return Err((
            format!(
                "there are {} jms options that couldn't be set on the ConnectionFactory (ActiveMQConnectionFactory throws IllegalArgumentException): unknown parameters [{}]",
                unknown.len(),
                unknown
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!(
                "correctly spelled options; the simulator models jms.{}",
                MODELLED.join(", jms.")
            ),
        ));
    }
    if opts.queue_prefetch.is_none() {
        opts.queue_prefetch = all_prefetch;
    }
    Ok(opts)
}

fn lower_first_letters(option: &str) -> String {
    option
        .split('.')
        .map(|seg| {
            let mut cs = seg.chars();
            match cs.next() {
                Some(c) => c.to_lowercase().chain(cs).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn boolean(key: &str, value: &str) -> Result<bool, UrlError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err((
            format!("`{key}={value}` is not a boolean"),
            "`true` or `false`".to_string(),
        )),
    }
}

fn java_int(key: &str, value: &str) -> Result<i32, UrlError> {
    value.trim().parse().map_err(|_| {
        (
            format!("`{key}={value}` is not a Java int"),
            "an integer between -2147483648 and 2147483647".to_string(),
        )
    })
}

fn millis(key: &str, value: &str) -> Result<SimDuration, UrlError> {
    let ms: i64 = value.trim().parse().map_err(|_| {
        (
            format!("`{key}={value}` is not a whole number of milliseconds"),
            "an integer number of milliseconds, e.g. `300`".to_string(),
        )
    })?;
    if ms < 0 {
        return Err((
            format!("`{key}={value}` is negative"),
            "a number of milliseconds ≥ 0".to_string(),
        ));
    }
    (ms as u64)
        .checked_mul(1_000_000)
        .map(SimDuration::from_nanos)
        .ok_or_else(|| {
            (
                format!("`{key}={value}` is too long"),
                "at most 18446744073709 milliseconds".to_string(),
            )
        })
}

fn prefetch(key: &str, value: &str, warnings: &mut Vec<String>) -> Result<u32, UrlError> {
    let n = java_int(key, value)?;
    if n < 0 {
        return Err((
            format!("`{key}={value}` is negative"),
            format!("a prefetch between 0 and {MAX_PREFETCH}"),
        ));
    }
    let n = n as u32;
    if n > MAX_PREFETCH {
        warnings.push(format!(
            "broker_url option `{key}={value}` is capped at {MAX_PREFETCH}, as ActiveMQPrefetchPolicy does (getMaxPrefetchLimit)"
        ));
        return Ok(MAX_PREFETCH);
    }
    Ok(n)
}

/// Checks the URI's shape and returns its outermost query (`""` if none).
fn outer_query(url: &str) -> Result<&str, UrlError> {
    if url.is_empty() {
        return Err(("empty broker_url".to_string(), URI_EXPECTED.to_string()));
    }
    if let Some((i, c)) = url
        .char_indices()
        .find(|(_, c)| c.is_whitespace() || c.is_control())
    {
        return Err((
            format!(
                "broker_url contains {} at offset {i}",
                if c == ' ' {
                    "a space".to_string()
                } else {
                    format!("the character {c:?}")
                }
            ),
            "a URI without spaces (percent-encode them as %20)".to_string(),
        ));
    }
    let mut depth = 0usize;
    for (i, c) in url.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1).ok_or_else(|| {
                    (
                        format!("unbalanced `)` at offset {i} of broker_url"),
                        "matching `(` and `)`".to_string(),
                    )
                })?;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err((
            "broker_url has an unclosed `(`".to_string(),
            "matching `(` and `)`".to_string(),
        ));
    }
    let rest = uri_rest(url)?;
    let ssp = rest.strip_prefix("//").unwrap_or(rest).trim();
    if let Some(inner) = ssp.strip_prefix('(') {
        // Composite: `scheme:(uri,uri,...)[/path][?query]`.
        let close = matching_paren(inner);
        let components = inner.get(..close).unwrap_or(inner);
        let after = inner.get(close + 1..).unwrap_or("");
        let mut depth = 0usize;
        let mut start = 0;
        let mut parts = Vec::new();
        for (i, c) in components.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    parts.push(&components[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&components[start..]);
        for part in parts {
            if part.trim().is_empty() {
                return Err((
                    "empty transport URI inside `( ... )` of broker_url".to_string(),
                    "comma-separated transport URIs like `(tcp://a:61616,tcp://b:61616)`"
                        .to_string(),
                ));
            }
            outer_query(part.trim())?;
        }
        if let Some(extra) = after.find('(') {
            return Err((
                format!(
                    "unexpected `(` after the composite part of broker_url: `{}`",
                    &after[extra..]
                ),
                URI_EXPECTED.to_string(),
            ));
        }
        Ok(after.split_once('?').map_or("", |(_, q)| q))
    } else {
        if rest.is_empty() {
            return Err((
                format!("broker_url `{url}` has nothing after its scheme"),
                URI_EXPECTED.to_string(),
            ));
        }
        let without_fragment = rest.split_once('#').map_or(rest, |(r, _)| r);
        Ok(without_fragment.split_once('?').map_or("", |(_, q)| q))
    }
}

/// Everything after `scheme:`, checking the scheme.
fn uri_rest(url: &str) -> Result<&str, UrlError> {
    let no_scheme = || {
        (
            format!("`{url}` has no scheme (such as `tcp:` or `failover:`)"),
            URI_EXPECTED.to_string(),
        )
    };
    let (scheme, rest) = url.split_once(':').ok_or_else(no_scheme)?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid {
        return Err(no_scheme());
    }
    Ok(rest)
}

/// Index in `s` of the `)` closing an already-opened `(` (the input is known balanced).
fn matching_paren(s: &str) -> usize {
    let mut depth = 1usize;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    s.len()
}

/// `k=v&k2=v2`, percent-decoded (`URISupport.parseQuery`); `k` alone has no value. Later
/// duplicates win, as in the real `HashMap`; the order of first appearance is kept.
fn parse_query(query: &str) -> Result<Vec<(String, Option<String>)>, UrlError> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = match part.split_once('=') {
            Some((k, v)) => (decode(k)?, Some(decode(v)?)),
            None => (decode(part)?, None),
        };
        match out.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    Ok(out)
}

/// `URLDecoder.decode(s, "UTF-8")`: `+` is a space, `%XX` a byte.
fn decode(s: &str) -> Result<String, UrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        (
                            format!("bad percent-escape in broker_url query `{s}`"),
                            "`%` followed by two hex digits".to_string(),
                        )
                    })?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| {
        (
            format!("broker_url query `{s}` decodes to invalid UTF-8"),
            "UTF-8 percent-escapes".to_string(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_tcp_url() {
        let o = parse_broker_url(
            "tcp://h:61616?jms.optimizeAcknowledge=true&jms.prefetchPolicy.queuePrefetch=300",
        )
        .unwrap();
        assert_eq!(o.optimize_ack, Some(true));
        assert_eq!(o.queue_prefetch, Some(300));
        assert!(o.warnings.is_empty());
    }

    #[test]
    fn failover_and_nested_composites_use_the_outer_query() {
        let o = parse_broker_url(
            "failover:(tcp://a:61616?jms.prefetchPolicy.all=5,tcp://b:61616)?randomize=false&jms.prefetchPolicy.all=7",
        )
        .unwrap();
        assert_eq!(o.queue_prefetch, Some(7));
        let o = parse_broker_url(
            "static:(failover:(tcp://a:61616,tcp://b:61616)?maxReconnectAttempts=3)?jms.redeliveryPolicy.maximumRedeliveries=-1",
        )
        .unwrap();
        assert_eq!(o.maximum_redeliveries, Some(None));
        let o = parse_broker_url("failover://(tcp://a:61616)?jms.optimizeAcknowledgeTimeOut=50")
            .unwrap();
        assert_eq!(o.optimize_ack_timeout, Some(SimDuration::from_millis(50)));
        let o = parse_broker_url("tcp://h:61616").unwrap();
        assert_eq!(o, UrlOptions::default());
    }

    #[test]
    fn redelivery_options() {
        let o = parse_broker_url(
            "tcp://h:1?jms.redeliveryPolicy.maximumRedeliveries=2&jms.redeliveryPolicy.initialRedeliveryDelay=10&jms.redeliveryPolicy.redeliveryDelay=20&jms.redeliveryPolicy.useExponentialBackOff=TRUE&jms.redeliveryPolicy.backOffMultiplier=2.5&jms.redeliveryPolicy.maximumRedeliveryDelay=1000",
        )
        .unwrap();
        assert_eq!(o.maximum_redeliveries, Some(Some(2)));
        assert_eq!(
            o.initial_redelivery_delay,
            Some(SimDuration::from_millis(10))
        );
        assert_eq!(o.redelivery_delay, Some(SimDuration::from_millis(20)));
        assert_eq!(o.use_exponential_backoff, Some(true));
        assert_eq!(o.backoff_multiplier, Some(2.5));
        assert_eq!(
            o.maximum_redelivery_delay,
            Some(Some(SimDuration::from_secs(1)))
        );
    }

    #[test]
    fn queue_prefetch_wins_over_all_and_caps_warn() {
        let o = parse_broker_url(
            "tcp://h:1?jms.prefetchPolicy.queuePrefetch=40000&jms.prefetchPolicy.all=3",
        )
        .unwrap();
        assert_eq!(o.queue_prefetch, Some(32767));
        assert_eq!(o.warnings.len(), 1);
        assert!(
            o.warnings[0].contains("capped at 32767"),
            "{:?}",
            o.warnings
        );
    }

    #[test]
    fn unknown_jms_options_are_errors_and_transport_options_ignored() {
        let (what, _) =
            parse_broker_url("tcp://h:1?wireFormat.maxInactivityDuration=0&jms.optimizeAck=true")
                .unwrap_err();
        assert!(
            what.contains("1 jms options that couldn't be set"),
            "{what}"
        );
        assert!(what.contains("`jms.optimizeAck`"), "{what}");
        let o = parse_broker_url("tcp://h:1?jms.useAsyncSend=true&soTimeout=5").unwrap();
        assert_eq!(o.warnings.len(), 1);
        assert!(o.warnings[0].contains("jms.useAsyncSend"));
    }

    #[test]
    fn percent_decoding_and_case() {
        let o = parse_broker_url("tcp://h:1?jms.%4FptimizeAcknowledge=true").unwrap();
        assert_eq!(o.optimize_ack, Some(true));
        assert!(parse_broker_url("tcp://h:1?jms.x=%G1").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(url in "[a-z:/()?,&=%.+#0-9jJ ]{0,60}") {
            let _ = parse_broker_url(&url);
        }
    }

    #[test]
    fn malformed_urls() {
        for bad in [
            "",
            "h:61616:(",
            "failover:(tcp://a:61616,tcp://b:61616?x=1",
            "failover:(tcp://a:61616,,tcp://b)",
            "tcp://a b",
            "61616",
            "localhost",
            "tcp:",
            "failover:(tcp://a))",
            "tcp://h:1?jms.optimizeAcknowledge=maybe",
            "tcp://h:1?jms.prefetchPolicy.queuePrefetch=-1",
            "tcp://h:1?jms.prefetchPolicy.queuePrefetch=99999999999",
            "tcp://h:1?jms.optimizeAcknowledge",
            "tcp://h:1?jms.redeliveryPolicy.redeliveryDelay=1s",
        ] {
            assert!(parse_broker_url(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
