//! Send-back, delay levels, `%RETRY%<group>` and `%DLQ%<group>` (semantics.md B4, B5.3).

use crate::engine::SimDuration;

/// The broker's `messageDelayLevel` table, levels 1..=18 (B4.6):
/// `1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h`.
pub const DELAY_LEVELS_S: [u64; 18] = [
    1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200,
];

/// What the client sends as `maxReconsumeTimes` for concurrent consumption when the consumer
/// says −1 (B4.2).
pub const CONCURRENT_DEFAULT_MAX_RECONSUME: u32 = 16;

/// The delay of `level` (1-based); levels above 18 are clamped to 18 (B4.6).
pub fn delay_of_level(level: u32) -> SimDuration {
    let index = level.clamp(1, DELAY_LEVELS_S.len() as u32) as usize - 1;
    SimDuration::from_secs(DELAY_LEVELS_S[index])
}

/// The broker's answer to a send-back (`SendMessageProcessor.asyncConsumerSendMsgBack`, B4.2):
/// the stored message's `reconsumeTimes` decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendBackOutcome {
    /// Into `SCHEDULE_TOPIC_XXXX` for `delay`, then `%RETRY%<group>` with `reconsume_times`.
    Retry {
        level: u32,
        delay: SimDuration,
        reconsume_times: u32,
    },
    /// Into `%DLQ%<group>` (not consumed automatically).
    DeadLetter,
}

/// A CONSUMER_SEND_MSG_BACK with `delayLevelWhenNextConsume` 0 for a message consumed with
/// `reconsume_times`, the client's `max_reconsume_times` already resolved (16 for −1).
/// DLQ if `reconsume_times ≥ max`; otherwise level `3 + reconsume_times` (B4.2, B4.7).
pub fn broker_send_back(reconsume_times: u32, max_reconsume_times: u32) -> SendBackOutcome {
    broker_send_back_at_level(reconsume_times, max_reconsume_times, 0)
}

/// A send-back with `delayLevelWhenNextConsume` `level`: 0 means `3 + reconsume_times`; the
/// expired-message cleaner asks for 3 (B4.8).
pub fn broker_send_back_at_level(
    reconsume_times: u32,
    max_reconsume_times: u32,
    level: u32,
) -> SendBackOutcome {
    if reconsume_times >= max_reconsume_times {
        return SendBackOutcome::DeadLetter;
    }
    let level = if level == 0 {
        3 + reconsume_times
    } else {
        level
    };
    SendBackOutcome::Retry {
        level,
        delay: delay_of_level(level),
        reconsume_times: reconsume_times + 1,
    }
}

/// The delays a message waits before its retries when it fails every time, concurrent
/// consumption with `max` resolved (B4.7: 4h45m40s for 16).
pub fn total_retry_delay(max_reconsume_times: u32) -> SimDuration {
    (0..max_reconsume_times).fold(SimDuration::ZERO, |sum, r| {
        match broker_send_back(r, max_reconsume_times) {
            SendBackOutcome::Retry { delay, .. } => sum + delay,
            SendBackOutcome::DeadLetter => sum,
        }
    })
}

/// `ConsumeMessageOrderlyService`: the suspend time is clamped to [10 ms, 30 s] (B5.3).
pub fn orderly_suspend(time: SimDuration) -> SimDuration {
    time.clamp(SimDuration::from_millis(10), SimDuration::from_secs(30))
}
