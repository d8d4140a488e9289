//! The one integration-test binary: acksim as users and scripts run it — the CLI, sweeps and
//! merges, charts and tuning — and every shipped scenario's promised outcome.

mod chart;
mod cli;
mod scenarios;
mod sweep;
mod tune;
mod workspace;
