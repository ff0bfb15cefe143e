use std::fmt;

use super::ValueError;

const MICROS_PER_SEC: i64 = 1_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// A calendar date (`xs:date`), proleptic Gregorian, years 1-9999.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// Builds a date, checking that it exists.
    ///
    /// # Errors
    ///
    /// [`ValueError::Malformed`] for a year outside 1-9999, a month outside 1-12 or a day
    /// past the end of the month.
    pub fn new(year: i32, month: u8, day: u8) -> Result<Self, ValueError> {
        let bad = |rule| ValueError::Malformed {
            type_name: "xs:date",
            rule,
        };
        if !(1..=9999).contains(&year) {
            return Err(bad("year must be 0001-9999"));
        }
        if !(1..=12).contains(&month) {
            return Err(bad("month must be 01-12"));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(bad("day does not exist in that month"));
        }
        Ok(Self { year, month, day })
    }

    /// Parses the `xs:date` lexical form `YYYY-MM-DD`, with an optional time zone
    /// (`Z` or `±hh:mm`) that is checked and then ignored: EPP dates are calendar days.
    ///
    /// # Errors
    ///
    /// [`ValueError::Malformed`] naming what is wrong.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let b = s.as_bytes();
        let bad = |rule| ValueError::Malformed {
            type_name: "xs:date",
            rule,
        };
        if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad("expected YYYY-MM-DD"));
        }
        let year = digits(&b[0..4]).ok_or(bad("expected YYYY-MM-DD"))?;
        let month = digits(&b[5..7]).ok_or(bad("expected YYYY-MM-DD"))?;
        let day = digits(&b[8..10]).ok_or(bad("expected YYYY-MM-DD"))?;
        parse_zone(&b[10..]).ok_or(bad("time zone must be Z or +hh:mm / -hh:mm"))?;
        Self::new(year as i32, month as u8, day as u8)
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month, 1-12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, 1-31.
    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        days_from_civil(self.year, self.month, self.day)
    }

    /// The date `days` days since 1970-01-01.
    ///
    /// # Errors
    ///
    /// [`ValueError::Malformed`] when the result falls outside years 1-9999.
    pub fn from_days_since_epoch(days: i64) -> Result<Self, ValueError> {
        let (y, m, d) = civil_from_days(days);
        Self::new(y, m, d)
    }

    /// This date moved by `months` calendar months; a day past the end of the target month
    /// becomes its last day (2024-01-31 + 1 month = 2024-02-29).
    ///
    /// # Errors
    ///
    /// [`ValueError::Malformed`] when the result falls outside years 1-9999.
    pub fn add_months(self, months: i32) -> Result<Self, ValueError> {
        let index = self.year as i64 * 12 + (self.month as i64 - 1) + months as i64;
        let year = index.div_euclid(12);
        let month = (index.rem_euclid(12) + 1) as u8;
        let year = i32::try_from(year).map_err(|_| ValueError::Malformed {
            type_name: "xs:date",
            rule: "year must be 0001-9999",
        })?;
        let day = self.day.min(days_in_month(year, month));
        Self::new(year, month, day)
    }

    /// This date moved by `days` days.
    ///
    /// # Errors
    ///
    /// [`ValueError::Malformed`] when the result falls outside years 1-9999.
    pub fn add_days(self, days: i64) -> Result<Self, ValueError> {
        Self::from_days_since_epoch(self.days_since_epoch() + days)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

impl std::str::FromStr for Date {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        Self::parse(s)
    }
}

