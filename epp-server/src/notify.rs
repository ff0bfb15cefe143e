//! Delivery of the notification outbox: the [`Notifier`] trait, the development
//! [`LogNotifier`], the production [`ExecNotifier`], and the outbox task that polls
//! [`Store::pending_notifications`], delivers, and commits `MarkDelivered`.
//!
//! The registry logic queues notifications (Norid's transfer tokens to the holder's
//! e-mail address or mobile number) in the same change set as the command that needs
//! them; delivery happens here, after the commit, so a mail server that is slow or down
//! never holds up an EPP command. Delivery is at least once: a crash between delivering
//! and recording it, or two processes delivering from one database, can send a message
//! twice (run one delivering process per database; `notify.method = "off"` on the
//! others).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use epp_session::store::model::{Notification, NotifyChannel};
use epp_session::store::{Change, ChangeMeta, ChangeSet, Store, StoreError};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

use crate::clock::RegistryClock;
use crate::config::{NotifyConfig, NotifyMethod};
use crate::error::ConfigError;
use crate::metrics::Metrics;
use crate::task::Shutdown;

/// The future a [`Notifier`] returns.
pub type DeliveryFuture<'a> = Pin<Box<dyn Future<Output = Result<(), DeliveryError>> + Send + 'a>>;

/// Sends one notification on its channel (e-mail or SMS).
///
/// The outbox task calls [`deliver`](Self::deliver) for each pending notification (up to
/// `notify.concurrency` at once), records success in the store, and retries failures
/// with backoff. Implementations must not log the text in production: it may hold a
/// one-time transfer token.
pub trait Notifier: Send + Sync + 'static {
    /// A short name for logs, e.g. `exec`.
    fn name(&self) -> &'static str;

    /// Delivers one notification. `Ok` means it was handed over for delivery (e.g.
    /// accepted by the mail system) and must not be sent again.
    fn deliver<'a>(&'a self, notification: &'a Notification) -> DeliveryFuture<'a>;
}

/// Why a notification could not be delivered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The recipient is not a deliverable address or number; retrying cannot help.
    #[error("invalid {channel} recipient: {reason}")]
    InvalidRecipient {
        /// The channel.
        channel: NotifyChannel,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The delivery program could not be started.
    #[error("cannot start {}", program.display())]
    Spawn {
        /// The program.
        program: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The delivery program did not finish in time and was killed.
    #[error("{} did not finish within {timeout:?} and was killed", program.display())]
    Timeout {
        /// The program.
        program: PathBuf,
        /// `notify.timeout`.
        timeout: Duration,
    },
    /// The delivery program failed.
    #[error("{} {status}{}", program.display(), stderr_suffix(stderr))]
    Failed {
        /// The program.
        program: PathBuf,
        /// How it ended.
        status: ExitStatus,
        /// The start of what it wrote to standard error.
        stderr: String,
    },
    /// Waiting for the delivery program failed.
    #[error("cannot wait for {}", program.display())]
    Wait {
        /// The program.
        program: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

impl DeliveryError {
    /// Whether retrying cannot help (the notification stays in the outbox for an
    /// operator).
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::InvalidRecipient { .. })
    }
}

fn stderr_suffix(stderr: &str) -> String {
    match stderr.trim() {
        "" => String::new(),
        text => format!(": {text}"),
    }
}

/// Writes each notification to the log at info (target `epp::notify`): recipient,
/// channel, subject and the text itself.
///
/// Development only: the text may hold a one-time transfer token, so the configuration
/// refuses `notify.method = "log"` in production. In development it is how a developer
/// reads the token that a registrar would receive.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogNotifier;

impl Notifier for LogNotifier {
    fn name(&self) -> &'static str {
        "log"
    }

    fn deliver<'a>(&'a self, n: &'a Notification) -> DeliveryFuture<'a> {
        tracing::info!(
            target: "epp::notify",
            id = n.id,
            channel = %n.channel,
            recipient = %n.recipient,
            subject = n.subject.as_deref().unwrap_or(""),
            text = %n.body,
            "notification (log notifier: development only, not sent)"
        );
        Box::pin(async { Ok(()) })
    }
}

