//! Norwegian time and the registry's clock rules: local time (Europe/Oslo), renewal
//! arithmetic and window, the expiry lifecycle, transfer-token and poll-message lifetimes.
//!
//! Norway follows the EU summer-time rule: CEST (UTC+2) from the last Sunday of March at
//! 01:00 UTC to the last Sunday of October at 01:00 UTC, CET (UTC+1) otherwise. The rule is
//! applied to every year; Norway's history before 1996 (other end dates, no summer time in
//! 1966-1979) is not modelled, since no registry timestamp is that old.

use epp_xml::{Date, DomainName, Timestamp, ValueError};

use super::Refusal;
use super::domain::{Period, renew_period_months};

/// CET, UTC+1, in seconds.
pub const CET_OFFSET_SECS: i64 = 3600;
/// CEST, UTC+2, in seconds.
pub const CEST_OFFSET_SECS: i64 = 7200;
/// A domain is renewable from this many days (Norwegian local dates) before its expiry date.
pub const RENEW_WINDOW_DAYS: i64 = 30;
/// An unrenewed domain leaves the zone and enters quarantine this many months after expiry.
pub const QUARANTINE_AFTER_MONTHS: i32 = 2;
/// An unrenewed domain is deleted this many months after expiry.
pub const DELETION_AFTER_MONTHS: i32 = 3;
/// A one-time transfer token is valid this many days after it is issued.
pub const TRANSFER_TOKEN_LIFETIME_DAYS: i64 = 30;
/// A service message not acknowledged this many days after its qDate is acknowledged by the
/// registry.
pub const POLL_AUTO_ACK_DAYS: i64 = 21;

const SECS_PER_DAY: i64 = 86_400;

/// A wall-clock time in Norway (Europe/Oslo).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OsloTime {
    /// The local date.
    pub date: Date,
    /// Hour, 0-23.
    pub hour: u8,
    /// Minute, 0-59.
    pub minute: u8,
    /// Second, 0-59.
    pub second: u8,
    /// Microseconds, 0-999 999.
    pub micros: u32,
}

impl OsloTime {
    /// The Norwegian wall-clock time at an instant.
    pub fn from_utc(t: Timestamp) -> Self {
        let local = t.add_secs(utc_offset_secs(t));
        let (hour, minute, second, micros) = local.time_of_day();
        OsloTime {
            date: local.date(),
            hour,
            minute,
            second,
            micros,
        }
    }

    /// The instant this wall-clock time denotes.
    ///
    /// In the autumn hour that happens twice (02:00-02:59 on the last Sunday of October) the
    /// first, summer-time instant is chosen; a time in the spring hour that does not exist
    /// (02:00-02:59 on the last Sunday of March) is read with the winter offset, which lands
    /// one hour later on the summer clock (02:30 becomes 03:30 CEST).
    ///
    /// # Errors
    ///
    /// [`ValueError`] when a field is out of range.
    pub fn to_utc(&self) -> Result<Timestamp, ValueError> {
        let naive =
            Timestamp::from_parts(self.date, self.hour, self.minute, self.second, self.micros)?;
        let summer = naive.add_secs(-CEST_OFFSET_SECS);
        if utc_offset_secs(summer) == CEST_OFFSET_SECS {
            return Ok(summer);
        }
        Ok(naive.add_secs(-CET_OFFSET_SECS))
    }
}

/// Norway's offset from UTC at an instant: [`CEST_OFFSET_SECS`] in summer time,
/// [`CET_OFFSET_SECS`] otherwise.
pub fn utc_offset_secs(t: Timestamp) -> i64 {
    if is_summer_time(t) {
        CEST_OFFSET_SECS
    } else {
        CET_OFFSET_SECS
    }
}

/// Whether Norway is on summer time (CEST) at an instant.
pub fn is_summer_time(t: Timestamp) -> bool {
    let year = t.date().year();
    let micros = t.unix_micros();
    match (
        last_sunday_0100_utc(year, 3),
        last_sunday_0100_utc(year, 10),
    ) {
        (Some(start), Some(end)) => start <= micros && micros < end,
        _ => false,
    }
}

