//! The one integration-test binary: the CLI as a user runs it, and every shipped scenario's
//! promised outcome.

mod chart;
mod cli;
mod scenarios;
mod sweep;
mod tune;