/// Delivers by running a program per channel: `notify.email_command` (a
/// `sendmail`-compatible command) or `notify.sms_command` (an SMS gateway script).
///
/// The recipient is appended as the last argument; standard input gets the message: for
/// e-mail a complete message (`From:` if configured, `To:`, `Subject:` (RFC 2047-encoded
/// when not ASCII), MIME headers for UTF-8 text, a blank line, the text), for SMS the text
/// alone. The environment adds `EPP_NOTIFY_ID` and `EPP_NOTIFY_CHANNEL`. Exit status 0
/// means delivered; anything else, or running longer than `notify.timeout` (the program is
/// then killed), is a failed attempt. The first 2 KiB of its standard error go into the
/// failure's log line.
///
/// Recipients come from registrar-supplied contact data, so they are checked before
/// anything runs: no control characters or whitespace, no leading `-` (it would be read
/// as an option), an `@` in an e-mail address, only digits and `+ . - ( )` in a mobile
/// number. Use `--` before the recipient in `email_command` (the default does).
#[derive(Debug, Clone)]
pub struct ExecNotifier {
    email: Vec<String>,
    sms: Vec<String>,
    from: Option<String>,
    timeout: Duration,
}

/// How much of a delivery program's standard error is kept for the log.
const STDERR_KEEP: usize = 2048;

impl ExecNotifier {
    /// A notifier running `config.email_command` and `config.sms_command`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] when a command is empty, or its program is not an
    /// executable file (a name without `/` is looked up on `PATH`).
    pub fn new(config: &NotifyConfig) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        for (key, command) in [
            ("email_command", &config.email_command),
            ("sms_command", &config.sms_command),
        ] {
            match command.first() {
                None => problems.push(format!("notify.{key} is empty")),
                Some(program) if find_program(program).is_none() => problems.push(format!(
                    "notify.{key}: {program} is not an executable file{}",
                    if program.contains('/') {
                        ""
                    } else {
                        " on PATH"
                    }
                )),
                Some(_) => {}
            }
        }
        if !problems.is_empty() {
            return Err(ConfigError::Invalid { problems });
        }
        Ok(Self {
            email: config.email_command.clone(),
            sms: config.sms_command.clone(),
            from: config.email_from.clone(),
            timeout: config.timeout.get(),
        })
    }

    async fn run(&self, n: &Notification) -> Result<(), DeliveryError> {
        check_recipient(n.channel, &n.recipient)?;
        let (command, input) = match n.channel {
            NotifyChannel::Sms => (&self.sms, sms_text(&n.body)),
            _ => (
                &self.email,
                email_message(
                    self.from.as_deref(),
                    &n.recipient,
                    n.subject.as_deref(),
                    &n.body,
                ),
            ),
        };
        // ExecNotifier::new checked that the command is not empty.
        let (program, args) = command.split_first().map_or(("", &[][..]), |(p, a)| (p, a));
        let program_path = PathBuf::from(program);
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .arg(&n.recipient)
            .env("EPP_NOTIFY_ID", n.id.to_string())
            .env("EPP_NOTIFY_CHANNEL", n.channel.as_str())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| DeliveryError::Spawn {
                program: program_path.clone(),
                source,
            })?;
        let stdin = child.stdin.take();
        let stderr = child.stderr.take();
        let write = async move {
            if let Some(mut stdin) = stdin {
                // A program that exits without reading (EPIPE) is judged by its status.
                let _ = stdin.write_all(input.as_bytes()).await;
                let _ = stdin.shutdown().await;
            }
        };
        let read = async move {
            let mut kept = Vec::new();
            if let Some(mut stderr) = stderr {
                let mut chunk = [0u8; 1024];
                // Read to the end so the program never blocks on a full pipe, keeping
                // only the start.
                while let Ok(n) = stderr.read(&mut chunk).await {
                    if n == 0 {
                        break;
                    }
                    let room = STDERR_KEEP.saturating_sub(kept.len());
                    kept.extend_from_slice(&chunk[..n.min(room)]);
                }
            }
            kept
        };
        let run = async { tokio::join!(write, read, child.wait()) };
        let (_, stderr, status) = match tokio::time::timeout(self.timeout, run).await {
            Ok(done) => done,
            // Dropping `child` kills the program (kill_on_drop); tokio reaps it.
            Err(_) => {
                return Err(DeliveryError::Timeout {
                    program: program_path,
                    timeout: self.timeout,
                });
            }
        };
        let status = status.map_err(|source| DeliveryError::Wait {
            program: program_path.clone(),
            source,
        })?;
        match status.success() {
            true => Ok(()),
            false => Err(DeliveryError::Failed {
                program: program_path,
                status,
                stderr: String::from_utf8_lossy(&stderr).into_owned(),
            }),
        }
    }
}

