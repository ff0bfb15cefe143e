//! Human-readable durations and rate limits for the configuration file.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative duration written as an integer and a unit: `500ms`, `30s`, `2m`, `1h`,
/// `7d`. A bare integer (in TOML, not in a string) means seconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HumanDuration(Duration);

impl HumanDuration {
    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    /// A duration of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Self(Duration::from_millis(millis))
    }

    /// The duration.
    pub const fn get(self) -> Duration {
        self.0
    }

    /// Whether the duration is zero.
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl From<HumanDuration> for Duration {
    fn from(d: HumanDuration) -> Self {
        d.0
    }
}

impl FromStr for HumanDuration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let micros = parse_micros(s.trim())?;
        Ok(Self(Duration::from_micros(micros)))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Durations in the file are whole milliseconds at most, so micros are exact.
        write_micros(f, self.0.as_micros())
    }
}

impl fmt::Debug for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DurationVisitor { signed: false })
            .map(|micros| Self(Duration::from_micros(micros.unsigned_abs())))
    }
}

/// A signed duration (`-30d`, `+2h`, `0s`): how far the registry clock runs ahead of
/// (positive) or behind (negative) the system clock.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SignedDuration {
    micros: i64,
}

impl SignedDuration {
    /// A signed duration of `micros` microseconds.
    pub const fn from_micros(micros: i64) -> Self {
        Self { micros }
    }

    /// The duration in microseconds, negative for an offset into the past.
    pub const fn as_micros(self) -> i64 {
        self.micros
    }

    /// Whether the duration is zero.
    pub const fn is_zero(self) -> bool {
        self.micros == 0
    }
}

impl FromStr for SignedDuration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (negative, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let micros = i64::try_from(parse_micros(rest)?).map_err(|_| too_long(s))?;
        Ok(Self {
            micros: if negative { -micros } else { micros },
        })
    }
}

impl fmt::Display for SignedDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.micros < 0 {
            f.write_str("-")?;
        }
        write_micros(f, u128::from(self.micros.unsigned_abs()))
    }
}

impl fmt::Debug for SignedDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for SignedDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SignedDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DurationVisitor { signed: true })
            .map(|micros| Self { micros })
    }
}

/// A per-registrar rate limit: `"off"`, or `"<count>/<duration>"` such as `"600/1m"`
/// (at most `count` commands of the class in any `duration`, with bursts up to `count`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RateLimitSetting {
    /// No limit.
    #[default]
    Off,
    /// At most `count` commands per `per`.
    Limit {
        /// Commands allowed per window (at least 1).
        count: u32,
        /// The window (not zero).
        per: HumanDuration,
    },
}

impl FromStr for RateLimitSetting {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(Self::Off);
        }
        let bad = || {
            format!(
                "invalid rate limit {s:?}: expected \"off\" or \"<count>/<duration>\" such as \"600/1m\""
            )
        };
        let (count, per) = s.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let per: HumanDuration = per.parse().map_err(|_| bad())?;
        if count == 0 || per.is_zero() {
            return Err(format!(
                "invalid rate limit {s:?}: count and duration must be positive (use \"off\" for no limit)"
            ));
        }
        Ok(Self::Limit { count, per })
    }
}

impl fmt::Display for RateLimitSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Off => f.write_str("off"),
            Self::Limit { count, per } => write!(f, "{count}/{per}"),
        }
    }
}

impl fmt::Debug for RateLimitSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for RateLimitSetting {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RateLimitSetting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

struct DurationVisitor {
    signed: bool,
}

impl Visitor<'_> for DurationVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.signed {
            f.write_str("a signed duration such as \"-30d\", \"+2h\" or \"0s\"")
        } else {
            f.write_str("a duration such as \"500ms\", \"30s\", \"2m\", \"1h\" or \"7d\"")
        }
    }

    fn visit_i64<E: de::Error>(self, secs: i64) -> Result<i64, E> {
        if secs < 0 && !self.signed {
            return Err(E::custom("a duration must not be negative"));
        }
        secs.checked_mul(1_000_000)
            .ok_or_else(|| E::custom("duration too long"))
    }

    fn visit_u64<E: de::Error>(self, secs: u64) -> Result<i64, E> {
        let secs = i64::try_from(secs).map_err(|_| E::custom("duration too long"))?;
        self.visit_i64(secs)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<i64, E> {
        if self.signed {
            s.parse::<SignedDuration>()
                .map(|d| d.micros)
                .map_err(E::custom)
        } else {
            let micros = parse_micros(s.trim()).map_err(E::custom)?;
            i64::try_from(micros).map_err(|_| E::custom(too_long(s)))
        }
    }
}

const UNITS: [(&str, u64); 6] = [
    ("d", 86_400_000_000),
    ("h", 3_600_000_000),
    ("m", 60_000_000),
    ("s", 1_000_000),
    ("ms", 1_000),
    ("us", 1),
];

fn parse_micros(s: &str) -> Result<u64, String> {
    let digits_end = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("duration {s:?} has no unit (ms, s, m, h or d)"))?;
    let (number, unit) = s.split_at(digits_end);
    if number.is_empty() {
        return Err(format!(
            "invalid duration {s:?}: expected an integer and a unit, e.g. \"30s\""
        ));
    }
    let per_unit = UNITS
        .iter()
        .find(|(name, _)| *name == unit.trim())
        .map(|(_, micros)| *micros)
        .ok_or_else(|| format!("invalid duration unit in {s:?}: use ms, s, m, h or d"))?;
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(per_unit))
        .filter(|m| *m <= i64::MAX as u64)
        .ok_or_else(|| too_long(s))
}

fn too_long(s: &str) -> String {
    format!("duration {s:?} is too long")
}

fn write_micros(f: &mut fmt::Formatter<'_>, micros: u128) -> fmt::Result {
    if micros == 0 {
        return f.write_str("0s");
    }
    for (name, per_unit) in UNITS {
        let per_unit = u128::from(per_unit);
        if micros.is_multiple_of(per_unit) {
            return write!(f, "{}{name}", micros / per_unit);
        }
    }
    // Unreachable: every duration is a whole number of microseconds ("us" divides all).
    write!(f, "{micros}us")
}
