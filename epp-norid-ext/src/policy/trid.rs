//! Server transaction ids in Norid's format, and one-time transfer tokens, from injected
//! randomness.

use epp_xml::{ClientId, SvTrid, Timestamp, ValueError};

use super::time::OsloTime;

/// The characters of the random part of an svTRID.
const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
/// The characters of a transfer token: upper case and digits without `0`, `O`, `1`, `I`, so
/// a holder can read it out of an SMS. 32 symbols, 5 bits each.
const TOKEN_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Symbols in a transfer token (80 bits).
pub const TRANSFER_TOKEN_LEN: usize = 16;

/// A source of random bytes, injected so that tests are deterministic.
///
/// The server passes a cryptographically secure generator (transfer tokens must not be
/// guessable); any `FnMut(&mut [u8])` closure is a source.
pub trait RandomSource {
    /// Fills `out` with random bytes.
    fn fill_bytes(&mut self, out: &mut [u8]);
}

impl<F: FnMut(&mut [u8])> RandomSource for F {
    fn fill_bytes(&mut self, out: &mut [u8]) {
        self(out)
    }
}

/// Builds svTRIDs the way Norid's server does (digest §1.1):
/// `YYYYMMDDhhmmss` in Norwegian local time, the 6-digit microsecond part, `-`, 6 random
/// characters from `[0-9a-z]`, `-`, the client id (`#` before login), `-`, a suffix; e.g.
/// `20170911104454571018-6rx937-reg9094-NORID` and `20100202084950588772-mu5yhv-#-NORID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SvTridGenerator {
    suffix: String,
}

impl SvTridGenerator {
    /// The longest suffix: with a 16-character client id the svTRID is then exactly 64
    /// characters, the limit of `epp:trIDStringType`.
    pub const MAX_SUFFIX_LEN: usize = 19;

    /// A generator with the given suffix (Norid's is `NORID`).
    ///
    /// # Errors
    ///
    /// [`ValueError`] when the suffix is empty, longer than [`Self::MAX_SUFFIX_LEN`], or has
    /// a character other than ASCII letters, digits, `-`, `.` and `_`.
    pub fn new(suffix: &str) -> Result<Self, ValueError> {
        const TYPE_NAME: &str = "svTRID suffix";
        if suffix.is_empty() {
            return Err(ValueError::TooShort {
                type_name: TYPE_NAME,
                min: 1,
                len: 0,
            });
        }
        if suffix.len() > Self::MAX_SUFFIX_LEN {
            return Err(ValueError::TooLong {
                type_name: TYPE_NAME,
                max: Self::MAX_SUFFIX_LEN,
                len: suffix.chars().count(),
            });
        }
        if !suffix
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
        {
            return Err(ValueError::Malformed {
                type_name: TYPE_NAME,
                rule: "only ASCII letters, digits, '-', '.' and '_'",
            });
        }
        Ok(SvTridGenerator {
            suffix: suffix.to_owned(),
        })
    }

    /// The suffix.
    pub fn suffix(&self) -> &str {
        &self.suffix
    }

    /// The svTRID of a response sent at `now` to `client` (`None` before login).
    pub fn generate(
        &self,
        now: Timestamp,
        client: Option<&ClientId>,
        rng: &mut impl RandomSource,
    ) -> SvTrid {
        let local = local_digits(now);
        let micros = u32::try_from(now.unix_micros().rem_euclid(1_000_000)).unwrap_or(0);
        let mut random = [0u8; 6];
        pick(rng, BASE36, &mut random);
        let client = client.map_or("#", ClientId::as_str);
        // Written byte by byte: this runs for every response, and `format!` with widths
        // was a visible part of a check's CPU.
        let mut s = Vec::with_capacity(29 + client.len() + self.suffix.len());
        s.extend_from_slice(&local);
        let mut digits = [0u8; 6];
        put_digits(&mut digits, micros);
        s.extend_from_slice(&digits);
        s.push(b'-');
        s.extend_from_slice(&random);
        s.push(b'-');
        s.extend_from_slice(client.as_bytes());
        s.push(b'-');
        s.extend_from_slice(self.suffix.as_bytes());
        // ASCII throughout (digits, the base-36 alphabet, a client id and a checked suffix).
        let s = String::from_utf8(s).unwrap_or_default();
        #[allow(clippy::expect_used, reason = "the invariant is proven in the comment")]
        // 20 digits (a Date's year has 4) + 1 + 6 + 1 + at most 16 (ClientId) + 1 + at most
        // 19 (checked in `new`) = at most 64 characters, at least 31, all printable ASCII
        // without whitespace: always a valid trIDStringType token.
        SvTrid::new(s).expect("svTRID fits trIDStringType")
    }
}