impl Notifier for ExecNotifier {
    fn name(&self) -> &'static str {
        "exec"
    }

    fn deliver<'a>(&'a self, n: &'a Notification) -> DeliveryFuture<'a> {
        Box::pin(self.run(n))
    }
}

/// The notifier `notify.method` selects: `None` for `off`.
///
/// # Errors
///
/// As [`ExecNotifier::new`].
pub fn notifier_from_config(
    config: &NotifyConfig,
) -> Result<Option<Arc<dyn Notifier>>, ConfigError> {
    Ok(match config.method {
        NotifyMethod::Log => Some(Arc::new(LogNotifier)),
        NotifyMethod::Exec => Some(Arc::new(ExecNotifier::new(config)?)),
        NotifyMethod::Off => None,
    })
}

/// Wakes the outbox task at once instead of at its next poll: call [`wake`](Self::wake)
/// after committing a change set that queued notifications
/// (`CommitReceipt::notification_ids` not empty). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct OutboxWaker(Arc<Notify>);

impl OutboxWaker {
    /// Asks the outbox task to look for pending notifications now.
    pub fn wake(&self) {
        // notify_one keeps a permit when the task is busy, so no wake-up is lost.
        self.0.notify_one();
    }

    async fn woken(&self) {
        self.0.notified().await;
    }
}

/// How many pending notifications one pass looks at (beyond those waiting for a retry).
const BATCH: usize = 100;

/// The outbox task's state.
pub(crate) struct Outbox<S> {
    store: S,
    notifier: Arc<dyn Notifier>,
    clock: RegistryClock,
    metrics: Metrics,
    waker: OutboxWaker,
    poll_interval: Duration,
    retry_initial: Duration,
    retry_max: Duration,
    concurrency: usize,
    /// Failed notifications: attempts so far and when to try again.
    retries: HashMap<u64, (u32, Instant)>,
    /// Notifications that cannot be delivered; left in the outbox for an operator.
    given_up: HashSet<u64>,
    /// Delivered, but recording it failed: only the record is retried, not the delivery.
    unrecorded: HashSet<u64>,
}

impl<S: Store> Outbox<S> {
    pub(crate) fn new(
        store: S,
        notifier: Arc<dyn Notifier>,
        config: &NotifyConfig,
        clock: RegistryClock,
        metrics: Metrics,
        waker: OutboxWaker,
    ) -> Self {
        Self {
            store,
            notifier,
            clock,
            metrics,
            waker,
            poll_interval: config.poll_interval.get(),
            retry_initial: config.retry_initial.get(),
            retry_max: config.retry_max.get(),
            concurrency: usize::try_from(config.concurrency).unwrap_or(1).max(1),
            retries: HashMap::new(),
            given_up: HashSet::new(),
            unrecorded: HashSet::new(),
        }
    }

    /// Delivers until shutdown: a pass at start, then whenever woken or every
    /// `notify.poll_interval`, and at once again while passes find full batches.
    pub(crate) async fn run(mut self, mut shutdown: Shutdown) {
        tracing::info!(
            notifier = self.notifier.name(),
            poll_interval = ?self.poll_interval,
            "notification outbox delivery started"
        );
        loop {
            let more = self.pass().await;
            if shutdown.is_triggered() {
                break;
            }
            if more {
                continue;
            }
            tokio::select! {
                biased;
                () = shutdown.triggered() => break,
                () = self.waker.woken() => {}
                () = tokio::time::sleep(self.poll_interval) => {}
            }
        }
        tracing::debug!("notification outbox delivery stopped");
    }

