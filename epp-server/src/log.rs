//! Logging with tracing: text or JSON lines on standard error, written by a writer thread
//! ([`crate::log_writer`]), and the one-line-per-command record.
//!
//! What is never logged: frame payloads, passwords, authInfo. Log lines carry only the
//! fields named here and in the connection driver.

use std::cell::RefCell;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogConfig, LogFormat};
use crate::error::Error;
use crate::log_writer::BatchWriter;
pub use crate::log_writer::LogGuard;
use crate::protocol::CommandOutcome;

/// The tracing target of the per-command lines, so they can be filtered apart
/// (`log.level = "info,epp::command=off"`).
pub const COMMAND_TARGET: &str = "epp::command";

/// Installs the global log subscriber, writing to standard error through a writer thread.
/// Keep the returned guard while the server runs: dropping it writes the lines still
/// buffered.
///
/// # Errors
///
/// [`Error::Logging`] if the filter is invalid, a subscriber is already installed, or the
/// writer thread cannot start.
pub fn init(config: &LogConfig) -> Result<LogGuard, Error> {
    let filter: Targets = config
        .level
        .parse()
        .map_err(|e| Error::Logging(format!("log.level {:?}: {e}", config.level)))?;
    let (writer, guard) = BatchWriter::start(std::io::stderr())
        .map_err(|e| Error::Logging(format!("log writer thread: {e}")))?;
    let lines = CommandLines {
        writer: writer.clone(),
        format: config.format,
        enabled: command_lines_enabled(&filter),
    };
    subscriber(config.format, filter, writer)
        .try_init()
        .map_err(|e| Error::Logging(e.to_string()))?;
    // Only the call that installed the subscriber gets here, so this is the first set.
    let _ = COMMAND_LINES.set(lines);
    Ok(guard)
}

/// Whether `filter` lets the per-command lines through.
fn command_lines_enabled(filter: &Targets) -> bool {
    filter.would_enable(COMMAND_TARGET, &Level::INFO)
}

/// The subscriber [`init`] installs: tracing's text or JSON lines into `writer`.
fn subscriber<W>(
    format: LogFormat,
    filter: Targets,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    match format {
        LogFormat::Text => Box::new(
            tracing_subscriber::fmt()
                .with_writer(writer)
                .with_ansi(false)
                .finish()
                .with(filter),
        ),
        LogFormat::Json => Box::new(
            tracing_subscriber::fmt()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .with_writer(writer)
                .finish()
                .with(filter),
        ),
    }
}

/// Where [`log_command`] writes its lines itself once [`init`] installed epp-server's own
/// log: the same writer, format and filter as the subscriber's.
struct CommandLines {
    writer: BatchWriter,
    format: LogFormat,
    /// Whether the filter lets `epp::command` lines at `info` through.
    enabled: bool,
}

static COMMAND_LINES: OnceLock<CommandLines> = OnceLock::new();

/// Logs one command: connection, registrar, command, result code, clTRID, svTRID,
/// latency in microseconds, refusal and whether it was a replay, at `info` under
/// [`COMMAND_TARGET`].
///
/// The connection driver calls this for every [`CommandOutcome`]; a handler that answers
/// outside [`crate::ConnectionHandler::handle`] can call it directly.
pub fn log_command(connection: u64, outcome: &CommandOutcome, latency: Duration) {
    let latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    if let Some(failure) = &outcome.failure {
        tracing::error!(
            conn = connection,
            registrar = outcome.registrar.as_ref().map_or("-", |r| r.as_str()),
            command = %outcome.command,
            sv_trid = outcome.sv_trid.as_ref().map_or("-", |t| t.as_str()),
            error = %failure,
            "the store failed; the command was answered {}",
            outcome.result_code
        );
    }
    // Once `init` installed the server's own log, the line is written here, byte for byte
    // what tracing's formatter writes for `traced` below (a test holds the two together):
    // tracing's formatter (fields through `Debug`, the timestamp through `fmt`) was about
    // 5 % of a check's CPU in the benchmarks (docs/BENCHMARKS.md). Any other subscriber
    // (an embedder's) gets the tracing event.
    if let Some(lines) = COMMAND_LINES.get() {
        if !lines.enabled {
            return;
        }
        // `try_with`: a line logged while the thread's locals are torn down goes through
        // tracing instead.
        let written = LINE.try_with(|line| {
            let mut line = line.borrow_mut();
            line.clear();
            let ok = command_line(
                &mut line,
                lines.format,
                SystemTime::now(),
                connection,
                outcome,
                latency_us,
            );
            if ok {
                // A log that cannot be written cannot report it either.
                let _ = lines.writer.append(&line);
            }
            if line.capacity() > 4096 {
                *line = Vec::with_capacity(LINE_CAPACITY);
            }
            ok
        });
        if written == Ok(true) {
            return;
        }
    }
    traced(connection, outcome, latency_us);
}