/// The Norwegian local date at an instant.
pub fn oslo_date(t: Timestamp) -> Date {
    OsloTime::from_utc(t).date
}

/// The instant `months` calendar months after `t` on the Norwegian wall clock: same local
/// time of day, same day of month (or the month's last day when it is shorter).
///
/// Seed 003: 2017-09-13T14:02:37Z (16:02:37 CEST) + 5 months = 2018-02-13T15:02:37Z
/// (16:02:37 CET).
///
/// # Errors
///
/// [`Refusal::DateOutOfRange`] past year 9999.
pub fn add_months_oslo(t: Timestamp, months: i32) -> Result<Timestamp, Refusal> {
    let local = OsloTime::from_utc(t);
    let date = local
        .date
        .add_months(months)
        .map_err(|_| Refusal::DateOutOfRange)?;
    OsloTime { date, ..local }
        .to_utc()
        .map_err(|_| Refusal::DateOutOfRange)
}

/// The first Norwegian local date on which a domain expiring at `expires` can be renewed:
/// [`RENEW_WINDOW_DAYS`] days before the local date of expiry (seed 003: expiry 2018-02-13
/// gives 2018-01-14).
pub fn renew_window_opens(expires: Timestamp) -> Date {
    let day = oslo_date(expires);
    day.add_days(-RENEW_WINDOW_DAYS).unwrap_or(day)
}

/// Checks that the renew window is open: today's Norwegian date is on or after
/// [`renew_window_opens`].
///
/// # Errors
///
/// [`Refusal::NotRenewableBefore`] (2105, Norid's `EC002003`): "Domain \[x\] is not renewable
/// before [2018-01-14]."
pub fn check_renew_window(
    name: &DomainName,
    expires: Timestamp,
    now: Timestamp,
) -> Result<(), Refusal> {
    let opens = renew_window_opens(expires);
    if oslo_date(now) < opens {
        return Err(Refusal::NotRenewableBefore {
            name: name.to_string(),
            date: opens,
        });
    }
    Ok(())
}

/// Checks a renew's `curExpDate` against the domain's expiry: the UTC date of exDate (what
/// info shows) or its Norwegian local date (they differ for expiries between 22:00 and 24:00
/// UTC).
///
/// # Errors
///
/// [`Refusal::ExpiryDateMismatch`] (2306).
pub fn check_cur_exp_date(
    name: &DomainName,
    expires: Timestamp,
    cur_exp_date: Date,
) -> Result<(), Refusal> {
    if cur_exp_date == expires.date() || cur_exp_date == oslo_date(expires) {
        return Ok(());
    }
    Err(Refusal::ExpiryDateMismatch {
        name: name.to_string(),
        expires: expires.date(),
        given: cur_exp_date,
    })
}

/// Decides a `domain:renew`: the period (1-12 months or 1 year; omitted means 1 year), the
/// curExpDate guard, the renew window; returns the new expiry, the old one moved by whole
/// calendar months on the Norwegian wall clock ([`add_months_oslo`]).
///
/// Expired domains (still registered or in quarantine) renew from their old expiry date.
///
/// # Errors
///
/// [`Refusal::RenewPeriod`] (2004), [`Refusal::ExpiryDateMismatch`] (2306),
/// [`Refusal::NotRenewableBefore`] (2105), [`Refusal::DateOutOfRange`] (2004).
pub fn renew(
    name: &DomainName,
    expires: Timestamp,
    cur_exp_date: Date,
    period: Option<Period>,
    now: Timestamp,
) -> Result<Timestamp, Refusal> {
    let months = renew_period_months(name, period)?;
    check_cur_exp_date(name, expires, cur_exp_date)?;
    check_renew_window(name, expires, now)?;
    add_months_oslo(expires, i32::from(months))
}