    /// One pass over the pending notifications; returns whether there may be more due.
    pub(crate) async fn pass(&mut self) -> bool {
        self.record_unrecorded().await;
        let skipped = self.retries.len() + self.given_up.len() + self.unrecorded.len();
        let limit = BATCH + skipped;
        let pending = match self.store.pending_notifications(limit).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the notification outbox");
                return false;
            }
        };
        if pending.len() < limit {
            // Everything pending is in view: forget state about notifications that are
            // no longer pending (delivered by another process, or removed).
            let ids: HashSet<u64> = pending.iter().map(|n| n.id).collect();
            self.retries.retain(|id, _| ids.contains(id));
            self.given_up.retain(|id| ids.contains(id));
        }
        let now = Instant::now();
        let due: Vec<Notification> = pending
            .into_iter()
            .filter(|n| {
                !self.given_up.contains(&n.id)
                    && !self.unrecorded.contains(&n.id)
                    && self.retries.get(&n.id).is_none_or(|(_, at)| *at <= now)
            })
            .take(BATCH)
            .collect();
        let full = due.len() == BATCH;
        let notifier = Arc::clone(&self.notifier);
        let results: Vec<(Notification, Result<(), DeliveryError>)> =
            futures_util::stream::iter(due)
                .map(|n| {
                    let notifier = Arc::clone(&notifier);
                    async move {
                        let result = notifier.deliver(&n).await;
                        (n, result)
                    }
                })
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
        for (n, result) in results {
            match result {
                Ok(()) => {
                    self.metrics.notification(n.channel.as_str(), true);
                    self.retries.remove(&n.id);
                    match self.record(n.id).await {
                        Ok(()) => tracing::info!(
                            id = n.id,
                            channel = %n.channel,
                            notifier = self.notifier.name(),
                            "notification delivered"
                        ),
                        Err(e) => {
                            tracing::warn!(
                                id = n.id,
                                error = %e,
                                "notification delivered but not recorded; recording it again"
                            );
                            self.unrecorded.insert(n.id);
                        }
                    }
                }
                Err(e) => self.failed(&n, &e),
            }
        }
        full
    }

    fn failed(&mut self, n: &Notification, error: &DeliveryError) {
        self.metrics.notification(n.channel.as_str(), false);
        if error.is_permanent() {
            self.given_up.insert(n.id);
            self.retries.remove(&n.id);
            tracing::error!(
                id = n.id,
                channel = %n.channel,
                error = %error,
                "notification cannot be delivered; left in the outbox for an operator"
            );
            return;
        }
        let attempts = self.retries.get(&n.id).map_or(0, |(a, _)| *a) + 1;
        let delay = backoff(self.retry_initial, self.retry_max, attempts);
        self.retries
            .insert(n.id, (attempts, Instant::now() + delay));
        tracing::warn!(
            id = n.id,
            channel = %n.channel,
            attempt = attempts,
            retry_in = ?delay,
            error = %error,
            "notification delivery failed"
        );
    }

    async fn record(&self, id: u64) -> Result<(), StoreError> {
        let set = ChangeSet::new(ChangeMeta {
            registrar: None,
            time: self.clock.now(),
            cl_trid: None,
            sv_trid: None,
            command: "notify:delivered".into(),
        })
        .with(Change::MarkDelivered { id });
        match self.store.commit(set).await {
            // Gone from the outbox: nothing left to record.
            Ok(_) | Err(StoreError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn record_unrecorded(&mut self) {
        let ids: Vec<u64> = self.unrecorded.iter().copied().collect();
        for id in ids {
            if self.record(id).await.is_ok() {
                self.unrecorded.remove(&id);
            }
        }
    }
}

/// The wait after the `attempts`-th failure: `initial`, doubled each time, at most `max`.
fn backoff(initial: Duration, max: Duration, attempts: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempts.saturating_sub(1))
        .unwrap_or(u32::MAX);
    initial.saturating_mul(factor).min(max)
}

/// Finds `program`: a path with `/` as given, otherwise on `PATH`; `None` unless it is an
/// executable file.
fn find_program(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let path = PathBuf::from(program);
        return executable(&path).then_some(path);
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|p| executable(p))
}

/// Refuses recipients that could be misread by the delivery program.
fn check_recipient(channel: NotifyChannel, recipient: &str) -> Result<(), DeliveryError> {
    let bad = |reason| DeliveryError::InvalidRecipient { channel, reason };
    if recipient.is_empty() || recipient.len() > 254 {
        return Err(bad("empty or longer than 254 bytes"));
    }
    if recipient.starts_with('-') {
        return Err(bad("starts with '-'"));
    }
    if recipient
        .chars()
        .any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(bad("contains whitespace or control characters"));
    }
    match channel {
        NotifyChannel::Sms => {
            let allowed = recipient
                .chars()
                .all(|c| c.is_ascii_digit() || "+.-()".contains(c));
            if !allowed || !recipient.chars().any(|c| c.is_ascii_digit()) {
                return Err(bad("a mobile number has only digits and + . - ( )"));
            }
        }
        _ => match recipient.rsplit_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && !domain.is_empty()
                    && !recipient.contains(['<', '>', ',', ';', '"', '\\']) => {}
            _ => return Err(bad("not a plain address (local@domain)")),
        },
    }
    Ok(())
}