/// An instant in UTC with microsecond precision (`xs:dateTime`), years 1-9999.
///
/// EPP responses show it the way Norid does: UTC with two fractional digits,
/// `2017-09-11T08:34:49.15Z` (its `Display` truncates to centiseconds).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The instant `micros` microseconds after 1970-01-01T00:00:00Z.
    pub fn from_unix_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// Microseconds since 1970-01-01T00:00:00Z.
    pub fn unix_micros(self) -> i64 {
        self.0
    }

    /// Builds an instant from UTC calendar fields.
    ///
    /// # Errors
    ///
    /// [`ValueError::Malformed`] when a field is out of range.
    pub fn from_parts(
        date: Date,
        hour: u8,
        minute: u8,
        second: u8,
        micros: u32,
    ) -> Result<Self, ValueError> {
        let bad = |rule| ValueError::Malformed {
            type_name: "xs:dateTime",
            rule,
        };
        if hour > 23 || minute > 59 || second > 59 {
            return Err(bad("time must be hh:mm:ss within 00:00:00-23:59:59"));
        }
        if micros >= 1_000_000 {
            return Err(bad("fraction of a second out of range"));
        }
        let secs = date.days_since_epoch() * SECS_PER_DAY
            + hour as i64 * 3600
            + minute as i64 * 60
            + second as i64;
        Ok(Self(secs * MICROS_PER_SEC + micros as i64))
    }

    /// Parses the `xs:dateTime` lexical form `YYYY-MM-DDThh:mm:ss[.f+][Z|±hh:mm]`.
    ///
    /// A value without a time zone is read as UTC (what EPP servers and clients mean).
    /// Fractions beyond microseconds are truncated; `24:00:00` is refused.
    ///
    /// # Errors
    ///
    /// [`ValueError::Malformed`] naming what is wrong.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let b = s.as_bytes();
        let bad = |rule| ValueError::Malformed {
            type_name: "xs:dateTime",
            rule,
        };
        if b.len() < 19 || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return Err(bad("expected YYYY-MM-DDThh:mm:ss"));
        }
        let date = Date::parse(&s[..10]).map_err(|_| bad("expected a valid YYYY-MM-DD date"))?;
        let field = |r: std::ops::Range<usize>| digits(&b[r]).ok_or(bad("expected hh:mm:ss"));
        let (hour, minute, second) = (field(11..13)?, field(14..16)?, field(17..19)?);
        let mut rest = &b[19..];
        let mut micros = 0u32;
        if let [b'.', tail @ ..] = rest {
            let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return Err(bad("a '.' must be followed by digits"));
            }
            for (i, c) in tail[..n].iter().enumerate() {
                if i < 6 {
                    micros = micros * 10 + u32::from(c - b'0');
                }
            }
            micros *= 10u32.pow(6usize.saturating_sub(n) as u32);
            rest = &tail[n..];
        }
        let offset = parse_zone(rest).ok_or(bad("time zone must be Z or +hh:mm / -hh:mm"))?;
        let local = Self::from_parts(date, hour as u8, minute as u8, second as u8, micros)?;
        Ok(Self(local.0 - offset * 60 * MICROS_PER_SEC))
    }

    /// The UTC calendar date of this instant.
    pub fn date(self) -> Date {
        let days = self.0.div_euclid(SECS_PER_DAY * MICROS_PER_SEC);
        let (y, m, d) = civil_from_days(days);
        // Outside years 1-9999 only for instants no parser or clock produces; clamp the
        // year so formatting stays total.
        Date {
            year: y.clamp(1, 9999),
            month: m,
            day: d,
        }
    }

    /// Hours, minutes, seconds and microseconds of the UTC time of day.
    pub fn time_of_day(self) -> (u8, u8, u8, u32) {
        let day_micros = self.0.rem_euclid(SECS_PER_DAY * MICROS_PER_SEC);
        let secs = day_micros / MICROS_PER_SEC;
        (
            (secs / 3600) as u8,
            (secs / 60 % 60) as u8,
            (secs % 60) as u8,
            (day_micros % MICROS_PER_SEC) as u32,
        )
    }

    /// This instant moved by `micros` microseconds.
    pub fn add_micros(self, micros: i64) -> Self {
        Self(self.0.saturating_add(micros))
    }

    /// This instant moved by whole seconds.
    pub fn add_secs(self, secs: i64) -> Self {
        self.add_micros(secs.saturating_mul(MICROS_PER_SEC))
    }

    /// The instant truncated to the centisecond, the precision EPP responses show.
    pub fn truncate_to_centis(self) -> Self {
        Self(self.0 - self.0.rem_euclid(10_000))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (h, m, s, us) = self.time_of_day();
        write!(
            f,
            "{}T{h:02}:{m:02}:{s:02}.{:02}Z",
            self.date(),
            us / 10_000
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (h, m, s, us) = self.time_of_day();
        write!(
            f,
            "Timestamp({}T{h:02}:{m:02}:{s:02}.{us:06}Z)",
            self.date()
        )
    }
}

