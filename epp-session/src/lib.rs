//! The sans-IO EPP session state machine and the registry logic behind it.
//!
//! One registrar connection from greeting to logout ([`Session`]): input is one frame
//! payload plus the current time, output is the response bytes and what the connection
//! must do next ([`Reply`]). The registry logic applies Norid's rules
//! (`epp_norid_ext::policy`) to objects reached through the [`Store`](store::Store) trait,
//! stated in EPP terms. The registry's own scheduled work (expiry lifecycle, purges) is
//! [`lifecycle::advance`].
//!
//! What this crate deliberately does **not** do: sockets, TLS, tokio, SQL or reading the
//! wall clock. Time is an argument of every entry point; randomness and the counters that
//! span connections (sessions per registrar, rate limits) are injected ([`Services`]).

mod config;
#[cfg(any(test, feature = "test-util"))]
#[doc(hidden)]
pub mod fuzz_target;
mod problem;
mod registry;
mod services;
mod session;
pub mod store;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use config::SessionConfig;
pub use registry::{lifecycle, zone};
pub use services::{
    InProcessRateLimiter, InProcessSessions, RateClass, RateLimitExceeded, RateLimits, RateSetting,
    Services, SessionLimitReached, SessionSlot, SessionSlots,
};
pub use session::{Action, CloseCause, ConnectionInfo, LimitRefusal, Outcome, Reply, Session};