fn sms_text(body: &str) -> String {
    body.to_owned()
}

/// A complete e-mail message for a `sendmail`-compatible program.
fn email_message(from: Option<&str>, to: &str, subject: Option<&str>, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 256);
    if let Some(from) = from {
        out.push_str("From: ");
        out.push_str(&header_text(from));
        out.push('\n');
    }
    out.push_str("To: ");
    out.push_str(to);
    out.push('\n');
    out.push_str("Subject: ");
    out.push_str(&encode_subject(
        subject.unwrap_or("Message from the registry"),
    ));
    out.push('\n');
    out.push_str("MIME-Version: 1.0\n");
    out.push_str("Content-Type: text/plain; charset=utf-8\n");
    out.push_str("Content-Transfer-Encoding: 8bit\n");
    out.push_str("Auto-Submitted: auto-generated\n");
    out.push('\n');
    let body = body.replace("\r\n", "\n");
    out.push_str(&body);
    if !body.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// A header value with control characters (line breaks above all) replaced by spaces, so
/// no text can add a header.
fn header_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The subject as printable ASCII, or as RFC 2047 `B` encoded-words (UTF-8), folded.
fn encode_subject(subject: &str) -> String {
    let subject = header_text(subject);
    if subject.is_ascii() && subject.len() <= 900 {
        return subject;
    }
    // At most 45 bytes per word keeps each encoded-word within 75 characters.
    let mut words = Vec::new();
    let mut start = 0;
    let mut end = 0;
    for (i, c) in subject.char_indices() {
        if i + c.len_utf8() - start > 45 {
            words.push(&subject[start..end]);
            start = i;
        }
        end = i + c.len_utf8();
    }
    if start < subject.len() {
        words.push(&subject[start..]);
    }
    words
        .iter()
        .map(|w| format!("=?UTF-8?B?{}?=", base64(w.as_bytes())))
        .collect::<Vec<_>>()
        .join("\n ")
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl fmt::Debug for dyn Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Notifier({})", self.name())
    }
}