impl std::str::FromStr for Timestamp {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        Self::parse(s)
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// Parses an optional `xs:dateTime` zone; returns its offset east of UTC in minutes.
fn parse_zone(b: &[u8]) -> Option<i64> {
    match b {
        [] | [b'Z'] => Some(0),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2])? as i64;
            let m = digits(&[*m1, *m2])? as i64;
            if h > 14 || m > 59 || (h == 14 && m != 0) {
                return None;
            }
            let off = h * 60 + m;
            Some(if *sign == b'-' { -off } else { off })
        }
        _ => None,
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u8) -> u8 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date `z` days after 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i32, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parses_and_formats_norid_timestamps() {
        let t = Timestamp::parse("2017-09-11T08:34:49.15Z").unwrap();
        assert_eq!(t.to_string(), "2017-09-11T08:34:49.15Z");
        assert_eq!(t.date(), Date::new(2017, 9, 11).unwrap());
        assert_eq!(
            Timestamp::parse("1970-01-01T00:00:00Z")
                .unwrap()
                .unix_micros(),
            0
        );
    }

    #[test]
    fn applies_zone_offsets() {
        let a = Timestamp::parse("2017-09-11T10:44:54+02:00").unwrap();
        let b = Timestamp::parse("2017-09-11T08:44:54Z").unwrap();
        assert_eq!(a, b);
        let c = Timestamp::parse("2017-09-10T23:00:00-01:30").unwrap();
        assert_eq!(c.to_string(), "2017-09-11T00:30:00.00Z");
    }

    #[test]
    fn fraction_digits_are_truncated_to_micros() {
        let t = Timestamp::parse("2000-01-01T00:00:00.1234567Z").unwrap();
        assert_eq!(t.time_of_day().3, 123_456);
        let t = Timestamp::parse("2000-01-01T00:00:00.5Z").unwrap();
        assert_eq!(t.time_of_day().3, 500_000);
    }

    #[test]
    fn refuses_malformed_date_times() {
        for s in [
            "2017-09-11",
            "2017-09-11 08:34:49Z",
            "2017-02-30T00:00:00Z",
            "2017-09-11T24:00:00Z",
            "2017-09-11T08:34:49.Z",
            "2017-09-11T08:34:49+2:00",
            "2017-09-11T08:34:49+15:00",
            "2017-09-11T08:34:49ZZ",
            "0000-01-01T00:00:00Z",
            "２０17-09-11T08:34:49Z",
        ] {
            assert!(Timestamp::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn dates_parse_with_optional_zone() {
        assert_eq!(Date::parse("2017-09-13").unwrap().to_string(), "2017-09-13");
        assert_eq!(
            Date::parse("2017-09-13Z").unwrap().to_string(),
            "2017-09-13"
        );
        assert_eq!(Date::parse("2017-09-13+01:00").unwrap().day(), 13);
        assert!(Date::parse("2017-9-13").is_err());
        assert!(Date::parse("2100-02-29").is_err());
        assert!(Date::parse("2000-02-29").is_ok());
    }

    #[test]
    fn add_months_clamps_to_month_end() {
        let d = Date::new(2024, 1, 31).unwrap();
        assert_eq!(d.add_months(1).unwrap(), Date::new(2024, 2, 29).unwrap());
        assert_eq!(d.add_months(13).unwrap(), Date::new(2025, 2, 28).unwrap());
        assert_eq!(d.add_months(-2).unwrap(), Date::new(2023, 11, 30).unwrap());
        let s = Date::new(2017, 9, 13).unwrap();
        assert_eq!(s.add_months(5).unwrap(), Date::new(2018, 2, 13).unwrap());
        assert!(Date::new(9999, 12, 1).unwrap().add_months(1).is_err());
    }

    #[test]
    fn truncation_to_centis() {
        let t = Timestamp::parse("2017-09-11T08:34:49.159999Z").unwrap();
        assert_eq!(
            t.truncate_to_centis(),
            Timestamp::parse("2017-09-11T08:34:49.15Z").unwrap()
        );
        let before_epoch = Timestamp::from_unix_micros(-1);
        assert_eq!(before_epoch.truncate_to_centis().unix_micros(), -10_000);
    }

    proptest! {
        #[test]
        fn days_round_trip(days in -719_162i64..2_932_896) {
            let d = Date::from_days_since_epoch(days).unwrap();
            prop_assert_eq!(d.days_since_epoch(), days);
            prop_assert_eq!(Date::parse(&d.to_string()).unwrap(), d);
        }

        #[test]
        fn timestamps_round_trip_at_centis(centis in -6_000_000_000_000i64..25_000_000_000_000) {
            let t = Timestamp::from_unix_micros(centis * 10_000);
            prop_assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
        }
    }
}