impl Default for SvTridGenerator {
    /// Norid's suffix, `NORID`.
    fn default() -> Self {
        SvTridGenerator {
            suffix: "NORID".to_owned(),
        }
    }
}

/// Fills `out` with the low `out.len()` decimal digits of `n`, zero-padded.
fn put_digits(out: &mut [u8], mut n: u32) {
    for b in out.iter_mut().rev() {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// `YYYYMMDDhhmmss` of an instant in Norwegian local time (the offset is whole hours, so
/// the microseconds are the UTC ones).
fn local_digits_uncached(now: Timestamp) -> [u8; 14] {
    let t = OsloTime::from_utc(now);
    let d = t.date;
    let mut out = [0u8; 14];
    put_digits(&mut out[0..4], u32::try_from(d.year()).unwrap_or(0));
    put_digits(&mut out[4..6], u32::from(d.month()));
    put_digits(&mut out[6..8], u32::from(d.day()));
    put_digits(&mut out[8..10], u32::from(t.hour));
    put_digits(&mut out[10..12], u32::from(t.minute));
    put_digits(&mut out[12..14], u32::from(t.second));
    out
}

thread_local! {
    /// The UTC second of this thread's last svTRID and its local digits: most responses
    /// fall in the same second as the one before, and the calendar and daylight-saving
    /// arithmetic was a visible part of a check's CPU.
    static LAST_SECOND: std::cell::Cell<Option<(i64, [u8; 14])>> =
        const { std::cell::Cell::new(None) };
}

/// [`local_digits_uncached`], computed once per UTC second on each thread.
fn local_digits(now: Timestamp) -> [u8; 14] {
    let second = now.unix_micros().div_euclid(1_000_000);
    LAST_SECOND
        .try_with(|last| match last.get() {
            Some((s, digits)) if s == second => digits,
            _ => {
                let digits = local_digits_uncached(now);
                last.set(Some((second, digits)));
                digits
            }
        })
        // The thread's locals are being torn down: compute without the cache.
        .unwrap_or_else(|_| local_digits_uncached(now))
}

/// A one-time transfer token to send to a domain's holder: [`TRANSFER_TOKEN_LEN`] characters
/// from `A-Z` and `2-9` without the look-alikes `O`, `I`, `0`, `1` (within the 1-512
/// characters of `no-ext-domain:token`).
pub fn generate_transfer_token(rng: &mut impl RandomSource) -> String {
    let mut out = [0u8; TRANSFER_TOKEN_LEN];
    pick(rng, TOKEN_ALPHABET, &mut out);
    out.iter().map(|&c| char::from(c)).collect()
}

/// Fills `out` with symbols of `alphabet` chosen uniformly by rejection sampling.
fn pick(rng: &mut impl RandomSource, alphabet: &[u8], out: &mut [u8]) {
    // The largest multiple of the alphabet size that fits a byte: bytes at or above it are
    // drawn again so that every symbol is equally likely.
    let limit = 256 - 256 % alphabet.len();
    let mut filled = 0;
    let mut buf = [0u8; 32];
    for _ in 0..64 {
        // Only as many bytes as symbols are missing (few are rejected): every response's
        // svTRID draws from the operating system's generator, a system call per refill.
        let want = (out.len() - filled).min(buf.len());
        rng.fill_bytes(&mut buf[..want]);
        for &b in &buf[..want] {
            if usize::from(b) < limit {
                out[filled] = alphabet[usize::from(b) % alphabet.len()];
                filled += 1;
                if filled == out.len() {
                    return;
                }
            }
        }
    }
    // Only a broken source gets here (64 rounds of rejected bytes); stay total and finish
    // with a slightly biased choice rather than loop forever.
    for slot in &mut out[filled..] {
        rng.fill_bytes(&mut buf[..1]);
        *slot = alphabet[usize::from(buf[0]) % alphabet.len()];
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A source that replays `bytes` (then zeros).
    fn replay(bytes: &[u8]) -> impl FnMut(&mut [u8]) + '_ {
        let mut pos = 0;
        move |out: &mut [u8]| {
            for b in out.iter_mut() {
                *b = bytes.get(pos).copied().unwrap_or(0);
                pos += 1;
            }
        }
    }

    /// The bytes that make `pick` choose `s` from the base-36 alphabet.
    fn bytes_for(s: &str) -> Vec<u8> {
        let mut v: Vec<u8> = s
            .bytes()
            .map(|c| BASE36.iter().position(|&a| a == c).unwrap() as u8)
            .collect();
        v.resize(32, 0);
        v
    }

    #[test]
    fn seed_svtrids() {
        let g = SvTridGenerator::default();
        let reg = ClientId::new("reg9094").unwrap();
        let cases = [
            (
                "2017-09-11T08:44:54.571018Z",
                Some(&reg),
                "6rx937",
                "20170911104454571018-6rx937-reg9094-NORID",
            ),
            (
                "2017-09-11T08:41:38.914281Z",
                Some(&reg),
                "64q3qh",
                "20170911104138914281-64q3qh-reg9094-NORID",
            ),
            (
                "2017-09-11T08:47:11.249661Z",
                Some(&reg),
                "2ik6p6",
                "20170911104711249661-2ik6p6-reg9094-NORID",
            ),
            (
                "2010-02-02T07:49:50.588772Z",
                None,
                "mu5yhv",
                "20100202084950588772-mu5yhv-#-NORID",
            ),
        ];
        for (now, client, random, want) in cases {
            let bytes = bytes_for(random);
            let got = g.generate(Timestamp::parse(now).unwrap(), client, &mut replay(&bytes));
            assert_eq!(got.as_str(), want);
        }
    }

    #[test]
    fn longest_svtrid_fits() {
        let g = SvTridGenerator::new(&"S".repeat(19)).unwrap();
        let client = ClientId::new("c".repeat(16)).unwrap();
        let t = g.generate(
            Timestamp::parse("9999-12-31T23:59:59.999999Z").unwrap(),
            Some(&client),
            &mut replay(&[]),
        );
        assert_eq!(t.as_str().len(), 64);
        // Local time has moved into the year 10000; the year clamps to 9999 and the svTRID
        // keeps its shape.
        assert!(t.as_str().starts_with("9999"), "{t}");
    }

    #[test]
    fn suffix_rules() {
        assert_eq!(SvTridGenerator::new("NORID").unwrap().suffix(), "NORID");
        assert!(SvTridGenerator::new("TEST-NORID_2.x").is_ok());
        assert!(matches!(
            SvTridGenerator::new(""),
            Err(ValueError::TooShort { .. })
        ));
        assert!(matches!(
            SvTridGenerator::new(&"S".repeat(20)),
            Err(ValueError::TooLong { max: 19, .. })
        ));
        assert!(matches!(
            SvTridGenerator::new("NO RID"),
            Err(ValueError::Malformed { .. })
        ));
        assert!(SvTridGenerator::new("NØRID").is_err());
    }

    #[test]
    fn rejection_sampling_skips_biased_bytes() {
        // 252..=255 would favour the first four symbols: they are drawn again.
        let mut bytes = vec![252, 253, 254, 255, 35];
        bytes.resize(64, 1);
        let t = SvTridGenerator::default().generate(
            Timestamp::from_unix_micros(0),
            None,
            &mut replay(&bytes),
        );
        assert_eq!(t.as_str(), "19700101010000000000-z11111-#-NORID");
        // A source that only yields rejected bytes still terminates.
        let t = SvTridGenerator::default().generate(
            Timestamp::from_unix_micros(0),
            None,
            &mut |b: &mut [u8]| b.fill(255),
        );
        assert_eq!(t.as_str().len(), 35);
    }

    #[test]
    fn draws_only_the_bytes_it_needs() {
        let mut drawn = 0;
        let mut counting = |b: &mut [u8]| {
            drawn += b.len();
            b.fill(7);
        };
        let t = SvTridGenerator::default().generate(
            Timestamp::from_unix_micros(0),
            None,
            &mut counting,
        );
        assert_eq!(t.as_str(), "19700101010000000000-777777-#-NORID");
        assert_eq!(drawn, 6);
        let mut drawn = 0;
        let mut counting = |b: &mut [u8]| {
            drawn += b.len();
            b.fill(0);
        };
        assert_eq!(generate_transfer_token(&mut counting), "A".repeat(16));
        assert_eq!(drawn, 16);
    }

    #[test]
    fn transfer_tokens() {
        let token = generate_transfer_token(&mut replay(&(0u8..32).collect::<Vec<_>>()));
        assert_eq!(token, "ABCDEFGHJKLMNPQR");
        let token = generate_transfer_token(&mut replay(&(16u8..48).collect::<Vec<_>>()));
        assert_eq!(token, "STUVWXYZ23456789");
    }

    /// The 20 digits of an svTRID as the wall-clock fields format them.
    fn reference_digits(now: Timestamp) -> String {
        let t = OsloTime::from_utc(now);
        let d = t.date;
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}{:06}",
            d.year() % 10_000,
            d.month(),
            d.day(),
            t.hour,
            t.minute,
            t.second,
            t.micros
        )
    }

    fn digits_of(now: Timestamp) -> String {
        let t = SvTridGenerator::default().generate(now, None, &mut |b: &mut [u8]| b.fill(0));
        t.as_str()[..20].to_owned()
    }

    #[test]
    fn the_cached_second_follows_daylight_saving_changes() {
        // Summer time starts 2024-03-31 at 01:00 UTC (02:00 becomes 03:00) and ends
        // 2024-10-27 at 01:00 UTC (03:00 becomes 02:00 again).
        for (before, after, want_before, want_after) in [
            (
                "2024-03-31T00:59:59.999999Z",
                "2024-03-31T01:00:00.000000Z",
                "20240331015959999999",
                "20240331030000000000",
            ),
            (
                "2024-10-27T00:59:59.999999Z",
                "2024-10-27T01:00:00.000000Z",
                "20241027025959999999",
                "20241027020000000000",
            ),
        ] {
            // Twice each: the second call of a second comes from the cache.
            for _ in 0..2 {
                assert_eq!(digits_of(Timestamp::parse(before).unwrap()), want_before);
            }
            for _ in 0..2 {
                assert_eq!(digits_of(Timestamp::parse(after).unwrap()), want_after);
            }
        }
    }

    proptest! {
        #[test]
        fn cached_digits_are_the_wall_clock_fields(
            micros in -62_135_596_800_000_000i64..253_402_300_797_999_999,
            steps in proptest::collection::vec(0i64..1_500_000, 1..6),
        ) {
            let mut now = micros;
            for step in std::iter::once(0).chain(steps) {
                now += step;
                let t = Timestamp::from_unix_micros(now);
                prop_assert_eq!(digits_of(t), reference_digits(t));
            }
        }

        #[test]
        fn svtrids_always_match_the_format(
            micros in -62_135_596_800_000_000i64..253_402_300_799_999_999,
            client in proptest::option::of("[a-z0-9]{3,16}"),
            suffix in "[A-Za-z0-9._-]{1,19}",
            seed in any::<[u8; 32]>(),
        ) {
            let g = SvTridGenerator::new(&suffix).unwrap();
            let client = client.map(|c| ClientId::new(c).unwrap());
            let mut state = seed;
            let mut rng = |out: &mut [u8]| {
                for (i, b) in out.iter_mut().enumerate() {
                    state[i % 32] = state[i % 32].wrapping_mul(31).wrapping_add(17);
                    *b = state[i % 32];
                }
            };
            let t = g.generate(Timestamp::from_unix_micros(micros), client.as_ref(), &mut rng);
            let s = t.as_str();
            prop_assert!((3..=64).contains(&s.len()));
            let parts: Vec<&str> = s.splitn(4, '-').collect();
            prop_assert_eq!(parts.len(), 4);
            prop_assert_eq!(parts[0].len(), 20);
            prop_assert!(parts[0].bytes().all(|c| c.is_ascii_digit()));
            prop_assert_eq!(parts[1].len(), 6);
            prop_assert!(parts[1].bytes().all(|c| BASE36.contains(&c)));
            let want_client = client.as_ref().map_or("#", |c| c.as_str());
            prop_assert_eq!(parts[2], want_client);
            prop_assert_eq!(parts[3], suffix.as_str());
        }

        #[test]
        fn tokens_use_the_alphabet(seed in any::<[u8; 32]>()) {
            let mut state = seed;
            let mut rng = |out: &mut [u8]| {
                for (i, b) in out.iter_mut().enumerate() {
                    state[i % 32] = state[i % 32].wrapping_mul(29).wrapping_add(3);
                    *b = state[i % 32];
                }
            };
            let token = generate_transfer_token(&mut rng);
            prop_assert_eq!(token.len(), TRANSFER_TOKEN_LEN);
            prop_assert!(token.bytes().all(|c| TOKEN_ALPHABET.contains(&c)));
        }
    }
}