#[cfg(test)]
mod tests {
    use epp_session::store::MemoryStore;
    use epp_session::store::model::NewNotification;
    use epp_xml::Timestamp;

    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let s = Duration::from_secs;
        assert_eq!(backoff(s(60), s(3600), 1), s(60));
        assert_eq!(backoff(s(60), s(3600), 2), s(120));
        assert_eq!(backoff(s(60), s(3600), 6), s(1920));
        assert_eq!(backoff(s(60), s(3600), 7), s(3600));
        assert_eq!(backoff(s(60), s(3600), 500), s(3600));
    }

    #[test]
    fn recipients_that_a_program_could_misread_are_refused() {
        let ok = |c, r| check_recipient(c, r).is_ok();
        assert!(ok(NotifyChannel::Email, "holder@example.no"));
        assert!(ok(NotifyChannel::Sms, "+47.22334455"));
        assert!(!ok(NotifyChannel::Email, "-oQ/tmp/x@example.no"));
        assert!(!ok(NotifyChannel::Email, "a@b.no\nBcc: x@y.no"));
        assert!(!ok(NotifyChannel::Email, "a b@c.no"));
        assert!(!ok(NotifyChannel::Email, "no-at-sign"));
        assert!(!ok(NotifyChannel::Email, "a@b.no,c@d.no"));
        assert!(!ok(NotifyChannel::Email, ""));
        assert!(!ok(NotifyChannel::Sms, "+47 22334455"));
        assert!(!ok(NotifyChannel::Sms, "+47;reboot"));
        assert!(!ok(NotifyChannel::Sms, "+."));
        assert!(
            check_recipient(NotifyChannel::Sms, "-1")
                .unwrap_err()
                .is_permanent()
        );
    }

    #[test]
    fn e_mail_messages_have_headers_and_cannot_gain_more() {
        let m = email_message(
            Some("registry@example.no"),
            "holder@example.no",
            Some("Transfer\nBcc: evil@example.com"),
            "Your code: 1234\r\nBye",
        );
        assert_eq!(
            m,
            "From: registry@example.no\nTo: holder@example.no\n\
             Subject: Transfer Bcc: evil@example.com\nMIME-Version: 1.0\n\
             Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\
             Auto-Submitted: auto-generated\n\nYour code: 1234\nBye\n"
        );
    }

    #[test]
    fn non_ascii_subjects_are_encoded_words() {
        assert_eq!(encode_subject("Overføring"), "=?UTF-8?B?T3ZlcmbDuHJpbmc=?=");
        let long = "æ".repeat(40);
        let encoded = encode_subject(&long);
        assert_eq!(encoded.lines().count(), 2);
        for line in encoded.lines() {
            assert!(line.trim_start().len() <= 75, "{line}");
        }
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    fn notification(channel: NotifyChannel, recipient: &str) -> Notification {
        Notification {
            id: 7,
            channel,
            recipient: recipient.into(),
            subject: Some("Transfer".into()),
            body: "code 1234".into(),
            created: Timestamp::from_unix_micros(0),
            delivered: None,
        }
    }

    fn script(dir: &Path, name: &str, text: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{text}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.to_str().unwrap().to_owned()
    }

    fn exec_config(email: &str, sms: &str, timeout: Duration) -> NotifyConfig {
        NotifyConfig {
            method: NotifyMethod::Exec,
            email_command: vec![email.into(), "--".into()],
            sms_command: vec![sms.into()],
            timeout: crate::config::HumanDuration::from_millis(timeout.as_millis() as u64),
            ..NotifyConfig::default()
        }
    }

    #[tokio::test]
    async fn exec_passes_the_recipient_as_argument_and_the_message_on_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let body = format!(
            "printf '%s|%s|%s|' \"$1\" \"$EPP_NOTIFY_ID\" \"$EPP_NOTIFY_CHANNEL\" > {o}; cat >> {o}",
            o = out.display()
        );
        let sms = script(dir.path(), "sms", &body);
        let email = script(dir.path(), "mail", "exit 0");
        let notifier =
            ExecNotifier::new(&exec_config(&email, &sms, Duration::from_secs(10))).unwrap();
        notifier
            .deliver(&notification(NotifyChannel::Sms, "+47.22334455"))
            .await
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "+47.22334455|7|sms|code 1234"
        );
    }

    #[tokio::test]
    async fn exec_failures_carry_the_status_and_stderr_and_timeouts_kill() {
        let dir = tempfile::tempdir().unwrap();
        let failing = script(dir.path(), "fail", "echo 'relay refused' >&2; exit 75");
        let slow = script(dir.path(), "slow", "sleep 30");
        let notifier =
            ExecNotifier::new(&exec_config(&failing, &slow, Duration::from_millis(300))).unwrap();
        let err = notifier
            .deliver(&notification(NotifyChannel::Email, "holder@example.no"))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("75") && text.contains("relay refused"),
            "{text}"
        );
        assert!(!err.is_permanent());
        let started = Instant::now();
        let err = notifier
            .deliver(&notification(NotifyChannel::Sms, "+4722334455"))
            .await
            .unwrap_err();
        assert!(matches!(err, DeliveryError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    /// Fails the first `failures` attempts per notification, then delivers; records
    /// every attempt.
    struct Flaky {
        failures: u32,
        attempts: std::sync::Mutex<Vec<u64>>,
    }

    impl Notifier for Flaky {
        fn name(&self) -> &'static str {
            "flaky"
        }

        fn deliver<'a>(&'a self, n: &'a Notification) -> DeliveryFuture<'a> {
            let mut attempts = self.attempts.lock().unwrap();
            attempts.push(n.id);
            let tries = attempts.iter().filter(|id| **id == n.id).count() as u32;
            let result = match tries > self.failures {
                true => Ok(()),
                false => Err(DeliveryError::Timeout {
                    program: "flaky".into(),
                    timeout: Duration::ZERO,
                }),
            };
            Box::pin(async move { result })
        }
    }

    async fn queue(store: &MemoryStore, recipients: &[&str]) {
        let mut set = ChangeSet::new(ChangeMeta {
            registrar: None,
            time: Timestamp::from_unix_micros(0),
            cl_trid: None,
            sv_trid: None,
            command: "test".into(),
        });
        for r in recipients {
            set.push(Change::QueueNotification(NewNotification {
                channel: NotifyChannel::Email,
                recipient: (*r).into(),
                subject: None,
                body: "text".into(),
            }));
        }
        store.commit(set).await.unwrap();
    }

    fn outbox(
        store: MemoryStore,
        notifier: Arc<dyn Notifier>,
        metrics: &Metrics,
    ) -> Outbox<MemoryStore> {
        let config = NotifyConfig {
            retry_initial: crate::config::HumanDuration::from_millis(100),
            retry_max: crate::config::HumanDuration::from_millis(100),
            ..NotifyConfig::default()
        };
        Outbox::new(
            store,
            notifier,
            &config,
            RegistryClock::default(),
            metrics.clone(),
            OutboxWaker::default(),
        )
    }

    #[tokio::test]
    async fn failures_wait_for_their_backoff_and_deliveries_are_recorded() {
        let store = MemoryStore::new();
        queue(&store, &["a@example.no", "b@example.no"]).await;
        let flaky = Arc::new(Flaky {
            failures: 1,
            attempts: Default::default(),
        });
        let metrics = Metrics::new();
        let mut outbox = outbox(store, flaky.clone(), &metrics);
        outbox.pass().await;
        assert_eq!(flaky.attempts.lock().unwrap().len(), 2);
        // Within the backoff nothing is attempted again.
        outbox.pass().await;
        assert_eq!(flaky.attempts.lock().unwrap().len(), 2);
        assert_eq!(
            outbox.store.pending_notifications(10).await.unwrap().len(),
            2
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
        outbox.pass().await;
        assert_eq!(flaky.attempts.lock().unwrap().len(), 4);
        assert!(
            outbox
                .store
                .pending_notifications(10)
                .await
                .unwrap()
                .is_empty()
        );
        outbox.pass().await;
        assert_eq!(
            flaky.attempts.lock().unwrap().len(),
            4,
            "delivered once each"
        );
        let text = metrics.render();
        assert!(text.contains("epp_notifications_failed_total{channel=\"email\"} 2\n"));
        assert!(text.contains("epp_notifications_delivered_total{channel=\"email\"} 2\n"));
        assert!(outbox.retries.is_empty());
    }

    #[tokio::test]
    async fn a_bad_recipient_is_given_up_and_the_rest_still_flows() {
        let store = MemoryStore::new();
        queue(&store, &["-x@example.no", "ok@example.no"]).await;
        let dir = tempfile::tempdir().unwrap();
        let sink = script(dir.path(), "sink", "cat > /dev/null");
        let exec = ExecNotifier::new(&exec_config(&sink, &sink, Duration::from_secs(10))).unwrap();
        let metrics = Metrics::new();
        let mut outbox = outbox(store, Arc::new(exec), &metrics);
        outbox.pass().await;
        let pending = outbox.store.pending_notifications(10).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].recipient, "-x@example.no");
        assert!(outbox.given_up.contains(&pending[0].id));
        outbox.pass().await;
        assert!(
            metrics
                .render()
                .contains("epp_notifications_failed_total{channel=\"email\"} 1\n")
        );
    }

    #[tokio::test]
    async fn a_full_batch_asks_for_another_pass() {
        let store = MemoryStore::new();
        let many: Vec<String> = (0..BATCH + 5).map(|i| format!("r{i}@example.no")).collect();
        queue(&store, &many.iter().map(String::as_str).collect::<Vec<_>>()).await;
        let mut outbox = outbox(store, Arc::new(LogNotifier), &Metrics::new());
        assert!(outbox.pass().await, "a full batch: more may be due");
        assert_eq!(
            outbox
                .store
                .pending_notifications(1000)
                .await
                .unwrap()
                .len(),
            5
        );
        assert!(!outbox.pass().await);
        assert!(
            outbox
                .store
                .pending_notifications(1000)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn exec_needs_executable_programs() {
        let dir = tempfile::tempdir().unwrap();
        let sms = script(dir.path(), "sms", "exit 0");
        let missing = dir.path().join("nope").to_str().unwrap().to_owned();
        let err = ExecNotifier::new(&exec_config(&missing, &sms, Duration::from_secs(1)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("notify.email_command") && err.contains("nope"),
            "{err}"
        );
        assert!(find_program("sh").is_some());
    }
}