/// The command line as a tracing event.
fn traced(connection: u64, outcome: &CommandOutcome, latency_us: u64) {
    tracing::info!(
        target: COMMAND_TARGET,
        conn = connection,
        registrar = outcome.registrar.as_ref().map_or("-", |r| r.as_str()),
        command = %outcome.command,
        result = outcome.result_code,
        cl_trid = outcome.cl_trid.as_ref().map_or("-", |t| t.as_str()),
        sv_trid = outcome.sv_trid.as_ref().map_or("-", |t| t.as_str()),
        latency_us,
        refusal = outcome.refusal.map_or("-", |r| r.label()),
        replayed = outcome.replayed,
        "command"
    );
}

const LINE_CAPACITY: usize = 512;

thread_local! {
    /// Each thread's line buffer, reused from line to line.
    static LINE: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(LINE_CAPACITY));
}

/// Writes the command line as tracing's `format` writes [`traced`]'s event at `now`.
/// `false` (nothing to use in `out`) for a time tracing would write in another shape
/// (before 1970 or after 9999).
fn command_line(
    out: &mut Vec<u8>,
    format: LogFormat,
    now: SystemTime,
    connection: u64,
    outcome: &CommandOutcome,
    latency_us: u64,
) -> bool {
    let fields = [
        ("conn", Field::Number(connection)),
        (
            "registrar",
            Field::Text(outcome.registrar.as_ref().map_or("-", |r| r.as_str())),
        ),
        ("command", Field::Shown(&outcome.command)),
        ("result", Field::Number(u64::from(outcome.result_code))),
        (
            "cl_trid",
            Field::Text(outcome.cl_trid.as_ref().map_or("-", |t| t.as_str())),
        ),
        (
            "sv_trid",
            Field::Text(outcome.sv_trid.as_ref().map_or("-", |t| t.as_str())),
        ),
        ("latency_us", Field::Number(latency_us)),
        (
            "refusal",
            Field::Text(outcome.refusal.map_or("-", |r| r.label())),
        ),
        ("replayed", Field::Flag(outcome.replayed)),
    ];
    let json = format == LogFormat::Json;
    if json {
        out.extend_from_slice(b"{\"timestamp\":\"");
    }
    if !push_timestamp(out, now) {
        return false;
    }
    out.extend_from_slice(if json {
        b"\",\"level\":\"INFO\",\"message\":\"command\""
    } else {
        b"  INFO epp::command: command"
    });
    for (name, value) in fields {
        // Text: ` name=value`, strings quoted as `Debug` quotes them, a `%` field as
        // it displays; JSON: `,"name":value`, every string a JSON string.
        out.extend_from_slice(if json { b",\"" } else { b" " });
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(if json { b"\":" } else { b"=" });
        match value {
            Field::Number(n) => push_u64(out, n),
            Field::Flag(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
            Field::Text(t) if json => push_json_str(out, t),
            Field::Text(t) => push_debug_str(out, t),
            Field::Shown(t) if json => push_json_str(out, t),
            Field::Shown(t) => out.extend_from_slice(t.as_bytes()),
        }
    }
    if json {
        out.extend_from_slice(b",\"target\":\"epp::command\"}");
    }
    out.push(b'\n');
    true
}

/// A field of the command line, as tracing records it.
enum Field<'a> {
    Number(u64),
    Flag(bool),
    /// A `&str` field.
    Text(&'a str),
    /// A `%` (`Display`) field.
    Shown(&'a str),
}

/// `now` as tracing's `SystemTime` timer writes it: `2026-11-24T14:34:29.923978Z`.
fn push_timestamp(out: &mut Vec<u8>, now: SystemTime) -> bool {
    let Ok(since) = now.duration_since(SystemTime::UNIX_EPOCH) else {
        return false;
    };
    let secs = since.as_secs();
    let Ok(days) = i64::try_from(secs / 86_400) else {
        return false;
    };
    let (year, month, day) = civil_from_days(days);
    if year > 9999 {
        return false;
    }
    let of_day = secs % 86_400;
    push_padded(out, u64::try_from(year).unwrap_or(0), 4);
    out.push(b'-');
    push_padded(out, month, 2);
    out.push(b'-');
    push_padded(out, day, 2);
    out.push(b'T');
    push_padded(out, of_day / 3600, 2);
    out.push(b':');
    push_padded(out, of_day / 60 % 60, 2);
    out.push(b':');
    push_padded(out, of_day % 60, 2);
    out.push(b'.');
    push_padded(out, u64::from(since.subsec_micros()), 6);
    out.push(b'Z');
    true
}

/// The proleptic Gregorian (year, month, day) of a count of days since 1970-01-01
/// (H. Hinnant's `civil_from_days`), for days on or after it.
fn civil_from_days(days: i64) -> (i64, u64, u64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u64::try_from(month).unwrap_or(1),
        u64::try_from(day).unwrap_or(1),
    )
}

/// `n` in decimal, at least `width` digits (zero-padded).
fn push_padded(out: &mut Vec<u8>, n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        // `n % 10` is below 10: the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation)]
        let digit = (n % 10) as u8;
        digits[at] = b'0' + digit;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let at = at.min(digits.len() - width.min(digits.len()));
    out.extend_from_slice(&digits[at..]);
}

fn push_u64(out: &mut Vec<u8>, n: u64) {
    push_padded(out, n, 1);
}

/// `s` as `Debug` writes a string (quoted, escaped), as tracing's text fields are.
fn push_debug_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        use std::io::Write as _;
        // Writing into a Vec cannot fail.
        let _ = write!(out, "{s:?}");
    }
}