/// Decides the renewal part of a transfer (execute, or request with a period): an expired
/// domain must be renewed in the same operation; a period, when given, follows the renew
/// rules. Returns the new expiry, or `None` when the transfer leaves it unchanged.
///
/// # Errors
///
/// [`Refusal::RenewalPeriodRequired`] (2306; Norid's text "Domain \[x\] expired 2024-01-01. The
/// transfer command must include a renewal period."), [`Refusal::RenewPeriod`],
/// [`Refusal::NotRenewableBefore`], [`Refusal::DateOutOfRange`].
pub fn transfer_renewal(
    name: &DomainName,
    expires: Timestamp,
    period: Option<Period>,
    now: Timestamp,
) -> Result<Option<Timestamp>, Refusal> {
    let Some(period) = period else {
        if now >= expires {
            return Err(Refusal::RenewalPeriodRequired {
                name: name.to_string(),
                expired: expires.date(),
            });
        }
        return Ok(None);
    };
    let months = renew_period_months(name, Some(period))?;
    check_renew_window(name, expires, now)?;
    add_months_oslo(expires, i32::from(months)).map(Some)
}

/// Where an unrenewed domain is in Norid's expiry lifecycle (digest §6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifecycleStage {
    /// Before the expiry date.
    Registered,
    /// Expired, still in the zone; the holder has been told.
    Expired,
    /// Out of the zone and in quarantine (from 2 months after expiry); a renewal restores it.
    Quarantined,
    /// Due for deletion (from 3 months after expiry); free for registration once deleted.
    Deletable,
}

/// The dates of an unrenewed domain's expiry lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExpiryLifecycle {
    /// The expiry date (exDate).
    pub expires: Timestamp,
    /// When it leaves the zone and enters quarantine: expiry + 2 months (Norwegian wall
    /// clock); `domain-quarantined` service message.
    pub quarantine: Timestamp,
    /// When it is deleted: expiry + 3 months; `domain-deleted` service message.
    pub deletion: Timestamp,
}

impl ExpiryLifecycle {
    /// The lifecycle of a domain expiring at `expires`.
    pub fn new(expires: Timestamp) -> Self {
        ExpiryLifecycle {
            expires,
            quarantine: saturating_add_months(expires, QUARANTINE_AFTER_MONTHS),
            deletion: saturating_add_months(expires, DELETION_AFTER_MONTHS),
        }
    }

    /// The stage at `now`.
    pub fn stage(&self, now: Timestamp) -> LifecycleStage {
        if now < self.expires {
            LifecycleStage::Registered
        } else if now < self.quarantine {
            LifecycleStage::Expired
        } else if now < self.deletion {
            LifecycleStage::Quarantined
        } else {
            LifecycleStage::Deletable
        }
    }
}

/// When a one-time transfer token issued at `issued` stops being valid (also the `acDate` of
/// the pending transfer).
pub fn transfer_token_expires(issued: Timestamp) -> Timestamp {
    issued.add_secs(TRANSFER_TOKEN_LIFETIME_DAYS * SECS_PER_DAY)
}

/// When a service message queued at `q_date` is acknowledged by the registry if the
/// registrar has not done so.
pub fn poll_auto_ack_at(q_date: Timestamp) -> Timestamp {
    q_date.add_secs(POLL_AUTO_ACK_DAYS * SECS_PER_DAY)
}

/// `add_months_oslo`, pinned to the last representable instant past year 9999.
fn saturating_add_months(t: Timestamp, months: i32) -> Timestamp {
    add_months_oslo(t, months).unwrap_or_else(|_| {
        // 9999-12-31T23:59:59.999999Z.
        Timestamp::from_unix_micros(253_402_300_799_999_999)
    })
}

