//! The producers' send fields, the broker crash and the idempotent store as the scenario
//! file spells them.

use crate::engine::SimDuration;
use crate::model::config::{BrokerCrash, IdempotentConfig, SendFaults, SendPolicy};
use crate::scenario::parse_str;

fn producer_yaml(fields: &str) -> String {
    format!("name: t\nproducers:\n  - messages: 1\n{fields}consumers:\n  - {{}}\n")
}

#[test]
fn persistent_sends_are_sync_and_non_persistent_async_by_default() {
    let l = parse_str(&producer_yaml(""), "s.yaml").unwrap();
    let send = l.scenario.producers[0].send;
    assert!(send.persistent);
    assert_eq!(send.policy, SendPolicy::activemq_default(true));
    assert_eq!(send.faults, SendFaults::default());
    let l = parse_str(&producer_yaml("    persistent: false\n"), "s.yaml").unwrap();
    assert_eq!(
        l.scenario.producers[0].send.policy,
        SendPolicy::ActiveMqAsync
    );
}

#[test]
fn send_and_faults_fields_are_read() {
    let text = producer_yaml(
        "    send: { mode: sync, timeout: 2s, retries: 3, failover: true }\n    faults: { request_loss: 0.1, response_loss: 0.2, slow_broker: { probability: 0.3, delay: 5s } }\n",
    );
    let send = parse_str(&text, "s.yaml").unwrap().scenario.producers[0].send;
    assert_eq!(
        send.policy,
        SendPolicy::ActiveMqSync {
            send_timeout: Some(SimDuration::from_secs(2)),
            retries: 3,
            failover: true
        }
    );
    assert_eq!(
        send.faults,
        SendFaults {
            request_loss: 0.1,
            response_loss: 0.2,
            slow_probability: 0.3,
            slow_delay: SimDuration::from_secs(5),
        }
    );
}

#[test]
fn an_async_send_has_no_timeout() {
    let text = producer_yaml("    persistent: false\n    send: { timeout: 1s }\n");
    let e = parse_str(&text, "s.yaml").unwrap_err().to_string();
    assert!(e.starts_with("s.yaml:5:11: "), "{e}");
    assert!(
        e.contains("send.timeout does not apply to an asynchronous"),
        "{e}"
    );
}

#[test]
fn oneway_is_not_an_activemq_mode_and_probabilities_are_checked() {
    let e = parse_str(&producer_yaml("    send: { mode: oneway }\n"), "s.yaml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown send mode `oneway`"), "{e}");
    let e = parse_str(
        &producer_yaml("    faults: { request_loss: 1.5 }\n"),
        "s.yaml",
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("s.yaml:4:29: "), "{e}");
    assert!(e.contains("faults.request_loss 1.5 is out of range"), "{e}");
}

#[test]
fn broker_crash_and_idempotent_store_are_read() {
    let text = "name: t\nbroker:\n  crash: { at: 5s, restart_after: 2s }\n  persist_jms_redelivered: true\nproducers:\n  - messages: 1\nconsumers:\n  - idempotent: { capacity: 10, ttl: 1m }\n";
    let s = parse_str(text, "s.yaml").unwrap().scenario;
    assert_eq!(
        s.broker.crash,
        Some(BrokerCrash {
            at: SimDuration::from_secs(5),
            restart_after: SimDuration::from_secs(2),
        })
    );
    assert!(s.broker.persist_jms_redelivered);
    assert_eq!(
        s.consumers[0].idempotent,
        Some(IdempotentConfig {
            capacity: 10,
            ttl: Some(SimDuration::from_secs(60)),
        })
    );
    let e = parse_str(
        "name: t\nbroker:\n  crash: { at: 5s }\nproducers:\n  - messages: 1\nconsumers:\n  - {}\n",
        "s.yaml",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("broker.crash needs `restart_after`"), "{e}");
}