/// `s` as a JSON string, escaped as serde_json escapes it (tracing's JSON lines).
fn push_json_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, SystemTime};

    use epp_xml::{ClTrid, ClientId, SvTrid, Timestamp};

    use super::*;
    use crate::protocol::Refusal;

    /// Collects what tracing writes.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Capture {
            self.clone()
        }
    }

    fn outcomes() -> Vec<CommandOutcome> {
        let plain = CommandOutcome {
            registrar: Some(ClientId::new("reg9094").unwrap()),
            cl_trid: Some(ClTrid::new("ABC-12345").unwrap()),
            sv_trid: Some(
                SvTrid::new("20170911104454571018-6rx937-reg9094-NORID".to_owned()).unwrap(),
            ),
            ..CommandOutcome::new("domain:check", 1000)
        };
        let awkward = CommandOutcome {
            // What a client may put in a clTRID: quotes, backslashes, non-ASCII, controls
            // that survive whitespace collapsing, DEL.
            cl_trid: Some(ClTrid::new("a\"b\\c'æøå-\u{7f}\u{1}\u{200b}€😀").unwrap()),
            refusal: Some(Refusal::RateLimit),
            replayed: true,
            ..CommandOutcome::new("login", 2200)
        };
        let bare = CommandOutcome::new("invalid", 2001);
        vec![plain, awkward, bare]
    }

    /// The timestamp tracing wrote at the start of `line` (after `prefix`), and the rest.
    fn split(line: &str, prefix: &str) -> (String, String) {
        let line = line.strip_prefix(prefix).unwrap();
        (line[..27].to_owned(), line[27..].to_owned())
    }

    #[test]
    fn direct_lines_are_what_tracing_writes() {
        for (format, prefix) in [
            (LogFormat::Text, ""),
            (LogFormat::Json, "{\"timestamp\":\""),
        ] {
            for (i, outcome) in outcomes().iter().enumerate() {
                let capture = Capture::default();
                let filter: Targets = "info".parse().unwrap();
                let sub = subscriber(format, filter, capture.clone());
                let before = SystemTime::now();
                tracing::subscriber::with_default(sub, || {
                    traced(7 + i as u64, outcome, 1234 * i as u64)
                });
                let after = SystemTime::now();
                let traced = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();

                let mut direct = Vec::new();
                for at in [before, after] {
                    direct.clear();
                    assert!(command_line(
                        &mut direct,
                        format,
                        at,
                        7 + i as u64,
                        outcome,
                        1234 * i as u64
                    ));
                    let direct = String::from_utf8(direct.clone()).unwrap();
                    let (ts, rest) = split(&direct, prefix);
                    let (traced_ts, traced_rest) = split(&traced, prefix);
                    assert_eq!(rest, traced_rest, "{format:?}: {direct} against {traced}");
                    // Same shape; the two clocks were read moments apart.
                    if at == before {
                        assert!(ts <= traced_ts, "{ts} after {traced_ts}");
                    } else {
                        assert!(ts >= traced_ts, "{ts} before {traced_ts}");
                    }
                }
            }
        }
    }

    #[test]
    fn direct_lines_follow_the_filter() {
        let cases = [
            ("info", true),
            ("debug", true),
            ("warn", false),
            ("info,epp::command=off", false),
            ("warn,epp::command=info", true),
        ];
        for (level, want) in cases {
            let capture = Capture::default();
            let filter: Targets = level.parse().unwrap();
            assert_eq!(command_lines_enabled(&filter), want, "{level}");
            let sub = subscriber(LogFormat::Text, filter, capture.clone());
            tracing::subscriber::with_default(sub, || traced(1, &outcomes()[0], 1));
            assert_eq!(!capture.0.lock().unwrap().is_empty(), want, "{level}");
        }
    }

    #[test]
    fn a_store_failure_is_logged_as_an_error_with_its_cause() {
        let capture = Capture::default();
        let sub = subscriber(LogFormat::Text, "info".parse().unwrap(), capture.clone());
        let failed = CommandOutcome {
            failure: Some("transaction not serialisable after 20 attempts".into()),
            ..CommandOutcome::new("domain:create", 2400)
        };
        tracing::subscriber::with_default(sub, || {
            log_command(3, &outcomes()[0], Duration::from_micros(5));
            log_command(4, &failed, Duration::from_micros(5));
        });
        let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        let errors: Vec<&str> = text.lines().filter(|l| l.contains("ERROR")).collect();
        assert_eq!(errors.len(), 1, "{text}");
        for want in [
            "conn=4",
            "command=domain:create",
            "transaction not serialisable after 20 attempts",
            "answered 2400",
        ] {
            assert!(errors[0].contains(want), "{want}: {text}");
        }
    }

    #[test]
    fn timestamps_match_the_calendar() {
        let mut out = Vec::new();
        // Every 13th day and some second of it, from 1970 to 9999.
        let mut micros: i64 = 0;
        while micros < 253_402_300_799_000_000 {
            out.clear();
            let at = SystemTime::UNIX_EPOCH + Duration::from_micros(micros.unsigned_abs());
            assert!(push_timestamp(&mut out, at));
            let want = format!("{:?}", Timestamp::from_unix_micros(micros));
            assert_eq!(
                format!("Timestamp({})", std::str::from_utf8(&out).unwrap()),
                want
            );
            micros += 13 * 86_400_000_000 + 3_723_456_789;
        }
        out.clear();
        let at = SystemTime::UNIX_EPOCH + Duration::from_micros(951_782_400_123_456);
        assert!(push_timestamp(&mut out, at));
        assert_eq!(out, b"2000-02-29T00:00:00.123456Z");
        // Shapes tracing writes otherwise go through tracing.
        let late = SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_800);
        assert!(!push_timestamp(&mut out, late));
        let early = SystemTime::UNIX_EPOCH - Duration::from_secs(1);
        assert!(!push_timestamp(&mut out, early));
    }

    #[test]
    fn numbers_are_padded() {
        let mut out = Vec::new();
        push_padded(&mut out, 7, 2);
        push_padded(&mut out, 0, 1);
        push_padded(&mut out, 123_456, 6);
        push_padded(&mut out, 42, 6);
        push_u64(&mut out, u64::MAX);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "07|0|123456|000042|18446744073709551615".replace('|', "")
        );
    }
}