/// Microseconds since the epoch of 01:00 UTC on the last Sunday of `month` (31 days long).
fn last_sunday_0100_utc(year: i32, month: u8) -> Option<i64> {
    let last = Date::new(year, month, 31).ok()?.days_since_epoch();
    // 1970-01-01 was a Thursday: weekday 3 with Monday as 0.
    let weekday = (last + 3).rem_euclid(7);
    let sunday = last - (weekday + 1) % 7;
    Some((sunday * SECS_PER_DAY + 3600) * 1_000_000)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn date(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn dn(s: &str) -> DomainName {
        DomainName::new(s).unwrap()
    }

    fn local(t: &str) -> String {
        let o = OsloTime::from_utc(ts(t));
        format!("{}T{:02}:{:02}:{:02}", o.date, o.hour, o.minute, o.second)
    }

    #[test]
    fn summer_time_boundaries() {
        // 2017: 26 March and 29 October; 2018: 25 March and 28 October; 2024: 31 March and
        // 27 October.
        assert_eq!(local("2017-03-26T00:59:59Z"), "2017-03-26T01:59:59");
        assert_eq!(local("2017-03-26T01:00:00Z"), "2017-03-26T03:00:00");
        assert_eq!(local("2017-10-29T00:59:59Z"), "2017-10-29T02:59:59");
        assert_eq!(local("2017-10-29T01:00:00Z"), "2017-10-29T02:00:00");
        assert!(is_summer_time(ts("2024-03-31T01:00:00Z")));
        assert!(!is_summer_time(ts("2024-03-31T00:59:59.999999Z")));
        assert!(is_summer_time(ts("2024-10-27T00:59:59.999999Z")));
        assert!(!is_summer_time(ts("2024-10-27T01:00:00Z")));
        assert!(!is_summer_time(ts("2018-03-24T12:00:00Z")));
        assert!(is_summer_time(ts("2018-03-25T12:00:00Z")));
        assert_eq!(utc_offset_secs(ts("2017-09-13T14:02:37Z")), 7200);
        assert_eq!(utc_offset_secs(ts("2018-02-13T15:02:37Z")), 3600);
        // Across the year boundary local time is already in the new year.
        assert_eq!(local("2017-12-31T23:30:00Z"), "2018-01-01T00:30:00");
        assert_eq!(oslo_date(ts("2017-12-31T23:30:00Z")), date("2018-01-01"));
    }

    #[test]
    fn local_to_utc_resolves_gaps_and_overlaps() {
        let at = |d: &str, h| OsloTime {
            date: date(d),
            hour: h,
            minute: 30,
            second: 0,
            micros: 0,
        };
        // Overlap: 02:30 happens twice; the summer-time instant comes first.
        assert_eq!(
            at("2017-10-29", 2).to_utc().unwrap(),
            ts("2017-10-29T00:30:00Z")
        );
        // Gap: 02:30 does not exist; read as 03:30 CEST.
        assert_eq!(
            at("2017-03-26", 2).to_utc().unwrap(),
            ts("2017-03-26T01:30:00Z")
        );
        assert_eq!(
            at("2017-03-26", 3).to_utc().unwrap(),
            ts("2017-03-26T01:30:00Z")
        );
        assert_eq!(
            at("2017-03-26", 1).to_utc().unwrap(),
            ts("2017-03-26T00:30:00Z")
        );
        let bad = OsloTime {
            hour: 24,
            ..at("2017-03-26", 1)
        };
        assert!(bad.to_utc().is_err());
    }

    #[test]
    fn seed_003_renew_moves_expiry_five_months_on_the_wall_clock() {
        let name = dn("2017-09-09-dom-test-ny-renew.no");
        let expires = ts("2017-09-13T14:02:37.00Z");
        let now = ts("2017-09-11T08:44:54.57Z");
        let new = renew(
            &name,
            expires,
            date("2017-09-13"),
            Some(Period::months(5)),
            now,
        )
        .unwrap();
        assert_eq!(new, ts("2018-02-13T15:02:37.00Z"));
        assert_eq!(new.to_string(), "2018-02-13T15:02:37.00Z");
    }

    #[test]
    fn seed_003_second_renew_is_too_early() {
        let name = dn("2017-09-09-dom-test-ny-renew.no");
        let expires = ts("2018-02-13T15:02:37.00Z");
        let now = ts("2017-09-11T08:47:11.51Z");
        let e = renew(
            &name,
            expires,
            date("2018-02-13"),
            Some(Period::months(7)),
            now,
        )
        .unwrap_err();
        assert_eq!(e.result_code().code(), 2105);
        let c = e.condition();
        assert_eq!((c.code, c.severity.as_str()), ("EC002003", "error"));
        assert_eq!(c.msg, "Domain is not renewable");
        assert_eq!(
            c.details,
            "Domain [2017-09-09-dom-test-ny-renew.no] is not renewable before [2018-01-14]."
        );
        assert_eq!(renew_window_opens(expires), date("2018-01-14"));
    }

    #[test]
    fn renew_window_opens_on_the_local_date() {
        let name = dn("x.no");
        let expires = ts("2018-02-13T15:02:37Z");
        assert!(check_renew_window(&name, expires, ts("2018-01-13T22:59:59Z")).is_err());
        // 23:00 UTC on 13 January is midnight on the 14th in Oslo.
        assert!(check_renew_window(&name, expires, ts("2018-01-13T23:00:00Z")).is_ok());
        // Long after expiry (quarantine) renewal is still allowed.
        assert!(check_renew_window(&name, expires, ts("2018-04-20T00:00:00Z")).is_ok());
        // An expiry just after local midnight counts from the local date.
        assert_eq!(
            renew_window_opens(ts("2018-02-12T23:30:00Z")),
            date("2018-01-14")
        );
    }

    #[test]
    fn renew_checks_in_order() {
        let name = dn("x.no");
        let expires = ts("2018-02-13T15:02:37Z");
        let now = ts("2018-02-01T00:00:00Z");
        let e = renew(
            &name,
            expires,
            date("2018-02-12"),
            Some(Period::months(13)),
            now,
        )
        .unwrap_err();
        assert_eq!(e.code(), "EC002921");
        let e = renew(
            &name,
            expires,
            date("2018-02-12"),
            Some(Period::months(12)),
            now,
        )
        .unwrap_err();
        assert_eq!(
            e.reason(),
            "Domain [x.no] expires on [2018-02-13], not on [2018-02-12]."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002922", 2306));
        assert_eq!(
            renew(&name, expires, date("2018-02-13"), None, now).unwrap(),
            ts("2019-02-13T15:02:37Z")
        );
        // curExpDate may be the UTC or the Oslo date of an expiry near midnight.
        let late = ts("2018-06-30T22:30:00Z");
        assert!(check_cur_exp_date(&name, late, date("2018-06-30")).is_ok());
        assert!(check_cur_exp_date(&name, late, date("2018-07-01")).is_ok());
        assert!(check_cur_exp_date(&name, late, date("2018-07-02")).is_err());
    }

    #[test]
    fn month_ends_clamp() {
        // 31 January 12:00 CET + 1 month = 28 February 12:00 CET.
        assert_eq!(
            add_months_oslo(ts("2017-01-31T11:00:00Z"), 1).unwrap(),
            ts("2017-02-28T11:00:00Z")
        );
        assert_eq!(
            add_months_oslo(ts("2024-01-31T11:00:00Z"), 1).unwrap(),
            ts("2024-02-29T11:00:00Z")
        );
        // 31 March 00:30 CEST is 30 March 22:30 UTC; + 1 month = 30 April 00:30 CEST.
        assert_eq!(
            add_months_oslo(ts("2017-03-30T22:30:00Z"), 1).unwrap(),
            ts("2017-04-29T22:30:00Z")
        );
        assert_eq!(
            add_months_oslo(ts("9999-11-01T00:00:00Z"), 12),
            Err(Refusal::DateOutOfRange)
        );
        assert_eq!(Refusal::DateOutOfRange.result_code().code(), 2004);
    }

    #[test]
    fn transfer_renewals() {
        let name = dn("x.no");
        let expires = ts("2024-01-01T10:00:00Z");
        assert_eq!(
            transfer_renewal(&name, expires, None, ts("2023-06-01T00:00:00Z")),
            Ok(None)
        );
        let e = transfer_renewal(&name, expires, None, ts("2024-01-01T10:00:00Z")).unwrap_err();
        assert_eq!(
            e.reason(),
            "Domain [x.no] expired 2024-01-01. The transfer command must include a renewal period."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002923", 2306));
        let new = transfer_renewal(
            &name,
            expires,
            Some(Period::months(5)),
            ts("2024-01-10T00:00:00Z"),
        );
        assert_eq!(new, Ok(Some(ts("2024-06-01T09:00:00Z"))));
        let e = transfer_renewal(
            &name,
            expires,
            Some(Period::months(5)),
            ts("2023-06-01T00:00:00Z"),
        );
        assert_eq!(e.unwrap_err().code(), "EC002003");
        let e = transfer_renewal(
            &name,
            expires,
            Some(Period::years(2)),
            ts("2024-01-10T00:00:00Z"),
        );
        assert_eq!(e.unwrap_err().code(), "EC002921");
    }

    #[test]
    fn lifecycle() {
        let expires = ts("2024-01-31T10:00:00Z");
        let l = ExpiryLifecycle::new(expires);
        assert_eq!(l.quarantine, ts("2024-03-31T09:00:00Z"));
        assert_eq!(l.deletion, ts("2024-04-30T09:00:00Z"));
        assert_eq!(
            l.stage(ts("2024-01-31T09:59:59Z")),
            LifecycleStage::Registered
        );
        assert_eq!(l.stage(expires), LifecycleStage::Expired);
        assert_eq!(l.stage(ts("2024-03-31T08:59:59Z")), LifecycleStage::Expired);
        assert_eq!(l.stage(l.quarantine), LifecycleStage::Quarantined);
        assert_eq!(l.stage(l.deletion), LifecycleStage::Deletable);
        let far = ExpiryLifecycle::new(ts("9999-12-01T00:00:00Z"));
        assert_eq!(far.deletion.to_string(), "9999-12-31T23:59:59.99Z");
    }

    #[test]
    fn token_and_poll_lifetimes() {
        let t = ts("2008-02-06T13:37:59.63Z");
        assert_eq!(transfer_token_expires(t), ts("2008-03-07T13:37:59.63Z"));
        assert_eq!(poll_auto_ack_at(t), ts("2008-02-27T13:37:59.63Z"));
    }

    proptest! {
        #[test]
        fn utc_to_local_and_back(secs in -2_000_000_000i64..250_000_000_000, micros in 0i64..1_000_000) {
            let t = Timestamp::from_unix_micros(secs * 1_000_000 + micros);
            let o = OsloTime::from_utc(t);
            let off = utc_offset_secs(t);
            prop_assert!(off == 3600 || off == 7200);
            // Every instant maps back to itself, except the second pass through the repeated
            // autumn hour, which maps to the first.
            let back = o.to_utc().unwrap();
            if back != t {
                prop_assert_eq!(back, t.add_secs(-3600));
                prop_assert!(!is_summer_time(t) && is_summer_time(back));
            }
            prop_assert_eq!(OsloTime::from_utc(back), o);
        }

        #[test]
        fn adding_months_keeps_the_wall_clock(
            secs in 0i64..4_000_000_000,
            months in 1i32..=12,
        ) {
            let t = Timestamp::from_unix_micros(secs * 1_000_000);
            let u = add_months_oslo(t, months).unwrap();
            let (a, b) = (OsloTime::from_utc(t), OsloTime::from_utc(u));
            prop_assert!(u > t);
            // Same day of month unless clamped to a shorter month's end.
            prop_assert!(b.date.day() == a.date.day() || b.date.day() < a.date.day());
            let month_index = |d: Date| d.year() * 12 + i32::from(d.month());
            prop_assert_eq!(month_index(b.date) - month_index(a.date), months);
            // Same wall-clock time, except inside the spring gap, which moves one hour on.
            let same = (a.hour, a.minute, a.second) == (b.hour, b.minute, b.second);
            let gap = b.hour == a.hour + 1 && (a.minute, a.second) == (b.minute, b.second) && a.hour == 2;
            prop_assert!(same || gap, "{:?} -> {:?}", a, b);
        }

        #[test]
        fn window_is_thirty_local_days(secs in 0i64..4_000_000_000) {
            let expires = Timestamp::from_unix_micros(secs * 1_000_000);
            let opens = renew_window_opens(expires);
            prop_assert_eq!(oslo_date(expires).days_since_epoch() - opens.days_since_epoch(), 30);
        }
    }
}
