//! The discrete-event engine: integer time, a stable future-event list and seeded random
//! streams. It knows nothing of brokers; models drive it through [`EventQueue`].

mod queue;
mod rng;
mod time;

pub use queue::EventQueue;
pub use rng::{RngStreams, SimRng, derive_seed};
pub use time::{SimDuration, SimTime};
