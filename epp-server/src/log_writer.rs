//! A log writer that takes lines off the serving threads: each line goes into a shared
//! buffer, and one thread writes whatever has gathered in a single `write`.
//!
//! Writing each line straight to standard error (unbuffered) costs a system call per
//! command on the thread that answered it, under the standard error lock: about a fifth of
//! the check rate in the benchmarks (docs/BENCHMARKS.md). Here a line costs a copy into
//! the buffer. The writer thread writes what has gathered, then pauses for
//! [`WRITE_INTERVAL`] before it looks again, and is woken (a futex call) only when a
//! line finds it asleep on an empty buffer: under load one wake-up and one `write` carry
//! a few milliseconds of lines, while a quiet server's lines are written at once. (A
//! first version woke the thread for every line that found the buffer empty, which under
//! load was nearly every line: the context switches cost more than the writes saved.)
//!
//! Nothing is dropped: when the writer falls behind by [`PENDING_LIMIT`] bytes, the
//! threads that log wait for it (the log then bounds the server's pace instead of its
//! memory). [`LogGuard`] writes what is left when dropped; a process killed outright
//! loses at most the lines of the last moment.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// How many bytes may wait for the writer thread before logging threads wait.
pub(crate) const PENDING_LIMIT: usize = 1 << 20;

/// The writer thread's pause after each write, so that a busy server's lines go out in
/// batches (at most this much of the log is lost if the process is killed).
pub(crate) const WRITE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(5);

struct Pending {
    buf: Vec<u8>,
    closed: bool,
    /// The writer thread sleeps on `ready` (a line must wake it).
    writer_asleep: bool,
    /// How many logging threads wait on `drained`.
    producers_waiting: usize,
}

struct Shared {
    pending: Mutex<Pending>,
    /// Signalled when the buffer gets its first bytes, and at close.
    ready: Condvar,
    /// Signalled when the writer took the buffer.
    drained: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic while holding the lock leaves a byte buffer, still usable.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The writing end that log layers get (`MakeWriter`); cheap to clone.
#[derive(Clone)]
pub(crate) struct BatchWriter {
    shared: Arc<Shared>,
}

/// Owns the writer thread: dropping it writes the lines still buffered and stops the
/// thread. Later lines go straight to the sink's fallback (standard error).
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for LogGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogGuard").finish_non_exhaustive()
    }
}

impl BatchWriter {
    /// Starts the writer thread over `sink`.
    pub(crate) fn start<W: Write + Send + 'static>(sink: W) -> io::Result<(Self, LogGuard)> {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending {
                buf: Vec::with_capacity(64 * 1024),
                closed: false,
                writer_asleep: false,
                producers_waiting: 0,
            }),
            ready: Condvar::new(),
            drained: Condvar::new(),
        });
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("log-writer".into())
                .spawn(move || write_loop(&shared, sink))?
        };
        Ok((
            Self {
                shared: shared.clone(),
            },
            LogGuard {
                shared,
                thread: Some(thread),
            },
        ))
    }
}

fn write_loop<W: Write>(shared: &Shared, mut sink: W) {
    let mut spare = Vec::with_capacity(64 * 1024);
    loop {
        let mut batch = {
            let mut p = shared.lock();
            while p.buf.is_empty() && !p.closed {
                p.writer_asleep = true;
                p = shared.ready.wait(p).unwrap_or_else(|e| e.into_inner());
            }
            p.writer_asleep = false;
            if p.buf.is_empty() {
                return;
            }
            std::mem::swap(&mut p.buf, &mut spare);
            if p.producers_waiting > 0 {
                shared.drained.notify_all();
            }
            std::mem::take(&mut spare)
        };
        // A log that cannot be written cannot report it either; the lines are dropped
        // rather than stopping the server.
        let _ = sink.write_all(&batch);
        let _ = sink.flush();
        batch.clear();
        if batch.capacity() > 4 * PENDING_LIMIT {
            batch = Vec::with_capacity(64 * 1024);
        }
        spare = batch;
        if !shared.lock().closed {
            std::thread::sleep(WRITE_INTERVAL);
        }
    }
}

impl BatchWriter {
    /// Appends `line` to the pending buffer (waits while the writer is [`PENDING_LIMIT`]
    /// behind; goes straight to standard error once the [`LogGuard`] is dropped).
    pub(crate) fn append(&self, line: &[u8]) -> io::Result<usize> {
        let mut p = self.shared.lock();
        while p.buf.len() >= PENDING_LIMIT && !p.closed {
            p.producers_waiting += 1;
            p = self
                .shared
                .drained
                .wait(p)
                .unwrap_or_else(|e| e.into_inner());
            p.producers_waiting -= 1;
        }
        if p.closed {
            drop(p);
            return io::stderr().write(line);
        }
        p.buf.extend_from_slice(line);
        if p.writer_asleep {
            p.writer_asleep = false;
            self.shared.ready.notify_one();
        }
        Ok(line.len())
    }
}

impl Write for BatchWriter {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        self.append(line)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchWriter {
    type Writer = BatchWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_all();
        self.shared.drained.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// A sink that records what it got, optionally slowly.
    #[derive(Clone, Default)]
    struct Sink {
        out: Arc<Mutex<Vec<u8>>>,
        writes: Arc<AtomicUsize>,
        delay: Duration,
    }

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            std::thread::sleep(self.delay);
            self.writes.fetch_add(1, Ordering::SeqCst);
            self.out.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_arrives_whole_and_in_each_threads_order() {
        let sink = Sink::default();
        let (writer, guard) = BatchWriter::start(sink.clone()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut w = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..2000 {
                        w.write_all(format!("thread {t} line {i}\n").as_bytes())
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let out = String::from_utf8(sink.out.lock().unwrap().clone()).unwrap();
        assert_eq!(out.lines().count(), 8000);
        for t in 0..4 {
            let mine: Vec<usize> = out
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("thread {t} line ")))
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(mine, (0..2000).collect::<Vec<_>>(), "thread {t}");
        }
        // Lines were batched: far fewer writes than lines.
        let writes = sink.writes.load(Ordering::SeqCst);
        assert!(writes < 2000, "{writes} writes for 8000 lines");
    }

    #[test]
    fn a_slow_sink_gets_batches_and_bounds_the_buffer() {
        let sink = Sink {
            delay: Duration::from_millis(20),
            ..Sink::default()
        };
        let (mut writer, guard) = BatchWriter::start(sink.clone()).unwrap();
        let line = vec![b'x'; 1000];
        let mut most = 0;
        for _ in 0..3000 {
            writer.write_all(&line).unwrap();
            most = most.max(writer.shared.lock().buf.len());
        }
        drop(guard);
        assert_eq!(sink.out.lock().unwrap().len(), 3_000_000);
        // 3 MB through a sink taking 20 ms a write: batched, not one write per line.
        let writes = sink.writes.load(Ordering::SeqCst);
        assert!(writes < 100, "{writes} writes");
        assert!(most < PENDING_LIMIT + line.len(), "{most} bytes pending");
    }

    #[test]
    fn dropping_the_guard_writes_what_is_pending() {
        let sink = Sink {
            delay: Duration::from_millis(50),
            ..Sink::default()
        };
        let (mut writer, guard) = BatchWriter::start(sink.clone()).unwrap();
        writer.write_all(b"first\n").unwrap();
        writer.write_all(b"second\n").unwrap();
        drop(guard);
        assert_eq!(&*sink.out.lock().unwrap(), b"first\nsecond\n");
    }
}
