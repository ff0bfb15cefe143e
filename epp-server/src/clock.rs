//! The registry clock: system time plus the test-environment offset.

use std::time::{SystemTime, UNIX_EPOCH};

use epp_xml::Timestamp;

use crate::config::SignedDuration;

/// The time the registry runs on: the system clock shifted by `testing.clock_offset`
/// (zero in production, where an offset is refused).
///
/// Only registry semantics use it (what the session is told `now` is); timeouts use the
/// monotonic clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RegistryClock {
    offset: SignedDuration,
}

impl RegistryClock {
    /// A clock running `offset` ahead of (or, if negative, behind) the system clock.
    pub fn new(offset: SignedDuration) -> Self {
        Self { offset }
    }

    /// The offset from the system clock.
    pub fn offset(&self) -> SignedDuration {
        self.offset
    }

    /// The registry's current time.
    pub fn now(&self) -> Timestamp {
        self.at(SystemTime::now())
    }

    /// The registry time at system time `system`.
    pub fn at(&self, system: SystemTime) -> Timestamp {
        let micros = match system.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
            Err(before) => -i64::try_from(before.duration().as_micros()).unwrap_or(i64::MAX),
        };
        Timestamp::from_unix_micros(micros.saturating_add(self.offset.as_micros()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn offset_shifts_the_system_time() {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            RegistryClock::default().at(t).unix_micros(),
            1_700_000_000_000_000
        );
        let ahead = RegistryClock::new("+30d".parse().unwrap());
        assert_eq!(
            ahead.at(t).unix_micros(),
            1_700_000_000_000_000 + 30 * 86_400 * 1_000_000
        );
        let behind = RegistryClock::new("-2h".parse().unwrap());
        assert_eq!(
            behind.at(t).unix_micros(),
            1_700_000_000_000_000 - 2 * 3_600 * 1_000_000
        );
    }
}
